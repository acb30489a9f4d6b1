//! What the Solution Center's engines (OCR, translation, PII detection) answer when they
//! cannot do their work, the same on AWS and on one machine, so a workflow step can tell
//! the user why and decide whether to retry.

/// Why an engine (OCR, translation, PII detection) could not do its work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {detail}")]
pub struct EngineError {
    /// One of [`codes`]: stable, for API answers and step records.
    pub code: &'static str,
    /// What went wrong, for the operator and the user; never document text or secrets.
    pub detail: String,
    /// True only for transient backend or network failures, where the same call may
    /// succeed later.
    pub retryable: bool,
}

impl EngineError {
    /// A failure that will happen again on a retry.
    pub fn new(code: &'static str, detail: impl Into<String>) -> Self {
        EngineError { code, detail: detail.into(), retryable: false }
    }

    /// A transient backend or network failure: retrying later may succeed.
    pub fn transient(code: &'static str, detail: impl Into<String>) -> Self {
        EngineError { code, detail: detail.into(), retryable: true }
    }
}

/// The codes of [`EngineError`].
pub mod codes {
    /// No OCR engine on this deployment (e.g. tesseract is not installed).
    pub const OCR_UNAVAILABLE: &str = "ocr_unavailable";
    /// Not an image or PDF the engine can read.
    pub const UNREADABLE_DOCUMENT: &str = "unreadable_document";
    /// The OCR engine failed on a readable document.
    pub const OCR_FAILED: &str = "ocr_failed";
    /// No translation engine configured (D-TRANSLATE-ENGINE: one machine without endpoint).
    pub const TRANSLATION_UNAVAILABLE: &str = "translation_unavailable";
    /// The engine does not handle this language (or pair of languages).
    pub const UNSUPPORTED_LANGUAGE: &str = "unsupported_language";
    /// The translation engine failed.
    pub const TRANSLATION_FAILED: &str = "translation_failed";
    /// A PII type this deployment cannot find (names, organisations, addresses without
    /// Amazon Comprehend).
    pub const PII_TYPE_UNAVAILABLE: &str = "pii_type_unavailable";
    /// The PII detection engine failed.
    pub const PII_DETECTION_FAILED: &str = "pii_detection_failed";
}
