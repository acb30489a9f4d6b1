//! Queue consumption under `serve`: what Lambda's SQS event source mapping does on AWS.
//! Receive a batch, hand it to the function's handler as an `SqsEvent`, delete the records
//! that succeeded, and let the failed ones come back (the queue moves them to its
//! dead-letter queue after the allowed receives).

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use shared::Ctx;
use shared::function::QueueTrigger;
use shared::ports::queue::{QUEUES, QueueSpec, ReceivedMessage};
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
    let spec = QUEUES.iter().find(|q| q.name == trigger.queue).cloned().unwrap_or(QueueSpec {
        name: trigger.queue,
        max_receives: 5,
        visibility: Duration::from_secs(60),
    });
    while !*stop.borrow() {
        let woken = arrivals.notified();
        match poll_once(&ctx, &trigger, &spec).await {
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
pub async fn poll_once(ctx: &Ctx, trigger: &QueueTrigger, spec: &QueueSpec) -> StoreResult<usize> {
    let messages = ctx.queue.receive(trigger.queue, 10, spec.visibility).await?;
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
        let settled = if failed.contains(&message.message_id) {
            retry_soon(ctx.queue.as_ref(), spec, message).await
        } else {
            ctx.queue.delete(trigger.queue, &message.receipt_handle).await
        };
        if let Err(err) = settled {
            tracing::error!(queue = trigger.queue, message_id = %message.message_id, error = %err,
                "could not settle a message; it returns after its visibility timeout");
        }
    }
    Ok(messages.len())
}

/// Makes a failed message visible again after a short backoff (1, 2, 4 ... 30 seconds)
/// rather than the queue's full visibility timeout, so one machine retries promptly; a
/// message that used its last receive is released at once, so the next receive moves it
/// to the dead-letter queue.
async fn retry_soon(queue: &dyn Queue, spec: &QueueSpec, message: &ReceivedMessage) -> StoreResult<()> {
    let backoff = if message.receive_count >= spec.max_receives {
        Duration::ZERO
    } else {
        Duration::from_secs((1u64 << message.receive_count.saturating_sub(1).min(5)).min(30))
    };
    queue.change_visibility(spec.name, &message.receipt_handle, backoff).await
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
