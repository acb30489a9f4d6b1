//! The document formats a solution works on and how each action changes them: OCR reads
//! images and PDFs and writes PDF, DOCX or TXT (R-SC-9); translation reads DOCX, TXT and
//! OCR's PDF (through its text) and writes DOCX or TXT; redaction needs DOCX or OCR's text
//! (R-SC-11, R-SCE-9); the footer needs DOCX (R-SC-13).

use super::steps::{OcrFormat, StepItem, unprocessable};
use crate::http::Problem;
use crate::ports::ScanFormat;
use serde::{Deserialize, Serialize};

/// A document's format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum DocFormat {
    /// PNG image.
    Png,
    /// JPEG image.
    Jpeg,
    /// TIFF image.
    Tiff,
    /// PDF.
    Pdf,
    /// Word document (Office Open XML).
    Docx,
    /// Plain UTF-8 text.
    Txt,
}

impl DocFormat {
    /// The format of `bytes`, by their content (never by a file name), or `None`.
    pub fn sniff(bytes: &[u8]) -> Option<DocFormat> {
        if let Some(scan) = ScanFormat::sniff(bytes) {
            return Some(match scan {
                ScanFormat::Png => DocFormat::Png,
                ScanFormat::Jpeg => DocFormat::Jpeg,
                ScanFormat::Tiff => DocFormat::Tiff,
                ScanFormat::Pdf => DocFormat::Pdf,
            });
        }
        if bytes.starts_with(b"PK\x03\x04") {
            return super::docx::paragraphs(bytes).is_ok().then_some(DocFormat::Docx);
        }
        let text = std::str::from_utf8(bytes).ok()?;
        let binary = text.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t' | '\u{c}'));
        (!binary && !text.is_empty()).then_some(DocFormat::Txt)
    }

    /// What OCR reads.
    pub fn scan(self) -> Option<ScanFormat> {
        match self {
            DocFormat::Png => Some(ScanFormat::Png),
            DocFormat::Jpeg => Some(ScanFormat::Jpeg),
            DocFormat::Tiff => Some(ScanFormat::Tiff),
            DocFormat::Pdf => Some(ScanFormat::Pdf),
            DocFormat::Docx | DocFormat::Txt => None,
        }
    }

    /// File extension.
    pub fn extension(self) -> &'static str {
        match self {
            DocFormat::Png => "png",
            DocFormat::Jpeg => "jpg",
            DocFormat::Tiff => "tiff",
            DocFormat::Pdf => "pdf",
            DocFormat::Docx => "docx",
            DocFormat::Txt => "txt",
        }
    }

    /// MIME type.
    pub fn content_type(self) -> &'static str {
        match self {
            DocFormat::Png => "image/png",
            DocFormat::Jpeg => "image/jpeg",
            DocFormat::Tiff => "image/tiff",
            DocFormat::Pdf => "application/pdf",
            DocFormat::Docx => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            DocFormat::Txt => "text/plain; charset=utf-8",
        }
    }
}

impl From<OcrFormat> for DocFormat {
    fn from(format: OcrFormat) -> Self {
        match format {
            OcrFormat::Pdf => DocFormat::Pdf,
            OcrFormat::Docx => DocFormat::Docx,
            OcrFormat::Txt => DocFormat::Txt,
        }
    }
}

/// What is known of the document between actions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Known {
    /// Not known yet (checking a solution before it runs).
    Unknown,
    /// The document is in this format; `recognised` when OCR made it (its text is known).
    Is { format: DocFormat, recognised: bool },
}

/// Checks that each action can read what the one before it writes, starting from `input`
/// (`None` when the solution is checked before a document is there). OCR runs first
/// whatever its position (R-SC-7).
pub fn check_flow(items: &[&StepItem], input: Option<DocFormat>) -> Result<(), Problem> {
    let mut known = input.map_or(Known::Unknown, |format| Known::Is { format, recognised: false });
    if let Some(StepItem::Ocr { format, .. }) = items.iter().find(|item| matches!(item, StepItem::Ocr { .. })) {
        if let Known::Is { format: given, .. } = known
            && given.scan().is_none()
        {
            return Err(unprocessable(
                "unsupported_document",
                "This solution starts with OCR: send an image (PNG, JPEG, TIFF) or a PDF (R-SCE-9).",
            ));
        }
        known = format.map_or(Known::Unknown, |format| Known::Is { format: format.into(), recognised: true });
    }
    for item in items {
        known = after(item, known)?;
    }
    Ok(())
}

