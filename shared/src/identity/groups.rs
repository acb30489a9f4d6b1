//! Groups (E-GROUP, WF-GROUP, WF-SUBORG-GROUP): named sets of users of one organisation
//! that share the roles assigned to the group, including the child-organisation access
//! group, plus the groups every organisation starts with (L4184–L4193).
//!
//! Layout (all in the organisation's partition `ORG#<org>`):
//! - group `GROUP#<groupId>` with a `roles` array of role names (what
//!   [`super::signin::roles_of`] reads at sign-in);
//! - name claim `GROUPNAME#<lower-cased name>` → `{groupId}`, written in the same
//!   transaction as the group so names are unique per organisation, case-insensitively
//!   (BR-GRP-1);
//! - access-group claim `ACCESSGROUP` → `{groupId}`: at most one child-organisation access
//!   group per organisation (BR-GRP-2);
//! - member item `MEMBER#<groupId>#<userId>` for listing a group's members. Membership is
//!   also kept on the user record (`User.groups`, what sign-in reads); both are written in
//!   one transaction with a version condition on the user.

use super::model::User;
use super::roles::Role;
use super::store;
use crate::Ctx;
use crate::http::Problem;
use crate::ports::{Condition, Key, Page, Query, StoreError, StoreResult, Update, Write};
use crate::records::{from_item, to_item};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// What a group is for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum GroupKind {
    /// A regular group (Groups tab, L4180–L4242).
    #[default]
    Regular,
    /// The child-organisation access group ("Toegang tot suborganisaties", L4080–L4105):
    /// its members reach every child organisation with the group's roles. Only where
    /// child-organisation creation is enabled, and at most one per organisation (BR-GRP-2).
    ChildOrgAccess,
}

/// A group (E-GROUP).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Group {
    /// Identifier.
    pub id: String,
    /// The organisation the group belongs to.
    pub org_id: String,
    /// Name, unique in the organisation regardless of case (BR-GRP-1).
    pub name: String,
    /// Free description.
    #[serde(default)]
    pub description: String,
    /// Regular group or the child-organisation access group.
    #[serde(default)]
    pub kind: GroupKind,
    /// Roles every member gets (L4135–L4136, L4231); set through the role routes.
    #[serde(default)]
    pub roles: Vec<Role>,
    /// One of the groups the organisation started with (L4184–L4193).
    #[serde(default)]
    pub predefined: bool,
    /// Deletion in progress: members are being unlinked, then the group goes (BR-GRP-1).
    #[serde(default)]
    pub deleting: bool,
    /// Optimistic-concurrency version.
    #[serde(default)]
    pub version: i64,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

/// What an administrator gives to create a group.
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewGroup {
    /// Name, unique in the organisation regardless of case.
    pub name: String,
    /// Free description.
    #[serde(default)]
    pub description: String,
    /// `regular` (default) or `childOrgAccess`.
    #[serde(default)]
    pub kind: GroupKind,
}

/// What may change of a group; absent fields stay as they are. Roles change through the
/// role routes, the kind never.
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GroupPatch {
    /// New name (unique in the organisation regardless of case).
    pub name: Option<String>,
    /// New description.
    pub description: Option<String>,
}

const MAX_NAME: usize = 128;
const MAX_DESCRIPTION: usize = 1024;
/// How often a membership write is retried when the user changed meanwhile.
const ATTEMPTS: usize = 3;

/// The key of a group record (the layout `signin::roles_of` reads).
pub fn group_key(org_id: &str, group_id: &str) -> Key {
    Key::new(store::org_partition(org_id), format!("GROUP#{group_id}"))
}

fn name_claim(org_id: &str, name: &str) -> Key {
    Key::new(store::org_partition(org_id), format!("GROUPNAME#{}", name.to_lowercase()))
}

fn access_claim(org_id: &str) -> Key {
    Key::new(store::org_partition(org_id), "ACCESSGROUP")
}

