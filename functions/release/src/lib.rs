//! `release`: printer-side job lists, release and completion, print history, and the
//! retention sweep (schedule `retention-sweep`).

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use axum::Router;
use shared::function::{Schedule, ScheduleError, is_schedule};
use shared::{Ctx, Function, http};

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
    http::health_routes(NAME, false, ctx)
}

/// The OpenAPI description of the routes of `release`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    http::openapi::health_paths(NAME, false)
}

/// Runs a scheduled sweep. An event for a schedule this function does not own is an error,
/// so a miswired schedule shows up in the logs and metrics.
pub async fn handle(ctx: Ctx, event: EventBridgeEvent) -> Result<(), ScheduleError> {
    if !is_schedule(&event, "retention-sweep") {
        return Err(format!("release has no schedule for {:?}", event.resources).into());
    }
    tracing::info!(at = %ctx.clock.now(), "retention sweep: no retained jobs exist yet");
    Ok(())
}
