//! Document storage: uploads, print-ready files, mail, solution step outputs. Nothing
//! readable leaves the store except through a short-lived presigned URL.

use super::StoreResult;
use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use std::time::Duration;

/// What is known about a stored object without reading it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlobMeta {
    /// The object's key (`uploads/<org>/<job>`, ...).
    pub key: String,
    /// Size in bytes.
    pub size: u64,
    /// Content type given at upload.
    pub content_type: Option<String>,
    /// When it was last written.
    pub last_modified: DateTime<Utc>,
}

/// An object store with presigned URLs and ObjectCreated notifications.
///
/// Notifications: writing under a configured prefix (`uploads/`, `mail/`) delivers an
/// S3-shaped `ObjectCreated:Put` event to the configured queue — by S3 event notifications
/// on AWS, by the embedded store itself on one machine.
#[async_trait]
pub trait Blobs: Send + Sync {
    /// Stores `bytes` under `key`, replacing what was there.
    async fn put(&self, key: &str, bytes: Bytes, content_type: &str) -> StoreResult<()>;

    /// The object and its metadata, if stored.
    async fn get(&self, key: &str) -> StoreResult<Option<(BlobMeta, Bytes)>>;

    /// The metadata of the object, if stored.
    async fn head(&self, key: &str) -> StoreResult<Option<BlobMeta>>;

    /// Deletes the object (deleting nothing is fine).
    async fn delete(&self, key: &str) -> StoreResult<()>;

    /// Every object whose key starts with `prefix`, in key order.
    async fn list(&self, prefix: &str) -> StoreResult<Vec<BlobMeta>>;

    /// A URL that answers the object to a plain GET until `expires_in` has passed.
    async fn presign_get(&self, key: &str, expires_in: Duration) -> StoreResult<String>;

    /// A URL that stores the body of a plain PUT under `key` until `expires_in` has passed.
    async fn presign_put(&self, key: &str, expires_in: Duration) -> StoreResult<String>;
}

/// Longest validity of a presigned URL (S3's limit for SigV4, 7 days).
pub const MAX_PRESIGN: Duration = Duration::from_secs(7 * 24 * 3600);

/// Refuses keys S3 would refuse or that could escape a directory.
pub fn validate_key(key: &str) -> StoreResult<()> {
    let bad = key.is_empty()
        || key.len() > 1024
        || key.starts_with('/')
        || key.split('/').any(|part| part.is_empty() || part == "." || part == "..")
        || key.chars().any(|c| c.is_control() || c == '\\');
    if bad {
        return Err(super::StoreError::Invalid(format!("`{key}` is not a valid object key")));
    }
    Ok(())
}

/// Which queue hears about objects created under which prefix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotificationRule {
    /// Key prefix, e.g. `uploads/`.
    pub prefix: &'static str,
    /// Logical queue name, e.g. `ingest`.
    pub queue: &'static str,
}

/// The deployment's ObjectCreated notifications, as `infra/template.yaml` declares them.
pub const NOTIFICATIONS: [NotificationRule; 3] = [
    NotificationRule { prefix: "uploads/", queue: "ingest" },
    NotificationRule { prefix: "mail/", queue: "inbound-mail" },
    NotificationRule { prefix: "solution-uploads/", queue: "workflow-steps" },
];
