//! The queue port on SQLite, with SQS semantics: visibility timeouts, receive counts,
//! delays, and redrive to a dead-letter queue after the allowed number of receives.

use super::sqlite::{Database, sql};
use crate::ports::queue::{self, OutgoingMessage, QueueSpec, ReceivedMessage};
use crate::ports::{Clock, Ids, Queue, StoreError, StoreResult};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rand::RngCore;
use rusqlite::{OptionalExtension, TransactionBehavior, params};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS queues (
    name TEXT PRIMARY KEY,
    dead_letter TEXT,
    max_receives INTEGER
);
CREATE TABLE IF NOT EXISTS messages (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    queue TEXT NOT NULL,
    body TEXT NOT NULL,
    sent_at INTEGER NOT NULL,
    visible_at INTEGER NOT NULL,
    receive_count INTEGER NOT NULL DEFAULT 0,
    receipt TEXT
);
CREATE INDEX IF NOT EXISTS messages_visible ON messages (queue, visible_at, seq);
CREATE UNIQUE INDEX IF NOT EXISTS messages_receipt ON messages (receipt) WHERE receipt IS NOT NULL;
";

/// The queue port on a SQLite file.
pub struct SqliteQueue {
    db: Database,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn Ids>,
    arrivals: Arc<Notify>,
}

impl SqliteQueue {
    /// Opens (creating if needed) the queues stored at `path`.
    pub fn open(path: &Path, clock: Arc<dyn Clock>, ids: Arc<dyn Ids>) -> StoreResult<Self> {
        Ok(SqliteQueue { db: Database::open(path, SCHEMA)?, clock, ids, arrivals: Arc::new(Notify::new()) })
    }

    /// Creates `spec`'s queue and its dead-letter queue, or updates their redrive settings.
    pub async fn declare(&self, spec: &QueueSpec) -> StoreResult<()> {
        self.declare_named(spec.name, Some((&spec.dead_letter_name(), spec.max_receives))).await?;
        self.declare_named(&spec.dead_letter_name(), None).await
    }

    /// Creates the queue `name`, with `redrive` = (dead-letter queue, receives allowed).
    pub async fn declare_named(&self, name: &str, redrive: Option<(&str, u32)>) -> StoreResult<()> {
        let name = name.to_string();
        let dead_letter = redrive.map(|(q, _)| q.to_string());
        let max_receives = redrive.map(|(_, n)| n);
        self.db
            .run(move |conn| {
                conn.execute(
                    "INSERT INTO queues (name, dead_letter, max_receives) VALUES (?1, ?2, ?3)
                     ON CONFLICT(name) DO UPDATE SET dead_letter = excluded.dead_letter, max_receives = excluded.max_receives",
                    params![name, dead_letter, max_receives],
                )
                .map_err(sql)?;
                Ok(())
            })
            .await
    }

    /// Signalled whenever a message is sent, so pollers can wake without spinning.
    pub fn arrivals(&self) -> Arc<Notify> {
        self.arrivals.clone()
    }

    fn now_ms(&self) -> i64 {
        self.clock.now().timestamp_millis()
    }
}

