//! PII detection on AWS (R-SC-12): the pattern detectors for the identifier types, and
//! Amazon Comprehend for what only a language model finds: `DetectPiiEntities` (English,
//! Spanish: NAME → person, ADDRESS → address) and `DetectEntities` (PERSON in other
//! languages, ORGANIZATION). Text is sent in chunks under Comprehend's 100 KB limit, cut
//! between words; Comprehend's offsets count characters and are turned into byte offsets.

use super::engine_errors::{Failure, failure};
use crate::ports::engines::{EngineError, codes};
use crate::ports::pii::{Found, PiiDetector, PiiType, check_supported, sort_found};
use crate::ports::translator::split_text;
use crate::solutions::detectors;
use async_trait::async_trait;
use aws_sdk_comprehend::Client;
use aws_sdk_comprehend::types::{EntityType, LanguageCode, PiiEntityType};

/// Largest text sent in one call, in bytes (Comprehend's limit is 100 KB).
pub const MAX_CHUNK_BYTES: usize = 100_000;

/// Languages `DetectPiiEntities` reads.
const PII_ENTITY_LANGUAGES: [&str; 2] = ["en", "es"];

/// Languages `DetectEntities` reads.
const ENTITY_LANGUAGES: [&str; 12] = ["en", "es", "fr", "de", "it", "pt", "ar", "hi", "ja", "ko", "zh", "zh-TW"];

/// Which Comprehend call finds which language-model kinds.
#[derive(Debug, Default, PartialEq, Eq)]
struct Plan {
    /// Kinds asked of `DetectPiiEntities`.
    pii_entities: Vec<PiiType>,
    /// Kinds asked of `DetectEntities`.
    entities: Vec<PiiType>,
}

/// The PII detector port on the pattern detectors and Amazon Comprehend.
pub struct ComprehendPii {
    client: Client,
}

impl ComprehendPii {
    /// Detects through `client`.
    pub fn new(client: Client) -> Self {
        ComprehendPii { client }
    }

    /// `DetectPiiEntities` over one chunk: the findings of `kinds`, offsets in the chunk.
    async fn pii_entities(&self, chunk: &str, language: &str, kinds: &[PiiType]) -> Result<Vec<Found>, EngineError> {
        let output = self
            .client
            .detect_pii_entities()
            .text(chunk)
            .language_code(LanguageCode::from(language))
            .send()
            .await
            .map_err(|e| comprehend_error(failure("Comprehend DetectPiiEntities", e)))?;
        let spans = output.entities().iter().filter_map(|entity| {
            let kind = match entity.r#type()? {
                PiiEntityType::Name => PiiType::Person,
                PiiEntityType::Address => PiiType::Address,
                _ => return None,
            };
            Some((kind, entity.begin_offset()?, entity.end_offset()?))
        });
        Ok(byte_spans(chunk, spans.filter(|(kind, _, _)| kinds.contains(kind))))
    }

    /// `DetectEntities` over one chunk: the findings of `kinds`, offsets in the chunk.
    async fn entities(&self, chunk: &str, language: &str, kinds: &[PiiType]) -> Result<Vec<Found>, EngineError> {
        let output = self
            .client
            .detect_entities()
            .text(chunk)
            .language_code(LanguageCode::from(language))
            .send()
            .await
            .map_err(|e| comprehend_error(failure("Comprehend DetectEntities", e)))?;
        let spans = output.entities().iter().filter_map(|entity| {
            let kind = match entity.r#type()? {
                EntityType::Person => PiiType::Person,
                EntityType::Organization => PiiType::Organisation,
                _ => return None,
            };
            Some((kind, entity.begin_offset()?, entity.end_offset()?))
        });
        Ok(byte_spans(chunk, spans.filter(|(kind, _, _)| kinds.contains(kind))))
    }
}

#[async_trait]
impl PiiDetector for ComprehendPii {
    fn supported(&self) -> Vec<PiiType> {
        PiiType::PATTERNS.iter().chain(&PiiType::LANGUAGE).copied().collect()
    }

    async fn find(&self, text: &str, language: &str, kinds: &[PiiType]) -> Result<Vec<Found>, EngineError> {
        check_supported(&self.supported(), kinds)?;
        let language = comprehend_language(language);
        let plan = plan(&language, kinds)?;
        let mut found = detectors::detect(text, kinds);
        if plan.pii_entities.is_empty() && plan.entities.is_empty() {
            return Ok(found);
        }
        let mut offset = 0;
        for chunk in split_text(text, MAX_CHUNK_BYTES) {
            let mut in_chunk = Vec::new();
            if !plan.pii_entities.is_empty() {
                in_chunk.extend(self.pii_entities(chunk, &language, &plan.pii_entities).await?);
            }
            if !plan.entities.is_empty() {
                in_chunk.extend(self.entities(chunk, &language, &plan.entities).await?);
            }
            found.extend(in_chunk.into_iter().map(|f| Found { start: f.start + offset, end: f.end + offset, ..f }));
            offset += chunk.len();
        }
        sort_found(&mut found);
        Ok(found)
    }
}

