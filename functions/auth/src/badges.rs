//! Badges: `GET/POST /v1/orgs/{orgId}/badges`, `DELETE /v1/orgs/{orgId}/badges/{badgeId}`
//! and the badge/PIN import `POST /v1/orgs/{orgId}/badges/import` (E-BADGE, BR-BDG-*,
//! BR-BIMP). Listing needs `ViewUsers` (Help Desk views badges, L3894); everything else
//! `ManageBadgesAndPins` (Organization and User Administrators, L5133–L5134, L5176–L5178).

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::Deserialize;
use shared::Ctx;
use shared::http::openapi::{json_response, path_item, problem_response};
use shared::http::{Caller, JsonBody, ListPage, ListParams, Problem};
use shared::identity::badge_import::{self, BadgeImportReport, BadgeImportResult, BadgeImportStatus};
use shared::identity::badges::{self, Badge, NewBadge};
use shared::identity::import::MAX_IMPORT_BYTES;
use shared::identity::roles::Permission;
use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn, PathItem};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::{ComponentsBuilder, ContentBuilder, ObjectBuilder, OpenApi, PathsBuilder, ResponseBuilder, Type};

/// The routes of this module.
pub fn routes() -> Router<Ctx> {
    Router::new()
        .route("/v1/orgs/{org_id}/badges", get(list).post(create))
        .route("/v1/orgs/{org_id}/badges/{badge_id}", delete(remove))
        // The import reads at most 1 MB + 1 byte itself, to answer a larger file with a problem.
        .route("/v1/orgs/{org_id}/badges/import", post(import).layer(DefaultBodyLimit::disable()))
}

/// The list parameters plus the exact-match search of BR-BDG-4.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct BadgeQuery {
    limit: Option<u32>,
    next_token: Option<String>,
    email: Option<String>,
    badge: Option<String>,
}

async fn list(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path(org_id): Path<String>,
    Query(query): Query<BadgeQuery>,
) -> Result<Json<ListPage<Badge>>, Problem> {
    caller.authorize_in(&ctx, &org_id, Permission::ViewUsers).await?;
    let limit = ListParams { limit: query.limit, next_token: None }.limit()?;
    let (items, next_token) =
        badges::search(&ctx, &org_id, query.email.as_deref(), query.badge.as_deref(), limit, query.next_token).await?;
    Ok(Json(ListPage { items, next_token }))
}

async fn create(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path(org_id): Path<String>,
    new: JsonBody<NewBadge>,
) -> Result<(StatusCode, Json<Badge>), Problem> {
    caller.authorize_in(&ctx, &org_id, Permission::ManageBadgesAndPins).await?;
    let new = new.parse()?;
    Ok((StatusCode::CREATED, Json(badges::create(&ctx, &org_id, new).await?)))
}

async fn remove(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path((org_id, badge_id)): Path<(String, String)>,
) -> Result<StatusCode, Problem> {
    caller.authorize_in(&ctx, &org_id, Permission::ManageBadgesAndPins).await?;
    badges::delete(&ctx, &org_id, &badge_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn import(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path(org_id): Path<String>,
    body: Body,
) -> Result<Json<BadgeImportReport>, Problem> {
    caller.authorize_in(&ctx, &org_id, Permission::ManageBadgesAndPins).await?;
    let bytes = axum::body::to_bytes(body, MAX_IMPORT_BYTES + 1).await.map_err(|_| {
        Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "file_too_large",
            "An import file may be at most 1 MB (BR-BIMP); split it into smaller files.",
        )
    })?;
    Ok(Json(badge_import::import(&ctx, &org_id, &bytes).await?))
}

fn operation(id: &str, summary: &str) -> OperationBuilder {
    shared::http::openapi::authenticated("identity", id, summary)
        .response("403", shared::http::openapi::forbidden_response())
}

fn query(name: &str, description: &str) -> utoipa::openapi::path::Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Query)
        .description(Some(description))
        .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
        .build()
}

/// The OpenAPI description of this module's routes.
pub fn openapi() -> OpenApi {
    let list = operation(
        "list_badges",
        "Badges of the organisation, masked, a page at a time (`limit`, `nextToken`). Search needs the full e-mail \
         address (`email`) or the full badge number (`badge`), BR-BDG-4.",
    )
    .parameter(query("email", "The user's full e-mail address."))
    .parameter(query("badge", "The full badge number (compared ignoring case)."))
    .parameter(query("limit", "Page size, 1–200 (default 50)."))
    .parameter(query("nextToken", "Where the previous page stopped."))
    .response("200", ResponseBuilder::new().description("`{items: [Badge], nextToken}`").build())
    .response("404", problem_response("No such organisation (`not_found`)."))
    .build();
    let create = operation(
        "create_badge",
        "Register a permanent or temporary badge (temporary ones expire after 24 hours, BR-BDG-2) for a user named \
         by `email` or `userId`. Only a masked form of the number is ever shown again.",
    )
    .request_body(Some(shared::http::openapi::json_request("NewBadge")))
    .response("201", json_response("The badge.", "Badge"))
    .response("400", problem_response("`invalid_field`, `invalid_request`, `invalid_json`."))
    .response("404", problem_response("No such organisation or user (`not_found`)."))
    .response("409", problem_response("The number is registered already (`badge_taken`)."))
    .build();
    let remove = operation("delete_badge", "Delete a badge; its number is free again.")
        .response("204", ResponseBuilder::new().description("Deleted.").build())
        .response("404", problem_response("No such organisation or badge (`not_found`)."))
        .build();
    let import = operation(
        "import_badges",
        "Import badges and PINs from a CSV (`BADGE,OPERATION,EMAIL,TEMPORARY,PIN` in any order, at most 1 MB, \
         BR-BIMP). CREATE registers badges and sets PINs (setByAdmin only) for existing users — the import never \
         creates users (BR-PIN-4); DELETE removes them. Answers one result per line.",
    )
    .request_body(Some(
        RequestBodyBuilder::new()
            .content(
                "text/csv",
                ContentBuilder::new().schema(Some(ObjectBuilder::new().schema_type(Type::String))).build(),
            )
            .build(),
    ))
    .response("200", json_response("The import log, one result per line.", "BadgeImportReport"))
    .response("400", problem_response("The file as a whole is refused (`invalid_csv`)."))
    .response("404", problem_response("No such organisation (`not_found`)."))
    .response("413", problem_response("The file is larger than 1 MB (`file_too_large`)."))
    .build();
    let mut doc = shared::http::openapi::base();
    doc.paths = PathsBuilder::new()
        .path("/v1/orgs/{orgId}/badges", path_item([(HttpMethod::Get, list), (HttpMethod::Post, create)]))
        .path("/v1/orgs/{orgId}/badges/{badgeId}", PathItem::new(HttpMethod::Delete, remove))
        .path("/v1/orgs/{orgId}/badges/import", PathItem::new(HttpMethod::Post, import))
        .build();
    doc.components = Some(
        ComponentsBuilder::new()
            .schema_from::<Badge>()
            .schema_from::<NewBadge>()
            .schema_from::<BadgeImportReport>()
            .schema_from::<BadgeImportResult>()
            .schema_from::<BadgeImportStatus>()
            .build(),
    );
    doc
}
