//! Print jobs in a user's cloud queue (part-3 §2.32): what was submitted, what ingest found
//! in the document, and where the job stands (`Uploading` → `Held` → `Releasing` → gone,
//! or `Rejected`).
//!
//! Storage: `ORG#<org>`/`JOB#<job>`; the owner's queue is index 1
//! (`ORG#<org>#QUEUE#<owner>`, sorted by submission time); the hour the job expires is
//! index 2 (`EXPIRY#JOB#<yyyymmddhh>`), which the retention sweep walks. A job is never
//! served after `expiresAt`, whether or not the sweep has run; the table's `ttl` is a week
//! later, a backstop only. The document lives at `uploads/<org>/<job>`.

use super::documents::DocumentFormat;
use super::options::{EffectiveOptions, PrintOptions};
use super::policies::PolicyChange;
use crate::Ctx;
use crate::http::Problem;
use crate::identity::store;
use crate::ports::{Condition, Index, Key, Query, StoreError};
use crate::records::{from_json, to_item};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// How long after expiry the table's own TTL removes a job the sweep missed.
pub const TTL_BACKSTOP: Duration = Duration::days(7);

/// Where a job stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub enum JobState {
    /// Waiting for its document.
    Uploading,
    /// In the queue, waiting to be released at a printer.
    Held,
    /// Released to a printer that has not reported completion yet (under a lease).
    Releasing,
    /// Ingest refused the document; the reason says why.
    Rejected,
}

/// Where a job came from ("Bron van taak", part-3 §2.32).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub enum JobSource {
    /// The web portal.
    Web,
    /// Lexmark Print Management Client.
    #[serde(rename = "LPMC")]
    Lpmc,
    /// The Chrome print extension.
    #[serde(rename = "Chrome Print Extension")]
    ChromePrintExtension,
    /// The mobile app.
    Mobile,
    /// Email-to-print.
    #[serde(rename = "E-mail")]
    Email,
    /// A Solution Center workflow's cloud-print destination.
    #[serde(rename = "Solution Center")]
    SolutionCenter,
}

/// Why ingest refused a document, as its owner sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Rejection {
    /// Stable code, e.g. `unsupported_format`, `corrupt_document`, `document_too_large`.
    pub code: String,
    /// What went wrong, in words.
    pub reason: String,
}

/// A release in progress: which printer holds the job, and until when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Lease {
    /// Identifies this release attempt (completion names it).
    pub id: String,
    /// The printer that released the job.
    pub printer_id: String,
    /// Who released it (the owner or a delegate).
    pub released_by: String,
    /// The printer's IP address, for history.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub printer_ip: Option<String>,
    /// The options it prints with.
    pub options: EffectiveOptions,
    /// When the release happened.
    pub released_at: DateTime<Utc>,
    /// After this the lease lapses and the job is `Held` again.
    pub until: DateTime<Utc>,
}

/// A print job.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Job {
    /// Identifier.
    pub id: String,
    /// The organisation.
    pub org_id: String,
    /// Whose queue it is in.
    pub owner_id: String,
    /// Document name (file name).
    pub name: String,
    /// Free description ("Algemeen").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Where it came from.
    pub source: JobSource,
    /// Where it stands.
    pub state: JobState,
    /// Options as submitted, with the queue's defaults filled in.
    pub requested: PrintOptions,
    /// Options it prints with, after the print policy (set by ingest).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub options: Option<EffectiveOptions>,
    /// The document's real format (set by ingest).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub format: Option<DocumentFormat>,
    /// Pages of the document (set by ingest).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pages: Option<u32>,
    /// Whether the document uses colour, where that was cheap to tell.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uses_colour: Option<bool>,
    /// Document size in bytes (set by ingest).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_bytes: Option<u64>,
    /// What the print policy changed (D-POLICY-EVAL).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<Object>)]
    pub policy_changes: Vec<PolicyChange>,
    /// Why ingest refused it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejection: Option<Rejection>,
    /// The release in progress, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease: Option<Lease>,
    /// Times it was printed and kept (print-and-keep).
    #[serde(default)]
    pub times_printed: u32,
    /// When it was submitted.
    pub created_at: DateTime<Utc>,
    /// When retention removes it (BR-OS-12).
    pub expires_at: DateTime<Utc>,
    /// Optimistic-concurrency version.
    pub version: i64,
}

impl Job {
    /// Whether the job may be served at `now` (retention has not passed).
    pub fn live(&self, now: DateTime<Utc>) -> bool {
        self.expires_at > now
    }

    /// The state as seen at `now`: a release whose lease lapsed is `Held` again.
    pub fn state_at(&self, now: DateTime<Utc>) -> JobState {
        match (&self.state, &self.lease) {
            (JobState::Releasing, Some(lease)) if lease.until <= now => JobState::Held,
            (state, _) => *state,
        }
    }
}

/// Key of job `job_id` of `org_id`.
pub fn job_key(org_id: &str, job_id: &str) -> Key {
    Key::new(store::org_partition(org_id), format!("JOB#{job_id}"))
}

