//! What each policy last matched, so a printer that keeps matching is mailed once, not
//! every day, and mailed again only after it stopped matching and matches again (WF-NP).
//!
//! One item per (policy, printer or agent): `ORG#<org>`/`NPMATCH#<policy>#<id>`. Marking
//! is a conditional put (absent → present), so two evaluations at once (the sweep and a
//! telemetry report) agree on which of them saw the printer newly match.

use crate::Ctx;
use crate::http::Problem;
use crate::identity::store;
use crate::ports::{Condition, Key, Query, StoreError};
use crate::records::to_item;
use serde_json::json;
use std::collections::BTreeSet;

fn prefix(policy_id: &str) -> String {
    format!("NPMATCH#{policy_id}#")
}

fn match_key(org_id: &str, policy_id: &str, id: &str) -> Key {
    Key::new(store::org_partition(org_id), format!("{}{id}", prefix(policy_id)))
}

/// The ids the policy matched at its last evaluation.
pub async fn matched(ctx: &Ctx, org_id: &str, policy_id: &str) -> Result<BTreeSet<String>, Problem> {
    let mut ids = BTreeSet::new();
    let mut cursor = None;
    loop {
        let query =
            Query::partition(store::org_partition(org_id)).begins_with(prefix(policy_id)).limit(1000).after(cursor);
        let page = ctx.table.query(&query).await?;
        for item in page.items {
            if let Some(id) = item.get("id").and_then(serde_json::Value::as_str) {
                ids.insert(id.to_string());
            }
        }
        cursor = page.cursor;
        if cursor.is_none() {
            return Ok(ids);
        }
    }
}

/// Marks `id` as matched; answers whether it newly is (false: it already was).
pub async fn mark(ctx: &Ctx, org_id: &str, policy_id: &str, id: &str) -> Result<bool, Problem> {
    let item = to_item(&json!({"id": id}), &match_key(org_id, policy_id, id), &[])?;
    match ctx.table.put(item, Condition::Absent).await {
        Ok(()) => Ok(true),
        Err(StoreError::ConditionFailed) => Ok(false),
        Err(other) => Err(other.into()),
    }
}

/// Forgets that `id` matched (it stopped matching).
pub async fn clear(ctx: &Ctx, org_id: &str, policy_id: &str, id: &str) -> Result<(), Problem> {
    ctx.table.delete(&match_key(org_id, policy_id, id), Condition::Always).await?;
    Ok(())
}

/// Forgets everything the policy matched (it was deleted).
pub async fn forget_policy(ctx: &Ctx, org_id: &str, policy_id: &str) -> Result<(), Problem> {
    for id in matched(ctx, org_id, policy_id).await? {
        clear(ctx, org_id, policy_id, &id).await?;
    }
    Ok(())
}
