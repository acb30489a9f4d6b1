//! Runs of a solution (W13): the person running it sends a document (inline, or to an
//! upload URL for large ones) and the values of unlocked items (R-SC-19); the run's plan
//! puts OCR first (R-SC-7), then the other actions in step order, then the destinations,
//! each delivering the documents as they were at its place in the solution — so a failing
//! action fails the run before anything is delivered. The `workflow-steps` queue carries one
//! message per planned step (see [`super::execution`]).
//!
//! Layout: `ORG#<org>`/`RUN#<id>` (the run, its plan and each step's result); documents
//! under `solutions/<org>/<run>/` and, for uploads, `solution-uploads/<org>/<run>`.

use super::definitions::{self, Solution};
use super::formats::{DocFormat, check_flow};
use super::quotas::{self, SolutionService};
use super::steps::{ItemValues, StepItem, invalid, unprocessable};
use crate::Ctx;
use crate::http::{Caller, Problem, inline_document};
use crate::identity::roles::Permission;
use crate::identity::store;
use crate::ports::{Condition, Key, StoreError};
use crate::records::to_item;
use axum::http::StatusCode;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::time::Duration;

/// The queue of workflow steps.
pub const STEPS_QUEUE: &str = "workflow-steps";
/// Prefix of run uploads, whose ObjectCreated events start their runs.
pub const UPLOAD_PREFIX: &str = "solution-uploads/";
/// How long an upload URL works.
pub const UPLOAD_URL_VALIDITY: Duration = Duration::from_secs(15 * 60);
/// Largest document of a run (R-SCE-11).
pub const MAX_BYTES: u64 = 50 * 1024 * 1024;
/// Largest document of a run with a translation (R-SCE-11, R-TA-1).
pub const MAX_BYTES_TRANSLATED: u64 = 40 * 1024 * 1024;
/// Largest document of a run with an e-mail destination, also when it translates (R-SCE-11,
/// D-SCAN-CAP).
pub const MAX_BYTES_MAILED: u64 = 25 * 1024 * 1024;

/// Where a run is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum RunStatus {
    /// Waiting for its document at the upload URL.
    Uploading,
    /// Steps are being worked through.
    Running,
    /// Every step succeeded.
    Succeeded,
    /// A step failed; the error says which and why.
    Failed,
}

/// Where a step is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum StepStatus {
    /// Not started, or waiting to be tried again.
    Pending,
    /// Claimed by a worker until `leaseUntil`.
    Running,
    /// Done.
    Succeeded,
    /// Failed for good.
    Failed,
}

/// A document a run holds: the input, or what a step made.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RunDocument {
    /// Where it is in the bucket.
    pub key: String,
    /// File name, with extension.
    pub name: String,
    /// Its format.
    pub format: DocFormat,
    /// Size in bytes.
    pub size: u64,
    /// Where OCR's text of a searchable PDF is, so later actions can read it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_key: Option<String>,
}

/// Why a step or run failed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RunError {
    /// Stable code (`solution_quota_exceeded`, `translation_unavailable`, …).
    pub code: String,
    /// What happened, for people.
    pub detail: String,
    /// The planned step that failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<usize>,
}

/// One planned step of a run and its result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RunStep {
    /// The solution step it comes from.
    pub step: usize,
    /// Its place in that step.
    pub item: usize,
    /// The action or destination with the values it runs with.
    pub action: StepItem,
    /// The planned step whose documents it reads; `None`: the run's input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reads: Option<usize>,
    /// Where it is.
    pub status: StepStatus,
    /// How often it was started.
    pub attempts: u32,
    /// Until when the worker that claimed it owns it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_until: Option<DateTime<Utc>>,
    /// Characters processed and debited (D-SOLUTION-UNIT).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub characters: Option<u64>,
    /// The documents it made.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outputs: Vec<RunDocument>,
    /// What a destination delivered: addresses mailed, print job ids.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub delivered: Vec<String>,
    /// The last error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<RunError>,
    /// When its last attempt started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<DateTime<Utc>>,
    /// When it finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<DateTime<Utc>>,
}

/// A run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Run {
    /// Identifier.
    pub id: String,
    /// The organisation it runs in (whose quotas it uses).
    pub org_id: String,
    /// The solution.
    pub solution_id: String,
    /// The solution's name when the run started.
    pub solution_name: String,
    /// Who runs it.
    pub user_id: String,
    /// Where it is.
    pub status: RunStatus,
    /// The document sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<RunDocument>,
    /// Base name of the documents it makes.
    pub file_name: String,
    /// Largest input accepted (R-SCE-11, D-SCAN-CAP).
    pub max_bytes: u64,
    /// The plan and each step's result.
    pub steps: Vec<RunStep>,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<RunError>,
    /// When it was started.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// When it finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<DateTime<Utc>>,
    /// Optimistic-concurrency version.
    pub version: i64,
}

