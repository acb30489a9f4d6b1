//! Running a user import (BR-UIMP, WF-USER-IMPORT, seed L4290–L4380; D-IMPORT-COLUMNS): the
//! file is checked as a whole when it arrives, then applied line by line in the background
//! through the `user-imports` queue, and the import log is stored and mailed to the
//! administrator who started it ("Het importlogbestand wordt verzonden naar uw e-mailadres").
//!
//! Chunking: each queue message `{orgId, importId, fromRow}` asks for the data lines from
//! index `fromRow` (0-based, in file order) on. A delivery works only when `fromRow` equals
//! the record's `nextRow`; it applies at most [`CHUNK_ROWS`] lines or [`CHUNK_TIME`] of work,
//! advances `nextRow` and the counts in one conditional update (`nextRow == fromRow`, so a
//! redelivered message never counts a line twice), then sends the message for the next
//! chunk. The message at `fromRow == total` finishes: the log is built, stored, mailed, and
//! the import turns `done`.
//!
//! Exactly once per line: every line gets an outcome item (`done`, `error`, or `pending`
//! while a line's later steps are still to do) in the partition
//! `ORG#<org>#IMPORT#<import>`. A CREATE writes the address claim, the user and the outcome
//! in one transaction; an UPDATE writes the user and the outcome in one transaction; a
//! DELETE records the user it resolved as `pending` before deleting. A redelivered chunk
//! skips lines with a final outcome and resumes `pending` ones, so no user is created twice
//! and no UPDATE is applied twice.
//!
//! Layout: import record `ORG#<org>`/`IMPORT#<id>`; the uploaded file at
//! `imports/<org>/<id>.csv` (deleted when the import ends: it may hold passwords); the log
//! at `imports/<org>/<id>.log.csv`.

use super::groups::{self, Group, NewGroup};
use super::import::{
    FieldChange, ImportFileError, ImportedPassword, RowError, UserCreate, UserImportOperation, UserImportRow,
    UserUpdate, parse_user_import,
};
use super::model::{User, UserRecord};
use super::{password_links, store, users};
use crate::Ctx;
use crate::http::Problem;
use crate::mail::Letter;
use crate::passwords;
use crate::ports::queue::QUEUES;
use crate::ports::{Attachment, Condition, Key, Mail, Query, SortKey, StoreError, StoreResult, Update, Write};
use crate::records::{from_item, to_item};
use axum::http::StatusCode;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// The queue that carries import chunks to the `auth` function.
pub const QUEUE: &str = "user-imports";

/// Most lines one queue delivery applies.
pub const CHUNK_ROWS: usize = 1000;

/// Work one delivery starts lines for; the line under way is finished after it. Kept well
/// under the function's 30 s timeout, since one line may hash a password (argon2).
pub const CHUNK_TIME: Duration = Duration::from_secs(10);

/// How long the presigned URL of an import log works.
pub const LOG_URL_VALIDITY: Duration = Duration::from_secs(15 * 60);

/// How long the per-line outcome items are kept (the stored log stays).
const OUTCOME_RETENTION: chrono::Duration = chrono::Duration::days(30);

/// Longest text value (names, cost centre, department, attribute names and values), as for
/// users created through the API.
const MAX_TEXT: usize = 256;

/// Most custom attributes a user may carry.
const MAX_ATTRIBUTES: usize = 100;

/// How often an UPDATE is retried when the user changed meanwhile.
const ATTEMPTS: usize = 3;

/// Where an import is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum ImportStatus {
    /// Accepted; no line applied yet.
    Queued,
    /// Lines are being applied.
    Running,
    /// Every line was applied or refused; the log is stored and mailed.
    Done,
    /// Processing stopped after repeated errors; the log holds the lines applied so far.
    Failed,
}

/// An import as stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserImport {
    /// Identifier.
    pub id: String,
    /// The organisation imported into.
    pub org_id: String,
    /// Where it is.
    pub status: ImportStatus,
    /// Data lines in the file.
    pub total: u64,
    /// Lines applied.
    pub done: u64,
    /// Lines refused.
    pub failed: u64,
    /// Index (0-based, file order) of the first line not yet applied.
    pub next_row: u64,
    /// The "e-mail a link to set the password" option (seed L4300).
    pub email_password_link: bool,
    /// Whether the importer may assign roles: adding users to a group that carries roles (or
    /// to the child-organisation access group) needs it, as through the group routes.
    pub may_assign_roles: bool,
    /// The token subject that started the import (a user or an application).
    pub created_by: String,
    /// The importing user, if a user started it (they cannot delete themselves).
    #[serde(default)]
    pub created_by_user: Option<String>,
    /// Where the log is mailed: the importing user's address.
    #[serde(default)]
    pub notify: Option<String>,
    /// When it was started.
    pub created_at: DateTime<Utc>,
    /// When it ended.
    #[serde(default)]
    pub finished_at: Option<DateTime<Utc>>,
    /// Why it failed.
    #[serde(default)]
    pub error: Option<String>,
    /// The queue message that last advanced `nextRow` (to resend a lost continuation).
    #[serde(default)]
    pub advanced_by: Option<String>,
}

