//! Embedded adapters for running every function in one process on one machine, and the
//! one-machine engines of the Solution Center (Tesseract, a translation endpoint, pattern
//! detectors).

pub mod blobs;
pub mod mailer;
pub mod patterns;
pub mod queue;
pub mod sqlite;
pub mod table;
pub mod tesseract;
pub mod translation_endpoint;

pub use blobs::{DirBlobs, blob_routes};
pub use mailer::{OutboxMailer, SmtpRelayMailer};
pub use patterns::PatternPii;
pub use queue::SqliteQueue;
pub use table::SqliteTable;
pub use tesseract::{TesseractConfig, TesseractOcr};
pub use translation_endpoint::{NoTranslator, TranslationEndpoint};