/// A request to run a solution.
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RunRequest {
    /// The document's file name (its extension is not trusted; the content decides).
    pub file_name: String,
    /// The document, base64, when at most 5 MB; otherwise leave it out and upload to
    /// the answered `uploadUrl`.
    #[serde(default)]
    pub document: Option<String>,
    /// Values for unlocked items (R-SC-19).
    #[serde(default)]
    pub values: Vec<ItemValues>,
}

/// A started run and, for an upload, where to send the document.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Started {
    /// The run.
    pub run: Run,
    /// Presigned PUT URL for the document (uploads only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upload_url: Option<String>,
    /// When the upload URL stops working.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upload_expires_at: Option<DateTime<Utc>>,
}

/// The run's storage key.
pub fn run_key(org_id: &str, run_id: &str) -> Key {
    Key::new(store::org_partition(org_id), format!("RUN#{run_id}"))
}

/// Where an uploaded run document goes.
pub fn upload_key(org_id: &str, run_id: &str) -> String {
    format!("{UPLOAD_PREFIX}{org_id}/{run_id}")
}

/// The organisation and run an upload key belongs to.
pub fn run_of_upload(key: &str) -> Option<(String, String)> {
    let (org, run) = key.strip_prefix(UPLOAD_PREFIX)?.split_once('/')?;
    (!org.is_empty() && !run.is_empty() && !run.contains('/')).then(|| (org.to_string(), run.to_string()))
}

/// Where step documents of a run go.
pub fn document_key(org_id: &str, run_id: &str, name: &str) -> String {
    format!("solutions/{org_id}/{run_id}/{name}")
}

/// The input cap of a solution (R-SCE-11, D-SCAN-CAP): 25 MB with an e-mail destination,
/// else 40 MB with a translation, else 50 MB.
pub fn max_bytes(items: &[&StepItem]) -> u64 {
    if items.iter().any(|item| matches!(item, StepItem::Email { .. })) {
        MAX_BYTES_MAILED
    } else if items.iter().any(|item| matches!(item, StepItem::Translate { .. })) {
        MAX_BYTES_TRANSLATED
    } else {
        MAX_BYTES
    }
}

/// The services whose quota a run's actions use (R-SC-8, R-SC-10, R-SC-11).
pub fn services(steps: &[RunStep]) -> Vec<SolutionService> {
    let mut services: Vec<SolutionService> = steps.iter().filter_map(|step| service_of(&step.action)).collect();
    services.dedup();
    services
}

/// The quota service an action uses, if any.
pub fn service_of(action: &StepItem) -> Option<SolutionService> {
    match action {
        StepItem::Ocr { .. } => Some(SolutionService::Ocr),
        StepItem::Translate { .. } => Some(SolutionService::Translate),
        StepItem::Redact { .. } => Some(SolutionService::Redact),
        _ => None,
    }
}

/// The plan of a solution whose items carry their run-time values: OCR first (R-SC-7), the
/// other actions in order, then the destinations, each reading the documents of the last
/// action before it in the solution (or the input).
pub fn plan(items: &[(usize, usize, StepItem)]) -> Vec<RunStep> {
    let pending = |(step, item, action): &(usize, usize, StepItem), reads| RunStep {
        step: *step,
        item: *item,
        action: action.clone(),
        reads,
        status: StepStatus::Pending,
        attempts: 0,
        lease_until: None,
        characters: None,
        outputs: Vec::new(),
        delivered: Vec::new(),
        error: None,
        started_at: None,
        finished_at: None,
    };
    let is_ocr = |entry: &&(usize, usize, StepItem)| matches!(entry.2, StepItem::Ocr { .. });
    let actions = items.iter().filter(is_ocr).chain(items.iter().filter(|e| !is_ocr(e) && !e.2.is_destination()));
    let mut steps: Vec<RunStep> = Vec::new();
    for entry in actions {
        let reads = steps.len().checked_sub(1);
        steps.push(pending(entry, reads));
    }
    let action_count = steps.len();
    for entry in items.iter().filter(|entry| entry.2.is_destination()) {
        let before = |s: &RunStep| matches!(s.action, StepItem::Ocr { .. }) || (s.step, s.item) < (entry.0, entry.1);
        let reads = steps[..action_count].iter().rposition(before);
        steps.push(pending(entry, reads));
    }
    steps
}

