//! What a solution's steps hold (part-4 §2.14): actions (OCR, translate, redact, footer) and
//! destinations (e-mail, download, cloud print queue), each with values that may be locked
//! by the author or left for the person running it (R-SC-19), and the checks of every value.

use super::detectors::PiiType;
use super::redaction::{CustomText, RedactionRules, Redactor};
use crate::http::Problem;
use crate::identity::users::is_email;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

/// Most target languages of one translate action (R-SC-10, R-TA-7).
pub const MAX_TARGET_LANGUAGES: usize = 5;
/// Longest footer (R-SC-13).
pub const MAX_FOOTER_CHARS: usize = 512;
/// Most e-mail recipients of one destination (R-SC-14).
pub const MAX_RECIPIENTS: usize = 50;
/// Longest recipient list, comma-separated (R-SC-14).
pub const MAX_RECIPIENT_CHARS: usize = 255;

/// The formats OCR can write (R-SC-9).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum OcrFormat {
    /// A searchable PDF: the page images with the recognised text as a text layer.
    Pdf,
    /// A Word document of the recognised text.
    Docx,
    /// Plain text.
    Txt,
}

/// One action or destination of a step, with its values. A value left out (`null`) must be
/// given when the solution runs, which only an unlocked item allows (R-SC-19).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "camelCase", rename_all_fields = "camelCase", deny_unknown_fields)]
pub enum StepItem {
    /// "Tekst extraheren met OCR": always runs first (R-SC-7).
    Ocr {
        /// Output format (R-SC-9).
        #[serde(default)]
        format: Option<OcrFormat>,
        /// Whether the person running may not change the values.
        #[serde(default)]
        locked: bool,
    },
    /// "Vertalen" (R-SC-10).
    Translate {
        /// ISO 639-1 code of the document's language; left out: detected.
        #[serde(default)]
        source: Option<String>,
        /// 1–5 ISO 639-1 codes; one document comes out per language.
        #[serde(default)]
        targets: Option<Vec<String>>,
        /// Whether the person running may not change the values.
        #[serde(default)]
        locked: bool,
    },
    /// "Redigeren" (R-SC-11, R-SC-12).
    Redact {
        /// ISO 639-1 code of the document's language (for names and addresses); default `en`.
        #[serde(default)]
        language: Option<String>,
        /// PII types to remove.
        #[serde(default)]
        pii: Option<Vec<PiiType>>,
        /// Custom texts to remove, at most 20 (D-REDACT-CUSTOM).
        #[serde(default)]
        custom: Option<Vec<CustomText>>,
        /// Whether the person running may not change the values.
        #[serde(default)]
        locked: bool,
    },
    /// "Voettekst invoegen" (R-SC-13).
    Footer {
        /// The footer, 1–512 characters.
        #[serde(default)]
        text: Option<String>,
        /// Whether the person running may not change the values.
        #[serde(default)]
        locked: bool,
    },
    /// "E-mail" destination (R-SC-14).
    Email {
        /// At most 50 addresses, at most 255 characters together.
        #[serde(default)]
        recipients: Option<Vec<String>>,
        /// "Stuur mij een kopie": the person running gets the documents too.
        #[serde(default)]
        send_copy: bool,
        /// Whether the person running may not change the values.
        #[serde(default)]
        locked: bool,
    },
    /// "Downloaden": a short-lived link in the run (portal only, R-SC-15).
    Download,
    /// "Verzenden naar Cloud-afdrukwachtrij": a held job in the runner's print queue (R-SC-16).
    PrintQueue,
}

/// Run-time values for one unlocked item (R-SC-19): only the fields of that item's type.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ItemValues {
    /// Index of the step (0-based).
    pub step: usize,
    /// Index of the item in the step (0-based).
    pub item: usize,
    /// OCR output format.
    #[serde(default)]
    pub format: Option<OcrFormat>,
    /// Translation source language.
    #[serde(default)]
    pub source: Option<String>,
    /// Translation target languages.
    #[serde(default)]
    pub targets: Option<Vec<String>>,
    /// Redaction language.
    #[serde(default)]
    pub language: Option<String>,
    /// PII types to redact.
    #[serde(default)]
    pub pii: Option<Vec<PiiType>>,
    /// Custom texts to redact.
    #[serde(default)]
    pub custom: Option<Vec<CustomText>>,
    /// Footer text.
    #[serde(default)]
    pub text: Option<String>,
    /// E-mail recipients.
    #[serde(default)]
    pub recipients: Option<Vec<String>>,
    /// Send the runner a copy.
    #[serde(default)]
    pub send_copy: Option<bool>,
}

