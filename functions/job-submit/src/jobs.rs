//! The print queue over HTTP: submit (`POST /v1/orgs/{orgId}/jobs`), a user's queue and
//! its jobs (list, read, change options, delete), `GET /v1/me/jobs`, and the queue's
//! default print settings. The owner acts on their own queue; Print Release Management
//! Administrators on any queue of the organisation.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use shared::Ctx;
use shared::http::openapi::{json_request, json_response, path_item, problem_response};
use shared::http::{Caller, JsonBody, Problem};
use shared::identity::roles::Permission;
use shared::print::jobs::{self, Job, JobState};
use shared::print::options::PrintOptions;
use shared::print::print_defaults::{self, PrintDefaults};
use shared::print::submit::{self, NewJob, Submitted};
use shared::print::{ingest, settings};
use utoipa::openapi::path::{HttpMethod, OperationBuilder};
use utoipa::openapi::{ComponentsBuilder, OpenApi, PathsBuilder};

/// The routes of this module.
pub fn routes() -> Router<Ctx> {
    Router::new()
        .route("/v1/orgs/{org_id}/jobs", post(submit_job))
        .route("/v1/orgs/{org_id}/users/{user_id}/jobs", get(list_queue))
        .route("/v1/orgs/{org_id}/users/{user_id}/jobs/{job_id}", get(read_job).patch(change_job).delete(delete_job))
        .route("/v1/orgs/{org_id}/users/{user_id}/print-defaults", get(read_defaults).put(change_defaults))
        .route("/v1/me/jobs", get(my_queue))
}

async fn submit_job(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path(org_id): Path<String>,
    body: JsonBody<NewJob>,
) -> Result<(StatusCode, Json<Submitted>), Problem> {
    caller.authorize_in(&ctx, &org_id, Permission::UsePrintRelease).await?;
    let new = body.parse()?;
    let owner = match &new.owner_id {
        Some(owner) => owner.clone(),
        None => caller.require_user()?.to_string(),
    };
    jobs::authorize_queue(&ctx, &caller, &org_id, &owner).await?;
    Ok((StatusCode::CREATED, Json(submit::submit(&ctx, &org_id, &owner, new).await?)))
}

/// The list envelope of a queue.
#[derive(serde::Serialize)]
struct Queue {
    items: Vec<Job>,
}

async fn queue(ctx: &Ctx, org_id: &str, user_id: &str) -> Result<Json<Queue>, Problem> {
    let oldest_first = settings::get(ctx, org_id).await?.oldest_first;
    Ok(Json(Queue { items: jobs::queue_of(ctx, org_id, user_id, oldest_first).await? }))
}

async fn list_queue(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path((org_id, user_id)): Path<(String, String)>,
) -> Result<Json<Queue>, Problem> {
    jobs::authorize_queue(&ctx, &caller, &org_id, &user_id).await?;
    queue(&ctx, &org_id, &user_id).await
}

async fn my_queue(State(ctx): State<Ctx>, caller: Caller) -> Result<Json<Queue>, Problem> {
    let user_id = caller.require_user()?.to_string();
    let org_id = caller.org_id().to_string();
    jobs::authorize_queue(&ctx, &caller, &org_id, &user_id).await?;
    queue(&ctx, &org_id, &user_id).await
}

/// The job of `user_id`'s queue, or 404 (also for another user's job).
async fn owned_job(ctx: &Ctx, org_id: &str, user_id: &str, job_id: &str) -> Result<Job, Problem> {
    jobs::find(ctx, org_id, job_id)
        .await?
        .filter(|job| job.owner_id == user_id)
        .ok_or_else(|| Problem::not_found("No such print job."))
}

async fn read_job(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path((org_id, user_id, job_id)): Path<(String, String, String)>,
) -> Result<Json<Job>, Problem> {
    jobs::authorize_queue(&ctx, &caller, &org_id, &user_id).await?;
    Ok(Json(owned_job(&ctx, &org_id, &user_id, &job_id).await?))
}

/// A change of a held job's print options.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct JobChange {
    /// Options to change; the others stay.
    options: PrintOptions,
}

async fn change_job(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path((org_id, user_id, job_id)): Path<(String, String, String)>,
    body: JsonBody<JobChange>,
) -> Result<Json<Job>, Problem> {
    jobs::authorize_queue(&ctx, &caller, &org_id, &user_id).await?;
    let change = body.parse()?;
    change.options.validate("options")?;
    let mut job = owned_job(&ctx, &org_id, &user_id, &job_id).await?;
    let now = ctx.clock.now();
    if !matches!(job.state_at(now), JobState::Held | JobState::Uploading) {
        return Err(Problem::new(
            StatusCode::CONFLICT,
            "job_not_editable",
            "Only jobs waiting in the queue can be changed (not while printing or after rejection).",
        ));
    }
    job.requested = change.options.or(&job.requested);
    if let Some(pages) = job.pages {
        ingest::decide_options(&ctx, &mut job, pages).await?;
    }
    if job.state == JobState::Releasing {
        job.state = JobState::Held;
        job.lease = None;
    }
    jobs::save(&ctx, &mut job).await?;
    Ok(Json(job))
}

