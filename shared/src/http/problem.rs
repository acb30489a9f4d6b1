//! `application/problem+json` errors (RFC 9457) with a stable machine `code`.

use crate::ports::StoreError;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Map, Value};

/// An error answer: every failed request gets one, with a `code` clients can rely on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// URI naming the kind of problem (`urn:printcloud:problem:<code>`).
    #[serde(rename = "type")]
    pub kind: String,
    /// Short, human summary of the status.
    pub title: String,
    /// HTTP status code.
    pub status: u16,
    /// What went wrong with this request, for humans.
    pub detail: String,
    /// Stable machine code, e.g. `quota_exceeded`.
    pub code: String,
    /// Members a problem of this code adds (RFC 9457 §3.2), e.g. the sides left with
    /// `quota_exceeded`.
    /// Boxed, as most problems have none and results carry problems by value.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Object)]
    pub extensions: Option<Box<Map<String, Value>>>,
}

impl Problem {
    /// A problem with `status`, machine `code` and human `detail`.
    pub fn new(status: StatusCode, code: &str, detail: impl Into<String>) -> Self {
        Problem {
            kind: format!("urn:printcloud:problem:{code}"),
            title: status.canonical_reason().unwrap_or("Error").to_string(),
            status: status.as_u16(),
            detail: detail.into(),
            code: code.to_string(),
            extensions: None,
        }
    }

    /// The problem with the extension member `name` set to `value`.
    pub fn with(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.extensions.get_or_insert_default().insert(name.to_string(), value.into());
        self
    }

    /// 404 `not_found`: also answered for resources of other organisations, so their
    /// existence is never revealed.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Problem::new(StatusCode::NOT_FOUND, "not_found", detail)
    }

    /// 400 `invalid_request` naming what is wrong.
    pub fn invalid(detail: impl Into<String>) -> Self {
        Problem::new(StatusCode::BAD_REQUEST, "invalid_request", detail)
    }

    /// 500 `internal_error`; the cause goes to the log, never to the client.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "internal_error", "Something went wrong on our side.")
    }
}

impl From<StoreError> for Problem {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::ConditionFailed | StoreError::TransactionCanceled { .. } => Problem::new(
                StatusCode::CONFLICT,
                "conflict",
                "The resource was changed by another request; reload it and try again.",
            ),
            StoreError::Invalid(detail) => Problem::invalid(detail),
            StoreError::NotFound(what) => Problem::not_found(format!("{what} does not exist.")),
            StoreError::Backend(_) => Problem::internal(err),
        }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&self).expect("a problem serialises");
        (status, [(header::CONTENT_TYPE, "application/problem+json")], body).into_response()
    }
}

/// Answers paths no route serves.
pub async fn not_found_fallback(uri: axum::http::Uri) -> Problem {
    Problem::not_found(format!("No resource at {}.", uri.path()))
}
