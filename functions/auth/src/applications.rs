//! OAuth applications of an organisation: `GET/POST /v1/orgs/{orgId}/applications` and
//! `DELETE /v1/orgs/{orgId}/applications/{clientId}`. Managing them needs the
//! Organization Administrator's `ManageApplications` (BR-OA-03); Help Desk may list them
//! (L3894). The client secret appears only in the answer to `POST`.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{delete, get};
use axum::{Json, Router};
use shared::Ctx;
use shared::http::openapi::{json_response, path_item, problem_response};
use shared::http::{Caller, JsonBody, ListPage, ListParams, Problem};
use shared::identity::applications::{self, Application, CreatedApplication, NewApplication};
use shared::identity::roles::Permission;
use utoipa::openapi::path::{HttpMethod, OperationBuilder, PathItem};
use utoipa::openapi::{ComponentsBuilder, OpenApi, PathsBuilder, ResponseBuilder};

/// The routes of this module.
pub fn routes() -> Router<Ctx> {
    Router::new()
        .route("/v1/orgs/{org_id}/applications", get(list).post(create))
        .route("/v1/orgs/{org_id}/applications/{client_id}", delete(remove))
}

/// Listing needs `ManageApplications` or `ViewUsers` (Help Desk views applications, L3894).
async fn list(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path(org_id): Path<String>,
    Query(params): Query<ListParams>,
) -> Result<Json<ListPage<Application>>, Problem> {
    if caller.authorize_in(&ctx, &org_id, Permission::ManageApplications).await.is_err() {
        caller.authorize_in(&ctx, &org_id, Permission::ViewUsers).await?;
    }
    let (items, next_token) = applications::list(&ctx, &org_id, params.limit()?, params.next_token).await?;
    Ok(Json(ListPage { items, next_token }))
}

async fn create(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path(org_id): Path<String>,
    new: JsonBody<NewApplication>,
) -> Result<(StatusCode, Json<CreatedApplication>), Problem> {
    caller.authorize_in(&ctx, &org_id, Permission::ManageApplications).await?;
    let new = new.parse()?;
    Ok((StatusCode::CREATED, Json(applications::create(&ctx, &org_id, new).await?)))
}

async fn remove(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path((org_id, client_id)): Path<(String, String)>,
) -> Result<StatusCode, Problem> {
    caller.authorize_in(&ctx, &org_id, Permission::ManageApplications).await?;
    applications::delete(&ctx, &org_id, &client_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn operation(id: &str, summary: &str) -> OperationBuilder {
    shared::http::openapi::authenticated("identity", id, summary)
        .response("403", shared::http::openapi::forbidden_response())
        .response("404", problem_response("No such organisation or application (`not_found`)."))
}

/// The OpenAPI description of this module's routes.
pub fn openapi() -> OpenApi {
    let list = operation(
        "list_applications",
        "OAuth applications of the organisation, alphabetically, a page at a time (`limit`, `nextToken`); never \
         with their secrets.",
    )
    .response("200", ResponseBuilder::new().description("`{items: [Application], nextToken}`").build())
    .build();
    let create = operation(
        "create_application",
        "Create an OAuth application (client id and secret for the client_credentials grant), from a `template` \
         (Device authentication, Card Auth app, CPM advanced hybrid storage) or a name and scopes. The secret is \
         shown in this answer only.",
    )
    .request_body(Some(shared::http::openapi::json_request("NewApplication")))
    .response("201", json_response("The application with its client secret.", "CreatedApplication"))
    .response("400", problem_response("`invalid_field`, `unknown_scope`, `unknown_template`, `invalid_json`."))
    .response("409", problem_response("`application_name_taken`."))
    .build();
    let remove = operation("delete_application", "Delete an OAuth application; its credentials get no more tokens.")
        .response("204", ResponseBuilder::new().description("Deleted.").build())
        .build();
    let mut doc = shared::http::openapi::base();
    doc.paths = PathsBuilder::new()
        .path("/v1/orgs/{orgId}/applications", path_item([(HttpMethod::Get, list), (HttpMethod::Post, create)]))
        .path("/v1/orgs/{orgId}/applications/{clientId}", PathItem::new(HttpMethod::Delete, remove))
        .build();
    doc.components = Some(
        ComponentsBuilder::new()
            .schema_from::<Application>()
            .schema_from::<CreatedApplication>()
            .schema_from::<NewApplication>()
            .build(),
    );
    doc
}