/// 400 `invalid_field` naming the field.
pub(crate) fn invalid(field: &str, why: impl std::fmt::Display) -> Problem {
    Problem::new(StatusCode::BAD_REQUEST, "invalid_field", format!("{field}: {why}"))
}

/// 422 with `code`, for a solution whose parts do not fit together.
pub(crate) fn unprocessable(code: &str, detail: impl Into<String>) -> Problem {
    Problem::new(StatusCode::UNPROCESSABLE_ENTITY, code, detail)
}

/// Whether `code` looks like an ISO 639-1 language code, optionally with a region
/// (`nl`, `en`, `pt-BR`, `zh-TW`, `fr-CA`).
pub fn is_language(code: &str) -> bool {
    let (language, region) = code.split_once('-').unwrap_or((code, ""));
    language.len() == 2
        && language.chars().all(|c| c.is_ascii_lowercase())
        && (region.is_empty() || (2..=4).contains(&region.len()) && region.chars().all(|c| c.is_ascii_alphanumeric()))
}

impl StepItem {
    /// Whether the item delivers the document (a destination) rather than changing it.
    pub fn is_destination(&self) -> bool {
        matches!(self, StepItem::Email { .. } | StepItem::Download | StepItem::PrintQueue)
    }

    /// Whether the author locked the item's values.
    pub fn locked(&self) -> bool {
        match self {
            StepItem::Ocr { locked, .. }
            | StepItem::Translate { locked, .. }
            | StepItem::Redact { locked, .. }
            | StepItem::Footer { locked, .. }
            | StepItem::Email { locked, .. } => *locked,
            StepItem::Download | StepItem::PrintQueue => true,
        }
    }

    /// The item's type as the API names it.
    pub fn type_name(&self) -> &'static str {
        match self {
            StepItem::Ocr { .. } => "ocr",
            StepItem::Translate { .. } => "translate",
            StepItem::Redact { .. } => "redact",
            StepItem::Footer { .. } => "footer",
            StepItem::Email { .. } => "email",
            StepItem::Download => "download",
            StepItem::PrintQueue => "printQueue",
        }
    }

    /// Checks the values that are there; with `complete`, also that every value needed to
    /// run is there. A locked item must always be complete: a value is entered before it is
    /// locked (R-SC-19).
    pub fn check(&self, field: &str, complete: bool) -> Result<(), Problem> {
        let complete = complete || self.locked();
        let missing = |name: &str| {
            let why = if self.locked() { "must be given before the item is locked (R-SC-19)" } else { "must be given" };
            Err(Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "value_required", format!("{field}.{name}: {why}")))
        };
        match self {
            StepItem::Ocr { format: None, .. } if complete => missing("format"),
            StepItem::Translate { source, targets, .. } => {
                check_translate(field, source.as_deref(), targets.as_deref())?;
                if complete && targets.is_none() { missing("targets") } else { Ok(()) }
            }
            StepItem::Redact { language, pii, custom, .. } => {
                check_redact(field, language.as_deref(), pii.as_deref(), custom.as_deref())?;
                let nothing = pii.as_ref().is_none_or(Vec::is_empty) && custom.as_ref().is_none_or(Vec::is_empty);
                if complete && nothing { missing("pii") } else { Ok(()) }
            }
            StepItem::Footer { text, .. } => {
                if let Some(text) = text {
                    check_footer(&format!("{field}.text"), text)?;
                }
                if complete && text.is_none() { missing("text") } else { Ok(()) }
            }
            StepItem::Email { recipients, send_copy, .. } => {
                if let Some(recipients) = recipients {
                    check_recipients(&format!("{field}.recipients"), recipients)?;
                }
                let nobody = recipients.as_ref().is_none_or(Vec::is_empty) && !send_copy;
                if complete && nobody { missing("recipients") } else { Ok(()) }
            }
            _ => Ok(()),
        }
    }

    /// The item with the run-time `values` applied: 422 `value_locked` for a locked item,
    /// 400 for a field the item's type does not have.
    pub fn with_values(&self, field: &str, values: &ItemValues) -> Result<StepItem, Problem> {
        if self.locked() {
            return Err(unprocessable(
                "value_locked",
                format!("{field}: the solution's author locked this {} item (R-SC-19)", self.type_name()),
            ));
        }
        let mut item = self.clone();
        let given = values.given();
        let allowed: &[&str] = match &mut item {
            StepItem::Ocr { format, .. } => {
                replace(format, values.format);
                &["format"]
            }
            StepItem::Translate { source, targets, .. } => {
                replace(source, values.source.clone());
                replace(targets, values.targets.clone());
                &["source", "targets"]
            }
            StepItem::Redact { language, pii, custom, .. } => {
                replace(language, values.language.clone());
                replace(pii, values.pii.clone());
                replace(custom, values.custom.clone());
                &["language", "pii", "custom"]
            }
            StepItem::Footer { text, .. } => {
                replace(text, values.text.clone());
                &["text"]
            }
            StepItem::Email { recipients, send_copy, .. } => {
                replace(recipients, values.recipients.clone());
                if let Some(copy) = values.send_copy {
                    *send_copy = copy;
                }
                &["recipients", "sendCopy"]
            }
            StepItem::Download | StepItem::PrintQueue => &[],
        };
        if let Some(other) = given.iter().find(|name| !allowed.contains(name)) {
            return Err(invalid(&format!("{field}.{other}"), format!("a {} item has no such value", self.type_name())));
        }
        Ok(item)
    }
}

