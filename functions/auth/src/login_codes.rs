//! Secure login codes: `POST /v1/me/login-code` (E-LOGINCODE, BR-LC-1). The signed-in user
//! gets a code to type at a printer, valid 15 minutes and once; a new code replaces the old.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use shared::Ctx;
use shared::http::openapi::{json_response, problem_response};
use shared::http::{Caller, Problem};
use shared::identity::login_codes::{self, LoginCode};
use shared::identity::tokens::TokenKind;
use utoipa::openapi::path::{HttpMethod, OperationBuilder, PathItem};
use utoipa::openapi::{ComponentsBuilder, OpenApi, PathsBuilder};

/// The routes of this module.
pub fn routes() -> Router<Ctx> {
    Router::new().route("/v1/me/login-code", post(issue))
}

/// Only a person signed in on the web gets a code: not an application, and not a session
/// at a printer (which could otherwise extend itself).
async fn issue(State(ctx): State<Ctx>, caller: Caller) -> Result<(StatusCode, Json<LoginCode>), Problem> {
    if caller.claims.kind != TokenKind::User {
        return Err(Problem::new(StatusCode::FORBIDDEN, "forbidden", "This needs a signed-in user."));
    }
    Ok((StatusCode::CREATED, Json(login_codes::issue(&ctx, caller.org_id(), &caller.claims.sub).await?)))
}

/// The OpenAPI description of this module's routes.
pub fn openapi() -> OpenApi {
    let issue = OperationBuilder::new()
        .tag("identity")
        .operation_id(Some("create_login_code"))
        .summary(Some(
            "A secure login code to type at a printer: 8 characters, valid 15 minutes, single use; replaces the \
             previous code (BR-LC-1).",
        ))
        .response("201", json_response("The code.", "LoginCode"))
        .response(
            "401",
            problem_response("No valid access token (`unauthenticated`, `invalid_token`, `token_expired`)."),
        )
        .response("403", problem_response("Not a signed-in user (`forbidden`)."))
        .build();
    let mut doc = shared::http::openapi::base();
    doc.paths = PathsBuilder::new().path("/v1/me/login-code", PathItem::new(HttpMethod::Post, issue)).build();
    doc.components = Some(ComponentsBuilder::new().schema_from::<LoginCode>().build());
    doc
}
