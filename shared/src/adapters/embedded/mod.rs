//! Embedded adapters for running every function in one process on one machine.

pub mod blobs;
pub mod mailer;
pub mod queue;
pub mod sqlite;
pub mod table;

pub use blobs::{DirBlobs, blob_routes};
pub use mailer::{OutboxMailer, SmtpRelayMailer};
pub use queue::SqliteQueue;
pub use table::SqliteTable;
