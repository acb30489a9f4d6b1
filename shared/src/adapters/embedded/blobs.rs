//! The blob port on a directory: object bytes in files named by the hash of their key
//! (written to a temporary file, then renamed into place), metadata in SQLite so prefix
//! listing is a range scan. Presigned URLs point at the one-process runner, carry an
//! expiry and an HMAC signature, and are served by [`blob_routes`]. Writes under a
//! configured prefix send an S3-shaped ObjectCreated event to the configured queue.

use super::sqlite::{Database, sql};
use crate::events::s3_object_created;
use crate::ports::blobs::{self, BlobMeta, NotificationRule};
use crate::ports::{Blobs, Clock, Queue, StoreError, StoreResult};
use async_trait::async_trait;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path as UrlPath, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use rusqlite::{OptionalExtension, params};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS objects (
    key TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    content_type TEXT,
    modified_ms INTEGER NOT NULL,
    file TEXT NOT NULL
) WITHOUT ROWID;
";

/// Largest body a presigned PUT accepts under `serve`.
pub const MAX_UPLOAD_BYTES: usize = 256 * 1024 * 1024;

/// Bucket name used in the S3-shaped events of the embedded store.
pub const LOCAL_BUCKET: &str = "printcloud-local";

/// Characters kept as they are in a presigned URL's path (S3 keeps `/` too).
const KEY_PATH: &AsciiSet = &NON_ALPHANUMERIC.remove(b'/').remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// The blob port on a directory.
pub struct DirBlobs {
    root: PathBuf,
    db: Database,
    public_url: String,
    secret: Vec<u8>,
    clock: Arc<dyn Clock>,
    notifications: Vec<(NotificationRule, Arc<dyn Queue>)>,
}

impl DirBlobs {
    /// Opens (creating if needed) the store under `root`; presigned URLs start with
    /// `public_url` (the runner's address) and are signed with `secret`.
    pub fn open(root: &Path, public_url: &str, secret: &[u8], clock: Arc<dyn Clock>) -> StoreResult<Self> {
        for dir in ["objects", "tmp"] {
            std::fs::create_dir_all(root.join(dir)).map_err(StoreError::backend)?;
        }
        Ok(DirBlobs {
            root: root.to_path_buf(),
            db: Database::open(&root.join("objects.db"), SCHEMA)?,
            public_url: public_url.trim_end_matches('/').to_string(),
            secret: secret.to_vec(),
            clock,
            notifications: Vec::new(),
        })
    }

    /// Sends an ObjectCreated event to `queue` for every object written under `rule.prefix`.
    pub fn notify(mut self, rule: NotificationRule, queue: Arc<dyn Queue>) -> Self {
        self.notifications.push((rule, queue));
        self
    }

    fn file_for(&self, key: &str) -> (String, PathBuf) {
        let digest = hex::encode(Sha256::digest(key.as_bytes()));
        let relative = format!("{}/{}", &digest[..2], digest);
        let path = self.root.join("objects").join(&relative);
        (relative, path)
    }

    fn signature(&self, method: &str, key: &str, expires: i64) -> Vec<u8> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.secret).expect("HMAC takes any key length");
        mac.update(format!("{method}\n{key}\n{expires}").as_bytes());
        mac.finalize().into_bytes().to_vec()
    }

    fn presign(&self, method: &str, key: &str, expires_in: Duration) -> StoreResult<String> {
        blobs::validate_key(key)?;
        if expires_in.is_zero() || expires_in > blobs::MAX_PRESIGN {
            return Err(StoreError::Invalid("a presigned URL lives between 1 second and 7 days".into()));
        }
        let expires = self.clock.now().timestamp() + expires_in.as_secs() as i64;
        let signature = hex::encode(self.signature(method, key, expires));
        let path = utf8_percent_encode(key, KEY_PATH);
        Ok(format!("{}/blobs/{path}?expires={expires}&signature={signature}", self.public_url))
    }

    /// Checks a presigned request: `Ok` when the signature is ours and unexpired.
    fn verify(&self, method: &str, key: &str, grant: &Grant) -> Result<(), Refusal> {
        let signature = hex::decode(&grant.signature).map_err(|_| Refusal::BadSignature)?;
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.secret).expect("HMAC takes any key length");
        mac.update(format!("{method}\n{key}\n{}", grant.expires).as_bytes());
        mac.verify_slice(&signature).map_err(|_| Refusal::BadSignature)?;
        if self.clock.now().timestamp() >= grant.expires {
            return Err(Refusal::Expired);
        }
        Ok(())
    }

    async fn announce(&self, meta: &BlobMeta) -> StoreResult<()> {
        for (rule, queue) in &self.notifications {
            if meta.key.starts_with(rule.prefix) {
                let event = s3_object_created(LOCAL_BUCKET, rule.queue, meta);
                let body = serde_json::to_string(&event).map_err(StoreError::backend)?;
                queue.send(rule.queue, body).await?;
            }
        }
        Ok(())
    }
}

fn meta_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<(BlobMeta, String)> {
    let modified: i64 = row.get(3)?;
    Ok((
        BlobMeta {
            key: row.get(0)?,
            size: row.get::<_, i64>(1)? as u64,
            content_type: row.get(2)?,
            last_modified: DateTime::<Utc>::from_timestamp_millis(modified).unwrap_or_default(),
        },
        row.get(4)?,
    ))
}

impl DirBlobs {
    /// The object's metadata and file, read in place on a reading connection.
    fn lookup(&self, key: &str) -> StoreResult<Option<(BlobMeta, String)>> {
        self.db.read(|conn| {
            conn.prepare_cached("SELECT key, size, content_type, modified_ms, file FROM objects WHERE key = ?1")
                .map_err(sql)?
                .query_row(params![key], meta_from_row)
                .optional()
                .map_err(sql)
        })
    }
}

