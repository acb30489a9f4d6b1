//! The DOCX engine of the Solution Center: reads the text of Office Open XML
//! WordprocessingML documents and rewrites them — redaction (R-SC-12), translation, a
//! footer on every page (R-SC-13) — and makes a new DOCX out of plain text.
//!
//! Every XML part is streamed once with `quick-xml`. A rewrite copies the source bytes of
//! every event it keeps and splices in only what changes, so untouched markup stays
//! byte-for-byte and the work is linear in the size of the part. Zip entries that are not
//! rewritten are copied raw (still compressed), in their original order.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::io::{Cursor, Read, Write};

use quick_xml::Reader;
use quick_xml::XmlVersion;
use quick_xml::events::attributes::Attribute;
use quick_xml::events::{BytesRef, BytesStart, Event};
use regex::Regex;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipArchive, ZipWriter};

/// Most zip entries a DOCX may have (zip-bomb guard).
pub const MAX_ENTRIES: usize = 1_000;
/// Most bytes all parts read from one DOCX may inflate to (zip-bomb guard).
pub const MAX_TOTAL_BYTES: u64 = 200_000_000;
/// Most bytes one XML part may inflate to (zip-bomb guard).
pub const MAX_PART_BYTES: u64 = 100_000_000;

/// Why a file could not be read or rewritten as DOCX.
#[derive(Debug, thiserror::Error)]
pub enum DocxError {
    /// Not a zip archive, or no `word/document.xml` in it.
    #[error("not a DOCX file: {0}")]
    NotDocx(String),
    /// A DOCX whose zip or XML is broken, or a request that does not fit the document
    /// (spans outside a paragraph, a wrong number of paragraph texts).
    #[error("damaged DOCX file: {0}")]
    Damaged(String),
    /// Over one of the zip-bomb limits ([`MAX_ENTRIES`], [`MAX_TOTAL_BYTES`],
    /// [`MAX_PART_BYTES`]).
    #[error("DOCX file too large: {0}")]
    TooLarge(String),
}

type Result<T> = std::result::Result<T, DocxError>;

fn damaged(what: impl std::fmt::Display) -> DocxError {
    DocxError::Damaged(what.to_string())
}

const DOCUMENT: &str = "word/document.xml";
const DOCUMENT_RELS: &str = "word/_rels/document.xml.rels";
const CONTENT_TYPES: &str = "[Content_Types].xml";
const XML_DECL: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\r\n";
const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";
/// Up-front allocation cap for an inflated part (its declared size is not trusted).
const PREALLOC_CAP: u64 = 16 << 20;
/// Shortest removed text (in characters) that is also hunted for in link targets, field
/// instructions and alt texts; shorter ones would match unrelated text there.
const MIN_HUNTED_CHARS: usize = 3;

// ---------------------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------------------

/// Every text paragraph of the document, in reading order, of every part that holds text:
/// `word/document.xml`, then the headers, footers, footnotes, endnotes and comments. This
/// is the unit the workflow steps (OCR, translate, redact) work on, and the indexes that
/// [`remove_spans`] and [`replace_paragraphs`] take.
///
/// A paragraph's text is its `w:t` runs concatenated, `w:tab` as `'\t'`, `w:br` and `w:cr`
/// as `'\n'` (a page break, `w:br w:type="page"`, as `'\f'`), `w:noBreakHyphen` as `'-'`.
/// Field instructions and deleted revision text (`w:delText`) are not paragraph text;
/// inserted revisions, hyperlinks, fields' results, content controls and table cells are.
/// A paragraph nested in another (a text box) is its own paragraph, right after the one
/// holding it.
pub fn paragraphs(docx: &[u8]) -> Result<Vec<String>> {
    let mut pkg = Package::open(docx)?;
    let parts = pkg.read_text_parts()?;
    read_paragraphs(&parts)
}

/// The body text (`word/document.xml` paragraphs only, joined by `'\n'`) — what a user
/// reads as "the text of the document"; used to count characters for quotas.
pub fn body_text(docx: &[u8]) -> Result<String> {
    let mut pkg = Package::open(docx)?;
    let xml = pkg.read_required(DOCUMENT)?;
    let part = Walker::run(&xml, Mode::Read, &Scrub::NONE, 0)?;
    Ok(part.texts.join("\n"))
}

/// All text of all parts ([`paragraphs`] joined by `'\n'`), for search and detection.
pub fn all_text(docx: &[u8]) -> Result<String> {
    Ok(paragraphs(docx)?.join("\n"))
}

/// Redaction (R-SC-12): the document with, in each paragraph `i` (same order and text as
/// [`paragraphs`]), the byte ranges `spans[i]` (sorted, disjoint, on character boundaries)
/// removed and each replaced by `mark`. The characters are really gone from the XML, not
/// hidden or covered: the mark goes into the first run the span touches and the rest of the
/// span is cut from every run it was in; run formatting is otherwise kept. `spans` may be
/// shorter than the paragraph list (nothing to remove in the rest).
///
/// Also removed, so that nothing of a person or a redacted text is left behind:
/// - all deleted revision text (`w:delText`) — it is not paragraph text, so it is dropped
///   entirely rather than matched;
/// - the authors of comments and revisions (`w:author`, `w:initials` attributes), the
///   people list (`word/people.xml`), and the document properties `dc:creator`,
///   `cp:lastModifiedBy` (`docProps/core.xml`) and `Manager` (`docProps/app.xml`);
/// - every removed text of at least 3 characters where it also occurs in a field
///   instruction (`w:instrText`), an alt text or tooltip (`descr`, `title`, `tooltip`
///   attributes) — replaced by `mark` there — or an external link target of a text part's
///   relationships (set to `about:blank`), e.g. the `mailto:` link Word makes of an address.
///
/// Errors: [`DocxError::Damaged`] also for spans that are unsorted, overlapping, not on a
/// character boundary, or outside their paragraph.
pub fn remove_spans(docx: &[u8], spans: &[Vec<(usize, usize)>], mark: &str) -> Result<Vec<u8>> {
    check_spans(spans)?;
    let mut pkg = Package::open(docx)?;
    let parts = pkg.read_text_parts()?;
    let texts = read_paragraphs(&parts)?;
    if spans.iter().skip(texts.len()).any(|s| !s.is_empty()) {
        return Err(damaged("spans given for paragraphs the document does not have"));
    }
    let hunted = hunted_texts(&texts, spans)?;
    let mode = Mode::Redact { spans, mark, hunted: hunted.as_ref() };
    let (mut changed, _) = rewrite_parts(&parts, mode, &Scrub::TEXT)?;
    if let Some(hunted) = &hunted {
        scrub_link_targets(&mut pkg, &parts, hunted, &mut changed)?;
    }
    scrub_people(&mut pkg, &mut changed)?;
    pkg.write(changed, Vec::new())
}

/// Translation: the document with paragraph `i`'s text replaced by `texts[i]`. The text
/// goes into the paragraph's first text run (keeping its run properties; `'\t'`, `'\n'`
/// and `'\f'` become a tab, a line break and a page break), the other runs' text is
/// removed, paragraph properties are kept. `texts.len()` must equal the length of
/// [`paragraphs`], else [`DocxError::Damaged`].
pub fn replace_paragraphs(docx: &[u8], texts: &[String]) -> Result<Vec<u8>> {
    let mut pkg = Package::open(docx)?;
    let parts = pkg.read_text_parts()?;
    let (changed, count) = rewrite_parts(&parts, Mode::Replace { texts }, &Scrub::NONE)?;
    if count != texts.len() {
        return Err(damaged(format!("{} paragraph texts given for {count} paragraphs", texts.len())));
    }
    pkg.write(changed, Vec::new())
}

/// The footer action (R-SC-13): the document with a footer holding `text` on every page.
/// Adds a new footer part (`word/footerN.xml`, a fresh name), its relationship in
/// `word/_rels/document.xml.rels`, its content-type override, and a
/// `w:footerReference` of each type (default, first, even) in every `w:sectPr` of the body,
/// replacing the footer references there (creating a body-level `w:sectPr` if there is
/// none), so a title page or an even page shows it too. Each `'\n'` in `text` starts a new
/// paragraph; the caller enforces the 512-character limit.
pub fn with_footer(docx: &[u8], text: &str) -> Result<Vec<u8>> {
    let mut pkg = Package::open(docx)?;
    let document = pkg.read_required(DOCUMENT)?;
    let rels = pkg.read(DOCUMENT_RELS)?;
    let types = pkg.read(CONTENT_TYPES)?.ok_or_else(|| damaged("no [Content_Types].xml"))?;
    let flavor = Flavor::of(&document);
    let plan = FooterPlan::new(&pkg, rels.as_deref(), &types)?;
    let mut changed = HashMap::new();
    let mut added = Vec::new();
    let relationship = plan.relationship(flavor);
    match &rels {
        Some(rels) => {
            changed.insert(DOCUMENT_RELS.to_owned(), insert_before_root_end(rels, &relationship)?);
        }
        None => added.push((DOCUMENT_RELS.to_owned(), new_relationships(&relationship))),
    }
    changed.insert(CONTENT_TYPES.to_owned(), insert_before_root_end(&types, &plan.override_entry())?);
    changed.insert(DOCUMENT.to_owned(), reference_footer(&document, &plan.rid, flavor)?);
    added.push((plan.part_name(), footer_xml(text, flavor)));
    pkg.write(changed, added)
}

/// A new, valid DOCX holding `text`, for workflows whose input is not a DOCX (OCR output,
/// mail bodies): one paragraph per line (`'\n'`; a `'\r'` before it is dropped), a tab for
/// `'\t'` and a page break where the text has `'\f'`. Characters XML cannot hold (other
/// control characters) are left out; otherwise [`paragraphs`] gives the lines back.
pub fn from_text(text: &str) -> Vec<u8> {
    let entries = [
        (CONTENT_TYPES, NEW_CONTENT_TYPES.as_bytes().to_vec()),
        ("_rels/.rels", NEW_PACKAGE_RELS.as_bytes().to_vec()),
        (DOCUMENT, new_document_xml(text)),
        (DOCUMENT_RELS, NEW_DOCUMENT_RELS.as_bytes().to_vec()),
        ("word/styles.xml", NEW_STYLES.as_bytes().to_vec()),
    ];
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    for (name, data) in entries {
        zip.start_file(name, entry_options(None))
            .and_then(|()| zip.write_all(&data).map_err(Into::into))
            .expect("writing a zip into memory cannot fail");
    }
    zip.finish().expect("writing a zip into memory cannot fail").into_inner()
}

// ---------------------------------------------------------------------------------------
// The zip package
// ---------------------------------------------------------------------------------------

/// The zip-bomb limits of one package (the public constants; smaller in tests).
#[derive(Clone, Copy, Debug)]
struct Limits {
    entries: usize,
    total: u64,
    part: u64,
}

impl Limits {
    const DEFAULT: Limits = Limits { entries: MAX_ENTRIES, total: MAX_TOTAL_BYTES, part: MAX_PART_BYTES };
}

/// An opened DOCX: the zip, its entry names in order, and the bytes inflated so far.
struct Package<'a> {
    archive: ZipArchive<Cursor<&'a [u8]>>,
    names: Vec<Option<String>>,
    limits: Limits,
    inflated: u64,
}

impl<'a> Package<'a> {
    fn open(bytes: &'a [u8]) -> Result<Self> {
        Self::open_with(bytes, Limits::DEFAULT)
    }

    fn open_with(bytes: &'a [u8], limits: Limits) -> Result<Self> {
        let archive =
            ZipArchive::new(Cursor::new(bytes)).map_err(|e| DocxError::NotDocx(format!("not a zip archive: {e}")))?;
        if archive.len() > limits.entries {
            return Err(DocxError::TooLarge(format!(
                "{} zip entries, at most {} allowed",
                archive.len(),
                limits.entries
            )));
        }
        let names = archive.file_names().map(|n| n.ok().map(Cow::into_owned)).collect();
        let pkg = Package { archive, names, limits, inflated: 0 };
        if pkg.index_of(DOCUMENT).is_none() {
            return Err(DocxError::NotDocx("no word/document.xml".into()));
        }
        Ok(pkg)
    }

