//! The redaction action's text work (R-SC-12, D-REDACT-CUSTOM): the PII types chosen (by
//! [`super::detectors`]) and up to 20 custom texts of at most 512 characters, each with a
//! match mode — whole words, contains, exact (case-sensitive) or advanced (a regular
//! expression, linear-time by construction of the `regex` crate) — are removed from the
//! text, each occurrence replaced by [`MARK`]. The text is really gone, not covered.

use super::detectors::{self, PiiType};
use crate::http::Problem;
use axum::http::StatusCode;
use regex::{Regex, RegexBuilder};
use serde::{Deserialize, Serialize};

/// Most custom texts of one redact action (D-REDACT-CUSTOM).
pub const MAX_CUSTOM_TEXTS: usize = 20;
/// Longest custom text or expression (R-SC-12, D-REDACT-CUSTOM).
pub const MAX_CUSTOM_CHARS: usize = 512;
/// What replaces each redacted occurrence (the same whatever its length, so nothing of it
/// can be inferred).
pub const MARK: &str = "[REDACTED]";
/// Compiled size limit of an advanced expression.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// How a custom text matches (R-SC-12).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum MatchMode {
    /// "Alleen hele woorden": the text as a whole word or phrase, any case.
    WholeWords,
    /// "Bevat": every word that contains the text, any case.
    Contains,
    /// "Exacte overeenkomst": exactly the text, case-sensitive, wherever it occurs.
    Exact,
    /// "Geavanceerde overeenkomst": a regular expression.
    Advanced,
}

/// A custom text to redact.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CustomText {
    /// The text, or the expression in advanced mode (1–512 characters).
    pub text: String,
    /// How it matches.
    pub mode: MatchMode,
}

/// What to redact.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RedactionRules {
    /// PII types found by pattern (and check digits).
    #[serde(default)]
    pub pii: Vec<PiiType>,
    /// Custom texts, at most 20.
    #[serde(default)]
    pub custom: Vec<CustomText>,
}

/// The rules ready to run: the PII types and the compiled custom texts.
#[derive(Clone, Debug)]
pub struct Redactor {
    pii: Vec<PiiType>,
    custom: Vec<Regex>,
}

fn invalid(field: &str, why: impl std::fmt::Display) -> Problem {
    Problem::new(StatusCode::BAD_REQUEST, "invalid_field", format!("{field}: {why}"))
}

/// The expression of one custom text.
fn pattern(custom: &CustomText) -> String {
    let quoted = regex::escape(&custom.text);
    match custom.mode {
        MatchMode::WholeWords => format!(r"(?i)\b{quoted}\b"),
        MatchMode::Contains => format!(r"(?i)\w*{quoted}\w*"),
        MatchMode::Exact => quoted,
        MatchMode::Advanced => custom.text.clone(),
    }
}

impl Redactor {
    /// Checks and compiles `rules`, or 400 naming the field.
    pub fn new(rules: &RedactionRules) -> Result<Redactor, Problem> {
        if rules.custom.len() > MAX_CUSTOM_TEXTS {
            return Err(invalid("custom", format!("at most {MAX_CUSTOM_TEXTS} texts (D-REDACT-CUSTOM)")));
        }
        let mut custom = Vec::new();
        for (index, entry) in rules.custom.iter().enumerate() {
            let field = format!("custom[{index}].text");
            if entry.text.is_empty() || entry.text.chars().count() > MAX_CUSTOM_CHARS {
                return Err(invalid(&field, format!("1 to {MAX_CUSTOM_CHARS} characters")));
            }
            let compiled = RegexBuilder::new(&pattern(entry))
                .size_limit(REGEX_SIZE_LIMIT)
                .build()
                .map_err(|err| invalid(&field, format!("not a usable expression ({err})")))?;
            custom.push(compiled);
        }
        let mut pii = rules.pii.clone();
        pii.sort();
        pii.dedup();
        Ok(Redactor { pii, custom })
    }

    /// The PII types chosen, without duplicates.
    pub fn pii(&self) -> &[PiiType] {
        &self.pii
    }

    /// Where the custom texts occur in `text` (byte ranges, in order of the texts).
    pub fn custom_spans(&self, text: &str) -> Vec<(usize, usize)> {
        let mut spans = Vec::new();
        for custom in &self.custom {
            spans.extend(custom.find_iter(text).filter(|m| !m.is_empty()).map(|m| (m.start(), m.end())));
        }
        spans
    }