/// What the API shows of an import.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImportView {
    /// Identifier.
    pub import_id: String,
    /// `queued`, `running`, `done` or `failed`.
    pub status: ImportStatus,
    /// Data lines in the file.
    pub total: u64,
    /// Lines applied so far.
    pub done: u64,
    /// Lines refused so far.
    pub failed: u64,
    /// Lines handled so far (`done + failed`).
    pub processed: u64,
    /// Whether created users without a password were mailed a set-password link.
    pub email_password_link: bool,
    /// Who started it (user or application id).
    pub created_by: String,
    /// When it was started.
    pub created_at: DateTime<Utc>,
    /// When it ended.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<DateTime<Utc>>,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// A short-lived URL of the import log (CSV: `row,email,outcome,reason`), once it ended.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_url: Option<String>,
}

/// Who starts an import, as the HTTP layer knows from the verified token.
#[derive(Clone, Debug, Default)]
pub struct Importer {
    /// The token subject.
    pub subject: String,
    /// The signed-in user, if any.
    pub user_id: Option<String>,
    /// The user's address, where the log is mailed.
    pub email: Option<String>,
    /// Whether their roles allow assigning roles (group memberships that grant roles).
    pub may_assign_roles: bool,
}

/// One chunk of work, as sent through [`QUEUE`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportMessage {
    /// The organisation imported into.
    pub org_id: String,
    /// The import.
    pub import_id: String,
    /// Index (0-based, file order) of the first data line to apply.
    pub from_row: u64,
}

/// The key of an import record.
pub fn import_key(org_id: &str, import_id: &str) -> Key {
    Key::new(store::org_partition(org_id), format!("IMPORT#{import_id}"))
}

/// Where the uploaded file is kept while the import runs.
pub fn file_key(org_id: &str, import_id: &str) -> String {
    format!("imports/{org_id}/{import_id}.csv")
}

/// Where the import log is stored.
pub fn log_key(org_id: &str, import_id: &str) -> String {
    format!("imports/{org_id}/{import_id}.log.csv")
}

fn outcomes_partition(org_id: &str, import_id: &str) -> String {
    format!("{}#IMPORT#{import_id}", store::org_partition(org_id))
}

fn outcome_sk(row: usize) -> String {
    format!("ROW#{row:07}")
}

/// The key of the outcome item of line `row` (line number in the file) of an import, for
/// tools and tests that inspect or repair an import.
pub fn outcome_key(org_id: &str, import_id: &str, row: usize) -> Key {
    Key::new(outcomes_partition(org_id, import_id), outcome_sk(row))
}

fn file_problem(err: ImportFileError) -> Problem {
    Problem::new(StatusCode::BAD_REQUEST, "invalid_csv", err.to_string())
}

/// Checks the file (header, size, at least one line; BR-UIMP, D-IMPORT-COLUMNS), stores it,
/// records the import as `queued` and queues its first chunk. A file refused as a whole
/// answers 400 `invalid_csv` and nothing is stored; the link option on a file without a
/// valid CREATE line answers 400 `invalid_option` (seed L4335–L4336).
pub async fn start(
    ctx: &Ctx,
    org_id: &str,
    importer: Importer,
    file: Bytes,
    email_password_link: bool,
) -> Result<UserImport, Problem> {
    let rows = parse_user_import(&file, email_password_link).map_err(file_problem)?;
    if rows.is_empty() {
        return Err(Problem::new(
            StatusCode::BAD_REQUEST,
            "invalid_csv",
            "the file has no lines to import; add one line per user under the header",
        ));
    }
    let creates = rows.iter().any(|r| matches!(r, Ok(UserImportRow { operation: UserImportOperation::Create(_), .. })));
    if email_password_link && !creates {
        return Err(Problem::new(
            StatusCode::BAD_REQUEST,
            "invalid_option",
            "emailPasswordLink applies to files with CREATE lines only, and this file has no valid CREATE line",
        ));
    }
    let import = UserImport {
        id: ctx.ids.new_id(),
        org_id: org_id.to_string(),
        status: ImportStatus::Queued,
        total: rows.len() as u64,
        done: 0,
        failed: 0,
        next_row: 0,
        email_password_link,
        may_assign_roles: importer.may_assign_roles,
        created_by: importer.subject,
        created_by_user: importer.user_id,
        notify: importer.email,
        created_at: ctx.clock.now(),
        finished_at: None,
        error: None,
        advanced_by: None,
    };
    ctx.blobs.put(&file_key(org_id, &import.id), file, "text/csv").await?;
    let item = to_item(&import, &import_key(org_id, &import.id), &[])?;
    if let Err(err) = ctx.table.put(item, Condition::Absent).await {
        // The file may hold passwords: it stays only as long as its import.
        ctx.blobs.delete(&file_key(org_id, &import.id)).await.ok();
        return Err(err.into());
    }
    if let Err(err) = send(ctx, org_id, &import.id, 0).await {
        let stopped = Update::new(import_key(org_id, &import.id))
            .set("status", json!(ImportStatus::Failed))
            .set("error", "the import could not be queued; start it again")
            .when(Condition::Exists);
        ctx.table.update(stopped).await.ok();
        ctx.blobs.delete(&file_key(org_id, &import.id)).await.ok();
        return Err(Problem::internal(err));
    }
    Ok(import)
}

/// The import `import_id` of `org_id`, if it exists.
pub async fn find(ctx: &Ctx, org_id: &str, import_id: &str) -> StoreResult<Option<UserImport>> {
    crate::records::get(&*ctx.table, &import_key(org_id, import_id)).await
}

/// The import `import_id` of `org_id`, or 404.
pub async fn get(ctx: &Ctx, org_id: &str, import_id: &str) -> Result<UserImport, Problem> {
    find(ctx, org_id, import_id).await?.ok_or_else(|| Problem::not_found("No such import."))
}

