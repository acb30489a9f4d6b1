//! Print job history over HTTP (BR-HI-01/02): `GET /v1/orgs/{orgId}/users/{userId}/history`
//! for the user themself or a Print Release Management Administrator, and
//! `GET /v1/me/history`.

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use shared::Ctx;
use shared::http::openapi::{json_response, path_item, problem_response};
use shared::http::{Caller, Problem};
use shared::print::history::{self, HistoryRecord};
use shared::print::jobs;
use utoipa::openapi::path::HttpMethod;
use utoipa::openapi::{ComponentsBuilder, OpenApi, PathsBuilder};

/// The routes of this module.
pub fn routes() -> Router<Ctx> {
    Router::new().route("/v1/orgs/{org_id}/users/{user_id}/history", get(of_user)).route("/v1/me/history", get(mine))
}

/// The list envelope of a history.
#[derive(serde::Serialize)]
struct Listed {
    items: Vec<HistoryRecord>,
}

async fn of_user(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path((org_id, user_id)): Path<(String, String)>,
) -> Result<Json<Listed>, Problem> {
    jobs::authorize_queue(&ctx, &caller, &org_id, &user_id).await?;
    Ok(Json(Listed { items: history::of_user(&ctx, &org_id, &user_id).await? }))
}

async fn mine(State(ctx): State<Ctx>, caller: Caller) -> Result<Json<Listed>, Problem> {
    let user_id = caller.require_user()?.to_string();
    let org_id = caller.org_id().to_string();
    jobs::authorize_queue(&ctx, &caller, &org_id, &user_id).await?;
    Ok(Json(Listed { items: history::of_user(&ctx, &org_id, &user_id).await? }))
}

/// The OpenAPI description of this module's routes.
pub fn openapi() -> OpenApi {
    let operation = |id: &str, summary: &str| {
        shared::http::openapi::authenticated("print", id, summary)
            .response("200", json_response("`{items: [HistoryRecord]}`, newest first.", "HistoryRecord"))
            .response("403", shared::http::openapi::forbidden_response())
            .response("404", problem_response("No such organisation or user (`not_found`)."))
            .build()
    };
    let mut doc = shared::http::openapi::base();
    doc.paths = PathsBuilder::new()
        .path(
            "/v1/orgs/{orgId}/users/{userId}/history",
            path_item([(
                HttpMethod::Get,
                operation("user_history", "A user's print history within the history period."),
            )]),
        )
        .path("/v1/me/history", path_item([(HttpMethod::Get, operation("my_history", "The caller's print history."))]))
        .build();
    doc.components = Some(ComponentsBuilder::new().schema_from::<HistoryRecord>().build());
    doc
}