/// The solution's items with the run-time values applied and checked complete.
fn effective_items(solution: &Solution, values: &[ItemValues]) -> Result<Vec<(usize, usize, StepItem)>, Problem> {
    let mut items: Vec<(usize, usize, StepItem)> =
        solution.items().map(|(step, item, value)| (step, item, value.clone())).collect();
    for (index, given) in values.iter().enumerate() {
        let field = format!("values[{index}]");
        let slot = items
            .iter_mut()
            .find(|(step, item, _)| (*step, *item) == (given.step, given.item))
            .ok_or_else(|| invalid(&field, format!("the solution has no item {}.{}", given.step, given.item)))?;
        slot.2 = slot.2.with_values(&field, given)?;
    }
    for (step, item, value) in &items {
        value.check(&format!("steps[{step}].items[{item}]"), true)?;
    }
    Ok(items)
}

/// Starts a run of `solution_id` for the caller (R-SC-21 "run"): checks the role, the
/// values, the print role a cloud-print destination needs (R-SC-16), the quotas the run's
/// actions use, and the document; stores the run and queues its first step, or answers an
/// upload URL.
pub async fn start(
    ctx: &Ctx,
    caller: &Caller,
    org_id: &str,
    solution_id: &str,
    request: RunRequest,
) -> Result<Started, Problem> {
    let user_id = caller.require_user()?.to_string();
    let solution = definitions::get(ctx, caller, org_id, solution_id).await?;
    let items = effective_items(&solution, &request.values)?;
    check_print_role(caller, &items)?;
    let inline = decode_inline(&request)?;
    let file_name = base_name(solution.file_name.as_deref().unwrap_or(&request.file_name));
    let steps = plan(&items);
    quotas::ensure_available(ctx, org_id, &user_id, &services(&steps)).await?;
    let now = ctx.clock.now();
    let mut run = Run {
        id: ctx.ids.new_id(),
        org_id: org_id.to_string(),
        solution_id: solution.id.clone(),
        solution_name: solution.name.clone(),
        user_id,
        status: RunStatus::Uploading,
        input: None,
        file_name,
        max_bytes: max_bytes(&items.iter().map(|(_, _, item)| item).collect::<Vec<_>>()),
        steps,
        error: None,
        created_at: now,
        updated_at: now,
        finished_at: None,
        version: 1,
    };
    match inline {
        Some(bytes) => {
            accept_input(ctx, &mut run, bytes, &request.file_name).await?;
            store_new(ctx, &run).await?;
            queue_step(ctx, &run, 0, Duration::ZERO).await?;
            Ok(Started { run, upload_url: None, upload_expires_at: None })
        }
        None => {
            store_new(ctx, &run).await?;
            let url = ctx.blobs.presign_put(&upload_key(org_id, &run.id), UPLOAD_URL_VALIDITY).await?;
            let expires = now + chrono::Duration::from_std(UPLOAD_URL_VALIDITY).unwrap_or_default();
            Ok(Started { run, upload_url: Some(url), upload_expires_at: Some(expires) })
        }
    }
}

fn check_print_role(caller: &Caller, items: &[(usize, usize, StepItem)]) -> Result<(), Problem> {
    let prints = items.iter().any(|(_, _, item)| matches!(item, StepItem::PrintQueue));
    if prints && !caller.allows(Permission::UsePrintRelease) {
        return Err(Problem::new(
            StatusCode::FORBIDDEN,
            "print_role_required",
            "Sending to the cloud print queue needs the Print Management User role (R-SC-16).",
        ));
    }
    Ok(())
}

fn decode_inline(request: &RunRequest) -> Result<Option<Bytes>, Problem> {
    if request.file_name.trim().is_empty() || request.file_name.chars().count() > 255 {
        return Err(invalid("fileName", "1 to 255 characters"));
    }
    request.document.as_deref().map(inline_document::decode).transpose()
}

/// The file name without directories, extension or characters unsafe in file names.
fn base_name(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let stem = last.rsplit_once('.').map_or(last, |(stem, _)| stem);
    let safe: String = stem
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, ':' | '*' | '?' | '"' | '<' | '>' | '|'))
        .take(200)
        .collect();
    let safe = safe.trim().trim_matches('.').trim();
    if safe.is_empty() { "document".to_string() } else { safe.to_string() }
}

