//! Releasing jobs at a printer (part-4 W3–W5, W7; BR-OS-07…11, BR-DL-02/03, BR-PP-04…06):
//! a printer session lists the user's held jobs and those of users who delegated to them,
//! releases one (or all), prints it from a short-lived presigned URL and reports the
//! outcome.
//!
//! A release takes a lease: the job goes `Held` → `Releasing` with a write conditional on
//! the version read, so of two printers releasing at once exactly one wins. A lease that is
//! never completed lapses after [`LEASE`] and the job counts as `Held` again. Completion is
//! idempotent: a `RELEASED#<lease>` record written in the same transaction as the job
//! change answers any repeat with the first answer.

use super::history::{self, HistoryRecord};
use super::jobs::{self, Job, JobState};
use super::options::{ColourMode, Duplex, EffectiveOptions};
use super::{delegates, policies, settings};
use crate::Ctx;
use crate::fleet::printers::{self, PrinterRecord, ReleaseApp};
use crate::http::{Caller, Problem};
use crate::identity::model::User;
use crate::identity::roles::Permission;
use crate::identity::store;
use crate::identity::tokens::TokenKind;
use crate::ports::{Condition, Key, StoreError, Write};
use crate::quota::ledger;
use crate::records::{from_item, to_item};
use axum::http::StatusCode;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// How long a printer has to report a release's outcome before the job is `Held` again.
pub const LEASE: Duration = Duration::minutes(10);
/// How long the document URL of a release works.
pub const DOCUMENT_URL_VALIDITY: std::time::Duration = std::time::Duration::from_secs(5 * 60);
/// The queue that carries quota settlements to `quota-debit`.
pub const QUOTA_EVENTS_QUEUE: &str = "quota-events";

/// The signed-in user at an enrolled printer: who releases, and where.
pub struct Session {
    /// The organisation.
    pub org_id: String,
    /// The user signed in at the printer.
    pub user_id: String,
    /// The printer.
    pub printer: PrinterRecord,
}

impl Session {
    /// The session of a device-session token; 403 for any other token, 401
    /// `device_unenrolled` when its printer is no longer enrolled.
    pub async fn of(ctx: &Ctx, caller: &Caller) -> Result<Self, Problem> {
        let claims = &caller.claims;
        let printer_id = match (claims.kind, &claims.printer) {
            (TokenKind::DeviceSession, Some(printer)) => printer,
            _ => {
                return Err(Problem::new(
                    StatusCode::FORBIDDEN,
                    "forbidden",
                    "This needs a user's session at a printer (POST /v1/device/sessions).",
                ));
            }
        };
        if !caller.allows(Permission::UsePrintRelease) {
            return Err(forbidden("forbidden", "The signed-in user has no Print Release Management role."));
        }
        let printer =
            printers::find(ctx, &claims.org, printer_id).await?.ok_or_else(crate::fleet::credentials::revoked)?;
        Ok(Session { org_id: claims.org.clone(), user_id: claims.sub.clone(), printer })
    }
}

/// A job as a printer lists it.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeviceJob {
    /// The job.
    #[schema(value_type = Object)]
    pub job: Job,
    /// Whether it is another user's job the session user may release as their delegate.
    pub delegated: bool,
}

/// The session user's releasable jobs, then those of users who delegated to them, ordered
/// by submission (oldest first when the organisation says so, BR-OS-11).
pub async fn list(ctx: &Ctx, session: &Session) -> Result<Vec<DeviceJob>, Problem> {
    let now = ctx.clock.now();
    let settings = settings::get(ctx, &session.org_id).await?;
    let mut listed: Vec<DeviceJob> = jobs::queue_of(ctx, &session.org_id, &session.user_id, settings.oldest_first)
        .await?
        .into_iter()
        .map(|job| DeviceJob { job, delegated: false })
        .collect();
    if settings.delegation {
        for owner in delegates::owners_of(ctx, &session.org_id, &session.user_id).await? {
            let theirs = jobs::queue_of(ctx, &session.org_id, &owner, settings.oldest_first).await?;
            listed.extend(theirs.into_iter().map(|job| DeviceJob { job, delegated: true }));
        }
    }
    listed.retain(|listed| listed.job.state_at(now) == JobState::Held);
    listed.sort_by(|a, b| {
        let order = a.job.created_at.cmp(&b.job.created_at).then_with(|| a.job.id.cmp(&b.job.id));
        if settings.oldest_first { order } else { order.reverse() }
    });
    Ok(listed)
}

/// What the user changes at the printer before release.
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReleaseChanges {
    /// Copies, only when the organisation allows changing them (BR-OS-07).
    #[serde(default)]
    pub copies: Option<u32>,
    /// `mono` to print a colour job in black and white.
    #[serde(default)]
    pub colour_mode: Option<ColourMode>,
    /// One- or two-sided.
    #[serde(default)]
    pub duplex: Option<Duplex>,
}

