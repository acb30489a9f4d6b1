//! Working through a run, one `workflow-steps` message per planned step: the step is
//! claimed (so a duplicate message does nothing twice), done, its documents stored in the
//! bucket and its result saved; then the next step is queued. A step failing for a
//! passing reason is tried again after a pause, at most [`MAX_ATTEMPTS`] times; any other
//! failure fails the run with the step's error. Actions come before every destination in
//! the plan, so a failed run has delivered nothing.

use super::actions::{self, Failure, Outcome};
use super::runs::{self, Run, RunError, RunStatus, StepStatus};
use crate::Ctx;
use crate::events::{s3_event_key, s3_records_in};
use aws_lambda_events::event::sqs::SqsMessage;
use serde::Deserialize;
use std::time::Duration;

/// Most times a step is started before its run fails.
pub const MAX_ATTEMPTS: u32 = 3;
/// How long a claimed step belongs to its worker (the Lambda timeout).
pub const LEASE: Duration = Duration::from_secs(900);
/// Pause before the first retry; doubled for each further one.
pub const RETRY_PAUSE: Duration = Duration::from_secs(2);
/// How often a step is re-read when its run changed between reading and claiming.
const CLAIM_TRIES: usize = 5;

/// One step of one run to execute.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct StepMessage {
    /// The organisation of the run.
    pub org_id: String,
    /// The run.
    pub run_id: String,
    /// Index of the step in the run's plan.
    pub step: usize,
}

/// Handles one message of the `workflow-steps` queue: a step to execute, or the S3 event
/// of a run's uploaded document. `Err` leaves the message for another delivery.
pub async fn handle_message(ctx: &Ctx, message: &SqsMessage) -> Result<(), String> {
    if let Ok(step) = serde_json::from_str::<StepMessage>(message.body.as_deref().unwrap_or_default()) {
        return execute(ctx, &step).await;
    }
    let records = s3_records_in(message).map_err(|err| format!("neither a step nor an S3 event: {err}"))?;
    for key in records.iter().filter_map(s3_event_key) {
        runs::uploaded(ctx, &key).await.map_err(|problem| problem.detail)?;
    }
    Ok(())
}

/// Executes planned step `message.step` of its run, unless it is done, failed, or held by
/// another worker.
pub async fn execute(ctx: &Ctx, message: &StepMessage) -> Result<(), String> {
    for _ in 0..CLAIM_TRIES {
        let Some(mut run) = runs::load(ctx, &message.org_id, &message.run_id).await.map_err(|e| e.to_string())? else {
            tracing::info!(run = %message.run_id, "step of a run that does not exist; skipped");
            return Ok(());
        };
        match claim(ctx, &mut run, message.step).await? {
            Claim::Won => return work(ctx, run, message.step).await,
            Claim::Lost => continue,
            Claim::NothingToDo => return Ok(()),
        }
    }
    Err(format!("run {} kept changing; the step will be tried again", message.run_id))
}

enum Claim {
    Won,
    Lost,
    NothingToDo,
}

async fn claim(ctx: &Ctx, run: &mut Run, index: usize) -> Result<Claim, String> {
    let now = ctx.clock.now();
    if run.status != RunStatus::Running {
        return Ok(Claim::NothingToDo);
    }
    let Some(step) = run.steps.get_mut(index) else {
        tracing::warn!(run = %run.id, index, "no such planned step; skipped");
        return Ok(Claim::NothingToDo);
    };
    match step.status {
        StepStatus::Succeeded => return queue_after(ctx, run, index).await.map(|()| Claim::NothingToDo),
        StepStatus::Failed => return Ok(Claim::NothingToDo),
        StepStatus::Running if step.lease_until.is_some_and(|until| until > now) => return Ok(Claim::NothingToDo),
        StepStatus::Running | StepStatus::Pending => {}
    }
    step.status = StepStatus::Running;
    step.attempts += 1;
    step.lease_until = Some(now + chrono::Duration::from_std(LEASE).unwrap_or_default());
    step.started_at = Some(now);
    let saved = runs::save(ctx, run).await.map_err(|e| e.to_string())?;
    Ok(if saved { Claim::Won } else { Claim::Lost })
}

/// Queues what follows step `index` when it is done: the next step, unless the run is over
/// (a message delivered again after its step was done lands here).
async fn queue_after(ctx: &Ctx, run: &Run, index: usize) -> Result<(), String> {
    if index + 1 < run.steps.len() {
        runs::queue_step(ctx, run, index + 1, Duration::ZERO).await.map_err(|e| e.to_string())?;
    }
    Ok(())
}

async fn work(ctx: &Ctx, mut run: Run, index: usize) -> Result<(), String> {
    let started = std::time::Instant::now();
    let outcome = actions::perform(ctx, &run, index).await;
    let kind = run.steps[index].action.type_name();
    let elapsed_ms = started.elapsed().as_millis() as u64;
    match outcome {
        Ok(outcome) => {
            tracing::info!(run = %run.id, index, kind, elapsed_ms, characters = outcome.characters, "solution step done");
            succeed(ctx, &mut run, index, outcome).await
        }
        Err(failure) => {
            tracing::warn!(run = %run.id, index, kind, elapsed_ms, code = failure.code, retryable = failure.retryable, "solution step failed");
            fail(ctx, &mut run, index, failure).await
        }
    }
}

async fn succeed(ctx: &Ctx, run: &mut Run, index: usize, outcome: Outcome) -> Result<(), String> {
    let now = ctx.clock.now();
    let step = &mut run.steps[index];
    step.status = StepStatus::Succeeded;
    step.lease_until = None;
    step.characters = outcome.characters;
    step.outputs = outcome.outputs;
    step.delivered = outcome.delivered;
    step.error = None;
    step.finished_at = Some(now);
    if index + 1 == run.steps.len() {
        run.status = RunStatus::Succeeded;
        run.finished_at = Some(now);
    }
    save_own(ctx, run).await?;
    queue_after(ctx, run, index).await
}

async fn fail(ctx: &Ctx, run: &mut Run, index: usize, failure: Failure) -> Result<(), String> {
    let now = ctx.clock.now();
    let error = RunError { code: failure.code.clone(), detail: failure.detail.clone(), step: Some(index) };
    let step = &mut run.steps[index];
    step.lease_until = None;
    step.error = Some(error.clone());
    let again = failure.retryable && step.attempts < MAX_ATTEMPTS;
    if again {
        step.status = StepStatus::Pending;
        let pause = RETRY_PAUSE * 2u32.saturating_pow(step.attempts.saturating_sub(1));
        save_own(ctx, run).await?;
        return runs::queue_step(ctx, run, index, pause).await.map_err(|e| e.to_string());
    }
    step.status = StepStatus::Failed;
    step.finished_at = Some(now);
    run.status = RunStatus::Failed;
    run.error = Some(error);
    run.finished_at = Some(now);
    save_own(ctx, run).await
}

/// Saves a run whose current step this worker holds; nobody else writes it meanwhile, so a
/// lost race means the lease ran out — the message is left for another delivery.
async fn save_own(ctx: &Ctx, run: &mut Run) -> Result<(), String> {
    match runs::save(ctx, run).await {
        Ok(true) => Ok(()),
        Ok(false) => Err(format!("run {} changed while its step ran (lease expired?)", run.id)),
        Err(err) => Err(err.to_string()),
    }
}
