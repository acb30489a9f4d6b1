//! Printer login configuration: `GET/PUT /v1/orgs/{orgId}/settings/printer-login`
//! (E-PRINTERLOGIN). Reading needs `ViewOrganisation`, changing `ManageOrganisation`.

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use shared::Ctx;
use shared::http::openapi::{json_response, path_item, problem_response};
use shared::http::{Caller, JsonBody, Problem};
use shared::identity::printer_login::{
    self, LoginMethod, LoginMode, PinExpiresAfter, PinExpiry, PinExpiryNever, PinExpiryUnit, PinGeneration,
    PrinterLoginConfig, PrinterLoginUpdate,
};
use shared::identity::roles::Permission;
use utoipa::openapi::path::{HttpMethod, OperationBuilder};
use utoipa::openapi::{ComponentsBuilder, OpenApi, PathsBuilder};

/// The routes of this module.
pub fn routes() -> Router<Ctx> {
    Router::new().route("/v1/orgs/{org_id}/settings/printer-login", get(read).put(change))
}

async fn read(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path(org_id): Path<String>,
) -> Result<Json<PrinterLoginConfig>, Problem> {
    caller.authorize_in(&ctx, &org_id, Permission::ViewOrganisation).await?;
    Ok(Json(printer_login::get(&ctx, &org_id).await?))
}

async fn change(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path(org_id): Path<String>,
    update: JsonBody<PrinterLoginUpdate>,
) -> Result<Json<PrinterLoginConfig>, Problem> {
    caller.authorize_in(&ctx, &org_id, Permission::ManageOrganisation).await?;
    let update = update.parse()?;
    Ok(Json(printer_login::put(&ctx, &org_id, update).await?))
}

fn operation(id: &str, summary: &str) -> OperationBuilder {
    shared::http::openapi::authenticated("identity", id, summary)
        .response("403", shared::http::openapi::forbidden_response())
        .response("404", problem_response("No such organisation (`not_found`)."))
}

/// The OpenAPI description of this module's routes.
pub fn openapi() -> OpenApi {
    let read = operation(
        "get_printer_login",
        "The organisation's printer login configuration (badge login only until one is saved).",
    )
    .response("200", json_response("The configuration.", "PrinterLoginConfig"))
    .build();
    let change = operation(
        "put_printer_login",
        "Save the printer login configuration: `standard` with any of badge, pin, secureLogin, or `badgeAndPin` \
         (optionally with secureLogin); PIN length 4–16, generation, and expiry (only with setByAdmin or \
         setByUser, BR-PIN-3). Pass `version` to refuse the change if someone saved meanwhile.",
    )
    .request_body(Some(shared::http::openapi::json_request("PrinterLoginUpdate")))
    .response("200", json_response("The saved configuration, with its new version.", "PrinterLoginConfig"))
    .response("400", problem_response("`invalid_field` naming the field, `invalid_json`."))
    .response("409", problem_response("Saved meanwhile (`conflict`)."))
    .build();
    let mut doc = shared::http::openapi::base();
    doc.paths = PathsBuilder::new()
        .path(
            "/v1/orgs/{orgId}/settings/printer-login",
            path_item([(HttpMethod::Get, read), (HttpMethod::Put, change)]),
        )
        .build();
    doc.components = Some(
        ComponentsBuilder::new()
            .schema_from::<PrinterLoginConfig>()
            .schema_from::<PrinterLoginUpdate>()
            .schema_from::<LoginMode>()
            .schema_from::<LoginMethod>()
            .schema_from::<PinGeneration>()
            .schema_from::<PinExpiry>()
            .schema_from::<PinExpiryNever>()
            .schema_from::<PinExpiresAfter>()
            .schema_from::<PinExpiryUnit>()
            .build(),
    );
    doc
}
