//! The notification history (BR-NP-12): every notification mail sent, with its policy,
//! time, recipients and printers, kept 30 days and listed newest first.
//!
//! Layout: `ORG#<org>`/`NPHIST#<sortable time>#<id>` with a `ttl` 30 days after sending.

use super::evaluation::Finding;
use super::policies::NotificationPolicy;
use crate::Ctx;
use crate::http::Problem;
use crate::identity::store;
use crate::ports::{Condition, Key, Query};
use crate::print::jobs::sortable;
use crate::records::{from_item, to_item};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// How long a sent notification is listed (BR-NP-12).
pub const RETENTION: Duration = Duration::days(30);

/// One printer or agent a notification named.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NotifiedItem {
    /// Printer or agent id.
    pub id: String,
    /// Serial number or agent name.
    pub name: String,
    /// Why it was named.
    pub reason: String,
}

/// A notification mail that was sent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SentNotification {
    /// Identifier.
    pub id: String,
    /// The policy that sent it.
    pub policy_id: String,
    /// The policy's name then.
    pub policy_name: String,
    /// When it was sent.
    pub sent_at: DateTime<Utc>,
    /// Who it went to.
    pub recipients: Vec<String>,
    /// The printers or agents it named.
    pub items: Vec<NotifiedItem>,
}

/// Records that `policy` mailed `findings` now.
pub async fn record(ctx: &Ctx, policy: &NotificationPolicy, findings: &[Finding]) -> Result<SentNotification, Problem> {
    let now = ctx.clock.now();
    let sent = SentNotification {
        id: ctx.ids.new_id(),
        policy_id: policy.id.clone(),
        policy_name: policy.name.clone(),
        sent_at: now,
        recipients: policy.recipients.clone(),
        items: findings
            .iter()
            .map(|f| NotifiedItem { id: f.id.clone(), name: f.name.clone(), reason: f.reason.clone() })
            .collect(),
    };
    let key = Key::new(store::org_partition(&policy.org_id), format!("NPHIST#{}#{}", sortable(now), sent.id));
    let item = to_item(&sent, &key, &[("ttl", json!((now + RETENTION).timestamp()))])?;
    ctx.table.put(item, Condition::Absent).await?;
    Ok(sent)
}

/// One page of the organisation's notifications of the last 30 days, newest first.
pub async fn list(
    ctx: &Ctx,
    org_id: &str,
    limit: u32,
    cursor: Option<String>,
) -> Result<(Vec<SentNotification>, Option<String>), Problem> {
    let query =
        Query::partition(store::org_partition(org_id)).begins_with("NPHIST#").limit(limit).after(cursor).reverse();
    let page = ctx.table.query(&query).await?;
    let items = page.items.into_iter().map(from_item).collect::<Result<_, _>>()?;
    Ok((items, page.cursor))
}
