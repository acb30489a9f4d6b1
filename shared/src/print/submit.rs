//! Submitting a print job (WF submit, part-3 §2.32): the job is stored `Uploading` with the
//! queue's default print settings filling every option the submitter left out, and the
//! document goes straight to the bucket — through a presigned PUT URL, or, when small,
//! inline in the request. Either way its ObjectCreated event starts ingest; documents never
//! travel through a function's payload beyond the 5 MB inline allowance.

use super::jobs::{self, Job, JobSource, JobState};
use super::options::PrintOptions;
use super::{print_defaults, settings};
use crate::Ctx;
use crate::http::{Problem, inline_document};
use crate::ports::Condition;
use axum::http::StatusCode;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Largest document accepted inline in the submit request.
pub const MAX_INLINE_BYTES: usize = inline_document::MAX_INLINE_BYTES;
/// How long an upload URL stays valid.
pub const UPLOAD_URL_VALIDITY: Duration = Duration::from_secs(15 * 60);
/// Longest job name.
pub const MAX_NAME: usize = 255;
/// Longest description.
pub const MAX_DESCRIPTION: usize = 1024;

/// A job to submit.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewJob {
    /// Document name, 1–255 characters (usually the file name).
    pub name: String,
    /// Free description, at most 1,024 characters.
    #[serde(default)]
    pub description: Option<String>,
    /// `Web`, `LPMC`, `Chrome Print Extension` or `Mobile` (`E-mail` and `Solution Center`
    /// jobs are made by those features themselves).
    pub source: JobSource,
    /// Print options; left-out ones come from the queue's defaults.
    #[serde(default)]
    pub options: PrintOptions,
    /// Whose queue: the caller's own unless a Print Release Management Administrator
    /// submits for another user.
    #[serde(default)]
    pub owner_id: Option<String>,
    /// The document, base64-encoded, when it is at most 5 MB; otherwise upload it to the
    /// answered `uploadUrl`.
    #[serde(default)]
    pub document: Option<String>,
}

/// The stored job and where to upload its document.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Submitted {
    /// The job, `Uploading`.
    pub job: Job,
    /// A presigned PUT URL for the document (absent when it was sent inline).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upload_url: Option<String>,
    /// When the upload URL stops working.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upload_expires_at: Option<DateTime<Utc>>,
}

fn invalid(field: &str, why: impl std::fmt::Display) -> Problem {
    Problem::new(StatusCode::BAD_REQUEST, "invalid_field", format!("{field}: {why}"))
}

/// Checks the request; answers the inline document, if any.
fn validate(new: &NewJob, source_allowed: bool) -> Result<Option<Bytes>, Problem> {
    let name = new.name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME {
        return Err(invalid("name", format!("must be 1 to {MAX_NAME} characters")));
    }
    if new.description.as_ref().is_some_and(|d| d.chars().count() > MAX_DESCRIPTION) {
        return Err(invalid("description", format!("at most {MAX_DESCRIPTION} characters")));
    }
    if !source_allowed {
        return Err(invalid("source", "E-mail and Solution Center jobs are made by those features"));
    }
    new.options.validate("options")?;
    new.document.as_deref().map(inline_document::decode).transpose()
}

/// Whether people may submit jobs from `source` over the API.
fn submittable(source: JobSource) -> bool {
    !matches!(source, JobSource::Email | JobSource::SolutionCenter)
}

/// Stores a new `Uploading` job for `owner_id` and hands out the way to its document.
/// The owner must exist in the organisation (checked by the caller of this function).
pub async fn submit(ctx: &Ctx, org_id: &str, owner_id: &str, new: NewJob) -> Result<Submitted, Problem> {
    let inline = validate(&new, submittable(new.source))?;
    create(ctx, org_id, owner_id, new, inline).await
}

/// Stores the job and its document (inline) or an upload URL; used by [`submit`] and by
/// features that make jobs themselves (e-mail, Solution Center).
pub async fn create(
    ctx: &Ctx,
    org_id: &str,
    owner_id: &str,
    new: NewJob,
    inline: Option<Bytes>,
) -> Result<Submitted, Problem> {
    let made = Made { job_id: ctx.ids.new_id(), expires_by: None };
    create_as(ctx, org_id, owner_id, new, inline, made).await
}

