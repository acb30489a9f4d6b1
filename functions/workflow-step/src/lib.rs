//! `workflow-step`: the Solution Center. Solutions (`GET/POST /v1/orgs/{orgId}/solutions`,
//! `GET/PUT/DELETE .../{solutionId}`), runs (`POST .../{solutionId}/runs`, `GET
//! /v1/orgs/{orgId}/runs/{runId}`), solution quotas and distributions, and the
//! `workflow-steps` queue that works through runs one step per message.

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use shared::function::{Schedule, ScheduleError, each_record, is_schedule};
use shared::http::openapi::{json_request, json_response, path_item, problem_response};
use shared::http::{Caller, JsonBody, ListPage, Problem};
use shared::identity::roles::Permission;
use shared::solutions::definitions::{self, Solution, SolutionInput};
use shared::solutions::runs::{self, RunRequest, RunView, Started};
use shared::solutions::{execution, retention};
use shared::{Ctx, Function, http};
use utoipa::openapi::path::{HttpMethod, PathItem};
use utoipa::openapi::{ComponentsBuilder, PathsBuilder, ResponseBuilder};

mod quota_routes;

/// The function's name, as deployed.
pub const NAME: &str = "workflow-step";

/// The queue of workflow steps.
pub const STEPS_QUEUE: &str = runs::STEPS_QUEUE;

/// The schedules of `workflow-step`, with the expressions of `infra/template.yaml`: the
/// daily deletion of old run documents.
pub const SCHEDULES: [Schedule; 1] = [Schedule { name: "solution-retention", expression: "rate(1 day)" }];

/// The function's triggers: HTTP, the `workflow-steps` queue and the retention schedule.
pub fn function() -> Function {
    Function::new(NAME).http(router).queue(STEPS_QUEUE, handle).schedules(&SCHEDULES, on_schedule)
}

/// Deletes run documents past their retention (see `shared::solutions::retention`). An
/// event for a schedule this function does not own is an error, so miswiring shows.
pub async fn on_schedule(ctx: Ctx, event: EventBridgeEvent) -> Result<(), ScheduleError> {
    if !is_schedule(&event, "solution-retention") {
        return Err(format!("workflow-step has no schedule for {:?}", event.resources).into());
    }
    let removed = retention::sweep(&ctx).await.map_err(|err| err.to_string())?;
    tracing::info!(removed, "solution documents past retention deleted");
    Ok(())
}

/// The HTTP routes of `workflow-step`.
pub fn router(ctx: Ctx) -> Router {
    let api = Router::new()
        .route("/v1/orgs/{org_id}/solutions", get(list).post(create))
        .route("/v1/orgs/{org_id}/solutions/{solution_id}", get(read).put(replace).delete(remove))
        .route("/v1/orgs/{org_id}/solutions/{solution_id}/runs", post(run))
        .route("/v1/orgs/{org_id}/runs/{run_id}", get(run_status))
        .with_state(ctx.clone());
    http::health_routes(NAME, false, ctx.clone()).merge(api).merge(quota_routes::router(ctx))
}

async fn list(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path(org_id): Path<String>,
) -> Result<Json<ListPage<Solution>>, Problem> {
    caller.authorize(&org_id, Permission::RunSolutions)?;
    Ok(Json(ListPage { items: definitions::list(&ctx, &caller, &org_id).await?, next_token: None }))
}

async fn create(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path(org_id): Path<String>,
    body: JsonBody<SolutionInput>,
) -> Result<(StatusCode, Json<Solution>), Problem> {
    caller.authorize(&org_id, Permission::CreatePersonalSolutions)?;
    Ok((StatusCode::CREATED, Json(definitions::create(&ctx, &caller, &org_id, body.parse()?).await?)))
}

async fn read(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path((org_id, solution_id)): Path<(String, String)>,
) -> Result<Json<Solution>, Problem> {
    caller.authorize(&org_id, Permission::RunSolutions)?;
    Ok(Json(definitions::get(&ctx, &caller, &org_id, &solution_id).await?))
}

async fn replace(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path((org_id, solution_id)): Path<(String, String)>,
    body: JsonBody<SolutionInput>,
) -> Result<Json<Solution>, Problem> {
    caller.authorize(&org_id, Permission::CreatePersonalSolutions)?;
    Ok(Json(definitions::replace(&ctx, &caller, &org_id, &solution_id, body.parse()?).await?))
}