/// Blob key of a job's document (uploads there trigger ingest).
pub fn document_key(org_id: &str, job_id: &str) -> String {
    format!("uploads/{org_id}/{job_id}")
}

/// Index-1 partition of `owner_id`'s queue.
pub fn queue_partition(org_id: &str, owner_id: &str) -> String {
    format!("{}#QUEUE#{owner_id}", store::org_partition(org_id))
}

/// Index-2 partition of the things that expire in the hour of `at` (`kind` = `JOB`,
/// `HISTORY`).
pub fn expiry_partition(kind: &str, at: DateTime<Utc>) -> String {
    format!("EXPIRY#{kind}#{}", at.format("%Y%m%d%H"))
}

/// A time as index sort keys hold it: fixed width, so text order is time order.
pub fn sortable(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// The stored item of `job`, with its queue and expiry index entries.
pub fn job_item(job: &Job) -> Result<crate::ports::Item, StoreError> {
    let queue_sort = format!("{}#{}", sortable(job.created_at), job.id);
    let expiry_sort = format!("{}#{}#{}", sortable(job.expires_at), job.org_id, job.id);
    to_item(
        job,
        &job_key(&job.org_id, &job.id),
        &[
            ("gsi1pk", json!(queue_partition(&job.org_id, &job.owner_id))),
            ("gsi1sk", json!(queue_sort)),
            ("gsi2pk", json!(expiry_partition("JOB", job.expires_at))),
            ("gsi2sk", json!(expiry_sort)),
            ("ttl", json!((job.expires_at + TTL_BACKSTOP).timestamp())),
        ],
    )
}

/// The live job, if any (an expired one is not served, even before the sweep).
pub async fn find(ctx: &Ctx, org_id: &str, job_id: &str) -> Result<Option<Job>, Problem> {
    let now = ctx.clock.now();
    let job: Option<Job> = crate::records::get(&*ctx.table, &job_key(org_id, job_id)).await?;
    Ok(job.filter(|job| job.live(now)))
}

/// The live job, or 404 `not_found`.
pub async fn get(ctx: &Ctx, org_id: &str, job_id: &str) -> Result<Job, Problem> {
    find(ctx, org_id, job_id).await?.ok_or_else(|| Problem::not_found("No such print job."))
}

/// Every live job in `owner_id`'s queue, oldest first (or newest first).
pub async fn queue_of(ctx: &Ctx, org_id: &str, owner_id: &str, oldest_first: bool) -> Result<Vec<Job>, Problem> {
    let now = ctx.clock.now();
    let mut jobs = Vec::new();
    let mut cursor = None;
    loop {
        let mut query = Query::on_index(Index::Gsi1, queue_partition(org_id, owner_id)).limit(100).after(cursor);
        if !oldest_first {
            query = query.reverse();
        }
        let page = ctx.table.query_json(&query).await?;
        for item in &page.items {
            let job: Job = from_json(item)?;
            if job.live(now) {
                jobs.push(job);
            }
        }
        cursor = page.cursor;
        if cursor.is_none() {
            return Ok(jobs);
        }
    }
}

/// Stores `job` in place of the version read (`job.version` is the read version; the
/// stored one becomes `version + 1`); 409 `conflict` when someone changed it meanwhile.
pub async fn save(ctx: &Ctx, job: &mut Job) -> Result<(), Problem> {
    let read = job.version;
    job.version = read + 1;
    let item = job_item(job)?;
    ctx.table.put(item, Condition::VersionEquals(read)).await.map_err(|err| match err {
        StoreError::ConditionFailed => conflict(),
        other => other.into(),
    })
}

/// 409 for a job changed by someone else meanwhile.
pub fn conflict() -> Problem {
    Problem::new(
        axum::http::StatusCode::CONFLICT,
        "conflict",
        "The print job changed meanwhile (released, edited or removed); reload it.",
    )
}

/// Deletes the job and its document.
pub async fn remove(ctx: &Ctx, job: &Job) -> Result<(), Problem> {
    ctx.table.delete(&job_key(&job.org_id, &job.id), Condition::Always).await?;
    ctx.blobs.delete(&document_key(&job.org_id, &job.id)).await?;
    Ok(())
}

/// The check of routes on one user's queue, history or defaults: the user themself needs
/// `UsePrintRelease`, anyone else `ManagePrintRelease` (Print Release Management
/// Administrators); the user must exist in the organisation (404 otherwise).
pub async fn authorize_queue(
    ctx: &Ctx,
    caller: &crate::http::Caller,
    org_id: &str,
    user_id: &str,
) -> Result<(), Problem> {
    use crate::identity::roles::Permission;
    let own = caller.user_id() == Some(user_id) && caller.org_id() == org_id;
    let permission = if own { Permission::UsePrintRelease } else { Permission::ManagePrintRelease };
    caller.authorize_in(ctx, org_id, permission).await?;
    if store::get_user(ctx, org_id, user_id).await?.is_none() {
        return Err(Problem::not_found("No such user."));
    }
    Ok(())
}
