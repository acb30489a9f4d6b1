//! Redaction throughput (issue [8 of 8]): `<megabytes>` of Dutch letter text with personal
//! data sprinkled in (IBANs, e-mail addresses, phone numbers, BSNs, dates, card numbers)
//! redacted with every implemented PII type and three custom texts (whole word, contains,
//! advanced); prints MB/s, twice: on the text alone, and end to end on a DOCX holding it
//! as the redact action works (read the paragraphs, find PII and custom texts in the
//! joined text, cut them out of the document's runs, write the DOCX).
//!
//! Run: `cargo run --release -p e2e --bin bench-redact [-- <megabytes>]` (default 50).

use shared::solutions::actions::per_paragraph;
use shared::solutions::detectors::{self, PiiType};
use shared::solutions::docx;
use shared::solutions::redaction::{self, CustomText, MARK, MatchMode, RedactionRules, Redactor};
use std::time::Instant;

const PARAGRAPH: &str = "Geachte heer Jansen, hierbij bevestigen wij de ontvangst van uw aanvraag van 12-03-2024. \
    Het bedrag wordt overgemaakt naar NL91 ABNA 0417 1643 00 ten name van J. Jansen. Voor vragen kunt u mailen \
    naar klantenservice@voorbeeld.nl of bellen met 020-1234567. Uw BSN 111222333 is bij ons bekend. Project \
    Apollo loopt volgens plan; de betaling met kaart 4111 1111 1111 1111 is verwerkt. Met vriendelijke groet,\n\n";

fn main() -> anyhow::Result<()> {
    let megabytes: usize = std::env::args().nth(1).map(|a| a.parse()).transpose()?.unwrap_or(50);
    let text = PARAGRAPH.repeat(megabytes * 1024 * 1024 / PARAGRAPH.len() + 1);
    let custom =
        [("Jansen", MatchMode::WholeWords), ("apollo", MatchMode::Contains), (r"\bkaart\b", MatchMode::Advanced)]
            .into_iter()
            .map(|(text, mode)| CustomText { text: text.into(), mode })
            .collect();
    let redactor = Redactor::new(&RedactionRules { pii: PiiType::PATTERNS.to_vec(), custom })
        .map_err(|p| anyhow::anyhow!(p.detail))?;
    let started = Instant::now();
    let (redacted, count) = redactor.redact(&text);
    let seconds = started.elapsed().as_secs_f64();
    anyhow::ensure!(!redacted.contains("NL91 ABNA") && !redacted.contains("Jansen"), "something was left");
    println!(
        "text: redacted {:.1} MB ({count} occurrences) in {seconds:.2} s = {:.1} MB/s",
        text.len() as f64 / 1e6,
        text.len() as f64 / 1e6 / seconds
    );
    redact_docx(&redactor, &text)
}

/// The redact action's DOCX path on a document holding `text`, timed end to end.
fn redact_docx(redactor: &Redactor, text: &str) -> anyhow::Result<()> {
    let document = docx::from_text(text);
    let started = Instant::now();
    let paragraphs = docx::paragraphs(&document)?;
    let whole = paragraphs.join("\n");
    let mut spans = redactor.custom_spans(&whole);
    spans.extend(detectors::detect(&whole, redactor.pii()).into_iter().map(|found| (found.start, found.end)));
    let spans = redaction::merge(spans);
    let redacted = docx::remove_spans(&document, &per_paragraph(&paragraphs, &spans), MARK)?;
    let seconds = started.elapsed().as_secs_f64();
    let left = docx::body_text(&redacted)?;
    anyhow::ensure!(!left.contains("NL91 ABNA") && !left.contains("Jansen"), "something was left in the DOCX");
    println!(
        "docx: redacted {:.1} MB of text ({} occurrences) in a {:.1} MB DOCX in {seconds:.2} s = {:.1} MB/s of text",
        text.len() as f64 / 1e6,
        spans.len(),
        document.len() as f64 / 1e6,
        text.len() as f64 / 1e6 / seconds
    );
    Ok(())
}