/// The API view of `import`, with a presigned URL of its log once it ended.
pub async fn view(ctx: &Ctx, import: UserImport) -> Result<ImportView, Problem> {
    // The log is stored before an import is marked as ended (`finishedAt`), so no look-up
    // is needed (on S3 one would need list rights to tell a missing object from a refusal).
    let mut log_url = None;
    if matches!(import.status, ImportStatus::Done | ImportStatus::Failed) && import.finished_at.is_some() {
        log_url = Some(ctx.blobs.presign_get(&log_key(&import.org_id, &import.id), LOG_URL_VALIDITY).await?);
    }
    Ok(ImportView {
        import_id: import.id,
        status: import.status,
        total: import.total,
        done: import.done,
        failed: import.failed,
        processed: import.done + import.failed,
        email_password_link: import.email_password_link,
        created_by: import.created_by,
        created_at: import.created_at,
        finished_at: import.finished_at,
        error: import.error,
        log_url,
    })
}

async fn send(ctx: &Ctx, org_id: &str, import_id: &str, from_row: u64) -> StoreResult<String> {
    let message = ImportMessage { org_id: org_id.to_string(), import_id: import_id.to_string(), from_row };
    ctx.queue.send(QUEUE, serde_json::to_string(&message).map_err(StoreError::backend)?).await
}

/// Handles one [`QUEUE`] message (`message_id` is stable across deliveries, `receive_count`
/// counts them). An error makes the queue deliver the message again; when the queue's last
/// delivery fails too, the import is marked `failed` and the log of what was done is mailed.
pub async fn handle_message(ctx: &Ctx, body: &str, message_id: &str, receive_count: u32) -> Result<(), String> {
    let message: ImportMessage = serde_json::from_str(body).map_err(|e| format!("not a user-import message: {e}"))?;
    let outcome = step(ctx, &message, message_id).await;
    if let Err(reason) = &outcome {
        let last = QUEUES.iter().find(|q| q.name == QUEUE).map_or(3, |q| q.max_receives);
        if receive_count >= last {
            tracing::error!(import = %message.import_id, %reason, "user import gives up");
            give_up(ctx, &message).await;
        }
    }
    outcome
}

async fn step(ctx: &Ctx, message: &ImportMessage, message_id: &str) -> Result<(), String> {
    let Some(import) = find(ctx, &message.org_id, &message.import_id).await.map_err(|e| e.to_string())? else {
        tracing::warn!(import = %message.import_id, "message for an unknown import dropped");
        return Ok(());
    };
    if matches!(import.status, ImportStatus::Done | ImportStatus::Failed) {
        return Ok(());
    }
    if message.from_row < import.next_row {
        // Already applied. If this very message advanced the import, its continuation may
        // have been lost before it was sent: send it (again; a duplicate is dropped here).
        if import.advanced_by.as_deref() == Some(message_id) {
            send(ctx, &import.org_id, &import.id, import.next_row).await.map_err(|e| e.to_string())?;
        }
        return Ok(());
    }
    if message.from_row > import.next_row {
        tracing::warn!(import = %import.id, from = message.from_row, next = import.next_row, "message ahead of the import dropped");
        return Ok(());
    }
    if import.next_row >= import.total {
        return finish(ctx, &import, ImportStatus::Done, None).await.map_err(|e| e.to_string());
    }
    run_chunk(ctx, &import, message_id).await
}

/// Applies the lines from `import.next_row` on, within [`CHUNK_ROWS`] and [`CHUNK_TIME`],
/// then advances the import and queues the next chunk.
async fn run_chunk(ctx: &Ctx, import: &UserImport, message_id: &str) -> Result<(), String> {
    let Some((_, file)) = ctx.blobs.get(&file_key(&import.org_id, &import.id)).await.map_err(|e| e.to_string())? else {
        return Err("the uploaded file is missing".into());
    };
    let entries = parse_user_import(&file, import.email_password_link).map_err(|e| e.to_string())?;
    if entries.len() as u64 != import.total {
        return Err("the uploaded file changed".into());
    }
    let from = usize::try_from(import.next_row).map_err(|e| e.to_string())?;
    let end = entries.len().min(from + CHUNK_ROWS);
    let recorded = recorded_outcomes(ctx, import, line_of(&entries[from]), line_of(&entries[end - 1]))
        .await
        .map_err(|e| e.to_string())?;
    let mut work = Chunk { ctx, import, hashes: HashMap::new(), groups: None, org_name: None };
    let started = Instant::now();
    let (mut done, mut failed) = (0i64, 0i64);
    let mut next = from;
    while next < end && (next == from || started.elapsed() < CHUNK_TIME) {
        let entry = &entries[next];
        let applied = match recorded.get(&line_of(entry)) {
            Some(previous) if previous.outcome != Outcome::Pending => previous.outcome == Outcome::Done,
            previous => work.apply(entry, previous).await?,
        };
        if applied {
            done += 1;
        } else {
            failed += 1;
        }
        next += 1;
    }
    let advance = Update::new(import_key(&import.org_id, &import.id))
        .set("nextRow", json!(next))
        .add("done", done)
        .add("failed", failed)
        .set("status", json!(ImportStatus::Running))
        .set("advancedBy", message_id)
        .when(Condition::Equals("nextRow".into(), json!(from)));
    match ctx.table.update(advance).await {
        Ok(_) => {}
        // Another delivery of this chunk advanced the import first; it sends the next one.
        Err(StoreError::ConditionFailed) => return Ok(()),
        Err(err) => return Err(err.to_string()),
    }
    send(ctx, &import.org_id, &import.id, next as u64).await.map_err(|e| e.to_string())?;
    Ok(())
}

