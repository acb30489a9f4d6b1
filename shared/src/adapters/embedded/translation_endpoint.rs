//! Translation on one machine (D-TRANSLATE-ENGINE): a configured translation endpoint that
//! speaks the LibreTranslate protocol (`POST {endpoint}/translate`), or, with none
//! configured, an engine that refuses every translation with `translation_unavailable` so
//! nothing is debited for work that cannot be done.

use crate::ports::engines::{EngineError, codes};
use crate::ports::translator::{Pieces, Translation, Translator, most_common};
use async_trait::async_trait;
use serde::Deserialize;
use serde_json::{Value, json};
use std::time::Duration;

/// Largest request body (texts) sent in one request, so an endpoint's body limit is
/// never reached.
pub const MAX_REQUEST_BYTES: usize = 50 * 1024;

/// Most paragraphs sent in one request.
const MAX_REQUEST_TEXTS: usize = 100;

/// A LibreTranslate-compatible translation endpoint.
pub struct TranslationEndpoint {
    http: reqwest::Client,
    /// Base URL, without a trailing slash.
    endpoint: String,
    /// The endpoint's API key; a secret, never logged.
    api_key: Option<String>,
}

impl std::fmt::Debug for TranslationEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TranslationEndpoint")
            .field("endpoint", &self.endpoint)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// The endpoint's answer to one request.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Answer {
    translated_text: OneOrMany<String>,
    #[serde(default)]
    detected_language: Option<OneOrMany<Detected>>,
}

/// LibreTranslate answers a list for a list of texts and a single value for one text.
#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany<T> {
    Many(Vec<T>),
    One(T),
}

impl<T> OneOrMany<T> {
    fn into_vec(self) -> Vec<T> {
        match self {
            OneOrMany::Many(many) => many,
            OneOrMany::One(one) => vec![one],
        }
    }
}

/// A detected source language.
#[derive(Deserialize)]
struct Detected {
    language: String,
}

impl TranslationEndpoint {
    /// A client of the endpoint at `endpoint` (e.g. `http://127.0.0.1:5000`), sending
    /// `api_key` with every request when given.
    pub fn new(endpoint: &str, api_key: Option<String>) -> Result<Self, EngineError> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(120))
            .build()
            .map_err(|e| EngineError::new(codes::TRANSLATION_UNAVAILABLE, format!("no HTTP client: {e}")))?;
        let endpoint = endpoint.trim().trim_end_matches('/').to_string();
        if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
            return Err(EngineError::new(
                codes::TRANSLATION_UNAVAILABLE,
                format!("the translation endpoint `{endpoint}` is not an http(s) URL"),
            ));
        }
        Ok(TranslationEndpoint { http, endpoint, api_key: api_key.filter(|key| !key.is_empty()) })
    }

    /// Translates one batch; answers the translations and the detected languages.
    async fn request(
        &self,
        texts: &[String],
        source: Option<&str>,
        target: &str,
    ) -> Result<(Vec<String>, Vec<String>), EngineError> {
        let mut body = json!({"q": texts, "source": source.unwrap_or("auto"), "target": target, "format": "text"});
        if let Some(key) = &self.api_key {
            body["api_key"] = Value::String(key.clone());
        }
        let url = format!("{}/translate", self.endpoint);
        let response = self.http.post(&url).json(&body).send().await.map_err(|e| {
            EngineError::transient(codes::TRANSLATION_FAILED, format!("the translation endpoint is unreachable: {e}"))
        })?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(|e| {
            EngineError::transient(
                codes::TRANSLATION_FAILED,
                format!("the translation endpoint's answer broke off: {e}"),
            )
        })?;
        if !status.is_success() {
            return Err(refusal(status, &bytes));
        }
        let answer: Answer = serde_json::from_slice(&bytes).map_err(|e| {
            EngineError::new(
                codes::TRANSLATION_FAILED,
                format!("the translation endpoint answered no translation: {e}"),
            )
        })?;
        let translated = answer.translated_text.into_vec();
        if translated.len() != texts.len() {
            return Err(EngineError::new(
                codes::TRANSLATION_FAILED,
                format!("the translation endpoint answered {} texts for {}", translated.len(), texts.len()),
            ));
        }
        let detected = answer.detected_language.map(OneOrMany::into_vec).unwrap_or_default();
        Ok((translated, detected.into_iter().map(|d| d.language).filter(|l| !l.is_empty()).collect()))
    }
}

