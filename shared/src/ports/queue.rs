//! Message queues between functions (`ingest`, `quota-events`, `inbound-mail`,
//! `workflow-steps`), each with a dead-letter queue. Semantics are SQS's: at-least-once
//! delivery, a visibility timeout after each receive, and redrive to the dead-letter queue
//! once a message has been received more often than the queue allows.

use super::StoreResult;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::time::Duration;

/// Most messages one send or receive handles (SQS's limit).
pub const MAX_BATCH: usize = 10;
/// Longest delay a message may be sent with (SQS's limit, 15 minutes).
pub const MAX_DELAY: Duration = Duration::from_secs(900);

/// A message to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutgoingMessage {
    /// The body, usually JSON.
    pub body: String,
    /// How long the message stays invisible after sending.
    pub delay: Duration,
}

impl OutgoingMessage {
    /// A message delivered at once.
    pub fn new(body: impl Into<String>) -> Self {
        OutgoingMessage { body: body.into(), delay: Duration::ZERO }
    }

    /// A message delivered after `delay` (at most 15 minutes).
    pub fn delayed(body: impl Into<String>, delay: Duration) -> Self {
        OutgoingMessage { body: body.into(), delay }
    }
}

/// A message handed out by [`Queue::receive`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceivedMessage {
    /// Stable id of the message across deliveries.
    pub message_id: String,
    /// Handle of this delivery, for delete and change-visibility.
    pub receipt_handle: String,
    /// The body as sent.
    pub body: String,
    /// How often the message has been received, this delivery included.
    pub receive_count: u32,
    /// When it was first sent.
    pub sent_at: DateTime<Utc>,
}

/// A named message queue with a dead-letter queue.
#[async_trait]
pub trait Queue: Send + Sync {
    /// Sends up to 10 messages to `queue`; answers their message ids.
    async fn send_batch(&self, queue: &str, messages: Vec<OutgoingMessage>) -> StoreResult<Vec<String>>;

    /// Receives up to `max` (≤ 10) visible messages and hides them for `visibility`.
    /// Messages received more often than the queue allows move to its dead-letter queue
    /// instead of being answered.
    async fn receive(&self, queue: &str, max: usize, visibility: Duration) -> StoreResult<Vec<ReceivedMessage>>;

    /// Deletes the delivered message (it was handled).
    async fn delete(&self, queue: &str, receipt_handle: &str) -> StoreResult<()>;

    /// Hides the delivered message for `timeout` from now (zero makes it visible again).
    async fn change_visibility(&self, queue: &str, receipt_handle: &str, timeout: Duration) -> StoreResult<()>;

    /// Sends one message; answers its id.
    async fn send(&self, queue: &str, body: String) -> StoreResult<String> {
        let mut ids = self.send_batch(queue, vec![OutgoingMessage::new(body)]).await?;
        ids.pop().ok_or_else(|| super::StoreError::Backend("send answered no message id".into()))
    }
}

/// Refuses batches SQS would refuse: empty, more than 10, or a delay over 15 minutes.
pub fn validate_batch(messages: &[OutgoingMessage]) -> StoreResult<()> {
    if messages.is_empty() || messages.len() > MAX_BATCH {
        return Err(super::StoreError::Invalid(format!(
            "a batch holds 1 to {MAX_BATCH} messages, not {}",
            messages.len()
        )));
    }
    if messages.iter().any(|m| m.delay > MAX_DELAY) {
        return Err(super::StoreError::Invalid("a message delay is at most 15 minutes".into()));
    }
    Ok(())
}

/// How a queue is set up: its dead-letter queue and how many receives it allows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueSpec {
    /// Logical name (`ingest`, ...).
    pub name: &'static str,
    /// Receives allowed before a message moves to the dead-letter queue.
    pub max_receives: u32,
    /// Visibility timeout a consumer uses.
    pub visibility: Duration,
}

impl QueueSpec {
    /// The dead-letter queue's logical name.
    pub fn dead_letter_name(&self) -> String {
        format!("{}-dlq", self.name)
    }
}

/// Every queue of the deployment, as `infra/template.yaml` declares them.
pub const QUEUES: [QueueSpec; 5] = [
    QueueSpec { name: "ingest", max_receives: 5, visibility: Duration::from_secs(120) },
    QueueSpec { name: "quota-events", max_receives: 5, visibility: Duration::from_secs(60) },
    QueueSpec { name: "inbound-mail", max_receives: 5, visibility: Duration::from_secs(180) },
    QueueSpec { name: "workflow-steps", max_receives: 3, visibility: Duration::from_secs(900) },
    // One user-import chunk (auth, 30 s timeout; a chunk stops starting lines after 10 s).
    QueueSpec { name: "user-imports", max_receives: 3, visibility: Duration::from_secs(180) },
];