/// A granted release: print the document at `documentUrl` with `options`, then report the
/// outcome naming `leaseId`.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Release {
    /// The job.
    pub job_id: String,
    /// Names this release in its completion.
    pub lease_id: String,
    /// Presigned GET of the document.
    pub document_url: String,
    /// When the URL and the lease stop working.
    pub lease_until: DateTime<Utc>,
    /// Pages of the document.
    pub pages: u32,
    /// The options to print with.
    pub options: EffectiveOptions,
}

fn forbidden(code: &str, detail: &str) -> Problem {
    Problem::new(StatusCode::FORBIDDEN, code, detail)
}

/// Whether the session user may release `job`: their own, or as a delegate a cloud job at
/// a printer with the Print Release eSF app (BR-DL-02/03).
async fn check_access(ctx: &Ctx, session: &Session, job: &Job, delegation: bool) -> Result<(), Problem> {
    if job.owner_id == session.user_id {
        return Ok(());
    }
    let is_delegate =
        delegation && delegates::is_delegate(ctx, &session.org_id, &job.owner_id, &session.user_id).await?;
    if !is_delegate {
        return Err(Problem::not_found("No such print job."));
    }
    if session.printer.printer.identity.release_app != Some(ReleaseApp::PrintReleaseEsf) {
        return Err(forbidden(
            "delegate_release_not_supported",
            "Delegated jobs can be released only at printers with the Print Release eSF app (BR-DL-03).",
        ));
    }
    Ok(())
}

/// The options `job` prints with after the user's changes.
fn changed_options(
    job: &Job,
    changes: &ReleaseChanges,
    settings: &settings::PrintSettings,
) -> Result<EffectiveOptions, Problem> {
    let mut options = job.options.clone().unwrap_or_else(|| job.requested.effective());
    if let Some(copies) = changes.copies
        && copies != options.copies
    {
        if !settings.change_copies_before_release {
            return Err(forbidden(
                "copies_change_disabled",
                "The organisation does not allow changing copies before release (BR-OS-07).",
            ));
        }
        if !(1..=super::options::MAX_COPIES).contains(&copies) {
            return Err(Problem::new(StatusCode::BAD_REQUEST, "invalid_field", "copies: must be between 1 and 999"));
        }
        options.copies = copies;
    }
    match changes.colour_mode {
        Some(ColourMode::Mono) => options.colour_mode = ColourMode::Mono,
        Some(ColourMode::Colour) if options.colour_mode == ColourMode::Mono => {
            return Err(Problem::new(
                StatusCode::BAD_REQUEST,
                "invalid_field",
                "colourMode: a mono job cannot be released in colour",
            ));
        }
        _ => {}
    }
    if let Some(duplex) = changes.duplex {
        options.duplex = duplex;
    }
    Ok(options)
}

/// The printer's time zone: its own setting, else the organisation's (D-POLICY-EVAL).
async fn printer_zone(ctx: &Ctx, session: &Session) -> Result<chrono_tz::Tz, Problem> {
    let own = session.printer.printer.identification.time_zone.clone();
    let zone = match own {
        Some(zone) => zone,
        None => store::get_org(ctx, &session.org_id).await?.map(|org| org.time_zone).unwrap_or_default(),
    };
    Ok(zone.parse().unwrap_or(chrono_tz::UTC))
}

/// Refuses a release outside the owner's print window (BR-PP-04…06). Without print
/// policies in `settings` there is no window, and no policy is looked up.
async fn check_window(
    ctx: &Ctx,
    session: &Session,
    owner: &User,
    settings: &settings::PrintSettings,
) -> Result<(), Problem> {
    if !settings.print_policies {
        return Ok(());
    }
    if let Some(policy) = policies::effective_policy(ctx, &session.org_id, owner).await? {
        let zone = printer_zone(ctx, session).await?;
        policies::window_check(&policy, ctx.clock.now(), zone).map_err(policies::outside_window_problem)?;
    }
    Ok(())
}

/// Releases job `job_id` at the session's printer.
pub async fn release(ctx: &Ctx, session: &Session, job_id: &str, changes: &ReleaseChanges) -> Result<Release, Problem> {
    let settings = settings::get(ctx, &session.org_id).await?;
    let job = jobs::get(ctx, &session.org_id, job_id).await?;
    check_access(ctx, session, &job, settings.delegation).await?;
    release_job(ctx, session, job, changes, &settings).await
}