fn member_key(org_id: &str, group_id: &str, user_id: &str) -> Key {
    Key::new(store::org_partition(org_id), format!("MEMBER#{group_id}#{user_id}"))
}

fn member_prefix(group_id: &str) -> String {
    format!("MEMBER#{group_id}#")
}

fn invalid(field: &str, why: &str) -> Problem {
    Problem::new(StatusCode::BAD_REQUEST, "invalid_field", format!("{field}: {why}"))
}

/// The trimmed name, or 400 `invalid_field` when empty, too long or with control characters.
pub fn check_name(name: &str) -> Result<String, Problem> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME || name.chars().any(char::is_control) {
        return Err(invalid("name", "1 to 128 characters, no control characters"));
    }
    Ok(name.to_string())
}

fn check_description(description: &str) -> Result<String, Problem> {
    if description.chars().count() > MAX_DESCRIPTION || description.chars().any(|c| c.is_control() && c != '\n') {
        return Err(invalid("description", "at most 1024 characters, no control characters"));
    }
    Ok(description.trim().to_string())
}

fn name_taken() -> Problem {
    Problem::new(StatusCode::CONFLICT, "group_name_taken", "A group with this name already exists (BR-GRP-1).")
}

fn group_deleting() -> Problem {
    Problem::new(StatusCode::CONFLICT, "group_deleting", "The group is being deleted.")
}

fn user_changed() -> Problem {
    Problem::new(
        StatusCode::CONFLICT,
        "conflict",
        "The user was changed by other requests meanwhile; reload and try again.",
    )
}

/// The writes that create `group` with its name claim (index 0) and, for the access group,
/// the access-group claim (index 2); the transaction fails on the claim that is taken.
pub fn create_group_writes(group: &Group) -> StoreResult<Vec<Write>> {
    let target = json!({"groupId": group.id});
    let mut writes = vec![
        Write::Put {
            item: to_item(&target, &name_claim(&group.org_id, &group.name), &[])?,
            condition: Condition::Absent,
        },
        Write::Put { item: to_item(group, &group_key(&group.org_id, &group.id), &[])?, condition: Condition::Absent },
    ];
    if group.kind == GroupKind::ChildOrgAccess {
        writes.push(Write::Put {
            item: to_item(&target, &access_claim(&group.org_id), &[])?,
            condition: Condition::Absent,
        });
    }
    Ok(writes)
}

/// The groups every organisation starts with (L4184–L4193): stable id, name, roles.
///
/// The seed names them in Dutch ("Beheerder", "Fleet Management-beheerders", "Fleet
/// Management Viewers", "Helpdesk", "Rapportage"); the API speaks English like the role
/// catalogue does.
pub fn predefined_groups() -> [(&'static str, &'static str, Vec<Role>); 5] {
    [
        // "Beheerder": "roles with organisational admin rights".
        ("administrator", "Administrator", vec![Role::OrganizationAdministrator]),
        (
            "fleet-management-administrators",
            "Fleet Management Administrators",
            vec![
                Role::FleetManagementAdministrator,
                Role::FileServiceAdministrator,
                Role::FleetManagementReportingAnalyst,
            ],
        ),
        (
            "fleet-management-viewers",
            "Fleet Management Viewers",
            vec![Role::FleetManagementViewer, Role::FileServiceAdministrator],
        ),
        // "view users, badges, groups, applications, PINs and organisation information":
        // the Help Desk role. PINs are only ever stored as hashes, so "viewing" one means
        // seeing whether a user has one, which the user view already shows.
        ("helpdesk", "Helpdesk", vec![Role::HelpDesk]),
        // "Rapportage" has the role "Rapportageanalist" (Reporting Analyst), which is not in
        // the catalogue (part-2 E-GROUP note); the closest catalogue roles are the two
        // reporting analysts, each counting only where the organisation is entitled.
        (
            "reporting",
            "Reporting",
            vec![Role::FleetManagementReportingAnalyst, Role::PrintReleaseManagementReportingAnalyst],
        ),
    ]
}