async fn remove(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path((org_id, solution_id)): Path<(String, String)>,
) -> Result<StatusCode, Problem> {
    caller.authorize(&org_id, Permission::CreatePersonalSolutions)?;
    definitions::delete(&ctx, &caller, &org_id, &solution_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn run(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path((org_id, solution_id)): Path<(String, String)>,
    body: JsonBody<RunRequest>,
) -> Result<(StatusCode, Json<Started>), Problem> {
    caller.authorize(&org_id, Permission::RunSolutions)?;
    Ok((StatusCode::ACCEPTED, Json(runs::start(&ctx, &caller, &org_id, &solution_id, body.parse()?).await?)))
}

async fn run_status(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path((org_id, run_id)): Path<(String, String)>,
) -> Result<Json<RunView>, Problem> {
    caller.authorize(&org_id, Permission::RunSolutions)?;
    Ok(Json(runs::view(&ctx, &caller, &org_id, &run_id).await?))
}

fn operation(id: &str, summary: &str) -> utoipa::openapi::path::OperationBuilder {
    http::openapi::authenticated("solutions", id, summary)
        .response("403", http::openapi::forbidden_response())
        .response("404", problem_response("No such organisation, solution or run (`not_found`)."))
}

/// The OpenAPI description of the routes of `workflow-step`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let invalid = "`invalid_field` (naming the field), `invalid_json`.";
    let rules = "`steps_required`, `too_many_steps` (R-SC-5), `destination_required` (R-SC-4), \
                 `must_end_with_destination` (R-SC-6), `ocr_twice`, `requires_docx`, `value_required` (R-SC-19), \
                 `pii_type_unavailable`.";
    let list = operation(
        "list_solutions",
        "The solutions the caller sees: their personal ones, the organisation's and those shared with it (R-SC-2).",
    )
    .response("200", ResponseBuilder::new().description("`{items: [Solution]}`").build())
    .build();
    let create = operation(
        "create_solution",
        "Create a solution (Advanced User: personal; Administrator: organisational; + Partner Administrator: shared).",
    )
    .request_body(Some(json_request("SolutionInput")))
    .response("201", json_response("The solution.", "Solution"))
    .response("400", problem_response(invalid))
    .response("422", problem_response(rules))
    .build();
    let read =
        operation("get_solution", "One solution.").response("200", json_response("The solution.", "Solution")).build();
    let replace = operation("replace_solution", "Replace a solution (give `version` to detect conflicts).")
        .request_body(Some(json_request("SolutionInput")))
        .response("200", json_response("The solution.", "Solution"))
        .response("400", problem_response(invalid))
        .response("409", problem_response("`conflict`."))
        .response("422", problem_response(rules))
        .build();
    let remove = operation("delete_solution", "Delete a solution.")
        .response("204", ResponseBuilder::new().description("Deleted.").build())
        .build();
    let run = operation(
        "run_solution",
        "Run a solution on a document (inline base64 up to 5 MB, else upload to `uploadUrl`), with values for unlocked items (R-SC-19).",
    )
    .request_body(Some(json_request("RunRequest")))
    .response("202", json_response("The run, and where to upload its document.", "Started"))
    .response("400", problem_response(invalid))
    .response("409", problem_response("`solution_quota_exceeded`, `distribution_suspended`, `distribution_expired`, `distribution_revoked`."))
    .response("413", problem_response("`document_too_large` (R-SCE-11), `document_too_large_for_inline`."))
    .response("422", problem_response("`value_locked`, `value_required`, `unsupported_document`, `ocr_required`, `requires_docx`."))
    .build();
    let run_status = operation("get_run", "A run with each step's result and fresh download links.")
        .response("200", json_response("The run.", "RunView"))
        .build();
    let mut doc = http::openapi::health_paths(NAME, false);
    let paths = PathsBuilder::new()
        .path("/v1/orgs/{orgId}/solutions", path_item([(HttpMethod::Get, list), (HttpMethod::Post, create)]))
        .path(
            "/v1/orgs/{orgId}/solutions/{solutionId}",
            path_item([(HttpMethod::Get, read), (HttpMethod::Put, replace), (HttpMethod::Delete, remove)]),
        )
        .path("/v1/orgs/{orgId}/solutions/{solutionId}/runs", PathItem::new(HttpMethod::Post, run))
        .path("/v1/orgs/{orgId}/runs/{runId}", PathItem::new(HttpMethod::Get, run_status))
        .build();
    doc.paths.paths.extend(paths.paths);
    let components = ComponentsBuilder::new()
        .schema_from::<Solution>()
        .schema_from::<SolutionInput>()
        .schema_from::<RunRequest>()
        .schema_from::<Started>()
        .schema_from::<RunView>()
        .build();
    doc.components.get_or_insert_with(Default::default).schemas.extend(components.schemas);
    doc.merge(quota_routes::openapi());
    doc
}

/// Executes a batch of `workflow-steps` messages: steps of runs, and the S3 events of run
/// uploads. A message that cannot be handled now is reported failed, so the queue delivers
/// it again and finally keeps it in the dead-letter queue.
pub async fn handle(ctx: Ctx, event: SqsEvent) -> SqsBatchResponse {
    let ctx = &ctx;
    each_record(&event, STEPS_QUEUE, |message| async move { execution::handle_message(ctx, message).await }).await
}
