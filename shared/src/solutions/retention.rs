//! How long a run's documents stay: the input, each step's output and what download links
//! point to are personal data (a letter before redaction), so they are deleted 7 days after
//! they were written, and uploads that never started a run after a day. On AWS the bucket's
//! lifecycle rules (`expire-solution-documents`, `expire-solution-uploads`) do the same; the
//! daily `solution-retention` schedule does it on every storage, so one machine keeps no more.
//! Run records themselves expire from the table by TTL ([`RUN_DAYS`]).

use crate::Ctx;
use crate::ports::StoreError;
use chrono::Duration;

/// Days a run's documents are kept.
pub const DOCUMENT_DAYS: i64 = 7;
/// Days an upload that started no run is kept.
pub const UPLOAD_DAYS: i64 = 1;
/// Days a run record is kept (its `ttl`).
pub const RUN_DAYS: i64 = 30;

/// Deletes run documents and uploads older than their retention; answers how many.
pub async fn sweep(ctx: &Ctx) -> Result<usize, StoreError> {
    let now = ctx.clock.now();
    let mut removed = 0;
    for (prefix, days) in [("solutions/", DOCUMENT_DAYS), (super::runs::UPLOAD_PREFIX, UPLOAD_DAYS)] {
        for blob in ctx.blobs.list(prefix).await? {
            if blob.last_modified < now - Duration::days(days) {
                ctx.blobs.delete(&blob.key).await?;
                removed += 1;
            }
        }
    }
    Ok(removed)
}