/// Comprehend's code of an ISO 639-1 language: the primary subtag, except traditional
/// Chinese ("zh-TW").
fn comprehend_language(language: &str) -> String {
    let lower = language.trim().to_ascii_lowercase().replace('_', "-");
    if lower == "zh-tw" || lower == "zh-hant" {
        return "zh-TW".into();
    }
    lower.split('-').next().unwrap_or_default().to_string()
}

/// Which call finds each language-model kind in `language`; `unsupported_language` (before
/// any call) when Comprehend finds one of them in no call for that language.
fn plan(language: &str, kinds: &[PiiType]) -> Result<Plan, EngineError> {
    let pii_entities = PII_ENTITY_LANGUAGES.contains(&language);
    let entities = ENTITY_LANGUAGES.contains(&language);
    let mut plan = Plan::default();
    for &kind in kinds.iter().filter(|kind| !kind.is_pattern()) {
        let call = match kind {
            PiiType::Person | PiiType::Address if pii_entities => &mut plan.pii_entities,
            PiiType::Person | PiiType::Organisation if entities => &mut plan.entities,
            _ => {
                return Err(EngineError::new(
                    codes::UNSUPPORTED_LANGUAGE,
                    format!("Amazon Comprehend cannot find {kind:?} in text of language `{language}`"),
                ));
            }
        };
        if !call.contains(&kind) {
            call.push(kind);
        }
    }
    Ok(plan)
}

/// Findings at byte offsets of `chunk` from Comprehend's character offsets; spans that do
/// not fit the chunk are dropped.
fn byte_spans(chunk: &str, spans: impl Iterator<Item = (PiiType, i32, i32)>) -> Vec<Found> {
    let boundaries: Vec<usize> = chunk.char_indices().map(|(at, _)| at).chain([chunk.len()]).collect();
    let byte = |chars: i32| usize::try_from(chars).ok().and_then(|chars| boundaries.get(chars).copied());
    spans
        .filter_map(|(kind, begin, end)| match (byte(begin), byte(end)) {
            (Some(start), Some(end)) if start < end => Some(Found { kind, start, end }),
            _ => None,
        })
        .collect()
}

/// What a Comprehend error means for the step.
fn comprehend_error(failure: Failure) -> EngineError {
    let about_language = failure.code == "UnsupportedLanguageException"
        || (failure.code == "ValidationException" && failure.detail.contains("languageCode"));
    if about_language {
        EngineError::new(codes::UNSUPPORTED_LANGUAGE, failure.detail)
    } else if failure.transient {
        EngineError::transient(codes::PII_DETECTION_FAILED, failure.detail)
    } else {
        EngineError::new(codes::PII_DETECTION_FAILED, failure.detail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn character_offsets_become_byte_offsets() {
        let chunk = "Één naïeve café: Jansen";
        let start_chars = chunk.chars().position(|c| c == 'J').unwrap() as i32;
        let found = byte_spans(chunk, [(PiiType::Person, start_chars, start_chars + 6)].into_iter());
        assert_eq!(&chunk[found[0].start..found[0].end], "Jansen");
        let outside = byte_spans(chunk, [(PiiType::Person, 20, 400), (PiiType::Person, 5, 5)].into_iter());
        assert!(outside.is_empty(), "spans outside the chunk or empty are dropped");
    }

    #[test]
    fn each_kind_goes_to_the_call_that_finds_it_in_the_language() {
        let all = [PiiType::Person, PiiType::Organisation, PiiType::Address, PiiType::Email];
        let english = plan("en", &all).unwrap();
        assert_eq!(english.pii_entities, vec![PiiType::Person, PiiType::Address]);
        assert_eq!(english.entities, vec![PiiType::Organisation]);
        let german = plan("de", &[PiiType::Person, PiiType::Organisation]).unwrap();
        assert_eq!((german.pii_entities.len(), german.entities.len()), (0, 2));
        assert_eq!(plan("de", &[PiiType::Address]).unwrap_err().code, "unsupported_language");
        assert_eq!(plan("nl", &[PiiType::Person]).unwrap_err().code, "unsupported_language");
        assert_eq!(plan("nl", &[PiiType::Iban]).unwrap(), Plan::default(), "patterns need no call");
        assert_eq!(comprehend_language("zh_TW"), "zh-TW");
        assert_eq!(comprehend_language("EN-gb"), "en");
    }

    #[test]
    fn long_text_is_cut_into_chunks_under_the_limit_between_words() {
        let text = "woord ".repeat(40_000);
        let chunks = split_text(&text, MAX_CHUNK_BYTES);
        assert!(chunks.len() >= 3 && chunks.iter().all(|c| c.len() <= MAX_CHUNK_BYTES && c.ends_with(' ')));
        assert_eq!(chunks.concat(), text);
    }
}