/// The outcomes already recorded for lines `first..=last` (by line number).
async fn recorded_outcomes(
    ctx: &Ctx,
    import: &UserImport,
    first: usize,
    last: usize,
) -> StoreResult<HashMap<usize, LineOutcome>> {
    let mut found = HashMap::new();
    let mut cursor = None;
    loop {
        let query = Query::partition(outcomes_partition(&import.org_id, &import.id))
            .sort(SortKey::Between(outcome_sk(first), outcome_sk(last)))
            .limit(1000)
            .after(cursor);
        let page = ctx.table.query(&query).await?;
        for item in page.items {
            let outcome: LineOutcome = from_item(item)?;
            found.insert(outcome.row, outcome);
        }
        cursor = page.cursor;
        if cursor.is_none() {
            return Ok(found);
        }
    }
}

/// Marks the import `failed` (it stays as far as it got) and mails the log of what was done.
async fn give_up(ctx: &Ctx, message: &ImportMessage) {
    match find(ctx, &message.org_id, &message.import_id).await {
        Ok(Some(import)) if matches!(import.status, ImportStatus::Queued | ImportStatus::Running) => {
            let reason = format!(
                "processing stopped after repeated errors; lines after line index {} were not imported",
                import.next_row
            );
            if let Err(err) = finish(ctx, &import, ImportStatus::Failed, Some(reason)).await {
                tracing::error!(import = %import.id, error = %err, "could not record the failed import");
            }
        }
        Ok(_) => {}
        Err(err) => tracing::error!(import = %message.import_id, error = %err, "could not read the failed import"),
    }
}

/// Ends the import: stores the log, mails it to the importer, deletes the uploaded file and
/// sets the final status and counts (taken from the log). A repeat (redelivery) re-mails at
/// worst; the status changes once.
async fn finish(ctx: &Ctx, import: &UserImport, status: ImportStatus, error: Option<String>) -> StoreResult<()> {
    let log = ImportLog::read(ctx, import).await?;
    let bytes = log.csv()?;
    ctx.blobs.put(&log_key(&import.org_id, &import.id), Bytes::from(bytes.clone()), "text/csv").await?;
    if let Some(to) = &import.notify {
        let org_name = store::get_org(ctx, &import.org_id).await?.map(|o| o.name).unwrap_or_default();
        ctx.mailer.send(&log_mail(ctx, import, &org_name, to, status, &log, bytes)).await?;
    }
    ctx.blobs.delete(&file_key(&import.org_id, &import.id)).await?;
    let mut update = Update::new(import_key(&import.org_id, &import.id))
        .set("status", json!(status))
        .set("done", json!(log.done))
        .set("failed", json!(log.failed))
        .set("finishedAt", json!(ctx.clock.now()))
        .when(Condition::Equals("status".into(), json!(import.status)));
    if let Some(error) = error {
        update = update.set("error", error);
    }
    match ctx.table.update(update).await {
        Ok(_) | Err(StoreError::ConditionFailed) => Ok(()),
        Err(err) => Err(err),
    }
}

fn log_mail(
    ctx: &Ctx,
    import: &UserImport,
    org_name: &str,
    to: &str,
    status: ImportStatus,
    log: &ImportLog,
    bytes: Vec<u8>,
) -> Mail {
    let (subject, how) = match status {
        ImportStatus::Failed => (
            format!("user import stopped: {} done, {} failed", log.done, log.failed),
            "stopped after repeated errors; the lines not in the log were not imported",
        ),
        _ => (format!("user import: {} done, {} failed", log.done, log.failed), "has finished"),
    };
    Letter::new(org_name, subject)
        .text(format!(
            "The user import {} into {org_name} that you started at {} {how}.",
            import.id,
            import.created_at.format("%Y-%m-%d %H:%M UTC")
        ))
        .list(vec![
            format!("Lines in the file: {}", import.total),
            format!("Lines imported: {}", log.done),
            format!("Lines refused: {}", log.failed),
        ])
        .text(
            "The attached log lists every line: its number in the file (the header is line 1), the e-mail address, \
             the outcome and, for refused lines, the reason.",
        )
        .attach(Attachment {
            filename: format!("user-import-{}.log.csv", import.id),
            content_type: "text/csv".into(),
            bytes,
        })
        .to_mail(&ctx.config.mail_from, vec![to.to_string()])
}

/// The line number of a parsed entry.
fn line_of(entry: &Result<UserImportRow, RowError>) -> usize {
    match entry {
        Ok(row) => row.row,
        Err(err) => err.row,
    }
}

/// What became of one line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
enum Outcome {
    /// Applied.
    Done,
    /// Refused; nothing (or only what the reason says) was changed.
    Error,
    /// The main change is made; later steps (groups, link, the deletion) are still to do.
    Pending,
}

/// The outcome item of one line.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct LineOutcome {
    /// Line number in the file.
    row: usize,
    /// The line's address, when it could be read.
    #[serde(default)]
    email: String,
    outcome: Outcome,
    /// For errors the reason (`code: words`); for done lines what was done.
    #[serde(default)]
    reason: String,
    /// The user a pending line is about.
    #[serde(default)]
    user_id: Option<String>,
}

