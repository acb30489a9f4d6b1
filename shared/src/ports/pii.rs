//! Finding personal data in text, for the Solution Center's redact action (part-4 §2.16,
//! R-SC-12): identifiers by pattern everywhere, names, organisations and addresses where a
//! language model is available.

use super::engines::{EngineError, codes};
pub use crate::solutions::detectors::{Found, PiiType};
use async_trait::async_trait;

/// Finds personal data in text.
#[async_trait]
pub trait PiiDetector: Send + Sync {
    /// The PII types this deployment can find.
    fn supported(&self) -> Vec<PiiType>;

    /// Where the `kinds` occur in `text` (byte offsets, in order of position); `language`
    /// is the ISO 639-1 code of the text. A kind not in [`PiiDetector::supported`] →
    /// `pii_type_unavailable`.
    async fn find(&self, text: &str, language: &str, kinds: &[PiiType]) -> Result<Vec<Found>, EngineError>;
}

/// Refuses the `kinds` that `supported` lacks, naming them, so a redaction never silently
/// leaves a requested type unredacted.
pub fn check_supported(supported: &[PiiType], kinds: &[PiiType]) -> Result<(), EngineError> {
    let missing: Vec<PiiType> = kinds.iter().copied().filter(|kind| !supported.contains(kind)).collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(EngineError::new(
        codes::PII_TYPE_UNAVAILABLE,
        format!("this deployment cannot find {missing:?}: it needs a language model (Amazon Comprehend on AWS)"),
    ))
}

/// Puts findings in the order the port promises: by position, longer first.
pub fn sort_found(found: &mut [Found]) {
    found.sort_by_key(|f| (f.start, std::cmp::Reverse(f.end), f.kind));
}