#[async_trait]
impl Blobs for DirBlobs {
    async fn put(&self, key: &str, bytes: Bytes, content_type: &str) -> StoreResult<()> {
        blobs::validate_key(key)?;
        let (relative, path) = self.file_for(key);
        let staging = self.root.join("tmp").join(ulid::Ulid::new().to_string());
        let size = bytes.len() as u64;
        let target = path.clone();
        tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            std::fs::create_dir_all(target.parent().expect("object files live in a directory"))?;
            std::fs::write(&staging, &bytes)?;
            std::fs::rename(&staging, &target)
        })
        .await
        .map_err(StoreError::backend)?
        .map_err(StoreError::backend)?;
        let meta = BlobMeta {
            key: key.to_string(),
            size,
            content_type: Some(content_type.to_string()),
            last_modified: self.clock.now(),
        };
        let row = meta.clone();
        self.db
            .run(move |conn| {
                conn.prepare_cached(
                    "INSERT OR REPLACE INTO objects (key, size, content_type, modified_ms, file) VALUES (?1, ?2, ?3, ?4, ?5)",
                )
                .map_err(sql)?
                .execute(params![row.key, row.size as i64, row.content_type, row.last_modified.timestamp_millis(), relative])
                .map_err(sql)?;
                Ok(())
            })
            .await?;
        self.announce(&meta).await
    }

    async fn get(&self, key: &str) -> StoreResult<Option<(BlobMeta, Bytes)>> {
        let Some((meta, file)) = self.lookup(key)? else { return Ok(None) };
        match tokio::fs::read(self.root.join("objects").join(file)).await {
            Ok(bytes) => Ok(Some((meta, Bytes::from(bytes)))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(StoreError::backend(e)),
        }
    }

    async fn head(&self, key: &str) -> StoreResult<Option<BlobMeta>> {
        Ok(self.lookup(key)?.map(|(meta, _)| meta))
    }

    async fn delete(&self, key: &str) -> StoreResult<()> {
        let owned = key.to_string();
        let removed: Option<String> = self
            .db
            .run(move |conn| {
                conn.prepare_cached("DELETE FROM objects WHERE key = ?1 RETURNING file")
                    .map_err(sql)?
                    .query_row(params![owned], |row| row.get(0))
                    .optional()
                    .map_err(sql)
            })
            .await?;
        let Some(file) = removed else { return Ok(()) };
        match tokio::fs::remove_file(self.root.join("objects").join(file)).await {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(StoreError::backend(e)),
            _ => Ok(()),
        }
    }

    async fn list(&self, prefix: &str) -> StoreResult<Vec<BlobMeta>> {
        let prefix = prefix.to_string();
        self.db
            .run(move |conn| {
                let mut statement = conn
                    .prepare_cached(
                        "SELECT key, size, content_type, modified_ms, file FROM objects
                         WHERE key >= ?1 AND substr(key, 1, length(?1)) = ?1 ORDER BY key",
                    )
                    .map_err(sql)?;
                let rows = statement.query_map(params![prefix], meta_from_row).map_err(sql)?;
                rows.map(|r| r.map(|(meta, _)| meta).map_err(sql)).collect()
            })
            .await
    }

    async fn presign_get(&self, key: &str, expires_in: Duration) -> StoreResult<String> {
        self.presign("GET", key, expires_in)
    }

    async fn presign_put(&self, key: &str, expires_in: Duration) -> StoreResult<String> {
        self.presign("PUT", key, expires_in)
    }
}

/// The query string of a presigned URL.
#[derive(serde::Deserialize)]
struct Grant {
    expires: i64,
    signature: String,
}

/// Why a presigned request is refused.
enum Refusal {
    BadSignature,
    Expired,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match self {
            Refusal::BadSignature => crate::http::Problem::new(
                StatusCode::FORBIDDEN,
                "signature_invalid",
                "The URL's signature does not match; ask for a new URL.",
            ),
            Refusal::Expired => crate::http::Problem::new(
                StatusCode::FORBIDDEN,
                "url_expired",
                "The URL has expired; ask for a new URL.",
            ),
        }
        .into_response()
    }
}

/// The runner's routes that answer presigned URLs: `GET` and `PUT /blobs/{key}`.
pub fn blob_routes(blobs: Arc<DirBlobs>) -> Router {
    Router::new()
        .route("/blobs/{*key}", get(download).put(upload))
        .layer(DefaultBodyLimit::max(MAX_UPLOAD_BYTES))
        .with_state(blobs)
}

async fn download(
    State(blobs): State<Arc<DirBlobs>>,
    UrlPath(key): UrlPath<String>,
    Query(grant): Query<Grant>,
) -> Result<Response, Response> {
    blobs.verify("GET", &key, &grant).map_err(IntoResponse::into_response)?;
    match blobs.get(&key).await {
        Ok(Some((meta, bytes))) => {
            let content_type = meta.content_type.unwrap_or_else(|| "application/octet-stream".into());
            Ok(([(header::CONTENT_TYPE, content_type)], bytes).into_response())
        }
        Ok(None) => Err(crate::http::Problem::not_found("The object does not exist.").into_response()),
        Err(e) => Err(crate::http::Problem::from(e).into_response()),
    }
}

async fn upload(
    State(blobs): State<Arc<DirBlobs>>,
    UrlPath(key): UrlPath<String>,
    Query(grant): Query<Grant>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, Response> {
    blobs.verify("PUT", &key, &grant).map_err(IntoResponse::into_response)?;
    let content_type =
        headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("application/octet-stream");
    blobs.put(&key, body, content_type).await.map_err(|e| crate::http::Problem::from(e).into_response())?;
    Ok(StatusCode::OK)
}