/// Why a line was not applied: the line's own problem, or a failure of storage that makes
/// the whole chunk retry.
enum Fail {
    /// Recorded as the line's error.
    Line(String),
    /// Retry the chunk.
    Retry(String),
}

impl From<StoreError> for Fail {
    fn from(err: StoreError) -> Self {
        Fail::Retry(err.to_string())
    }
}

impl From<Problem> for Fail {
    fn from(problem: Problem) -> Self {
        if problem.status >= 500 {
            Fail::Retry(problem.detail)
        } else {
            Fail::Line(format!("{}: {}", problem.code, problem.detail))
        }
    }
}

fn not_in_org() -> Fail {
    Fail::Line("not_found: no user with this e-mail address in this organisation".into())
}

fn email_taken() -> Fail {
    Fail::Line(
        "email_taken: a user with this e-mail address already exists (a user belongs to one organisation)".into(),
    )
}

/// The state one chunk keeps between its lines.
struct Chunk<'a> {
    ctx: &'a Ctx,
    import: &'a UserImport,
    /// argon2 hashes made in this chunk, by password: a file that gives many users the same
    /// initial password hashes it once per chunk (the users share that hash, salt included).
    hashes: HashMap<String, String>,
    /// The organisation's groups by lower-cased name, once read.
    groups: Option<HashMap<String, Group>>,
    org_name: Option<String>,
}