async fn release_job(
    ctx: &Ctx,
    session: &Session,
    mut job: Job,
    changes: &ReleaseChanges,
    settings: &settings::PrintSettings,
) -> Result<Release, Problem> {
    let now = ctx.clock.now();
    if job.state_at(now) != JobState::Held {
        return Err(already_released(&job));
    }
    let options = changed_options(&job, changes, settings)?;
    let Some(owner) = store::get_user(ctx, &session.org_id, &job.owner_id).await? else {
        return Err(Problem::not_found("No such print job."));
    };
    check_window(ctx, session, &owner.user, settings).await?;
    let lease = jobs::Lease {
        id: ctx.ids.new_id(),
        printer_id: session.printer.printer.id.clone(),
        released_by: session.user_id.clone(),
        printer_ip: session.printer.printer.identity.ip_address.clone(),
        options: options.clone(),
        released_at: now,
        until: now + LEASE,
    };
    let pages = job.pages.unwrap_or(1);
    let job_id = job.id.clone();
    let quota = ledger::Request {
        settings,
        user: &owner.user,
        job_id: &job_id,
        lease_id: &lease.id,
        lease_until: lease.until,
        sides: options.sides(pages),
        colour_sides: colour_sides(&job, &options, pages),
    };
    let reservation = ledger::reservation_writes(ctx, &session.org_id, &quota).await?;
    job.state = JobState::Releasing;
    job.lease = Some(lease.clone());
    take_lease(ctx, &mut job, reservation, &quota).await?;
    let key = jobs::document_key(&job.org_id, &job.id);
    let document_url = ctx.blobs.presign_get(&key, DOCUMENT_URL_VALIDITY).await?;
    Ok(Release {
        job_id: job.id.clone(),
        lease_id: lease.id,
        document_url,
        lease_until: lease.until,
        pages: job.pages.unwrap_or(1),
        options,
    })
}

/// The colour sides a release is expected to print: all of them in colour mode, unless
/// ingest found the document has no colour (D-QUOTA-COLOUR).
fn colour_sides(job: &Job, options: &EffectiveOptions, pages: u32) -> u64 {
    if options.colour_mode == ColourMode::Colour && job.uses_colour != Some(false) { options.sides(pages) } else { 0 }
}

/// Stores the job with its lease, and the quota reservation if any, in one transaction:
/// another printer's lease first answers `job_not_releasable`, a quota too small for the
/// job `quota_exceeded` or `colour_quota_exceeded`.
async fn take_lease(
    ctx: &Ctx,
    job: &mut Job,
    reservation: Vec<Write>,
    quota: &ledger::Request<'_>,
) -> Result<(), Problem> {
    let read = job.version;
    job.version = read + 1;
    let reserving = !reservation.is_empty();
    let mut writes = vec![Write::Put { item: jobs::job_item(job)?, condition: Condition::VersionEquals(read) }];
    writes.extend(reservation);
    match ctx.table.transact(writes).await {
        Ok(()) => Ok(()),
        Err(StoreError::TransactionCanceled { failed }) if failed.contains(&0) => Err(already_released(job)),
        Err(StoreError::TransactionCanceled { .. }) if reserving => Err(ledger::refused(ctx, &job.org_id, quota).await),
        Err(other) => Err(other.into()),
    }
}

fn already_released(job: &Job) -> Problem {
    Problem::new(
        StatusCode::CONFLICT,
        "job_not_releasable",
        format!("Job {} is not waiting for release (it is being released elsewhere, or not ready).", job.id),
    )
}

/// Releases every job of the session user at once (Cloud Print Release, automatic release
/// at login, BR-OS-09); jobs another printer took meanwhile are left out.
pub async fn release_all(ctx: &Ctx, session: &Session) -> Result<Vec<Release>, Problem> {
    let settings = settings::get(ctx, &session.org_id).await?;
    let mut releases = Vec::new();
    for listed in list(ctx, session).await? {
        if listed.delegated {
            continue;
        }
        match release_job(ctx, session, listed.job, &ReleaseChanges::default(), &settings).await {
            Ok(release) => releases.push(release),
            Err(problem) if problem.code == "job_not_releasable" => {}
            Err(problem) => return Err(problem),
        }
    }
    Ok(releases)
}

/// How a release ended, as the printer reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum Outcome {
    /// It printed.
    Printed,
    /// The user cancelled it at the printer.
    Cancelled,
    /// The printer could not print it.
    Failed,
}

/// The printer's report of a release.
#[derive(Clone, Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Completion {
    /// The release being reported.
    pub lease_id: String,
    /// How it ended.
    pub outcome: Outcome,
    /// Mono sides printed.
    #[serde(default)]
    pub mono_sides: u64,
    /// Colour sides printed.
    #[serde(default)]
    pub colour_sides: u64,
    /// Sheets used.
    #[serde(default)]
    pub sheets: u64,
    /// Whether it printed on both sides.
    #[serde(default)]
    pub duplex: bool,
}

