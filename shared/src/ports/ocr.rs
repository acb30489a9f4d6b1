//! Optical character recognition, the first step of a Solution Center run: it turns a
//! scanned image or PDF into text (and, when asked, a searchable PDF).

use super::engines::EngineError;
use crate::print::documents::{self, DocumentFormat};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// The formats OCR reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ScanFormat {
    /// PNG image.
    Png,
    /// JPEG image.
    Jpeg,
    /// TIFF image (one or more pages).
    Tiff,
    /// PDF document (its pages are rasterised or sent page by page).
    Pdf,
}

impl ScanFormat {
    /// The format sniffed from the document's magic bytes (never from a name); `None` when
    /// it is none of the formats OCR reads.
    pub fn sniff(bytes: &[u8]) -> Option<ScanFormat> {
        match documents::sniff(bytes)? {
            DocumentFormat::Png => Some(ScanFormat::Png),
            DocumentFormat::Jpeg => Some(ScanFormat::Jpeg),
            DocumentFormat::Tiff => Some(ScanFormat::Tiff),
            DocumentFormat::Pdf => Some(ScanFormat::Pdf),
            _ => None,
        }
    }

    /// The usual file extension, for engines that read files.
    pub fn extension(self) -> &'static str {
        match self {
            ScanFormat::Png => "png",
            ScanFormat::Jpeg => "jpg",
            ScanFormat::Tiff => "tif",
            ScanFormat::Pdf => "pdf",
        }
    }
}

/// What OCR recognised.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Recognised {
    /// Text per page, in page order.
    pub pages: Vec<String>,
    /// A searchable PDF (the page images with an invisible text layer) when asked for.
    pub pdf: Option<Vec<u8>>,
}

/// Reads the text of scanned documents.
#[async_trait]
pub trait Ocr: Send + Sync {
    /// Recognises the text of `document` (in `format`). `languages`: ISO 639-1 codes
    /// ("nl", "en"); empty = the engine's default set. `searchable_pdf`: also answer a PDF
    /// of the pages with an invisible text layer.
    async fn recognise(
        &self,
        document: &[u8],
        format: ScanFormat,
        languages: &[String],
        searchable_pdf: bool,
    ) -> Result<Recognised, EngineError>;
}

/// Checks that `document` really is in `format`, so engines never run on bytes that
/// claim to be something else.
pub fn check_format(document: &[u8], format: ScanFormat) -> Result<(), EngineError> {
    match ScanFormat::sniff(document) {
        Some(sniffed) if sniffed == format => Ok(()),
        Some(sniffed) => Err(EngineError::new(
            super::engines::codes::UNREADABLE_DOCUMENT,
            format!("the document is a {sniffed:?} file, not {format:?}"),
        )),
        None => Err(EngineError::new(
            super::engines::codes::UNREADABLE_DOCUMENT,
            format!("the document is not a {format:?} file (nor any image or PDF OCR reads)"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_sniffed_from_magic_bytes() {
        assert_eq!(ScanFormat::sniff(b"\x89PNG\r\n\x1a\n...."), Some(ScanFormat::Png));
        assert_eq!(ScanFormat::sniff(b"\xff\xd8\xff\xe0...."), Some(ScanFormat::Jpeg));
        assert_eq!(ScanFormat::sniff(b"II*\0...."), Some(ScanFormat::Tiff));
        assert_eq!(ScanFormat::sniff(b"MM\0*...."), Some(ScanFormat::Tiff));
        assert_eq!(ScanFormat::sniff(b"%PDF-1.7\n..."), Some(ScanFormat::Pdf));
        assert_eq!(ScanFormat::sniff(b"GIF89a...."), None);
        assert_eq!(ScanFormat::sniff(b"just some text"), None);
        assert_eq!(ScanFormat::sniff(b""), None);
    }

    #[test]
    fn a_document_must_be_in_the_format_it_claims() {
        assert!(check_format(b"%PDF-1.4\n", ScanFormat::Pdf).is_ok());
        let wrong = check_format(b"%PDF-1.4\n", ScanFormat::Png).unwrap_err();
        assert_eq!(wrong.code, "unreadable_document");
        assert_eq!(check_format(&[0u8, 1, 2, 3, 250], ScanFormat::Png).unwrap_err().code, "unreadable_document");
    }
}
