//! OCR on AWS with Amazon Textract's `DetectDocumentText`: one synchronous call per page
//! (a PDF is split into single-page PDFs with lopdf), each page's LINE blocks joined with
//! line ends. A searchable PDF is the scan with the WORD blocks laid over each page as an
//! invisible text layer ([`super::textract_pdf`]).

use super::engine_errors::failure;
use super::textract_pdf::{PlacedWord, placed_words, searchable_pdf as with_text_layer};
use crate::ports::engines::{EngineError, codes};
use crate::ports::ocr::{Ocr, Recognised, ScanFormat, check_format};
use async_trait::async_trait;
use aws_sdk_textract::Client;
use aws_sdk_textract::operation::detect_document_text::DetectDocumentTextError;
use aws_sdk_textract::primitives::Blob;
use aws_sdk_textract::types::{Block, BlockType, Document};

/// Languages written in the Latin script, which Textract's text detection reads (it takes
/// no language parameter; other scripts are not recognised).
const LATIN_SCRIPT: [&str; 28] = [
    "en", "nl", "de", "fr", "es", "it", "pt", "da", "sv", "no", "nb", "nn", "fi", "is", "pl", "cs", "sk", "sl", "hu",
    "ro", "hr", "et", "lv", "lt", "ca", "ga", "tr", "af",
];

/// The OCR port on Amazon Textract.
pub struct TextractOcr {
    client: Client,
}

impl TextractOcr {
    /// Recognises through `client`.
    pub fn new(client: Client) -> Self {
        TextractOcr { client }
    }

    /// The blocks Textract finds on one single-page document.
    async fn page_blocks(&self, page: Vec<u8>) -> Result<Vec<Block>, EngineError> {
        let document = Document::builder().bytes(Blob::new(page)).build();
        let output = self.client.detect_document_text().document(document).send().await.map_err(textract_error)?;
        Ok(output.blocks.unwrap_or_default())
    }
}

#[async_trait]
impl Ocr for TextractOcr {
    async fn recognise(
        &self,
        document: &[u8],
        format: ScanFormat,
        languages: &[String],
        searchable_pdf: bool,
    ) -> Result<Recognised, EngineError> {
        check_format(document, format)?;
        check_languages(languages)?;
        let pages = match format {
            ScanFormat::Pdf => split_pdf(document)?,
            _ => vec![document.to_vec()],
        };
        let mut texts = Vec::with_capacity(pages.len());
        let mut words: Vec<Vec<PlacedWord>> = Vec::with_capacity(pages.len());
        for page in pages {
            let blocks = self.page_blocks(page).await?;
            texts.push(lines(&blocks));
            if searchable_pdf {
                words.push(placed_words(&blocks));
            }
        }
        let pdf = if searchable_pdf { Some(with_text_layer(document, format, &words)?) } else { None };
        Ok(Recognised { pages: texts, pdf })
    }
}

/// Refuses a language Textract cannot read.
fn check_languages(languages: &[String]) -> Result<(), EngineError> {
    for language in languages {
        let primary = language.split(['-', '_']).next().unwrap_or_default().to_ascii_lowercase();
        if !LATIN_SCRIPT.contains(&primary.as_str()) {
            return Err(EngineError::new(
                codes::UNSUPPORTED_LANGUAGE,
                format!("OCR on AWS (Textract) reads text in the Latin script only, not `{language}`"),
            ));
        }
    }
    Ok(())
}

/// The text of a page: its LINE blocks in reading order, one per line.
pub fn lines(blocks: &[Block]) -> String {
    let lines = blocks.iter().filter(|block| block.block_type() == Some(&BlockType::Line));
    lines.filter_map(Block::text).collect::<Vec<_>>().join("\n")
}

/// A PDF split into single-page PDFs, in page order (Textract's synchronous call reads
/// one page).
pub fn split_pdf(pdf: &[u8]) -> Result<Vec<Vec<u8>>, EngineError> {
    let unreadable =
        |e: lopdf::Error| EngineError::new(codes::UNREADABLE_DOCUMENT, format!("the PDF cannot be read: {e}"));
    let document = lopdf::Document::load_mem(pdf).map_err(unreadable)?;
    let numbers: Vec<u32> = document.get_pages().into_keys().collect();
    match numbers.len() {
        0 => Err(EngineError::new(codes::UNREADABLE_DOCUMENT, "the PDF has no pages")),
        1 => Ok(vec![pdf.to_vec()]),
        _ => numbers.iter().map(|&keep| single_page(&document, &numbers, keep).map_err(unreadable)).collect(),
    }
}

/// Page `keep` of `document` alone, as a PDF.
fn single_page(document: &lopdf::Document, numbers: &[u32], keep: u32) -> Result<Vec<u8>, lopdf::Error> {
    let mut page = document.clone();
    let others: Vec<u32> = numbers.iter().copied().filter(|&n| n != keep).collect();
    page.delete_pages(&others);
    page.prune_objects();
    let mut bytes = Vec::new();
    page.save_to(&mut bytes)?;
    Ok(bytes)
}

/// What a Textract error means for the step.
fn textract_error(err: aws_sdk_textract::error::SdkError<DetectDocumentTextError>) -> EngineError {
    let failure = failure("Textract", err);
    let unreadable = ["UnsupportedDocumentException", "BadDocumentException", "DocumentTooLargeException"];
    if unreadable.contains(&failure.code.as_str()) {
        EngineError::new(codes::UNREADABLE_DOCUMENT, failure.detail)
    } else if failure.transient {
        EngineError::transient(codes::OCR_FAILED, failure.detail)
    } else {
        EngineError::new(codes::OCR_FAILED, failure.detail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(kind: BlockType, text: &str) -> Block {
        Block::builder().block_type(kind).text(text).build()
    }

    #[test]
    fn a_page_is_its_line_blocks_joined_with_line_ends() {
        let blocks = [
            Block::builder().block_type(BlockType::Page).build(),
            block(BlockType::Line, "Geachte heer Jansen,"),
            block(BlockType::Word, "Geachte"),
            block(BlockType::Line, "Hartelijk dank voor uw brief."),
        ];
        assert_eq!(lines(&blocks), "Geachte heer Jansen,\nHartelijk dank voor uw brief.");
        assert_eq!(lines(&[]), "");
    }

    #[test]
    fn latin_script_languages_are_read_others_refused() {
        assert!(check_languages(&["nl".into(), "en".into(), "pt-BR".into()]).is_ok());
        assert_eq!(check_languages(&["ja".into()]).unwrap_err().code, "unsupported_language");
    }

    #[test]
    fn garbage_is_not_a_pdf() {
        assert_eq!(split_pdf(b"%PDF-1.4 nothing else").unwrap_err().code, "unreadable_document");
    }
}
