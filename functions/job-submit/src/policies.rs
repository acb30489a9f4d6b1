//! Print policies and their assignments (part-3 §2.29–2.30, BR-PP-01…12):
//! - `/v1/orgs/{orgId}/print-policies[/{policyId}]`: list (the default first, then by
//!   name), create, read, replace (`default` edits the default policy), delete, and
//!   `/duplicate` under a new name;
//! - `/v1/orgs/{orgId}/print-policy-assignments[/{kind}/{key}]`: list (filter by `policyId`
//!   and `kind`), assign, remove. A policy's assignments are listed here, not with the policy.
//!
//! Everything needs `ManagePrintRelease`, reads too. Writes need print policies on in the
//! organisation's print settings (409 `print_policies_disabled`, BR-PP-01); reads work anyway.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::Deserialize;
use shared::Ctx;
use shared::http::openapi::{json_request, json_response, path_item, problem_response};
use shared::http::{Caller, JsonBody, ListPage, ListParams, Problem};
use shared::identity::roles::Permission;
use shared::print::policies::{
    self, AssignPolicy, AssignmentFilter, AssignmentKind, DayHours, DayOfWeek, DuplexBinding, DuplexScope,
    DuplicatePolicy, ForceDuplex, ForceMono, PolicyAssignment, PolicyInput, PrintPolicy, PrintWindow,
};
use utoipa::openapi::path::{HttpMethod, OperationBuilder};
use utoipa::openapi::{ComponentsBuilder, OpenApi, PathsBuilder, ResponseBuilder};

/// The routes of this module.
pub fn routes() -> Router<Ctx> {
    Router::new()
        .route("/v1/orgs/{org_id}/print-policies", get(list).post(create))
        .route("/v1/orgs/{org_id}/print-policies/{policy_id}", get(read).put(replace).delete(remove))
        .route("/v1/orgs/{org_id}/print-policies/{policy_id}/duplicate", post(duplicate))
        .route("/v1/orgs/{org_id}/print-policy-assignments", get(list_assignments))
        .route("/v1/orgs/{org_id}/print-policy-assignments/{kind}/{key}", put(assign).delete(unassign))
}

async fn list(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path(org_id): Path<String>,
) -> Result<Json<ListPage<PrintPolicy>>, Problem> {
    caller.authorize_in(&ctx, &org_id, Permission::ManagePrintRelease).await?;
    Ok(Json(ListPage { items: policies::list(&ctx, &org_id).await?, next_token: None }))
}

async fn create(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path(org_id): Path<String>,
    input: JsonBody<PolicyInput>,
) -> Result<(StatusCode, Json<PrintPolicy>), Problem> {
    caller.authorize_in(&ctx, &org_id, Permission::ManagePrintRelease).await?;
    let input = input.parse()?;
    Ok((StatusCode::CREATED, Json(policies::create(&ctx, &org_id, input).await?)))
}

async fn read(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path((org_id, policy_id)): Path<(String, String)>,
) -> Result<Json<PrintPolicy>, Problem> {
    caller.authorize_in(&ctx, &org_id, Permission::ManagePrintRelease).await?;
    Ok(Json(policies::get(&ctx, &org_id, &policy_id).await?))
}

async fn replace(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path((org_id, policy_id)): Path<(String, String)>,
    input: JsonBody<PolicyInput>,
) -> Result<Json<PrintPolicy>, Problem> {
    caller.authorize_in(&ctx, &org_id, Permission::ManagePrintRelease).await?;
    let input = input.parse()?;
    Ok(Json(policies::update(&ctx, &org_id, &policy_id, input).await?))
}

