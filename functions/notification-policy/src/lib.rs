//! `notification-policy`: fleet notification policies (`GET/POST
//! /v1/orgs/{orgId}/notification-policies`, `GET/PUT/DELETE .../{policyId}`, `POST
//! .../{policyId}/duplicate`), their history (`GET /v1/orgs/{orgId}/notification-history`)
//! and the sweep that mails administrators (schedule `notification-sweep`).

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use shared::function::{Schedule, ScheduleError, is_schedule};
use shared::http::openapi::{json_request, json_response, path_item, problem_response};
use shared::http::{Caller, JsonBody, ListPage, ListParams, Problem};
use shared::identity::roles::Permission;
use shared::notifications::history::{self, SentNotification};
use shared::notifications::policies::{self, NotificationPolicy, PolicyInput};
use shared::notifications::sweep;
use shared::{Ctx, Function, http};
use utoipa::openapi::path::{HttpMethod, PathItem};
use utoipa::openapi::{ComponentsBuilder, PathsBuilder, ResponseBuilder};

/// The function's name, as deployed.
pub const NAME: &str = "notification-policy";

/// The schedules of `notification-policy`, with the expressions of `infra/template.yaml`:
/// hourly, so a day's pass cut off by a timeout resumes within the hour (BR-NP-08 is
/// still one evaluation a day).
pub const SCHEDULES: [Schedule; 1] = [Schedule { name: "notification-sweep", expression: "rate(1 hour)" }];

/// How long one sweep run works before saving its place (the Lambda timeout is 900 s).
pub const SWEEP_BUDGET: std::time::Duration = std::time::Duration::from_secs(600);

/// The function's triggers: HTTP and the notification schedule.
pub fn function() -> Function {
    Function::new(NAME).http(router).schedules(&SCHEDULES, handle)
}

/// The HTTP routes of `notification-policy`.
pub fn router(ctx: Ctx) -> Router {
    let api = Router::new()
        .route("/v1/orgs/{org_id}/notification-policies", get(list).post(create))
        .route("/v1/orgs/{org_id}/notification-policies/{policy_id}", get(read).put(replace).delete(remove))
        .route("/v1/orgs/{org_id}/notification-policies/{policy_id}/duplicate", post(duplicate))
        .route("/v1/orgs/{org_id}/notification-history", get(sent))
        .with_state(ctx.clone());
    http::health_routes(NAME, false, ctx).merge(api)
}

async fn list(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path(org_id): Path<String>,
) -> Result<Json<ListPage<NotificationPolicy>>, Problem> {
    caller.authorize_in(&ctx, &org_id, Permission::ViewFleet).await?;
    Ok(Json(ListPage { items: policies::list(&ctx, &org_id).await?, next_token: None }))
}

async fn create(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path(org_id): Path<String>,
    body: JsonBody<PolicyInput>,
) -> Result<(StatusCode, Json<NotificationPolicy>), Problem> {
    caller.authorize_in(&ctx, &org_id, Permission::ManageFleet).await?;
    Ok((StatusCode::CREATED, Json(policies::create(&ctx, &org_id, body.parse()?).await?)))
}

async fn read(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path((org_id, policy_id)): Path<(String, String)>,
) -> Result<Json<NotificationPolicy>, Problem> {
    caller.authorize_in(&ctx, &org_id, Permission::ViewFleet).await?;
    Ok(Json(policies::get(&ctx, &org_id, &policy_id).await?))
}

async fn replace(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path((org_id, policy_id)): Path<(String, String)>,
    body: JsonBody<PolicyInput>,
) -> Result<Json<NotificationPolicy>, Problem> {
    caller.authorize_in(&ctx, &org_id, Permission::ManageFleet).await?;
    Ok(Json(policies::replace(&ctx, &org_id, &policy_id, body.parse()?).await?))
}

