//! The narrow interfaces domain code talks to. Each has an AWS adapter and an embedded
//! adapter (see `crate::adapters`), and one contract test suite runs against both.

pub mod blobs;
pub mod clock;
pub mod engines;
pub mod ids;
pub mod mailer;
pub mod ocr;
pub mod pii;
pub mod queue;
pub mod table;
pub mod translator;

pub use blobs::{BlobMeta, Blobs};
pub use clock::{Clock, ManualClock, SystemClock};
pub use engines::EngineError;
pub use ids::{Ids, SequentialIds, UlidIds};
pub use mailer::{Attachment, Mail, Mailer};
pub use ocr::{Ocr, Recognised, ScanFormat};
pub use pii::PiiDetector;
pub use queue::{OutgoingMessage, Queue, ReceivedMessage};
pub use table::{Condition, Index, Item, JsonPage, Key, Page, Query, SortKey, Table, Update, Write};
pub use translator::{Translation, Translator};

/// Why a port operation failed. Adapters map their backend's errors onto these cases so
/// domain code can react the same way on AWS and on one machine.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A conditional write found the item in a different state than required.
    #[error("the condition of the write did not hold")]
    ConditionFailed,
    /// A transaction was cancelled; `failed` lists the indexes of the writes whose
    /// condition did not hold (empty when it was cancelled for another reason).
    #[error("transaction cancelled (failed writes: {failed:?})")]
    TransactionCanceled { failed: Vec<usize> },
    /// The caller passed something the port refuses (bad key, oversized batch, bad cursor).
    #[error("invalid request to storage: {0}")]
    Invalid(String),
    /// A named queue, bucket or table does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// The backend failed; the text is for logs, never for end users.
    #[error("storage backend error: {0}")]
    Backend(String),
}

impl StoreError {
    /// Wraps any backend error, keeping only its text.
    pub fn backend(err: impl std::fmt::Display) -> Self {
        StoreError::Backend(err.to_string())
    }
}

/// Result of every port operation.
pub type StoreResult<T> = Result<T, StoreError>;
