//! Print quota administration (part-3 §2.26–2.27, BR-QT-01…08):
//! - `/v1/orgs/{orgId}/quota-definitions[/{definitionId}]`: list, create, read, replace,
//!   delete;
//! - `/v1/orgs/{orgId}/quota-default`: read and set the organisation's default quota;
//! - `/v1/orgs/{orgId}/quota-assignments[/{kind}/{key}]`: list, assign, remove.
//!
//! Everything needs `ManagePrintRelease`, reads too. Writes need print quotas on in the
//! organisation's print settings (409 `print_quotas_disabled`, BR-OS-18).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, put};
use axum::{Json, Router};
use shared::Ctx;
use shared::http::openapi::{json_request, json_response, path_item, problem_response};
use shared::http::{Caller, JsonBody, ListPage, Problem};
use shared::identity::roles::Permission;
use shared::print::policies::AssignmentKind;
use shared::quota::assignments::{self, AssignQuota, QuotaAssignment};
use shared::quota::definitions::{self, DefaultInput, DefaultQuota, DefinitionInput, QuotaDefinition};
use shared::quota::limits::{ColourLimit, LimitsOfMonth, MonthLimits, QuotaLimits, TotalLimit};
use utoipa::openapi::path::{HttpMethod, OperationBuilder};
use utoipa::openapi::{ComponentsBuilder, OpenApi, PathsBuilder, ResponseBuilder};

/// The routes of this module.
pub fn routes() -> Router<Ctx> {
    Router::new()
        .route("/v1/orgs/{org_id}/quota-definitions", get(list).post(create))
        .route("/v1/orgs/{org_id}/quota-definitions/{definition_id}", get(read).put(replace).delete(remove))
        .route("/v1/orgs/{org_id}/quota-default", get(read_default).put(set_default))
        .route("/v1/orgs/{org_id}/quota-assignments", get(list_assignments))
        .route("/v1/orgs/{org_id}/quota-assignments/{kind}/{key}", put(assign).delete(unassign))
}

async fn list(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path(org_id): Path<String>,
) -> Result<Json<ListPage<QuotaDefinition>>, Problem> {
    caller.authorize_in(&ctx, &org_id, Permission::ManagePrintRelease).await?;
    Ok(Json(ListPage { items: definitions::list(&ctx, &org_id).await?, next_token: None }))
}

async fn create(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path(org_id): Path<String>,
    input: JsonBody<DefinitionInput>,
) -> Result<(StatusCode, Json<QuotaDefinition>), Problem> {
    caller.authorize_in(&ctx, &org_id, Permission::ManagePrintRelease).await?;
    let input = input.parse()?;
    Ok((StatusCode::CREATED, Json(definitions::create(&ctx, &org_id, input).await?)))
}

async fn read(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path((org_id, definition_id)): Path<(String, String)>,
) -> Result<Json<QuotaDefinition>, Problem> {
    caller.authorize_in(&ctx, &org_id, Permission::ManagePrintRelease).await?;
    Ok(Json(definitions::get(&ctx, &org_id, &definition_id).await?))
}

async fn replace(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path((org_id, definition_id)): Path<(String, String)>,
    input: JsonBody<DefinitionInput>,
) -> Result<Json<QuotaDefinition>, Problem> {
    caller.authorize_in(&ctx, &org_id, Permission::ManagePrintRelease).await?;
    let input = input.parse()?;
    Ok(Json(definitions::update(&ctx, &org_id, &definition_id, input).await?))
}