    fn index_of(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n.as_deref() == Some(name))
    }

    /// The inflated part, or None when there is no such entry.
    fn read(&mut self, name: &str) -> Result<Option<Vec<u8>>> {
        match self.index_of(name) {
            Some(index) => self.inflate(index, name).map(Some),
            None => Ok(None),
        }
    }

    fn read_required(&mut self, name: &str) -> Result<Vec<u8>> {
        self.read(name)?.ok_or_else(|| DocxError::NotDocx(format!("no {name}")))
    }

    /// Inflates one entry, counting the bytes as they come (the declared size is not
    /// trusted) against the part and total limits.
    fn inflate(&mut self, index: usize, name: &str) -> Result<Vec<u8>> {
        let total_left = self.limits.total.saturating_sub(self.inflated);
        let limit = total_left.min(self.limits.part);
        let too_large = || {
            if total_left < self.limits.part {
                DocxError::TooLarge(format!("the parts inflate to more than {} bytes in total", self.limits.total))
            } else {
                DocxError::TooLarge(format!("{name} inflates to more than {} bytes", self.limits.part))
            }
        };
        let mut file = self.archive.by_index(index).map_err(|e| damaged(format!("{name}: {e}")))?;
        if file.size() > limit {
            return Err(too_large());
        }
        let mut data = Vec::with_capacity(file.size().min(PREALLOC_CAP) as usize);
        Read::by_ref(&mut file).take(limit + 1).read_to_end(&mut data).map_err(|e| damaged(format!("{name}: {e}")))?;
        if data.len() as u64 > limit {
            return Err(too_large());
        }
        self.inflated += data.len() as u64;
        Ok(data)
    }

    /// The parts that hold text, in reading order, inflated.
    fn read_text_parts(&mut self) -> Result<Vec<(String, Vec<u8>)>> {
        let mut ranked: Vec<((u8, u64), &String)> =
            self.names.iter().flatten().filter_map(|name| Some((text_part_rank(name)?, name))).collect();
        ranked.sort();
        let names: Vec<String> = ranked.into_iter().map(|(_, n)| n.clone()).collect();
        let mut parts = Vec::with_capacity(names.len());
        for name in names {
            let data = self.read_required(&name)?;
            parts.push((name, data));
        }
        Ok(parts)
    }

    /// The rewritten package: every entry in its original order, the `changed` ones with
    /// their new content, the others copied raw; then the `added` ones.
    fn write(mut self, mut changed: HashMap<String, Vec<u8>>, added: Vec<(String, Vec<u8>)>) -> Result<Vec<u8>> {
        let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
        for index in 0..self.names.len() {
            let name = self.names[index].clone();
            let file = self.archive.by_index_raw(index).map_err(damaged)?;
            match name.and_then(|n| Some((changed.remove(&n)?, n))) {
                Some((data, name)) => {
                    let options = entry_options(file.last_modified());
                    drop(file);
                    add_entry(&mut zip, name, options, &data)?;
                }
                None => zip.raw_copy_file(file).map_err(damaged)?,
            }
        }
        for (name, data) in added {
            add_entry(&mut zip, name, entry_options(None), &data)?;
        }
        Ok(zip.finish().map_err(damaged)?.into_inner())
    }
}

fn add_entry(
    zip: &mut ZipWriter<Cursor<Vec<u8>>>,
    name: String,
    options: SimpleFileOptions,
    data: &[u8],
) -> Result<()> {
    zip.start_file(name, options.large_file(data.len() as u64 >= u64::from(u32::MAX))).map_err(damaged)?;
    zip.write_all(data).map_err(damaged)
}

fn entry_options(modified: Option<DateTime>) -> SimpleFileOptions {
    let options = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
    match modified {
        Some(time) => options.last_modified_time(time),
        None => options,
    }
}

/// Where a part comes in reading order, or None when it holds no paragraphs we read.
fn text_part_rank(name: &str) -> Option<(u8, u64)> {
    let rest = name.strip_prefix("word/")?;
    match rest {
        "document.xml" => Some((0, 0)),
        "footnotes.xml" => Some((3, 0)),
        "endnotes.xml" => Some((4, 0)),
        "comments.xml" => Some((5, 0)),
        _ => numbered(rest, "header", 1).or_else(|| numbered(rest, "footer", 2)),
    }
}

/// `headerN.xml`/`footerN.xml` ranked by N, so that header10 comes after header9.
fn numbered(rest: &str, stem: &str, rank: u8) -> Option<(u8, u64)> {
    let digits = rest.strip_prefix(stem)?.strip_suffix(".xml")?;
    if digits.is_empty() {
        return Some((rank, 0));
    }
    Some((rank, digits.parse().ok()?))
}

// ---------------------------------------------------------------------------------------
// Paragraph passes over the text parts
// ---------------------------------------------------------------------------------------

/// What a pass over a part does with its paragraphs.
#[derive(Clone, Copy)]
enum Mode<'m> {
    /// Paragraphs are not looked at; only [`Scrub`] applies.
    Scrub,
    /// Collect each paragraph's text.
    Read,
    /// Cut spans out of each paragraph's text, a mark where each starts; `hunted` finds the
    /// removed texts in field instructions and alt texts.
    Redact { spans: &'m [Vec<(usize, usize)>], mark: &'m str, hunted: Option<&'m Regex> },
    /// Replace each paragraph's text.
    Replace { texts: &'m [String] },
}

impl Mode<'_> {
    fn paragraphs(&self) -> bool {
        !matches!(self, Mode::Scrub)
    }
}

/// Names of people to clear in a part: the text of elements and the values of attributes
/// with these local names.
struct Scrub {
    elements: &'static [&'static str],
    attributes: &'static [&'static str],
}

impl Scrub {
    const NONE: Scrub = Scrub { elements: &[], attributes: &[] };
    /// Text parts: deleted revision text, comment and revision authors.
    const TEXT: Scrub = Scrub { elements: &["delText"], attributes: &["author", "initials"] };
}

/// The other parts that name people, and what to clear in them.
const PEOPLE_PARTS: [(&str, Scrub); 3] = [
    ("docProps/core.xml", Scrub { elements: &["creator", "lastModifiedBy"], attributes: &[] }),
    ("docProps/app.xml", Scrub { elements: &["Manager"], attributes: &[] }),
    ("word/people.xml", Scrub { elements: &[], attributes: &["author", "userId"] }),
];

/// Attributes that hold text a person wrote (alt texts, tooltips), searched for removed
/// texts when redacting.
const HUMAN_ATTRIBUTES: [&str; 3] = ["descr", "title", "tooltip"];

/// What the enclosing elements are, as far as paragraphs care.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Para,
    Run,
    Other,
}

/// An open paragraph.
struct Para {
    /// Index in the whole document (all parts).
    index: usize,
    /// Bytes of text so far.
    len: usize,
    /// The text so far (read mode only).
    text: String,
    /// Next span to apply (redact mode).
    cursor: usize,
    /// Whether the new text went in already (replace mode).
    placed: bool,
    /// The paragraph element's namespace prefix (replace mode).
    prefix: String,
}

/// One piece of a paragraph's text: the content of a text element, or an element that
/// stands for one character.
#[derive(Clone, Copy)]
enum Piece<'e> {
    Text { qname: &'e str, text: &'e str },
    Char { qname: &'e str, ch: char },
}

impl Piece<'_> {
    fn qname(&self) -> &str {
        match self {
            Piece::Text { qname, .. } | Piece::Char { qname, .. } => qname,
        }
    }
}

/// The outcome of one pass over a part.
struct PartResult {
    /// How many paragraphs the part has.
    count: usize,
    /// Their texts (read mode).
    texts: Vec<String>,
    /// The rewritten part, when anything changed.
    rewritten: Option<Vec<u8>>,
}

/// A streaming pass over one XML part.
struct Walker<'a, 'm> {
    reader: Reader<&'a [u8]>,
    splicer: Splicer<'a>,
    mode: Mode<'m>,
    scrub: &'m Scrub,
    stack: Vec<Kind>,
    paras: Vec<Para>,
    base: usize,
    count: usize,
    texts: Vec<String>,
    scratch: String,
}

impl<'a, 'm> Walker<'a, 'm> {
    /// Runs one pass; `base` is the document-wide index of the part's first paragraph.
    fn run(xml: &'a [u8], mode: Mode<'m>, scrub: &'m Scrub, base: usize) -> Result<PartResult> {
        let splicer = Splicer::new(xml);
        let walker = Walker {
            reader: splicer.reader(),
            splicer,
            mode,
            scrub,
            stack: Vec::new(),
            paras: Vec::new(),
            base,
            count: 0,
            texts: Vec::new(),
            scratch: String::new(),
        };
        walker.walk()
    }

    fn walk(mut self) -> Result<PartResult> {
        loop {
            let before = pos(&self.reader);
            match self.reader.read_event().map_err(|e| xml_error(&self.reader, e))? {
                Event::Start(e) => self.on_start(&e, before)?,
                Event::Empty(e) => self.on_empty(&e, before)?,
                Event::End(_) => self.on_end(before)?,
                Event::Eof => break,
                _ => {}
            }
        }
        if !self.stack.is_empty() {
            return Err(damaged("XML ends inside an element"));
        }
        Ok(PartResult { count: self.count, texts: self.texts, rewritten: self.splicer.finish() })
    }

    fn parent(&self) -> Option<Kind> {
        self.stack.last().copied()
    }

    fn in_run(&self) -> bool {
        self.mode.paragraphs() && self.parent() == Some(Kind::Run)
    }

    fn on_start(&mut self, e: &BytesStart<'a>, before: usize) -> Result<()> {
        let local = e.local_name();
        let local = local.as_ref();
        if self.mode.paragraphs() && local == "p" {
            self.open_para(e);
            self.stack.push(Kind::Para);
        } else if local == "r" {
            self.stack.push(Kind::Run);
        } else if self.in_run() && local == "t" {
            self.on_text_element(e, before)?;
        } else if let Some(ch) = self.in_run().then(|| char_of(local, e)).flatten() {
            self.reader.read_to_end(e.name()).map_err(|err| xml_error(&self.reader, err))?;
            let piece = Piece::Char { qname: e.name().0, ch };
            self.on_piece(piece, before, pos(&self.reader))?;
        } else if self.scrub.elements.contains(&local) {
            self.clear_element(e, before)?;
        } else if local == "instrText" && matches!(self.mode, Mode::Redact { hunted: Some(_), .. }) {
            self.redact_instruction(e, before)?;
        } else {
            self.scrub_attributes(e, before, false)?;
            self.stack.push(Kind::Other);
        }
        Ok(())
    }

    fn on_empty(&mut self, e: &BytesStart<'a>, before: usize) -> Result<()> {
        let after = pos(&self.reader);
        let local = e.local_name();
        let local = local.as_ref();
        if self.mode.paragraphs() && local == "p" {
            self.open_para(e);
            self.close_para(before, Some((e, after)))
        } else if self.in_run() && local == "t" {
            let piece = Piece::Text { qname: e.name().0, text: "" };
            self.on_piece(piece, before, after)
        } else if let Some(ch) = self.in_run().then(|| char_of(local, e)).flatten() {
            self.on_piece(Piece::Char { qname: e.name().0, ch }, before, after)
        } else {
            self.scrub_attributes(e, before, true)
        }
    }

    fn on_end(&mut self, before: usize) -> Result<()> {
        match self.stack.pop() {
            Some(Kind::Para) => self.close_para(before, None),
            Some(_) => Ok(()),
            None => Err(damaged("unbalanced end tag")),
        }
    }

