//! Role assignments (WF-ROLE-ASSIGN, R-MISC, E-ROLE): the roles assigned to the whole
//! organisation, to a group or to one user, each replaced as a whole. What counts for a
//! caller is the union of the three within the organisation's entitlements, computed at
//! sign-in (`signin::roles_of`), so a change shows in the next token.
//!
//! Partner Administrator may only be held by members of the child-organisation access
//! group, or by that group itself (BR-GRP-2, L3898–L3901): never at organisation level,
//! never by a regular group, and by a user only while a member (leaving the group drops it,
//! see `groups::remove_member`).

use super::groups::{self, GroupKind};
use super::roles::Role;
use super::store;
use crate::Ctx;
use crate::http::Problem;
use crate::ports::{Condition, StoreError, Update};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// Where roles are assigned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Level {
    /// Every user of the organisation (L4046–L4049).
    Organisation,
    /// Every member of the group (L4135–L4136).
    Group(String),
    /// One user; not inherited by their groups or organisation (L4385–L4387).
    User(String),
}

/// The roles assigned at one level, as the API shows them (catalogue order).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct RoleAssignment {
    /// Role names of the catalogue.
    pub roles: Vec<Role>,
}

/// A new assignment: role names, replacing what the level had. Names are checked against
/// the catalogue so that an unknown one is named in the answer (`unknown_role`).
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RolesBody {
    /// Exact role names, e.g. `Print Release Management User`.
    pub roles: Vec<String>,
}

/// The catalogue roles named in `names` (duplicates dropped, catalogue order), or 400
/// `unknown_role` naming every name that is not in the catalogue.
pub fn parse_roles(names: &[String]) -> Result<Vec<Role>, Problem> {
    let mut roles = BTreeSet::new();
    let mut unknown = Vec::new();
    for name in names {
        match serde_json::from_value::<Role>(Value::String(name.clone())) {
            Ok(role) => {
                roles.insert(role);
            }
            Err(_) => unknown.push(format!("\"{name}\"")),
        }
    }
    if !unknown.is_empty() {
        return Err(Problem::new(
            StatusCode::BAD_REQUEST,
            "unknown_role",
            format!("Not roles of the catalogue: {}.", unknown.join(", ")),
        ));
    }
    Ok(roles.into_iter().collect())
}

fn needs_access_group(detail: &str) -> Problem {
    Problem::new(
        StatusCode::BAD_REQUEST,
        "partner_admin_needs_access_group",
        format!(
            "Partner Administrator can only be assigned to members of the child-organisation access group or to that group (BR-GRP-2); {detail}."
        ),
    )
}

/// The roles assigned at `level` of `org_id`, or 404 for an unknown group or user.
pub async fn get(ctx: &Ctx, org_id: &str, level: &Level) -> Result<Vec<Role>, Problem> {
    Ok(match level {
        Level::Organisation => {
            store::get_org(ctx, org_id).await?.ok_or_else(|| Problem::not_found("No such organisation."))?.roles
        }
        Level::Group(group_id) => groups::get(ctx, org_id, group_id).await?.roles,
        Level::User(user_id) => {
            store::get_user(ctx, org_id, user_id).await?.ok_or_else(|| Problem::not_found("No such user."))?.user.roles
        }
    })
}

/// Replaces the roles assigned at `level` of `org_id` with `roles` and answers them.
pub async fn set(ctx: &Ctx, org_id: &str, level: &Level, roles: Vec<Role>) -> Result<Vec<Role>, Problem> {
    let partner = roles.contains(&Role::PartnerAdministrator);
    let value = json!(roles);
    match level {
        Level::Organisation => {
            if partner {
                return Err(needs_access_group("the organisation level reaches every user"));
            }
            let change = Update::new(store::org_key(org_id)).set("roles", value).when(Condition::Exists);
            ctx.table.update(change).await.map_err(|e| gone(e, &Condition::Exists, "No such organisation."))?;
        }
        Level::Group(group_id) => {
            let group = groups::get(ctx, org_id, group_id).await?;
            if partner && group.kind != GroupKind::ChildOrgAccess {
                return Err(needs_access_group("this is a regular group"));
            }
            let change = Update::new(groups::group_key(org_id, group_id))
                .set("roles", value)
                .add("version", 1)
                .when(Condition::Exists);
            ctx.table.update(change).await.map_err(|e| gone(e, &Condition::Exists, "No such group."))?;
        }
        Level::User(user_id) => {
            let record =
                store::get_user(ctx, org_id, user_id).await?.ok_or_else(|| Problem::not_found("No such user."))?;
            let mut condition = Condition::Exists;
            if partner {
                let access = groups::access_group_id(ctx, org_id).await?;
                if !access.is_some_and(|id| record.user.groups.contains(&id)) {
                    return Err(needs_access_group("the user is not a member of it"));
                }
                // Membership must not change between this check and the write.
                condition = Condition::VersionEquals(record.user.version);
            }
            let change = Update::new(store::user_key(org_id, user_id))
                .set("roles", value)
                .add("version", 1)
                .when(condition.clone());
            ctx.table.update(change).await.map_err(|e| gone(e, &condition, "No such user."))?;
        }
    }
    Ok(roles)
}

/// A failed `Exists` condition means the record went away meanwhile: 404 like before the
/// read. Other failures (a version condition: a concurrent change) answer as usual (409).
fn gone(err: StoreError, condition: &Condition, detail: &str) -> Problem {
    match err {
        StoreError::ConditionFailed if *condition == Condition::Exists => Problem::not_found(detail),
        other => other.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn e_role_names_map_to_the_catalogue_and_unknown_ones_are_named() {
        let names = vec![
            "Print Release Management User".to_string(),
            "Help Desk".to_string(),
            "Print Release Management User".to_string(),
        ];
        assert_eq!(parse_roles(&names).unwrap(), vec![Role::HelpDesk, Role::PrintReleaseManagementUser]);
        let problem = parse_roles(&["Reporting Analyst".to_string(), "Help Desk".into(), "root".into()]).unwrap_err();
        assert_eq!(problem.code, "unknown_role");
        assert!(problem.detail.contains("\"Reporting Analyst\"") && problem.detail.contains("\"root\""));
        assert!(!problem.detail.contains("Help Desk"));
        assert_eq!(parse_roles(&[]).unwrap(), Vec::<Role>::new(), "an empty list removes every role");
    }
}