/// The writes that create the predefined groups of a new organisation (10 writes), to go
/// in the organisation's creation transaction.
pub fn predefined_group_writes(org_id: &str, now: DateTime<Utc>) -> StoreResult<Vec<Write>> {
    let mut writes = Vec::new();
    for (id, name, mut roles) in predefined_groups() {
        roles.sort();
        let group = Group {
            id: id.to_string(),
            org_id: org_id.to_string(),
            name: name.to_string(),
            description: String::new(),
            kind: GroupKind::Regular,
            roles,
            predefined: true,
            deleting: false,
            version: 1,
            created_at: now,
        };
        writes.extend(create_group_writes(&group)?);
    }
    Ok(writes)
}

/// Creates a group in `org_id`. The access group needs child-organisation creation enabled
/// and may exist once (BR-GRP-2); names are unique regardless of case (BR-GRP-1).
pub async fn create(ctx: &Ctx, org_id: &str, new: NewGroup) -> Result<Group, Problem> {
    let name = check_name(&new.name)?;
    let description = check_description(&new.description)?;
    if new.kind == GroupKind::ChildOrgAccess {
        let org = store::get_org(ctx, org_id).await?.ok_or_else(|| Problem::not_found("No such organisation."))?;
        if !org.sub_org_creation_enabled {
            return Err(Problem::new(
                StatusCode::CONFLICT,
                "sub_org_creation_disabled",
                "The child-organisation access group exists only where child-organisation creation is enabled (BR-GRP-2).",
            ));
        }
    }
    let group = Group {
        id: ctx.ids.new_id(),
        org_id: org_id.to_string(),
        name,
        description,
        kind: new.kind,
        roles: Vec::new(),
        predefined: false,
        deleting: false,
        version: 1,
        created_at: ctx.clock.now(),
    };
    match ctx.table.transact(create_group_writes(&group)?).await {
        Ok(()) => Ok(group),
        Err(StoreError::TransactionCanceled { failed }) if failed.contains(&0) => Err(name_taken()),
        Err(StoreError::TransactionCanceled { failed }) if failed.contains(&2) => Err(Problem::new(
            StatusCode::CONFLICT,
            "access_group_exists",
            "The organisation already has its child-organisation access group (BR-GRP-2).",
        )),
        Err(other) => Err(other.into()),
    }
}

/// The group `group_id` of `org_id`, if it exists.
pub async fn find(ctx: &Ctx, org_id: &str, group_id: &str) -> StoreResult<Option<Group>> {
    crate::records::get(&*ctx.table, &group_key(org_id, group_id)).await
}

/// The group `group_id` of `org_id`, or 404.
pub async fn get(ctx: &Ctx, org_id: &str, group_id: &str) -> Result<Group, Problem> {
    find(ctx, org_id, group_id).await?.ok_or_else(|| Problem::not_found("No such group."))
}

/// The id of the organisation's child-organisation access group, if it has one.
pub async fn access_group_id(ctx: &Ctx, org_id: &str) -> StoreResult<Option<String>> {
    Ok(ctx
        .table
        .get(&access_claim(org_id))
        .await?
        .and_then(|c| c.get("groupId").and_then(Value::as_str).map(String::from)))
}

/// Whether changing the group's membership changes what its members may do: it carries
/// roles, or it is the access group (members reach the child organisations). Such changes
/// are role assignments and need `ManageRoles` besides `ManageUsers`.
pub fn grants_access(group: &Group) -> bool {
    group.kind == GroupKind::ChildOrgAccess || !group.roles.is_empty()
}