fn replace<T>(slot: &mut Option<T>, value: Option<T>) {
    if value.is_some() {
        *slot = value;
    }
}

impl ItemValues {
    /// The names of the values given.
    fn given(&self) -> Vec<&'static str> {
        let present = [
            ("format", self.format.is_some()),
            ("source", self.source.is_some()),
            ("targets", self.targets.is_some()),
            ("language", self.language.is_some()),
            ("pii", self.pii.is_some()),
            ("custom", self.custom.is_some()),
            ("text", self.text.is_some()),
            ("recipients", self.recipients.is_some()),
            ("sendCopy", self.send_copy.is_some()),
        ];
        present.into_iter().filter(|(_, given)| *given).map(|(name, _)| name).collect()
    }
}

fn check_translate(field: &str, source: Option<&str>, targets: Option<&[String]>) -> Result<(), Problem> {
    if let Some(source) = source.filter(|s| !is_language(s)) {
        return Err(invalid(&format!("{field}.source"), format!("{source:?} is not a language code such as `nl`")));
    }
    let Some(targets) = targets else { return Ok(()) };
    if targets.is_empty() || targets.len() > MAX_TARGET_LANGUAGES {
        return Err(invalid(&format!("{field}.targets"), format!("1 to {MAX_TARGET_LANGUAGES} languages (R-SC-10)")));
    }
    for (index, target) in targets.iter().enumerate() {
        if !is_language(target) {
            return Err(invalid(&format!("{field}.targets[{index}]"), format!("{target:?} is not a language code")));
        }
        if targets[..index].contains(target) {
            return Err(invalid(&format!("{field}.targets[{index}]"), format!("{target} is named twice")));
        }
    }
    Ok(())
}

fn check_redact(
    field: &str,
    language: Option<&str>,
    pii: Option<&[PiiType]>,
    custom: Option<&[CustomText]>,
) -> Result<(), Problem> {
    if let Some(language) = language.filter(|l| !is_language(l)) {
        return Err(invalid(&format!("{field}.language"), format!("{language:?} is not a language code")));
    }
    let rules = RedactionRules { pii: pii.unwrap_or_default().to_vec(), custom: custom.unwrap_or_default().to_vec() };
    Redactor::new(&rules).map(|_| ()).map_err(|mut problem| {
        problem.detail = format!("{field}.{}", problem.detail);
        problem
    })
}

fn check_footer(field: &str, text: &str) -> Result<(), Problem> {
    let length = text.chars().count();
    if text.trim().is_empty() || length > MAX_FOOTER_CHARS {
        return Err(invalid(field, format!("1 to {MAX_FOOTER_CHARS} characters (R-SC-13); this has {length}")));
    }
    Ok(())
}

