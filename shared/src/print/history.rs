//! Print job history (part-3 §2.35, BR-HI-01/02): one row per printed release — printed
//! sides, the IP address released from, the job name (only when the organisation keeps
//! file names, BR-OS-10), source, colour mode, duplex, release time, and who released it
//! when that was a delegate. Kept for the organisation's history period (BR-OS-13).
//!
//! Stored as `ORG#<org>`/`HISTORY#<owner>#<releaseId>` (release ids are time-ordered), in
//! the expiry index like jobs; never served after `expiresAt`.

use super::jobs::{self, JobSource};
use super::options::ColourMode;
use crate::Ctx;
use crate::http::Problem;
use crate::identity::store;
use crate::ports::{Item, Key, Query, StoreError};
use crate::records::{from_item, to_item};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// One printed release.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HistoryRecord {
    /// The release (lease) id.
    pub id: String,
    /// The organisation.
    pub org_id: String,
    /// Whose job it was.
    pub owner_id: String,
    /// The job.
    pub job_id: String,
    /// Job name ("Taaknaam"), only when the organisation keeps file names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_name: Option<String>,
    /// Where the job came from ("Bron van taak").
    pub source: JobSource,
    /// Printed sides ("Afdrukpagina"): sides of a sheet with toner.
    pub printed_sides: u64,
    /// Of which in colour.
    pub colour_sides: u64,
    /// Sheets used.
    pub sheets: u64,
    /// Colour mode ("Kleurmodus").
    pub colour_mode: ColourMode,
    /// Printed on both sides ("Duplex").
    pub duplex: bool,
    /// When it was released ("Vrijgegeven").
    pub released_at: DateTime<Utc>,
    /// When the printer reported it printed.
    pub completed_at: DateTime<Utc>,
    /// The printer.
    pub printer_id: String,
    /// IP address released from ("Vrijgegeven vanuit").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub released_from_ip: Option<String>,
    /// The delegate who released it ("Vrijgegeven door"), when not the owner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub released_by: Option<String>,
    /// When the history period removes it.
    pub expires_at: DateTime<Utc>,
}

fn history_prefix(owner_id: &str) -> String {
    format!("HISTORY#{owner_id}#")
}

/// Key of the history row of release `release_id` of `owner_id`.
pub fn history_key(org_id: &str, owner_id: &str, release_id: &str) -> Key {
    Key::new(store::org_partition(org_id), format!("{}{release_id}", history_prefix(owner_id)))
}

/// The stored item of `record`, with its expiry index entry and TTL backstop.
pub fn history_item(record: &HistoryRecord) -> Result<Item, StoreError> {
    let expiry_sort = format!("{}#{}#{}", jobs::sortable(record.expires_at), record.org_id, record.id);
    to_item(
        record,
        &history_key(&record.org_id, &record.owner_id, &record.id),
        &[
            ("gsi2pk", json!(jobs::expiry_partition("HISTORY", record.expires_at))),
            ("gsi2sk", json!(expiry_sort)),
            ("ttl", json!((record.expires_at + jobs::TTL_BACKSTOP).timestamp())),
        ],
    )
}

/// `owner_id`'s history, newest first, within the history period.
pub async fn of_user(ctx: &Ctx, org_id: &str, owner_id: &str) -> Result<Vec<HistoryRecord>, Problem> {
    let now = ctx.clock.now();
    let mut records = Vec::new();
    let mut cursor = None;
    loop {
        let query = Query::partition(store::org_partition(org_id))
            .begins_with(history_prefix(owner_id))
            .reverse()
            .limit(500)
            .after(cursor);
        let page = ctx.table.query(&query).await?;
        for item in page.items {
            let record: HistoryRecord = from_item(item)?;
            if record.expires_at > now {
                records.push(record);
            }
        }
        cursor = page.cursor;
        if cursor.is_none() {
            return Ok(records);
        }
    }
}
