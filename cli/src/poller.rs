//! Queue consumption under `serve`: what Lambda's SQS event source mapping does on AWS.
//! Receive a batch, hand it to the function's handler as an `SqsEvent`, delete the records
//! that succeeded, and let the failed ones come back (the queue moves them to its
//! dead-letter queue after the allowed receives).

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use shared::Ctx;
use shared::function::QueueTrigger;
use shared::ports::queue::{QUEUES, ReceivedMessage};
use shared::ports::{Queue, StoreResult};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, watch};

/// Longest wait between two looks at an idle queue (delayed messages become visible
/// without a wake-up).
const IDLE_POLL: Duration = Duration::from_millis(500);

/// Consumes `trigger.queue` until `stop` turns true.
pub async fn run(ctx: Ctx, trigger: QueueTrigger, arrivals: Arc<Notify>, mut stop: watch::Receiver<bool>) {
    let visibility = QUEUES.iter().find(|q| q.name == trigger.queue).map_or(Duration::from_secs(60), |q| q.visibility);
    while !*stop.borrow() {
        let woken = arrivals.notified();
        match poll_once(&ctx, &trigger, visibility).await {
            Ok(0) => {}
            Ok(_) => continue,
            Err(err) => tracing::error!(queue = trigger.queue, error = %err, "polling failed"),
        }
        tokio::select! {
            _ = stop.changed() => {}
            _ = woken => {}
            _ = tokio::time::sleep(IDLE_POLL) => {}
        }
    }
}

/// Receives and handles one batch; answers how many messages it received.
pub async fn poll_once(ctx: &Ctx, trigger: &QueueTrigger, visibility: Duration) -> StoreResult<usize> {
    let messages = ctx.queue.receive(trigger.queue, 10, visibility).await?;
    if messages.is_empty() {
        return Ok(0);
    }
    let event = sqs_event(trigger.queue, &messages);
    let handler = trigger.handler.clone();
    let outcome = tokio::spawn(handler(ctx.clone(), event)).await;
    let failed: HashSet<String> = match outcome {
        Ok(response) => response.batch_item_failures.into_iter().map(|f| f.item_identifier).collect(),
        Err(panic) => {
            tracing::error!(queue = trigger.queue, error = %panic, "handler panicked; the whole batch is retried");
            messages.iter().map(|m| m.message_id.clone()).collect()
        }
    };
    for message in &messages {
        if failed.contains(&message.message_id) {
            retry_soon(ctx.queue.as_ref(), trigger.queue, message).await?;
        } else {
            ctx.queue.delete(trigger.queue, &message.receipt_handle).await?;
        }
    }
    Ok(messages.len())
}

/// Makes a failed message visible again after a short backoff (1, 2, 4 ... 30 seconds)
/// rather than the queue's full visibility timeout, so one machine retries promptly.
async fn retry_soon(queue: &dyn Queue, name: &str, message: &ReceivedMessage) -> StoreResult<()> {
    let backoff = Duration::from_secs((1u64 << message.receive_count.saturating_sub(1).min(5)).min(30));
    queue.change_visibility(name, &message.receipt_handle, backoff).await
}

/// The SQS event Lambda would receive for `messages` of `queue`.
pub fn sqs_event(queue: &str, messages: &[ReceivedMessage]) -> SqsEvent {
    let mut event = SqsEvent::default();
    event.records = messages.iter().map(|m| sqs_record(queue, m)).collect();
    event
}

fn sqs_record(queue: &str, message: &ReceivedMessage) -> SqsMessage {
    let sent = message.sent_at.timestamp_millis().to_string();
    let mut record = SqsMessage::default();
    record.message_id = Some(message.message_id.clone());
    record.receipt_handle = Some(message.receipt_handle.clone());
    record.body = Some(message.body.clone());
    record.attributes = HashMap::from([
        ("ApproximateReceiveCount".to_string(), message.receive_count.to_string()),
        ("SentTimestamp".to_string(), sent.clone()),
        ("ApproximateFirstReceiveTimestamp".to_string(), sent),
        ("SenderId".to_string(), "printcloud".to_string()),
    ]);
    record.event_source = Some("aws:sqs".into());
    record.event_source_arn = Some(format!("arn:aws:sqs:local:000000000000:{queue}"));
    record.aws_region = Some("local".into());
    record
}
