//! The Fleet Integration API as part-6 documents it, under
//! `/cfm/fleetmgmt-integration-service`: five v1.0 endpoints answering Spring-style pages
//! of assets (query `page` 0-based, `size` default 50 at most 200, `serialNumber`), and the
//! deprecated unpaginated `/assets/inventory/counters`. The data covers the token's
//! organisation and all its child organisations (R-API-2); an application token
//! (client_credentials, scope `fleet-integration`) is what integrators use, a user token
//! needs the fleet view role.

use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use shared::Ctx;
use shared::fleet::assets;
use shared::fleet::integration_api::{self, Asset, LegacyCounterRecord, Page, Projection};
use shared::http::openapi::problem_response;
use shared::http::{Caller, Problem};
use shared::identity::roles::Permission;
use shared::identity::tokens::TokenKind;
use std::collections::HashMap;
use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn, PathItem};
use utoipa::openapi::{OpenApi, PathsBuilder, ResponseBuilder};

/// Base path of the Integration API.
pub const BASE: &str = "/cfm/fleetmgmt-integration-service";

/// The routes of this module.
pub fn routes() -> Router<Ctx> {
    Router::new()
        .route(&format!("{BASE}/v1.0/assets"), get(|s, c, q| assets_page(s, c, q, Projection::Assets)))
        .route(&format!("{BASE}/v1.0/assets/supplies"), get(|s, c, q| assets_page(s, c, q, Projection::Supplies)))
        .route(&format!("{BASE}/v1.0/assets/diagnostics"), get(|s, c, q| assets_page(s, c, q, Projection::Diagnostics)))
        .route(&format!("{BASE}/v1.0/assets/alerts"), get(|s, c, q| assets_page(s, c, q, Projection::Alerts)))
        .route(&format!("{BASE}/v1.0/assets/counters"), get(|s, c, q| assets_page(s, c, q, Projection::Counters)))
        .route(&format!("{BASE}/assets/inventory/counters"), get(legacy_counters))
}

/// Scope an application needs to read the Integration API.
pub const SCOPE: &str = "fleet-integration";

/// Application tokens need scope `fleet-integration`; users need the fleet view role.
fn authorize(caller: &Caller) -> Result<(), Problem> {
    if caller.claims.kind == TokenKind::Client {
        if caller.claims.has_scope(SCOPE) {
            return Ok(());
        }
        return Err(Problem::new(
            axum::http::StatusCode::FORBIDDEN,
            "forbidden",
            "This needs an application with scope `fleet-integration`.",
        ));
    }
    caller.authorize(caller.org_id(), Permission::ViewFleet)
}

async fn assets_page(
    State(ctx): State<Ctx>,
    caller: Caller,
    Query(query): Query<HashMap<String, String>>,
    projection: Projection,
) -> Result<Response, Problem> {
    authorize(&caller)?;
    let request = integration_api::page_request(&query)?;
    let page = assets::page(&ctx, caller.org_id(), &request, projection).await?;
    page_response(&page)
}

/// Room reserved per asset when a page is encoded: a fully reported printer takes about
/// 7 kB, so a page of 200 is written into one buffer instead of one that doubles its way
/// up to megabytes.
const ENCODED_ASSET_BYTES: usize = 8 * 1024;

/// The page as a JSON response, encoded into a buffer sized for its assets.
fn page_response(page: &Page<Asset>) -> Result<Response, Problem> {
    let mut body = Vec::with_capacity(page.content.len().max(1) * ENCODED_ASSET_BYTES);
    serde_json::to_writer(&mut body, page).map_err(Problem::internal)?;
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

async fn legacy_counters(State(ctx): State<Ctx>, caller: Caller) -> Result<Json<Vec<LegacyCounterRecord>>, Problem> {
    authorize(&caller)?;
    Ok(Json(assets::legacy_counters(&ctx, caller.org_id()).await?))
}

fn query_parameter(name: &str, description: &str) -> utoipa::openapi::path::Parameter {
    ParameterBuilder::new().name(name).parameter_in(ParameterIn::Query).description(Some(description)).build()
}

fn page_operation(id: &str, summary: &str) -> utoipa::openapi::path::Operation {
    OperationBuilder::new()
        .tag("fleet-integration")
        .operation_id(Some(id))
        .summary(Some(summary))
        .parameter(query_parameter("page", "Page number, 0-based (default 0)."))
        .parameter(query_parameter("size", "Assets per page, 1 to 200 (default 50)."))
        .parameter(query_parameter("serialNumber", "Only the asset with this serial number."))
        .response(
            "200",
            ResponseBuilder::new()
                .description(
                    "A page envelope (`content`, `pageable`, `totalElements`, `totalPages`, `last`, `sort`, `first`, \
                     `numberOfElements`, `size`, `number`, `empty`) of assets; only this endpoint's sub-resource \
                     is filled, the others are `[]` / `counters: null`.",
                )
                .build(),
        )
        .response("400", problem_response("`invalid_page_size`, `invalid_query`."))
        .response("401", problem_response("No valid token (`unauthenticated`, `invalid_token`, `token_expired`)."))
        .response(
            "403",
            problem_response(
                "An application without scope `fleet-integration`, or a user without the fleet view role.",
            ),
        )
        .build()
}

/// The OpenAPI description of this module's routes.
pub fn openapi() -> OpenApi {
    let endpoints = [
        ("/v1.0/assets", "fleet_assets", "All data (counters, supplies, alerts, diagnostic events) per asset."),
        ("/v1.0/assets/supplies", "fleet_assets_supplies", "Supplies per asset."),
        ("/v1.0/assets/diagnostics", "fleet_assets_diagnostics", "Diagnostic events per asset."),
        ("/v1.0/assets/alerts", "fleet_assets_alerts", "Alerts per asset."),
        ("/v1.0/assets/counters", "fleet_assets_counters", "Counters per asset."),
    ];
    let mut paths = PathsBuilder::new();
    for (path, id, summary) in endpoints {
        paths = paths.path(format!("{BASE}{path}"), PathItem::new(HttpMethod::Get, page_operation(id, summary)));
    }
    let legacy = OperationBuilder::new()
        .tag("fleet-integration")
        .operation_id(Some("fleet_legacy_counters"))
        .deprecated(Some(utoipa::openapi::Deprecated::True))
        .summary(Some(
            "Deprecated (R-API-4): every asset's counters as an unpaginated array of `{serialNumber, dateCollected, \
             counters}`; keys without a value are left out.",
        ))
        .response("200", ResponseBuilder::new().description("An array of legacy counter records.").build())
        .response("401", problem_response("No valid token."))
        .build();
    paths = paths.path(format!("{BASE}/assets/inventory/counters"), PathItem::new(HttpMethod::Get, legacy));
    let mut doc = shared::http::openapi::base();
    doc.paths = paths.build();
    doc
}
