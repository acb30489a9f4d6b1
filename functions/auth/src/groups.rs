//! Groups: `/v1/orgs/{orgId}/groups[/{groupId}]` (list, create, read, rename or describe,
//! delete) and their members (`/members`, `/members/{userId}`), each scoped to the caller's
//! organisation and roles.
//!
//! Reading needs `ViewUsers`, changing `ManageUsers`. Changing who is in a group that
//! carries roles or is the child-organisation access group (or deleting such a group, or
//! creating the access group) changes what people may do, so it needs `ManageRoles` too:
//! otherwise a User Administrator could join the Administrator group.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, put};
use axum::{Json, Router};
use shared::Ctx;
use shared::http::openapi::{json_response, path_item, problem_response};
use shared::http::{Caller, JsonBody, ListPage, ListParams, Problem};
use shared::identity::groups::{self, Group, GroupKind, GroupPatch, NewGroup};
use shared::identity::model::User;
use shared::identity::roles::{Permission, Role};
use utoipa::openapi::path::{HttpMethod, OperationBuilder};
use utoipa::openapi::{ComponentsBuilder, OpenApi, PathsBuilder, ResponseBuilder};

/// The routes of this module.
pub fn routes() -> Router<Ctx> {
    Router::new()
        .route("/v1/orgs/{org_id}/groups", get(list).post(create))
        .route("/v1/orgs/{org_id}/groups/{group_id}", get(read).patch(change).delete(remove))
        .route("/v1/orgs/{org_id}/groups/{group_id}/members", get(members))
        .route("/v1/orgs/{org_id}/groups/{group_id}/members/{user_id}", put(add_member).delete(remove_member))
}

/// `ManageUsers`, plus `ManageRoles` when the change alters what members may do.
async fn authorize_change(ctx: &Ctx, caller: &Caller, org_id: &str, group_id: &str) -> Result<(), Problem> {
    caller.authorize_in(ctx, org_id, Permission::ManageUsers).await?;
    let group = groups::get(ctx, org_id, group_id).await?;
    if groups::grants_access(&group) {
        caller.authorize_in(ctx, org_id, Permission::ManageRoles).await?;
    }
    Ok(())
}

async fn list(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path(org_id): Path<String>,
    Query(params): Query<ListParams>,
) -> Result<Json<ListPage<Group>>, Problem> {
    caller.authorize_in(&ctx, &org_id, Permission::ViewUsers).await?;
    let (items, next_token) = groups::list(&ctx, &org_id, params.limit()?, params.next_token).await?;
    Ok(Json(ListPage { items, next_token }))
}

async fn create(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path(org_id): Path<String>,
    new: JsonBody<NewGroup>,
) -> Result<(StatusCode, Json<Group>), Problem> {
    caller.authorize_in(&ctx, &org_id, Permission::ManageUsers).await?;
    let new = new.parse()?;
    if new.kind == GroupKind::ChildOrgAccess {
        caller.authorize_in(&ctx, &org_id, Permission::ManageRoles).await?;
    }
    Ok((StatusCode::CREATED, Json(groups::create(&ctx, &org_id, new).await?)))
}

async fn read(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path((org_id, group_id)): Path<(String, String)>,
) -> Result<Json<Group>, Problem> {
    caller.authorize_in(&ctx, &org_id, Permission::ViewUsers).await?;
    Ok(Json(groups::get(&ctx, &org_id, &group_id).await?))
}

async fn change(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path((org_id, group_id)): Path<(String, String)>,
    patch: JsonBody<GroupPatch>,
) -> Result<Json<Group>, Problem> {
    caller.authorize_in(&ctx, &org_id, Permission::ManageUsers).await?;
    let patch = patch.parse()?;
    Ok(Json(groups::update(&ctx, &org_id, &group_id, patch).await?))
}