async fn delete_job(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path((org_id, user_id, job_id)): Path<(String, String, String)>,
) -> Result<StatusCode, Problem> {
    jobs::authorize_queue(&ctx, &caller, &org_id, &user_id).await?;
    let job = owned_job(&ctx, &org_id, &user_id, &job_id).await?;
    if job.state_at(ctx.clock.now()) == JobState::Releasing {
        return Err(Problem::new(StatusCode::CONFLICT, "job_printing", "The job is being printed; try again later."));
    }
    jobs::remove(&ctx, &job).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn read_defaults(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path((org_id, user_id)): Path<(String, String)>,
) -> Result<Json<PrintDefaults>, Problem> {
    jobs::authorize_queue(&ctx, &caller, &org_id, &user_id).await?;
    Ok(Json(print_defaults::get(&ctx, &org_id, &user_id).await?))
}

async fn change_defaults(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path((org_id, user_id)): Path<(String, String)>,
    body: JsonBody<JobChange>,
) -> Result<Json<PrintDefaults>, Problem> {
    jobs::authorize_queue(&ctx, &caller, &org_id, &user_id).await?;
    let change = body.parse()?;
    Ok(Json(print_defaults::put(&ctx, &org_id, &user_id, change.options).await?))
}

fn operation(id: &str, summary: &str) -> OperationBuilder {
    shared::http::openapi::authenticated("print", id, summary)
        .response("403", shared::http::openapi::forbidden_response())
        .response("404", problem_response("No such organisation, user or job (`not_found`)."))
}

/// The OpenAPI description of this module's routes.
pub fn openapi() -> OpenApi {
    let submit = operation(
        "submit_job",
        "Submit a print job for the caller (or, for Print Release Management Administrators, `ownerId`). \
         The answer holds the job (`Uploading`) and a presigned PUT `uploadUrl` (15 minutes); documents up to \
         5 MB may instead be sent base64 in `document`. Ingest then sniffs the format, counts pages, applies \
         the print policy and holds the job, or rejects it with a reason.",
    )
    .request_body(Some(json_request("NewJob")))
    .response("201", json_response("The job and where to upload its document.", "Submitted"))
    .response("400", problem_response("`invalid_field` naming the field, `invalid_json`."))
    .response("413", problem_response("`document_too_large_for_inline`."))
    .build();
    let list = operation("list_queue", "A user's queue: live jobs, ordered as the organisation lists them.")
        .response("200", json_response("`{items: [Job]}`.", "Job"))
        .build();
    let mine =
        operation("my_queue", "The caller's own queue.").response("200", json_response("`{items}`.", "Job")).build();
    let read =
        operation("get_job", "One job of a user's queue.").response("200", json_response("The job.", "Job")).build();
    let change = operation("change_job", "Change a waiting job's print options (the print policy applies again).")
        .request_body(Some(json_request("JobChange")))
        .response("200", json_response("The job.", "Job"))
        .response("409", problem_response("`job_not_editable`, `conflict`."))
        .build();
    let delete = operation("delete_job", "Delete a job and its document.")
        .response("204", utoipa::openapi::ResponseBuilder::new().description("Deleted.").build())
        .response("409", problem_response("`job_printing`."))
        .build();
    let read_defaults = operation("get_print_defaults", "A queue's default print settings.")
        .response("200", json_response("The defaults.", "PrintDefaults"))
        .build();
    let change_defaults = operation("put_print_defaults", "Replace a queue's default print settings.")
        .request_body(Some(json_request("JobChange")))
        .response("200", json_response("The defaults.", "PrintDefaults"))
        .response("400", problem_response("`invalid_field`."))
        .build();
    let mut doc = shared::http::openapi::base();
    doc.paths = PathsBuilder::new()
        .path("/v1/orgs/{orgId}/jobs", path_item([(HttpMethod::Post, submit)]))
        .path("/v1/orgs/{orgId}/users/{userId}/jobs", path_item([(HttpMethod::Get, list)]))
        .path(
            "/v1/orgs/{orgId}/users/{userId}/jobs/{jobId}",
            path_item([(HttpMethod::Get, read), (HttpMethod::Patch, change), (HttpMethod::Delete, delete)]),
        )
        .path(
            "/v1/orgs/{orgId}/users/{userId}/print-defaults",
            path_item([(HttpMethod::Get, read_defaults), (HttpMethod::Put, change_defaults)]),
        )
        .path("/v1/me/jobs", path_item([(HttpMethod::Get, mine)]))
        .build();
    doc.components = Some(
        ComponentsBuilder::new()
            .schema_from::<NewJob>()
            .schema_from::<Submitted>()
            .schema_from::<Job>()
            .schema_from::<JobChange>()
            .schema_from::<PrintDefaults>()
            .schema_from::<PrintOptions>()
            .build(),
    );
    doc
}
