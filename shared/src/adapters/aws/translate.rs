//! Translation on AWS with Amazon Translate's `TranslateText` (R-SC-10, R-TA-8):
//! paragraphs are sent several to a call, joined with line ends, and the answer is split
//! on them again; a batch whose answer does not split into as many lines (or whose
//! paragraphs hold line ends themselves) is sent one paragraph per call. Each call stays
//! under Translate's 10,000-byte limit; the source language is "auto" when not given.

use super::engine_errors::failure;
use crate::ports::engines::{EngineError, codes};
use crate::ports::translator::{Pieces, Translation, Translator, most_common};
use async_trait::async_trait;
use aws_sdk_translate::Client;
use aws_sdk_translate::operation::translate_text::TranslateTextError;

/// Translate's limit on the text of one call, in bytes.
pub const MAX_CALL_BYTES: usize = 10_000;

/// Most paragraphs joined into one call (their separators count towards the limit).
const MAX_CALL_PARAGRAPHS: usize = 50;

/// The translator port on Amazon Translate.
pub struct AwsTranslator {
    client: Client,
}

impl AwsTranslator {
    /// Translates through `client`.
    pub fn new(client: Client) -> Self {
        AwsTranslator { client }
    }

    /// One `TranslateText` call: the translation and the source language Translate used.
    async fn call(&self, text: &str, source: Option<&str>, target: &str) -> Result<(String, String), EngineError> {
        let output = self
            .client
            .translate_text()
            .text(text)
            .source_language_code(source.unwrap_or("auto"))
            .target_language_code(target)
            .send()
            .await
            .map_err(translate_error)?;
        Ok((output.translated_text().to_string(), output.source_language_code().to_string()))
    }

    /// Translates the pieces of one batch, in order, joined into one call when that is safe.
    async fn batch(
        &self,
        pieces: &[String],
        source: Option<&str>,
        target: &str,
        detected: &mut Vec<String>,
    ) -> Result<Vec<String>, EngineError> {
        if pieces.len() > 1 && !pieces.iter().any(|piece| piece.contains('\n')) {
            let (joined, language) = self.call(&pieces.join("\n"), source, target).await?;
            let lines: Vec<String> = joined.split('\n').map(String::from).collect();
            if lines.len() == pieces.len() {
                detected.push(language);
                return Ok(lines);
            }
        }
        let mut translated = Vec::with_capacity(pieces.len());
        for piece in pieces {
            let (text, language) = self.call(piece, source, target).await?;
            translated.push(text);
            detected.push(language);
        }
        Ok(translated)
    }
}

#[async_trait]
impl Translator for AwsTranslator {
    async fn translate(
        &self,
        texts: &[String],
        source: Option<&str>,
        target: &str,
    ) -> Result<Translation, EngineError> {
        let budget = MAX_CALL_BYTES - MAX_CALL_PARAGRAPHS;
        let pieces = Pieces::new(texts, budget);
        let (mut translated, mut detected) = (Vec::with_capacity(pieces.pieces.len()), Vec::new());
        for batch in pieces.batches(budget, MAX_CALL_PARAGRAPHS) {
            translated.extend(self.batch(&pieces.pieces[batch], source, target, &mut detected).await?);
        }
        let detected_source = if source.is_none() { most_common(&detected) } else { None };
        Ok(Translation { texts: pieces.assemble(texts, translated), detected_source })
    }
}

/// What a Translate error means for the step.
fn translate_error(err: aws_sdk_translate::error::SdkError<TranslateTextError>) -> EngineError {
    let failure = failure("Translate", err);
    match failure.code.as_str() {
        "UnsupportedLanguagePairException" => EngineError::new(codes::UNSUPPORTED_LANGUAGE, failure.detail),
        "DetectedLanguageLowConfidenceException" => EngineError::new(
            codes::UNSUPPORTED_LANGUAGE,
            format!("the source language could not be detected with confidence; name it ({})", failure.detail),
        ),
        _ if failure.transient => EngineError::transient(codes::TRANSLATION_FAILED, failure.detail),
        _ => EngineError::new(codes::TRANSLATION_FAILED, failure.detail),
    }
}
