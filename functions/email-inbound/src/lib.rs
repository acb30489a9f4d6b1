//! `email-inbound`: email-to-print. Raw mail stored under `mail/` (by SES on AWS, by the
//! SMTP listener under `serve`) arrives as S3 events on the `inbound-mail` queue.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use axum::Router;
use shared::email::inbound;
use shared::events::{s3_event_key, s3_records_in};
use shared::function::each_record;
use shared::{Ctx, Function, http};

/// The function's name, as deployed.
pub const NAME: &str = "email-inbound";

/// The queue whose S3 events announce stored mail.
pub const MAIL_QUEUE: &str = "inbound-mail";

/// The function's triggers: the `inbound-mail` queue (and its health probe).
pub fn function() -> Function {
    Function::new(NAME).http(router).queue(MAIL_QUEUE, handle)
}

/// The HTTP routes of `email-inbound`: only its health probe.
pub fn router(ctx: Ctx) -> Router {
    http::health_routes(NAME, false, ctx)
}

/// The OpenAPI description of the routes of `email-inbound`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    http::openapi::health_paths(NAME, false)
}

/// Handles a batch of stored-mail events: each stored mail becomes jobs, a reply, or only a
/// log line ([`shared::email::inbound`]), and is then deleted. A record that is not an S3
/// event, or whose mail could not be handled (storage down), is reported failed for retry
/// and, after the queue's receive limit, the dead-letter queue and its alarm.
pub async fn handle(ctx: Ctx, event: SqsEvent) -> SqsBatchResponse {
    let ctx = &ctx;
    each_record(&event, MAIL_QUEUE, |message| async move {
        let records = s3_records_in(message).map_err(|err| format!("not an S3 event: {err}"))?;
        for key in records.iter().filter_map(s3_event_key) {
            if !key.starts_with("mail/") {
                tracing::warn!(%key, "an object outside mail/ was announced; ignored");
                continue;
            }
            inbound::process(ctx, &key).await.map_err(|problem| format!("{key}: {}", problem.detail))?;
        }
        Ok(())
    })
    .await
}
