//! Quota status (part-3 §2.28, BR-QT-09…12, D-QUOTA-STATUS):
//! - `GET /v1/orgs/{orgId}/quota-status`: a row per user this month, filtered by `status`
//!   (`OK`, `Warning`, `Exceeded`), `definitionId` (`default` for the default quota) and
//!   `type` (`Personal`, `Cost centre`, `Department`, `Default`), a page of users at a time;
//!   with `Accept: text/csv`, every row as a CSV download. Print Release Management
//!   Administrators only.
//! - `GET /v1/me/quota`: the signed-in user's own row.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use shared::Ctx;
use shared::http::csv_export;
use shared::http::openapi::{json_response, path_item, problem_response};
use shared::http::{Caller, ListPage, ListParams, Problem};
use shared::identity::roles::Permission;
use shared::identity::store;
use shared::print::settings;
use shared::quota::assignments::QuotaType;
use shared::quota::ledger;
use shared::quota::limits::QuotaStatus;
use shared::quota::status::{self, QuotaStatusRow, StatusFilter};
use utoipa::openapi::path::{HttpMethod, OperationBuilder};
use utoipa::openapi::{ComponentsBuilder, OpenApi, PathsBuilder, ResponseBuilder};

/// The routes of this module.
pub fn routes() -> Router<Ctx> {
    Router::new().route("/v1/orgs/{org_id}/quota-status", get(list)).route("/v1/me/quota", get(mine))
}

/// The query of the status page.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StatusQuery {
    status: Option<String>,
    definition_id: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
}

fn invalid(field: &str, allowed: &str) -> Problem {
    Problem::new(StatusCode::BAD_REQUEST, "invalid_field", format!("{field}: one of {allowed}"))
}

impl StatusQuery {
    fn filter(&self) -> Result<StatusFilter, Problem> {
        let status = match self.status.as_deref() {
            None => None,
            Some(text) => Some(
                [QuotaStatus::Ok, QuotaStatus::Warning, QuotaStatus::Exceeded]
                    .into_iter()
                    .find(|s| status::status_label(*s) == text)
                    .ok_or_else(|| invalid("status", "OK, Warning, Exceeded"))?,
            ),
        };
        let kind = match self.kind.as_deref() {
            None => None,
            Some(text) => Some(
                [QuotaType::Personal, QuotaType::CostCenter, QuotaType::Department, QuotaType::Default]
                    .into_iter()
                    .find(|k| k.label() == text)
                    .ok_or_else(|| invalid("type", "Personal, Cost centre, Department, Default"))?,
            ),
        };
        Ok(StatusFilter { status, definition_id: self.definition_id.clone(), kind })
    }
}

async fn list(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path(org_id): Path<String>,
    headers: HeaderMap,
    Query(query): Query<StatusQuery>,
    Query(paging): Query<ListParams>,
) -> Result<Response, Problem> {
    caller.authorize_in(&ctx, &org_id, Permission::ManagePrintRelease).await?;
    let filter = query.filter()?;
    if csv_export::wants_csv(&headers) {
        let rows = status::all(&ctx, &org_id, &filter).await?;
        let body = csv_export::document(&status::CSV_HEADER, status::csv_rows(&rows))?;
        return Ok(csv_export::download("quota-status.csv", body));
    }
    let limit = paging.limit()?;
    let (items, next_token) = status::page(&ctx, &org_id, &filter, limit, paging.next_token).await?;
    Ok(Json(ListPage { items, next_token }).into_response())
}

async fn mine(State(ctx): State<Ctx>, caller: Caller) -> Result<Json<QuotaStatusRow>, Problem> {
    let user_id = caller.require_user()?;
    let org_id = caller.org_id();
    let user = store::get_user(&ctx, org_id, user_id).await?.ok_or_else(|| Problem::not_found("No such user."))?;
    let settings = settings::get(&ctx, org_id).await?;
    let month = ledger::current_month(&ctx, org_id).await?;
    Ok(Json(status::row(&ctx, org_id, &settings, &month, &user.user).await?))
}

fn operation(tag: &str, id: &str, summary: &str) -> OperationBuilder {
    shared::http::openapi::authenticated(tag, id, summary).response("403", shared::http::openapi::forbidden_response())
}

/// The OpenAPI description of this module's routes.
pub fn openapi() -> OpenApi {
    let list = operation(
        "quotas",
        "list_quota_status",
        "Each user's quota this month: status (OK above 10 % of both the total and the colour limit left, \
         Warning at 10 % or less of either, Exceeded at nothing left, BR-QT-10), sides left of the total and \
         of the colour limit (`null`: unlimited), definition and type. Filter with `status`, `definitionId` \
         (`default` for the default quota) and `type`; a filtered page may hold fewer rows than `limit`. \
         With `Accept: text/csv`, every row as a UTF-8 CSV download (cells that could run as formulas are \
         quoted as text).",
    )
    .response("200", ResponseBuilder::new().description("`{items: [QuotaStatusRow], nextToken}`, or CSV.").build())
    .response("400", problem_response("`invalid_field` (`status`, `type`), `invalid_limit`."))
    .response("404", problem_response("No such organisation (`not_found`)."))
    .build();
    let mine = operation("quotas", "get_my_quota", "The signed-in user's own quota status this month.")
        .response("200", json_response("The user's row.", "QuotaStatusRow"))
        .build();
    let mut doc = shared::http::openapi::base();
    doc.paths = PathsBuilder::new()
        .path("/v1/orgs/{orgId}/quota-status", path_item([(HttpMethod::Get, list)]))
        .path("/v1/me/quota", path_item([(HttpMethod::Get, mine)]))
        .build();
    doc.components = Some(
        ComponentsBuilder::new()
            .schema_from::<QuotaStatusRow>()
            .schema_from::<QuotaStatus>()
            .schema_from::<QuotaType>()
            .build(),
    );
    doc
}
