//! Enrollment codes of an organisation (`/v1/orgs/{orgId}/enrollment-codes`), the
//! enrollment itself (`POST /v1/enroll`, where the code is the credential) and claiming a
//! printer-generated code (`POST /v1/orgs/{orgId}/printers/claim`).

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::Deserialize;
use shared::Ctx;
use shared::fleet::codes::{self, EnrollmentCode, NewCode};
use shared::fleet::credentials::Device;
use shared::fleet::enrollment::{self, ActivatedAgent, ClaimedPrinter, EnrollRequest, EnrolledPrinter, PrinterCode};
use shared::http::openapi::{json_request, json_response, path_item, problem_response};
use shared::http::{Caller, JsonBody, Problem};
use shared::identity::roles::Permission;
use utoipa::openapi::path::{HttpMethod, OperationBuilder, PathItem};
use utoipa::openapi::{ComponentsBuilder, OpenApi, PathsBuilder, ResponseBuilder};

/// The routes of this module.
pub fn routes() -> Router<Ctx> {
    Router::new()
        .route("/v1/orgs/{org_id}/enrollment-codes", get(list).post(create))
        .route("/v1/orgs/{org_id}/enrollment-codes/{code_id}", delete(remove))
        .route("/v1/orgs/{org_id}/printers/claim", post(claim))
        .route("/v1/enroll", post(enroll))
}

async fn list(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path(org_id): Path<String>,
) -> Result<Json<serde_json::Value>, Problem> {
    caller.authorize_in(&ctx, &org_id, Permission::ManageFleet).await?;
    Ok(Json(serde_json::json!({"items": codes::list(&ctx, &org_id).await?})))
}

async fn create(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path(org_id): Path<String>,
    new: JsonBody<NewCode>,
) -> Result<(StatusCode, Json<EnrollmentCode>), Problem> {
    caller.authorize_in(&ctx, &org_id, Permission::ManageFleet).await?;
    let new = new.parse()?;
    Ok((StatusCode::CREATED, Json(codes::create(&ctx, &org_id, &new).await?)))
}

