//! `job-submit`: print job submission over HTTP, and ingest of uploaded documents from the
//! `ingest` queue (S3 ObjectCreated events for `uploads/<orgId>/<jobId>`).

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use axum::Router;
use shared::events::{s3_event_key, s3_records_in};
use shared::function::each_record;
use shared::print::ingest::{self, Ingested};
use shared::{Ctx, Function, http};

mod jobs;
mod policies;
mod settings;

/// The function's name, as deployed.
pub const NAME: &str = "job-submit";

/// The queue whose S3 events announce uploaded documents.
pub const INGEST_QUEUE: &str = "ingest";

/// The function's triggers: HTTP and the `ingest` queue.
pub fn function() -> Function {
    Function::new(NAME).http(router).queue(INGEST_QUEUE, handle)
}

/// The HTTP routes of `job-submit`.
pub fn router(ctx: Ctx) -> Router {
    let api =
        Router::new().merge(settings::routes()).merge(policies::routes()).merge(jobs::routes()).with_state(ctx.clone());
    http::health_routes(NAME, false, ctx).merge(api)
}

/// The OpenAPI description of the routes of `job-submit`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = http::openapi::health_paths(NAME, false);
    doc.merge(settings::openapi());
    doc.merge(policies::openapi());
    doc.merge(jobs::openapi());
    doc
}

/// The organisation and job an upload key belongs to: `uploads/<orgId>/<jobId>`.
pub fn job_of_upload(key: &str) -> Option<(String, String)> {
    let mut parts = key.strip_prefix("uploads/")?.split('/');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(org), Some(job), None) if !org.is_empty() && !job.is_empty() => Some((org.to_string(), job.to_string())),
        _ => None,
    }
}

/// Ingests a batch of upload events (see `shared::print::ingest`). An upload that belongs
/// to no job (uploads are only allowed through a job's presigned URL) is an orphan and is
/// deleted. A record that is not an S3 event, or whose storage calls fail, is reported
/// failed, so SQS retries it and finally keeps it in the dead-letter queue.
pub async fn handle(ctx: Ctx, event: SqsEvent) -> SqsBatchResponse {
    let ctx = &ctx;
    each_record(&event, INGEST_QUEUE, |message| async move {
        let records = s3_records_in(message).map_err(|err| format!("not an S3 event: {err}"))?;
        ingest_all(ctx, records.iter().filter_map(s3_event_key)).await
    })
    .await
}

/// Handles every upload of one message; answers the problems, if any, of all of them.
async fn ingest_all(ctx: &Ctx, keys: impl Iterator<Item = String>) -> Result<(), String> {
    let mut problems = Vec::new();
    for key in keys {
        if let Err(problem) = ingest_one(ctx, &key).await {
            problems.push(problem);
        }
    }
    if problems.is_empty() { Ok(()) } else { Err(problems.join("; ")) }
}

async fn ingest_one(ctx: &Ctx, key: &str) -> Result<(), String> {
    let Some((org_id, job_id)) = job_of_upload(key) else {
        tracing::warn!(%key, "upload outside the uploads/<org>/<job> layout; deleting it");
        return ctx.blobs.delete(key).await.map_err(|e| e.to_string());
    };
    let outcome = ingest::ingest(ctx, &org_id, &job_id).await.map_err(|problem| problem.detail)?;
    tracing::info!(%key, ?outcome, "upload ingested");
    if outcome == Ingested::Gone {
        ctx.blobs.delete(key).await.map_err(|e| e.to_string())?;
    }
    Ok(())
}
