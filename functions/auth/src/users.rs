//! Users: `GET /v1/me`, and `/v1/orgs/{orgId}/users[/{userId}]` (list, create, read,
//! change, delete), each scoped to the caller's organisation and roles.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use shared::Ctx;
use shared::http::openapi::{json_response, path_item, problem_response};
use shared::http::{Caller, JsonBody, ListPage, ListParams, Problem};
use shared::identity::model::{Organisation, User};
use shared::identity::roles::{Permission, Role};
use shared::identity::store;
use shared::identity::users::{self, NewUser, UserPatch};
use utoipa::openapi::path::{HttpMethod, OperationBuilder, PathItem};
use utoipa::openapi::{ComponentsBuilder, OpenApi, PathsBuilder, ResponseBuilder};

/// The routes of this module.
pub fn routes() -> Router<Ctx> {
    Router::new()
        .route("/v1/me", get(me))
        .route("/v1/orgs/{org_id}/users", get(list).post(create))
        .route("/v1/orgs/{org_id}/users/{user_id}", get(read).patch(change).delete(remove))
}

/// The caller, their organisation and their effective roles.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Me {
    /// The signed-in user.
    user: User,
    /// Their organisation.
    organisation: Organisation,
    /// Their effective roles.
    roles: Vec<Role>,
}

async fn me(State(ctx): State<Ctx>, caller: Caller) -> Result<Json<Me>, Problem> {
    let user_id = caller.require_user()?;
    let user = users::get(&ctx, caller.org_id(), user_id).await?.user;
    let organisation =
        store::get_org(&ctx, caller.org_id()).await?.ok_or_else(|| Problem::not_found("No such organisation."))?;
    Ok(Json(Me { user, organisation, roles: caller.roles.iter().copied().collect() }))
}

async fn list(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path(org_id): Path<String>,
    Query(params): Query<ListParams>,
) -> Result<Json<ListPage<User>>, Problem> {
    caller.authorize_in(&ctx, &org_id, Permission::ViewUsers).await?;
    let (items, next_token) = users::list(&ctx, &org_id, params.limit()?, params.next_token).await?;
    Ok(Json(ListPage { items, next_token }))
}

async fn create(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path(org_id): Path<String>,
    new: JsonBody<NewUser>,
) -> Result<(StatusCode, Json<User>), Problem> {
    caller.authorize_in(&ctx, &org_id, Permission::ManageUsers).await?;
    let new = new.parse()?;
    Ok((StatusCode::CREATED, Json(users::create(&ctx, &org_id, new).await?)))
}

/// Reading a user needs `ViewUsers`, except one's own account (role User, L3903).
async fn read(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path((org_id, user_id)): Path<(String, String)>,
) -> Result<Json<User>, Problem> {
    if caller.user_id() != Some(user_id.as_str()) || org_id != caller.org_id() {
        caller.authorize_in(&ctx, &org_id, Permission::ViewUsers).await?;
    }
    Ok(Json(users::get(&ctx, &org_id, &user_id).await?.user))
}

async fn change(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path((org_id, user_id)): Path<(String, String)>,
    patch: JsonBody<UserPatch>,
) -> Result<Json<User>, Problem> {
    caller.authorize_in(&ctx, &org_id, Permission::ManageUsers).await?;
    let patch = patch.parse()?;
    Ok(Json(users::update(&ctx, &org_id, &user_id, patch).await?))
}

async fn remove(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path((org_id, user_id)): Path<(String, String)>,
) -> Result<StatusCode, Problem> {
    caller.authorize_in(&ctx, &org_id, Permission::ManageUsers).await?;
    if caller.user_id() == Some(user_id.as_str()) {
        return Err(Problem::new(StatusCode::CONFLICT, "cannot_delete_self", "You cannot delete your own account."));
    }
    users::delete(&ctx, &org_id, &user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn operation(id: &str, summary: &str) -> OperationBuilder {
    shared::http::openapi::authenticated("identity", id, summary)
}

/// The OpenAPI description of this module's routes.
pub fn openapi() -> OpenApi {
    let scoped = |b: OperationBuilder| {
        b.response("403", problem_response("Your roles do not allow this (`forbidden`)."))
            .response("404", problem_response("No such organisation or user (`not_found`)."))
    };
    let me = operation("me", "The caller, their organisation and effective roles.")
        .response("200", json_response("The caller.", "Me"))
        .build();
    let list = scoped(operation("list_users", "Users of the organisation, a page at a time (`limit`, `nextToken`)."))
        .response("200", ResponseBuilder::new().description("`{items: [User], nextToken}`").build())
        .build();
    let create = scoped(operation("create_user", "Create a user (password per BR-PWD)."))
        .request_body(Some(shared::http::openapi::json_request("NewUser")))
        .response("201", json_response("The user.", "User"))
        .response("400", problem_response("`invalid_field`, `weak_password`, `invalid_json`."))
        .response("409", problem_response("`email_taken`."))
        .build();
    let read = scoped(operation("get_user", "A user.")).response("200", json_response("The user.", "User")).build();
    let change = scoped(operation("update_user", "Change a user."))
        .request_body(Some(shared::http::openapi::json_request("UserPatch")))
        .response("200", json_response("The user.", "User"))
        .response("409", problem_response("Changed meanwhile (`conflict`)."))
        .build();
    let remove = scoped(operation("delete_user", "Delete a user; their history stays without name and e-mail."))
        .response("204", ResponseBuilder::new().description("Deleted.").build())
        .build();
    let mut doc = shared::http::openapi::base();
    doc.paths = PathsBuilder::new()
        .path("/v1/me", PathItem::new(HttpMethod::Get, me))
        .path("/v1/orgs/{orgId}/users", path_item([(HttpMethod::Get, list), (HttpMethod::Post, create)]))
        .path(
            "/v1/orgs/{orgId}/users/{userId}",
            path_item([(HttpMethod::Get, read), (HttpMethod::Patch, change), (HttpMethod::Delete, remove)]),
        )
        .build();
    doc.components = Some(
        ComponentsBuilder::new()
            .schema_from::<Me>()
            .schema_from::<User>()
            .schema_from::<Organisation>()
            .schema_from::<NewUser>()
            .schema_from::<UserPatch>()
            .schema_from::<Role>()
            .schema_from::<shared::identity::roles::Service>()
            .build(),
    );
    doc
}