async fn remove(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path((org_id, code_id)): Path<(String, String)>,
) -> Result<StatusCode, Problem> {
    caller.authorize_in(&ctx, &org_id, Permission::ManageFleet).await?;
    codes::delete(&ctx, &org_id, &code_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The body of a claim.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct ClaimRequest {
    /// The code the printer shows.
    code: String,
}

async fn claim(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path(org_id): Path<String>,
    body: JsonBody<ClaimRequest>,
) -> Result<(StatusCode, Json<ClaimedPrinter>), Problem> {
    caller.authorize_in(&ctx, &org_id, Permission::ManageFleet).await?;
    let body = body.parse()?;
    Ok((StatusCode::ACCEPTED, Json(enrollment::claim(&ctx, &org_id, &body.code).await?)))
}

/// `POST /v1/enroll`: the body's fields choose the flow (see [`EnrollRequest`]).
async fn enroll(
    State(ctx): State<Ctx>,
    headers: HeaderMap,
    body: JsonBody<EnrollRequest>,
) -> Result<Response, Problem> {
    let request = body.parse()?;
    let created = |value: serde_json::Value| (StatusCode::CREATED, Json(value)).into_response();
    let to_value = |v: Result<serde_json::Value, serde_json::Error>| v.map_err(Problem::internal);
    match request {
        EnrollRequest { code: Some(code), printer: Some(printer), agent: None, .. } => {
            let enrolled = enrollment::with_organisation_code(&ctx, &code, printer).await?;
            Ok(created(to_value(serde_json::to_value(enrolled))?))
        }
        EnrollRequest { code: Some(code), agent: Some(agent), printer: None, .. } => {
            let activated = enrollment::activate_agent(&ctx, &code, agent).await?;
            Ok(created(to_value(serde_json::to_value(activated))?))
        }
        EnrollRequest { request_printer_code: true, printer: Some(printer), code: None, .. } => {
            let pending = enrollment::request_printer_code(&ctx, printer).await?;
            Ok((StatusCode::ACCEPTED, Json(pending)).into_response())
        }
        EnrollRequest { printer_code: Some(code), poll_secret: Some(secret), .. } => {
            match enrollment::poll(&ctx, &code, &secret).await? {
                Some(enrolled) => Ok(created(to_value(serde_json::to_value(enrolled))?)),
                None => Ok((StatusCode::ACCEPTED, Json(serde_json::json!({"state": "pending"}))).into_response()),
            }
        }
        EnrollRequest { printer: Some(printer), code: None, agent: None, .. }
            if headers.contains_key(header::AUTHORIZATION) =>
        {
            let device = device_from(&ctx, &headers).await?;
            let enrolled = enrollment::by_agent(&ctx, &device, printer).await?;
            Ok(created(to_value(serde_json::to_value(enrolled))?))
        }
        _ => Err(Problem::new(
            StatusCode::BAD_REQUEST,
            "invalid_enrollment_request",
            "Send {code, printer} (organisation code), {code, agent} (activation code), {printer} with an agent's \
             device token, {requestPrinterCode: true, printer}, or {printerCode, pollSecret}.",
        )),
    }
}

async fn device_from(ctx: &Ctx, headers: &HeaderMap) -> Result<Device, Problem> {
    let mut request = axum::http::Request::builder().body(()).map_err(Problem::internal)?;
    *request.headers_mut() = headers.clone();
    let (mut parts, ()) = request.into_parts();
    <Device as axum::extract::FromRequestParts<Ctx>>::from_request_parts(&mut parts, ctx).await
}

/// The OpenAPI description of this module's routes.
pub fn openapi() -> OpenApi {
    let list = crate::operation(
        "list_enrollment_codes",
        "The organisation's working enrollment and activation codes (never their values), the organisation's code \
         first: `{items: [EnrollmentCode]}`.",
    )
    .response("200", ResponseBuilder::new().description("`{items: [EnrollmentCode]}`").build())
    .build();
    let create = crate::operation(
        "create_enrollment_code",
        "Make the organisation's enrollment code (`kind: organisation`; regenerating replaces the old one) or an \
         agent activation code (`kind: agentActivation`, `agentType` Fleet Agent or Local Agent, `maxActivations` \
         1–1000; valid 72 hours, BR-LA-02/03). The code is shown in this answer only.",
    )
    .request_body(Some(json_request("NewCode")))
    .response("201", json_response("The code, with its value.", "EnrollmentCode"))
    .response("400", problem_response("`invalid_field`, `invalid_json`."))
    .build();
    let remove = crate::operation("delete_enrollment_code", "Delete an activation code; it activates no more agents.")
        .response("204", ResponseBuilder::new().description("Deleted.").build())
        .response("409", problem_response("`organisation_code_not_deletable`."))
        .build();
    let claim = crate::operation(
        "claim_printer",
        "Claim the code a printer shows (WF-ENROLL-NATIVE-PRINTERCODE): the printer enrolls in this organisation at \
         its next poll. Five wrong codes within 15 minutes lock claiming for 15 minutes (`pin_locked`).",
    )
    .request_body(Some(json_request("ClaimRequest")))
    .response("202", json_response("The printer that will enroll.", "ClaimedPrinter"))
    .response("409", problem_response("`printer_enrolled_elsewhere`."))
    .response("429", problem_response("`pin_locked`."))
    .build();
    let enroll = OperationBuilder::new()
        .tag("fleet")
        .operation_id(Some("enroll"))
        .summary(Some(
            "Enroll a printer or activate an agent; the code is the credential (no bearer token), except when an \
             agent enrolls a printer it manages (the agent's device token). Answers the record and its device \
             credential, once. `{requestPrinterCode: true, printer}` answers 202 with a code to show and a poll \
             secret; polling `{printerCode, pollSecret}` answers 202 until an administrator claims the code, then \
             201 with the enrollment.",
        ))
        .request_body(Some(json_request("EnrollRequest")))
        .response(
            "201",
            json_response("The enrolled printer (or activated agent) and its credential.", "EnrolledPrinter"),
        )
        .response(
            "202",
            json_response("A printer-generated code, or `{state: pending}` while unclaimed.", "PrinterCode"),
        )
        .response(
            "400",
            problem_response(
                "`invalid_enrollment_code`, `wrong_code_kind`, `invalid_field`, `invalid_enrollment_request`.",
            ),
        )
        .response("401", problem_response("An agent's device token that no longer works (`device_unenrolled`)."))
        .response("404", problem_response("`printer_code_not_found`."))
        .response(
            "409",
            problem_response(
                "`printer_enrolled_elsewhere`, `printer_managed_by_another_agent`, `activation_limit_reached`.",
            ),
        )
        .response("429", problem_response("Too many wrong codes for this printer (`pin_locked`)."))
        .build();
    let mut doc = shared::http::openapi::base();
    doc.paths = PathsBuilder::new()
        .path("/v1/orgs/{orgId}/enrollment-codes", path_item([(HttpMethod::Get, list), (HttpMethod::Post, create)]))
        .path("/v1/orgs/{orgId}/enrollment-codes/{codeId}", PathItem::new(HttpMethod::Delete, remove))
        .path("/v1/orgs/{orgId}/printers/claim", PathItem::new(HttpMethod::Post, claim))
        .path("/v1/enroll", PathItem::new(HttpMethod::Post, enroll))
        .build();
    doc.components = Some(
        ComponentsBuilder::new()
            .schema_from::<EnrollmentCode>()
            .schema_from::<NewCode>()
            .schema_from::<ClaimRequest>()
            .schema_from::<ClaimedPrinter>()
            .schema_from::<EnrollRequest>()
            .schema_from::<EnrolledPrinter>()
            .schema_from::<ActivatedAgent>()
            .schema_from::<PrinterCode>()
            .build(),
    );
    doc
}