    fn open_para(&mut self, e: &BytesStart<'a>) {
        let index = self.base + self.count;
        self.count += 1;
        if matches!(self.mode, Mode::Read) {
            self.texts.push(String::new());
        }
        let prefix = match self.mode {
            Mode::Replace { .. } => prefix_of(e.name().0).to_owned(),
            _ => String::new(),
        };
        self.paras.push(Para { index, len: 0, text: String::new(), cursor: 0, placed: false, prefix });
    }

    /// Ends the innermost paragraph: at its end tag (`before` is where that starts), or
    /// right away for an empty element `<w:p/>` (`empty` is it and where it ends).
    fn close_para(&mut self, before: usize, empty: Option<(&BytesStart<'a>, usize)>) -> Result<()> {
        let para = self.paras.pop().ok_or_else(|| damaged("paragraph end without start"))?;
        match self.mode {
            Mode::Read => {
                if let Some(slot) = self.texts.get_mut(para.index - self.base) {
                    *slot = para.text;
                }
                Ok(())
            }
            Mode::Redact { spans, .. } => check_spans_used(&para, spans),
            Mode::Replace { texts } => self.place_missing_text(&para, texts, before, empty),
            Mode::Scrub => Ok(()),
        }
    }

    /// Replace mode: a paragraph without any text element gets a run with its new text.
    fn place_missing_text(
        &mut self,
        para: &Para,
        texts: &[String],
        before: usize,
        empty: Option<(&BytesStart<'a>, usize)>,
    ) -> Result<()> {
        let text = match texts.get(para.index) {
            Some(text) if !para.placed && !text.is_empty() => text,
            _ => return Ok(()),
        };
        let tag = tag_prefix(&para.prefix);
        let mut run = format!("<{tag}r>").into_bytes();
        push_run_content(&mut run, &tag, text);
        run.extend_from_slice(format!("</{tag}r>").as_bytes());
        match empty {
            Some((e, after)) => {
                let mut xml = format!("<{}>", &**e).into_bytes();
                xml.extend_from_slice(&run);
                xml.extend_from_slice(format!("</{}>", e.name().0).as_bytes());
                self.splicer.splice(before, after, &xml)
            }
            None => self.splicer.splice(before, before, &run),
        }
    }

    /// A text element in a run: reads its content and handles it as a piece.
    fn on_text_element(&mut self, e: &BytesStart<'a>, before: usize) -> Result<()> {
        if matches!(self.mode, Mode::Read) {
            let Some(para) = self.paras.last_mut() else {
                return read_text_into(&mut self.reader, &mut String::new());
            };
            let start = para.text.len();
            read_text_into(&mut self.reader, &mut para.text)?;
            para.len += para.text.len() - start;
            return Ok(());
        }
        let mut text = std::mem::take(&mut self.scratch);
        text.clear();
        read_text_into(&mut self.reader, &mut text)?;
        let after = pos(&self.reader);
        let piece = Piece::Text { qname: e.name().0, text: &text };
        let outcome = self.on_piece(piece, before, after);
        self.scratch = text;
        outcome
    }

    /// Adds one piece of text to the innermost paragraph, rewriting it as the mode needs.
    fn on_piece(&mut self, piece: Piece<'_>, before: usize, after: usize) -> Result<()> {
        let mut buf = [0u8; 4];
        let text = match piece {
            Piece::Text { text, .. } => text,
            Piece::Char { ch, .. } => ch.encode_utf8(&mut buf),
        };
        let Some(para) = self.paras.last_mut() else {
            return Ok(());
        };
        let start = para.len;
        para.len += text.len();
        let replacement = match self.mode {
            Mode::Read => {
                para.text.push_str(text);
                None
            }
            Mode::Redact { spans, mark, .. } => {
                let spans = spans.get(para.index).map_or(&[][..], Vec::as_slice);
                redact_piece(text, start, spans, &mut para.cursor, mark)?.map(|kept| redacted_piece_xml(piece, &kept))
            }
            Mode::Replace { texts } => {
                let first = !para.placed;
                para.placed = true;
                texts.get(para.index).map(|new| replaced_piece_xml(piece, &para.prefix, first.then_some(new)))
            }
            Mode::Scrub => None,
        };
        match replacement {
            Some(xml) => self.splicer.splice(before, after, &xml),
            None => Ok(()),
        }
    }

    /// Empties an element that names a person or holds deleted text.
    fn clear_element(&mut self, e: &BytesStart<'a>, before: usize) -> Result<()> {
        let mut text = String::new();
        read_text_into(&mut self.reader, &mut text)?;
        if text.is_empty() {
            return Ok(());
        }
        let xml = format!("<{}/>", e.name().0);
        self.splicer.splice(before, pos(&self.reader), xml.as_bytes())
    }

    /// Redact mode: removed texts found in a field instruction are replaced by the mark.
    fn redact_instruction(&mut self, e: &BytesStart<'a>, before: usize) -> Result<()> {
        let Mode::Redact { mark, hunted: Some(hunted), .. } = self.mode else {
            return Ok(());
        };
        let mut text = String::new();
        read_text_into(&mut self.reader, &mut text)?;
        if !hunted.is_match(&text) {
            return Ok(());
        }
        let kept = hunted.replace_all(&text, regex::NoExpand(mark));
        let qname = e.name().0;
        let mut xml = format!("<{qname} xml:space=\"preserve\">").into_bytes();
        push_escaped(&mut xml, &kept);
        xml.extend_from_slice(format!("</{qname}>").as_bytes());
        self.splicer.splice(before, pos(&self.reader), &xml)
    }

    /// Rewrites a start tag whose attributes name a person (cleared) or hold a removed text
    /// (replaced by the mark); other tags stay as they are.
    fn scrub_attributes(&mut self, e: &BytesStart<'a>, before: usize, empty: bool) -> Result<()> {
        let hunted = match self.mode {
            Mode::Redact { hunted: Some(h), mark, .. } => Some((h, mark)),
            _ => None,
        };
        if self.scrub.attributes.is_empty() && hunted.is_none() {
            return Ok(());
        }
        let Some(tag) = scrubbed_tag(e, self.scrub.attributes, hunted, empty)? else {
            return Ok(());
        };
        self.splicer.splice(before, pos(&self.reader), tag.as_bytes())
    }
}

/// The character an element inside a run stands for, if it stands for one.
fn char_of(local: &str, e: &BytesStart<'_>) -> Option<char> {
    match local {
        "tab" | "ptab" => Some('\t'),
        "cr" => Some('\n'),
        "noBreakHyphen" => Some('-'),
        "br" => Some(if attribute_is(e, "type", "page") { '\x0c' } else { '\n' }),
        _ => None,
    }
}

/// Whether the element has an attribute with this local name and value.
fn attribute_is(e: &BytesStart<'_>, local: &str, value: &str) -> bool {
    e.attributes().flatten().any(|a| a.key.local_name().as_ref() == local && a.value == value)
}

/// The start tag again with person attributes cleared and removed texts replaced in human
/// text attributes, or None when none of them is there.
fn scrubbed_tag(
    e: &BytesStart<'_>,
    cleared: &[&str],
    hunted: Option<(&Regex, &str)>,
    empty: bool,
) -> Result<Option<String>> {
    rewritten_tag(e, empty, |attr| {
        let local = attr.key.local_name();
        let local = local.as_ref();
        if cleared.contains(&local) {
            return Ok((!attr.value.is_empty()).then(String::new));
        }
        let Some((regex, mark)) = hunted.filter(|_| HUMAN_ATTRIBUTES.contains(&local)) else {
            return Ok(None);
        };
        let plain = attr.normalized_value(XmlVersion::Implicit1_0).map_err(damaged)?;
        Ok(regex.is_match(&plain).then(|| escape_attribute(&regex.replace_all(&plain, regex::NoExpand(mark)))))
    })
}

/// The start tag again with some attribute values replaced: `new_value` gives an
/// attribute's new (escaped) value, or None to keep it. None when nothing changes, so that
/// the common case costs no allocation.
fn rewritten_tag(
    e: &BytesStart<'_>,
    empty: bool,
    mut new_value: impl FnMut(&Attribute<'_>) -> Result<Option<String>>,
) -> Result<Option<String>> {
    let mut changes = Vec::new();
    for (index, attr) in e.attributes().enumerate() {
        if let Some(value) = new_value(&attr.map_err(damaged)?)? {
            changes.push((index, value));
        }
    }
    if changes.is_empty() {
        return Ok(None);
    }
    let mut changes = changes.into_iter().peekable();
    let mut tag = format!("<{}", e.name().0);
    for (index, attr) in e.attributes().enumerate() {
        let attr = attr.map_err(damaged)?;
        let value = match changes.next_if(|(i, _)| *i == index) {
            Some((_, value)) => Cow::Owned(value),
            None => attr.value,
        };
        let quote = if value.contains('"') { '\'' } else { '"' };
        tag.push_str(&format!(" {}={quote}{value}{quote}", attr.key.0));
    }
    tag.push_str(if empty { "/>" } else { ">" });
    Ok(Some(tag))
}

/// Redact mode: every span must have been applied by the end of its paragraph.
fn check_spans_used(para: &Para, spans: &[Vec<(usize, usize)>]) -> Result<()> {
    let rest = spans.get(para.index).map_or(&[][..], |s| s.get(para.cursor..).unwrap_or(&[]));
    if rest.iter().all(|&(s, e)| s == e && e <= para.len) {
        Ok(())
    } else {
        Err(damaged(format!("a span of paragraph {} lies outside its {} bytes of text", para.index, para.len)))
    }
}

/// Spans must be sorted, disjoint and each start before it ends.
fn check_spans(spans: &[Vec<(usize, usize)>]) -> Result<()> {
    for (index, list) in spans.iter().enumerate() {
        let mut end = 0;
        for &(s, e) in list {
            if s > e || s < end {
                return Err(damaged(format!("spans of paragraph {index} are not sorted and disjoint")));
            }
            end = e;
        }
    }
    Ok(())
}

/// The text of one piece, which covers `start..start + text.len()` of its paragraph, with
/// the spans' parts cut out and the mark where a span starts; None when no span touches it.
/// `cursor` is the first span not yet done with.
fn redact_piece(
    text: &str,
    start: usize,
    spans: &[(usize, usize)],
    cursor: &mut usize,
    mark: &str,
) -> Result<Option<String>> {
    let end = start + text.len();
    let mut kept: Option<String> = None;
    let mut at = start;
    while let Some(&(s, e)) = spans.get(*cursor) {
        if s >= end {
            break;
        }
        if s == e {
            *cursor += 1;
            continue;
        }
        let out = kept.get_or_insert_with(|| String::with_capacity(text.len() + mark.len()));
        out.push_str(slice_of(text, at - start, s.max(at) - start)?);
        if s >= start {
            out.push_str(mark);
        }
        at = e.min(end);
        if e > end {
            break;
        }
        *cursor += 1;
    }
    if let Some(out) = kept.as_mut() {
        out.push_str(slice_of(text, at - start, text.len())?);
    }
    Ok(kept)
}

fn slice_of(text: &str, from: usize, to: usize) -> Result<&str> {
    text.get(from..to).ok_or_else(|| damaged("a span is not on a character boundary"))
}

/// The XML that takes a redacted piece's place.
fn redacted_piece_xml(piece: Piece<'_>, kept: &str) -> Vec<u8> {
    let name = match piece {
        Piece::Text { qname, .. } => qname.to_owned(),
        Piece::Char { qname, .. } if !kept.is_empty() => {
            format!("{}t", tag_prefix(prefix_of(qname)))
        }
        Piece::Char { .. } => return Vec::new(),
    };
    let mut xml = format!("<{name} xml:space=\"preserve\">").into_bytes();
    push_escaped(&mut xml, kept);
    xml.extend_from_slice(format!("</{name}>").as_bytes());
    xml
}

/// The XML that takes a piece's place in replace mode: the paragraph's new text for its
/// first piece (`new`), nothing for the others.
fn replaced_piece_xml(piece: Piece<'_>, para_prefix: &str, new: Option<&String>) -> Vec<u8> {
    let Some(new) = new else {
        return Vec::new();
    };
    let prefix = prefix_of(piece.qname());
    if matches!(piece, Piece::Char { .. }) || prefix == para_prefix {
        let mut xml = Vec::with_capacity(new.len() + 64);
        push_run_content(&mut xml, &tag_prefix(prefix), new);
        return xml;
    }
    // A text element of another vocabulary (e.g. math `m:t`): the text as it is.
    let flat: String = new.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    redacted_piece_xml(piece, &flat)
}

/// Reads a text element's content up to its end tag, unescaped, onto `out`.
fn read_text_into(reader: &mut Reader<&[u8]>, out: &mut String) -> Result<()> {
    loop {
        match reader.read_event().map_err(|e| xml_error(reader, e))? {
            Event::Text(t) => out.push_str(&t.xml10_content()),
            Event::CData(t) => out.push_str(&t.xml10_content()),
            Event::GeneralRef(r) => out.push(resolve_reference(&r)?),
            Event::End(_) => return Ok(()),
            Event::Start(_) | Event::Empty(_) => {
                return Err(damaged("markup inside a text element"));
            }
            Event::Eof => return Err(damaged("XML ends inside a text element")),
            _ => {}
        }
    }
}

/// The character an entity or character reference stands for.
fn resolve_reference(r: &BytesRef<'_>) -> Result<char> {
    if let Some(ch) = r.resolve_char_ref().map_err(damaged)? {
        return Ok(ch);
    }
    match &**r {
        "amp" => Ok('&'),
        "lt" => Ok('<'),
        "gt" => Ok('>'),
        "apos" => Ok('\''),
        "quot" => Ok('"'),
        other => Err(damaged(format!("unknown entity &{other};"))),
    }
}

/// Reads the paragraphs of all text parts.
fn read_paragraphs(parts: &[(String, Vec<u8>)]) -> Result<Vec<String>> {
    let mut texts = Vec::new();
    for (_, xml) in parts {
        let part = Walker::run(xml, Mode::Read, &Scrub::NONE, texts.len())?;
        texts.extend(part.texts);
    }
    Ok(texts)
}

/// One pass over every text part: the rewritten ones by name, and the paragraph count.
fn rewrite_parts(
    parts: &[(String, Vec<u8>)],
    mode: Mode<'_>,
    scrub: &Scrub,
) -> Result<(HashMap<String, Vec<u8>>, usize)> {
    let mut changed = HashMap::new();
    let mut base = 0;
    for (name, xml) in parts {
        let part = Walker::run(xml, mode, scrub, base)?;
        base += part.count;
        if let Some(data) = part.rewritten {
            changed.insert(name.clone(), data);
        }
    }
    Ok((changed, base))
}

/// A matcher for the removed texts worth hunting for outside paragraph text (at least
/// [`MIN_HUNTED_CHARS`] characters), longest first; None when there are none.
fn hunted_texts(texts: &[String], spans: &[Vec<(usize, usize)>]) -> Result<Option<Regex>> {
    let mut removed = HashSet::new();
    for (text, list) in texts.iter().zip(spans) {
        for &(s, e) in list {
            let cut = text
                .get(s..e)
                .ok_or_else(|| damaged("a span is not on a character boundary or in its paragraph"))?
                .trim();
            if cut.chars().count() >= MIN_HUNTED_CHARS {
                removed.insert(cut);
            }
        }
    }
    if removed.is_empty() {
        return Ok(None);
    }
    let mut removed: Vec<&str> = removed.into_iter().collect();
    removed.sort_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
    let pattern: Vec<String> = removed.iter().map(|t| regex::escape(t)).collect();
    regex::RegexBuilder::new(&pattern.join("|"))
        .case_insensitive(true)
        .size_limit(256 << 20)
        .build()
        .map(Some)
        .map_err(|e| DocxError::TooLarge(format!("too many redacted texts: {e}")))
}

/// Redact mode: external link targets (in the text parts' relationships) that contain a
/// removed text point nowhere afterwards.
fn scrub_link_targets(
    pkg: &mut Package<'_>,
    parts: &[(String, Vec<u8>)],
    hunted: &Regex,
    changed: &mut HashMap<String, Vec<u8>>,
) -> Result<()> {
    for (name, _) in parts {
        let Some(file) = name.strip_prefix("word/") else {
            continue;
        };
        let rels_name = format!("word/_rels/{file}.rels");
        let Some(rels) = pkg.read(&rels_name)? else {
            continue;
        };
        if let Some(data) = scrub_relationship_targets(&rels, hunted)? {
            changed.insert(rels_name, data);
        }
    }
    Ok(())
}

/// The relationships part with every external target that contains a hunted text set to
/// `about:blank`, or None when there is none.
fn scrub_relationship_targets(rels: &[u8], hunted: &Regex) -> Result<Option<Vec<u8>>> {
    let mut splicer = Splicer::new(rels);
    let mut reader = splicer.reader();
    loop {
        let before = pos(&reader);
        let (e, empty) = match reader.read_event().map_err(|e| xml_error(&reader, e))? {
            Event::Start(e) => (e, false),
            Event::Empty(e) => (e, true),
            Event::Eof => break,
            _ => continue,
        };
        if e.local_name().as_ref() != "Relationship" || !attribute_is(&e, "TargetMode", "External") {
            continue;
        }
        if let Some(tag) = blanked_target_tag(&e, hunted, empty)? {
            splicer.splice(before, pos(&reader), tag.as_bytes())?;
        }
    }
    Ok(splicer.finish())
}

fn blanked_target_tag(e: &BytesStart<'_>, hunted: &Regex, empty: bool) -> Result<Option<String>> {
    rewritten_tag(e, empty, |attr| {
        if attr.key.0 != "Target" {
            return Ok(None);
        }
        let plain = attr.normalized_value(XmlVersion::Implicit1_0).map_err(damaged)?;
        let decoded = percent_encoding::percent_decode_str(&plain).decode_utf8_lossy();
        Ok((hunted.is_match(&plain) || hunted.is_match(&decoded)).then(|| "about:blank".to_owned()))
    })
}

/// Redact mode: clears the names of people in the document properties and people list.
fn scrub_people(pkg: &mut Package<'_>, changed: &mut HashMap<String, Vec<u8>>) -> Result<()> {
    for (name, scrub) in &PEOPLE_PARTS {
        let Some(xml) = pkg.read(name)? else {
            continue;
        };
        if let Some(data) = Walker::run(&xml, Mode::Scrub, scrub, 0)?.rewritten {
            changed.insert((*name).to_owned(), data);
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Splicing and XML helpers
// ---------------------------------------------------------------------------------------

/// Rewrites a part by copying its source bytes and splicing replacements in, in order.
struct Splicer<'a> {
    bom: &'a [u8],
    src: &'a [u8],
    out: Vec<u8>,
    copied: usize,
    modified: bool,
}

impl<'a> Splicer<'a> {
    fn new(xml: &'a [u8]) -> Self {
        // The reader would skip a BOM without counting it; keep positions on `src`.
        let bom_len = if xml.starts_with(UTF8_BOM) { UTF8_BOM.len() } else { 0 };
        let (bom, src) = xml.split_at(bom_len);
        Splicer { bom, src, out: Vec::new(), copied: 0, modified: false }
    }

    fn reader(&self) -> Reader<&'a [u8]> {
        Reader::from_reader(self.src)
    }

    /// Replaces `src[from..to]` by `with`; splices must come in source order.
    fn splice(&mut self, from: usize, to: usize, with: &[u8]) -> Result<()> {
        if from < self.copied || to < from || to > self.src.len() {
            return Err(damaged("overlapping rewrite"));
        }
        if !self.modified {
            self.modified = true;
            self.out.reserve(self.bom.len() + self.src.len() + with.len() + 256);
            self.out.extend_from_slice(self.bom);
        }
        self.out.extend_from_slice(&self.src[self.copied..from]);
        self.out.extend_from_slice(with);
        self.copied = to;
        Ok(())
    }

    /// The rewritten part, or None when nothing was spliced.
    fn finish(mut self) -> Option<Vec<u8>> {
        if !self.modified {
            return None;
        }
        self.out.extend_from_slice(&self.src[self.copied..]);
        Some(self.out)
    }
}

fn pos(reader: &Reader<&[u8]>) -> usize {
    usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX)
}

fn xml_error(reader: &Reader<&[u8]>, e: quick_xml::Error) -> DocxError {
    damaged(format!("XML error at byte {}: {e}", reader.error_position()))
}

fn prefix_of(qname: &str) -> &str {
    qname.split_once(':').map_or("", |(prefix, _)| prefix)
}

/// `"w"` → `"w:"`, `""` → `""`.
fn tag_prefix(prefix: &str) -> String {
    if prefix.is_empty() { String::new() } else { format!("{prefix}:") }
}

/// Run content for `text`: text elements, with `'\t'`, `'\n'` and `'\f'` as a tab, a line
/// break and a page break; `tag` is the namespace prefix with its colon.
fn push_run_content(out: &mut Vec<u8>, tag: &str, text: &str) {
    let mut rest = text;
    while !rest.is_empty() {
        let cut = rest.find(['\t', '\n', '\x0c']).unwrap_or(rest.len());
        if cut > 0 {
            out.extend_from_slice(format!("<{tag}t xml:space=\"preserve\">").as_bytes());
            push_escaped(out, &rest[..cut]);
            out.extend_from_slice(format!("</{tag}t>").as_bytes());
        }
        let separator = match rest.as_bytes().get(cut) {
            Some(b'\t') => format!("<{tag}tab/>"),
            Some(b'\n') => format!("<{tag}br/>"),
            Some(b'\x0c') => format!("<{tag}br {tag}type=\"page\"/>"),
            _ => String::new(),
        };
        out.extend_from_slice(separator.as_bytes());
        rest = rest.get(cut + 1..).unwrap_or("");
    }
}

/// Appends `text` escaped for XML content, leaving out characters XML cannot hold.
fn push_escaped(out: &mut Vec<u8>, text: &str) {
    let bytes = text.as_bytes();
    let mut from = 0;
    let mut i = 0;
    while i < bytes.len() {
        let (skip, with): (usize, &[u8]) = match bytes[i] {
            b'&' => (1, b"&amp;"),
            b'<' => (1, b"&lt;"),
            b'>' => (1, b"&gt;"),
            b'\r' => (1, b"&#13;"),
            b'\t' | b'\n' => (0, b""),
            0..=0x1f => (1, b""),
            0xEF if matches!(bytes.get(i + 1..i + 3), Some([0xBF, 0xBE | 0xBF])) => (3, b""),
            _ => (0, b""),
        };
        if skip == 0 {
            i += 1;
            continue;
        }
        out.extend_from_slice(&bytes[from..i]);
        out.extend_from_slice(with);
        i += skip;
        from = i;
    }
    out.extend_from_slice(&bytes[from..]);
}

/// `text` escaped for a double-quoted attribute value.
fn escape_attribute(text: &str) -> String {
    let mut out = Vec::with_capacity(text.len());
    push_escaped(&mut out, text);
    String::from_utf8_lossy(&out).replace('"', "&quot;")
}

/// Inserts `snippet` as the last child of the root element.
fn insert_before_root_end(xml: &[u8], snippet: &str) -> Result<Vec<u8>> {
    let mut splicer = Splicer::new(xml);
    let mut reader = splicer.reader();
    let mut depth = 0usize;
    loop {
        let before = pos(&reader);
        match reader.read_event().map_err(|e| xml_error(&reader, e))? {
            Event::Start(_) => depth += 1,
            Event::End(_) if depth == 1 => {
                splicer.splice(before, before, snippet.as_bytes())?;
                break;
            }
            Event::End(_) => depth = depth.saturating_sub(1),
            Event::Empty(e) if depth == 0 => {
                let xml = format!("<{}>{snippet}</{}>", &*e, e.name().0);
                splicer.splice(before, pos(&reader), xml.as_bytes())?;
                break;
            }
            Event::Eof => return Err(damaged("XML part without a root element")),
            _ => {}
        }
    }
    splicer.finish().ok_or_else(|| damaged("XML part without a root element"))
}

/// The values of one attribute on every element with this local name, lower-cased.
fn attribute_values(xml: &[u8], element: &str, attribute: &str) -> Result<HashSet<String>> {
    let mut reader = Splicer::new(xml).reader();
    let mut values = HashSet::new();
    loop {
        let e = match reader.read_event().map_err(|e| xml_error(&reader, e))? {
            Event::Start(e) | Event::Empty(e) => e,
            Event::Eof => return Ok(values),
            _ => continue,
        };
        if e.local_name().as_ref() != element {
            continue;
        }
        let found = e.attributes().flatten().find(|a| a.key.local_name().as_ref() == attribute);
        if let Some(a) = found {
            values.insert(a.value.to_lowercase());
        }
    }
}

// ---------------------------------------------------------------------------------------
// Footer (R-SC-13)
// ---------------------------------------------------------------------------------------

/// Transitional (what Word writes) or Strict Office Open XML namespaces.
#[derive(Clone, Copy)]
struct Flavor {
    main: &'static str,
    relationships: &'static str,
    footer_type: &'static str,
}

impl Flavor {
    const TRANSITIONAL: Flavor = Flavor {
        main: "http://schemas.openxmlformats.org/wordprocessingml/2006/main",
        relationships: "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
        footer_type: "http://schemas.openxmlformats.org/officeDocument/2006/relationships/footer",
    };
    const STRICT: Flavor = Flavor {
        main: "http://purl.oclc.org/ooxml/wordprocessingml/main",
        relationships: "http://purl.oclc.org/ooxml/officeDocument/relationships",
        footer_type: "http://purl.oclc.org/ooxml/officeDocument/relationships/footer",
    };

    /// The flavor the document's root element declares.
    fn of(document: &[u8]) -> Flavor {
        let head = &document[..document.len().min(64 * 1024)];
        let strict = Flavor::STRICT.main.as_bytes();
        if head.windows(strict.len()).any(|w| w == strict) { Flavor::STRICT } else { Flavor::TRANSITIONAL }
    }
}

/// The new footer's part number and relationship id, fresh in the package.
struct FooterPlan {
    number: usize,
    rid: String,
}

impl FooterPlan {
    fn new(pkg: &Package<'_>, rels: Option<&[u8]>, types: &[u8]) -> Result<Self> {
        let (ids, targets) = match rels {
            Some(rels) => {
                (attribute_values(rels, "Relationship", "Id")?, attribute_values(rels, "Relationship", "Target")?)
            }
            None => (HashSet::new(), HashSet::new()),
        };
        let overrides = attribute_values(types, "Override", "PartName")?;
        let mut taken: Vec<String> = pkg.names.iter().flatten().map(|n| n.to_lowercase()).collect();
        taken.extend(targets);
        taken.extend(overrides);
        let number = (1..)
            .find(|n| {
                let file = format!("footer{n}.xml");
                !taken.iter().any(|t| t.ends_with(&file))
            })
            .unwrap_or(1);
        let rid = (1..)
            .map(|n| format!("rId{n}"))
            .find(|id| !ids.contains(&id.to_lowercase()))
            .unwrap_or_else(|| "rIdPrintcloudFooter".into());
        Ok(FooterPlan { number, rid })
    }

    fn part_name(&self) -> String {
        format!("word/footer{}.xml", self.number)
    }

    fn relationship(&self, flavor: Flavor) -> String {
        format!(
            "<Relationship Id=\"{}\" Type=\"{}\" Target=\"footer{}.xml\"/>",
            self.rid, flavor.footer_type, self.number
        )
    }

    fn override_entry(&self) -> String {
        format!("<Override PartName=\"/word/footer{}.xml\" ContentType=\"{FOOTER_CONTENT_TYPE}\"/>", self.number)
    }
}

const FOOTER_CONTENT_TYPE: &str = "application/vnd.openxmlformats-officedocument.wordprocessingml.footer+xml";

fn new_relationships(relationship: &str) -> Vec<u8> {
    format!(
        "{XML_DECL}<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">{relationship}</Relationships>"
    )
    .into_bytes()
}

/// The footer part: one centred paragraph per line of `text`.
fn footer_xml(text: &str, flavor: Flavor) -> Vec<u8> {
    let mut xml =
        format!("{XML_DECL}<w:ftr xmlns:w=\"{}\" xmlns:r=\"{}\">", flavor.main, flavor.relationships).into_bytes();
    for line in text.split('\n') {
        xml.extend_from_slice(b"<w:p><w:pPr><w:jc w:val=\"center\"/></w:pPr>");
        let line = line.strip_suffix('\r').unwrap_or(line);
        if !line.is_empty() {
            xml.extend_from_slice(b"<w:r>");
            push_run_content(&mut xml, "w:", line);
            xml.extend_from_slice(b"</w:r>");
        }
        xml.extend_from_slice(b"</w:p>");
    }
    xml.extend_from_slice(b"</w:ftr>");
    xml
}

/// What the enclosing elements are, as far as section properties care.
#[derive(Clone, Copy, PartialEq, Eq)]
enum SectKind {
    Body,
    SectPr,
    /// A revision's former section properties: left alone.
    Change,
    Other,
}

/// `document.xml` with the new default footer referenced from every section.
fn reference_footer(document: &[u8], rid: &str, flavor: Flavor) -> Result<Vec<u8>> {
    let mut pass = FooterPass {
        splicer: Splicer::new(document),
        stack: Vec::new(),
        body_prefix: String::new(),
        body_has_sect: false,
        rid,
        flavor,
        r_declared: false,
        default_ns: None,
    };
    let mut reader = pass.splicer.reader();
    loop {
        let before = pos(&reader);
        match reader.read_event().map_err(|e| xml_error(&reader, e))? {
            Event::Start(e) => pass.on_start(&mut reader, &e, before)?,
            Event::Empty(e) => pass.on_empty(&reader, &e, before)?,
            Event::End(_) => pass.on_end(before)?,
            Event::Eof => break,
            _ => {}
        }
    }
    pass.splicer.finish().ok_or_else(|| damaged("word/document.xml has no body"))
}

/// The state of [`reference_footer`]'s pass.
struct FooterPass<'a, 'r> {
    splicer: Splicer<'a>,
    stack: Vec<SectKind>,
    body_prefix: String,
    body_has_sect: bool,
    rid: &'r str,
    flavor: Flavor,
    /// Whether the root binds `r` to the relationships namespace.
    r_declared: bool,
    /// The root's default namespace, for documents that use no prefix.
    default_ns: Option<String>,
}

impl<'a> FooterPass<'a, '_> {
    fn on_start(&mut self, reader: &mut Reader<&'a [u8]>, e: &BytesStart<'a>, before: usize) -> Result<()> {
        if self.stack.is_empty() {
            self.note_root(e);
        }
        let after = pos(reader);
        let kind = match e.local_name().as_ref() {
            "body" => {
                self.body_prefix = prefix_of(e.name().0).to_owned();
                SectKind::Body
            }
            "sectPrChange" => SectKind::Change,
            "sectPr" if !self.stack.contains(&SectKind::Change) => {
                self.note_sect();
                let reference = self.reference(prefix_of(e.name().0));
                self.splicer.splice(after, after, reference.as_bytes())?;
                SectKind::SectPr
            }
            "footerReference" if self.replaces(e) => {
                reader.read_to_end(e.name()).map_err(|err| xml_error(reader, err))?;
                return self.splicer.splice(before, pos(reader), b"");
            }
            _ => SectKind::Other,
        };
        self.stack.push(kind);
        Ok(())
    }

    fn on_empty(&mut self, reader: &Reader<&'a [u8]>, e: &BytesStart<'a>, before: usize) -> Result<()> {
        let after = pos(reader);
        match e.local_name().as_ref() {
            "sectPr" if !self.stack.contains(&SectKind::Change) => {
                self.note_sect();
                let reference = self.reference(prefix_of(e.name().0));
                let xml = format!("<{}>{reference}</{}>", &**e, e.name().0);
                self.splicer.splice(before, after, xml.as_bytes())
            }
            "footerReference" if self.replaces(e) => self.splicer.splice(before, after, b""),
            _ => Ok(()),
        }
    }

    fn on_end(&mut self, before: usize) -> Result<()> {
        let kind = self.stack.pop().ok_or_else(|| damaged("unbalanced end tag"))?;
        if kind == SectKind::Body && !self.body_has_sect {
            let tag = tag_prefix(&self.body_prefix);
            let reference = self.reference(&self.body_prefix);
            let xml = format!("<{tag}sectPr>{reference}</{tag}sectPr>");
            self.splicer.splice(before, before, xml.as_bytes())?;
        }
        Ok(())
    }

    fn note_root(&mut self, e: &BytesStart<'_>) {
        for a in e.attributes().flatten() {
            if a.key.0 == "xmlns:r" && a.value == self.flavor.relationships {
                self.r_declared = true;
            } else if a.key.0 == "xmlns" {
                self.default_ns = Some(a.value.into_owned());
            }
        }
    }

    fn note_sect(&mut self) {
        if self.stack.last() == Some(&SectKind::Body) {
            self.body_has_sect = true;
        }
    }

    /// Whether this is a footer reference of a section (default, first-page or even-page),
    /// to be replaced so the new footer is on every page (R-SC-13).
    fn replaces(&self, _e: &BytesStart<'_>) -> bool {
        self.stack.last() == Some(&SectKind::SectPr)
    }

    /// The new footer's references for the default, first and even pages, in the section
    /// element's prefix.
    fn reference(&self, prefix: &str) -> String {
        let r = if self.r_declared { String::new() } else { format!(" xmlns:r=\"{}\"", self.flavor.relationships) };
        let one = |kind: &str| {
            if prefix.is_empty() {
                let ns = self.default_ns.as_deref().unwrap_or(self.flavor.main);
                format!("<footerReference xmlns:w=\"{ns}\"{r} w:type=\"{kind}\" r:id=\"{}\"/>", self.rid)
            } else {
                format!("<{prefix}:footerReference{r} {prefix}:type=\"{kind}\" r:id=\"{}\"/>", self.rid)
            }
        };
        ["default", "first", "even"].map(one).concat()
    }
}

// ---------------------------------------------------------------------------------------
// A new DOCX from text
// ---------------------------------------------------------------------------------------

const NEW_CONTENT_TYPES: &str = concat!(
    "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\r\n",
    "<Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\">",
    "<Default Extension=\"rels\" ContentType=\"application/vnd.openxmlformats-package.relationships+xml\"/>",
    "<Default Extension=\"xml\" ContentType=\"application/xml\"/>",
    "<Override PartName=\"/word/document.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml\"/>",
    "<Override PartName=\"/word/styles.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.wordprocessingml.styles+xml\"/>",
    "</Types>"
);

const NEW_PACKAGE_RELS: &str = concat!(
    "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\r\n",
    "<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">",
    "<Relationship Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument\" Target=\"word/document.xml\"/>",
    "</Relationships>"
);

const NEW_DOCUMENT_RELS: &str = concat!(
    "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\r\n",
    "<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">",
    "<Relationship Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles\" Target=\"styles.xml\"/>",
    "</Relationships>"
);

const NEW_STYLES: &str = concat!(
    "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\r\n",
    "<w:styles xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\">",
    "<w:docDefaults><w:rPrDefault><w:rPr>",
    "<w:rFonts w:ascii=\"Calibri\" w:hAnsi=\"Calibri\" w:eastAsia=\"Calibri\" w:cs=\"Calibri\"/>",
    "<w:sz w:val=\"22\"/><w:szCs w:val=\"22\"/>",
    "</w:rPr></w:rPrDefault><w:pPrDefault><w:pPr>",
    "<w:spacing w:after=\"120\" w:line=\"259\" w:lineRule=\"auto\"/>",
    "</w:pPr></w:pPrDefault></w:docDefaults>",
    "<w:style w:type=\"paragraph\" w:default=\"1\" w:styleId=\"Normal\"><w:name w:val=\"Normal\"/><w:qFormat/></w:style>",
    "</w:styles>"
);

/// `word/document.xml` for [`from_text`]: A4 pages, 2.5 cm margins.
fn new_document_xml(text: &str) -> Vec<u8> {
    let mut xml = format!(
        "{XML_DECL}<w:document xmlns:w=\"{}\" xmlns:r=\"{}\"><w:body>",
        Flavor::TRANSITIONAL.main,
        Flavor::TRANSITIONAL.relationships
    )
    .into_bytes();
    xml.reserve(text.len() * 2);
    for line in text.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.is_empty() {
            xml.extend_from_slice(b"<w:p/>");
            continue;
        }
        xml.extend_from_slice(b"<w:p><w:r>");
        push_run_content(&mut xml, "w:", line);
        xml.extend_from_slice(b"</w:r></w:p>");
    }
    xml.extend_from_slice(
        concat!(
            "<w:sectPr><w:pgSz w:w=\"11906\" w:h=\"16838\"/>",
            "<w:pgMar w:top=\"1417\" w:right=\"1417\" w:bottom=\"1417\" w:left=\"1417\" ",
            "w:header=\"708\" w:footer=\"708\" w:gutter=\"0\"/></w:sectPr></w:body></w:document>"
        )
        .as_bytes(),
    );
    xml
}

#[cfg(test)]
mod tests {
    use super::*;