/// Checks an e-mail destination's recipients (R-SC-14): valid addresses, at most 50, at
/// most 255 characters written comma-separated.
pub fn check_recipients(field: &str, recipients: &[String]) -> Result<(), Problem> {
    if recipients.len() > MAX_RECIPIENTS {
        return Err(invalid(field, format!("at most {MAX_RECIPIENTS} addresses (R-SC-14)")));
    }
    if let Some(index) = recipients.iter().position(|address| !is_email(address.trim())) {
        return Err(invalid(&format!("{field}[{index}]"), "is not an e-mail address"));
    }
    let written = recipients.iter().map(|a| a.trim().len()).sum::<usize>() + recipients.len().saturating_sub(1);
    if written > MAX_RECIPIENT_CHARS {
        return Err(invalid(
            field,
            format!("at most {MAX_RECIPIENT_CHARS} characters together (R-SC-14); these are {written}"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn item(value: serde_json::Value) -> StepItem {
        serde_json::from_value(value).expect("a well-formed item")
    }

    #[test]
    fn r_sc_19_a_locked_item_needs_its_values_and_refuses_run_time_values() {
        let locked = item(json!({"type": "footer", "locked": true}));
        assert_eq!(locked.check("steps[0].items[0]", false).unwrap_err().code, "value_required");
        let locked = item(json!({"type": "footer", "text": "Vertrouwelijk", "locked": true}));
        locked.check("f", false).unwrap();
        let values = ItemValues { text: Some("other".into()), ..ItemValues::default() };
        assert_eq!(locked.with_values("f", &values).unwrap_err().code, "value_locked");
        let open = item(json!({"type": "footer"}));
        open.check("f", false).unwrap();
        assert_eq!(open.check("f", true).unwrap_err().code, "value_required");
        let filled = open.with_values("f", &values).unwrap();
        filled.check("f", true).unwrap();
        let wrong = ItemValues { recipients: Some(vec![]), ..ItemValues::default() };
        assert!(open.with_values("f", &wrong).unwrap_err().detail.starts_with("f.recipients"));
    }

    #[test]
    fn r_sc_10_translation_has_one_to_five_distinct_targets() {
        let five = json!(["de", "fr", "en", "es", "it"]);
        item(json!({"type": "translate", "targets": five})).check("t", true).unwrap();
        for targets in [json!([]), json!(["de", "fr", "en", "es", "it", "pt"]), json!(["de", "de"]), json!(["German"])]
        {
            let problem = item(json!({"type": "translate", "targets": targets})).check("t", true).unwrap_err();
            assert_eq!(problem.code, "invalid_field", "{targets}");
        }
        assert!(item(json!({"type": "translate", "source": "xx-yy-zz", "targets": ["en"]})).check("t", true).is_err());
    }

    #[test]
    fn r_sc_13_footer_is_at_most_512_characters() {
        item(json!({"type": "footer", "text": "é".repeat(512)})).check("f", true).unwrap();
        let long = item(json!({"type": "footer", "text": "é".repeat(513)})).check("f", true).unwrap_err();
        assert!(long.detail.contains("R-SC-13"));
    }

    #[test]
    fn r_sc_14_recipients_at_most_50_and_255_characters_or_a_copy() {
        let fifty: Vec<String> = (0..50).map(|n| format!("{n}@x.nl")).collect();
        assert!(check_recipients("r", &fifty).unwrap_err().detail.contains("255"));
        let many: Vec<String> = (0..51).map(|n| format!("{n}@x.nl")).collect();
        assert!(check_recipients("r", &many).unwrap_err().detail.contains("50"));
        let fits: Vec<String> = (0..32).map(|n| format!("{n:02}@a.nl")).collect(); // 32 × 7 + 31 commas = 255
        check_recipients("r", &fits).unwrap();
        assert!(check_recipients("r", &["not an address".into()]).is_err());
        let copy_only = item(json!({"type": "email", "sendCopy": true, "locked": true}));
        copy_only.check("e", true).unwrap();
        let nobody = item(json!({"type": "email", "locked": true}));
        assert_eq!(nobody.check("e", false).unwrap_err().code, "value_required");
        // An unlocked destination may leave the recipients for the person running it.
        item(json!({"type": "email"})).check("e", false).unwrap();
    }

    #[test]
    fn d_redact_custom_limits_are_checked_with_the_item() {
        let custom: Vec<_> = (0..21).map(|n| json!({"text": format!("w{n}"), "mode": "exact"})).collect();
        let problem = item(json!({"type": "redact", "custom": custom})).check("s", true).unwrap_err();
        assert!(problem.detail.starts_with("s.custom"), "{}", problem.detail);
        item(json!({"type": "redact", "pii": ["iban"], "language": "nl"})).check("s", true).unwrap();
        assert_eq!(item(json!({"type": "redact"})).check("s", true).unwrap_err().code, "value_required");
    }

    #[test]
    fn unknown_item_types_and_fields_are_refused() {
        assert!(serde_json::from_value::<StepItem>(json!({"type": "fax"})).is_err());
        assert!(serde_json::from_value::<StepItem>(json!({"type": "ocr", "colour": true})).is_err());
    }
}
