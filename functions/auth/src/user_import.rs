//! User import (BR-UIMP, D-IMPORT-COLUMNS): `POST /v1/orgs/{orgId}/users/import` takes the
//! CSV/TXT file and answers 202 at once; the `user-imports` queue applies it in chunks
//! ([`handle`]); `GET /v1/orgs/{orgId}/imports/{importId}` shows progress and, once done, a
//! short-lived link to the import log (which is also mailed to the importing administrator).

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use shared::Ctx;
use shared::function::each_record;
use shared::http::openapi::{json_response, problem_response};
use shared::http::{Caller, Problem};
use shared::identity::import::MAX_IMPORT_BYTES;
use shared::identity::roles::Permission;
use shared::identity::user_import::{self, ImportStatus, ImportView, Importer};
use shared::identity::users;
use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn, PathItem};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{ComponentsBuilder, ContentBuilder, OpenApi, PathsBuilder};

/// Largest body read at all: bigger files are refused without reading them whole (the 1 MB
/// rule itself is the parser's, with its message).
const READ_LIMIT: usize = 2 * MAX_IMPORT_BYTES;

/// The routes of this module.
pub fn routes() -> Router<Ctx> {
    Router::new()
        .route("/v1/orgs/{org_id}/users/import", post(start))
        .route("/v1/orgs/{org_id}/imports/{import_id}", get(read))
}

/// The query of an import request.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ImportParams {
    /// "E-mail een koppeling om het wachtwoord te wijzigen" (seed L4300).
    #[serde(default)]
    email_password_link: bool,
}

fn invalid_csv(detail: impl Into<String>) -> Problem {
    Problem::new(StatusCode::BAD_REQUEST, "invalid_csv", detail)
}

async fn start(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path(org_id): Path<String>,
    RawQuery(query): RawQuery,
    body: Body,
) -> Result<Response, Problem> {
    caller.authorize_in(&ctx, &org_id, Permission::ManageUsers).await?;
    let params: ImportParams = serde_urlencoded::from_str(query.as_deref().unwrap_or_default())
        .map_err(|e| Problem::invalid(format!("query: {e} (the only option is emailPasswordLink=true|false)")))?;
    let file = axum::body::to_bytes(body, READ_LIMIT)
        .await
        .map_err(|_| invalid_csv(format!("the file is larger than {MAX_IMPORT_BYTES} bytes (1 MB)")))?;
    let email = match caller.user_id() {
        Some(user_id) => Some(users::get(&ctx, &org_id, user_id).await?.user.email),
        None => None,
    };
    let importer = Importer {
        subject: caller.claims.sub.clone(),
        user_id: caller.user_id().map(String::from),
        email,
        may_assign_roles: caller.allows(Permission::ManageRoles),
    };
    let import = user_import::start(&ctx, &org_id, importer, file, params.email_password_link).await?;
    let location = format!("/v1/orgs/{org_id}/imports/{}", import.id);
    let view = user_import::view(&ctx, import).await?;
    Ok((StatusCode::ACCEPTED, [(header::LOCATION, location)], Json(view)).into_response())
}

async fn read(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path((org_id, import_id)): Path<(String, String)>,
) -> Result<Json<ImportView>, Problem> {
    caller.authorize_in(&ctx, &org_id, Permission::ViewUsers).await?;
    let import = user_import::get(&ctx, &org_id, &import_id).await?;
    Ok(Json(user_import::view(&ctx, import).await?))
}

/// Applies import chunks from the `user-imports` queue (one message: one chunk). A record
/// whose chunk fails is retried by the queue; after its last delivery the import is marked
/// `failed` and the message stays in the dead-letter queue.
pub async fn handle(ctx: Ctx, event: SqsEvent) -> SqsBatchResponse {
    let ctx = &ctx;
    each_record(&event, user_import::QUEUE, |message| async move {
        let body = message.body.as_deref().unwrap_or_default();
        let id = message.message_id.as_deref().unwrap_or_default();
        let receives =
            message.attributes.get("ApproximateReceiveCount").and_then(|count| count.parse().ok()).unwrap_or(1);
        user_import::handle_message(ctx, body, id, receives).await
    })
    .await
}

fn operation(id: &str, summary: &str) -> OperationBuilder {
    shared::http::openapi::authenticated("identity", id, summary)
        .response("403", shared::http::openapi::forbidden_response())
}

/// The OpenAPI description of this module's routes.
pub fn openapi() -> OpenApi {
    let start = operation(
        "import_users",
        "Import users from a CSV or TXT file (BR-UIMP): the header must be exactly \
         `EMAIL,OPERATION,PASSWORD,FIRST_NAME,LAST_NAME,DISPLAY_NAME,SHORTNAME,GROUPS,CUSTOM_ATTRIBUTES,COST_CENTER,\
         DEPARTMENT` (case-sensitive); each line CREATEs, UPDATEs (`[delete]` clears a name) or DELETEs the user \
         named by EMAIL; GROUPS (quoted when several) are joined and created when missing. At most 1 MB. The file \
         is applied in the background; lines with errors are skipped and listed in the import log, which is mailed \
         to you and linked from the import.",
    )
    .parameter(
        ParameterBuilder::new()
            .name("emailPasswordLink")
            .parameter_in(ParameterIn::Query)
            .description(Some(
                "`true`: CREATE lines may leave PASSWORD empty; those users are mailed a single-use link (valid 72 \
                 hours) to set their password. Only for files with CREATE lines.",
            ))
            .schema(Some(ObjectBuilder::new().schema_type(Type::Boolean))),
    )
    .request_body(Some(
        RequestBodyBuilder::new()
            .description(Some("The file's bytes, with any content type."))
            .content(
                "text/csv",
                ContentBuilder::new().schema(Some(ObjectBuilder::new().schema_type(Type::String))).build(),
            )
            .build(),
    ))
    .response("202", json_response("Accepted: the import, `queued` (see its `Location`).", "ImportView"))
    .response(
        "400",
        problem_response(
            "The file as a whole is refused — header, size over 1 MB, no lines (`invalid_csv`), or \
             `emailPasswordLink` without CREATE lines (`invalid_option`); nothing is imported.",
        ),
    )
    .response("404", problem_response("No such organisation (`not_found`)."))
    .build();
    let read = operation(
        "get_import",
        "An import's status (`queued`, `running`, `done`, `failed`) and counts; once it ended, `logUrl` is a \
         short-lived link to the import log (CSV: row, email, outcome, reason).",
    )
    .response("200", json_response("The import.", "ImportView"))
    .response("404", problem_response("No such organisation or import (`not_found`)."))
    .build();
    let mut doc = shared::http::openapi::base();
    doc.paths = PathsBuilder::new()
        .path("/v1/orgs/{orgId}/users/import", PathItem::new(HttpMethod::Post, start))
        .path("/v1/orgs/{orgId}/imports/{importId}", PathItem::new(HttpMethod::Get, read))
        .build();
    doc.components = Some(ComponentsBuilder::new().schema_from::<ImportView>().schema_from::<ImportStatus>().build());
    doc
}
