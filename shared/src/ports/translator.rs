//! Machine translation of a document's paragraphs (the Solution Center's translate step,
//! R-SC-10, and the translation assistant, R-TA-8), plus the batching both adapters need
//! to keep each request under their engine's size limit.

use super::engines::EngineError;
use async_trait::async_trait;
use std::ops::Range;

/// What a translation answered.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Translation {
    /// The translated paragraphs, as many as asked and in the same order.
    pub texts: Vec<String>,
    /// ISO 639-1 code of the source language when it was detected (no source given).
    pub detected_source: Option<String>,
}

/// Translates text.
#[async_trait]
pub trait Translator: Send + Sync {
    /// Translates `texts` (paragraphs) from `source` (ISO 639-1; `None` = detect it,
    /// R-SC-10, R-TA-8) into `target` (ISO 639-1). The answer has the same number of
    /// texts, in order; empty paragraphs stay empty without a call to the engine.
    async fn translate(&self, texts: &[String], source: Option<&str>, target: &str)
    -> Result<Translation, EngineError>;
}

/// Whether a paragraph needs no translation (nothing but whitespace).
pub fn is_blank(text: &str) -> bool {
    text.trim().is_empty()
}

/// Paragraphs cut into pieces that each fit one request, and how to put the translated
/// pieces back together.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Pieces {
    /// The pieces to translate, in order.
    pub pieces: Vec<String>,
    /// For each piece, the index of the paragraph it belongs to.
    owners: Vec<usize>,
}

impl Pieces {
    /// Cuts every non-blank paragraph of `texts` into pieces of at most `max_bytes` bytes
    /// (at a line end, a sentence end or a space where one is near enough).
    pub fn new(texts: &[String], max_bytes: usize) -> Pieces {
        let mut pieces = Pieces::default();
        for (index, text) in texts.iter().enumerate().filter(|(_, text)| !is_blank(text)) {
            for piece in split_text(text, max_bytes) {
                pieces.pieces.push(piece.to_string());
                pieces.owners.push(index);
            }
        }
        pieces
    }

    /// Consecutive ranges of pieces, each at most `max_bytes` bytes and `max_count` pieces
    /// together (a piece is never longer than the `max_bytes` it was cut with).
    pub fn batches(&self, max_bytes: usize, max_count: usize) -> Vec<Range<usize>> {
        let mut batches = Vec::new();
        let (mut start, mut bytes) = (0, 0);
        for (i, piece) in self.pieces.iter().enumerate() {
            if i > start && (bytes + piece.len() > max_bytes || i - start >= max_count) {
                batches.push(start..i);
                (start, bytes) = (i, 0);
            }
            bytes += piece.len();
        }
        if start < self.pieces.len() {
            batches.push(start..self.pieces.len());
        }
        batches
    }

    /// The translated paragraphs: the `translated` pieces (one per piece, in order) joined
    /// per paragraph, each with the whitespace its original piece had around it (engines
    /// trim it); blank paragraphs of `texts` as they were.
    pub fn assemble(&self, texts: &[String], translated: Vec<String>) -> Vec<String> {
        let mut out: Vec<Option<String>> = vec![None; texts.len()];
        for ((owner, original), piece) in self.owners.iter().zip(&self.pieces).zip(translated) {
            let paragraph = out[*owner].get_or_insert_with(String::new);
            paragraph.push_str(&original[..original.len() - original.trim_start().len()]);
            paragraph.push_str(piece.trim());
            paragraph.push_str(&original[original.trim_end().len()..]);
        }
        out.into_iter().zip(texts).map(|(done, text)| done.unwrap_or_else(|| text.clone())).collect()
    }
}

/// `text` cut into pieces of at most `max_bytes` bytes (for `max_bytes` ≥ 4), each cut
/// at the last line end, else sentence end, else space of the window, else a character
/// boundary. The pieces keep every character, so joined they are `text` again.
pub fn split_text(text: &str, max_bytes: usize) -> Vec<&str> {
    let max_bytes = max_bytes.max(4);
    let mut pieces = Vec::new();
    let mut rest = text;
    while rest.len() > max_bytes {
        let cut = cut_point(rest, max_bytes);
        pieces.push(&rest[..cut]);
        rest = &rest[cut..];
    }
    if !rest.is_empty() || pieces.is_empty() {
        pieces.push(rest);
    }
    pieces
}

