//! Queue port contract. Waits are real (SQS semantics are in seconds) but short.

use crate::fixtures::{Fixture, WORK, WORK_DLQ};
use shared::ports::queue::OutgoingMessage;
use shared::ports::{ReceivedMessage, StoreError};
use std::time::Duration;

const SHORT: Duration = Duration::from_secs(1);
const LONG: Duration = Duration::from_secs(60);

/// Receives until `count` messages arrived or `within` passed.
async fn receive_at_least(f: &Fixture, queue: &str, count: usize, within: Duration) -> Vec<ReceivedMessage> {
    let deadline = tokio::time::Instant::now() + within;
    let mut got = Vec::new();
    while got.len() < count && tokio::time::Instant::now() < deadline {
        got.extend(f.queue.receive(queue, 10, LONG).await.unwrap());
        if got.len() < count {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    got
}

pub async fn queue_send_receive_delete(f: &Fixture) {
    let id = f.queue.send(WORK, r#"{"job":"1"}"#.into()).await.unwrap();
    let got = receive_at_least(f, WORK, 1, Duration::from_secs(5)).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].message_id, id);
    assert_eq!(got[0].body, r#"{"job":"1"}"#);
    assert_eq!(got[0].receive_count, 1);
    f.queue.delete(WORK, &got[0].receipt_handle).await.unwrap();
    f.queue.change_visibility(WORK, &got[0].receipt_handle, Duration::ZERO).await.ok();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(f.queue.receive(WORK, 10, LONG).await.unwrap().is_empty(), "a deleted message never comes back");
    assert!(matches!(f.queue.send("no-such-queue", "x".into()).await, Err(StoreError::NotFound(_))));
}

pub async fn queue_batch_limits(f: &Fixture) {
    let ten: Vec<OutgoingMessage> = (0..10).map(|i| OutgoingMessage::new(format!("m{i}"))).collect();
    let ids = f.queue.send_batch(WORK, ten).await.unwrap();
    assert_eq!(ids.len(), 10);
    assert!(ids.iter().all(|id| !id.is_empty()));
    let eleven: Vec<OutgoingMessage> = (0..11).map(|i| OutgoingMessage::new(format!("m{i}"))).collect();
    assert!(matches!(f.queue.send_batch(WORK, eleven).await, Err(StoreError::Invalid(_))));
    let too_late = vec![OutgoingMessage::delayed("x", Duration::from_secs(901))];
    assert!(matches!(f.queue.send_batch(WORK, too_late).await, Err(StoreError::Invalid(_))));
    let got = receive_at_least(f, WORK, 10, Duration::from_secs(5)).await;
    let mut bodies: Vec<String> = got.into_iter().map(|m| m.body).collect();
    bodies.sort();
    assert_eq!(bodies, (0..10).map(|i| format!("m{i}")).collect::<Vec<_>>());
    assert!(matches!(f.queue.receive(WORK, 11, LONG).await, Err(StoreError::Invalid(_))));
}

pub async fn queue_visibility_timeout_redelivers(f: &Fixture) {
    let id = f.queue.send(WORK, "retry me".into()).await.unwrap();
    let first = f.queue.receive(WORK, 1, SHORT).await.unwrap();
    assert_eq!(first.len(), 1);
    assert!(f.queue.receive(WORK, 10, SHORT).await.unwrap().is_empty(), "hidden while in flight");
    tokio::time::sleep(Duration::from_millis(1600)).await;
    let again = receive_at_least(f, WORK, 1, Duration::from_secs(5)).await;
    assert_eq!(again.len(), 1, "visible again after the visibility timeout");
    assert_eq!(again[0].message_id, id);
    assert_eq!(again[0].receive_count, 2);
    assert_ne!(again[0].receipt_handle, first[0].receipt_handle);
}

pub async fn queue_change_visibility(f: &Fixture) {
    f.queue.send(WORK, "now".into()).await.unwrap();
    let got = receive_at_least(f, WORK, 1, Duration::from_secs(5)).await;
    f.queue.change_visibility(WORK, &got[0].receipt_handle, Duration::ZERO).await.unwrap();
    let again = receive_at_least(f, WORK, 1, Duration::from_secs(5)).await;
    assert_eq!(again.len(), 1, "visible at once after change_visibility(0)");
    assert_eq!(again[0].body, "now");
}

pub async fn queue_delay(f: &Fixture) {
    f.queue.send_batch(WORK, vec![OutgoingMessage::delayed("later", Duration::from_secs(2))]).await.unwrap();
    assert!(f.queue.receive(WORK, 10, LONG).await.unwrap().is_empty(), "invisible during the delay");
    let got = receive_at_least(f, WORK, 1, Duration::from_secs(8)).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].body, "later");
}

pub async fn queue_dead_letter_after_max_receives(f: &Fixture) {
    let id = f.queue.send(WORK, "poison".into()).await.unwrap();
    for attempt in 1..=2 {
        let got = receive_at_least(f, WORK, 1, Duration::from_secs(5)).await;
        assert_eq!(got.len(), 1, "receive {attempt}");
        assert_eq!(got[0].receive_count, attempt);
        f.queue.change_visibility(WORK, &got[0].receipt_handle, Duration::ZERO).await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(f.queue.receive(WORK, 10, LONG).await.unwrap().is_empty(), "moved away after 2 receives");
    let dead = receive_at_least(f, WORK_DLQ, 1, Duration::from_secs(5)).await;
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].body, "poison");
    assert_eq!(dead[0].message_id, id, "the same message, kept for inspection");
}