/// One page of the organisation's groups, in creation order.
pub async fn list(
    ctx: &Ctx,
    org_id: &str,
    limit: u32,
    cursor: Option<String>,
) -> Result<(Vec<Group>, Option<String>), Problem> {
    let query = Query::partition(store::org_partition(org_id)).begins_with("GROUP#").limit(limit).after(cursor);
    let Page { items, cursor } = ctx.table.query(&query).await?;
    Ok((items.into_iter().map(from_item).collect::<Result<_, _>>()?, cursor))
}

/// Renames or describes a group; a new name must be free regardless of case (BR-GRP-1).
pub async fn update(ctx: &Ctx, org_id: &str, group_id: &str, patch: GroupPatch) -> Result<Group, Problem> {
    let mut group = get(ctx, org_id, group_id).await?;
    if group.deleting {
        return Err(group_deleting());
    }
    let guard = Condition::And(vec![
        Condition::VersionEquals(group.version),
        Condition::Equals("deleting".into(), Value::Bool(false)),
    ]);
    let mut change = Update::new(group_key(org_id, group_id)).add("version", 1).when(guard);
    let mut writes = Vec::new();
    let mut claim_index = None;
    if let Some(name) = patch.name.as_deref() {
        let name = check_name(name)?;
        if name.to_lowercase() != group.name.to_lowercase() {
            claim_index = Some(writes.len());
            writes.push(Write::Put {
                item: to_item(&json!({"groupId": group.id}), &name_claim(org_id, &name), &[])?,
                condition: Condition::Absent,
            });
            writes.push(Write::Delete {
                key: name_claim(org_id, &group.name),
                condition: Condition::Equals("groupId".into(), json!(group.id)),
            });
        }
        change = change.set("name", name.clone());
        group.name = name;
    }
    if let Some(description) = patch.description.as_deref() {
        let description = check_description(description)?;
        change = change.set("description", description.clone());
        group.description = description;
    }
    if change.set.is_empty() {
        return Ok(group);
    }
    writes.push(Write::Update(change));
    match ctx.table.transact(writes).await {
        Ok(()) => {
            group.version += 1;
            Ok(group)
        }
        Err(StoreError::TransactionCanceled { failed }) if claim_index.is_some_and(|i| failed.contains(&i)) => {
            Err(name_taken())
        }
        Err(other) => Err(other.into()),
    }
}

/// Deletes a group: marks it, unlinks every member (users stay, BR-GRP-1), then removes the
/// group and its claims. A deletion cut short is finished by deleting again.
pub async fn delete(ctx: &Ctx, org_id: &str, group_id: &str) -> Result<(), Problem> {
    let group = get(ctx, org_id, group_id).await?;
    let key = group_key(org_id, group_id);
    if !group.deleting {
        // From here on no member can be added (add_member requires `deleting == false`).
        ctx.table
            .update(Update::new(key.clone()).set("deleting", true).add("version", 1).when(Condition::Exists))
            .await?;
    }
    loop {
        let query = Query::partition(store::org_partition(org_id)).begins_with(member_prefix(group_id)).limit(100);
        let Page { items, .. } = ctx.table.query(&query).await?;
        if items.is_empty() {
            break;
        }
        for item in items {
            if let Some(user_id) = item.get("userId").and_then(Value::as_str) {
                unlink(ctx, &group, user_id).await?;
            } else {
                ctx.table.delete(&Key::of(&item)?, Condition::Always).await?;
            }
        }
    }
    let mut writes = vec![
        Write::Delete { key, condition: Condition::Exists },
        Write::Delete { key: name_claim(org_id, &group.name), condition: Condition::Always },
    ];
    if group.kind == GroupKind::ChildOrgAccess {
        writes.push(Write::Delete { key: access_claim(org_id), condition: Condition::Always });
    }
    ctx.table.transact(writes).await?;
    Ok(())
}

