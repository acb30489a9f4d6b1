//! Child organisations (E-ORG, D-SUBORG, BR-ORG-1…5): partners create and delete the
//! organisations of their customers. Deleting one removes its users, groups, applications
//! and badges (BR-ORG-5) and everything else stored in its partition.

use super::groups;
use super::model::{Organisation, UserRecord};
use super::roles::{Role, Service};
use super::store;
use crate::Ctx;
use crate::http::{Caller, Problem};
use crate::ports::{Condition, Key, Page, Query, StoreError, Update, Write};
use crate::records::{from_item, to_item};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// Longest organisation name.
pub const MAX_NAME: usize = 100;

/// Writes per transaction while deleting (well under the table's 100).
const DELETE_BATCH: usize = 50;

/// How long a deletion holds the parent's one-at-a-time slot if it is cut off.
const DELETION_SLOT_SECONDS: i64 = 3600;

/// What a partner gives to create a child organisation.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewOrganisation {
    /// Unique name, letters, digits, spaces and hyphens only (BR-ORG-1).
    pub name: String,
    /// IANA time zone; the parent's when left out.
    pub time_zone: Option<String>,
    /// Services; the parent's when left out; never more than the parent's.
    pub entitlements: Option<BTreeSet<Service>>,
}

/// BR-ORG-1: a trimmed name of 1–100 letters, digits, spaces or hyphens.
pub fn check_name(name: &str) -> Result<String, Problem> {
    let name = name.trim();
    let allowed = |c: char| c.is_alphanumeric() || c == ' ' || c == '-';
    if name.is_empty() || name.chars().count() > MAX_NAME || !name.chars().all(allowed) {
        return Err(Problem::new(
            StatusCode::BAD_REQUEST,
            "invalid_org_name",
            "name: 1 to 100 letters, digits, spaces or hyphens; special characters are not supported (BR-ORG-1)",
        ));
    }
    Ok(name.split_whitespace().collect::<Vec<_>>().join(" "))
}

fn forbidden(detail: &str) -> Problem {
    Problem::new(StatusCode::FORBIDDEN, "forbidden", detail.to_string())
}

/// D-SUBORG: the caller belongs to the parent organisation's child-organisation access
/// group and holds Partner Administrator or Organization Administrator.
async fn check_partner(ctx: &Ctx, caller: &Caller) -> Result<Organisation, Problem> {
    let user_id = caller.require_user()?;
    let admin =
        caller.roles.contains(&Role::PartnerAdministrator) || caller.roles.contains(&Role::OrganizationAdministrator);
    let parent =
        store::get_org(ctx, caller.org_id()).await?.ok_or_else(|| Problem::not_found("No such organisation."))?;
    if !parent.sub_org_creation_enabled {
        return Err(forbidden("Creating child organisations is not enabled for this organisation."));
    }
    let access_group = groups::access_group_id(ctx, &parent.id).await?;
    let user: Option<UserRecord> = store::get_user(ctx, &parent.id, user_id).await?;
    let member = matches!((access_group, user), (Some(group), Some(user)) if user.user.groups.contains(&group));
    if !admin || !member {
        return Err(forbidden(
            "Child organisations are managed by Partner or Organization Administrators in the child-organisation access group.",
        ));
    }
    Ok(parent)
}

/// Creates a child organisation of the caller's organisation (D-SUBORG), with the
/// predefined groups.
pub async fn create_child(ctx: &Ctx, caller: &Caller, new: NewOrganisation) -> Result<Organisation, Problem> {
    let parent = check_partner(ctx, caller).await?;
    let name = check_name(&new.name)?;
    let entitlements = new.entitlements.unwrap_or_else(|| parent.entitlements.clone());
    if !entitlements.is_subset(&parent.entitlements) {
        return Err(Problem::new(
            StatusCode::BAD_REQUEST,
            "invalid_entitlements",
            "entitlements: a child organisation can only have services its parent has",
        ));
    }
    let now = ctx.clock.now();
    let org = Organisation {
        id: ctx.ids.new_id(),
        name,
        parent_id: Some(parent.id.clone()),
        entitlements,
        time_zone: new.time_zone.map(|t| t.trim().to_string()).filter(|t| !t.is_empty()).unwrap_or(parent.time_zone),
        roles: Vec::new(),
        sub_org_creation_enabled: false,
        mps_express: false,
        deleting: false,
        created_at: now,
    };
    let mut writes = store::create_org_writes(&org)?;
    writes.extend(groups::predefined_group_writes(&org.id, now)?);
    match ctx.table.transact(writes).await {
        Ok(()) => Ok(org),
        Err(StoreError::TransactionCanceled { failed }) if failed.contains(&0) => Err(Problem::new(
            StatusCode::CONFLICT,
            "org_name_taken",
            "An organisation with this name already exists (BR-ORG-1).",
        )),
        Err(other) => Err(other.into()),
    }
}

/// The caller's own organisation, or one of its children; anything else is 404.
pub async fn visible(ctx: &Ctx, caller: &Caller, org_id: &str) -> Result<Organisation, Problem> {
    let org = store::get_org(ctx, org_id).await?.ok_or_else(|| Problem::not_found("No such organisation."))?;
    let own = org.id == caller.org_id();
    let child = org.parent_id.as_deref() == Some(caller.org_id());
    if !own && !child {
        return Err(Problem::not_found("No such organisation."));
    }
    Ok(org)
}

