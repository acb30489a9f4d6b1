//! Labels (BR-LB-*): `GET/POST /v1/orgs/{orgId}/labels`, `PATCH/DELETE .../labels/{labelId}`,
//! `PUT/DELETE .../printers/{printerId}/labels/{labelId}` and the file import
//! `POST .../labels/{labelId}/import` (body: the TXT or CSV file; `?fileName=` optional).

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, patch, post, put};
use axum::{Json, Router};
use serde::Deserialize;
use shared::Ctx;
use shared::fleet::label_import::MAX_FILE_BYTES;
use shared::fleet::labelling::{self, LabellingSummary};
use shared::fleet::labels::{self, Label};
use shared::http::openapi::{json_request, json_response, path_item, problem_response};
use shared::http::{Caller, JsonBody, ListPage, ListParams, Problem};
use shared::identity::roles::Permission;
use utoipa::openapi::path::{HttpMethod, PathItem};
use utoipa::openapi::{ComponentsBuilder, OpenApi, PathsBuilder, ResponseBuilder};

/// The routes of this module.
pub fn routes() -> Router<Ctx> {
    Router::new()
        .route("/v1/orgs/{org_id}/labels", get(list).post(create))
        .route("/v1/orgs/{org_id}/labels/{label_id}", patch(rename).delete(remove))
        .route(
            "/v1/orgs/{org_id}/labels/{label_id}/import",
            // Larger bodies stop being read here; the handler answers `file_too_large`.
            post(import).layer(DefaultBodyLimit::max(MAX_FILE_BYTES + 1024)),
        )
        .route("/v1/orgs/{org_id}/printers/{printer_id}/labels/{label_id}", put(attach).delete(detach))
}

/// A label's name.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct LabelName {
    /// Unique in the organisation regardless of case (BR-LB-01).
    name: String,
}

async fn list(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path(org_id): Path<String>,
    Query(params): Query<ListParams>,
) -> Result<Json<ListPage<Label>>, Problem> {
    caller.authorize_in(&ctx, &org_id, Permission::ViewFleet).await?;
    let (items, next_token) = labels::list(&ctx, &org_id, params.limit()?, params.next_token).await?;
    Ok(Json(ListPage { items, next_token }))
}

async fn create(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path(org_id): Path<String>,
    body: JsonBody<LabelName>,
) -> Result<(StatusCode, Json<Label>), Problem> {
    caller.authorize_in(&ctx, &org_id, Permission::ManageFleet).await?;
    let body = body.parse()?;
    Ok((StatusCode::CREATED, Json(labels::create(&ctx, &org_id, &body.name).await?)))
}

async fn rename(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path((org_id, label_id)): Path<(String, String)>,
    body: JsonBody<LabelName>,
) -> Result<Json<Label>, Problem> {
    caller.authorize_in(&ctx, &org_id, Permission::ManageFleet).await?;
    let body = body.parse()?;
    Ok(Json(labels::rename(&ctx, &org_id, &label_id, &body.name).await?))
}

async fn remove(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path((org_id, label_id)): Path<(String, String)>,
) -> Result<StatusCode, Problem> {
    caller.authorize_in(&ctx, &org_id, Permission::ManageFleet).await?;
    labels::delete(&ctx, &org_id, &label_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn attach(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path((org_id, printer_id, label_id)): Path<(String, String, String)>,
) -> Result<StatusCode, Problem> {
    caller.authorize_in(&ctx, &org_id, Permission::ManageFleet).await?;
    labels::attach(&ctx, &org_id, &printer_id, &label_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn detach(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path((org_id, printer_id, label_id)): Path<(String, String, String)>,
) -> Result<StatusCode, Problem> {
    caller.authorize_in(&ctx, &org_id, Permission::ManageFleet).await?;
    labels::detach(&ctx, &org_id, &printer_id, &label_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The query of an import.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ImportQuery {
    file_name: Option<String>,
}

async fn import(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path((org_id, label_id)): Path<(String, String)>,
    Query(query): Query<ImportQuery>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<LabellingSummary>, Problem> {
    caller.authorize_in(&ctx, &org_id, Permission::ManageFleet).await?;
    let body = body.map_err(|rejection| match rejection.status() {
        StatusCode::PAYLOAD_TOO_LARGE => Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "file_too_large",
            format!("The file is larger than {} KB (BR-LB-03).", MAX_FILE_BYTES / 1024),
        ),
        status => Problem::new(status, "invalid_body", rejection.body_text()),
    })?;
    Ok(Json(labelling::import(&ctx, &org_id, &label_id, query.file_name.as_deref(), &body).await?))
}

/// The OpenAPI description of this module's routes.
pub fn openapi() -> OpenApi {
    let list = crate::operation("list_labels", "Labels of the organisation, a page at a time (`limit`, `nextToken`).")
        .response("200", ResponseBuilder::new().description("`{items: [Label], nextToken}`").build())
        .build();
    let create = crate::operation("create_label", "Create a label; names are unique regardless of case (BR-LB-01).")
        .request_body(Some(json_request("LabelName")))
        .response("201", json_response("The label.", "Label"))
        .response("400", problem_response("`invalid_field`, `invalid_json`."))
        .response("409", problem_response("`label_name_taken`."))
        .build();
    let rename = crate::operation("rename_label", "Rename a label.")
        .request_body(Some(json_request("LabelName")))
        .response("200", json_response("The label.", "Label"))
        .response("409", problem_response("`label_name_taken`."))
        .build();
    let remove = crate::operation("delete_label", "Delete a label; printers lose it.")
        .response("204", ResponseBuilder::new().description("Deleted.").build())
        .build();
    let attach = crate::operation("attach_label", "Put a label on a printer (a printer may carry several, BR-LB-05).")
        .response("204", ResponseBuilder::new().description("Labelled.").build())
        .build();
    let detach = crate::operation("detach_label", "Take a label off a printer.")
        .response("204", ResponseBuilder::new().description("Done.").build())
        .build();
    let import = crate::operation(
        "import_label_file",
        "Label the printers a TXT or CSV file names (BR-LB-03: at most 200 KB, header `IP Address` or `Serial \
         Number` in any case, no blank lines, valid IP addresses); answers how many were labelled and which \
         entries name no printer of the organisation (BR-LB-04). Optional `?fileName=` checks the extension.",
    )
    .response("200", json_response("The summary.", "LabellingSummary"))
    .response(
        "400",
        problem_response(
            "`unsupported_file_type`, `invalid_label_file`, `invalid_header`, `no_entries`, `blank_line`, \
             `invalid_ip_address`, `invalid_serial_number`, `too_many_entries`.",
        ),
    )
    .response("413", problem_response("`file_too_large`."))
    .build();
    let mut doc = shared::http::openapi::base();
    doc.paths = PathsBuilder::new()
        .path("/v1/orgs/{orgId}/labels", path_item([(HttpMethod::Get, list), (HttpMethod::Post, create)]))
        .path(
            "/v1/orgs/{orgId}/labels/{labelId}",
            path_item([(HttpMethod::Patch, rename), (HttpMethod::Delete, remove)]),
        )
        .path("/v1/orgs/{orgId}/labels/{labelId}/import", PathItem::new(HttpMethod::Post, import))
        .path(
            "/v1/orgs/{orgId}/printers/{printerId}/labels/{labelId}",
            path_item([(HttpMethod::Put, attach), (HttpMethod::Delete, detach)]),
        )
        .build();
    doc.components = Some(
        ComponentsBuilder::new()
            .schema_from::<Label>()
            .schema_from::<LabelName>()
            .schema_from::<LabellingSummary>()
            .build(),
    );
    doc
}