/// Makes the user `user_id` a member of the group; a member already answers `Ok`.
pub async fn add_member(ctx: &Ctx, org_id: &str, group_id: &str, user_id: &str) -> Result<(), Problem> {
    let group = get(ctx, org_id, group_id).await?;
    if group.deleting {
        return Err(group_deleting());
    }
    for _ in 0..ATTEMPTS {
        let record = store::get_user(ctx, org_id, user_id).await?.ok_or_else(|| Problem::not_found("No such user."))?;
        let user = record.user;
        if user.groups.iter().any(|g| g == group_id) {
            return Ok(());
        }
        let mut groups = user.groups.clone();
        groups.push(group_id.to_string());
        let member = json!({"groupId": group_id, "userId": user_id, "addedAt": ctx.clock.now()});
        let writes = vec![
            Write::Update(
                Update::new(store::user_key(org_id, user_id))
                    .set("groups", json!(groups))
                    .add("version", 1)
                    .when(Condition::VersionEquals(user.version)),
            ),
            Write::Put {
                item: to_item(&member, &member_key(org_id, group_id, user_id), &[])?,
                condition: Condition::Always,
            },
            Write::Check {
                key: group_key(org_id, group_id),
                condition: Condition::Equals("deleting".into(), Value::Bool(false)),
            },
        ];
        match ctx.table.transact(writes).await {
            Ok(()) => return Ok(()),
            Err(StoreError::TransactionCanceled { failed }) if failed.contains(&2) => return Err(group_deleting()),
            Err(StoreError::TransactionCanceled { failed }) if failed.contains(&0) => continue,
            Err(other) => return Err(other.into()),
        }
    }
    Err(user_changed())
}

/// Removes the user `user_id` from the group; a non-member answers `Ok`. Leaving the
/// access group also drops a directly assigned Partner Administrator role, which only its
/// members may hold (BR-GRP-2, L3900–L3901).
pub async fn remove_member(ctx: &Ctx, org_id: &str, group_id: &str, user_id: &str) -> Result<(), Problem> {
    let group = get(ctx, org_id, group_id).await?;
    if store::get_user(ctx, org_id, user_id).await?.is_none() {
        return Err(Problem::not_found("No such user."));
    }
    unlink(ctx, &group, user_id).await
}

/// Takes the group off the user's record and deletes the member item, in one transaction
/// guarded by the user's version (retried when the user changed meanwhile).
async fn unlink(ctx: &Ctx, group: &Group, user_id: &str) -> Result<(), Problem> {
    let org_id = &group.org_id;
    let member = member_key(org_id, &group.id, user_id);
    for _ in 0..ATTEMPTS {
        let Some(record) = store::get_user(ctx, org_id, user_id).await? else {
            // The user was deleted; only the member item is left.
            ctx.table.delete(&member, Condition::Always).await?;
            return Ok(());
        };
        let user = record.user;
        let groups: Vec<&String> = user.groups.iter().filter(|g| **g != group.id).collect();
        let roles: Vec<Role> = match group.kind {
            GroupKind::ChildOrgAccess => {
                user.roles.iter().copied().filter(|r| *r != Role::PartnerAdministrator).collect()
            }
            GroupKind::Regular => user.roles.clone(),
        };
        if groups.len() == user.groups.len() && roles == user.roles {
            ctx.table.delete(&member, Condition::Always).await?;
            return Ok(());
        }
        let mut change = Update::new(store::user_key(org_id, user_id))
            .set("groups", json!(groups))
            .add("version", 1)
            .when(Condition::VersionEquals(user.version));
        if roles != user.roles {
            change = change.set("roles", json!(roles));
        }
        let writes = vec![Write::Update(change), Write::Delete { key: member.clone(), condition: Condition::Always }];
        match ctx.table.transact(writes).await {
            Ok(()) => return Ok(()),
            Err(StoreError::TransactionCanceled { failed }) if failed.contains(&0) => continue,
            Err(other) => return Err(other.into()),
        }
    }
    Err(user_changed())
}

