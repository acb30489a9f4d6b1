//! What a function is made of: its HTTP router, its queue consumer, its schedules. Each
//! function crate describes itself with a [`Function`]; Lambda (`crate::lambda`) and the
//! one-process runner (`printcloud serve`) both run that same description.

use crate::Ctx;
use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use axum::Router;
use futures::future::BoxFuture;
use std::future::Future;
use std::sync::Arc;

/// Why a scheduled run failed (logged; the next run tries again).
pub type ScheduleError = Box<dyn std::error::Error + Send + Sync>;

/// A queue consumer: a batch of SQS records in, the records that failed out.
pub type QueueHandler = Arc<dyn Fn(Ctx, SqsEvent) -> BoxFuture<'static, SqsBatchResponse> + Send + Sync>;

/// A scheduled handler: one EventBridge scheduled event in.
pub type ScheduleHandler =
    Arc<dyn Fn(Ctx, EventBridgeEvent) -> BoxFuture<'static, Result<(), ScheduleError>> + Send + Sync>;

/// A queue a function consumes.
#[derive(Clone)]
pub struct QueueTrigger {
    /// Logical queue name (`ingest`, ...).
    pub queue: &'static str,
    /// The consumer.
    pub handler: QueueHandler,
}

/// A schedule that invokes a function, with the expression of `infra/template.yaml`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Schedule {
    /// Schedule name; scheduled events carry it as the last part of their resource ARN.
    pub name: &'static str,
    /// `rate(...)` or `cron(...)`, exactly as in the template.
    pub expression: &'static str,
}

/// One function: a name and its triggers.
#[derive(Clone)]
pub struct Function {
    /// The function's name (and binary name).
    pub name: &'static str,
    /// Builds the HTTP router, if the function serves HTTP.
    pub router: Option<fn(Ctx) -> Router>,
    /// The queue it consumes, if any.
    pub queue: Option<QueueTrigger>,
    /// Its schedules; all go to `on_schedule`.
    pub schedules: Vec<Schedule>,
    /// The scheduled handler, if any schedules.
    pub on_schedule: Option<ScheduleHandler>,
}

impl Function {
    /// A function with no triggers yet.
    pub fn new(name: &'static str) -> Self {
        Function { name, router: None, queue: None, schedules: Vec::new(), on_schedule: None }
    }

    /// Serves HTTP with the router `build` makes.
    pub fn http(mut self, build: fn(Ctx) -> Router) -> Self {
        self.router = Some(build);
        self
    }

    /// Consumes `queue` with `handler`.
    pub fn queue<F, Fut>(mut self, queue: &'static str, handler: F) -> Self
    where
        F: Fn(Ctx, SqsEvent) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = SqsBatchResponse> + Send + 'static,
    {
        self.queue = Some(QueueTrigger { queue, handler: Arc::new(move |ctx, event| Box::pin(handler(ctx, event))) });
        self
    }

    /// Runs `handler` on every schedule in `schedules`.
    pub fn schedules<F, Fut>(mut self, schedules: &[Schedule], handler: F) -> Self
    where
        F: Fn(Ctx, EventBridgeEvent) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), ScheduleError>> + Send + 'static,
    {
        self.schedules = schedules.to_vec();
        self.on_schedule = Some(Arc::new(move |ctx, event| Box::pin(handler(ctx, event))));
        self
    }
}

/// Whether a scheduled event comes from the schedule `name`: its rule ARN
/// (`arn:aws:events:<region>:<account>:rule/<stack>-<name>`) ends with the name.
pub fn is_schedule(event: &EventBridgeEvent, name: &str) -> bool {
    let rule = event.resources.as_ref().and_then(|r| r.first()).and_then(|arn| arn.rsplit('/').next());
    rule.is_some_and(|rule| rule == name || rule.ends_with(&format!("-{name}")))
}

/// Runs `handle` on every record of `event` and answers the batch: the records whose
/// handling failed are reported (and logged with `label`), so SQS retries only those and
/// finally keeps them in the dead-letter queue.
pub async fn each_record<'a, F, Fut>(event: &'a SqsEvent, label: &str, mut handle: F) -> SqsBatchResponse
where
    F: FnMut(&'a SqsMessage) -> Fut,
    Fut: Future<Output = Result<(), String>> + 'a,
{
    let mut failed = Vec::new();
    for message in &event.records {
        let id = message.message_id.clone().unwrap_or_default();
        if let Err(reason) = handle(message).await {
            tracing::warn!(message_id = %id, %reason, "{label} record failed");
            failed.push(id);
        }
    }
    failed_records(failed)
}

/// A batch answer failing exactly the records named.
pub fn failed_records(ids: impl IntoIterator<Item = String>) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    for id in ids {
        let mut failure = aws_lambda_events::event::sqs::BatchItemFailure::default();
        failure.item_identifier = id;
        response.batch_item_failures.push(failure);
    }
    response
}
