//! Badge and PIN import (BR-BIMP, BR-PIN-4, seed L5162–L5267): a CSV of CREATE and DELETE
//! lines, applied line by line, answering one result per line. The import never creates
//! users: a line naming an unknown address fails. Files are at most 1 MB, so the import
//! runs while the request waits.
//!
//! Line semantics (the seed leaves DELETE of PINs open):
//! - CREATE registers the line's badge (temporary if TEMPORARY is true) and/or sets the
//!   line's PIN for the user named by EMAIL. PINs are imported only where administrators set
//!   them (`setByAdmin`, L5082–L5088) and printers use PINs (BR-USR-2).
//! - DELETE with a BADGE deletes that badge (it must belong to the EMAIL's user when EMAIL is
//!   given). A DELETE with a PIN, or without a BADGE, deletes the PIN of the EMAIL's user (or
//!   of the badge's owner); a given PIN must be the user's current one.

use super::badges;
use super::import::{BadgeImportRow, BadgeOperation, ImportFileError, parse_badge_import};
use super::model::User;
use super::pins;
use super::printer_login::{self, PinGeneration, PrinterLoginConfig};
use super::store;
use crate::Ctx;
use crate::http::Problem;
use axum::http::StatusCode;
use serde::Serialize;

/// Whether a line was applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum BadgeImportStatus {
    /// Everything the line asked for was done.
    Ok,
    /// The line was refused, or only partly applied (the detail says what was done).
    Error,
}

/// The result of one line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BadgeImportResult {
    /// Line number in the file (the header is line 1).
    pub row: usize,
    /// `CREATE` or `DELETE`, when the line could be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    /// The line's e-mail address, lower-cased.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// The line's badge, masked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub masked_badge: Option<String>,
    /// Applied or not.
    pub status: BadgeImportStatus,
    /// What was done, or why not.
    pub detail: String,
}

/// The import log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BadgeImportReport {
    /// Lines applied.
    pub succeeded: usize,
    /// Lines refused or partly applied.
    pub failed: usize,
    /// One result per data line, in file order.
    pub rows: Vec<BadgeImportResult>,
}

fn file_problem(err: ImportFileError) -> Problem {
    match err {
        ImportFileError::TooLarge { .. } => {
            Problem::new(StatusCode::PAYLOAD_TOO_LARGE, "file_too_large", err.to_string())
        }
        other => Problem::new(StatusCode::BAD_REQUEST, "invalid_csv", other.to_string()),
    }
}

/// Imports the CSV `bytes` into organisation `org_id`.
pub async fn import(ctx: &Ctx, org_id: &str, bytes: &[u8]) -> Result<BadgeImportReport, Problem> {
    let config = printer_login::get(ctx, org_id).await?;
    let lines = parse_badge_import(bytes, config.import_mode()).map_err(file_problem)?;
    let mut rows = Vec::with_capacity(lines.len());
    for line in lines {
        let result = match line {
            Err(err) => BadgeImportResult {
                row: err.row,
                operation: None,
                email: None,
                masked_badge: None,
                status: BadgeImportStatus::Error,
                detail: err.reason,
            },
            Ok(line) => {
                let outcome = match line.operation {
                    BadgeOperation::Create => create(ctx, org_id, &config, &line).await?,
                    BadgeOperation::Delete => delete(ctx, org_id, &line).await?,
                };
                let (status, detail) = match outcome {
                    Ok(done) => (BadgeImportStatus::Ok, done),
                    Err(why) => (BadgeImportStatus::Error, why),
                };
                BadgeImportResult {
                    row: line.row,
                    operation: Some(match line.operation {
                        BadgeOperation::Create => "CREATE".into(),
                        BadgeOperation::Delete => "DELETE".into(),
                    }),
                    email: line.email.clone(),
                    masked_badge: line.badge.as_deref().map(badges::mask),
                    status,
                    detail,
                }
            }
        };
        rows.push(result);
    }
    let succeeded = rows.iter().filter(|r| r.status == BadgeImportStatus::Ok).count();
    Ok(BadgeImportReport { succeeded, failed: rows.len() - succeeded, rows })
}

