//! `notification-policy`: fleet notification policies and the daily sweep that mails
//! administrators (schedule `notification-sweep`).

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use axum::Router;
use shared::function::{Schedule, ScheduleError, is_schedule};
use shared::{Ctx, Function, http};

/// The function's name, as deployed.
pub const NAME: &str = "notification-policy";

/// The schedules of `notification-policy`, with the expressions of `infra/template.yaml`.
pub const SCHEDULES: [Schedule; 1] = [Schedule { name: "notification-sweep", expression: "rate(1 day)" }];

/// The function's triggers: HTTP and the notification schedule.
pub fn function() -> Function {
    Function::new(NAME).http(router).schedules(&SCHEDULES, handle)
}

/// The HTTP routes of `notification-policy`.
pub fn router(ctx: Ctx) -> Router {
    http::health_routes(NAME, false, ctx)
}

/// The OpenAPI description of the routes of `notification-policy`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    http::openapi::health_paths(NAME, false)
}

/// Runs the notification sweep. An event for a schedule this function does not own is an
/// error, so a miswired schedule shows up in the logs and metrics.
pub async fn handle(ctx: Ctx, event: EventBridgeEvent) -> Result<(), ScheduleError> {
    if !is_schedule(&event, "notification-sweep") {
        return Err(format!("notification-policy has no schedule for {:?}", event.resources).into());
    }
    tracing::info!(at = %ctx.clock.now(), "notification sweep: no notification policies exist yet");
    Ok(())
}
