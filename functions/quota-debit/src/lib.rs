//! `quota-debit`: print quota definitions, assignments and status over HTTP, and the
//! settlement of quota events (queue `quota-events`) exactly once per job and release.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use axum::Router;
use serde::Deserialize;
use shared::function::each_record;
use shared::ports::Key;
use shared::{Ctx, Function, http};

/// The function's name, as deployed.
pub const NAME: &str = "quota-debit";

/// The queue of quota events.
pub const QUOTA_QUEUE: &str = "quota-events";

/// The function's triggers: HTTP and the `quota-events` queue.
pub fn function() -> Function {
    Function::new(NAME).http(router).queue(QUOTA_QUEUE, handle)
}

/// The HTTP routes of `quota-debit`.
pub fn router(ctx: Ctx) -> Router {
    http::health_routes(NAME, false, ctx)
}

/// The OpenAPI description of the routes of `quota-debit`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    http::openapi::health_paths(NAME, false)
}

/// What happened to a released job, sent by `release` to settle its reservation.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct QuotaEvent {
    /// `printed`, `cancelled`, `failed` or `expired`.
    pub kind: String,
    /// The organisation of the job.
    pub org_id: String,
    /// The job.
    pub job_id: String,
    /// Which release of the job (its lease id; settlement is exactly once per release).
    pub lease_id: String,
}

impl QuotaEvent {
    /// The key of the reservation this event settles.
    pub fn reservation(&self) -> Key {
        Key::new(format!("ORG#{}", self.org_id), format!("RESERVATION#{}#{}", self.job_id, self.lease_id))
    }
}

/// Settles a batch of quota events. An event whose reservation does not exist (never made,
/// or already settled and removed) changes nothing and is acknowledged; a malformed one,
/// or one whose reservation cannot be settled yet, is reported failed for retry and the
/// dead-letter queue.
pub async fn handle(ctx: Ctx, event: SqsEvent) -> SqsBatchResponse {
    let ctx = &ctx;
    each_record(
        &event,
        QUOTA_QUEUE,
        |message| async move { settle(ctx, message.body.as_deref().unwrap_or_default()).await },
    )
    .await
}

async fn settle(ctx: &Ctx, body: &str) -> Result<(), String> {
    let event: QuotaEvent = serde_json::from_str(body).map_err(|e| format!("not a quota event: {e}"))?;
    match ctx.table.get(&event.reservation()).await.map_err(|e| e.to_string())? {
        None => {
            tracing::info!(job = %event.job_id, lease = %event.lease_id, "no reservation to settle");
            Ok(())
        }
        Some(_) => Err("reservations cannot be settled yet".into()),
    }
}
