//! Where identity records live in the table, and the reads and writes that keep their
//! uniqueness rules (org names, e-mail addresses) with claim items written in the same
//! transaction as the record.
//!
//! Layout: organisation `ORG#<org>`/`ORG`; user `ORG#<org>`/`USER#<id>`; claim items
//! `UNIQUE#ORGNAME#<lower name>` and `UNIQUE#EMAIL#<email>` (sk `UNIQUE`) pointing at
//! the record. Lookups by e-mail read the claim (strongly consistent), not an index.

use super::model::{Organisation, UserRecord};
use crate::Ctx;
use crate::ports::{Condition, Key, StoreResult, Write};
use crate::records::to_item;
use serde_json::{Value, json};

/// The partition of everything an organisation owns.
pub fn org_partition(org_id: &str) -> String {
    format!("ORG#{org_id}")
}

/// The key of an organisation record.
pub fn org_key(org_id: &str) -> Key {
    Key::new(org_partition(org_id), "ORG")
}

/// The key of a user record.
pub fn user_key(org_id: &str, user_id: &str) -> Key {
    Key::new(org_partition(org_id), format!("USER#{user_id}"))
}

fn email_claim(email: &str) -> Key {
    Key::new(format!("UNIQUE#EMAIL#{email}"), "UNIQUE")
}

fn org_name_claim(name: &str) -> Key {
    Key::new(format!("UNIQUE#ORGNAME#{}", name.to_lowercase()), "UNIQUE")
}

fn claim(key: &Key, target: Value) -> StoreResult<Write> {
    Ok(Write::Put { item: to_item(&target, key, &[])?, condition: Condition::Absent })
}

/// The organisation `org_id`, if it exists.
pub async fn get_org(ctx: &Ctx, org_id: &str) -> StoreResult<Option<Organisation>> {
    crate::records::get(&*ctx.table, &org_key(org_id)).await
}

/// The user `user_id` of `org_id`, if it exists.
pub async fn get_user(ctx: &Ctx, org_id: &str, user_id: &str) -> StoreResult<Option<UserRecord>> {
    crate::records::get(&*ctx.table, &user_key(org_id, user_id)).await
}

/// The user with the (lower-cased) e-mail address, in whatever organisation.
pub async fn find_user_by_email(ctx: &Ctx, email: &str) -> StoreResult<Option<UserRecord>> {
    let Some(claim) = ctx.table.get(&email_claim(&email.trim().to_lowercase())).await? else { return Ok(None) };
    let (Some(org), Some(user)) =
        (claim.get("orgId").and_then(Value::as_str), claim.get("userId").and_then(Value::as_str))
    else {
        return Ok(None);
    };
    get_user(ctx, org, user).await
}

/// The writes that create `org` and claim its name; the transaction fails on the claim
/// (index 0) when the name is taken (BR-ORG-1).
pub fn create_org_writes(org: &Organisation) -> StoreResult<Vec<Write>> {
    Ok(vec![
        claim(&org_name_claim(&org.name), json!({"orgId": org.id}))?,
        Write::Put {
            item: to_item(org, &org_key(&org.id), &[("gsi1pk", json!(children_partition(org.parent_id.as_deref())))])?
                .into_iter()
                .chain([("gsi1sk".to_string(), json!(org.name.to_lowercase()))])
                .collect(),
            condition: Condition::Absent,
        },
    ])
}

/// The index partition listing the children of `parent` (top-level organisations under
/// `ORGS#ROOT`).
pub fn children_partition(parent: Option<&str>) -> String {
    format!("ORGS#{}", parent.unwrap_or("ROOT"))
}

/// The writes that create `user` and claim its e-mail address; the transaction fails on
/// the claim (index 0) when the address is taken (BR-USR-1: one organisation per user).
pub fn create_user_writes(user: &UserRecord) -> StoreResult<Vec<Write>> {
    let account = &user.user;
    Ok(vec![
        claim(&email_claim(&account.email), json!({"orgId": account.org_id, "userId": account.id}))?,
        Write::Put { item: to_item(user, &user_key(&account.org_id, &account.id), &[])?, condition: Condition::Absent },
    ])
}