/// The user of the organisation with this address, or the line's error (the import never
/// creates users, BR-BIMP, BR-PIN-4).
async fn existing_user(ctx: &Ctx, org_id: &str, email: &str) -> Result<Result<User, String>, Problem> {
    let user = store::find_user_by_email(ctx, email).await?.map(|r| r.user).filter(|u| u.org_id == org_id);
    Ok(user.ok_or_else(|| {
        format!("EMAIL: no user `{email}` in this organisation; the import does not create users (BR-PIN-4)")
    }))
}

/// Problems a storage failure would hide from the line are returned as the outer error;
/// problems of the line itself become its detail.
fn line_error(problem: Problem) -> Result<String, Problem> {
    if problem.status >= 500 { Err(problem) } else { Ok(problem.detail) }
}

/// A CREATE line: `Ok(Ok(what was done))`, `Ok(Err(why not))`, or a storage failure.
async fn create(
    ctx: &Ctx,
    org_id: &str,
    config: &PrinterLoginConfig,
    line: &BadgeImportRow,
) -> Result<Result<String, String>, Problem> {
    let Some(email) = line.email.as_deref() else { return Ok(Err("EMAIL is required for CREATE".into())) };
    let user = match existing_user(ctx, org_id, email).await? {
        Ok(user) => user,
        Err(why) => return Ok(Err(why)),
    };
    if let Some(pin) = line.pin.as_deref() {
        if !config.uses_pins() || config.pin_generation != PinGeneration::SetByAdmin {
            return Ok(Err(
                "PIN: PINs are imported only when printers use PINs and administrators set them (setByAdmin, BR-USR-2)"
                    .into(),
            ));
        }
        if let Err(problem) = pins::check_format(config, pin) {
            return Ok(Err(problem.detail));
        }
    }
    let mut done = Vec::new();
    if let Some(badge) = line.badge.as_deref() {
        match badges::register(ctx, org_id, &user, badge, "Imported", line.temporary).await {
            Ok(_) => done.push(if line.temporary { "temporary badge registered" } else { "badge registered" }),
            Err(problem) => return Ok(Err(format!("BADGE: {}", line_error(problem)?))),
        }
    }
    if let Some(pin) = line.pin.as_deref() {
        match pins::admin_set(ctx, org_id, config, &user, Some(pin)).await {
            Ok(_) => done.push("PIN set"),
            Err(problem) => return Ok(Err(partly(&done, &format!("PIN: {}", line_error(problem)?)))),
        }
    }
    Ok(Ok(done.join("; ")))
}

fn partly(done: &[&str], why: &str) -> String {
    if done.is_empty() { why.to_string() } else { format!("{} but {why}", done.join("; ")) }
}

/// A DELETE line.
async fn delete(ctx: &Ctx, org_id: &str, line: &BadgeImportRow) -> Result<Result<String, String>, Problem> {
    let owner = match line.email.as_deref() {
        Some(email) => match existing_user(ctx, org_id, email).await? {
            Ok(user) => Some(user.id),
            Err(why) => return Ok(Err(why)),
        },
        None => None,
    };
    let mut done = Vec::new();
    let mut pin_user = owner.clone();
    if let Some(badge) = line.badge.as_deref() {
        let Some(found) = badges::find_by_number(ctx, org_id, badge).await? else {
            return Ok(Err("BADGE: no such badge in this organisation".into()));
        };
        if owner.as_ref().is_some_and(|owner| *owner != found.user_id) {
            return Ok(Err("BADGE: the badge belongs to another user than EMAIL".into()));
        }
        if let Err(problem) = badges::delete(ctx, org_id, &found.id).await {
            return Ok(Err(format!("BADGE: {}", line_error(problem)?)));
        }
        done.push("badge deleted");
        pin_user = Some(found.user_id);
    }
    if line.pin.is_some() || line.badge.is_none() {
        let Some(user_id) = pin_user else { return Ok(Err("EMAIL is required to delete a PIN".into())) };
        if pins::get_record(ctx, org_id, &user_id).await?.is_none() {
            return Ok(Err(partly(&done, "PIN: the user has no PIN")));
        }
        if let Some(pin) = line.pin.as_deref()
            && !pins::verify_for_user(ctx, org_id, &user_id, pin).await?
        {
            return Ok(Err(partly(&done, "PIN: it is not the user's current PIN, so it was not deleted")));
        }
        if !pins::remove(ctx, org_id, &user_id).await? {
            return Ok(Err(partly(&done, "PIN: the user has no PIN")));
        }
        done.push("PIN deleted");
    }
    Ok(Ok(done.join("; ")))
}