/// What a completion did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Completed {
    /// The job.
    pub job_id: String,
    /// The release.
    pub lease_id: String,
    /// How it ended.
    pub outcome: Outcome,
    /// Whether the job is still in the queue (print-and-keep, or cancelled/failed).
    pub kept: bool,
}

fn completion_key(org_id: &str, lease_id: &str) -> Key {
    Key::new(store::org_partition(org_id), format!("RELEASED#{lease_id}"))
}

/// Records the outcome of release `completion.lease_id` of job `job_id`: printed → history
/// row, quota settlement, job and document deleted (or kept, print-and-keep);
/// cancelled/failed → the job is `Held` again and the reservation returned.
pub async fn complete(
    ctx: &Ctx,
    session: &Session,
    job_id: &str,
    completion: &Completion,
) -> Result<Completed, Problem> {
    if let Some(item) = ctx.table.get(&completion_key(&session.org_id, &completion.lease_id)).await? {
        return Ok(from_item(item)?);
    }
    let job =
        jobs::find(ctx, &session.org_id, job_id).await?.ok_or_else(|| Problem::not_found("No such print job."))?;
    let lease = job
        .lease
        .clone()
        .filter(|lease| lease.id == completion.lease_id && lease.printer_id == session.printer.printer.id)
        .ok_or_else(|| {
            Problem::new(StatusCode::CONFLICT, "lease_not_current", "This release is not the job's current one.")
        })?;
    let settings = settings::get(ctx, &session.org_id).await?;
    let printed = completion.outcome == Outcome::Printed;
    let kept = !printed || settings.print_and_keep;
    let completed = Completed { job_id: job.id.clone(), lease_id: lease.id.clone(), outcome: completion.outcome, kept };
    let mut writes = vec![Write::Put {
        item: to_item(
            &completed,
            &completion_key(&session.org_id, &lease.id),
            &[("ttl", json!((lease.until + Duration::days(7)).timestamp()))],
        )?,
        condition: Condition::Absent,
    }];
    if printed {
        let record = history_record(&job, &lease, completion, &settings, ctx.clock.now());
        writes.push(Write::Put { item: history::history_item(&record)?, condition: Condition::Absent });
    }
    writes.push(job_write(&job, kept, printed)?);
    ctx.table.transact(writes).await.map_err(|err| match err {
        StoreError::TransactionCanceled { .. } => jobs::conflict(),
        other => other.into(),
    })?;
    if !kept {
        ctx.blobs.delete(&jobs::document_key(&job.org_id, &job.id)).await?;
    }
    settle_quota(ctx, &job, &lease, completion).await?;
    Ok(completed)
}

/// The job's change: deleted, or `Held` again without its lease.
fn job_write(job: &Job, kept: bool, printed: bool) -> Result<Write, Problem> {
    let condition = Condition::VersionEquals(job.version);
    if !kept {
        return Ok(Write::Delete { key: jobs::job_key(&job.org_id, &job.id), condition });
    }
    let mut held = job.clone();
    held.state = JobState::Held;
    held.lease = None;
    held.times_printed += u32::from(printed);
    held.version += 1;
    Ok(Write::Put { item: jobs::job_item(&held)?, condition })
}

fn history_record(
    job: &Job,
    lease: &jobs::Lease,
    completion: &Completion,
    settings: &settings::PrintSettings,
    now: DateTime<Utc>,
) -> HistoryRecord {
    HistoryRecord {
        id: lease.id.clone(),
        org_id: job.org_id.clone(),
        owner_id: job.owner_id.clone(),
        job_id: job.id.clone(),
        job_name: settings.keep_file_names.then(|| job.name.clone()),
        source: job.source,
        printed_sides: completion.mono_sides + completion.colour_sides,
        colour_sides: completion.colour_sides,
        sheets: completion.sheets,
        colour_mode: if completion.colour_sides > 0 { ColourMode::Colour } else { ColourMode::Mono },
        duplex: completion.duplex,
        released_at: lease.released_at,
        completed_at: now,
        printer_id: lease.printer_id.clone(),
        released_from_ip: lease.printer_ip.clone(),
        released_by: (lease.released_by != job.owner_id).then(|| lease.released_by.clone()),
        expires_at: now + settings.history_period.duration(),
    }
}

/// Tells `quota-debit` how the release ended, so the reservation becomes usage (printed)
/// or is returned; the (job, lease) pair makes the settlement idempotent there.
async fn settle_quota(ctx: &Ctx, job: &Job, lease: &jobs::Lease, completion: &Completion) -> Result<(), Problem> {
    let event = json!({
        "kind": completion.outcome, "orgId": job.org_id, "jobId": job.id, "leaseId": lease.id,
        "monoSides": completion.mono_sides, "colourSides": completion.colour_sides,
    });
    ctx.queue.send(QUOTA_EVENTS_QUEUE, event.to_string()).await?;
    Ok(())
}