impl Chunk<'_> {
    fn org(&self) -> &str {
        &self.import.org_id
    }

    fn outcome_item(&self, outcome: &LineOutcome) -> StoreResult<crate::ports::Item> {
        let key = outcome_key(self.org(), &self.import.id, outcome.row);
        let expires = self.ctx.clock.now() + OUTCOME_RETENTION;
        to_item(outcome, &key, &[("ttl", json!(expires.timestamp()))])
    }

    /// Writes a final outcome; a final outcome already there (another delivery) is kept.
    async fn record(&self, outcome: LineOutcome) -> Result<bool, String> {
        let key = outcome_key(self.org(), &self.import.id, outcome.row);
        let item = self.outcome_item(&outcome).map_err(|e| e.to_string())?;
        match self.ctx.table.put(item, Condition::Absent).await {
            Ok(()) => return Ok(outcome.outcome == Outcome::Done),
            Err(StoreError::ConditionFailed) => {}
            Err(err) => return Err(err.to_string()),
        }
        let existing: Option<LineOutcome> = self
            .ctx
            .table
            .get(&key)
            .await
            .map_err(|e| e.to_string())?
            .map(from_item)
            .transpose()
            .map_err(|e| e.to_string())?;
        match existing {
            Some(previous) if previous.outcome != Outcome::Pending => Ok(previous.outcome == Outcome::Done),
            _ => {
                let item = self.outcome_item(&outcome).map_err(|e| e.to_string())?;
                self.ctx.table.put(item, Condition::Always).await.map_err(|e| e.to_string())?;
                Ok(outcome.outcome == Outcome::Done)
            }
        }
    }

    /// The final outcome recorded for `row` by another delivery.
    async fn recorded(&self, row: usize) -> Result<bool, String> {
        let key = outcome_key(self.org(), &self.import.id, row);
        let item = self.ctx.table.get(&key).await.map_err(|e| e.to_string())?;
        let outcome: Option<LineOutcome> = item.map(from_item).transpose().map_err(|e| e.to_string())?;
        Ok(outcome.is_some_and(|o| o.outcome == Outcome::Done))
    }

    /// Applies one line (resuming it when `previous` is pending); answers whether it was
    /// applied. `Err` means: retry the chunk.
    async fn apply(
        &mut self,
        entry: &Result<UserImportRow, RowError>,
        previous: Option<&LineOutcome>,
    ) -> Result<bool, String> {
        let row = match entry {
            Ok(row) => row,
            Err(err) => {
                let reason = format!("invalid_line: {}", err.reason);
                return self.record(line(err.row, "", Outcome::Error, reason)).await;
            }
        };
        let resumed = previous.and_then(|p| p.user_id.clone());
        let result = match &row.operation {
            UserImportOperation::Create(create) => self.create(row, create, resumed).await,
            UserImportOperation::Update(update) => self.update(row, update).await,
            UserImportOperation::Delete => self.delete(row, resumed).await,
        };
        match result {
            Ok(applied) => Ok(applied),
            Err(Fail::Line(reason)) => self.record(line(row.row, &row.email, Outcome::Error, reason)).await,
            Err(Fail::Retry(reason)) => Err(reason),
        }
    }

    /// CREATE: a new user with the line's properties (BR-USR-1: the address must be free),
    /// with the line's password, or else a mailed set-password link; then its groups.
    async fn create(&mut self, row: &UserImportRow, new: &UserCreate, resumed: Option<String>) -> Result<bool, Fail> {
        let follow_up = !new.groups.is_empty() || new.password.is_none();
        let user = match resumed {
            Some(user_id) => match store::get_user(self.ctx, self.org(), &user_id).await? {
                Some(record) => record.user,
                None => return Err(Fail::Line("not_found: the user was deleted before the import finished it".into())),
            },
            None => {
                check_create(new)?;
                if store::find_user_by_email(self.ctx, &row.email).await?.is_some() {
                    return Err(email_taken());
                }
                // Groups first: a group the importer may not fill refuses the line before
                // anything is created.
                self.resolve_groups(&new.groups).await?;
                let password_hash = match &new.password {
                    Some(password) => Some(self.hash(password).await?),
                    None => None,
                };
                let user = User {
                    id: self.ctx.ids.new_id(),
                    org_id: self.org().to_string(),
                    email: row.email.clone(),
                    first_name: new.first_name.clone().unwrap_or_default(),
                    last_name: new.last_name.clone().unwrap_or_default(),
                    display_name: new.display_name.clone().unwrap_or_default(),
                    short_name: new.short_name.clone().unwrap_or_default(),
                    department: new.department.clone().unwrap_or_default(),
                    cost_center: new.cost_center.clone().unwrap_or_default(),
                    custom_attributes: new.custom_attributes.clone(),
                    groups: Vec::new(),
                    roles: Vec::new(),
                    guest: false,
                    version: 1,
                    created_at: self.ctx.clock.now(),
                };
                let record = UserRecord { user: user.clone(), password_hash };
                let mut writes = store::create_user_writes(&record)?;
                let outcome = if follow_up {
                    LineOutcome { user_id: Some(user.id.clone()), ..line(row.row, &row.email, Outcome::Pending, "") }
                } else {
                    line(row.row, &row.email, Outcome::Done, "created")
                };
                writes.push(Write::Put { item: self.outcome_item(&outcome)?, condition: Condition::Absent });
                match self.ctx.table.transact(writes).await {
                    Ok(()) if !follow_up => return Ok(true),
                    Ok(()) => user,
                    Err(StoreError::TransactionCanceled { failed }) if failed.contains(&2) => {
                        return self.recorded(row.row).await.map_err(Fail::Retry);
                    }
                    Err(StoreError::TransactionCanceled { failed }) if failed.contains(&0) => return Err(email_taken()),
                    Err(err) => return Err(err.into()),
                }
            }
        };
        let mut done = vec!["created"];
        let joined = self.join_groups(&user.id, &new.groups).await;
        if let Err(Fail::Line(reason)) = joined {
            return Err(Fail::Line(format!("the user was created, but {reason}")));
        }
        joined?;
        if new.password.is_none() {
            let token = password_links::issue(self.ctx, self.org(), &user.id).await?;
            let org_name = self.org_name().await?;
            password_links::mail_link(self.ctx, &org_name, &user, &token).await?;
            done.push("set-password link mailed");
        }
        self.record(line(row.row, &row.email, Outcome::Done, done.join(", "))).await.map_err(Fail::Retry)
    }

    /// UPDATE: the line's groups are joined, then the user and the outcome are written in one
    /// transaction. Empty values keep, `[delete]` clears the four names (seed L4325–L4327).
    async fn update(&mut self, row: &UserImportRow, change: &UserUpdate) -> Result<bool, Fail> {
        let Some(existing) = store::find_user_by_email(self.ctx, &row.email).await? else { return Err(not_in_org()) };
        if existing.user.org_id != self.org() {
            return Err(not_in_org());
        }
        check_update(change)?;
        let user_id = existing.user.id;
        self.join_groups(&user_id, &change.groups).await?;
        let password_hash = match &change.password {
            Some(password) => Some(self.hash(password).await?),
            None => None,
        };
        let key = store::user_key(self.org(), &user_id);
        for _ in 0..ATTEMPTS {
            let Some(mut record) = store::get_user(self.ctx, self.org(), &user_id).await? else {
                return Err(not_in_org());
            };
            let previous = record.user.version;
            let user = &mut record.user;
            for (field, target) in [
                (&change.first_name, &mut user.first_name),
                (&change.last_name, &mut user.last_name),
                (&change.display_name, &mut user.display_name),
                (&change.short_name, &mut user.short_name),
            ] {
                match field {
                    FieldChange::Keep => {}
                    FieldChange::Clear => target.clear(),
                    FieldChange::Set(value) => value.clone_into(target),
                }
            }
            if let Some(cost_center) = &change.cost_center {
                cost_center.clone_into(&mut user.cost_center);
            }
            if let Some(department) = &change.department {
                department.clone_into(&mut user.department);
            }
            if let Some(attributes) = &change.custom_attributes {
                attributes.clone_into(&mut user.custom_attributes);
            }
            if password_hash.is_some() {
                record.password_hash.clone_from(&password_hash);
            }
            record.user.version = previous + 1;
            let outcome = line(row.row, &row.email, Outcome::Done, "updated");
            let writes = vec![
                Write::Put { item: to_item(&record, &key, &[])?, condition: Condition::VersionEquals(previous) },
                Write::Put { item: self.outcome_item(&outcome)?, condition: Condition::Absent },
            ];
            match self.ctx.table.transact(writes).await {
                Ok(()) => return Ok(true),
                Err(StoreError::TransactionCanceled { failed }) if failed.contains(&1) => {
                    return self.recorded(row.row).await.map_err(Fail::Retry);
                }
                Err(StoreError::TransactionCanceled { failed }) if failed.contains(&0) => continue,
                Err(err) => return Err(err.into()),
            }
        }
        Err(Fail::Line("conflict: the user was changed by other requests meanwhile; import the line again".into()))
    }

    /// DELETE: the user is recorded as the line's target first (`pending`), so a repeat
    /// knows the deletion was this line's even when the user is gone.
    async fn delete(&mut self, row: &UserImportRow, resumed: Option<String>) -> Result<bool, Fail> {
        let user_id = match resumed {
            Some(user_id) => user_id,
            None => {
                let Some(existing) = store::find_user_by_email(self.ctx, &row.email).await? else {
                    return Err(not_in_org());
                };
                if existing.user.org_id != self.org() {
                    return Err(not_in_org());
                }
                if self.import.created_by_user.as_deref() == Some(existing.user.id.as_str()) {
                    return Err(Fail::Line("cannot_delete_self: you cannot delete your own account".into()));
                }
                let pending = LineOutcome {
                    user_id: Some(existing.user.id.clone()),
                    ..line(row.row, &row.email, Outcome::Pending, "")
                };
                match self.ctx.table.put(self.outcome_item(&pending)?, Condition::Absent).await {
                    Ok(()) => {}
                    Err(StoreError::ConditionFailed) => return self.recorded(row.row).await.map_err(Fail::Retry),
                    Err(err) => return Err(err.into()),
                }
                existing.user.id
            }
        };
        match users::delete(self.ctx, self.org(), &user_id).await {
            Ok(()) => {}
            Err(problem) if problem.status == StatusCode::NOT_FOUND.as_u16() => {}
            Err(problem) => return Err(problem.into()),
        }
        self.record(line(row.row, &row.email, Outcome::Done, "deleted")).await.map_err(Fail::Retry)
    }

    /// The argon2id hash of `password`, made off the async threads, once per chunk.
    async fn hash(&mut self, password: &ImportedPassword) -> Result<String, Fail> {
        if let Some(hash) = self.hashes.get(password.expose()) {
            return Ok(hash.clone());
        }
        let plain = password.expose().to_string();
        let hash = tokio::task::spawn_blocking(move || passwords::hash(&plain))
            .await
            .map_err(|e| Fail::Retry(format!("password hashing failed: {e}")))?;
        self.hashes.insert(password.expose().to_string(), hash.clone());
        Ok(hash)
    }

    async fn org_name(&mut self) -> Result<String, Fail> {
        if self.org_name.is_none() {
            self.org_name = Some(store::get_org(self.ctx, self.org()).await?.map(|o| o.name).unwrap_or_default());
        }
        Ok(self.org_name.clone().unwrap_or_default())
    }

    /// The groups named (cleaned by the parser, seed L4355–L4357), creating missing ones
    /// (seed L4352–L4353). A group that carries roles, or the access group, is refused unless
    /// the importer may assign roles.
    async fn resolve_groups(&mut self, names: &[String]) -> Result<Vec<Group>, Fail> {
        let mut found = Vec::with_capacity(names.len());
        for name in names {
            let group = self.group(name).await?;
            if groups::grants_access(&group) && !self.import.may_assign_roles {
                return Err(Fail::Line(format!(
                    "forbidden: members of the group `{}` get its roles, and your roles do not allow assigning roles",
                    group.name
                )));
            }
            found.push(group);
        }
        Ok(found)
    }

    /// Makes the user a member of each named group (already a member is fine).
    async fn join_groups(&mut self, user_id: &str, names: &[String]) -> Result<(), Fail> {
        for group in self.resolve_groups(names).await? {
            groups::add_member(self.ctx, self.org(), &group.id, user_id).await?;
        }
        Ok(())
    }

    /// The group named `name` (case-insensitively), created when missing.
    async fn group(&mut self, name: &str) -> Result<Group, Fail> {
        let wanted = name.trim().to_lowercase();
        if self.groups.is_none() {
            self.load_groups().await?;
        }
        if let Some(group) = self.groups.as_ref().and_then(|g| g.get(&wanted)) {
            return Ok(group.clone());
        }
        let new = NewGroup { name: name.to_string(), ..NewGroup::default() };
        match groups::create(self.ctx, self.org(), new).await {
            Ok(group) => {
                self.groups.get_or_insert_default().insert(wanted, group.clone());
                Ok(group)
            }
            Err(problem) if problem.code == "group_name_taken" => {
                // Created meanwhile by someone else.
                self.load_groups().await?;
                let group = self.groups.as_ref().and_then(|g| g.get(&wanted)).cloned();
                group.ok_or_else(|| Fail::Retry(format!("group `{name}` is taken but not listed")))
            }
            Err(problem) => Err(Fail::Line(format!("GROUPS `{name}`: {}: {}", problem.code, problem.detail))),
        }
    }

    async fn load_groups(&mut self) -> Result<(), Fail> {
        let mut all = HashMap::new();
        let mut cursor = None;
        loop {
            let (page, next) = groups::list(self.ctx, self.org(), 1000, cursor).await?;
            for group in page {
                all.insert(group.name.to_lowercase(), group);
            }
            cursor = next;
            if cursor.is_none() {
                break;
            }
        }
        self.groups = Some(all);
        Ok(())
    }
}

