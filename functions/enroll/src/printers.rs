//! Printers and agents of an organisation: `GET /v1/orgs/{orgId}/printers` (filters
//! `label`, `communicating`, `model`, `serial`), `GET/PATCH/DELETE .../printers/{printerId}`
//! (DELETE unenrolls, BR-UE-*), and `GET /v1/orgs/{orgId}/agents`.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use shared::Ctx;
use shared::fleet::agents::{self, Agent};
use shared::fleet::labels;
use shared::fleet::printers::{self, Printer, PrinterFilter};
use shared::http::openapi::{json_response, path_item, problem_response};
use shared::http::{Caller, JsonBody, ListPage, ListParams, Problem};
use shared::identity::roles::Permission;
use utoipa::openapi::path::{HttpMethod, PathItem};
use utoipa::openapi::{ComponentsBuilder, OpenApi, PathsBuilder, ResponseBuilder};

/// The routes of this module.
pub fn routes() -> Router<Ctx> {
    Router::new()
        .route("/v1/orgs/{org_id}/printers", get(list))
        .route("/v1/orgs/{org_id}/printers/{printer_id}", get(detail).patch(edit).delete(unenroll))
        .route("/v1/orgs/{org_id}/agents", get(list_agents))
}

async fn list(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path(org_id): Path<String>,
    Query(params): Query<ListParams>,
    Query(filter): Query<PrinterFilter>,
) -> Result<Json<ListPage<Printer>>, Problem> {
    caller.authorize_in(&ctx, &org_id, Permission::ViewFleet).await?;
    let (items, next_token) = printers::list(&ctx, &org_id, &filter, params.limit()?, params.next_token).await?;
    Ok(Json(ListPage { items, next_token }))
}

/// A printer with the ids of its labels.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct PrinterDetail {
    #[serde(flatten)]
    printer: Printer,
    /// Ids of the labels it carries.
    labels: Vec<String>,
}

async fn detail(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path((org_id, printer_id)): Path<(String, String)>,
) -> Result<Json<PrinterDetail>, Problem> {
    caller.authorize_in(&ctx, &org_id, Permission::ViewFleet).await?;
    let printer = printers::get(&ctx, &org_id, &printer_id).await?.printer;
    let labels = labels::labels_of_printer(&ctx, &org_id, &printer_id).await?;
    Ok(Json(PrinterDetail { printer, labels }))
}

async fn edit(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path((org_id, printer_id)): Path<(String, String)>,
    patch: JsonBody<serde_json::Map<String, serde_json::Value>>,
) -> Result<Json<Printer>, Problem> {
    caller.authorize_in(&ctx, &org_id, Permission::ManageFleet).await?;
    let patch = patch.parse()?;
    Ok(Json(printers::update_identification(&ctx, &org_id, &printer_id, &patch).await?))
}

async fn unenroll(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path((org_id, printer_id)): Path<(String, String)>,
) -> Result<StatusCode, Problem> {
    caller.authorize_in(&ctx, &org_id, Permission::ManageFleet).await?;
    printers::unenroll(&ctx, &org_id, &printer_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn list_agents(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path(org_id): Path<String>,
) -> Result<Json<serde_json::Value>, Problem> {
    caller.authorize_in(&ctx, &org_id, Permission::ViewFleet).await?;
    Ok(Json(serde_json::json!({"items": agents::list(&ctx, &org_id).await?})))
}

/// The OpenAPI description of this module's routes.
pub fn openapi() -> OpenApi {
    let list = crate::operation(
        "list_printers",
        "Enrolled printers, a page at a time (`limit`, `nextToken`), filtered by `label` (a label id), \
         `communicating` (true/false: called in within 24 hours), `model`, `serial`.",
    )
    .response("200", ResponseBuilder::new().description("`{items: [Printer], nextToken}`").build())
    .build();
    let detail =
        crate::operation("get_printer", "A printer with its identity, identification, latest telemetry and labels.")
            .response("200", json_response("The printer.", "PrinterDetail"))
            .build();
    let edit = crate::operation(
        "edit_printer",
        "Edit the identification: `name`, `description`, `assetTag`, `location`, `contact`, `timeZone` (null \
         clears).",
    )
    .response("200", json_response("The printer.", "Printer"))
    .response("400", problem_response("`invalid_field`, `invalid_json`."))
    .build();
    let unenroll = crate::operation(
        "unenroll_printer",
        "Unenroll (BR-UE-01/05/08): cannot be stopped; the printer leaves the lists, its device credential stops \
         working at once, its serial number may enroll elsewhere, and its history stays for reports.",
    )
    .response("204", ResponseBuilder::new().description("Unenrolled.").build())
    .build();
    let agents = crate::operation("list_agents", "The organisation's activated agents: `{items: [Agent]}`.")
        .response("200", ResponseBuilder::new().description("`{items: [Agent]}`").build())
        .build();
    let mut doc = shared::http::openapi::base();
    doc.paths = PathsBuilder::new()
        .path("/v1/orgs/{orgId}/printers", PathItem::new(HttpMethod::Get, list))
        .path(
            "/v1/orgs/{orgId}/printers/{printerId}",
            path_item([(HttpMethod::Get, detail), (HttpMethod::Patch, edit), (HttpMethod::Delete, unenroll)]),
        )
        .path("/v1/orgs/{orgId}/agents", PathItem::new(HttpMethod::Get, agents))
        .build();
    doc.components = Some(
        ComponentsBuilder::new().schema_from::<Printer>().schema_from::<PrinterDetail>().schema_from::<Agent>().build(),
    );
    doc
}
