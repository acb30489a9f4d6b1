//! Solution quotas and distributions over HTTP (Solution Quota Manager, part-5 §2.13,
//! §4.8, W10, W11):
//! - `/v1/orgs/{orgId}/solution-quotas`: the default and custom quotas and the pool (GET),
//!   the default user quota (PUT); `.../custom/{kind}/{key}`: a custom quota (PUT, DELETE);
//!   `.../purchased`: the organisation's own purchased amount (PUT);
//!   `.../users/{userId}`: a user's effective quota this month (GET);
//! - `/v1/orgs/{orgId}/distributions[/{childOrgId}]`: a partner's distributions to its
//!   child organisations (list, create, read, edit) and `.../{suspend|resume|revoke}`.
//!
//! Quotas need `ManageSolutionQuotas` (the Solutions Quota Administrator) in the
//! organisation or, through the child-organisation access group, in a child of it; a user
//! reads their own quota; the purchased amount is the Partner Administrator's
//! (`ManageChildOrganisations`). Distributions follow [`distributions::authorize`].

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use shared::Ctx;
use shared::http::openapi::{
    authenticated, forbidden_response, json_request, json_response, path_item, problem_response,
};
use shared::http::{Caller, JsonBody, ListPage, ListParams, Problem};
use shared::identity::roles::Permission;
use shared::print::policies::AssignmentKind;
use shared::solutions::distributions::{
    self, Action, DistributionDuration, DistributionInput, DistributionStatus, DistributionView, PoolSource, PoolState,
    PoolView, PurchasedInput, RevokeInput,
};
use shared::solutions::quotas::{
    self, Amount, CustomInput, CustomQuotaView, DefaultInput, LimitInput, LimitsInput, LimitsView, QuotaSource,
    ServiceQuota, SolutionQuotas, SolutionService, UserSolutionQuota,
};
use utoipa::openapi::path::{HttpMethod, OperationBuilder};
use utoipa::openapi::{ComponentsBuilder, OpenApi, PathsBuilder, ResponseBuilder};

/// The routes of this module, with their state.
pub fn router(ctx: Ctx) -> Router {
    Router::new()
        .route("/v1/orgs/{org_id}/solution-quotas", get(read_quotas).put(set_default))
        .route("/v1/orgs/{org_id}/solution-quotas/purchased", put(set_purchased))
        .route("/v1/orgs/{org_id}/solution-quotas/custom/{kind}/{key}", put(set_custom).delete(remove_custom))
        .route("/v1/orgs/{org_id}/solution-quotas/users/{user_id}", get(user_quota))
        .route("/v1/orgs/{org_id}/distributions", get(list).post(create))
        .route("/v1/orgs/{org_id}/distributions/{child_org_id}", get(read).put(edit))
        .route("/v1/orgs/{org_id}/distributions/{child_org_id}/suspend", post(suspend))
        .route("/v1/orgs/{org_id}/distributions/{child_org_id}/resume", post(resume))
        .route("/v1/orgs/{org_id}/distributions/{child_org_id}/revoke", post(revoke))
        .with_state(ctx)
}

/// Passes when any of `permissions` is allowed in `org_id`; else the first refusal that is
/// not a 403 (another organisation: 404), or the 403.
async fn authorize_any(ctx: &Ctx, caller: &Caller, org_id: &str, permissions: &[Permission]) -> Result<(), Problem> {
    let mut refusal = None;
    for permission in permissions {
        match caller.authorize_in(ctx, org_id, *permission).await {
            Ok(()) => return Ok(()),
            Err(problem) if problem.status == StatusCode::FORBIDDEN.as_u16() => refusal = Some(problem),
            Err(problem) => return Err(problem),
        }
    }
    Err(refusal.unwrap_or_else(|| Problem::new(StatusCode::FORBIDDEN, "forbidden", "Your roles do not allow this.")))
}

async fn read_quotas(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path(org_id): Path<String>,
) -> Result<Json<SolutionQuotas>, Problem> {
    let allowed = [Permission::ManageSolutionQuotas, Permission::ManageChildOrganisations];
    authorize_any(&ctx, &caller, &org_id, &allowed).await?;
    Ok(Json(quotas::config(&ctx, &org_id).await?))
}

async fn set_default(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path(org_id): Path<String>,
    input: JsonBody<DefaultInput>,
) -> Result<Json<SolutionQuotas>, Problem> {
    caller.authorize_in(&ctx, &org_id, Permission::ManageSolutionQuotas).await?;
    Ok(Json(quotas::set_default(&ctx, &org_id, input.parse()?).await?))
}