fn line(row: usize, email: &str, outcome: Outcome, reason: impl Into<String>) -> LineOutcome {
    LineOutcome { row, email: email.to_string(), outcome, reason: reason.into(), user_id: None }
}

/// A text value fit to store: at most [`MAX_TEXT`] characters, no control characters.
fn check_text(column: &str, value: &str) -> Result<(), Fail> {
    if value.chars().count() > MAX_TEXT || value.chars().any(char::is_control) {
        return Err(Fail::Line(format!(
            "invalid_field: {column}: at most {MAX_TEXT} characters, no control characters"
        )));
    }
    Ok(())
}

fn check_attributes(attributes: &std::collections::BTreeMap<String, String>) -> Result<(), Fail> {
    if attributes.len() > MAX_ATTRIBUTES {
        return Err(Fail::Line(format!("invalid_field: CUSTOM_ATTRIBUTES: at most {MAX_ATTRIBUTES} attributes")));
    }
    for (name, value) in attributes {
        check_text("CUSTOM_ATTRIBUTES", name)?;
        check_text("CUSTOM_ATTRIBUTES", value)?;
    }
    Ok(())
}

fn check_create(new: &UserCreate) -> Result<(), Fail> {
    for (column, value) in [
        ("FIRST_NAME", &new.first_name),
        ("LAST_NAME", &new.last_name),
        ("DISPLAY_NAME", &new.display_name),
        ("SHORTNAME", &new.short_name),
        ("COST_CENTER", &new.cost_center),
        ("DEPARTMENT", &new.department),
    ] {
        check_text(column, value.as_deref().unwrap_or_default())?;
    }
    check_attributes(&new.custom_attributes)
}

