//! Organisations: `POST /v1/orgs` (a child of the caller's organisation, D-SUBORG),
//! `GET/DELETE /v1/orgs/{orgId}` and `GET /v1/orgs/{orgId}/children`.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use shared::Ctx;
use shared::http::openapi::{json_response, path_item, problem_response};
use shared::http::{Caller, JsonBody, ListPage, ListParams, Problem};
use shared::identity::model::Organisation;
use shared::identity::orgs::{self, NewOrganisation};
use shared::identity::roles::Permission;
use utoipa::openapi::path::{HttpMethod, OperationBuilder};
use utoipa::openapi::{ComponentsBuilder, OpenApi, PathsBuilder, ResponseBuilder};

/// The routes of this module.
pub fn routes() -> Router<Ctx> {
    Router::new()
        .route("/v1/orgs", post(create))
        .route("/v1/orgs/{org_id}", get(read).delete(remove))
        .route("/v1/orgs/{org_id}/children", get(children))
}

async fn create(
    State(ctx): State<Ctx>,
    caller: Caller,
    new: JsonBody<NewOrganisation>,
) -> Result<(StatusCode, Json<Organisation>), Problem> {
    Ok((StatusCode::CREATED, Json(orgs::create_child(&ctx, &caller, new.parse()?).await?)))
}

async fn read(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path(org_id): Path<String>,
) -> Result<Json<Organisation>, Problem> {
    caller.authorize_in(&ctx, &org_id, Permission::ViewOrganisation).await?;
    Ok(Json(orgs::visible(&ctx, &caller, &org_id).await?))
}

/// The typed confirmation of a deletion (BR-ORG-4).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeleteOrganisation {
    /// The organisation's name, exactly.
    confirm_name: String,
}

async fn remove(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path(org_id): Path<String>,
    confirmation: JsonBody<DeleteOrganisation>,
) -> Result<StatusCode, Problem> {
    caller.authorize_in(&ctx, &org_id, Permission::ViewOrganisation).await?;
    let confirmation = confirmation.parse()?;
    orgs::delete_child(&ctx, &caller, &org_id, &confirmation.confirm_name).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn children(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path(org_id): Path<String>,
    Query(params): Query<ListParams>,
) -> Result<Json<ListPage<Organisation>>, Problem> {
    caller.authorize_in(&ctx, &org_id, Permission::ViewOrganisation).await?;
    let (items, next_token) = orgs::children(&ctx, &org_id, params.limit()?, params.next_token).await?;
    Ok(Json(ListPage { items, next_token }))
}

fn operation(id: &str, summary: &str) -> OperationBuilder {
    OperationBuilder::new()
        .tag("identity")
        .operation_id(Some(id))
        .summary(Some(summary))
        .response("401", problem_response("No valid access token."))
        .response("403", problem_response("Not a partner of this organisation (`forbidden`)."))
        .response("404", problem_response("No such organisation (`not_found`)."))
}

/// The OpenAPI description of this module's routes.
pub fn openapi() -> OpenApi {
    let create = operation("create_organisation", "Create a child organisation of the caller's (D-SUBORG).")
        .request_body(Some(shared::http::openapi::json_request("NewOrganisation")))
        .response("201", json_response("The organisation.", "Organisation"))
        .response("400", problem_response("`invalid_org_name` (BR-ORG-1), `invalid_entitlements`."))
        .response("409", problem_response("`org_name_taken`."))
        .build();
    let read = operation("get_organisation", "The caller's organisation or one of its children.")
        .response("200", json_response("The organisation.", "Organisation"))
        .build();
    let remove = operation("delete_organisation", "Delete a child organisation and all it owns (BR-ORG-2…5).")
        .request_body(Some(shared::http::openapi::json_request("DeleteOrganisation")))
        .response("204", ResponseBuilder::new().description("Deleted.").build())
        .response("400", problem_response("`confirmation_mismatch` (BR-ORG-4)."))
        .response(
            "409",
            problem_response("`org_mps_managed`, `org_deleting` (BR-ORG-3), `deletion_in_progress` (BR-ORG-2)."),
        )
        .build();
    let children = operation("list_child_organisations", "Child organisations, a page at a time.")
        .response("200", ResponseBuilder::new().description("`{items: [Organisation], nextToken}`").build())
        .build();
    let mut doc = shared::http::openapi::base();
    doc.paths = PathsBuilder::new()
        .path("/v1/orgs", path_item([(HttpMethod::Post, create)]))
        .path("/v1/orgs/{orgId}", path_item([(HttpMethod::Get, read), (HttpMethod::Delete, remove)]))
        .path("/v1/orgs/{orgId}/children", path_item([(HttpMethod::Get, children)]))
        .build();
    doc.components = Some(
        ComponentsBuilder::new()
            .schema_from::<NewOrganisation>()
            .schema_from::<DeleteOrganisation>()
            .schema_from::<Organisation>()
            .build(),
    );
    doc
}