    const NS: &str = concat!(
        "xmlns:wpc=\"http://schemas.microsoft.com/office/word/2010/wordprocessingCanvas\" ",
        "xmlns:mc=\"http://schemas.openxmlformats.org/markup-compatibility/2006\" ",
        "xmlns:o=\"urn:schemas-microsoft-com:office:office\" ",
        "xmlns:r=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships\" ",
        "xmlns:m=\"http://schemas.openxmlformats.org/officeDocument/2006/math\" ",
        "xmlns:v=\"urn:schemas-microsoft-com:vml\" ",
        "xmlns:wp=\"http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing\" ",
        "xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\" ",
        "xmlns:w14=\"http://schemas.microsoft.com/office/word/2010/wordml\" ",
        "xmlns:w15=\"http://schemas.microsoft.com/office/word/2012/wordml\" ",
        "xmlns:wps=\"http://schemas.microsoft.com/office/word/2010/wordprocessingShape\" ",
        "xmlns:a=\"http://schemas.openxmlformats.org/drawingml/2006/main\" ",
        "mc:Ignorable=\"w14 w15\""
    );

    /// The body of the fixture: split runs, tabs, a hyperlink, fields, revisions, a content
    /// control, a text box, a table, two sections.
    const BODY: &str = concat!(
        "<w:p w:rsidR=\"00A1\" w:rsidRDefault=\"00A1\"><w:pPr><w:pStyle w:val=\"Heading1\"/>",
        "<w:tabs><w:tab w:val=\"left\" w:pos=\"720\"/></w:tabs></w:pPr>",
        "<w:r><w:rPr><w:lang w:val=\"nl-NL\"/></w:rPr><w:t>Factuur</w:t></w:r></w:p>",
        // IBAN split over a bold and a plain run, then a tab.
        "<w:p><w:r><w:t xml:space=\"preserve\">IBAN: </w:t></w:r>",
        "<w:r><w:rPr><w:b/><w:bCs/></w:rPr><w:t xml:space=\"preserve\">NL91 </w:t></w:r>",
        "<w:r><w:t>ABNA0417164300</w:t></w:r>",
        "<w:r><w:tab/><w:t>betaald</w:t></w:r></w:p>",
        // Hyperlink, simple field, complex field with an instruction.
        "<w:p><w:r><w:t xml:space=\"preserve\">Mail </w:t></w:r>",
        "<w:hyperlink r:id=\"rId9\" w:tooltip=\"Schrijf jan@example.com\" w:history=\"1\">",
        "<w:r><w:rPr><w:rStyle w:val=\"Hyperlink\"/></w:rPr><w:t>jan@example.com</w:t></w:r></w:hyperlink>",
        "<w:r><w:t xml:space=\"preserve\"> pagina </w:t></w:r>",
        "<w:fldSimple w:instr=\" PAGE \\* MERGEFORMAT \"><w:r><w:t>1</w:t></w:r></w:fldSimple>",
        "<w:r><w:fldChar w:fldCharType=\"begin\"/></w:r>",
        "<w:r><w:instrText xml:space=\"preserve\"> HYPERLINK \"mailto:jan@example.com\" </w:instrText></w:r>",
        "<w:r><w:fldChar w:fldCharType=\"separate\"/></w:r>",
        "<w:r><w:t xml:space=\"preserve\"> (link)</w:t></w:r>",
        "<w:r><w:fldChar w:fldCharType=\"end\"/></w:r></w:p>",
        // Revisions: inserted text is text, deleted text is not.
        "<w:p><w:ins w:id=\"1\" w:author=\"Jan Jansen\" w:date=\"2024-02-01T10:00:00Z\">",
        "<w:r><w:t xml:space=\"preserve\">Toegevoegd </w:t></w:r></w:ins>",
        "<w:del w:id=\"2\" w:author=\"Jan Jansen\" w:date=\"2024-02-01T10:00:00Z\">",
        "<w:r><w:delText>Geheim 987654321</w:delText></w:r></w:del>",
        "<w:r><w:t>tekst &amp; meer &lt;3 &#8364;</w:t></w:r></w:p>",
        // A content control holding a paragraph.
        "<w:sdt><w:sdtPr><w:alias w:val=\"Naam\"/><w:id w:val=\"-1\"/></w:sdtPr>",
        "<w:sdtContent><w:p><w:r><w:t>Jan Jansen</w:t></w:r></w:p></w:sdtContent></w:sdt>",
        // Line break inside a paragraph, and a text box nested in a paragraph.
        "<w:p><w:r><w:t>regel een</w:t><w:br/><w:t>regel twee</w:t></w:r></w:p>",
        "<w:p><w:r><w:t>Voor het kader</w:t></w:r><w:r><w:drawing><wp:inline>",
        "<wp:docPr id=\"1\" name=\"Kader 1\" descr=\"Foto van Jan Jansen\"/>",
        "<a:graphic><a:graphicData><wps:wsp><wps:txbx><w:txbxContent>",
        "<w:p><w:r><w:t>In het kader</w:t></w:r></w:p>",
        "</w:txbxContent></wps:txbx></wps:wsp></a:graphicData></a:graphic></wp:inline></w:drawing></w:r>",
        "<w:r><w:t xml:space=\"preserve\"> na het kader</w:t></w:r></w:p>",
        // A table.
        "<w:tbl><w:tblPr><w:tblStyle w:val=\"TableGrid\"/><w:tblW w:w=\"0\" w:type=\"auto\"/></w:tblPr>",
        "<w:tblGrid><w:gridCol w:w=\"4508\"/><w:gridCol w:w=\"4508\"/></w:tblGrid>",
        "<w:tr><w:tc><w:tcPr><w:tcW w:w=\"4508\" w:type=\"dxa\"/></w:tcPr><w:p><w:r><w:t>BSN</w:t></w:r></w:p></w:tc>",
        "<w:tc><w:tcPr><w:tcW w:w=\"4508\" w:type=\"dxa\"/></w:tcPr><w:p><w:r><w:t>111222333</w:t></w:r></w:p></w:tc></w:tr></w:tbl>",
        // End of the first section.
        "<w:p><w:pPr><w:sectPr><w:headerReference w:type=\"default\" r:id=\"rId7\"/>",
        "<w:footerReference w:type=\"default\" r:id=\"rId8\"/><w:pgSz w:w=\"11906\" w:h=\"16838\"/></w:sectPr></w:pPr>",
        "<w:r><w:t>Einde sectie een</w:t></w:r></w:p>",
        "<w:p/><w:p><w:pPr><w:jc w:val=\"center\"/></w:pPr></w:p>",
        "<w:sectPr w:rsidR=\"00A1\"><w:headerReference w:type=\"default\" r:id=\"rId7\"/>",
        "<w:footerReference w:type=\"default\" r:id=\"rId8\"/><w:footerReference w:type=\"first\" r:id=\"rId10\"/>",
        "<w:pgSz w:w=\"11906\" w:h=\"16838\"/><w:pgMar w:top=\"1440\" w:right=\"1440\" w:bottom=\"1440\" w:left=\"1440\" ",
        "w:header=\"708\" w:footer=\"708\" w:gutter=\"0\"/><w:titlePg/></w:sectPr>"
    );

