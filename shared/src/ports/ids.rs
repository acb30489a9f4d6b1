//! Identifier generation as a port, so tests can predict ids.

use std::sync::atomic::{AtomicU64, Ordering};

/// Makes new identifiers for records (organisations, users, jobs, ...).
pub trait Ids: Send + Sync {
    /// A new identifier, unique in the deployment, URL-safe.
    fn new_id(&self) -> String;
}

/// Lower-case ULIDs: unique, sortable by creation time, 26 URL-safe characters.
#[derive(Debug, Default, Clone, Copy)]
pub struct UlidIds;

impl Ids for UlidIds {
    fn new_id(&self) -> String {
        ulid::Ulid::new().to_string().to_lowercase()
    }
}

/// `id-000001`, `id-000002`, ...: predictable ids for tests.
#[derive(Debug, Default)]
pub struct SequentialIds {
    next: AtomicU64,
}

impl Ids for SequentialIds {
    fn new_id(&self) -> String {
        let n = self.next.fetch_add(1, Ordering::SeqCst) + 1;
        format!("id-{n:06}")
    }
}
