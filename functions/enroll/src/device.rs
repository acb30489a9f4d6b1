//! Device routes: telemetry (`POST /v1/device/telemetry`) and heartbeats
//! (`POST /v1/device/heartbeat`), authenticated by the device token of an enrolled printer
//! (or, for heartbeats, agent).

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use shared::Ctx;
use shared::fleet::credentials::Device;
use shared::fleet::reports;
use shared::http::Problem;
use shared::http::openapi::problem_response;
use utoipa::openapi::path::{HttpMethod, OperationBuilder, PathItem};
use utoipa::openapi::{OpenApi, PathsBuilder, ResponseBuilder};

/// The routes of this module.
pub fn routes() -> Router<Ctx> {
    Router::new().route("/v1/device/telemetry", post(telemetry)).route("/v1/device/heartbeat", post(heartbeat))
}

async fn telemetry(State(ctx): State<Ctx>, device: Device, body: Bytes) -> Result<StatusCode, Problem> {
    reports::record_telemetry(&ctx, &device, &body).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn heartbeat(State(ctx): State<Ctx>, device: Device) -> Result<StatusCode, Problem> {
    reports::heartbeat(&ctx, &device).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn device_operation(id: &str, summary: &str) -> OperationBuilder {
    OperationBuilder::new()
        .tag("fleet")
        .operation_id(Some(id))
        .summary(Some(summary))
        .response("204", ResponseBuilder::new().description("Recorded.").build())
        .response("401", problem_response("No valid device token, or the device was unenrolled (`device_unenrolled`)."))
        .response("403", problem_response("Not a device token (`forbidden`)."))
}

/// The OpenAPI description of this module's routes.
pub fn openapi() -> OpenApi {
    let telemetry = device_operation(
        "post_telemetry",
        "A printer reports `{counters, supplies, alerts, diagnosticEvents}` (any of them) with exactly the field \
         names and types of the Fleet Integration API (part-6 §2.5–2.9). Counters, supplies and alerts replace the \
         stored ones; diagnostic events are added (the newest 50 kept). Updates last communication and last data \
         refresh.",
    )
    .response("400", problem_response("`invalid_json`, `invalid_field` (naming the field path), `empty_telemetry`."))
    .build();
    let heartbeat =
        device_operation("post_heartbeat", "A printer or agent says it is alive (last communication).").build();
    let mut doc = shared::http::openapi::base();
    doc.paths = PathsBuilder::new()
        .path("/v1/device/telemetry", PathItem::new(HttpMethod::Post, telemetry))
        .path("/v1/device/heartbeat", PathItem::new(HttpMethod::Post, heartbeat))
        .build();
    doc
}
