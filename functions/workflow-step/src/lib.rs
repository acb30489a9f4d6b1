//! `workflow-step`: Solution Center runs, executed one step per message from the
//! `workflow-steps` queue.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use axum::Router;
use serde::Deserialize;
use shared::function::each_record;
use shared::ports::Key;
use shared::{Ctx, Function, http};

/// The function's name, as deployed.
pub const NAME: &str = "workflow-step";

/// The queue of workflow steps.
pub const STEPS_QUEUE: &str = "workflow-steps";

/// The function's triggers: HTTP and the `workflow-steps` queue.
pub fn function() -> Function {
    Function::new(NAME).http(router).queue(STEPS_QUEUE, handle)
}

/// The HTTP routes of `workflow-step`.
pub fn router(ctx: Ctx) -> Router {
    http::health_routes(NAME, false, ctx)
}

/// The OpenAPI description of the routes of `workflow-step`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    http::openapi::health_paths(NAME, false)
}

/// One step of one run to execute.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct StepMessage {
    /// The organisation of the run.
    pub org_id: String,
    /// The run.
    pub run_id: String,
    /// Index of the step in the run's plan.
    pub step: u32,
}

/// Executes a batch of step messages. A step of a run that does not exist (deleted, or
/// never created) is acknowledged and logged; a malformed message, or a step that cannot
/// run yet, is reported failed for retry and the dead-letter queue.
pub async fn handle(ctx: Ctx, event: SqsEvent) -> SqsBatchResponse {
    let ctx = &ctx;
    each_record(&event, STEPS_QUEUE, |message| async move {
        run_step(ctx, message.body.as_deref().unwrap_or_default()).await
    })
    .await
}

async fn run_step(ctx: &Ctx, body: &str) -> Result<(), String> {
    let step: StepMessage = serde_json::from_str(body).map_err(|e| format!("not a step message: {e}"))?;
    let run = Key::new(format!("ORG#{}", step.org_id), format!("RUN#{}", step.run_id));
    match ctx.table.get(&run).await.map_err(|e| e.to_string())? {
        None => {
            tracing::info!(run = %step.run_id, "step of a run that does not exist; skipped");
            Ok(())
        }
        Some(_) => Err("solution steps cannot run yet".into()),
    }
}