async fn remove(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path((org_id, definition_id)): Path<(String, String)>,
) -> Result<StatusCode, Problem> {
    caller.authorize_in(&ctx, &org_id, Permission::ManagePrintRelease).await?;
    definitions::delete(&ctx, &org_id, &definition_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn read_default(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path(org_id): Path<String>,
) -> Result<Json<DefaultQuota>, Problem> {
    caller.authorize_in(&ctx, &org_id, Permission::ManagePrintRelease).await?;
    Ok(Json(definitions::default_quota(&ctx, &org_id).await?))
}

async fn set_default(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path(org_id): Path<String>,
    input: JsonBody<DefaultInput>,
) -> Result<Json<DefaultQuota>, Problem> {
    caller.authorize_in(&ctx, &org_id, Permission::ManagePrintRelease).await?;
    let input = input.parse()?;
    Ok(Json(definitions::set_default(&ctx, &org_id, input).await?))
}

async fn list_assignments(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path(org_id): Path<String>,
) -> Result<Json<ListPage<QuotaAssignment>>, Problem> {
    caller.authorize_in(&ctx, &org_id, Permission::ManagePrintRelease).await?;
    Ok(Json(ListPage { items: assignments::list(&ctx, &org_id).await?, next_token: None }))
}

async fn assign(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path((org_id, kind, key)): Path<(String, String, String)>,
    input: JsonBody<AssignQuota>,
) -> Result<Json<QuotaAssignment>, Problem> {
    caller.authorize_in(&ctx, &org_id, Permission::ManagePrintRelease).await?;
    let kind = AssignmentKind::parse("kind", &kind)?;
    let input = input.parse()?;
    Ok(Json(assignments::assign(&ctx, &org_id, kind, &key, input).await?))
}

async fn unassign(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path((org_id, kind, key)): Path<(String, String, String)>,
) -> Result<StatusCode, Problem> {
    caller.authorize_in(&ctx, &org_id, Permission::ManagePrintRelease).await?;
    let kind = AssignmentKind::parse("kind", &kind)?;
    assignments::unassign(&ctx, &org_id, kind, &key).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn operation(id: &str, summary: &str) -> OperationBuilder {
    shared::http::openapi::authenticated("quotas", id, summary)
        .response("403", shared::http::openapi::forbidden_response())
        .response("404", problem_response("No such organisation, definition or user (`not_found`)."))
}

const DISABLED: &str = "`print_quotas_disabled` (turn on `printQuotas` in the print settings, BR-OS-18)";

fn write_operation(id: &str, summary: &str, conflicts: &str) -> OperationBuilder {
    operation(id, summary).response("409", problem_response(&format!("{DISABLED}{conflicts}.")))
}

/// The OpenAPI description of this module's routes.
pub fn openapi() -> OpenApi {
    let list = operation("list_quota_definitions", "Every quota definition of the organisation, by name.")
        .response("200", ResponseBuilder::new().description("`{items: [QuotaDefinition]}`").build())
        .build();
    let create = write_operation(
        "create_quota_definition",
        "Create a definition: the same limits every month, or limits for chosen months (a month not chosen \
         prints without limit, BR-QT-02). Each month's total is unlimited, a number of sides or disabled \
         (BR-QT-03); colour is allowed, denied or a number of sides that is part of the total (BR-QT-04).",
        ", `name_taken` (unique regardless of case, BR-QT-01), `too_many_definitions`",
    )
    .request_body(Some(json_request("DefinitionInput")))
    .response("201", json_response("The definition.", "QuotaDefinition"))
    .response("400", problem_response("`invalid_field` naming the field, `invalid_json`."))
    .build();
    let read = operation("get_quota_definition", "A quota definition.")
        .response("200", json_response("The definition.", "QuotaDefinition"))
        .build();
    let replace = write_operation(
        "put_quota_definition",
        "Replace a definition's name and limits; users it applies to get the new limits at their next \
         release. Pass `version` to refuse the change if someone saved meanwhile.",
        ", `name_taken`, `conflict`",
    )
    .request_body(Some(json_request("DefinitionInput")))
    .response("200", json_response("The saved definition.", "QuotaDefinition"))
    .response("400", problem_response("`invalid_field`, `invalid_json`."))
    .build();
    let remove = write_operation(
        "delete_quota_definition",
        "Delete a definition that is not assigned.",
        ", `quota_in_use` (with the number of assignments), `conflict`",
    )
    .response("204", ResponseBuilder::new().description("Deleted.").build())
    .build();
    let read_default = operation(
        "get_default_quota",
        "The organisation's default quota, which applies to users without an assignment (BR-QT-05); \
         unlimited until set.",
    )
    .response("200", json_response("The default quota.", "DefaultQuota"))
    .build();
    let set_default = write_operation("put_default_quota", "Set the organisation's default quota.", ", `conflict`")
        .request_body(Some(json_request("DefaultInput")))
        .response("200", json_response("The default quota.", "DefaultQuota"))
        .response("400", problem_response("`invalid_field`, `invalid_json`."))
        .build();
    let assignments = operation("list_quota_assignments", "Every quota assignment, by kind and key.")
        .response("200", ResponseBuilder::new().description("`{items: [QuotaAssignment]}`").build())
        .build();
    let assign = write_operation(
        "assign_quota",
        "Assign a definition to a cost centre or department (`key` is its name, which some user of the \
         organisation must have, BR-QT-07, ER-QT-01) or to a user (`personal`, `key` is the user's e-mail \
         address, BR-QT-08), replacing what was assigned there. Which kinds are offered follows the print \
         settings' `quotaAssignment` (BR-QT-06). A personal quota overrides a cost centre's or department's, \
         which overrides the default (D-QUOTA-PRECEDENCE).",
        ", `assignment_kind_not_enabled`, `conflict`",
    )
    .request_body(Some(json_request("AssignQuota")))
    .response("200", json_response("The assignment.", "QuotaAssignment"))
    .response("400", problem_response("`invalid_field` (`kind`), `invalid_json`."))
    .response("422", problem_response("`unknown_cost_center`, `unknown_department` (ER-QT-01)."))
    .build();
    let unassign = write_operation(
        "remove_quota_assignment",
        "Remove an assignment; its users fall back to the next quota that applies.",
        ", `conflict`",
    )
    .response("204", ResponseBuilder::new().description("Removed.").build())
    .response("400", problem_response("`invalid_field` (`kind`)."))
    .build();
    let mut doc = shared::http::openapi::base();
    doc.paths = PathsBuilder::new()
        .path("/v1/orgs/{orgId}/quota-definitions", path_item([(HttpMethod::Get, list), (HttpMethod::Post, create)]))
        .path(
            "/v1/orgs/{orgId}/quota-definitions/{definitionId}",
            path_item([(HttpMethod::Get, read), (HttpMethod::Put, replace), (HttpMethod::Delete, remove)]),
        )
        .path(
            "/v1/orgs/{orgId}/quota-default",
            path_item([(HttpMethod::Get, read_default), (HttpMethod::Put, set_default)]),
        )
        .path("/v1/orgs/{orgId}/quota-assignments", path_item([(HttpMethod::Get, assignments)]))
        .path(
            "/v1/orgs/{orgId}/quota-assignments/{kind}/{key}",
            path_item([(HttpMethod::Put, assign), (HttpMethod::Delete, unassign)]),
        )
        .build();
    doc.components = Some(
        ComponentsBuilder::new()
            .schema_from::<QuotaDefinition>()
            .schema_from::<DefinitionInput>()
            .schema_from::<DefaultQuota>()
            .schema_from::<DefaultInput>()
            .schema_from::<QuotaLimits>()
            .schema_from::<MonthLimits>()
            .schema_from::<LimitsOfMonth>()
            .schema_from::<TotalLimit>()
            .schema_from::<ColourLimit>()
            .schema_from::<QuotaAssignment>()
            .schema_from::<AssignQuota>()
            .schema_from::<AssignmentKind>()
            .build(),
    );
    doc
}
