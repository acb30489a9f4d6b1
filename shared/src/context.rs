//! The context every handler receives: the ports and the deployment's configuration.

use crate::identity::tokens::TokenIssuer;
use crate::ports::{Blobs, Clock, Ids, Mailer, Ocr, PiiDetector, Queue, Table, Translator};
use std::sync::Arc;

/// Deployment-wide settings that are not storage.
#[derive(Clone)]
pub struct Config {
    /// Key for HMACs (badge and PIN hashes, guest hashes, presigned URLs). Never logged.
    pub secret: Vec<u8>,
    /// Base URL the API is reachable at (used in links in mails).
    pub public_url: String,
    /// Sender address of outgoing mail.
    pub mail_from: String,
    /// Domain of the email-to-print addresses.
    pub mail_domain: String,
    /// Largest print document accepted, in bytes; larger uploads are rejected at ingest.
    pub max_document_bytes: u64,
}

/// The largest print document accepted unless configured otherwise (100 MB).
pub const DEFAULT_MAX_DOCUMENT_BYTES: u64 = 100 * 1024 * 1024;

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("secret", &"<redacted>")
            .field("public_url", &self.public_url)
            .field("mail_from", &self.mail_from)
            .field("mail_domain", &self.mail_domain)
            .field("max_document_bytes", &self.max_document_bytes)
            .finish()
    }
}

/// The ports and configuration a handler works with; cheap to clone.
#[derive(Clone)]
pub struct Ctx {
    /// The single-table store.
    pub table: Arc<dyn Table>,
    /// Document storage.
    pub blobs: Arc<dyn Blobs>,
    /// Queues between functions.
    pub queue: Arc<dyn Queue>,
    /// Outgoing mail.
    pub mailer: Arc<dyn Mailer>,
    /// The time.
    pub clock: Arc<dyn Clock>,
    /// New identifiers.
    pub ids: Arc<dyn Ids>,
    /// Deployment settings.
    pub config: Arc<Config>,
    /// Signs and verifies the deployment's tokens.
    pub tokens: Arc<TokenIssuer>,
    /// Reads the text of scanned documents (the Solution Center's OCR step): Textract on
    /// AWS, Tesseract on one machine.
    pub ocr: Arc<dyn Ocr>,
    /// Translates paragraphs (the translate step, the translation assistant): Amazon
    /// Translate on AWS, a configured endpoint on one machine (D-TRANSLATE-ENGINE).
    pub translator: Arc<dyn Translator>,
    /// Finds personal data for redaction: patterns plus Comprehend on AWS, patterns alone
    /// on one machine.
    pub pii: Arc<dyn PiiDetector>,
}
