//! Organisational print settings: `GET/PUT /v1/orgs/{orgId}/settings/print` (part-3
//! §2.25). Reading needs `ViewOrganisation`, changing `ManagePrintRelease`.

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use shared::Ctx;
use shared::http::openapi::{json_response, path_item, problem_response};
use shared::http::{Caller, JsonBody, Problem};
use shared::identity::roles::Permission;
use shared::print::settings::{self, Period, PeriodUnit, PolicyAssignmentMode, PrintSettings, PrintSettingsUpdate};
use utoipa::openapi::path::{HttpMethod, OperationBuilder};
use utoipa::openapi::{ComponentsBuilder, OpenApi, PathsBuilder};

/// The routes of this module.
pub fn routes() -> Router<Ctx> {
    Router::new().route("/v1/orgs/{org_id}/settings/print", get(read).put(change))
}

async fn read(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path(org_id): Path<String>,
) -> Result<Json<PrintSettings>, Problem> {
    caller.authorize_in(&ctx, &org_id, Permission::ViewOrganisation).await?;
    Ok(Json(settings::get(&ctx, &org_id).await?))
}

async fn change(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path(org_id): Path<String>,
    update: JsonBody<PrintSettingsUpdate>,
) -> Result<Json<PrintSettings>, Problem> {
    caller.authorize_in(&ctx, &org_id, Permission::ManagePrintRelease).await?;
    let update = update.parse()?;
    Ok(Json(settings::put(&ctx, &org_id, update).await?))
}

fn operation(id: &str, summary: &str) -> OperationBuilder {
    shared::http::openapi::authenticated("print", id, summary)
        .response("403", shared::http::openapi::forbidden_response())
        .response("404", problem_response("No such organisation (`not_found`)."))
}

/// The OpenAPI description of this module's routes.
pub fn openapi() -> OpenApi {
    let read = operation("get_print_settings", "The organisation's print settings (defaults until saved).")
        .response("200", json_response("The settings.", "PrintSettings"))
        .build();
    let change = operation(
        "put_print_settings",
        "Change print settings; fields left out keep their values. Retention and history: 1–365 days or \
         1–8760 hours. Pass `version` to refuse the change if someone saved meanwhile.",
    )
    .request_body(Some(shared::http::openapi::json_request("PrintSettingsUpdate")))
    .response("200", json_response("The saved settings, with their new version.", "PrintSettings"))
    .response("400", problem_response("`invalid_field` naming the field, `invalid_json`."))
    .response("409", problem_response("Saved meanwhile (`conflict`)."))
    .build();
    let mut doc = shared::http::openapi::base();
    doc.paths = PathsBuilder::new()
        .path("/v1/orgs/{orgId}/settings/print", path_item([(HttpMethod::Get, read), (HttpMethod::Put, change)]))
        .build();
    doc.components = Some(
        ComponentsBuilder::new()
            .schema_from::<PrintSettings>()
            .schema_from::<PrintSettingsUpdate>()
            .schema_from::<Period>()
            .schema_from::<PeriodUnit>()
            .schema_from::<PolicyAssignmentMode>()
            .build(),
    );
    doc
}
