//! Ingest of an uploaded document (S3 ObjectCreated → `ingest` queue → `job-submit`):
//! the real format from the bytes, the page count, colour where cheap, the size limit,
//! the print policy (D-POLICY-EVAL: force mono / duplex by page thresholds), then `Held` —
//! or `Rejected` with a reason the owner sees.
//!
//! Only an `Uploading` job is ingested, with a write conditional on the version read, so a
//! re-delivered event never changes a held job or makes a second one.

use super::documents::{self, DocumentFacts};
use super::jobs::{self, Job, JobState, Rejection};
use super::policies;
use crate::Ctx;
use crate::http::Problem;
use crate::identity::store;
use crate::records::from_item;

/// What ingest did with an upload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ingested {
    /// The job is now `Held`.
    Held,
    /// The job is now `Rejected` with this code.
    Rejected(String),
    /// The job was already past `Uploading` (a re-delivered event): nothing changed.
    AlreadyIngested,
    /// No job (or no document) to ingest any more: expired, deleted or never made.
    Gone,
}

/// Ingests the document of job `job_id`.
pub async fn ingest(ctx: &Ctx, org_id: &str, job_id: &str) -> Result<Ingested, Problem> {
    let Some(item) = ctx.table.get(&jobs::job_key(org_id, job_id)).await? else { return Ok(Ingested::Gone) };
    let mut job: Job = from_item(item)?;
    if job.state != JobState::Uploading {
        return Ok(Ingested::AlreadyIngested);
    }
    if !job.live(ctx.clock.now()) {
        jobs::remove(ctx, &job).await?;
        return Ok(Ingested::Gone);
    }
    let key = jobs::document_key(org_id, job_id);
    let Some(meta) = ctx.blobs.head(&key).await? else { return Ok(Ingested::Gone) };
    if meta.size > ctx.config.max_document_bytes {
        let reason = format!(
            "The document is {} bytes; the largest accepted is {} bytes.",
            meta.size, ctx.config.max_document_bytes
        );
        return reject(ctx, job, "document_too_large", reason).await;
    }
    let Some((_, bytes)) = ctx.blobs.get(&key).await? else { return Ok(Ingested::Gone) };
    let facts = match documents::examine(&bytes) {
        Ok(facts) => facts,
        Err(err) => return reject(ctx, job, err.code(), err.reason()).await,
    };
    hold(ctx, &mut job, facts, meta.size).await
}

/// Decides the options `job` prints with: its requested options, then the owner's print
/// policy for a document of `pages` pages; the job keeps what the policy changed.
pub async fn decide_options(ctx: &Ctx, job: &mut Job, pages: u32) -> Result<(), Problem> {
    let mut options = job.requested.effective();
    job.policy_changes = Vec::new();
    if let Some(owner) = store::get_user(ctx, &job.org_id, &job.owner_id).await?
        && let Some(policy) = policies::effective_policy(ctx, &job.org_id, &owner.user).await?
    {
        job.policy_changes = policies::apply_at_ingest(&policy, pages, &mut options);
    }
    job.options = Some(options);
    Ok(())
}

async fn hold(ctx: &Ctx, job: &mut Job, facts: DocumentFacts, size: u64) -> Result<Ingested, Problem> {
    decide_options(ctx, job, facts.pages).await?;
    job.format = Some(facts.format);
    job.pages = Some(facts.pages);
    job.uses_colour = facts.uses_colour;
    job.size_bytes = Some(size);
    job.state = JobState::Held;
    settle(ctx, job, Ingested::Held).await
}

async fn reject(ctx: &Ctx, mut job: Job, code: &str, reason: String) -> Result<Ingested, Problem> {
    tracing::info!(job = %job.id, org = %job.org_id, code, "print job rejected at ingest");
    job.state = JobState::Rejected;
    job.rejection = Some(Rejection { code: code.to_string(), reason });
    let outcome = settle(ctx, &mut job, Ingested::Rejected(code.to_string())).await?;
    if outcome != Ingested::AlreadyIngested {
        ctx.blobs.delete(&jobs::document_key(&job.org_id, &job.id)).await?;
    }
    Ok(outcome)
}

/// Saves the ingested job; a concurrent change (another delivery ingested it first, or
/// the owner deleted it) leaves the stored job as it is.
async fn settle(ctx: &Ctx, job: &mut Job, outcome: Ingested) -> Result<Ingested, Problem> {
    match jobs::save(ctx, job).await {
        Ok(()) => Ok(outcome),
        Err(problem) if problem.code == "conflict" => Ok(Ingested::AlreadyIngested),
        Err(problem) => Err(problem),
    }
}
