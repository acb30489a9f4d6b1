//! Printer-side sign-in: `POST /v1/device/sessions` (a badge, a PIN, both, or a secure login
//! code for a device session bound to the printer) and `POST /v1/device/badges` (first-use
//! badge registration, BR-BDG-1). Both need an application token with scope `badges-auth`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use shared::Ctx;
use shared::http::openapi::{json_response, problem_response};
use shared::http::{Caller, JsonBody, Problem};
use shared::identity::badges::Badge;
use shared::identity::device_sessions::{self, BadgeRegistration, DeviceLogin, DeviceSession, DeviceSessionUser};
use utoipa::openapi::path::{HttpMethod, OperationBuilder, PathItem};
use utoipa::openapi::{ComponentsBuilder, OpenApi, PathsBuilder};

/// The routes of this module.
pub fn routes() -> Router<Ctx> {
    Router::new().route("/v1/device/sessions", post(open)).route("/v1/device/badges", post(register_badge))
}

async fn open(
    State(ctx): State<Ctx>,
    caller: Caller,
    login: JsonBody<DeviceLogin>,
) -> Result<(StatusCode, Json<DeviceSession>), Problem> {
    let login = login.parse()?;
    Ok((StatusCode::CREATED, Json(device_sessions::open(&ctx, &caller.claims, &login).await?)))
}

async fn register_badge(
    State(ctx): State<Ctx>,
    caller: Caller,
    registration: JsonBody<BadgeRegistration>,
) -> Result<(StatusCode, Json<Badge>), Problem> {
    let registration = registration.parse()?;
    Ok((StatusCode::CREATED, Json(device_sessions::register_badge(&ctx, &caller.claims, &registration).await?)))
}

fn operation(id: &str, summary: &str, body: &str) -> OperationBuilder {
    OperationBuilder::new()
        .tag("device")
        .operation_id(Some(id))
        .summary(Some(summary))
        .request_body(Some(shared::http::openapi::json_request(body)))
        .response("401", problem_response("No valid application token, or wrong credentials (`invalid_credentials`)."))
        .response("403", problem_response("Not an application token with scope `badges-auth` (`forbidden`)."))
        .response(
            "429",
            problem_response("Five wrong attempts within 15 minutes lock the printer for 15 minutes (`pin_locked`)."),
        )
}

/// The OpenAPI description of this module's routes.
pub fn openapi() -> OpenApi {
    let open = operation(
        "open_device_session",
        "Sign a user in at a printer with `{badge}`, `{pin}`, `{badge, pin}` or `{loginCode}` (plus `printerId`), as \
         the organisation's printer login configuration allows. Answers a 10-minute device session bound to the \
         printer.",
        "DeviceLogin",
    )
    .response("201", json_response("The session.", "DeviceSession"))
    .response("400", problem_response("`login_method_not_allowed`, `invalid_field`, `invalid_json`."))
    .response("404", problem_response("Unknown badge: offer registration (`badge_not_registered`, BR-BDG-1)."))
    .build();
    let register = operation(
        "register_device_badge",
        "First-use badge registration at a printer: the user proves who they are with e-mail address and password \
         (BR-BDG-1); the badge is registered as permanent.",
        "BadgeRegistration",
    )
    .response("201", json_response("The badge, masked.", "Badge"))
    .response("400", problem_response("`login_method_not_allowed`, `invalid_field`, `invalid_json`."))
    .response("409", problem_response("The badge is registered already (`badge_taken`)."))
    .build();
    let mut doc = shared::http::openapi::base();
    doc.paths = PathsBuilder::new()
        .path("/v1/device/sessions", PathItem::new(HttpMethod::Post, open))
        .path("/v1/device/badges", PathItem::new(HttpMethod::Post, register))
        .build();
    doc.components = Some(
        ComponentsBuilder::new()
            .schema_from::<DeviceLogin>()
            .schema_from::<DeviceSession>()
            .schema_from::<DeviceSessionUser>()
            .schema_from::<BadgeRegistration>()
            .schema_from::<Badge>()
            .build(),
    );
    doc
}
