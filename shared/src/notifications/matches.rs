//! What each policy last matched, so a printer that keeps matching is mailed once, not
//! every day, and mailed again only after it stopped matching and matches again (WF-NP).
//!
//! One item per (policy, printer or agent): `ORG#<org>`/`NPMATCH#<policy>#<id>`. Marking
//! is a conditional put (absent → present), so two evaluations at once (the sweep and a
//! telemetry report) agree on which of them saw the printer newly match.

use super::evaluation::Finding;
use crate::Ctx;
use crate::http::Problem;
use crate::identity::store;
use crate::ports::{Condition, Key, Query, StoreError, Write};
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

/// Most writes of one batch (the table's transaction limit).
const BATCH: usize = crate::ports::table::MAX_TRANSACT_WRITES;

/// Marks the findings' ids as matched, a batch per transaction; answers the findings that
/// newly match. A batch that meets an id marked meanwhile (a telemetry report's check) is
/// marked one by one, so exactly one of the two evaluations mails about it.
pub async fn mark_all(
    ctx: &Ctx,
    org_id: &str,
    policy_id: &str,
    findings: Vec<Finding>,
) -> Result<Vec<Finding>, Problem> {
    let mut newly = Vec::new();
    let mut findings = findings.into_iter().peekable();
    while findings.peek().is_some() {
        let batch: Vec<Finding> = findings.by_ref().take(BATCH).collect();
        let writes = batch
            .iter()
            .map(|f| {
                Ok(Write::Put {
                    item: to_item(&json!({"id": f.id}), &match_key(org_id, policy_id, &f.id), &[])?,
                    condition: Condition::Absent,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        match ctx.table.transact(writes).await {
            Ok(()) => newly.extend(batch),
            Err(StoreError::TransactionCanceled { .. }) => {
                for finding in batch {
                    if mark(ctx, org_id, policy_id, &finding.id).await? {
                        newly.push(finding);
                    }
                }
            }
            Err(other) => return Err(other.into()),
        }
    }
    Ok(newly)
}

/// Forgets that `ids` matched, a batch per transaction.
pub async fn clear_all(ctx: &Ctx, org_id: &str, policy_id: &str, ids: &[&String]) -> Result<(), Problem> {
    for batch in ids.chunks(BATCH) {
        let writes = batch
            .iter()
            .map(|id| Write::Delete { key: match_key(org_id, policy_id, id), condition: Condition::Always })
            .collect();
        ctx.table.transact(writes).await?;
    }
    Ok(())
}

/// Forgets everything the policy matched (it was deleted).
pub async fn forget_policy(ctx: &Ctx, org_id: &str, policy_id: &str) -> Result<(), Problem> {
    let ids: Vec<String> = matched(ctx, org_id, policy_id).await?.into_iter().collect();
    clear_all(ctx, org_id, policy_id, &ids.iter().collect::<Vec<_>>()).await
}
