//! Port wrappers that inject the faults a cloud deployment sees, for tests that prove the
//! code survives them: queues that deliver every message twice (SQS is at-least-once) and
//! table writes that fail once (a Lambda invocation that dies mid-way).

use async_trait::async_trait;
use shared::ports::queue::{OutgoingMessage, ReceivedMessage};
use shared::ports::table::{Item, JsonPage, Key, Page, Query, Update, Write};
use shared::ports::{Condition, Queue, StoreError, StoreResult, Table};
use std::collections::HashSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// A queue that sends every message bound for one queue twice.
pub struct DuplicateDeliveries {
    inner: std::sync::Arc<dyn Queue>,
    queue: &'static str,
    /// Extra copies sent so far.
    pub duplicated: AtomicUsize,
}

impl DuplicateDeliveries {
    /// Duplicates the messages `inner` is asked to send to `queue`.
    pub fn new(inner: std::sync::Arc<dyn Queue>, queue: &'static str) -> Self {
        DuplicateDeliveries { inner, queue, duplicated: AtomicUsize::new(0) }
    }
}

#[async_trait]
impl Queue for DuplicateDeliveries {
    async fn send_batch(&self, queue: &str, messages: Vec<OutgoingMessage>) -> StoreResult<Vec<String>> {
        if queue == self.queue {
            self.inner.send_batch(queue, messages.clone()).await?;
            self.duplicated.fetch_add(messages.len(), Ordering::Relaxed);
        }
        self.inner.send_batch(queue, messages).await
    }

    async fn receive(&self, queue: &str, max: usize, visibility: Duration) -> StoreResult<Vec<ReceivedMessage>> {
        self.inner.receive(queue, max, visibility).await
    }

    async fn delete(&self, queue: &str, receipt_handle: &str) -> StoreResult<()> {
        self.inner.delete(queue, receipt_handle).await
    }

    async fn change_visibility(&self, queue: &str, receipt_handle: &str, timeout: Duration) -> StoreResult<()> {
        self.inner.change_visibility(queue, receipt_handle, timeout).await
    }
}

/// A table whose transactions that delete an item with a chosen sort-key prefix fail once,
/// for one key in `one_in`: the first such key it sees, then every `one_in`-th new one, so a
/// run with at least one such transaction always sees a fault.
pub struct FailOnce {
    inner: std::sync::Arc<dyn Table>,
    prefix: &'static str,
    one_in: u64,
    seen: Mutex<HashSet<String>>,
    /// Transactions failed so far.
    pub failures: AtomicUsize,
}

impl FailOnce {
    /// Fails once the transactions of `inner` that delete a `prefix…` item, for one such
    /// item in `one_in`.
    pub fn new(inner: std::sync::Arc<dyn Table>, prefix: &'static str, one_in: u64) -> Self {
        FailOnce { inner, prefix, one_in, seen: Mutex::new(HashSet::new()), failures: AtomicUsize::new(0) }
    }

    /// Whether this transaction fails: the first attempt on a chosen key.
    fn fails(&self, writes: &[Write]) -> bool {
        let deleted = writes.iter().find_map(|write| match write {
            Write::Delete { key, .. } if key.sk.starts_with(self.prefix) => Some(format!("{}/{}", key.pk, key.sk)),
            _ => None,
        });
        let Some(key) = deleted else { return false };
        let mut seen = self.seen.lock().expect("not poisoned");
        let position = seen.len() as u64;
        seen.insert(key) && position.is_multiple_of(self.one_in)
    }
}

#[async_trait]
impl Table for FailOnce {
    async fn get(&self, key: &Key) -> StoreResult<Option<Item>> {
        self.inner.get(key).await
    }

    async fn get_json(&self, key: &Key) -> StoreResult<Option<String>> {
        self.inner.get_json(key).await
    }

    async fn put(&self, item: Item, condition: Condition) -> StoreResult<()> {
        self.inner.put(item, condition).await
    }

    async fn update(&self, update: Update) -> StoreResult<Item> {
        self.inner.update(update).await
    }

    async fn delete(&self, key: &Key, condition: Condition) -> StoreResult<()> {
        self.inner.delete(key, condition).await
    }

    async fn query(&self, query: &Query) -> StoreResult<Page> {
        self.inner.query(query).await
    }

    async fn query_json(&self, query: &Query) -> StoreResult<JsonPage> {
        self.inner.query_json(query).await
    }

    async fn count(&self, query: &Query) -> StoreResult<u64> {
        self.inner.count(query).await
    }

    async fn transact(&self, writes: Vec<Write>) -> StoreResult<()> {
        if self.fails(&writes) {
            self.failures.fetch_add(1, Ordering::Relaxed);
            return Err(StoreError::Backend("injected fault: the invocation died".into()));
        }
        self.inner.transact(writes).await
    }
}
