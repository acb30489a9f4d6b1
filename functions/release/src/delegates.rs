//! Delegates (*Deelnemers*, BR-DL-01…06, W7): `GET/POST /v1/orgs/{orgId}/users/{userId}/delegates`,
//! `DELETE /v1/orgs/{orgId}/users/{userId}/delegates/{delegateUserId}`, and for the signed-in
//! user `GET /v1/me/delegates` (whom I let release my jobs) and `GET /v1/me/delegators` (whose
//! jobs I may release). A user manages their own delegates (`UsePrintRelease`); a Print
//! Release Management Administrator (`ManagePrintRelease`) those of any user of the
//! organisation. Changes are not made from a session at a printer.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{delete, get};
use axum::{Json, Router};
use shared::Ctx;
use shared::http::openapi::{json_response, path_item, problem_response};
use shared::http::{Caller, JsonBody, ListPage, ListParams, Problem};
use shared::identity::model::User;
use shared::identity::roles::Permission;
use shared::identity::tokens::TokenKind;
use shared::identity::users;
use shared::print::delegates::{self, Delegation, DelegationUser, NewDelegate};
use utoipa::openapi::path::{HttpMethod, OperationBuilder};
use utoipa::openapi::{ComponentsBuilder, OpenApi, PathsBuilder, ResponseBuilder};

/// The routes of this module.
pub fn routes() -> Router<Ctx> {
    Router::new()
        .route("/v1/orgs/{org_id}/users/{user_id}/delegates", get(list).post(add))
        .route("/v1/orgs/{org_id}/users/{user_id}/delegates/{delegate_user_id}", delete(remove))
        .route("/v1/me/delegates", get(my_delegates))
        .route("/v1/me/delegators", get(my_delegators))
}

/// The user whose delegates the caller may manage: themself with `UsePrintRelease`, anyone
/// of the organisation with `ManagePrintRelease`; another organisation answers 404.
async fn owner(ctx: &Ctx, caller: &Caller, org_id: &str, user_id: &str) -> Result<User, Problem> {
    let own = caller.org_id() == org_id && caller.user_id() == Some(user_id);
    if !(own && caller.allows(Permission::UsePrintRelease)) {
        caller.authorize_in(ctx, org_id, Permission::ManagePrintRelease).await?;
    }
    Ok(users::get(ctx, org_id, user_id).await?.user)
}

/// Who may release one's jobs is not changed from a session at a printer.
fn refuse_printer_session(caller: &Caller) -> Result<(), Problem> {
    if caller.claims.kind == TokenKind::DeviceSession {
        return Err(Problem::new(StatusCode::FORBIDDEN, "forbidden", "Delegates are not changed at a printer."));
    }
    Ok(())
}

/// The signed-in user, who needs `UsePrintRelease`.
async fn me(ctx: &Ctx, caller: &Caller) -> Result<User, Problem> {
    let user_id = caller.require_user()?;
    caller.authorize(caller.org_id(), Permission::UsePrintRelease)?;
    Ok(users::get(ctx, caller.org_id(), user_id).await?.user)
}

async fn list(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path((org_id, user_id)): Path<(String, String)>,
    Query(params): Query<ListParams>,
) -> Result<Json<ListPage<Delegation>>, Problem> {
    let owner = owner(&ctx, &caller, &org_id, &user_id).await?;
    let (items, next_token) =
        delegates::delegates_of(&ctx, &org_id, &owner, params.limit()?, params.next_token).await?;
    Ok(Json(ListPage { items, next_token }))
}

async fn add(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path((org_id, user_id)): Path<(String, String)>,
    body: JsonBody<NewDelegate>,
) -> Result<(StatusCode, Json<Delegation>), Problem> {
    refuse_printer_session(&caller)?;
    let owner = owner(&ctx, &caller, &org_id, &user_id).await?;
    let delegation = delegates::add(&ctx, &org_id, &owner, body.parse()?).await?;
    Ok((StatusCode::CREATED, Json(delegation)))
}