/// 413 `document_too_large` for a document over the run's cap (R-SCE-11, D-SCAN-CAP).
fn too_large(max_bytes: u64) -> Problem {
    Problem::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "document_too_large",
        format!("This solution takes documents of at most {} MB (R-SCE-11).", max_bytes / (1024 * 1024)),
    )
}

/// Checks the document against the run's cap and plan and stores it as the run's input.
async fn accept_input(ctx: &Ctx, run: &mut Run, bytes: Bytes, file_name: &str) -> Result<(), Problem> {
    if bytes.len() as u64 > run.max_bytes {
        return Err(too_large(run.max_bytes));
    }
    let format = DocFormat::sniff(&bytes).ok_or_else(|| {
        unprocessable("unsupported_document", "Send a PNG, JPEG, TIFF, PDF, DOCX or plain-text document.")
    })?;
    let actions: Vec<&StepItem> = run.steps.iter().map(|step| &step.action).collect();
    check_flow(&actions, Some(format))?;
    let key = document_key(&run.org_id, &run.id, &format!("input.{}", format.extension()));
    let size = bytes.len() as u64;
    ctx.blobs.put(&key, bytes, format.content_type()).await?;
    let name = format!("{}.{}", base_name(file_name), format.extension());
    run.input = Some(RunDocument { key, name, format, size, text_key: None });
    run.status = RunStatus::Running;
    Ok(())
}

async fn store_new(ctx: &Ctx, run: &Run) -> Result<(), Problem> {
    ctx.table.put(run_item(run)?, Condition::Absent).await?;
    Ok(())
}

/// The run's item, expiring [`super::retention::RUN_DAYS`] after the run started.
fn run_item(run: &Run) -> Result<crate::ports::Item, StoreError> {
    let expires = run.created_at + chrono::Duration::days(super::retention::RUN_DAYS);
    to_item(run, &run_key(&run.org_id, &run.id), &[("ttl", json!(expires.timestamp()))])
}

/// Stores `run` over the version it was read at; `Ok(false)` when another writer came first.
pub async fn save(ctx: &Ctx, run: &mut Run) -> Result<bool, StoreError> {
    let read_at = run.version;
    run.version += 1;
    run.updated_at = ctx.clock.now();
    match ctx.table.put(run_item(run)?, Condition::VersionEquals(read_at)).await {
        Ok(()) => Ok(true),
        Err(StoreError::ConditionFailed) => Ok(false),
        Err(other) => Err(other),
    }
}

/// Reads a run.
pub async fn load(ctx: &Ctx, org_id: &str, run_id: &str) -> Result<Option<Run>, StoreError> {
    crate::records::get(&*ctx.table, &run_key(org_id, run_id)).await
}

/// Queues planned step `step` of `run`.
pub async fn queue_step(ctx: &Ctx, run: &Run, step: usize, delay: Duration) -> Result<(), StoreError> {
    let body = json!({"orgId": run.org_id, "runId": run.id, "step": step}).to_string();
    ctx.queue.send_batch(STEPS_QUEUE, vec![crate::ports::OutgoingMessage { body, delay }]).await.map(|_| ())
}

/// Starts a run whose document arrived at its upload URL: checks it like an inline one; a
/// document that does not fit fails the run with the reason. The upload is removed either
/// way (the run keeps its own copy).
pub async fn uploaded(ctx: &Ctx, key: &str) -> Result<(), Problem> {
    let Some((org_id, run_id)) = run_of_upload(key) else {
        tracing::warn!(%key, "upload outside solution-uploads/<org>/<run>; deleting it");
        return Ok(ctx.blobs.delete(key).await?);
    };
    let Some(mut run) = load(ctx, &org_id, &run_id).await? else {
        return Ok(ctx.blobs.delete(key).await?);
    };
    if run.status != RunStatus::Uploading {
        return Ok(ctx.blobs.delete(key).await?);
    }
    let file_name = format!("{}.bin", run.file_name);
    let accepted = match ctx.blobs.head(key).await? {
        None => return Ok(()),
        Some(meta) if meta.size > run.max_bytes => Err(too_large(run.max_bytes)),
        Some(_) => match ctx.blobs.get(key).await? {
            Some((_, bytes)) => accept_input(ctx, &mut run, bytes, &file_name).await,
            None => return Ok(()),
        },
    };
    if let Err(problem) = accepted {
        run.status = RunStatus::Failed;
        run.error = Some(RunError { code: problem.code, detail: problem.detail, step: None });
        run.finished_at = Some(ctx.clock.now());
    }
    if save(ctx, &mut run).await? && run.status == RunStatus::Running {
        queue_step(ctx, &run, 0, Duration::ZERO).await?;
    }
    Ok(ctx.blobs.delete(key).await?)
}