/// How a feature that makes jobs itself wants one made.
#[derive(Clone, Debug)]
pub struct Made {
    /// The job's id: derived from what the job comes from (a mail and its part), so that
    /// making it again after a retry finds it instead of making a second one.
    pub job_id: String,
    /// The latest the job may expire, when earlier than the organisation's retention
    /// (guest jobs: the guest's PIN expiry, R-GUEST-6).
    pub expires_by: Option<DateTime<Utc>>,
}

/// [`create`] with the job's id and latest expiry given; 409 `job_exists` when a job with
/// that id was already made.
pub async fn create_as(
    ctx: &Ctx,
    org_id: &str,
    owner_id: &str,
    new: NewJob,
    inline: Option<Bytes>,
    made: Made,
) -> Result<Submitted, Problem> {
    let now = ctx.clock.now();
    let settings = settings::get(ctx, org_id).await?;
    let defaults = print_defaults::get(ctx, org_id, owner_id).await?;
    let retained = now + settings.job_retention.duration();
    let job = Job {
        id: made.job_id,
        org_id: org_id.to_string(),
        owner_id: owner_id.to_string(),
        name: new.name.trim().to_string(),
        description: new.description,
        source: new.source,
        state: JobState::Uploading,
        requested: new.options.or(&defaults.options),
        options: None,
        format: None,
        pages: None,
        uses_colour: None,
        size_bytes: None,
        policy_changes: Vec::new(),
        rejection: None,
        lease: None,
        times_printed: 0,
        created_at: now,
        expires_at: made.expires_by.map_or(retained, |by| by.min(retained)),
        version: 1,
    };
    super::retention::start_from(ctx, now).await?;
    ctx.table.put(jobs::job_item(&job)?, Condition::Absent).await.map_err(|err| match err {
        crate::ports::StoreError::ConditionFailed => {
            Problem::new(StatusCode::CONFLICT, "job_exists", "A job with this id was already made.")
        }
        other => other.into(),
    })?;
    let key = jobs::document_key(org_id, &job.id);
    if let Some(bytes) = inline {
        ctx.blobs.put(&key, bytes, "application/octet-stream").await?;
        return Ok(Submitted { job, upload_url: None, upload_expires_at: None });
    }
    let url = ctx.blobs.presign_put(&key, UPLOAD_URL_VALIDITY).await?;
    let expires = now + chrono::Duration::from_std(UPLOAD_URL_VALIDITY).unwrap_or_default();
    Ok(Submitted { job, upload_url: Some(url), upload_expires_at: Some(expires) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use serde_json::json;

    fn new_job(value: serde_json::Value) -> NewJob {
        serde_json::from_value(value).expect("a well-formed job")
    }

    #[test]
    fn part3_2_32_name_source_and_options_are_checked() {
        let ok = new_job(json!({"name": "report.pdf", "source": "Web"}));
        assert!(validate(&ok, true).unwrap().is_none());
        let err = validate(&new_job(json!({"name": " ", "source": "Web"})), true).unwrap_err();
        assert!(err.detail.starts_with("name:"));
        let err = validate(&ok, submittable(JobSource::Email)).unwrap_err();
        assert!(err.detail.starts_with("source:"));
        let err = validate(&new_job(json!({"name": "a", "source": "LPMC", "options": {"copies": 0}})), true);
        assert!(err.unwrap_err().detail.starts_with("options.copies:"));
        assert!(serde_json::from_value::<NewJob>(json!({"name": "a", "source": "Fax"})).is_err());
    }

    #[test]
    fn small_documents_travel_inline_as_base64() {
        let job = new_job(json!({"name": "a.txt", "source": "Mobile", "document": STANDARD.encode("hello")}));
        assert_eq!(validate(&job, true).unwrap().unwrap(), Bytes::from_static(b"hello"));
        let bad = new_job(json!({"name": "a.txt", "source": "Mobile", "document": "%%%"}));
        assert!(validate(&bad, true).unwrap_err().detail.starts_with("document:"));
        let huge = new_job(json!({"name": "a", "source": "Web", "document": "A".repeat(MAX_INLINE_BYTES * 2)}));
        assert_eq!(validate(&huge, true).unwrap_err().code, "document_too_large_for_inline");
    }
}