/// One page of the group's members (users), ordered by user id. Member items of users
/// deleted meanwhile are tidied away and left out.
pub async fn members(
    ctx: &Ctx,
    org_id: &str,
    group_id: &str,
    limit: u32,
    cursor: Option<String>,
) -> Result<(Vec<User>, Option<String>), Problem> {
    get(ctx, org_id, group_id).await?;
    let query =
        Query::partition(store::org_partition(org_id)).begins_with(member_prefix(group_id)).limit(limit).after(cursor);
    let Page { items, cursor } = ctx.table.query(&query).await?;
    let mut users = Vec::with_capacity(items.len());
    for item in items {
        let Some(user_id) = item.get("userId").and_then(Value::as_str) else { continue };
        match store::get_user(ctx, org_id, user_id).await? {
            Some(record) if record.user.groups.iter().any(|g| g == group_id) => users.push(record.user),
            Some(_) => {}
            None => ctx.table.delete(&member_key(org_id, group_id, user_id), Condition::Always).await?,
        }
    }
    Ok((users, cursor))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn e_group_predefined_groups_have_the_seed_roles_and_fit_in_a_transaction() {
        let writes = predefined_group_writes("org-1", Utc::now()).unwrap();
        assert_eq!(writes.len(), 10, "group + name claim each");
        let groups = predefined_groups();
        let names: BTreeSet<String> = groups.iter().map(|(_, name, _)| name.to_lowercase()).collect();
        assert_eq!(names.len(), 5, "unique names");
        let roles_of = |name: &str| groups.iter().find(|(_, n, _)| *n == name).unwrap().2.clone();
        assert_eq!(roles_of("Administrator"), vec![Role::OrganizationAdministrator]);
        assert_eq!(
            roles_of("Fleet Management Administrators"),
            vec![
                Role::FleetManagementAdministrator,
                Role::FileServiceAdministrator,
                Role::FleetManagementReportingAnalyst
            ]
        );
        assert_eq!(
            roles_of("Fleet Management Viewers"),
            vec![Role::FleetManagementViewer, Role::FileServiceAdministrator]
        );
        assert_eq!(roles_of("Helpdesk"), vec![Role::HelpDesk]);
        assert!(roles_of("Reporting").iter().all(|r| format!("{r:?}").ends_with("ReportingAnalyst")));
        for write in &writes {
            let Write::Put { item, condition } = write else { panic!("only puts") };
            assert_eq!(*condition, Condition::Absent);
            assert_eq!(item["pk"], "ORG#org-1");
        }
    }

    #[test]
    fn br_grp_1_names_are_trimmed_and_claimed_case_insensitively() {
        assert_eq!(check_name("  Finance ").unwrap(), "Finance");
        assert_eq!(name_claim("o", "Finance"), name_claim("o", "FINANCE"));
        assert_ne!(name_claim("o", "Finance"), name_claim("p", "Finance"), "unique per organisation");
        for bad in ["", "   ", "a\u{7}b", &"x".repeat(129)] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
        assert!(!name_claim("o", "x").sk.starts_with("GROUP#"), "claims are not listed as groups");
    }

    #[test]
    fn br_grp_2_the_access_group_claims_its_slot() {
        let group = Group {
            id: "g".into(),
            org_id: "o".into(),
            name: "Sub-organisation access group".into(),
            description: String::new(),
            kind: GroupKind::ChildOrgAccess,
            roles: Vec::new(),
            predefined: false,
            deleting: false,
            version: 1,
            created_at: Utc::now(),
        };
        let writes = create_group_writes(&group).unwrap();
        assert_eq!(writes[2].key().unwrap(), access_claim("o"));
        assert!(grants_access(&group));
        let regular = Group { kind: GroupKind::Regular, ..group };
        assert_eq!(create_group_writes(&regular).unwrap().len(), 2);
        assert!(!grants_access(&regular));
    }
}
