//! Role assignments (WF-ROLE-ASSIGN): `GET`/`PUT /v1/orgs/{orgId}/roles/org`,
//! `.../roles/groups/{groupId}` and `.../roles/users/{userId}`. `PUT` replaces the roles of
//! that level (`ManageRoles`); `GET` answers them (`ViewUsers`). Effective roles are the
//! union of the levels and reach tokens at the next sign-in.

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use shared::Ctx;
use shared::http::openapi::{json_response, path_item, problem_response};
use shared::http::{Caller, JsonBody, Problem};
use shared::identity::assignments::{self, Level, RoleAssignment, RolesBody};
use shared::identity::roles::{Permission, Role};
use utoipa::openapi::path::{HttpMethod, OperationBuilder};
use utoipa::openapi::{ComponentsBuilder, OpenApi, PathsBuilder};

/// The routes of this module.
pub fn routes() -> Router<Ctx> {
    Router::new()
        .route("/v1/orgs/{org_id}/roles/org", get(read_org).put(write_org))
        .route("/v1/orgs/{org_id}/roles/groups/{group_id}", get(read_group).put(write_group))
        .route("/v1/orgs/{org_id}/roles/users/{user_id}", get(read_user).put(write_user))
}

async fn read(ctx: &Ctx, caller: &Caller, org_id: &str, level: Level) -> Result<Json<RoleAssignment>, Problem> {
    caller.authorize_in(ctx, org_id, Permission::ViewUsers).await?;
    Ok(Json(RoleAssignment { roles: assignments::get(ctx, org_id, &level).await? }))
}

async fn write(
    ctx: &Ctx,
    caller: &Caller,
    org_id: &str,
    level: Level,
    body: JsonBody<RolesBody>,
) -> Result<Json<RoleAssignment>, Problem> {
    caller.authorize_in(ctx, org_id, Permission::ManageRoles).await?;
    let body = body.parse()?;
    let roles = assignments::parse_roles(&body.roles)?;
    Ok(Json(RoleAssignment { roles: assignments::set(ctx, org_id, &level, roles).await? }))
}

async fn read_org(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path(org_id): Path<String>,
) -> Result<Json<RoleAssignment>, Problem> {
    read(&ctx, &caller, &org_id, Level::Organisation).await
}

async fn write_org(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path(org_id): Path<String>,
    body: JsonBody<RolesBody>,
) -> Result<Json<RoleAssignment>, Problem> {
    write(&ctx, &caller, &org_id, Level::Organisation, body).await
}

async fn read_group(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path((org_id, group_id)): Path<(String, String)>,
) -> Result<Json<RoleAssignment>, Problem> {
    read(&ctx, &caller, &org_id, Level::Group(group_id)).await
}

async fn write_group(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path((org_id, group_id)): Path<(String, String)>,
    body: JsonBody<RolesBody>,
) -> Result<Json<RoleAssignment>, Problem> {
    write(&ctx, &caller, &org_id, Level::Group(group_id), body).await
}

async fn read_user(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path((org_id, user_id)): Path<(String, String)>,
) -> Result<Json<RoleAssignment>, Problem> {
    read(&ctx, &caller, &org_id, Level::User(user_id)).await
}

async fn write_user(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path((org_id, user_id)): Path<(String, String)>,
    body: JsonBody<RolesBody>,
) -> Result<Json<RoleAssignment>, Problem> {
    write(&ctx, &caller, &org_id, Level::User(user_id), body).await
}

/// The OpenAPI description of this module's routes.
pub fn openapi() -> OpenApi {
    let operation = |id: &str, summary: &str, missing: &str| {
        OperationBuilder::new()
            .tag("identity")
            .operation_id(Some(id))
            .summary(Some(summary))
            .response("200", json_response("The roles assigned at this level.", "RoleAssignment"))
            .response(
                "401",
                problem_response("No valid access token (`unauthenticated`, `invalid_token`, `token_expired`)."),
            )
            .response("403", problem_response("Your roles do not allow this (`forbidden`)."))
            .response("404", problem_response(&format!("No such {missing} (`not_found`).")))
    };
    let body = || shared::http::openapi::json_request("RolesBody");
    let put = |id: &str, summary: &str, missing: &str| {
        operation(id, summary, missing)
            .request_body(Some(body()))
            .response(
                "400",
                problem_response(
                    "`unknown_role` (naming the names not in the catalogue), `partner_admin_needs_access_group` (BR-GRP-2), `invalid_json`.",
                ),
            )
            .response("409", problem_response("Changed meanwhile (`conflict`)."))
            .build()
    };
    let mut doc = shared::http::openapi::base();
    doc.paths = PathsBuilder::new()
        .path(
            "/v1/orgs/{orgId}/roles/org",
            path_item([
                (
                    HttpMethod::Get,
                    operation("get_org_roles", "Roles every user of the organisation has.", "organisation").build(),
                ),
                (
                    HttpMethod::Put,
                    put(
                        "set_org_roles",
                        "Replace the organisation's roles (all users inherit them; end-user roles only, L4046–L4049).",
                        "organisation",
                    ),
                ),
            ]),
        )
        .path(
            "/v1/orgs/{orgId}/roles/groups/{groupId}",
            path_item([
                (
                    HttpMethod::Get,
                    operation("get_group_roles", "Roles every member of the group has.", "group").build(),
                ),
                (HttpMethod::Put, put("set_group_roles", "Replace the group's roles.", "group")),
            ]),
        )
        .path(
            "/v1/orgs/{orgId}/roles/users/{userId}",
            path_item([
                (HttpMethod::Get, operation("get_user_roles", "Roles assigned to the user directly.", "user").build()),
                (
                    HttpMethod::Put,
                    put(
                        "set_user_roles",
                        "Replace the user's own roles (not inherited by their groups or organisation).",
                        "user",
                    ),
                ),
            ]),
        )
        .build();
    doc.components = Some(
        ComponentsBuilder::new()
            .schema_from::<RoleAssignment>()
            .schema_from::<RolesBody>()
            .schema_from::<Role>()
            .build(),
    );
    doc
}
