//! `quota-debit`: print quota definitions, assignments and status over HTTP, and the
//! settlement of quota events (queue `quota-events`) exactly once per job and release.

mod quotas;
mod status;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use axum::Router;
use serde::Deserialize;
use shared::function::each_record;
use shared::quota::ledger::{self, Settlement};
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
    let api = Router::new().merge(quotas::routes()).merge(status::routes()).with_state(ctx.clone());
    http::health_routes(NAME, false, ctx).merge(api)
}

/// The OpenAPI description of the routes of `quota-debit`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = http::openapi::health_paths(NAME, false);
    doc.merge(quotas::openapi());
    doc.merge(status::openapi());
    doc
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
    /// Mono sides printed.
    #[serde(default)]
    pub mono_sides: u64,
    /// Colour sides printed.
    #[serde(default)]
    pub colour_sides: u64,
}

impl QuotaEvent {
    /// What the event does to the reservation: printed sides become usage; anything else
    /// returns it.
    pub fn settlement(&self) -> Settlement {
        match self.kind.as_str() {
            "printed" => {
                Settlement::Printed { sides: self.mono_sides + self.colour_sides, colour_sides: self.colour_sides }
            }
            _ => Settlement::Returned,
        }
    }
}

/// Settles a batch of quota events, each exactly once (D-QUOTA-UNIT): an event whose
/// reservation does not exist (never made, quotas off, or already settled) changes nothing
/// and is acknowledged; a malformed one, or one the table refuses, is reported failed for
/// retry and, after the queue's receive limit, the dead-letter queue.
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
    let settled = ledger::settle(ctx, &event.org_id, &event.job_id, &event.lease_id, event.settlement())
        .await
        .map_err(|e| e.to_string())?;
    tracing::info!(job = %event.job_id, lease = %event.lease_id, kind = %event.kind, settled, "quota event");
    Ok(())
}