/// A run as its owner (or a Solution Center Administrator of the organisation) sees it,
/// with fresh download links for its download destinations (R-SC-15).
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RunView {
    /// The run.
    #[serde(flatten)]
    pub run: Run,
    /// Links to the documents of download destinations, valid for 15 minutes.
    pub downloads: Vec<Download>,
}

/// A download link.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Download {
    /// File name.
    pub name: String,
    /// Presigned GET URL.
    pub url: String,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
}

/// How long a download link works.
pub const DOWNLOAD_URL_VALIDITY: Duration = Duration::from_secs(15 * 60);

/// The run `run_id`: its owner's, or any for a Solution Center Administrator; else 404.
pub async fn view(ctx: &Ctx, caller: &Caller, org_id: &str, run_id: &str) -> Result<RunView, Problem> {
    let run = load(ctx, org_id, run_id).await?.ok_or_else(|| Problem::not_found("No such run."))?;
    if caller.user_id() != Some(run.user_id.as_str()) && !caller.allows(Permission::ManageSolutions) {
        return Err(Problem::not_found("No such run."));
    }
    let expires_at = ctx.clock.now() + chrono::Duration::from_std(DOWNLOAD_URL_VALIDITY).unwrap_or_default();
    let mut downloads = Vec::new();
    for step in run.steps.iter().filter(|s| s.status == StepStatus::Succeeded && s.action == StepItem::Download) {
        for document in &step.outputs {
            let url = ctx.blobs.presign_get(&document.key, DOWNLOAD_URL_VALIDITY).await?;
            downloads.push(Download { name: document.name.clone(), url, expires_at });
        }
    }
    Ok(RunView { run, downloads })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(values: serde_json::Value) -> Vec<(usize, usize, StepItem)> {
        let steps: Vec<Vec<StepItem>> = serde_json::from_value(values).unwrap();
        steps
            .into_iter()
            .enumerate()
            .flat_map(|(s, items)| items.into_iter().enumerate().map(move |(i, item)| (s, i, item)))
            .collect()
    }

    #[test]
    fn r_sc_7_ocr_is_planned_first_and_destinations_read_what_came_before_them() {
        let steps = items(json!([
            [{"type": "redact", "pii": ["iban"]}, {"type": "email", "sendCopy": true}],
            [{"type": "ocr", "format": "docx"}, {"type": "footer", "text": "x"}, {"type": "download"}]
        ]));
        let planned = plan(&steps);
        let kinds: Vec<&str> = planned.iter().map(|s| s.action.type_name()).collect();
        assert_eq!(kinds, ["ocr", "redact", "footer", "email", "download"]);
        assert_eq!(planned[0].reads, None);
        assert_eq!(planned[1].reads, Some(0));
        // The e-mail of step 0 delivers the redacted document (OCR counts first), the
        // download of step 1 the one with the footer.
        assert_eq!(planned[3].reads, Some(1));
        assert_eq!(planned[4].reads, Some(2));
    }

    #[test]
    fn a_destination_before_any_action_delivers_the_input() {
        let planned =
            plan(&items(json!([[{"type": "download"}, {"type": "footer", "text": "x"}, {"type": "download"}]])));
        assert_eq!(planned[1].reads, None);
        assert_eq!(planned[2].reads, Some(0));
    }

    #[test]
    fn r_sce_11_d_scan_cap_the_strictest_cap_applies() {
        let caps = |values| {
            let items = items(values);
            max_bytes(&items.iter().map(|(_, _, item)| item).collect::<Vec<_>>())
        };
        assert_eq!(caps(json!([[{"type": "download"}]])), 50 << 20);
        assert_eq!(caps(json!([[{"type": "translate", "targets": ["en"]}, {"type": "download"}]])), 40 << 20);
        assert_eq!(
            caps(json!([[{"type": "translate", "targets": ["en"]}, {"type": "email", "sendCopy": true}]])),
            25 << 20
        );
    }

    #[test]
    fn upload_keys_name_their_run() {
        assert_eq!(run_of_upload(&upload_key("o1", "r1")), Some(("o1".into(), "r1".into())));
        assert_eq!(run_of_upload("solution-uploads/o1/r1/x"), None);
        assert_eq!(run_of_upload("uploads/o1/r1"), None);
        assert_eq!(base_name("C:\\scans\\brief 12.png"), "brief 12");
        assert_eq!(base_name("../.."), "document");
    }
}