async fn remove(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path((org_id, group_id)): Path<(String, String)>,
) -> Result<StatusCode, Problem> {
    authorize_change(&ctx, &caller, &org_id, &group_id).await?;
    groups::delete(&ctx, &org_id, &group_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn members(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path((org_id, group_id)): Path<(String, String)>,
    Query(params): Query<ListParams>,
) -> Result<Json<ListPage<User>>, Problem> {
    caller.authorize_in(&ctx, &org_id, Permission::ViewUsers).await?;
    let (items, next_token) = groups::members(&ctx, &org_id, &group_id, params.limit()?, params.next_token).await?;
    Ok(Json(ListPage { items, next_token }))
}

async fn add_member(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path((org_id, group_id, user_id)): Path<(String, String, String)>,
) -> Result<StatusCode, Problem> {
    authorize_change(&ctx, &caller, &org_id, &group_id).await?;
    groups::add_member(&ctx, &org_id, &group_id, &user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn remove_member(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path((org_id, group_id, user_id)): Path<(String, String, String)>,
) -> Result<StatusCode, Problem> {
    authorize_change(&ctx, &caller, &org_id, &group_id).await?;
    groups::remove_member(&ctx, &org_id, &group_id, &user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn operation(id: &str, summary: &str) -> OperationBuilder {
    shared::http::openapi::authenticated("identity", id, summary)
        .response("403", shared::http::openapi::forbidden_response())
        .response("404", problem_response("No such organisation, group or user (`not_found`)."))
}

fn no_content(description: &str) -> utoipa::openapi::Response {
    ResponseBuilder::new().description(description).build()
}

/// The OpenAPI description of this module's routes.
pub fn openapi() -> OpenApi {
    let list = operation("list_groups", "Groups of the organisation, a page at a time (`limit`, `nextToken`).")
        .response("200", ResponseBuilder::new().description("`{items: [Group], nextToken}`").build())
        .response("400", problem_response("`invalid_limit`."))
        .build();
    let create = operation(
        "create_group",
        "Create a group; `childOrgAccess` only where child-organisation creation is enabled, once (BR-GRP-2).",
    )
    .request_body(Some(shared::http::openapi::json_request("NewGroup")))
    .response("201", json_response("The group.", "Group"))
    .response("400", problem_response("`invalid_field`, `invalid_json`."))
    .response(
        "409",
        problem_response(
            "`group_name_taken` (names are unique regardless of case, BR-GRP-1), `access_group_exists`, `sub_org_creation_disabled`.",
        ),
    )
    .build();
    let read =
        operation("get_group", "A group with its roles.").response("200", json_response("The group.", "Group")).build();
    let change = operation("update_group", "Rename or describe a group.")
        .request_body(Some(shared::http::openapi::json_request("GroupPatch")))
        .response("200", json_response("The group.", "Group"))
        .response("400", problem_response("`invalid_field`, `invalid_json`."))
        .response("409", problem_response("`group_name_taken`, `group_deleting`, `conflict`."))
        .build();
    let remove = operation("delete_group", "Delete a group: its members are unlinked, not deleted (BR-GRP-1).")
        .response("204", no_content("Deleted."))
        .build();
    let members = operation("list_group_members", "Members of a group, a page at a time (`limit`, `nextToken`).")
        .response("200", ResponseBuilder::new().description("`{items: [User], nextToken}`").build())
        .response("400", problem_response("`invalid_limit`."))
        .build();
    let add = operation("add_group_member", "Add a user to a group; they get the group's roles at their next sign-in.")
        .response("204", no_content("The user is a member."))
        .response("409", problem_response("`group_deleting`, `conflict`."))
        .build();
    let drop = operation(
        "remove_group_member",
        "Remove a user from a group; leaving the access group also drops a direct Partner Administrator role.",
    )
    .response("204", no_content("The user is not a member."))
    .response("409", problem_response("`conflict`."))
    .build();
    let mut doc = shared::http::openapi::base();
    doc.paths = PathsBuilder::new()
        .path("/v1/orgs/{orgId}/groups", path_item([(HttpMethod::Get, list), (HttpMethod::Post, create)]))
        .path(
            "/v1/orgs/{orgId}/groups/{groupId}",
            path_item([(HttpMethod::Get, read), (HttpMethod::Patch, change), (HttpMethod::Delete, remove)]),
        )
        .path("/v1/orgs/{orgId}/groups/{groupId}/members", path_item([(HttpMethod::Get, members)]))
        .path(
            "/v1/orgs/{orgId}/groups/{groupId}/members/{userId}",
            path_item([(HttpMethod::Put, add), (HttpMethod::Delete, drop)]),
        )
        .build();
    doc.components = Some(
        ComponentsBuilder::new()
            .schema_from::<Group>()
            .schema_from::<GroupKind>()
            .schema_from::<NewGroup>()
            .schema_from::<GroupPatch>()
            .schema_from::<User>()
            .schema_from::<Role>()
            .build(),
    );
    doc
}
