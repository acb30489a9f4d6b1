//! Printer-side release over HTTP (a user's session at an enrolled printer):
//! `GET /v1/device/jobs`, `POST /v1/device/jobs/{jobId}/release`,
//! `POST /v1/device/release-all`, `POST /v1/device/jobs/{jobId}/complete`.

use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use shared::Ctx;
use shared::http::openapi::{json_request, json_response, path_item, problem_response};
use shared::http::{Caller, JsonBody, Problem};
use shared::print::release::{self, Completed, Completion, DeviceJob, Outcome, Release, ReleaseChanges, Session};
use utoipa::openapi::path::{HttpMethod, OperationBuilder};
use utoipa::openapi::{ComponentsBuilder, OpenApi, PathsBuilder};

/// The routes of this module.
pub fn routes() -> Router<Ctx> {
    Router::new()
        .route("/v1/device/jobs", get(list))
        .route("/v1/device/jobs/{job_id}/release", post(release_one))
        .route("/v1/device/release-all", post(release_all))
        .route("/v1/device/jobs/{job_id}/complete", post(complete))
}

/// The list envelope of a printer's job list.
#[derive(serde::Serialize)]
struct Listed<T> {
    items: Vec<T>,
}

async fn list(State(ctx): State<Ctx>, caller: Caller) -> Result<Json<Listed<DeviceJob>>, Problem> {
    let session = Session::of(&ctx, &caller).await?;
    Ok(Json(Listed { items: release::list(&ctx, &session).await? }))
}

async fn release_one(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path(job_id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<Release>, Problem> {
    let session = Session::of(&ctx, &caller).await?;
    let changes = release_changes(&body)?;
    Ok(Json(release::release(&ctx, &session, &job_id, &changes).await?))
}

/// The changes of a release request: none for an empty body, else its JSON.
fn release_changes(body: &[u8]) -> Result<ReleaseChanges, Problem> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(ReleaseChanges::default());
    }
    serde_json::from_slice(body)
        .map_err(|err| Problem::invalid(format!("The body is not valid release changes: {err}")))
}

async fn release_all(State(ctx): State<Ctx>, caller: Caller) -> Result<Json<Listed<Release>>, Problem> {
    let session = Session::of(&ctx, &caller).await?;
    Ok(Json(Listed { items: release::release_all(&ctx, &session).await? }))
}

async fn complete(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path(job_id): Path<String>,
    body: JsonBody<Completion>,
) -> Result<Json<Completed>, Problem> {
    let session = Session::of(&ctx, &caller).await?;
    let completion = body.parse()?;
    Ok(Json(release::complete(&ctx, &session, &job_id, &completion).await?))
}

fn operation(id: &str, summary: &str) -> OperationBuilder {
    shared::http::openapi::authenticated("print", id, summary)
        .response("401", problem_response("No valid session, or the printer was unenrolled (`device_unenrolled`)."))
        .response("403", problem_response("Not a printer session (`forbidden`)."))
}

/// The OpenAPI description of this module's routes.
pub fn openapi() -> OpenApi {
    let list = operation(
        "device_list_jobs",
        "The session user's held jobs and those of users who delegated to them (`delegated: true`), oldest \
         first when the organisation says so, else newest first.",
    )
    .response("200", json_response("`{items: [{job, delegated}]}`.", "DeviceJob"))
    .build();
    let release_one = operation(
        "device_release_job",
        "Release a job at this printer: optional changes (copies if the organisation allows it, colour to mono, \
         duplex). Checks the print window, takes a 10-minute lease and answers a 5-minute presigned GET of the \
         document with the options to print with.",
    )
    .request_body(Some(json_request("ReleaseChanges")))
    .response("200", json_response("The release.", "Release"))
    .response(
        "403",
        problem_response("`outside_print_window`, `copies_change_disabled`, `delegate_release_not_supported`."),
    )
    .response("404", problem_response("No such job for this user (`not_found`)."))
    .response("409", problem_response("Released elsewhere or not ready (`job_not_releasable`)."))
    .build();
    let release_all =
        operation("device_release_all", "Release every own held job (Cloud Print Release, automatic release).")
            .response("200", json_response("`{items: [Release]}`.", "Release"))
            .build();
    let complete = operation(
        "device_complete_job",
        "Report how a release ended. `printed` writes the history row, settles the quota and deletes the job \
         and its document unless print-and-keep is on; `cancelled`/`failed` put the job back in the queue. \
         Repeating a completion answers the first one.",
    )
    .request_body(Some(json_request("Completion")))
    .response("200", json_response("What the completion did.", "Completed"))
    .response("409", problem_response("Not the job's current release (`lease_not_current`), `conflict`."))
    .build();
    let mut doc = shared::http::openapi::base();
    doc.paths = PathsBuilder::new()
        .path("/v1/device/jobs", path_item([(HttpMethod::Get, list)]))
        .path("/v1/device/jobs/{jobId}/release", path_item([(HttpMethod::Post, release_one)]))
        .path("/v1/device/release-all", path_item([(HttpMethod::Post, release_all)]))
        .path("/v1/device/jobs/{jobId}/complete", path_item([(HttpMethod::Post, complete)]))
        .build();
    doc.components = Some(
        ComponentsBuilder::new()
            .schema_from::<DeviceJob>()
            .schema_from::<ReleaseChanges>()
            .schema_from::<Release>()
            .schema_from::<Completion>()
            .schema_from::<Completed>()
            .schema_from::<Outcome>()
            .build(),
    );
    doc
}