async fn remove(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path((org_id, policy_id)): Path<(String, String)>,
) -> Result<StatusCode, Problem> {
    caller.authorize_in(&ctx, &org_id, Permission::ManageFleet).await?;
    policies::delete(&ctx, &org_id, &policy_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn duplicate(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path((org_id, policy_id)): Path<(String, String)>,
    body: JsonBody<PolicyInput>,
) -> Result<(StatusCode, Json<NotificationPolicy>), Problem> {
    caller.authorize_in(&ctx, &org_id, Permission::ManageFleet).await?;
    Ok((StatusCode::CREATED, Json(policies::duplicate(&ctx, &org_id, &policy_id, body.parse()?).await?)))
}

async fn sent(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path(org_id): Path<String>,
    Query(params): Query<ListParams>,
) -> Result<Json<ListPage<SentNotification>>, Problem> {
    caller.authorize_in(&ctx, &org_id, Permission::ViewFleet).await?;
    let (items, next_token) = history::list(&ctx, &org_id, params.limit()?, params.next_token).await?;
    Ok(Json(ListPage { items, next_token }))
}

fn operation(id: &str, summary: &str) -> utoipa::openapi::path::OperationBuilder {
    http::openapi::authenticated("notifications", id, summary)
        .response("403", http::openapi::forbidden_response())
        .response("404", problem_response("No such organisation or policy (`not_found`)."))
}

/// The OpenAPI description of the routes of `notification-policy`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let invalid = "`invalid_field` (naming the field), `invalid_json`.";
    let list = operation("list_notification_policies", "The organisation's notification policies, by name.")
        .response("200", ResponseBuilder::new().description("`{items: [NotificationPolicy]}`").build())
        .build();
    let create = operation("create_notification_policy", "Create a policy (BR-NP-01…07).")
        .request_body(Some(json_request("PolicyInput")))
        .response("201", json_response("The policy.", "NotificationPolicy"))
        .response("400", problem_response(invalid))
        .response("409", problem_response("`name_taken`, `too_many_policies`."))
        .build();
    let read = operation("get_notification_policy", "One policy.")
        .response("200", json_response("The policy.", "NotificationPolicy"))
        .build();
    let replace = operation("replace_notification_policy", "Replace a policy (give `version` to detect conflicts).")
        .request_body(Some(json_request("PolicyInput")))
        .response("200", json_response("The policy.", "NotificationPolicy"))
        .response("400", problem_response(invalid))
        .response("409", problem_response("`name_taken`, `conflict`."))
        .build();
    let remove = operation("delete_notification_policy", "Delete a policy.")
        .response("204", ResponseBuilder::new().description("Deleted.").build())
        .build();
    let duplicate = operation(
        "duplicate_notification_policy",
        "A new policy from this one with the changes given; a copy that changes only the name is refused (BR-NP-11).",
    )
    .request_body(Some(json_request("PolicyInput")))
    .response("201", json_response("The new policy.", "NotificationPolicy"))
    .response("422", problem_response("`duplicate_only_renamed` (ER-NP-01)."))
    .build();
    let sent =
        operation("list_notification_history", "Notifications sent in the last 30 days, newest first (BR-NP-12).")
            .response("200", ResponseBuilder::new().description("`{items: [SentNotification], nextToken}`").build())
            .build();
    let mut doc = http::openapi::health_paths(NAME, false);
    let paths = PathsBuilder::new()
        .path(
            "/v1/orgs/{orgId}/notification-policies",
            path_item([(HttpMethod::Get, list), (HttpMethod::Post, create)]),
        )
        .path(
            "/v1/orgs/{orgId}/notification-policies/{policyId}",
            path_item([(HttpMethod::Get, read), (HttpMethod::Put, replace), (HttpMethod::Delete, remove)]),
        )
        .path("/v1/orgs/{orgId}/notification-policies/{policyId}/duplicate", PathItem::new(HttpMethod::Post, duplicate))
        .path("/v1/orgs/{orgId}/notification-history", PathItem::new(HttpMethod::Get, sent))
        .build();
    doc.paths.paths.extend(paths.paths);
    let components = ComponentsBuilder::new()
        .schema_from::<NotificationPolicy>()
        .schema_from::<PolicyInput>()
        .schema_from::<SentNotification>()
        .build();
    doc.components.get_or_insert_with(Default::default).schemas.extend(components.schemas);
    doc
}

/// Runs (or resumes) the day's notification sweep. An event for a schedule this function
/// does not own is an error, so a miswired schedule shows up in the logs and metrics.
pub async fn handle(ctx: Ctx, event: EventBridgeEvent) -> Result<(), ScheduleError> {
    if !is_schedule(&event, "notification-sweep") {
        return Err(format!("notification-policy has no schedule for {:?}", event.resources).into());
    }
    let report = sweep::sweep(&ctx, SWEEP_BUDGET).await.map_err(|problem| problem.detail)?;
    tracing::info!(
        organisations = report.organisations,
        policies = report.policies,
        notified = report.notified,
        complete = report.complete,
        "notification sweep"
    );
    Ok(())
}