/// What `item` leaves of a document it reads as `known`.
fn after(item: &StepItem, known: Known) -> Result<Known, Problem> {
    let Known::Is { format, recognised } = known else {
        return Ok(match item {
            StepItem::Translate { .. } | StepItem::Redact { .. } | StepItem::Footer { .. } => Known::Unknown,
            _ => known,
        });
    };
    let needs_ocr = || {
        unprocessable(
            "ocr_required",
            "Images and PDFs are read through OCR: add an OCR action or send a DOCX or TXT document.",
        )
    };
    let needs_docx = |what: &str| {
        unprocessable(
            "requires_docx",
            format!("{what} works on DOCX: choose DOCX as the OCR output (R-SC-11, R-SC-13)."),
        )
    };
    match item {
        StepItem::Translate { .. } => match format {
            DocFormat::Docx | DocFormat::Txt => Ok(known),
            DocFormat::Pdf if recognised => Ok(Known::Is { format: DocFormat::Docx, recognised: false }),
            _ => Err(needs_ocr()),
        },
        StepItem::Redact { .. } => match format {
            DocFormat::Docx | DocFormat::Txt => Ok(known),
            DocFormat::Pdf if recognised => Err(needs_docx("Redaction")),
            _ => Err(needs_ocr()),
        },
        StepItem::Footer { .. } => match format {
            DocFormat::Docx => Ok(known),
            DocFormat::Txt => Err(needs_docx("The footer")),
            DocFormat::Pdf if recognised => Err(needs_docx("The footer")),
            _ => Err(needs_ocr()),
        },
        _ => Ok(known),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn items(values: serde_json::Value) -> Vec<StepItem> {
        serde_json::from_value(values).unwrap()
    }

    fn flow(values: serde_json::Value, input: Option<DocFormat>) -> Result<(), String> {
        let items = items(values);
        check_flow(&items.iter().collect::<Vec<_>>(), input).map_err(|p| p.code)
    }

    #[test]
    fn r_sc_7_ocr_counts_first_wherever_it_stands() {
        let late_ocr =
            json!([{"type": "footer", "text": "x"}, {"type": "ocr", "format": "docx"}, {"type": "download"}]);
        assert_eq!(flow(late_ocr, Some(DocFormat::Png)), Ok(()));
    }

    #[test]
    fn r_sc_11_and_13_redaction_and_footer_need_docx() {
        let footer = json!([{"type": "footer", "text": "x"}, {"type": "download"}]);
        assert_eq!(flow(footer.clone(), Some(DocFormat::Txt)).unwrap_err(), "requires_docx");
        assert_eq!(flow(footer.clone(), Some(DocFormat::Png)).unwrap_err(), "ocr_required");
        assert_eq!(flow(footer, Some(DocFormat::Docx)), Ok(()));
        let redact_pdf =
            json!([{"type": "ocr", "format": "pdf"}, {"type": "redact", "pii": ["iban"]}, {"type": "download"}]);
        assert_eq!(flow(redact_pdf, None).unwrap_err(), "requires_docx");
        let redact_txt =
            json!([{"type": "ocr", "format": "txt"}, {"type": "redact", "pii": ["iban"]}, {"type": "download"}]);
        assert_eq!(flow(redact_txt, None), Ok(()));
    }

    #[test]
    fn translation_of_a_searchable_pdf_gives_docx() {
        let steps = json!([{"type": "ocr", "format": "pdf"}, {"type": "translate", "targets": ["en"]},
                           {"type": "footer", "text": "x"}, {"type": "download"}]);
        assert_eq!(flow(steps, Some(DocFormat::Pdf)), Ok(()));
    }

    #[test]
    fn r_sce_9_ocr_needs_an_image_or_pdf() {
        let steps = json!([{"type": "ocr", "format": "docx"}, {"type": "download"}]);
        assert_eq!(flow(steps, Some(DocFormat::Docx)).unwrap_err(), "unsupported_document");
    }

    #[test]
    fn formats_are_sniffed_from_content() {
        assert_eq!(DocFormat::sniff(b"%PDF-1.7\n"), Some(DocFormat::Pdf));
        assert_eq!(DocFormat::sniff(b"\x89PNG\r\n\x1a\n...."), Some(DocFormat::Png));
        assert_eq!(DocFormat::sniff("Geachte heer,\nmet vriendelijke groet".as_bytes()), Some(DocFormat::Txt));
        assert_eq!(DocFormat::sniff(b"\x00\x01binary"), None);
        assert_eq!(DocFormat::sniff(&super::super::docx::from_text("hallo")), Some(DocFormat::Docx));
    }
}