async fn set_purchased(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path(org_id): Path<String>,
    input: JsonBody<PurchasedInput>,
) -> Result<Json<PoolView>, Problem> {
    caller.authorize_in(&ctx, &org_id, Permission::ManageChildOrganisations).await?;
    Ok(Json(distributions::set_purchased(&ctx, &org_id, input.parse()?).await?))
}

async fn set_custom(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path((org_id, kind, key)): Path<(String, String, String)>,
    input: JsonBody<CustomInput>,
) -> Result<Json<CustomQuotaView>, Problem> {
    caller.authorize_in(&ctx, &org_id, Permission::ManageSolutionQuotas).await?;
    let kind = AssignmentKind::parse("kind", &kind)?;
    Ok(Json(quotas::set_custom(&ctx, &org_id, kind, &key, input.parse()?).await?))
}

async fn remove_custom(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path((org_id, kind, key)): Path<(String, String, String)>,
) -> Result<StatusCode, Problem> {
    caller.authorize_in(&ctx, &org_id, Permission::ManageSolutionQuotas).await?;
    let kind = AssignmentKind::parse("kind", &kind)?;
    quotas::remove_custom(&ctx, &org_id, kind, &key).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn user_quota(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path((org_id, user_id)): Path<(String, String)>,
) -> Result<Json<UserSolutionQuota>, Problem> {
    let themself = caller.org_id() == org_id && caller.user_id() == Some(user_id.as_str());
    if !themself {
        caller.authorize_in(&ctx, &org_id, Permission::ManageSolutionQuotas).await?;
    }
    Ok(Json(quotas::user_status(&ctx, &org_id, &user_id).await?))
}

async fn list(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path(org_id): Path<String>,
    Query(paging): Query<ListParams>,
) -> Result<Json<ListPage<DistributionView>>, Problem> {
    distributions::authorize(&ctx, &caller, &org_id, Action::View).await?;
    let limit = paging.limit()?;
    let (items, next_token) = distributions::list(&ctx, &org_id, limit, paging.next_token).await?;
    Ok(Json(ListPage { items, next_token }))
}

async fn create(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path(org_id): Path<String>,
    input: JsonBody<DistributionInput>,
) -> Result<(StatusCode, Json<DistributionView>), Problem> {
    distributions::authorize(&ctx, &caller, &org_id, Action::Create).await?;
    Ok((StatusCode::CREATED, Json(distributions::create(&ctx, &org_id, input.parse()?).await?)))
}

async fn read(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path((org_id, child_org_id)): Path<(String, String)>,
) -> Result<Json<DistributionView>, Problem> {
    distributions::authorize(&ctx, &caller, &org_id, Action::View).await?;
    Ok(Json(distributions::get(&ctx, &org_id, &child_org_id).await?))
}

async fn edit(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path((org_id, child_org_id)): Path<(String, String)>,
    input: JsonBody<DistributionInput>,
) -> Result<Json<DistributionView>, Problem> {
    distributions::authorize(&ctx, &caller, &org_id, Action::Edit).await?;
    Ok(Json(distributions::edit(&ctx, &org_id, &child_org_id, input.parse()?).await?))
}

async fn suspend(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path((org_id, child_org_id)): Path<(String, String)>,
) -> Result<Json<DistributionView>, Problem> {
    distributions::authorize(&ctx, &caller, &org_id, Action::Control).await?;
    Ok(Json(distributions::set_status(&ctx, &org_id, &child_org_id, DistributionStatus::Suspended).await?))
}

async fn resume(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path((org_id, child_org_id)): Path<(String, String)>,
) -> Result<Json<DistributionView>, Problem> {
    distributions::authorize(&ctx, &caller, &org_id, Action::Control).await?;
    Ok(Json(distributions::set_status(&ctx, &org_id, &child_org_id, DistributionStatus::Active).await?))
}

async fn revoke(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path((org_id, child_org_id)): Path<(String, String)>,
    input: JsonBody<RevokeInput>,
) -> Result<Json<DistributionView>, Problem> {
    distributions::authorize(&ctx, &caller, &org_id, Action::Control).await?;
    Ok(Json(distributions::revoke(&ctx, &org_id, &child_org_id, input.parse()?).await?))
}

fn operation(id: &str, summary: &str) -> OperationBuilder {
    authenticated("solution quotas", id, summary)
        .response("403", forbidden_response())
        .response("404", problem_response("No such organisation, user, custom quota or distribution (`not_found`)."))
}

fn quota_operations() -> [(&'static str, utoipa::openapi::PathItem); 4] {
    let read = operation(
        "get_solution_quotas",
        "The organisation's default user quota (unlimited until set), its custom quotas (personal, and cost \
         centre or department, never both, R-Q-5) and its pool: a partner's distribution or its own purchased \
         amount, with what is used, distributed and left. Amounts are characters with the pages they make \
         (1,800 characters a page, rounded up, D-SOLUTION-UNIT). Solutions Quota or Partner Administrators.",
    )
    .response("200", json_response("The quotas.", "SolutionQuotas"))
    .build();
    let set_default = operation(
        "put_solution_quota_default",
        "Set the default user quota: per service (translate, redact, OCR) unlimited, characters or pages \
         (R-Q-7). It applies to users without a custom quota (R-Q-4). Pass `version` to refuse the change if \
         someone saved meanwhile.",
    )
    .request_body(Some(json_request("DefaultInput")))
    .response("200", json_response("The quotas.", "SolutionQuotas"))
    .response("400", problem_response("`invalid_field` naming the field, `invalid_json`."))
    .response("409", problem_response("`conflict`."))
    .build();
    let set_custom = operation(
        "put_solution_quota_custom",
        "Create or replace a custom quota: `personal` (`key` is the e-mail address of a user registered in the \
         organisation, R-Q-6), `costCenter` or `department` (`key` is the name). A personal quota overrides \
         the cost centre's or department's, which overrides the default (D-QUOTA-PRECEDENCE). An organisation \
         uses cost-centre or department quotas, never both (R-Q-5).",
    )
    .request_body(Some(json_request("CustomInput")))
    .response("200", json_response("The custom quota.", "CustomQuotaView"))
    .response("400", problem_response("`invalid_field` (`kind`, `key`, limits), `invalid_json`."))
    .response("409", problem_response("`custom_quota_kind_conflict` (R-Q-5), `conflict`."))
    .response("422", problem_response("`user_not_registered` (R-Q-6)."))
    .build();
    let remove_custom = operation(
        "delete_solution_quota_custom",
        "Remove a custom quota (a personal one by e-mail address or user id); its users fall back to the next \
         quota that applies. Removing the last cost-centre or department quota lets the organisation use the \
         other kind.",
    )
    .response("204", ResponseBuilder::new().description("Removed.").build())
    .response("400", problem_response("`invalid_field` (`kind`)."))
    .response("409", problem_response("`conflict`."))
    .build();
    let purchased = operation(
        "put_solution_quota_purchased",
        "Record the organisation's purchased amount per service (Partner Administrator): its pool when no \
         partner distributes to it, and so the most it can distribute (R-Q-1). Unlimited until recorded.",
    )
    .request_body(Some(json_request("PurchasedInput")))
    .response("200", json_response("The pool.", "PoolView"))
    .response("400", problem_response("`invalid_field`, `invalid_json`."))
    .response(
        "409",
        problem_response(
            "`pool_is_distribution`, `unlimited_distributions_exist` (limit or revoke them first), `conflict`.",
        ),
    )
    .build();
    let user = operation(
        "get_user_solution_quota",
        "A user's effective quota this month (the calendar month in the organisation's time zone, \
         D-QUOTA-PERIOD): where it comes from, and per service the limit, used, remaining and what is available \
         now given the organisation's pool. Users read their own; Solutions Quota Administrators anyone's.",
    )
    .response("200", json_response("The user's quota.", "UserSolutionQuota"))
    .build();
    [
        ("/v1/orgs/{orgId}/solution-quotas", path_item([(HttpMethod::Get, read), (HttpMethod::Put, set_default)])),
        ("/v1/orgs/{orgId}/solution-quotas/purchased", path_item([(HttpMethod::Put, purchased)])),
        (
            "/v1/orgs/{orgId}/solution-quotas/custom/{kind}/{key}",
            path_item([(HttpMethod::Put, set_custom), (HttpMethod::Delete, remove_custom)]),
        ),
        ("/v1/orgs/{orgId}/solution-quotas/users/{userId}", path_item([(HttpMethod::Get, user)])),
    ]
}

const WHO: &str = "Members of the organisation's child-organisation access group: Solutions Quota Administrators \
                   create and edit, Partner Administrators edit, suspend, resume and revoke (part-5 §3).";

fn distribution_operations() -> [(&'static str, utoipa::openapi::PathItem); 5] {
    let list = operation(
        "list_distributions",
        "The organisation's distributions to its child organisations: name, state, last modified, limits, used, \
         remaining and expiry (a date, or `continuous`). Solutions Quota or Partner Administrators.",
    )
    .response("200", ResponseBuilder::new().description("`{items: [DistributionView], nextToken}`").build())
    .response("400", problem_response("`invalid_limit`."))
    .build();
    let create = operation(
        "create_distribution",
        &format!(
            "Distribute to a child organisation (`childOrgId`): per service unlimited, characters or pages; \
             `continuous` (default, until used up) or `custom` with `expiresOn`, its last day, after today (R-Q-9); \
             optionally mail up to 10 addresses when 10 % or less is left and when nothing is (D-ALMOST-USED-UP). \
             A partner cannot distribute more than it holds: its pool less its own use and what it distributed \
             (R-Q-1); Unlimited only from an unlimited pool. A revoked distribution is replaced. {WHO}"
        ),
    )
    .request_body(Some(json_request("DistributionInput")))
    .response("201", json_response("The distribution.", "DistributionView"))
    .response("400", problem_response("`invalid_field` naming the field, `invalid_json`."))
    .response(
        "409",
        problem_response(
            "`distribution_exceeds_available` (with `available`, R-Q-1), `distribution_exists`, the partner's own \
             pool stopped (`distribution_suspended`, `distribution_revoked`, `distribution_expired`), `conflict`.",
        ),
    )
    .build();
    let read = operation("get_distribution", "One distribution.")
        .response("200", json_response("The distribution.", "DistributionView"))
        .build();
    let edit = operation(
        "put_distribution",
        &format!(
            "Edit a distribution (R-Q-11): limits (never below what the child used), duration and expiry, mail. \
             More must fit in what the partner holds (R-Q-1); less goes back to it. {WHO}"
        ),
    )
    .request_body(Some(json_request("DistributionInput")))
    .response("200", json_response("The distribution.", "DistributionView"))
    .response("400", problem_response("`invalid_field`, `invalid_json`."))
    .response(
        "409",
        problem_response(
            "`distribution_exceeds_available`, `distribution_below_used`, `distribution_revoked`, `conflict`.",
        ),
    )
    .build();
    let control = |id: &str, summary: &str| {
        operation(id, &format!("{summary} {WHO}"))
            .response("200", json_response("The distribution.", "DistributionView"))
            .response("409", problem_response("`invalid_distribution_state`, `distribution_revoked`, `conflict`."))
            .build()
    };
    let suspend = control(
        "suspend_distribution",
        "Suspend: the child organisation's translate, redact and OCR stop with `distribution_suspended` (R-Q-13).",
    );
    let resume = control("resume_distribution", "Resume a suspended distribution (R-Q-13).");
    let revoke = operation(
        "revoke_distribution",
        &format!(
            "Revoke, confirmed by typing the child organisation's name exactly (`confirmName`): its solutions \
             stop with `distribution_revoked` and the unused pages return to the partner (R-Q-12). {WHO}"
        ),
    )
    .request_body(Some(json_request("RevokeInput")))
    .response("200", json_response("The distribution.", "DistributionView"))
    .response("400", problem_response("`confirmation_mismatch`, `invalid_json`."))
    .response("409", problem_response("`distribution_revoked`, `conflict`."))
    .build();
    let action = |operation| path_item([(HttpMethod::Post, operation)]);
    [
        ("/v1/orgs/{orgId}/distributions", path_item([(HttpMethod::Get, list), (HttpMethod::Post, create)])),
        ("/v1/orgs/{orgId}/distributions/{childOrgId}", path_item([(HttpMethod::Get, read), (HttpMethod::Put, edit)])),
        ("/v1/orgs/{orgId}/distributions/{childOrgId}/suspend", action(suspend)),
        ("/v1/orgs/{orgId}/distributions/{childOrgId}/resume", action(resume)),
        ("/v1/orgs/{orgId}/distributions/{childOrgId}/revoke", action(revoke)),
    ]
}

/// The OpenAPI description of this module's routes.
pub fn openapi() -> OpenApi {
    let mut paths = PathsBuilder::new();
    for (path, item) in quota_operations().into_iter().chain(distribution_operations()) {
        paths = paths.path(path, item);
    }
    let mut doc = shared::http::openapi::base();
    doc.paths = paths.build();
    doc.components = Some(
        ComponentsBuilder::new()
            .schema_from::<SolutionQuotas>()
            .schema_from::<DefaultInput>()
            .schema_from::<CustomInput>()
            .schema_from::<CustomQuotaView>()
            .schema_from::<LimitsInput>()
            .schema_from::<LimitInput>()
            .schema_from::<LimitsView>()
            .schema_from::<Amount>()
            .schema_from::<AssignmentKind>()
            .schema_from::<QuotaSource>()
            .schema_from::<UserSolutionQuota>()
            .schema_from::<ServiceQuota>()
            .schema_from::<SolutionService>()
            .schema_from::<PoolView>()
            .schema_from::<PoolSource>()
            .schema_from::<PoolState>()
            .schema_from::<PurchasedInput>()
            .schema_from::<DistributionInput>()
            .schema_from::<DistributionView>()
            .schema_from::<DistributionDuration>()
            .schema_from::<RevokeInput>()
            .build(),
    );
    doc
}