/// What an error status of the endpoint means: a language it does not handle (400 naming
/// a language), a transient failure (429, 5xx), or a refusal that a retry will not change.
fn refusal(status: reqwest::StatusCode, body: &[u8]) -> EngineError {
    let message = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v.get("error").and_then(Value::as_str).map(|s| s.chars().take(200).collect::<String>()))
        .unwrap_or_default();
    let detail = format!("the translation endpoint answered {status}: {message}");
    let about_language = message.contains("not supported") || message.to_lowercase().contains("language");
    match status.as_u16() {
        400 if about_language => EngineError::new(codes::UNSUPPORTED_LANGUAGE, detail),
        401 | 403 => EngineError::new(codes::TRANSLATION_FAILED, format!("{detail} (check the API key)")),
        429 | 500..=599 => EngineError::transient(codes::TRANSLATION_FAILED, detail),
        _ => EngineError::new(codes::TRANSLATION_FAILED, detail),
    }
}

#[async_trait]
impl Translator for TranslationEndpoint {
    async fn translate(
        &self,
        texts: &[String],
        source: Option<&str>,
        target: &str,
    ) -> Result<Translation, EngineError> {
        let pieces = Pieces::new(texts, MAX_REQUEST_BYTES);
        let (mut translated, mut detected) = (Vec::with_capacity(pieces.pieces.len()), Vec::new());
        for batch in pieces.batches(MAX_REQUEST_BYTES, MAX_REQUEST_TEXTS) {
            let (texts, languages) = self.request(&pieces.pieces[batch], source, target).await?;
            translated.extend(texts);
            detected.extend(languages);
        }
        let detected_source = if source.is_none() { most_common(&detected) } else { None };
        Ok(Translation { texts: pieces.assemble(texts, translated), detected_source })
    }
}

/// The translator of a machine without a translation endpoint (D-TRANSLATE-ENGINE).
#[derive(Clone, Copy, Debug, Default)]
pub struct NoTranslator;

#[async_trait]
impl Translator for NoTranslator {
    async fn translate(&self, _: &[String], _: Option<&str>, _: &str) -> Result<Translation, EngineError> {
        Err(EngineError::new(
            codes::TRANSLATION_UNAVAILABLE,
            "no translation engine is configured on this machine: start `printcloud serve` with \
             --translate-endpoint (a LibreTranslate-compatible URL)",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_api_key_is_redacted_in_debug() {
        let endpoint = TranslationEndpoint::new("http://127.0.0.1:9/", Some("s3cret-key".into())).unwrap();
        let shown = format!("{endpoint:?}");
        assert!(!shown.contains("s3cret-key") && shown.contains("<redacted>"), "{shown}");
        assert!(shown.contains("http://127.0.0.1:9\""), "the trailing slash is dropped: {shown}");
        assert_eq!(TranslationEndpoint::new("ftp://x", None).unwrap_err().code, "translation_unavailable");
    }

    #[test]
    fn error_statuses_are_classified() {
        let code = |status: u16, body: &str| {
            let err = refusal(reqwest::StatusCode::from_u16(status).unwrap(), body.as_bytes());
            (err.code, err.retryable)
        };
        assert_eq!(code(400, r#"{"error":"xx is not supported"}"#), ("unsupported_language", false));
        assert_eq!(code(400, r#"{"error":"Invalid request: missing q parameter"}"#), ("translation_failed", false));
        assert_eq!(code(403, r#"{"error":"Invalid API key"}"#), ("translation_failed", false));
        assert_eq!(code(429, "slow down"), ("translation_failed", true));
        assert_eq!(code(502, "<html>"), ("translation_failed", true));
    }
}