/// Where to cut `text` so the first piece has at most `max_bytes` bytes.
fn cut_point(text: &str, max_bytes: usize) -> usize {
    let mut boundary = max_bytes;
    while !text.is_char_boundary(boundary) {
        boundary -= 1;
    }
    let window = &text[..boundary];
    let after = |found: Option<usize>, len: usize| found.map(|at| at + len).filter(|&cut| cut > boundary / 2);
    after(window.rfind('\n'), 1)
        .or_else(|| after(window.rfind(". "), 2))
        .or_else(|| after(window.rfind(' '), 1))
        .unwrap_or(boundary)
}

/// The language detected most often among `detected` (the first of equals), for a
/// translation whose paragraphs were detected one by one.
pub fn most_common(detected: &[String]) -> Option<String> {
    let count = |code: &String| detected.iter().filter(|other| *other == code).count();
    let best = detected.iter().map(count).max()?;
    detected.iter().find(|code| count(code) == best).cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(texts: &[&str]) -> Vec<String> {
        texts.iter().map(|t| t.to_string()).collect()
    }

    #[test]
    fn long_text_is_cut_at_line_sentence_or_word_ends_and_keeps_every_character() {
        let text = "Eerste zin. Tweede zin is langer dan de eerste.\nDerde regel";
        let pieces = split_text(text, 20);
        assert!(pieces.iter().all(|p| p.len() <= 20), "{pieces:?}");
        assert_eq!(pieces.concat(), text);
        assert_eq!(pieces[0], "Eerste zin. ");
        let accents = "é".repeat(30);
        let pieces = split_text(&accents, 7);
        assert!(pieces.iter().all(|p| p.len() <= 7 && !p.is_empty()));
        assert_eq!(pieces.concat(), accents);
        assert_eq!(split_text("short", 100), vec!["short"]);
    }

    #[test]
    fn blank_paragraphs_get_no_pieces_and_come_back_as_they_were() {
        let texts = strings(&["Hallo", "", "  ", "Dag"]);
        let pieces = Pieces::new(&texts, 100);
        assert_eq!(pieces.pieces, strings(&["Hallo", "Dag"]));
        let out = pieces.assemble(&texts, strings(&["HELLO", "BYE"]));
        assert_eq!(out, strings(&["HELLO", "", "  ", "BYE"]));
    }

    #[test]
    fn a_paragraph_cut_in_pieces_is_joined_again() {
        let texts = strings(&["aaaa bbbb cccc", "d"]);
        let pieces = Pieces::new(&texts, 5);
        assert_eq!(pieces.pieces, strings(&["aaaa ", "bbbb ", "cccc", "d"]));
        let translated = pieces.pieces.iter().map(|p| p.trim().to_uppercase()).collect();
        assert_eq!(pieces.assemble(&texts, translated), strings(&["AAAA BBBB CCCC", "D"]), "trimmed spaces come back");
    }

    #[test]
    fn batches_respect_bytes_and_count_and_keep_order() {
        let texts = strings(&["aaaa", "bbbb", "cccc", "dd", "e"]);
        let pieces = Pieces::new(&texts, 100);
        assert_eq!(pieces.batches(8, 10), vec![0..2, 2..5]);
        assert_eq!(pieces.batches(100, 2), vec![0..2, 2..4, 4..5]);
        assert_eq!(pieces.batches(3, 10), vec![0..1, 1..2, 2..3, 3..5], "oversized pieces go alone");
        assert!(Pieces::new(&[], 10).batches(10, 10).is_empty());
    }

    #[test]
    fn the_most_common_detected_language_wins() {
        assert_eq!(most_common(&strings(&["nl", "en", "nl"])), Some("nl".into()));
        assert_eq!(most_common(&strings(&["de", "en"])), Some("de".into()));
        assert_eq!(most_common(&[]), None);
    }
}
