//! PII detection on one machine: the pattern detectors (check digits included). Names,
//! organisations and addresses need a language model, which one machine does not have, so
//! asking for them answers `pii_type_unavailable` rather than a redaction that silently
//! misses them.

use crate::ports::EngineError;
use crate::ports::pii::{Found, PiiDetector, PiiType, check_supported};
use crate::solutions::detectors;
use async_trait::async_trait;

/// The pattern detectors as a [`PiiDetector`].
#[derive(Clone, Copy, Debug, Default)]
pub struct PatternPii;

#[async_trait]
impl PiiDetector for PatternPii {
    fn supported(&self) -> Vec<PiiType> {
        PiiType::PATTERNS.to_vec()
    }

    async fn find(&self, text: &str, _language: &str, kinds: &[PiiType]) -> Result<Vec<Found>, EngineError> {
        check_supported(&PiiType::PATTERNS, kinds)?;
        Ok(detectors::detect(text, kinds))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // R-SC-12: the pattern types are found, the language-model types are refused by name.
    #[tokio::test]
    async fn pattern_types_are_found_and_names_are_refused() {
        let text = "Mail jan@example.nl, IBAN NL91 ABNA 0417 1643 00.";
        let found = PatternPii.find(text, "nl", &[PiiType::Email, PiiType::Iban]).await.unwrap();
        let kinds: Vec<_> = found.iter().map(|f| (f.kind, &text[f.start..f.end])).collect();
        assert_eq!(kinds, vec![(PiiType::Email, "jan@example.nl"), (PiiType::Iban, "NL91 ABNA 0417 1643 00")]);
        for kind in PiiType::LANGUAGE {
            let refused = PatternPii.find(text, "nl", &[PiiType::Email, kind]).await.unwrap_err();
            assert_eq!(refused.code, "pii_type_unavailable");
            assert!(refused.detail.contains(&format!("{kind:?}")), "{}", refused.detail);
        }
        assert!(!PatternPii.supported().contains(&PiiType::Person));
    }
}