async fn remove(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path((org_id, user_id, delegate_user_id)): Path<(String, String, String)>,
) -> Result<StatusCode, Problem> {
    refuse_printer_session(&caller)?;
    let owner = owner(&ctx, &caller, &org_id, &user_id).await?;
    delegates::remove(&ctx, &org_id, &owner, &delegate_user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn my_delegates(
    State(ctx): State<Ctx>,
    caller: Caller,
    Query(params): Query<ListParams>,
) -> Result<Json<ListPage<Delegation>>, Problem> {
    let user = me(&ctx, &caller).await?;
    let (items, next_token) =
        delegates::delegates_of(&ctx, caller.org_id(), &user, params.limit()?, params.next_token).await?;
    Ok(Json(ListPage { items, next_token }))
}

async fn my_delegators(
    State(ctx): State<Ctx>,
    caller: Caller,
    Query(params): Query<ListParams>,
) -> Result<Json<ListPage<Delegation>>, Problem> {
    let user = me(&ctx, &caller).await?;
    let (items, next_token) =
        delegates::delegators_of(&ctx, caller.org_id(), &user, params.limit()?, params.next_token).await?;
    Ok(Json(ListPage { items, next_token }))
}

fn operation(id: &str, summary: &str) -> OperationBuilder {
    shared::http::openapi::authenticated("print", id, summary)
        .response("403", shared::http::openapi::forbidden_response())
}

fn page(description: &str) -> utoipa::openapi::Response {
    ResponseBuilder::new().description(description).build()
}

/// The OpenAPI description of this module's routes.
pub fn openapi() -> OpenApi {
    let not_found = || problem_response("No such organisation or user (`not_found`).");
    let list = operation(
        "list_user_delegates",
        "A user's unexpired delegates with their expiry, a page at a time (`limit`, `nextToken`). The user \
         themself (`UsePrintRelease`) or a Print Release Management Administrator (`ManagePrintRelease`).",
    )
    .response("200", page("`{items: [Delegation], nextToken}`"))
    .response("400", problem_response("`invalid_limit`."))
    .response("404", not_found())
    .build();
    let add = operation(
        "add_user_delegate",
        "Add a delegate: a user of the same organisation who may see the user's print jobs and release their \
         Cloud Print Management jobs (BR-DL-02/05), for ever (`expiresAfterDays: null`) or for 1–365 days \
         (BR-DL-04). Adding an existing delegate sets the new expiry. The delegate is mailed when the \
         organisation enables delegate notifications (BR-OS-06, BR-DL-06). Not from a printer session.",
    )
    .request_body(Some(shared::http::openapi::json_request("NewDelegate")))
    .response("201", json_response("The delegation.", "Delegation"))
    .response(
        "400",
        problem_response("`invalid_field` (the user themself, an expiry outside 1–365 days), `invalid_json`."),
    )
    .response("404", problem_response("No such organisation, user or delegate user (`not_found`)."))
    .response(
        "409",
        problem_response(
            "Delegation is switched off (`delegation_disabled`, BR-DL-01), or changed meanwhile (`conflict`).",
        ),
    )
    .build();
    let remove = operation(
        "remove_user_delegate",
        "Remove a delegate; they are mailed when the organisation enables delegate notifications (BR-DL-06). \
         Works while delegation is switched off. Not from a printer session.",
    )
    .response("204", page("Removed."))
    .response("404", problem_response("No such organisation, user or (unexpired) delegate (`not_found`)."))
    .response("409", problem_response("Changed meanwhile (`conflict`)."))
    .build();
    let mine = operation(
        "list_my_delegates",
        "The signed-in user's unexpired delegates, a page at a time (`limit`, `nextToken`).",
    )
    .response("200", page("`{items: [Delegation], nextToken}`"))
    .response("400", problem_response("`invalid_limit`."))
    .build();
    let delegators = operation(
        "list_my_delegators",
        "Who currently lets the signed-in user release their jobs (unexpired delegations to them), a page at a \
         time (`limit`, `nextToken`).",
    )
    .response("200", page("`{items: [Delegation], nextToken}`"))
    .response("400", problem_response("`invalid_limit`."))
    .build();
    let mut doc = shared::http::openapi::base();
    doc.paths = PathsBuilder::new()
        .path(
            "/v1/orgs/{orgId}/users/{userId}/delegates",
            path_item([(HttpMethod::Get, list), (HttpMethod::Post, add)]),
        )
        .path("/v1/orgs/{orgId}/users/{userId}/delegates/{delegateUserId}", path_item([(HttpMethod::Delete, remove)]))
        .path("/v1/me/delegates", path_item([(HttpMethod::Get, mine)]))
        .path("/v1/me/delegators", path_item([(HttpMethod::Get, delegators)]))
        .build();
    doc.components = Some(
        ComponentsBuilder::new()
            .schema_from::<Delegation>()
            .schema_from::<DelegationUser>()
            .schema_from::<NewDelegate>()
            .build(),
    );
    doc
}
