//! The queue port on SQS. Logical queue names (`ingest`) map to the deployment's queues
//! (`<stack>-ingest`) through a name prefix; URLs are looked up once and cached.

use crate::ports::queue::{self, OutgoingMessage, ReceivedMessage};
use crate::ports::{Queue, StoreError, StoreResult};
use async_trait::async_trait;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::{MessageSystemAttributeName, SendMessageBatchRequestEntry};
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

/// The queue port on SQS queues named `<prefix><logical name>`.
pub struct SqsQueue {
    client: Client,
    prefix: String,
    urls: Mutex<HashMap<String, String>>,
}

impl SqsQueue {
    /// Queues named `<prefix><logical name>`.
    pub fn new(client: Client, prefix: impl Into<String>) -> Self {
        SqsQueue { client, prefix: prefix.into(), urls: Mutex::new(HashMap::new()) }
    }

    /// The URL of the logical queue `name`.
    pub async fn url(&self, name: &str) -> StoreResult<String> {
        if let Some(url) = self.urls.lock().expect("url cache").get(name) {
            return Ok(url.clone());
        }
        let full = format!("{}{name}", self.prefix);
        let output = self.client.get_queue_url().queue_name(&full).send().await.map_err(|err| {
            if err.as_service_error().is_some_and(|e| e.is_queue_does_not_exist()) {
                StoreError::NotFound(format!("queue `{full}`"))
            } else {
                backend(err)
            }
        })?;
        let url = output.queue_url.ok_or_else(|| StoreError::NotFound(format!("queue `{full}`")))?;
        self.urls.lock().expect("url cache").insert(name.to_string(), url.clone());
        Ok(url)
    }
}

fn backend<E: std::error::Error + 'static>(err: aws_sdk_sqs::error::SdkError<E>) -> StoreError {
    StoreError::backend(aws_sdk_sqs::error::DisplayErrorContext(err))
}

fn seconds(duration: Duration) -> i32 {
    i32::try_from(duration.as_secs()).unwrap_or(i32::MAX)
}

fn received(message: aws_sdk_sqs::types::Message) -> ReceivedMessage {
    let attribute = |name: MessageSystemAttributeName| {
        message.attributes.as_ref().and_then(|a| a.get(&name)).and_then(|v| v.parse::<i64>().ok())
    };
    ReceivedMessage {
        receive_count: attribute(MessageSystemAttributeName::ApproximateReceiveCount).unwrap_or(1) as u32,
        sent_at: attribute(MessageSystemAttributeName::SentTimestamp)
            .and_then(DateTime::<Utc>::from_timestamp_millis)
            .unwrap_or_default(),
        message_id: message.message_id.unwrap_or_default(),
        receipt_handle: message.receipt_handle.unwrap_or_default(),
        body: message.body.unwrap_or_default(),
    }
}

#[async_trait]
impl Queue for SqsQueue {
    async fn send_batch(&self, queue: &str, messages: Vec<OutgoingMessage>) -> StoreResult<Vec<String>> {
        queue::validate_batch(&messages)?;
        let url = self.url(queue).await?;
        let entries = messages
            .iter()
            .enumerate()
            .map(|(i, m)| {
                SendMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .message_body(&m.body)
                    .delay_seconds(seconds(m.delay))
                    .build()
                    .map_err(StoreError::backend)
            })
            .collect::<StoreResult<Vec<_>>>()?;
        let output =
            self.client.send_message_batch().queue_url(url).set_entries(Some(entries)).send().await.map_err(backend)?;
        if let Some(failure) = output.failed.first() {
            return Err(StoreError::Backend(format!("SQS refused a message: {}", failure.code)));
        }
        let mut ids = vec![String::new(); messages.len()];
        for entry in output.successful {
            if let Ok(index) = entry.id.parse::<usize>()
                && index < ids.len()
            {
                ids[index] = entry.message_id;
            }
        }
        Ok(ids)
    }

    async fn receive(&self, queue: &str, max: usize, visibility: Duration) -> StoreResult<Vec<ReceivedMessage>> {
        if max == 0 || max > queue::MAX_BATCH {
            return Err(StoreError::Invalid(format!("receive 1 to {} messages, not {max}", queue::MAX_BATCH)));
        }
        let url = self.url(queue).await?;
        let output = self
            .client
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(max as i32)
            .visibility_timeout(seconds(visibility))
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .message_system_attribute_names(MessageSystemAttributeName::SentTimestamp)
            .send()
            .await
            .map_err(backend)?;
        Ok(output.messages.unwrap_or_default().into_iter().map(received).collect())
    }

    async fn delete(&self, queue: &str, receipt_handle: &str) -> StoreResult<()> {
        let url = self.url(queue).await?;
        self.client.delete_message().queue_url(url).receipt_handle(receipt_handle).send().await.map_err(backend)?;
        Ok(())
    }

    async fn change_visibility(&self, queue: &str, receipt_handle: &str, timeout: Duration) -> StoreResult<()> {
        let url = self.url(queue).await?;
        self.client
            .change_message_visibility()
            .queue_url(url)
            .receipt_handle(receipt_handle)
            .visibility_timeout(seconds(timeout))
            .send()
            .await
            .map_err(|err| match err.as_service_error() {
                Some(e) if e.is_receipt_handle_is_invalid() || e.is_message_not_inflight() => {
                    StoreError::Invalid("the receipt handle is not of a message in flight".into())
                }
                _ => backend(err),
            })?;
        Ok(())
    }
}
