//! `release`: printer-side job lists, release and completion, print history, and the
//! retention sweep (schedule `retention-sweep`).

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use axum::Router;
use shared::function::{Schedule, ScheduleError, is_schedule};
use shared::{Ctx, Function, http};

mod delegates;
mod device_jobs;
mod history;

/// The function's name, as deployed.
pub const NAME: &str = "release";

/// The schedules of `release`, with the expressions of `infra/template.yaml`.
pub const SCHEDULES: [Schedule; 1] = [Schedule { name: "retention-sweep", expression: "rate(1 hour)" }];

/// The function's triggers: HTTP and the retention schedule.
pub fn function() -> Function {
    Function::new(NAME).http(router).schedules(&SCHEDULES, handle)
}

/// The HTTP routes of `release`.
pub fn router(ctx: Ctx) -> Router {
    let api = Router::new()
        .merge(delegates::routes())
        .merge(device_jobs::routes())
        .merge(history::routes())
        .with_state(ctx.clone());
    http::health_routes(NAME, false, ctx).merge(api)
}

/// The OpenAPI description of the routes of `release`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = http::openapi::health_paths(NAME, false);
    doc.merge(delegates::openapi());
    doc.merge(device_jobs::openapi());
    doc.merge(history::openapi());
    doc
}

/// Runs a scheduled sweep. An event for a schedule this function does not own is an error,
/// so a miswired schedule shows up in the logs and metrics.
pub async fn handle(ctx: Ctx, event: EventBridgeEvent) -> Result<(), ScheduleError> {
    if !is_schedule(&event, "retention-sweep") {
        return Err(format!("release has no schedule for {:?}", event.resources).into());
    }
    let swept = shared::print::retention::sweep(&ctx).await.map_err(|problem| problem.detail)?;
    let delegates = shared::print::delegates::sweep_expired_all(&ctx).await.map_err(|problem| problem.detail)?;
    tracing::info!(jobs = swept.jobs, history = swept.history, delegates, "retention sweep done");
    Ok(())
}