/// One page of the children of `org_id`, by name.
pub async fn children(
    ctx: &Ctx,
    org_id: &str,
    limit: u32,
    cursor: Option<String>,
) -> Result<(Vec<Organisation>, Option<String>), Problem> {
    let query =
        Query::on_index(crate::ports::Index::Gsi1, store::children_partition(Some(org_id))).limit(limit).after(cursor);
    let Page { items, cursor } = ctx.table.query(&query).await?;
    let orgs = items.into_iter().map(from_item).collect::<Result<Vec<Organisation>, _>>()?;
    Ok((orgs, cursor))
}

/// Deletes the child organisation `org_id` of the caller's organisation after the typed
/// confirmation of its name (BR-ORG-4); refused while it is MPS-managed or already being
/// deleted (BR-ORG-3), or while another child is being deleted (BR-ORG-2).
pub async fn delete_child(ctx: &Ctx, caller: &Caller, org_id: &str, confirm_name: &str) -> Result<(), Problem> {
    let parent = check_partner(ctx, caller).await?;
    let org = store::get_org(ctx, org_id).await?.filter(|o| o.parent_id.as_deref() == Some(parent.id.as_str()));
    let org = org.ok_or_else(|| Problem::not_found("No such organisation."))?;
    if confirm_name != org.name {
        return Err(Problem::new(
            StatusCode::BAD_REQUEST,
            "confirmation_mismatch",
            "confirmName: type the organisation's name exactly to confirm the deletion (BR-ORG-4)",
        ));
    }
    if org.mps_express {
        return Err(Problem::new(
            StatusCode::CONFLICT,
            "org_mps_managed",
            "MPS Express manages this organisation (BR-ORG-3).",
        ));
    }
    let slot = Key::new(store::org_partition(&parent.id), "DELETING");
    let expires = ctx.clock.now().timestamp() + DELETION_SLOT_SECONDS;
    let claim = to_item(&json!({"orgId": org.id}), &slot, &[("ttl", json!(expires))])?;
    let mark = Update::new(store::org_key(&org.id))
        .set("deleting", true)
        .when(Condition::Equals("deleting".into(), json!(false)));
    match ctx.table.transact(vec![Write::Put { item: claim, condition: Condition::Absent }, Write::Update(mark)]).await
    {
        Ok(()) => {}
        Err(StoreError::TransactionCanceled { failed }) if failed.contains(&1) => {
            return Err(Problem::new(
                StatusCode::CONFLICT,
                "org_deleting",
                "The organisation is already being deleted (BR-ORG-3).",
            ));
        }
        Err(StoreError::TransactionCanceled { .. }) => {
            return Err(Problem::new(
                StatusCode::CONFLICT,
                "deletion_in_progress",
                "Another child organisation is being deleted; one deletion at a time (BR-ORG-2).",
            ));
        }
        Err(other) => return Err(other.into()),
    }
    cascade(ctx, &org).await?;
    ctx.table.delete(&slot, Condition::Always).await?;
    tracing::info!(org = %org.id, "child organisation deleted");
    Ok(())
}

/// The claim items outside the partition that point into it.
fn outside_claims(item: &crate::ports::Item) -> Vec<Key> {
    let sk = item.get("sk").and_then(Value::as_str).unwrap_or_default();
    let text = |name: &str| item.get(name).and_then(Value::as_str).map(str::to_string);
    let mut keys = Vec::new();
    if sk.starts_with("USER#")
        && let Some(email) = text("email").filter(|email| !email.is_empty())
    {
        keys.push(Key::new(format!("UNIQUE#EMAIL#{email}"), "UNIQUE"));
    }
    if sk.starts_with("APPLICATION#")
        && let Some(client) = text("clientId")
    {
        keys.push(Key::new(format!("CLIENT#{client}"), "CLIENT"));
    }
    if sk.starts_with("NPOLICY#")
        && let Some(org_id) = text("orgId")
    {
        keys.push(Key::new(crate::notifications::policies::ORGS_WITH_POLICIES, org_id));
    }
    if sk == "SETTINGS#PRINT"
        && let Some(local_part) = text("emailLocalPart")
    {
        keys.push(crate::print::settings::mailbox_claim(&local_part));
    }
    keys
}

/// BR-ORG-5: removes everything the organisation owns, then the organisation itself.
async fn cascade(ctx: &Ctx, org: &Organisation) -> Result<(), Problem> {
    let partition = store::org_partition(&org.id);
    loop {
        let page = ctx.table.query(&Query::partition(partition.clone()).limit(DELETE_BATCH as u32 / 2)).await?;
        let items: Vec<_> =
            page.items.into_iter().filter(|i| i.get("sk").and_then(Value::as_str) != Some("ORG")).collect();
        if items.is_empty() {
            break;
        }
        let mut writes = Vec::new();
        for item in &items {
            for key in outside_claims(item) {
                writes.push(Write::Delete { key, condition: Condition::Always });
            }
            writes.push(Write::Delete { key: Key::of(item)?, condition: Condition::Always });
        }
        ctx.table.transact(writes).await?;
    }
    let name_claim = Key::new(format!("UNIQUE#ORGNAME#{}", org.name.to_lowercase()), "UNIQUE");
    ctx.table
        .transact(vec![
            Write::Delete { key: name_claim, condition: Condition::Always },
            Write::Delete { key: store::org_key(&org.id), condition: Condition::Always },
        ])
        .await?;
    Ok(())
}
