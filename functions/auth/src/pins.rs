//! PINs: `PUT/DELETE /v1/orgs/{orgId}/users/{userId}/pin` for administrators
//! (`ManageBadgesAndPins`) and `PUT /v1/me/pin` for the signed-in user (E-PIN, WF-PIN,
//! BR-PIN-1..3, BR-USR-2). No answer ever holds a PIN.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::put;
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use shared::Ctx;
use shared::http::openapi::{json_response, path_item, problem_response};
use shared::http::{Caller, Problem};
use shared::identity::pins::{self, PinRequest, PinSet};
use shared::identity::printer_login;
use shared::identity::roles::Permission;
use shared::identity::tokens::TokenKind;
use shared::identity::users;
use utoipa::openapi::path::{HttpMethod, OperationBuilder, PathItem};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::{ComponentsBuilder, ContentBuilder, OpenApi, PathsBuilder, Ref, ResponseBuilder};

/// The routes of this module.
pub fn routes() -> Router<Ctx> {
    Router::new()
        .route("/v1/orgs/{org_id}/users/{user_id}/pin", put(admin_set).delete(admin_remove))
        .route("/v1/me/pin", put(self_set))
}

/// A JSON body that may be left out entirely (the server generates the PIN).
fn optional_json<T: DeserializeOwned + Default>(body: &Bytes) -> Result<T, Problem> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|e| Problem::new(StatusCode::BAD_REQUEST, "invalid_json", e.to_string()))
}

async fn admin_set(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path((org_id, user_id)): Path<(String, String)>,
    body: Bytes,
) -> Result<Json<PinSet>, Problem> {
    caller.authorize_in(&ctx, &org_id, Permission::ManageBadgesAndPins).await?;
    let request: PinRequest = optional_json(&body)?;
    let user = users::get(&ctx, &org_id, &user_id).await?.user;
    let config = printer_login::get(&ctx, &org_id).await?;
    Ok(Json(pins::admin_set(&ctx, &org_id, &config, &user, request.pin.as_deref()).await?))
}

async fn admin_remove(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path((org_id, user_id)): Path<(String, String)>,
) -> Result<StatusCode, Problem> {
    caller.authorize_in(&ctx, &org_id, Permission::ManageBadgesAndPins).await?;
    users::get(&ctx, &org_id, &user_id).await?;
    pins::remove(&ctx, &org_id, &user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Only a person signed in on the web sets their own PIN: not an application, and not a
/// session at a printer.
async fn self_set(State(ctx): State<Ctx>, caller: Caller, body: Bytes) -> Result<Json<PinSet>, Problem> {
    if caller.claims.kind != TokenKind::User {
        return Err(Problem::new(StatusCode::FORBIDDEN, "forbidden", "This needs a signed-in user."));
    }
    let request: PinRequest = optional_json(&body)?;
    let user = users::get(&ctx, caller.org_id(), &caller.claims.sub).await?.user;
    Ok(Json(pins::self_set(&ctx, caller.org_id(), &user, request.pin.as_deref()).await?))
}

fn operation(id: &str, summary: &str) -> OperationBuilder {
    shared::http::openapi::authenticated("identity", id, summary)
}

fn pin_body() -> utoipa::openapi::request_body::RequestBody {
    RequestBodyBuilder::new()
        .description(Some("`{\"pin\": \"...\"}`, or no body when the server generates the PIN."))
        .content("application/json", ContentBuilder::new().schema(Some(Ref::from_schema_name("PinRequest"))).build())
        .build()
}

/// The OpenAPI description of this module's routes.
pub fn openapi() -> OpenApi {
    let problems = |b: OperationBuilder| {
        b.response("400", problem_response("Wrong length or not digits (`invalid_pin`), `invalid_json`.")).response(
            "409",
            problem_response(
                "PINs cannot be set this way under the printer login configuration (`pin_not_settable`, \
                     BR-USR-2), or PIN-only login needs unique PINs (`pin_taken`).",
            ),
        )
    };
    let admin_set = problems(operation(
        "set_user_pin",
        "Set or reset a user's PIN: typed (`setByAdmin`) or generated and mailed to the user \
         (`autoGenerateAndEmail`, BR-PIN-1). Only when printers use PINs (BR-USR-2). The answer never holds the PIN.",
    ))
    .request_body(Some(pin_body()))
    .response("200", json_response("The PIN was set.", "PinSet"))
    .response("403", problem_response("Your roles do not allow this (`forbidden`)."))
    .response("404", problem_response("No such organisation or user (`not_found`)."))
    .build();
    let admin_remove = operation("delete_user_pin", "Delete a user's PIN.")
        .response("204", ResponseBuilder::new().description("Deleted (or there was none).").build())
        .response("403", problem_response("Your roles do not allow this (`forbidden`)."))
        .response("404", problem_response("No such organisation or user (`not_found`)."))
        .build();
    let self_set = problems(operation(
        "set_my_pin",
        "Set one's own PIN (`setByUser`), or have a new one generated and mailed (`autoGenerateAndEmail`).",
    ))
    .request_body(Some(pin_body()))
    .response("200", json_response("The PIN was set.", "PinSet"))
    .response("403", problem_response("Not a signed-in user (`forbidden`)."))
    .response("429", problem_response("Too many taken PINs tried (`pin_locked`)."))
    .build();
    let mut doc = shared::http::openapi::base();
    doc.paths = PathsBuilder::new()
        .path(
            "/v1/orgs/{orgId}/users/{userId}/pin",
            path_item([(HttpMethod::Put, admin_set), (HttpMethod::Delete, admin_remove)]),
        )
        .path("/v1/me/pin", PathItem::new(HttpMethod::Put, self_set))
        .build();
    doc.components = Some(ComponentsBuilder::new().schema_from::<PinRequest>().schema_from::<PinSet>().build());
    doc
}