    const BODY_PARAGRAPHS: [&str; 13] = [
        "Factuur",
        "IBAN: NL91 ABNA0417164300\tbetaald",
        "Mail jan@example.com pagina 1 (link)",
        "Toegevoegd tekst & meer <3 €",
        "Jan Jansen",
        "regel een\nregel twee",
        "Voor het kader na het kader",
        "In het kader",
        "BSN",
        "111222333",
        "Einde sectie een",
        "",
        "",
    ];

    fn part(root: &str, content: &str) -> String {
        format!("{XML_DECL}<{root} {NS}>{content}</{}>", root.split(' ').next().unwrap_or(root))
    }

    fn fixture_entries() -> Vec<(String, Vec<u8>)> {
        let p = |t: &str| format!("<w:p><w:pPr><w:pStyle w:val=\"Footer\"/></w:pPr><w:r><w:t>{t}</w:t></w:r></w:p>");
        let entries: Vec<(&str, String)> = vec![
            (CONTENT_TYPES, concat!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\r\n",
                "<Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\">",
                "<Default Extension=\"rels\" ContentType=\"application/vnd.openxmlformats-package.relationships+xml\"/>",
                "<Default Extension=\"xml\" ContentType=\"application/xml\"/><Default Extension=\"png\" ContentType=\"image/png\"/>",
                "<Override PartName=\"/word/document.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml\"/>",
                "<Override PartName=\"/word/header1.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.wordprocessingml.header+xml\"/>",
                "<Override PartName=\"/word/footer1.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.wordprocessingml.footer+xml\"/>",
                "<Override PartName=\"/word/footer2.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.wordprocessingml.footer+xml\"/>",
                "<Override PartName=\"/word/footnotes.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.wordprocessingml.footnotes+xml\"/>",
                "<Override PartName=\"/word/comments.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.wordprocessingml.comments+xml\"/>",
                "<Override PartName=\"/docProps/core.xml\" ContentType=\"application/vnd.openxmlformats-package.core-properties+xml\"/>",
                "</Types>").to_owned()),
            ("_rels/.rels", NEW_PACKAGE_RELS.to_owned()),
            (DOCUMENT, part("w:document", &format!("<w:body>{BODY}</w:body>"))),
            (DOCUMENT_RELS, concat!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\r\n",
                "<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">",
                "<Relationship Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles\" Target=\"styles.xml\"/>",
                "<Relationship Id=\"rId7\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/header\" Target=\"header1.xml\"/>",
                "<Relationship Id=\"rId8\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/footer\" Target=\"footer1.xml\"/>",
                "<Relationship Id=\"rId9\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/hyperlink\" Target=\"mailto:jan@example.com\" TargetMode=\"External\"/>",
                "<Relationship Id=\"rId10\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/footer\" Target=\"footer2.xml\"/>",
                "<Relationship Id=\"rId11\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/image\" Target=\"media/image1.png\"/>",
                "</Relationships>").to_owned()),
            ("word/styles.xml", NEW_STYLES.to_owned()),
            ("word/header1.xml", part("w:hdr", "<w:p><w:r><w:t xml:space=\"preserve\">Vertrouwelijk: </w:t></w:r><w:r><w:rPr><w:i/></w:rPr><w:t>Jan Jansen</w:t></w:r></w:p>")),
            ("word/footer1.xml", part("w:ftr", &p("Oude voettekst"))),
            ("word/footer2.xml", part("w:ftr", &p("Eerste pagina"))),
            ("word/footnotes.xml", part("w:footnotes", concat!(
                "<w:footnote w:type=\"separator\" w:id=\"-1\"><w:p><w:r><w:separator/></w:r></w:p></w:footnote>",
                "<w:footnote w:id=\"1\"><w:p><w:r><w:rPr><w:rStyle w:val=\"FootnoteReference\"/></w:rPr><w:footnoteRef/></w:r>",
                "<w:r><w:t xml:space=\"preserve\"> Bron: register</w:t></w:r></w:p></w:footnote>"))),
            ("word/comments.xml", part("w:comments", concat!(
                "<w:comment w:id=\"0\" w:author=\"Jan Jansen\" w:date=\"2024-02-01T10:00:00Z\" w:initials=\"JJ\">",
                "<w:p><w:r><w:t>Controleer dit</w:t></w:r></w:p></w:comment>"))),
            ("docProps/core.xml", concat!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\r\n",
                "<cp:coreProperties xmlns:cp=\"http://schemas.openxmlformats.org/package/2006/metadata/core-properties\" ",
                "xmlns:dc=\"http://purl.org/dc/elements/1.1/\" xmlns:dcterms=\"http://purl.org/dc/terms/\">",
                "<dc:title>Factuur</dc:title><dc:creator>Jan Jansen</dc:creator>",
                "<cp:lastModifiedBy>Piet Pietersen</cp:lastModifiedBy><cp:revision>3</cp:revision>",
                "</cp:coreProperties>").to_owned()),
        ];
        let mut entries: Vec<(String, Vec<u8>)> =
            entries.into_iter().map(|(n, x)| (n.to_owned(), x.into_bytes())).collect();
        entries.push(("word/media/image1.png".into(), b"\x89PNG\r\n\x1a\n fake image".to_vec()));
        entries
    }

    fn zip_of(entries: &[(String, Vec<u8>)]) -> Vec<u8> {
        let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
        for (name, data) in entries {
            let method = if name.ends_with(".png") { CompressionMethod::Stored } else { CompressionMethod::Deflated };
            zip.start_file(name.as_str(), SimpleFileOptions::default().compression_method(method)).unwrap();
            zip.write_all(data).unwrap();
        }
        zip.finish().unwrap().into_inner()
    }

    fn fixture() -> Vec<u8> {
        zip_of(&fixture_entries())
    }

    /// Every entry of a zip, inflated, in order.
    fn entries_of(docx: &[u8]) -> Vec<(String, Vec<u8>)> {
        let mut archive = ZipArchive::new(Cursor::new(docx)).unwrap();
        (0..archive.len())
            .map(|i| {
                let mut file = archive.by_index(i).unwrap();
                let mut data = Vec::new();
                file.read_to_end(&mut data).unwrap();
                (file.name().unwrap().into_owned(), data)
            })
            .collect()
    }

    fn entry(docx: &[u8], name: &str) -> String {
        let found = entries_of(docx).into_iter().find(|(n, _)| n == name);
        String::from_utf8(found.expect(name).1).unwrap()
    }

    /// Every XML entry must re-parse to its end.
    fn assert_xml_parses(docx: &[u8]) {
        for (name, data) in entries_of(docx) {
            if !(name.ends_with(".xml") || name.ends_with(".rels")) {
                continue;
            }
            let mut reader = Reader::from_reader(data.as_slice());
            let mut depth = 0i64;
            loop {
                match reader.read_event() {
                    Ok(Event::Eof) => break,
                    Ok(Event::Start(_)) => depth += 1,
                    Ok(Event::End(_)) => depth -= 1,
                    Ok(_) => {}
                    Err(e) => panic!("{name} does not parse: {e}"),
                }
            }
            assert_eq!(depth, 0, "{name} is unbalanced");
        }
    }

    fn expected_paragraphs() -> Vec<String> {
        let mut all: Vec<String> = BODY_PARAGRAPHS.iter().map(|s| s.to_string()).collect();
        all.extend(
            ["Vertrouwelijk: Jan Jansen", "Oude voettekst", "Eerste pagina", "", " Bron: register", "Controleer dit"]
                .map(String::from),
        );
        all
    }

    /// Byte spans of every occurrence of `needles` in each paragraph.
    fn spans_of(paragraphs: &[String], needles: &[&str]) -> Vec<Vec<(usize, usize)>> {
        paragraphs
            .iter()
            .map(|p| {
                let mut spans: Vec<(usize, usize)> =
                    needles.iter().flat_map(|n| p.match_indices(n).map(|(i, m)| (i, i + m.len()))).collect();
                spans.sort();
                spans
            })
            .collect()
    }

    #[test]
    fn paragraphs_reads_every_part_in_reading_order() {
        let docx = fixture();
        assert_eq!(paragraphs(&docx).unwrap(), expected_paragraphs());
        assert_eq!(body_text(&docx).unwrap(), BODY_PARAGRAPHS.join("\n"));
        assert_eq!(all_text(&docx).unwrap(), expected_paragraphs().join("\n"));
    }

    #[test]
    fn instructions_and_deleted_text_are_not_paragraph_text() {
        let text = all_text(&fixture()).unwrap();
        assert!(!text.contains("HYPERLINK"));
        assert!(!text.contains("MERGEFORMAT"));
        assert!(!text.contains("Geheim"));
    }

    #[test]
    fn headers_and_footers_rank_by_number() {
        let mut names = vec![
            "word/header10.xml",
            "word/header2.xml",
            "word/footer1.xml",
            "word/comments.xml",
            "word/document.xml",
            "word/footnotes.xml",
        ];
        names.sort_by_key(|n| text_part_rank(n));
        assert_eq!(
            names,
            [
                "word/document.xml",
                "word/header2.xml",
                "word/header10.xml",
                "word/footer1.xml",
                "word/footnotes.xml",
                "word/comments.xml"
            ]
        );
        assert_eq!(text_part_rank("word/glossary/document.xml"), None);
        assert_eq!(text_part_rank("word/headerX.xml"), None);
    }

    /// R-SC-12: the removed text is gone from every entry, across split runs, the tab, the
    /// hyperlink and its target, the field instruction, the alt text, and the people.
    #[test]
    fn r_sc_12_remove_spans_really_removes_across_runs() {
        let docx = fixture();
        let paras = paragraphs(&docx).unwrap();
        let needles = ["NL91 ABNA0417164300\tbe", "jan@example.com", "Jan Jansen", "111222333"];
        let spans = spans_of(&paras, &needles);
        let out = remove_spans(&docx, &spans, "[REDACTED]").unwrap();
        assert_xml_parses(&out);

        let after = paragraphs(&out).unwrap();
        assert_eq!(after.len(), paras.len());
        assert_eq!(after[1], "IBAN: [REDACTED]taald");
        assert_eq!(after[2], "Mail [REDACTED] pagina 1 (link)");
        assert_eq!(after[4], "[REDACTED]");
        assert_eq!(after[9], "[REDACTED]");
        assert_eq!(after[13], "Vertrouwelijk: [REDACTED]");
        for (before, after) in paras.iter().zip(&after) {
            if !needles.iter().any(|n| before.contains(n)) {
                assert_eq!(before, after);
            }
        }
        for (name, data) in entries_of(&out) {
            let text = String::from_utf8_lossy(&data);
            for needle in [
                "ABNA0417164300",
                "NL91",
                "jan@example.com",
                "Jan Jansen",
                "111222333",
                "Piet Pietersen",
                "JJ",
                "Geheim",
            ] {
                assert!(!text.contains(needle), "{needle} still in {name}");
            }
        }
        // The mark goes into the run where the span starts: the plain "IBAN: " run keeps
        // its text, the bold run holds the mark, the tab is gone.
        let document = entry(&out, DOCUMENT);
        assert!(document.contains("<w:b/><w:bCs/></w:rPr><w:t xml:space=\"preserve\">[REDACTED]</w:t>"));
        assert!(
            document.contains("<w:rStyle w:val=\"Hyperlink\"/></w:rPr><w:t xml:space=\"preserve\">[REDACTED]</w:t>")
        );
        assert!(document.contains("<w:tabs><w:tab w:val=\"left\" w:pos=\"720\"/></w:tabs>"));
        assert!(entry(&out, DOCUMENT_RELS).contains("Target=\"about:blank\" TargetMode=\"External\""));
        assert!(entry(&out, "docProps/core.xml").contains("<dc:title>Factuur</dc:title><dc:creator/>"));
    }

    #[test]
    fn rewriting_keeps_other_entries_byte_for_byte_and_in_order() {
        let docx = fixture();
        let spans = vec![vec![], vec![(6, 10)]];
        let out = remove_spans(&docx, &spans, "X").unwrap();
        let before = entries_of(&docx);
        let after = entries_of(&out);
        let names = |e: &[(String, Vec<u8>)]| e.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
        assert_eq!(names(&before), names(&after));
        let changed = [DOCUMENT, DOCUMENT_RELS, "word/header1.xml", "word/comments.xml", "docProps/core.xml"];
        for ((name, old), (_, new)) in before.iter().zip(&after) {
            if !changed.contains(&name.as_str()) {
                assert_eq!(old, new, "{name} changed");
            }
        }
        let mut raw_in = ZipArchive::new(Cursor::new(docx.as_slice())).unwrap();
        let mut raw_out = ZipArchive::new(Cursor::new(out.as_slice())).unwrap();
        let png_in = raw_in.by_name("word/media/image1.png").unwrap().compression();
        assert_eq!(png_in, raw_out.by_name("word/media/image1.png").unwrap().compression());
        assert_eq!(paragraphs(&out).unwrap()[1], "IBAN: X ABNA0417164300\tbetaald");
    }

    #[test]
    fn remove_spans_edges_of_runs_and_special_characters() {
        let docx = fixture();
        let paras = paragraphs(&docx).unwrap();
        // A span that starts on the tab, one that is the whole line break, and an empty span.
        let mut spans = vec![Vec::new(); 6];
        spans[1] = vec![(25, 26)];
        spans[5] = vec![(3, 3), (9, 10)];
        let out = remove_spans(&docx, &spans, "#").unwrap();
        let after = paragraphs(&out).unwrap();
        assert_eq!(after[1], "IBAN: NL91 ABNA0417164300#betaald");
        assert_eq!(after[5], "regel een#regel twee");
        assert_eq!(after[6..], paras[6..]);
        assert_xml_parses(&out);
    }

    #[test]
    fn remove_spans_rejects_bad_spans() {
        let docx = fixture();
        let bad: [Vec<Vec<(usize, usize)>>; 4] = [
            vec![vec![(3, 1)]],
            vec![vec![(0, 4), (2, 5)]],
            vec![vec![(0, 100)]],
            vec![Vec::new(); 40].into_iter().chain([vec![(0, 1)]]).collect(),
        ];
        for spans in bad {
            assert!(matches!(remove_spans(&docx, &spans, "#"), Err(DocxError::Damaged(_))), "{spans:?}");
        }
        // Not on a character boundary: "€" is three bytes at the end of paragraph 3.
        let p3 = &paragraphs(&docx).unwrap()[3];
        let spans = vec![vec![], vec![], vec![], vec![(p3.len() - 2, p3.len())]];
        assert!(matches!(remove_spans(&docx, &spans, "#"), Err(DocxError::Damaged(_))));
    }

    #[test]
    fn replace_paragraphs_puts_text_in_the_first_run() {
        let docx = fixture();
        let paras = paragraphs(&docx).unwrap();
        let mut texts: Vec<String> = paras.iter().map(|p| p.to_uppercase()).collect();
        texts[1] = "IBAN: NL91 ABNA0417164300\tpaid".into();
        texts[11] = "was empty".into();
        texts[12] = "also empty & <new>".into();
        let out = replace_paragraphs(&docx, &texts).unwrap();
        assert_xml_parses(&out);
        assert_eq!(paragraphs(&out).unwrap(), texts);
        let document = entry(&out, DOCUMENT);
        // Paragraph and run properties stay; the other runs lost their text.
        assert!(document.contains("<w:pStyle w:val=\"Heading1\"/>"));
        assert!(document.contains("<w:lang w:val=\"nl-NL\"/></w:rPr><w:t xml:space=\"preserve\">FACTUUR</w:t>"));
        assert!(document.contains("<w:r><w:rPr><w:b/><w:bCs/></w:rPr></w:r>"));
        assert!(document.contains("<w:p><w:r><w:t xml:space=\"preserve\">was empty</w:t></w:r></w:p>"));
        assert!(document.contains("<w:jc w:val=\"center\"/></w:pPr><w:r><w:t xml:space=\"preserve\">also empty &amp; &lt;new&gt;</w:t></w:r></w:p>"));
        assert!(!document.contains("betaald"));
    }

    #[test]
    fn replace_paragraphs_needs_one_text_per_paragraph() {
        let docx = fixture();
        let texts = vec![String::from("x"); 3];
        assert!(matches!(replace_paragraphs(&docx, &texts), Err(DocxError::Damaged(_))));
    }

    /// R-SC-13: the footer part, its relationship, its content type, and references for the
    /// default, first and even pages of every section, so it is on every page; the old
    /// footer parts stay in the package, unreferenced.
    #[test]
    fn r_sc_13_with_footer_on_every_section() {
        let docx = fixture();
        let out = with_footer(&docx, "Afgedrukt door printcloud\nvertrouwelijk & <intern>").unwrap();
        assert_xml_parses(&out);
        let footer = entry(&out, "word/footer3.xml");
        assert!(footer.contains("vertrouwelijk &amp; &lt;intern&gt;"));
        assert!(entry(&out, DOCUMENT_RELS).contains(
            "<Relationship Id=\"rId2\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/footer\" Target=\"footer3.xml\"/></Relationships>"
        ));
        assert!(entry(&out, CONTENT_TYPES).contains(
            "<Override PartName=\"/word/footer3.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.wordprocessingml.footer+xml\"/></Types>"
        ));
        let document = entry(&out, DOCUMENT);
        assert_eq!(document.matches("<w:sectPr").count(), 2);
        for kind in ["default", "first", "even"] {
            let reference = format!("<w:footerReference w:type=\"{kind}\" r:id=\"rId2\"/>");
            assert_eq!(document.matches(&reference).count(), 2, "{kind} pages of both sections");
        }
        assert!(!document.contains("r:id=\"rId8\"") && !document.contains("r:id=\"rId10\""));
        // The old footers stay in the package.
        assert!(entry(&out, "word/footer1.xml").contains("Oude voettekst"));
        assert!(entry(&out, "word/footer2.xml").contains("Eerste pagina"));
        let text = all_text(&out).unwrap();
        assert!(text.contains("Afgedrukt door printcloud\nvertrouwelijk & <intern>"));
        assert_eq!(body_text(&out).unwrap(), body_text(&docx).unwrap());
    }

    #[test]
    fn with_footer_creates_a_section_when_there_is_none() {
        let mut entries = fixture_entries();
        entries[2].1 = part("w:document", "<w:body><w:p><w:r><w:t>Hallo</w:t></w:r></w:p></w:body>").into_bytes();
        entries.retain(|(n, _)| n != DOCUMENT_RELS);
        let out = with_footer(&zip_of(&entries), "voet").unwrap();
        assert_xml_parses(&out);
        let document = entry(&out, DOCUMENT);
        assert!(document.contains(&format!("<w:sectPr>{}</w:sectPr></w:body>", references("rId1"))));
        assert!(entry(&out, DOCUMENT_RELS).contains("Target=\"footer3.xml\""));
        assert!(paragraphs(&out).unwrap().contains(&"voet".to_owned()));

        let empty_sect = part("w:document", "<w:body><w:p/><w:sectPr/></w:body>");
        let out = reference_footer(empty_sect.as_bytes(), "rId5", Flavor::TRANSITIONAL).unwrap();
        let out = String::from_utf8(out).unwrap();
        assert!(out.contains(&format!("<w:sectPr>{}</w:sectPr>", references("rId5"))));
    }

    /// The footer references `with_footer` writes into a section.
    fn references(rid: &str) -> String {
        ["default", "first", "even"]
            .map(|kind| format!("<w:footerReference w:type=\"{kind}\" r:id=\"{rid}\"/>"))
            .concat()
    }

    #[test]
    fn from_text_round_trips_through_paragraphs() {
        let text = "Eerste regel\n\tingesprongen & <tags>\n\nPagina een\x0cPagina twee\n€ ünïcode\n";
        let docx = from_text(text);
        assert_xml_parses(&docx);
        let paras = paragraphs(&docx).unwrap();
        assert_eq!(paras.join("\n"), text);
        assert_eq!(body_text(&docx).unwrap(), text);
        assert!(entry(&docx, DOCUMENT).contains("<w:br w:type=\"page\"/>"));
        assert_eq!(paragraphs(&from_text("")).unwrap(), [""]);
        assert_eq!(body_text(&from_text("a\r\nb\u{1}c")).unwrap(), "a\nbc");
        // And the other operations work on it.
        let footed = with_footer(&docx, "voet").unwrap();
        assert_eq!(paragraphs(&footed).unwrap().last().unwrap(), "voet");
    }

    #[test]
    fn not_a_docx() {
        assert!(matches!(paragraphs(b"plain text"), Err(DocxError::NotDocx(_))));
        let zip = zip_of(&[("hello.txt".into(), b"hi".to_vec())]);
        assert!(matches!(paragraphs(&zip), Err(DocxError::NotDocx(_))));
        let mut entries = fixture_entries();
        entries[2].1 = b"<w:document><w:body><w:p></w:body></w:document>".to_vec();
        assert!(matches!(paragraphs(&zip_of(&entries)), Err(DocxError::Damaged(_))));
    }

    #[test]
    fn zip_bomb_guards() {
        let many: Vec<(String, Vec<u8>)> = (0..=MAX_ENTRIES)
            .map(|i| (format!("word/x{i}.xml"), Vec::new()))
            .chain([(DOCUMENT.to_owned(), b"<a/>".to_vec())])
            .collect();
        assert!(matches!(paragraphs(&zip_of(&many)), Err(DocxError::TooLarge(_))));

        let docx = zip_of(&[(DOCUMENT.into(), vec![b' '; 5_000]), ("word/header1.xml".into(), vec![b' '; 3_000])]);
        let small = |part, total| Limits { entries: 10, total, part };
        let read = |limits| Package::open_with(&docx, limits)?.read_text_parts();
        assert!(matches!(read(small(4_000, 100_000)), Err(DocxError::TooLarge(_))));
        assert!(matches!(read(small(6_000, 7_000)), Err(DocxError::TooLarge(_))));
        assert!(read(small(6_000, 8_000)).is_ok());
    }

    #[test]
    fn keeps_a_byte_order_mark() {
        let mut entries = fixture_entries();
        let mut doc = UTF8_BOM.to_vec();
        doc.extend_from_slice(&entries[2].1);
        entries[2].1 = doc;
        let docx = zip_of(&entries);
        let out = remove_spans(&docx, &[vec![(0, 3)]], "#").unwrap();
        let document = entries_of(&out).swap_remove(2).1;
        assert!(document.starts_with(UTF8_BOM));
        assert_eq!(paragraphs(&out).unwrap()[0], "#tuur");
    }

    /// A large body: the passes are linear, and spans in every paragraph all apply.
    #[test]
    fn large_document_with_many_spans() {
        let line = "Klant Jan Jansen, IBAN NL91 ABNA0417164300, BSN 111222333.";
        let text = vec![line; 20_000].join("\n");
        let docx = from_text(&text);
        let paras = paragraphs(&docx).unwrap();
        let spans = spans_of(&paras, &["Jan Jansen", "NL91 ABNA0417164300", "111222333"]);
        let out = remove_spans(&docx, &spans, "█").unwrap();
        let body = body_text(&out).unwrap();
        assert_eq!(body.lines().count(), 20_000);
        assert!(body.lines().all(|l| l == "Klant █, IBAN █, BSN █."));
    }

    /// No panic on hostile input: truncated and mutated zips, and mutated XML re-zipped
    /// (stored, so that the XML reader, not the CRC check, meets the damage).
    #[test]
    fn hostile_inputs_give_errors_not_panics() {
        let entries = fixture_entries();
        let docx = zip_of(&entries);
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let (mut read, mut refused) = (0, 0);
        for round in 0..2_000 {
            let input = if round % 2 == 0 {
                mutate(&docx, &mut next)
            } else {
                let mut entries = entries.clone();
                let which = [2usize, 3, 5, 6, 8, 9, 10][(next() % 7) as usize];
                entries[which].1 = mutate(&entries[which].1, &mut next);
                stored_zip_of(&entries)
            };
            if exercise(&input) { read += 1 } else { refused += 1 }
        }
        assert!(read > 200 && refused > 200, "read {read}, refused {refused}");
    }

    fn stored_zip_of(entries: &[(String, Vec<u8>)]) -> Vec<u8> {
        let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
        let options = SimpleFileOptions::default().compression_method(CompressionMethod::Stored);
        for (name, data) in entries {
            zip.start_file(name.as_str(), options).unwrap();
            zip.write_all(data).unwrap();
        }
        zip.finish().unwrap().into_inner()
    }

    fn mutate(bytes: &[u8], next: &mut impl FnMut() -> u64) -> Vec<u8> {
        let mut out = bytes.to_vec();
        match next() % 4 {
            0 => out.truncate((next() % (bytes.len() as u64 + 1)) as usize),
            1 => {
                for _ in 0..1 + next() % 8 {
                    let i = (next() % out.len() as u64) as usize;
                    out[i] ^= 1 << (next() % 8);
                }
            }
            2 => {
                let i = (next() % out.len() as u64) as usize;
                let bytes = [b'<', b'>', b'/', b'&', b'"', b':', 0xFF, b'\0'];
                out[i] = bytes[(next() % 8) as usize];
            }
            _ => {
                let i = (next() % out.len() as u64) as usize;
                let len = (next() % 64) as usize;
                out.drain(i..(i + len).min(out.len()));
            }
        }
        out
    }

    /// Runs every operation; whether the paragraphs could be read.
    fn exercise(input: &[u8]) -> bool {
        let _ = body_text(input);
        let _ = with_footer(input, "voet");
        let Ok(paras) = paragraphs(input) else {
            return false;
        };
        let spans: Vec<Vec<(usize, usize)>> = paras
            .iter()
            .map(|p| if p.is_char_boundary(p.len().min(4)) { vec![(0, p.len().min(4))] } else { vec![] })
            .collect();
        let _ = remove_spans(input, &spans, "#");
        let _ = replace_paragraphs(input, &paras);
        true
    }
}