fn check_update(change: &UserUpdate) -> Result<(), Fail> {
    for (column, value) in [
        ("FIRST_NAME", &change.first_name),
        ("LAST_NAME", &change.last_name),
        ("DISPLAY_NAME", &change.display_name),
        ("SHORTNAME", &change.short_name),
    ] {
        if let FieldChange::Set(value) = value {
            check_text(column, value)?;
        }
    }
    for (column, value) in [("COST_CENTER", &change.cost_center), ("DEPARTMENT", &change.department)] {
        check_text(column, value.as_deref().unwrap_or_default())?;
    }
    change.custom_attributes.as_ref().map_or(Ok(()), check_attributes)
}

/// The import log: every recorded line, in file order.
struct ImportLog {
    lines: Vec<LineOutcome>,
    done: u64,
    failed: u64,
}

impl ImportLog {
    async fn read(ctx: &Ctx, import: &UserImport) -> StoreResult<ImportLog> {
        let mut lines = Vec::with_capacity(usize::try_from(import.total).unwrap_or_default());
        let mut cursor = None;
        loop {
            let query = Query::partition(outcomes_partition(&import.org_id, &import.id)).limit(1000).after(cursor);
            let page = ctx.table.query(&query).await?;
            for item in page.items {
                lines.push(from_item::<LineOutcome>(item)?);
            }
            cursor = page.cursor;
            if cursor.is_none() {
                break;
            }
        }
        let done = lines.iter().filter(|l| l.outcome == Outcome::Done).count() as u64;
        Ok(ImportLog { done, failed: lines.len() as u64 - done, lines })
    }

    /// `row,email,outcome,reason`; a line left pending is reported as not finished.
    fn csv(&self) -> StoreResult<Vec<u8>> {
        let mut writer = csv::Writer::from_writer(Vec::new());
        let fail = StoreError::backend;
        writer.write_record(["row", "email", "outcome", "reason"]).map_err(fail)?;
        for line in &self.lines {
            let (outcome, reason) = match line.outcome {
                Outcome::Done => ("done", line.reason.as_str()),
                Outcome::Error => ("error", line.reason.as_str()),
                Outcome::Pending => ("error", "interrupted: the import stopped before this line was finished"),
            };
            writer.write_record([line.row.to_string().as_str(), &line.email, outcome, reason]).map_err(fail)?;
        }
        writer.into_inner().map_err(|e| StoreError::backend(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn br_uimp_outcome_keys_sort_in_file_order() {
        let mut keys: Vec<String> = [10, 2, 10_000, 999].into_iter().map(outcome_sk).collect();
        keys.sort();
        assert_eq!(keys, vec!["ROW#0000002", "ROW#0000010", "ROW#0000999", "ROW#0010000"]);
        assert_eq!(outcomes_partition("o", "i"), "ORG#o#IMPORT#i");
        assert_eq!(file_key("o", "i"), "imports/o/i.csv");
        assert_eq!(log_key("o", "i"), "imports/o/i.log.csv");
    }

    #[test]
    fn br_uimp_log_lists_lines_with_number_email_outcome_and_reason() {
        let log = ImportLog {
            lines: vec![
                line(2, "a@b.nl", Outcome::Done, "created"),
                line(3, "", Outcome::Error, "invalid_line: EMAIL `x, y` is not an e-mail address"),
                line(4, "c@d.nl", Outcome::Pending, ""),
            ],
            done: 1,
            failed: 2,
        };
        let text = String::from_utf8(log.csv().unwrap()).unwrap();
        assert_eq!(
            text,
            "row,email,outcome,reason\n2,a@b.nl,done,created\n\
             3,,error,\"invalid_line: EMAIL `x, y` is not an e-mail address\"\n\
             4,c@d.nl,error,interrupted: the import stopped before this line was finished\n"
        );
    }

    #[test]
    fn br_uimp_imported_text_is_bounded() {
        assert!(check_text("FIRST_NAME", &"x".repeat(256)).is_ok());
        assert!(check_text("FIRST_NAME", &"x".repeat(257)).is_err());
        assert!(check_text("FIRST_NAME", "a\tb").is_err());
        let many = (0..=MAX_ATTRIBUTES).map(|i| (i.to_string(), "v".to_string())).collect();
        assert!(check_attributes(&many).is_err());
    }

    #[test]
    fn br_uimp_row_problems_become_line_errors_and_server_errors_retries() {
        let line_error =
            Fail::from(Problem::new(StatusCode::CONFLICT, "group_deleting", "The group is being deleted."));
        assert!(matches!(line_error, Fail::Line(reason) if reason == "group_deleting: The group is being deleted."));
        assert!(matches!(Fail::from(Problem::internal("boom")), Fail::Retry(_)));
    }
}