/// The redrive settings of `queue`, or `NotFound`.
fn redrive_of(conn: &rusqlite::Connection, queue: &str) -> StoreResult<(Option<String>, Option<u32>)> {
    conn.prepare_cached("SELECT dead_letter, max_receives FROM queues WHERE name = ?1")
        .map_err(sql)?
        .query_row(params![queue], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()
        .map_err(sql)?
        .ok_or_else(|| StoreError::NotFound(format!("queue `{queue}`")))
}

/// Whether `queue` (which must exist) has a message visible at `now`. A receive looks here
/// first, on a reading connection: every send wakes the poller of every queue, and most of
/// them find nothing, which then costs no write transaction.
fn has_visible(conn: &rusqlite::Connection, queue: &str, now: i64) -> StoreResult<bool> {
    redrive_of(conn, queue)?;
    conn.prepare_cached("SELECT EXISTS (SELECT 1 FROM messages WHERE queue = ?1 AND visible_at <= ?2)")
        .map_err(sql)?
        .query_row(params![queue, now], |row| row.get(0))
        .map_err(sql)
}

fn new_receipt(message_id: &str) -> String {
    let mut random = [0u8; 16];
    rand::rng().fill_bytes(&mut random);
    format!("{message_id}.{}", hex::encode(random))
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

#[async_trait]
impl Queue for SqliteQueue {
    async fn send_batch(&self, queue: &str, messages: Vec<OutgoingMessage>) -> StoreResult<Vec<String>> {
        queue::validate_batch(&messages)?;
        let queue = queue.to_string();
        let now = self.now_ms();
        let ids: Vec<String> = messages.iter().map(|_| self.ids.new_id()).collect();
        let answer = ids.clone();
        self.db
            .run(move |conn| {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(sql)?;
                redrive_of(&tx, &queue)?;
                let mut insert = tx
                    .prepare_cached(
                        "INSERT INTO messages (id, queue, body, sent_at, visible_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                    )
                    .map_err(sql)?;
                for (id, message) in ids.iter().zip(&messages) {
                    insert.execute(params![id, queue, message.body, now, now + millis(message.delay)]).map_err(sql)?;
                }
                drop(insert);
                tx.commit().map_err(sql)
            })
            .await?;
        self.arrivals.notify_waiters();
        Ok(answer)
    }

    async fn receive(&self, queue: &str, max: usize, visibility: Duration) -> StoreResult<Vec<ReceivedMessage>> {
        if max == 0 || max > queue::MAX_BATCH {
            return Err(StoreError::Invalid(format!("receive 1 to {} messages, not {max}", queue::MAX_BATCH)));
        }
        let now = self.now_ms();
        if !self.db.read(|conn| has_visible(conn, queue, now))? {
            return Ok(Vec::new());
        }
        let queue = queue.to_string();
        let hidden_until = now.saturating_add(millis(visibility));
        self.db
            .run(move |conn| {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(sql)?;
                let (dead_letter, max_receives) = redrive_of(&tx, &queue)?;
                let mut received = Vec::new();
                loop {
                    let next: Option<(i64, String, String, i64, u32)> = tx
                        .prepare_cached(
                            "SELECT seq, id, body, sent_at, receive_count FROM messages
                             WHERE queue = ?1 AND visible_at <= ?2 ORDER BY visible_at, seq LIMIT 1",
                        )
                        .map_err(sql)?
                        .query_row(params![queue, now], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
                        .optional()
                        .map_err(sql)?;
                    let Some((seq, id, body, sent_at, count)) = next else { break };
                    if let (Some(dlq), Some(limit)) = (&dead_letter, max_receives)
                        && count >= limit
                    {
                        tx.prepare_cached(
                            "UPDATE messages SET queue = ?1, receive_count = 0, visible_at = ?2, receipt = NULL WHERE seq = ?3",
                        )
                        .map_err(sql)?
                        .execute(params![dlq, now, seq])
                        .map_err(sql)?;
                        continue;
                    }
                    let receipt = new_receipt(&id);
                    tx.prepare_cached(
                        "UPDATE messages SET receive_count = receive_count + 1, visible_at = ?1, receipt = ?2 WHERE seq = ?3",
                    )
                    .map_err(sql)?
                    .execute(params![hidden_until, receipt, seq])
                    .map_err(sql)?;
                    received.push(ReceivedMessage {
                        message_id: id,
                        receipt_handle: receipt,
                        body,
                        receive_count: count + 1,
                        sent_at: DateTime::<Utc>::from_timestamp_millis(sent_at).unwrap_or_default(),
                    });
                    if received.len() == max {
                        break;
                    }
                }
                tx.commit().map_err(sql)?;
                Ok(received)
            })
            .await
    }

    async fn delete(&self, queue: &str, receipt_handle: &str) -> StoreResult<()> {
        let (queue, receipt) = (queue.to_string(), receipt_handle.to_string());
        self.db
            .run(move |conn| {
                redrive_of(conn, &queue)?;
                conn.prepare_cached("DELETE FROM messages WHERE queue = ?1 AND receipt = ?2")
                    .map_err(sql)?
                    .execute(params![queue, receipt])
                    .map_err(sql)?;
                Ok(())
            })
            .await
    }

    async fn change_visibility(&self, queue: &str, receipt_handle: &str, timeout: Duration) -> StoreResult<()> {
        let (queue, receipt) = (queue.to_string(), receipt_handle.to_string());
        let visible_at = self.now_ms().saturating_add(millis(timeout));
        let changed = self
            .db
            .run(move |conn| {
                redrive_of(conn, &queue)?;
                conn.execute(
                    "UPDATE messages SET visible_at = ?1 WHERE queue = ?2 AND receipt = ?3",
                    params![visible_at, queue, receipt],
                )
                .map_err(sql)
            })
            .await?;
        if changed == 0 {
            return Err(StoreError::Invalid("the receipt handle is not of a message in flight".into()));
        }
        if timeout.is_zero() {
            self.arrivals.notify_waiters();
        }
        Ok(())
    }
}