    /// `text` with every occurrence (pattern PII types and custom texts) removed; answers
    /// it and the number removed.
    pub fn redact(&self, text: &str) -> (String, usize) {
        let mut spans: Vec<(usize, usize)> =
            detectors::detect(text, &self.pii).into_iter().map(|found| (found.start, found.end)).collect();
        spans.extend(self.custom_spans(text));
        let spans = merge(spans);
        (cut(text, &spans), spans.len())
    }
}

/// `spans` sorted, overlapping and touching ones joined: what to cut, once each.
pub fn merge(mut spans: Vec<(usize, usize)>) -> Vec<(usize, usize)> {
    spans.sort_unstable();
    let mut merged: Vec<(usize, usize)> = Vec::with_capacity(spans.len());
    for (start, end) in spans.into_iter().filter(|(start, end)| start < end) {
        match merged.last_mut() {
            Some(last) if start <= last.1 => last.1 = last.1.max(end),
            _ => merged.push((start, end)),
        }
    }
    merged
}

/// `text` with each of the merged `spans` replaced by [`MARK`].
pub fn cut(text: &str, spans: &[(usize, usize)]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for &(start, end) in spans {
        out.push_str(&text[at..start]);
        out.push_str(MARK);
        at = end;
    }
    out.push_str(&text[at..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(pii: Vec<PiiType>, custom: Vec<(&str, MatchMode)>) -> RedactionRules {
        RedactionRules {
            pii,
            custom: custom.into_iter().map(|(text, mode)| CustomText { text: text.into(), mode }).collect(),
        }
    }

    #[test]
    fn r_sc_12_match_modes_whole_words_contains_exact_and_advanced() {
        let text = "Project Apollo en apollonia; APOLLO-team. Dossier 2024/17.";
        let whole = Redactor::new(&rules(vec![], vec![("apollo", MatchMode::WholeWords)])).unwrap();
        assert_eq!(whole.redact(text).0, "Project [REDACTED] en apollonia; [REDACTED]-team. Dossier 2024/17.");
        let contains = Redactor::new(&rules(vec![], vec![("apollo", MatchMode::Contains)])).unwrap();
        assert_eq!(contains.redact(text).0, "Project [REDACTED] en [REDACTED]; [REDACTED]-team. Dossier 2024/17.");
        let exact = Redactor::new(&rules(vec![], vec![("Apollo", MatchMode::Exact)])).unwrap();
        assert_eq!(exact.redact(text), ("Project [REDACTED] en apollonia; APOLLO-team. Dossier 2024/17.".into(), 1));
        let advanced = Redactor::new(&rules(vec![], vec![(r"Dossier \d{4}/\d+", MatchMode::Advanced)])).unwrap();
        assert_eq!(advanced.redact(text).0, "Project Apollo en apollonia; APOLLO-team. [REDACTED].");
    }

    #[test]
    fn d_redact_custom_limits_and_bad_expressions_are_refused_naming_the_field() {
        let twenty_one: Vec<(&str, MatchMode)> = (0..21).map(|_| ("x", MatchMode::Exact)).collect();
        assert!(Redactor::new(&rules(vec![], twenty_one)).unwrap_err().detail.starts_with("custom:"));
        let long = "a".repeat(513);
        let err = Redactor::new(&rules(vec![], vec![(&long, MatchMode::Exact)])).unwrap_err();
        assert!(err.detail.starts_with("custom[0].text:"));
        let err = Redactor::new(&rules(vec![], vec![("(unclosed", MatchMode::Advanced)])).unwrap_err();
        assert!(err.detail.starts_with("custom[0].text:"));
        let literal = Redactor::new(&rules(vec![], vec![("(unclosed", MatchMode::Exact)])).unwrap();
        assert_eq!(literal.redact("a (unclosed b").0, "a [REDACTED] b", "plain modes are literal text");
    }

    #[test]
    fn pii_and_overlapping_matches_are_removed_once() {
        let text = "IBAN NL91 ABNA 0417 1643 00, mail jan@example.nl, bel 06-12345678.";
        let redactor = Redactor::new(&rules(
            vec![PiiType::Iban, PiiType::Email, PiiType::PhoneNumber],
            vec![("ABNA", MatchMode::Contains)],
        ))
        .unwrap();
        let (redacted, count) = redactor.redact(text);
        assert_eq!(redacted, "IBAN [REDACTED], mail [REDACTED], bel [REDACTED].");
        assert_eq!(count, 3);
    }
}
