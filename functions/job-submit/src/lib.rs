//! `job-submit`: print job submission over HTTP, and ingest of uploaded documents from the
//! `ingest` queue (S3 ObjectCreated events for `uploads/<orgId>/<jobId>`).

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use axum::Router;
use shared::events::{s3_event_key, s3_records_in};
use shared::function::each_record;
use shared::ports::Key;
use shared::{Ctx, Function, http};

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
    http::health_routes(NAME, false, ctx)
}

/// The OpenAPI description of the routes of `job-submit`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    http::openapi::health_paths(NAME, false)
}

/// The job an upload key belongs to: `uploads/<orgId>/<jobId>` → the job's table key.
pub fn job_of_upload(key: &str) -> Option<Key> {
    let mut parts = key.strip_prefix("uploads/")?.split('/');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(org), Some(job), None) if !org.is_empty() && !job.is_empty() => {
            Some(Key::new(format!("ORG#{org}"), format!("JOB#{job}")))
        }
        _ => None,
    }
}

/// Ingests a batch of upload events. An upload that belongs to no job (uploads are only
/// allowed through a job's presigned URL) is an orphan and is deleted. A record that is
/// not an S3 event, whose storage calls fail, or whose job cannot be ingested yet is
/// reported failed, so SQS retries it and finally keeps it in the dead-letter queue.
pub async fn handle(ctx: Ctx, event: SqsEvent) -> SqsBatchResponse {
    let ctx = &ctx;
    each_record(&event, INGEST_QUEUE, |message| async move {
        let records = s3_records_in(message).map_err(|err| format!("not an S3 event: {err}"))?;
        ingest(ctx, records.iter().filter_map(s3_event_key)).await
    })
    .await
}

/// Handles every upload of one message; answers the problems, if any, of all of them.
async fn ingest(ctx: &Ctx, keys: impl Iterator<Item = String>) -> Result<(), String> {
    let mut problems = Vec::new();
    for key in keys {
        if let Err(problem) = ingest_one(ctx, &key).await {
            problems.push(problem);
        }
    }
    if problems.is_empty() { Ok(()) } else { Err(problems.join("; ")) }
}

async fn ingest_one(ctx: &Ctx, key: &str) -> Result<(), String> {
    let job = match job_of_upload(key) {
        Some(job) => ctx.table.get(&job).await.map_err(|e| e.to_string())?,
        None => None,
    };
    if job.is_some() {
        return Err(format!("documents of print jobs cannot be ingested yet ({key})"));
    }
    tracing::warn!(%key, "upload belongs to no job; deleting it");
    ctx.blobs.delete(key).await.map_err(|e| e.to_string())
}
