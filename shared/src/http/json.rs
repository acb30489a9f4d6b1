//! A JSON body extractor that defers its verdict: handlers check who is calling and in
//! which organisation first, then call [`JsonBody::parse`], so a malformed body can never
//! answer before the tenant check (404) or the role check (403) does.

use super::Problem;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;
use std::convert::Infallible;

/// A JSON request body, read but not yet judged.
pub struct JsonBody<T>(Result<T, Problem>);

impl<T> JsonBody<T> {
    /// The body; a missing content type answers 415 `unsupported_media_type`, and a body
    /// that is not the expected JSON answers 400 `invalid_json` saying what is wrong.
    pub fn parse(self) -> Result<T, Problem> {
        self.0
    }
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = Infallible;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        Ok(JsonBody(match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(value),
            Err(JsonRejection::MissingJsonContentType(_)) => Err(Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "Send the body as JSON with `Content-Type: application/json`.",
            )),
            Err(rejection) => Err(Problem::new(StatusCode::BAD_REQUEST, "invalid_json", rejection.body_text())),
        }))
    }
}