async fn remove(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path((org_id, policy_id)): Path<(String, String)>,
) -> Result<StatusCode, Problem> {
    caller.authorize_in(&ctx, &org_id, Permission::ManagePrintRelease).await?;
    policies::delete(&ctx, &org_id, &policy_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn duplicate(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path((org_id, policy_id)): Path<(String, String)>,
    copy: JsonBody<DuplicatePolicy>,
) -> Result<(StatusCode, Json<PrintPolicy>), Problem> {
    caller.authorize_in(&ctx, &org_id, Permission::ManagePrintRelease).await?;
    let copy = copy.parse()?;
    Ok((StatusCode::CREATED, Json(policies::duplicate(&ctx, &org_id, &policy_id, copy).await?)))
}

/// The filters of the assignment list.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AssignmentParams {
    policy_id: Option<String>,
    kind: Option<String>,
}

async fn list_assignments(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path(org_id): Path<String>,
    Query(params): Query<ListParams>,
    Query(filter): Query<AssignmentParams>,
) -> Result<Json<ListPage<PolicyAssignment>>, Problem> {
    caller.authorize_in(&ctx, &org_id, Permission::ManagePrintRelease).await?;
    let kind = filter.kind.as_deref().map(|kind| AssignmentKind::parse("kind", kind)).transpose()?;
    let filter = AssignmentFilter { policy_id: filter.policy_id, kind };
    let (items, next_token) = policies::assignments(&ctx, &org_id, &filter, params.limit()?, params.next_token).await?;
    Ok(Json(ListPage { items, next_token }))
}

async fn assign(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path((org_id, kind, key)): Path<(String, String, String)>,
    body: JsonBody<AssignPolicy>,
) -> Result<Json<PolicyAssignment>, Problem> {
    caller.authorize_in(&ctx, &org_id, Permission::ManagePrintRelease).await?;
    let body = body.parse()?;
    let kind = AssignmentKind::parse("kind", &kind)?;
    Ok(Json(policies::assign(&ctx, &org_id, kind, &key, body).await?))
}

async fn unassign(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path((org_id, kind, key)): Path<(String, String, String)>,
) -> Result<StatusCode, Problem> {
    caller.authorize_in(&ctx, &org_id, Permission::ManagePrintRelease).await?;
    let kind = AssignmentKind::parse("kind", &kind)?;
    policies::unassign(&ctx, &org_id, kind, &key).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn operation(id: &str, summary: &str) -> OperationBuilder {
    shared::http::openapi::authenticated("print", id, summary)
        .response("403", shared::http::openapi::forbidden_response())
        .response("404", problem_response("No such organisation or print policy (`not_found`)."))
}

const DISABLED: &str = "`print_policies_disabled` (turn on `printPolicies` in the print settings, BR-PP-01)";

fn write_operation(id: &str, summary: &str, conflicts: &str) -> OperationBuilder {
    operation(id, summary).response("409", problem_response(&format!("{DISABLED}{conflicts}.")))
}

/// The OpenAPI description of this module's routes.
pub fn openapi() -> OpenApi {
    let list = operation(
        "list_print_policies",
        "Every print policy of the organisation: the default policy (`id` `default`, nothing forced until \
         edited) first, then the named ones by name. Assignments are listed under print-policy-assignments.",
    )
    .response("200", ResponseBuilder::new().description("`{items: [PrintPolicy]}` (one page).").build())
    .build();
    let create = write_operation(
        "create_print_policy",
        "Create a named policy: force mono (optionally from N pages, BR-PP-02), force duplex by scope and \
         page thresholds (BR-PP-03), and the days and times printing is allowed (BR-PP-04…06; `HH:MM`, an end \
         after 23:59 — up to 47:59 — ends the next day). Thresholds count document pages, not copies (BR-PP-07).",
        ", `name_taken` (unique regardless of case, BR-PP-09), `too_many_policies`",
    )
    .request_body(Some(json_request("PolicyInput")))
    .response("201", json_response("The policy.", "PrintPolicy"))
    .response("400", problem_response("`invalid_field` naming the field (e.g. `printWindow.end`), `invalid_json`."))
    .build();
    let read = operation("get_print_policy", "A print policy; `default` is the organisation's default policy.")
        .response("200", json_response("The policy.", "PrintPolicy"))
        .build();
    let replace = write_operation(
        "put_print_policy",
        "Replace a policy's rules (a rule left out is no longer forced) and, for a named policy, its name. \
         `default` edits the default policy, which keeps its name. Pass `version` to refuse the change if \
         someone saved meanwhile.",
        ", `name_taken`, `conflict`",
    )
    .request_body(Some(json_request("PolicyInput")))
    .response("200", json_response("The saved policy, with its new version.", "PrintPolicy"))
    .response("400", problem_response("`invalid_field` naming the field, `invalid_json`."))
    .build();
    let remove = write_operation(
        "delete_print_policy",
        "Delete a named policy. A policy still assigned is not deleted: remove its assignments first.",
        ", `default_policy` (the default policy cannot be deleted), `policy_in_use` (with the number of \
         assignments), `conflict`",
    )
    .response("204", ResponseBuilder::new().description("Deleted.").build())
    .build();
    let duplicate = write_operation(
        "duplicate_print_policy",
        "Copy a policy's rules (the default policy's too) into a new named policy (BR-PP-09).",
        ", `name_taken`, `too_many_policies`",
    )
    .request_body(Some(json_request("DuplicatePolicy")))
    .response("201", json_response("The copy.", "PrintPolicy"))
    .response("400", problem_response("`invalid_field`, `invalid_json`."))
    .build();
    let assignments = operation(
        "list_print_policy_assignments",
        "Assignments, a page at a time (`limit`, `nextToken`), ordered by kind and key; filter by `policyId` \
         (BR-PP-12) and `kind` (`costCenter`, `department`, `personal`).",
    )
    .response("200", ResponseBuilder::new().description("`{items: [PolicyAssignment], nextToken}`").build())
    .response("400", problem_response("`invalid_limit`, `invalid_field` (`kind`)."))
    .build();
    let assign = write_operation(
        "assign_print_policy",
        "Assign a policy to a cost centre or department (`key` is its name, matched regardless of case) or \
         to a user (`personal`, `key` is the user id), replacing what was assigned there (BR-PP-10). Which kinds \
         are offered follows the print settings' `policyAssignment`. A personal policy overrides a cost \
         centre's or department's (BR-PP-11).",
        ", `assignment_kind_not_enabled`, `conflict`",
    )
    .request_body(Some(json_request("AssignPolicy")))
    .response("200", json_response("The assignment.", "PolicyAssignment"))
    .response("400", problem_response("`invalid_field` (`kind`, `key`), `invalid_json`."))
    .build();
    let unassign = write_operation(
        "remove_print_policy_assignment",
        "Remove an assignment (BR-PP-12); its users fall back to the next policy that applies.",
        ", `conflict`",
    )
    .response("204", ResponseBuilder::new().description("Removed.").build())
    .response("400", problem_response("`invalid_field` (`kind`)."))
    .build();
    let mut doc = shared::http::openapi::base();
    doc.paths = PathsBuilder::new()
        .path("/v1/orgs/{orgId}/print-policies", path_item([(HttpMethod::Get, list), (HttpMethod::Post, create)]))
        .path(
            "/v1/orgs/{orgId}/print-policies/{policyId}",
            path_item([(HttpMethod::Get, read), (HttpMethod::Put, replace), (HttpMethod::Delete, remove)]),
        )
        .path("/v1/orgs/{orgId}/print-policies/{policyId}/duplicate", path_item([(HttpMethod::Post, duplicate)]))
        .path("/v1/orgs/{orgId}/print-policy-assignments", path_item([(HttpMethod::Get, assignments)]))
        .path(
            "/v1/orgs/{orgId}/print-policy-assignments/{kind}/{key}",
            path_item([(HttpMethod::Put, assign), (HttpMethod::Delete, unassign)]),
        )
        .build();
    doc.components = Some(
        ComponentsBuilder::new()
            .schema_from::<PrintPolicy>()
            .schema_from::<PolicyInput>()
            .schema_from::<DuplicatePolicy>()
            .schema_from::<ForceMono>()
            .schema_from::<ForceDuplex>()
            .schema_from::<DuplexBinding>()
            .schema_from::<DuplexScope>()
            .schema_from::<PrintWindow>()
            .schema_from::<DayHours>()
            .schema_from::<DayOfWeek>()
            .schema_from::<PolicyAssignment>()
            .schema_from::<AssignPolicy>()
            .schema_from::<AssignmentKind>()
            .build(),
    );
    doc
}
