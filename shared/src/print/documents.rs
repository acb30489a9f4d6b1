//! Uploaded documents (D-FORMATS): what the ingest step of a print job needs to know about a
//! document — its format, its number of pages and, where that is cheap, whether it uses
//! colour — read from the document's bytes, never from its file name.
//!
//! Printed natively and page-counted: PDF, PostScript, PCL (PCL 5, PCL XL, PJL-wrapped jobs),
//! plain text, JPEG, PNG, TIFF and GIF. Office documents (Word, Excel, PowerPoint, OpenDocument,
//! RTF, HTML) are recognised but need a converter that is not configured, so [`examine`] turns
//! them down with [`DocumentError::NeedsConversion`] naming the format. Anything else (programs,
//! archives, unknown binary data) is [`DocumentError::Unsupported`].
//!
//! Colour use is told for PDF (from resources and, within a budget, page content), JPEG (by its
//! number of components), PNG (by colour type) and TIFF (by photometric interpretation); plain
//! text is monochrome; PostScript, PCL and GIF are left unknown.
//!
//! Every reader here takes hostile input: it never panics, bounds its loops, and sizes no
//! allocation from a number read from the file.

use lopdf::{Dictionary, Document, LoadOptions, Object, ObjectId, Stream};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// The PDF library documents are read with, for callers that build PDFs to check against it
/// (the page-count benchmark).
pub use lopdf;

/// The most pages a document may have; a larger count is taken as a damaged or hostile file.
pub const MAX_PAGES: u32 = 100_000;

/// Lines of plain text printed on one page.
pub const TEXT_LINES_PER_PAGE: u64 = 60;

/// How far into a file a PDF header may start, as PDF readers allow.
const PDF_HEADER_WINDOW: usize = 1024;

/// How near the end of a PDF its `%%EOF` marker must be for a rebuilt file not to count as
/// truncated.
const PDF_EOF_WINDOW: usize = 1024;

/// A PDF's declared page count above one page per this many bytes is not trusted: the page
/// tree is then loaded and its leaves counted.
const MIN_PDF_BYTES_PER_PAGE: usize = 4;

/// PDFs of up to this many objects (by their trailer's `/Size`) and [`PDF_FULL_LOAD_MAX_BYTES`]
/// are loaded whole to check their colour use and page tree: loading costs a few microseconds an
/// object, so this keeps it within what `pdfinfo` takes. Larger ones are page-counted from the
/// catalog alone, and their colour use is left unknown.
const PDF_FULL_LOAD_MAX_OBJECTS: u64 = 1_000;

/// See [`PDF_FULL_LOAD_MAX_OBJECTS`].
const PDF_FULL_LOAD_MAX_BYTES: usize = 8 * 1024 * 1024;

/// How far from a PDF's end its trailer's `/Size` is looked for.
const PDF_TRAILER_WINDOW: usize = 64 * 1024;

/// Decompressed page content (summed over the document) read to rule colour out; past it the
/// answer is "unknown".
const PDF_CONTENT_BUDGET: usize = 1024 * 1024;

/// How much compressed page content is assumed to grow when decompressed, to tell beforehand
/// whether reading it would exceed [`PDF_CONTENT_BUDGET`].
const PDF_ASSUMED_COMPRESSION: usize = 5;

/// Bound on what one object or cross-reference stream may decompress to while a PDF loads.
const PDF_MAX_DECOMPRESSED: usize = 64 * 1024 * 1024;

/// How deep colour spaces, forms and patterns are followed inside a PDF.
const PDF_MAX_DEPTH: usize = 16;

/// Most image file directories walked in a TIFF.
const TIFF_MAX_IFDS: usize = 10_000;

/// Most directory sectors read from an OLE2 compound file.
const OLE_MAX_DIRECTORY_SECTORS: usize = 1024;

/// An Office format: recognised, but printable only once converted, which this deployment
/// cannot do. CSV is not here: it is plain text and printed as such.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OfficeFormat {
    /// Word 97–2003 (`.doc`).
    Doc,
    /// Word (`.docx`).
    Docx,
    /// Excel 97–2003 (`.xls`).
    Xls,
    /// Excel (`.xlsx`).
    Xlsx,
    /// PowerPoint 97–2003 (`.ppt`).
    Ppt,
    /// PowerPoint (`.pptx`).
    Pptx,
    /// OpenDocument text (`.odt`).
    Odt,
    /// OpenDocument spreadsheet (`.ods`).
    Ods,
    /// OpenDocument presentation (`.odp`).
    Odp,
    /// Rich Text Format (`.rtf`).
    Rtf,
    /// A web page (`.html`).
    Html,
    /// A Microsoft Office 97–2003 compound file whose application could not be told.
    LegacyOffice,
}

impl OfficeFormat {
    /// The format's name as a document owner knows it, for messages.
    pub fn label(&self) -> &'static str {
        match self {
            OfficeFormat::Doc => "Word document (DOC)",
            OfficeFormat::Docx => "Word document (DOCX)",
            OfficeFormat::Xls => "Excel workbook (XLS)",
            OfficeFormat::Xlsx => "Excel workbook (XLSX)",
            OfficeFormat::Ppt => "PowerPoint presentation (PPT)",
            OfficeFormat::Pptx => "PowerPoint presentation (PPTX)",
            OfficeFormat::Odt => "OpenDocument text (ODT)",
            OfficeFormat::Ods => "OpenDocument spreadsheet (ODS)",
            OfficeFormat::Odp => "OpenDocument presentation (ODP)",
            OfficeFormat::Rtf => "Rich Text Format document (RTF)",
            OfficeFormat::Html => "web page (HTML)",
            OfficeFormat::LegacyOffice => "Microsoft Office 97-2003 document",
        }
    }
}

/// A document format recognised from a document's bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentFormat {
    /// PDF, possibly with leading bytes before its header, as readers accept.
    Pdf,
    /// PostScript, including DOS EPS files with their binary header.
    #[serde(rename = "postscript")]
    PostScript,
    /// A printer job in PCL 5 or PCL XL, possibly wrapped in PJL (which may also carry
    /// PostScript).
    Pcl,
    /// Plain text (UTF-8 or Latin-1), CSV included.
    Text,
    /// A JPEG image.
    Jpeg,
    /// A PNG image.
    Png,
    /// A TIFF image, possibly of several pages.
    Tiff,
    /// A GIF image.
    Gif,
    /// An Office document that needs converting before it can be printed.
    Office(OfficeFormat),
}

impl DocumentFormat {
    /// The format's name as a document owner knows it, for messages.
    pub fn label(&self) -> &'static str {
        match self {
            DocumentFormat::Pdf => "PDF document",
            DocumentFormat::PostScript => "PostScript document",
            DocumentFormat::Pcl => "PCL print job",
            DocumentFormat::Text => "plain text",
            DocumentFormat::Jpeg => "JPEG image",
            DocumentFormat::Png => "PNG image",
            DocumentFormat::Tiff => "TIFF image",
            DocumentFormat::Gif => "GIF image",
            DocumentFormat::Office(office) => office.label(),
        }
    }
}

/// What ingest records about a printable document.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DocumentFacts {
    /// The format, from the document's bytes.
    pub format: DocumentFormat,
    /// Pages the document prints on (at least 1); approximate for text, PostScript and PCL.
    pub pages: u32,
    /// Whether the document uses colour, when that could be told cheaply.
    pub uses_colour: Option<bool>,
}

/// Why a document cannot be printed, for the job owner.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DocumentError {
    /// The document has no bytes, or only white space.
    Empty,
    /// The document is in no format that is printed or recognised.
    Unsupported,
    /// The document is an Office document, which needs a converter that is not configured.
    NeedsConversion(OfficeFormat),
    /// The document is a PDF protected by a user password.
    PasswordProtected,
    /// The document is in a printable format but damaged; the text says how.
    Corrupt(String),
}

impl DocumentError {
    /// A stable snake_case code for clients and records.
    pub fn code(&self) -> &'static str {
        match self {
            DocumentError::Empty => "empty_document",
            DocumentError::Unsupported => "unsupported_format",
            DocumentError::NeedsConversion(_) => "conversion_unavailable",
            DocumentError::PasswordProtected => "password_protected",
            DocumentError::Corrupt(_) => "corrupt_document",
        }
    }

    /// What the job owner is told.
    pub fn reason(&self) -> String {
        match self {
            DocumentError::Empty => "The document is empty: there is nothing to print.".to_string(),
            DocumentError::Unsupported => "The document is in a format that cannot be printed. Submit a PDF, \
                 PostScript, PCL, plain text, JPEG, PNG, TIFF or GIF file."
                .to_string(),
            DocumentError::NeedsConversion(office) => format!(
                "The document is a {}, which must be converted before printing, and no converter is \
                 configured. Save it as PDF and submit it again.",
                office.label()
            ),
            DocumentError::PasswordProtected => {
                "The PDF is protected by a password. Remove the password and submit it again.".to_string()
            }
            DocumentError::Corrupt(detail) => format!("The document is damaged and cannot be printed: {detail}."),
        }
    }
}

impl std::fmt::Display for DocumentError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.reason())
    }
}

impl std::error::Error for DocumentError {}

/// Recognises a document's format from its bytes: magic numbers and structure, never a name.
/// `None` when the bytes are in no format printed or recognised here.
pub fn sniff(bytes: &[u8]) -> Option<DocumentFormat> {
    match sniff_signature(bytes) {
        Signature::Format(format) => Some(format),
        Signature::Foreign => None,
        Signature::Unknown if pdf_header_offset(bytes).is_some() => Some(DocumentFormat::Pdf),
        Signature::Unknown if is_html(bytes) => Some(DocumentFormat::Office(OfficeFormat::Html)),
        Signature::Unknown if is_text(bytes) => Some(DocumentFormat::Text),
        Signature::Unknown => None,
    }
}

/// Tells ingest the format, pages and colour use of a document, or why it cannot be printed.
pub fn examine(bytes: &[u8]) -> Result<DocumentFacts, DocumentError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(DocumentError::Empty);
    }
    let format = sniff(bytes).ok_or(DocumentError::Unsupported)?;
    let measured = match format {
        DocumentFormat::Pdf => pdf::measure(bytes)?,
        DocumentFormat::PostScript => Measured::new(postscript_pages(eps_body(bytes)), None),
        DocumentFormat::Pcl => Measured::new(pcl_pages(bytes), None),
        DocumentFormat::Text => Measured::new(text_pages(bytes), Some(false)),
        DocumentFormat::Jpeg => Measured::new(1, Some(jpeg_components(bytes)? > 1)),
        DocumentFormat::Png => Measured::new(1, Some(png_is_colour(bytes)?)),
        DocumentFormat::Tiff => tiff_measure(bytes)?,
        DocumentFormat::Gif => Measured::new(1, None),
        DocumentFormat::Office(office) => return Err(DocumentError::NeedsConversion(office)),
    };
    let pages = u32::try_from(measured.pages)
        .ok()
        .filter(|pages| (1..=MAX_PAGES).contains(pages))
        .ok_or_else(|| corrupt(format!("it claims {} pages, more than the {MAX_PAGES} allowed", measured.pages)))?;
    Ok(DocumentFacts { format, pages, uses_colour: measured.uses_colour })
}

/// Pages and colour use as a format's reader found them.
struct Measured {
    /// Pages, before the [`MAX_PAGES`] check.
    pages: u64,
    /// Colour use, when known.
    uses_colour: Option<bool>,
}

impl Measured {
    fn new(pages: u64, uses_colour: Option<bool>) -> Self {
        Measured { pages, uses_colour }
    }
}

fn corrupt(detail: impl Into<String>) -> DocumentError {
    DocumentError::Corrupt(detail.into())
}

// ---------------------------------------------------------------------------------------------
// Recognising formats
// ---------------------------------------------------------------------------------------------

/// What a document's leading bytes say.
enum Signature {
    /// A format recognised by its magic number or structure.
    Format(DocumentFormat),
    /// A recognised format that is neither printable nor an Office document (a program, a
    /// plain archive, another compound file).
    Foreign,
    /// No signature: the document may still be a PDF with leading bytes, HTML or text.
    Unknown,
}

/// The PCL XL stream header after its byte-order mark.
const PCL_XL_HEADER: &[u8] = b" HP-PCL XL";
/// PJL's universal exit language command, which starts and ends PJL jobs.
const UEL: &[u8] = b"\x1b%-12345X";
/// The DOS EPS binary header's magic number.
const DOS_EPS_MAGIC: &[u8] = b"\xc5\xd0\xd3\xc6";
/// The OLE2 compound file's magic number.
const OLE2_MAGIC: &[u8] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1";

fn sniff_signature(bytes: &[u8]) -> Signature {
    use DocumentFormat as F;
    let starts = |magic: &[u8]| bytes.starts_with(magic);
    let format = if (starts(UEL) || starts(b"@PJL")) && pdf_header_offset(bytes).is_some() {
        F::Pdf
    } else if starts(b"%!PS") || starts(b"\x04%!PS") || starts(DOS_EPS_MAGIC) {
        F::PostScript
    } else if is_pcl_start(bytes) {
        F::Pcl
    } else if starts(b"\xff\xd8\xff") {
        F::Jpeg
    } else if starts(b"\x89PNG\r\n\x1a\n") {
        F::Png
    } else if starts(b"II*\0") || starts(b"MM\0*") {
        F::Tiff
    } else if starts(b"GIF87a") || starts(b"GIF89a") {
        F::Gif
    } else if starts(b"{\\rtf") {
        F::Office(OfficeFormat::Rtf)
    } else if starts(OLE2_MAGIC) {
        return ole2_office_format(bytes).map_or(Signature::Foreign, |office| Signature::Format(F::Office(office)));
    } else if starts(b"PK\x03\x04") || starts(b"PK\x05\x06") {
        return zip_office_format(bytes).map_or(Signature::Foreign, |office| Signature::Format(F::Office(office)));
    } else if starts(b"MZ") || starts(b"\x7fELF") {
        return Signature::Foreign;
    } else {
        return Signature::Unknown;
    };
    Signature::Format(format)
}

/// A PCL job starts with a printer reset, another PCL escape sequence, PJL, or a PCL XL header.
fn is_pcl_start(bytes: &[u8]) -> bool {
    let pcl_escape =
        bytes.first() == Some(&0x1b) && matches!(bytes.get(1), Some(b'E' | b'&' | b'*' | b'(' | b')' | b'%'));
    let pcl_xl = matches!(bytes.first(), Some(b')' | b'('))
        && bytes.get(1..).is_some_and(|rest| rest.starts_with(PCL_XL_HEADER));
    pcl_escape || pcl_xl || bytes.starts_with(b"@PJL")
}

/// Where a PDF header (`%PDF-` and a version digit) starts, if within the first
/// [`PDF_HEADER_WINDOW`] bytes and after nothing, a control or binary byte (a line break), or a
/// PJL universal exit language command: not in the middle of text that mentions it.
fn pdf_header_offset(bytes: &[u8]) -> Option<usize> {
    let window = &bytes[..bytes.len().min(PDF_HEADER_WINDOW)];
    window.windows(6).enumerate().find_map(|(at, candidate)| {
        let after_text = at > 0 && (0x20..0x7f).contains(&window[at - 1]) && !window[..at].ends_with(UEL);
        (!after_text && candidate.starts_with(b"%PDF-") && candidate[5].is_ascii_digit()).then_some(at)
    })
}

/// An HTML page: after a byte-order mark and white space, a doctype or an `<html>`, `<head>` or
/// `<body>` tag, or an XML declaration or comment followed soon by `<html`.
fn is_html(bytes: &[u8]) -> bool {
    let body = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes).trim_ascii_start();
    let head = body[..body.len().min(1024)].to_ascii_lowercase();
    const OPENINGS: [&[u8]; 4] = [b"<!doctype html", b"<html", b"<head", b"<body"];
    OPENINGS.iter().any(|opening| head.starts_with(opening))
        || ((head.starts_with(b"<?xml") || head.starts_with(b"<!--")) && find(&head, b"<html").is_some())
}

/// Plain text: no NUL byte, and at least 95 % printable characters (white space, form feeds and
/// tabs count as printable), read as UTF-8 when valid and as Latin-1 otherwise. CSV is text.
fn is_text(bytes: &[u8]) -> bool {
    if bytes.contains(&0) {
        return false;
    }
    let body = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    let (printable, total) = match std::str::from_utf8(body) {
        Ok(text) => text.chars().fold((0u64, 0u64), |(printable, total), c| {
            (printable + u64::from(!c.is_control() || matches!(c, '\t' | '\n' | '\r' | '\x0c')), total + 1)
        }),
        Err(_) => body.iter().fold((0u64, 0u64), |(printable, total), &byte| {
            let shown = matches!(byte, b'\t' | b'\n' | b'\r' | 0x0c | 0x20..=0x7e | 0xa0..=0xff);
            (printable + u64::from(shown), total + 1)
        }),
    };
    total > 0 && printable * 100 >= total * 95
}

/// The Office application of an OLE2 compound file, from the names of its streams; a generic
/// legacy Office document when the directory cannot be read, `None` when it reads but holds
/// no Word, Excel or PowerPoint stream (an installer, a mail message…).
fn ole2_office_format(bytes: &[u8]) -> Option<OfficeFormat> {
    let Some(names) = ole2_stream_names(bytes) else {
        return Some(OfficeFormat::LegacyOffice);
    };
    names.iter().find_map(|name| match name.as_str() {
        "WordDocument" => Some(OfficeFormat::Doc),
        "Workbook" | "Book" => Some(OfficeFormat::Xls),
        "PowerPoint Document" => Some(OfficeFormat::Ppt),
        _ => None,
    })
}

/// The names in an OLE2 compound file's directory, following its sector chain through the
/// header's first 109 FAT sectors.
fn ole2_stream_names(bytes: &[u8]) -> Option<Vec<String>> {
    let sector_shift = u32::from(read_u16(bytes, 30, false)?);
    if !(7..=16).contains(&sector_shift) {
        return None;
    }
    let sector_size = 1usize << sector_shift;
    let sector = |index: u32| -> Option<&[u8]> {
        let start = (usize::try_from(index).ok()? + 1).checked_mul(sector_size)?;
        bytes.get(start..start.checked_add(sector_size)?)
    };
    let next_sector = |index: u32| -> Option<u32> {
        let per_sector = u32::try_from(sector_size / 4).ok()?;
        let fat_slot = usize::try_from(index / per_sector).ok()?;
        if fat_slot >= 109 {
            return None;
        }
        let fat_sector = read_u32(bytes, 76 + fat_slot * 4, false)?;
        read_u32(sector(fat_sector)?, usize::try_from(index % per_sector).ok()? * 4, false)
    };
    let mut names = Vec::new();
    let mut current = read_u32(bytes, 48, false)?;
    for _ in 0..OLE_MAX_DIRECTORY_SECTORS {
        if current >= 0xffff_fffa {
            return Some(names);
        }
        for entry in sector(current)?.chunks_exact(128) {
            let name_bytes = usize::from(read_u16(entry, 64, false)?).min(64);
            let units: Vec<u16> = entry[..name_bytes]
                .chunks_exact(2)
                .map(|pair| u16::from_le_bytes([pair[0], pair[1]]))
                .take_while(|&unit| unit != 0)
                .collect();
            names.push(String::from_utf16_lossy(&units));
        }
        current = next_sector(current)?;
    }
    Some(names)
}

/// The Office format of a ZIP package: OOXML by its `word/`, `xl/` or `ppt/` parts, OpenDocument
/// by its `mimetype` entry. `None` for any other archive.
fn zip_office_format(bytes: &[u8]) -> Option<OfficeFormat> {
    let entries = zip_entries(bytes);
    entries.iter().find_map(|entry| {
        let name = entry.name;
        if name.starts_with(b"word/") {
            Some(OfficeFormat::Docx)
        } else if name.starts_with(b"xl/") {
            Some(OfficeFormat::Xlsx)
        } else if name.starts_with(b"ppt/") {
            Some(OfficeFormat::Pptx)
        } else if name == b"mimetype" {
            opendocument_format(zip_stored_content(bytes, entry.local_header)?)
        } else {
            None
        }
    })
}

fn opendocument_format(mimetype: &[u8]) -> Option<OfficeFormat> {
    const PREFIX: &[u8] = b"application/vnd.oasis.opendocument.";
    match mimetype.strip_prefix(PREFIX)?.trim_ascii() {
        b"text" | b"text-template" => Some(OfficeFormat::Odt),
        b"spreadsheet" | b"spreadsheet-template" => Some(OfficeFormat::Ods),
        b"presentation" | b"presentation-template" => Some(OfficeFormat::Odp),
        _ => None,
    }
}

/// An entry of a ZIP archive.
struct ZipEntry<'a> {
    /// Its path inside the archive.
    name: &'a [u8],
    /// Where its local file header starts.
    local_header: usize,
}

/// A ZIP archive's entries: from its central directory, or from the local file headers one
/// after the other when the central directory cannot be found (a truncated upload).
fn zip_entries(bytes: &[u8]) -> Vec<ZipEntry<'_>> {
    zip_central_directory(bytes).unwrap_or_else(|| zip_local_headers(bytes))
}

fn zip_central_directory(bytes: &[u8]) -> Option<Vec<ZipEntry<'_>>> {
    let search_from = bytes.len().saturating_sub(22 + 65_535);
    let end = search_from + rfind(&bytes[search_from..], b"PK\x05\x06")?;
    let count = read_u16(bytes, end + 10, false)?;
    let mut offset = usize::try_from(read_u32(bytes, end + 16, false)?).ok()?;
    let mut entries = Vec::new();
    for _ in 0..count {
        if bytes.get(offset..offset + 4)? != b"PK\x01\x02" {
            break;
        }
        let name_len = usize::from(read_u16(bytes, offset + 28, false)?);
        let extra_len = usize::from(read_u16(bytes, offset + 30, false)?);
        let comment_len = usize::from(read_u16(bytes, offset + 32, false)?);
        let local_header = usize::try_from(read_u32(bytes, offset + 42, false)?).ok()?;
        let name = bytes.get(offset + 46..offset + 46 + name_len)?;
        entries.push(ZipEntry { name, local_header });
        offset += 46 + name_len + extra_len + comment_len;
    }
    Some(entries)
}

fn zip_local_headers(bytes: &[u8]) -> Vec<ZipEntry<'_>> {
    let mut entries = Vec::new();
    let mut offset = 0usize;
    while entries.len() < 1024 && bytes.get(offset..offset + 4) == Some(b"PK\x03\x04") {
        let (Some(size), Some(name_len), Some(extra_len)) = (
            read_u32(bytes, offset + 18, false),
            read_u16(bytes, offset + 26, false),
            read_u16(bytes, offset + 28, false),
        ) else {
            break;
        };
        let name_start = offset + 30;
        let Some(name) = bytes.get(name_start..name_start + usize::from(name_len)) else {
            break;
        };
        entries.push(ZipEntry { name, local_header: offset });
        let data_start = name_start + usize::from(name_len) + usize::from(extra_len);
        match usize::try_from(size).ok().and_then(|size| data_start.checked_add(size)) {
            Some(next) if size > 0 => offset = next,
            _ => break,
        }
    }
    entries
}

/// The content of a ZIP entry stored without compression.
fn zip_stored_content(bytes: &[u8], local_header: usize) -> Option<&[u8]> {
    if bytes.get(local_header..local_header + 4)? != b"PK\x03\x04" || read_u16(bytes, local_header + 8, false)? != 0 {
        return None;
    }
    let size = usize::try_from(read_u32(bytes, local_header + 18, false)?).ok()?;
    let name_len = usize::from(read_u16(bytes, local_header + 26, false)?);
    let extra_len = usize::from(read_u16(bytes, local_header + 28, false)?);
    let start = local_header + 30 + name_len + extra_len;
    bytes.get(start..start.checked_add(size)?)
}

// ---------------------------------------------------------------------------------------------
// Text, PostScript and PCL
// ---------------------------------------------------------------------------------------------

/// Pages of plain text: [`TEXT_LINES_PER_PAGE`] lines a page (long lines are not wrapped), and a
/// form feed starts a new page, except one followed only by white space. At least one page.
fn text_pages(bytes: &[u8]) -> u64 {
    let sheets: Vec<&[u8]> = bytes.split(|&byte| byte == 0x0c).collect();
    let last_blank = sheets.len() > 1 && sheets.last().is_some_and(|sheet| sheet.iter().all(u8::is_ascii_whitespace));
    let counted = if last_blank { &sheets[..sheets.len() - 1] } else { &sheets[..] };
    counted.iter().map(|sheet| line_count(sheet).div_ceil(TEXT_LINES_PER_PAGE).max(1)).sum::<u64>().max(1)
}

/// Lines in a piece of text: line feeds, lone carriage returns, and an unterminated last line.
fn line_count(text: &[u8]) -> u64 {
    let breaks = text
        .iter()
        .enumerate()
        .filter(|&(index, &byte)| byte == b'\n' || (byte == b'\r' && text.get(index + 1) != Some(&b'\n')))
        .count() as u64;
    let unterminated = text.last().is_some_and(|&byte| byte != b'\n' && byte != b'\r');
    breaks + u64::from(unterminated)
}

/// The PostScript inside a DOS EPS file (the whole input otherwise, or when its header lies).
fn eps_body(bytes: &[u8]) -> &[u8] {
    if !bytes.starts_with(DOS_EPS_MAGIC) {
        return bytes;
    }
    let section = || -> Option<&[u8]> {
        let start = usize::try_from(read_u32(bytes, 4, false)?).ok()?;
        let length = usize::try_from(read_u32(bytes, 8, false)?).ok()?;
        bytes.get(start..start.checked_add(length)?)
    };
    section().unwrap_or(bytes)
}

/// Pages of a PostScript program, approximately: the DSC `%%Pages:` count (the last one given,
/// so an `(atend)` trailer wins), else the `%%Page:` comments, else the `showpage` operators;
/// documents embedded between `%%BeginDocument` and `%%EndDocument` are skipped. At least one.
fn postscript_pages(ps: &[u8]) -> u64 {
    let mut declared = None;
    let mut page_comments = 0u64;
    let mut embedded = 0u32;
    for line in ps.split(|&byte| byte == b'\n' || byte == b'\r') {
        if line.starts_with(b"%%BeginDocument") {
            embedded = embedded.saturating_add(1);
        } else if line.starts_with(b"%%EndDocument") {
            embedded = embedded.saturating_sub(1);
        } else if embedded > 0 {
            continue;
        } else if let Some(count) = line.strip_prefix(b"%%Pages:") {
            declared = leading_number(count.trim_ascii()).filter(|&pages| pages > 0).or(declared);
        } else if line.starts_with(b"%%Page:") {
            page_comments += 1;
        }
    }
    declared.or((page_comments > 0).then_some(page_comments)).unwrap_or_else(|| count_word(ps, b"showpage")).max(1)
}

/// Pages of a PCL job, approximately. The job is split at PJL's universal exit language
/// commands; PJL lines are skipped; PCL XL counts its `EndPage` operators; PostScript is counted
/// as above; PCL 5 counts form feeds and `ESC&l0H` page ejects, plus a page that a printer reset
/// (`ESC E`) or the end of the job prints because text or raster data was put on it. At least
/// one page.
fn pcl_pages(bytes: &[u8]) -> u64 {
    let pages: u64 = split_on(bytes, UEL)
        .map(|segment| {
            let body = skip_pjl(segment);
            if matches!(body.first(), Some(b')' | b'('))
                && body.get(1..).is_some_and(|rest| rest.starts_with(PCL_XL_HEADER))
            {
                pcl_xl_pages(body)
            } else if body.starts_with(b"%!PS") {
                postscript_pages(body)
            } else {
                Pcl5Pages::default().count(body)
            }
        })
        .sum();
    pages.max(1)
}

/// A job segment without its leading PJL command lines (and blank lines).
fn skip_pjl(mut segment: &[u8]) -> &[u8] {
    loop {
        let trimmed = segment.trim_ascii_start();
        if !trimmed.starts_with(b"@PJL") {
            return trimmed;
        }
        segment = trimmed.iter().position(|&byte| byte == b'\n').map_or(&[][..], |end| &trimmed[end + 1..]);
    }
}

/// Counts PCL 5 pages: see [`pcl_pages`].
#[derive(Default)]
struct Pcl5Pages {
    /// Pages ejected so far.
    pages: u64,
    /// Whether the current page has something on it.
    marked: bool,
}

impl Pcl5Pages {
    fn count(mut self, data: &[u8]) -> u64 {
        let mut at = 0;
        while at < data.len() {
            at = match data[at] {
                0x1b => self.escape(data, at),
                0x0c => {
                    self.eject();
                    at + 1
                }
                0x21..=0x7e | 0x80..=0xff => {
                    self.marked = true;
                    at + 1
                }
                _ => at + 1,
            };
        }
        self.pages + u64::from(self.marked)
    }

    fn eject(&mut self) {
        self.pages += 1;
        self.marked = false;
    }

    /// Reads the escape sequence at `at` and returns where the next byte to read is.
    fn escape(&mut self, data: &[u8], at: usize) -> usize {
        match data.get(at + 1) {
            Some(b'E') => {
                if self.marked {
                    self.eject();
                }
                at + 2
            }
            Some(&parameterised @ 0x21..=0x2f) => self.parameterised(data, at + 2, parameterised),
            Some(_) => at + 2,
            None => at + 1,
        }
    }

    /// Reads `ESC <parameterised> [group] (value parameter)+` from `at`, skipping the binary data
    /// that raster, font and transparent-print commands carry.
    fn parameterised(&mut self, data: &[u8], mut at: usize, parameterised: u8) -> usize {
        let group = match data.get(at) {
            Some(&group @ 0x60..=0x7e) => {
                at += 1;
                group
            }
            _ => 0,
        };
        loop {
            let (value, after_value) = pcl_value(data, at);
            let Some(&parameter) = data.get(after_value) else {
                return after_value;
            };
            at = after_value + 1;
            let upper = parameter.to_ascii_uppercase();
            let carries_data = upper == b'W'
                || (parameterised == b'*' && group == b'b' && upper == b'V')
                || (parameterised == b'&' && group == b'p' && upper == b'X');
            if carries_data {
                at = at.saturating_add(usize::try_from(value).unwrap_or(usize::MAX)).min(data.len());
                self.marked |= matches!((parameterised, group), (b'*', b'b') | (b'&', b'p'));
            } else if parameterised == b'&' && group == b'l' && upper == b'H' && value == 0 {
                self.eject();
            }
            if !(0x60..=0x7e).contains(&parameter) {
                return at;
            }
        }
    }
}

/// A PCL parameter value at `at` (sign, digits, fraction), as a whole number of at most
/// `u32::MAX`, and where it ends.
fn pcl_value(data: &[u8], at: usize) -> (u64, usize) {
    let mut end = at;
    if matches!(data.get(end), Some(b'+' | b'-')) {
        end += 1;
    }
    let mut value = 0u64;
    while let Some(&digit) = data.get(end).filter(|byte| byte.is_ascii_digit()) {
        value = (value * 10 + u64::from(digit - b'0')).min(u64::from(u32::MAX));
        end += 1;
    }
    if data.get(end) == Some(&b'.') {
        end += 1;
        while data.get(end).is_some_and(u8::is_ascii_digit) {
            end += 1;
        }
    }
    (value, end)
}

/// Pages of a PCL XL stream: its `EndPage` operators, read token by token so that data bytes are
/// never taken for operators. Stops at the first byte that is no PCL XL token (the next UEL).
fn pcl_xl_pages(stream: &[u8]) -> u64 {
    let big_endian = stream.first() == Some(&b'(');
    let Some(header_end) = stream.iter().position(|&byte| byte == b'\n') else {
        return 0;
    };
    let mut at = header_end + 1;
    let mut pages = 0u64;
    while let Some(&tag) = stream.get(at) {
        at += 1;
        let skip = match tag {
            0x00 | 0x09..=0x0d | 0x20 | 0x41..=0xbf => {
                pages += u64::from(tag == 0x44);
                Some(0)
            }
            0xc0..=0xc5 => Some(xl_scalar_size(tag - 0xc0)),
            0xc8..=0xcd => xl_array_size(stream, at, tag - 0xc8, big_endian),
            0xd0..=0xd5 => Some(2 * xl_scalar_size(tag - 0xd0)),
            0xe0..=0xe5 => Some(4 * xl_scalar_size(tag - 0xe0)),
            0xf8 => Some(1),
            0xf9 => Some(2),
            0xfa => read_u32(stream, at, big_endian).and_then(|length| usize::try_from(length).ok()?.checked_add(4)),
            0xfb => stream.get(at).map(|&length| usize::from(length) + 1),
            _ => None,
        };
        match skip.and_then(|skip| at.checked_add(skip)) {
            Some(next) => at = next,
            None => break,
        }
    }
    pages
}

/// Bytes of one PCL XL scalar: ubyte, uint16, uint32, sint16, sint32, real32.
fn xl_scalar_size(kind: u8) -> usize {
    [1, 2, 4, 2, 4, 4].get(usize::from(kind)).copied().unwrap_or(1)
}

/// Bytes of a PCL XL array after its tag: its length (a ubyte or uint16 value) and elements.
fn xl_array_size(stream: &[u8], at: usize, kind: u8, big_endian: bool) -> Option<usize> {
    let (length, length_size) = match stream.get(at)? {
        0xc0 => (usize::from(*stream.get(at + 1)?), 2),
        0xc1 => (usize::from(read_u16(stream, at + 1, big_endian)?), 3),
        _ => return None,
    };
    length.checked_mul(xl_scalar_size(kind))?.checked_add(length_size)
}

// ---------------------------------------------------------------------------------------------
// Images
// ---------------------------------------------------------------------------------------------

/// The number of colour components of a JPEG, from its frame header.
fn jpeg_components(bytes: &[u8]) -> Result<u8, DocumentError> {
    let mut at = 2;
    while at < bytes.len() {
        if bytes[at] != 0xff {
            return Err(corrupt("the JPEG image's markers are damaged"));
        }
        let marker = bytes.get(at + 1).copied().ok_or_else(|| corrupt("the JPEG image is truncated"))?;
        match marker {
            0xff => at += 1,
            0x01 | 0xd0..=0xd7 => at += 2,
            0xc0..=0xc3 | 0xc5..=0xc7 | 0xc9..=0xcb | 0xcd..=0xcf => {
                return bytes.get(at + 9).copied().ok_or_else(|| corrupt("the JPEG image's frame header is truncated"));
            }
            0xd9 | 0xda => break,
            _ => {
                let length = read_u16(bytes, at + 2, true).ok_or_else(|| corrupt("the JPEG image is truncated"))?;
                at += 2 + usize::from(length);
            }
        }
    }
    Err(corrupt("the JPEG image has no frame header"))
}

/// Whether a PNG is in colour: colour types 2 (RGB), 3 (palette) and 6 (RGBA) are; 0 and 4
/// (grey, grey with alpha) are not.
fn png_is_colour(bytes: &[u8]) -> Result<bool, DocumentError> {
    if bytes.get(12..16) != Some(b"IHDR") {
        return Err(corrupt("the PNG image has no header chunk"));
    }
    match bytes.get(25) {
        Some(0 | 4) => Ok(false),
        Some(2 | 3 | 6) => Ok(true),
        Some(_) => Err(corrupt("the PNG image has an unknown colour type")),
        None => Err(corrupt("the PNG image's header is truncated")),
    }
}

/// A TIFF's pages (its image file directories, walked along their chain without revisiting
/// one) and colour use (from each page's photometric interpretation).
fn tiff_measure(bytes: &[u8]) -> Result<Measured, DocumentError> {
    let big_endian = bytes.starts_with(b"MM");
    let mut next = read_u32(bytes, 4, big_endian).unwrap_or(0);
    let mut seen = HashSet::new();
    let mut pages = 0u64;
    let mut tone = Tone::Grey;
    while next != 0 && seen.len() < TIFF_MAX_IFDS && seen.insert(next) {
        let Some(directory) = tiff_directory(bytes, next as usize, big_endian) else {
            break;
        };
        pages += 1;
        tone = tone.and(directory.tone);
        next = directory.next;
    }
    if pages == 0 {
        return Err(corrupt("the TIFF image has no readable image directory"));
    }
    Ok(Measured::new(pages, tone.known()))
}

/// One TIFF image file directory.
struct TiffDirectory {
    /// Colour use of its image.
    tone: Tone,
    /// Where the next directory is (0 at the last).
    next: u32,
}

fn tiff_directory(bytes: &[u8], offset: usize, big_endian: bool) -> Option<TiffDirectory> {
    let entries = usize::from(read_u16(bytes, offset, big_endian)?);
    let entries_start = offset + 2;
    let next = read_u32(bytes, entries_start + entries * 12, big_endian)?;
    let photometric = (0..entries).find_map(|index| {
        let entry = entries_start + index * 12;
        (read_u16(bytes, entry, big_endian)? == 262).then(|| read_u16(bytes, entry + 8, big_endian))?
    });
    let tone = match photometric {
        Some(0 | 1 | 4) => Tone::Grey,
        Some(_) => Tone::Colour,
        None => Tone::Unknown,
    };
    Some(TiffDirectory { tone, next })
}

// ---------------------------------------------------------------------------------------------
// Colour
// ---------------------------------------------------------------------------------------------

/// What a part of a document says about colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tone {
    /// Only grey (or nothing) is painted.
    Grey,
    /// Something may be painted in colour.
    Colour,
    /// It could not be told.
    Unknown,
}

impl Tone {
    /// The tone of a whole made of two parts: colour if either is, unknown if either is.
    fn and(self, other: Tone) -> Tone {
        match (self, other) {
            (Tone::Colour, _) | (_, Tone::Colour) => Tone::Colour,
            (Tone::Unknown, _) | (_, Tone::Unknown) => Tone::Unknown,
            _ => Tone::Grey,
        }
    }

    fn known(self) -> Option<bool> {
        match self {
            Tone::Grey => Some(false),
            Tone::Colour => Some(true),
            Tone::Unknown => None,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// PDF
// ---------------------------------------------------------------------------------------------

/// PDF page counting and colour detection with `lopdf`.
///
/// The page count comes from the page tree's `/Count`, read from the catalog without loading
/// the document (fast, whatever its size). A count that is missing or implausible for the file's
/// size makes the whole document load and its page-tree leaves be counted. Documents that are
/// cheap to load (see [`PDF_FULL_LOAD_MAX_OBJECTS`]) are loaded whole anyway, to count leaves
/// (which then win over a `/Count` that disagrees) and to check colour: colour spaces, images
/// and shadings in the pages' resources (following forms and patterns), then, within
/// [`PDF_CONTENT_BUDGET`] bytes of decompressed content, the colour operators of the page
/// content. A colour space merely named in the resources counts as colour. Annotations and
/// Type 3 glyphs are not looked at.
///
/// Encrypted PDFs with an empty user password are read (and decrypted); those needing a
/// password are [`DocumentError::PasswordProtected`]. A file whose cross-reference data had to be
/// rebuilt and that lacks its closing `%%EOF` is taken as truncated.
mod pdf {
    use super::*;

    pub(super) fn measure(bytes: &[u8]) -> Result<Measured, DocumentError> {
        let start = pdf_header_offset(bytes).ok_or_else(|| corrupt("the PDF header is missing"))?;
        let pdf = &bytes[start..];
        let declared = declared_pages(pdf)?;
        let plausible = declared.filter(|&pages| pages > 0 && (pages as usize) <= pdf.len() / MIN_PDF_BYTES_PER_PAGE);
        if let Some(pages) = plausible
            && !cheap_to_load(pdf)
        {
            return Ok(Measured::new(u64::from(pages), None));
        }
        let document = match load(pdf) {
            Ok(document) => document,
            Err(error) => return plausible.map(|pages| Measured::new(u64::from(pages), None)).ok_or(error),
        };
        let leaves = document.page_iter().take(MAX_PAGES as usize + 1).count() as u64;
        let pages = if leaves > 0 { leaves } else { plausible.map_or(0, u64::from) };
        if pages == 0 {
            return Err(corrupt("the PDF has no pages"));
        }
        Ok(Measured::new(pages, ColourProbe::new(&document).document_tone().known()))
    }

    /// Whether loading the whole document is cheap: see [`PDF_FULL_LOAD_MAX_OBJECTS`].
    fn cheap_to_load(pdf: &[u8]) -> bool {
        pdf.len() <= PDF_FULL_LOAD_MAX_BYTES && trailer_size(pdf).is_some_and(|size| size <= PDF_FULL_LOAD_MAX_OBJECTS)
    }

    /// The `/Size` (number of objects) of the last trailer or cross-reference stream, found as
    /// `/Size <integer>` near the end of the file.
    fn trailer_size(pdf: &[u8]) -> Option<u64> {
        let mut tail = &pdf[pdf.len().saturating_sub(PDF_TRAILER_WINDOW)..];
        while let Some(at) = rfind(tail, b"/Size") {
            if let Some(size) = leading_number(tail[at + 5..].trim_ascii_start()) {
                return Some(size);
            }
            tail = &tail[..at];
        }
        None
    }

    /// The page count the catalog declares, read lazily. `None` when it cannot be read that way
    /// (the full load then decides).
    fn declared_pages(pdf: &[u8]) -> Result<Option<u32>, DocumentError> {
        let Ok(metadata) = Document::load_metadata_mem(pdf) else {
            return Ok(None);
        };
        if metadata.xref_recovery == Some(lopdf::xref::XrefRecovery::Reconstructed) && !has_eof_marker(pdf) {
            return Err(corrupt("the PDF is truncated"));
        }
        Ok((metadata.page_count > 0).then_some(metadata.page_count))
    }

    fn has_eof_marker(pdf: &[u8]) -> bool {
        find(&pdf[pdf.len().saturating_sub(PDF_EOF_WINDOW)..], b"%%EOF").is_some()
    }

    fn load(pdf: &[u8]) -> Result<Document, DocumentError> {
        let options = LoadOptions { max_decompressed_size: Some(PDF_MAX_DECOMPRESSED), ..LoadOptions::default() };
        let document = Document::load_mem_with_options(pdf, options)
            .map_err(|error| corrupt(format!("the PDF cannot be read ({error})")))?;
        if document.is_encrypted() {
            return Err(DocumentError::PasswordProtected);
        }
        if document.xref_recovery == Some(lopdf::xref::XrefRecovery::Reconstructed) && !has_eof_marker(pdf) {
            return Err(corrupt("the PDF is truncated"));
        }
        Ok(document)
    }

    /// Walks a loaded document's pages for colour; see the module's documentation.
    struct ColourProbe<'a> {
        document: &'a Document,
        /// Objects already looked at (shared resources, forms, content streams).
        seen: HashSet<ObjectId>,
        /// Decompressed content still allowed to be read.
        content_budget: usize,
    }

    impl<'a> ColourProbe<'a> {
        fn new(document: &'a Document) -> Self {
            ColourProbe { document, seen: HashSet::new(), content_budget: PDF_CONTENT_BUDGET }
        }

        fn document_tone(mut self) -> Tone {
            let pages: Vec<ObjectId> = self.document.page_iter().take(MAX_PAGES as usize).collect();
            let mut tone = Tone::Grey;
            for &page in &pages {
                tone = tone.and(self.page_resources_tone(page));
                if tone == Tone::Colour {
                    return tone;
                }
            }
            let mut contents: Vec<ObjectId> =
                pages.iter().flat_map(|&page| self.document.get_page_contents(page)).collect();
            contents.sort_unstable();
            contents.dedup();
            if tone == Tone::Unknown || self.estimated_size(&contents) > self.content_budget {
                return Tone::Unknown;
            }
            for content in contents {
                tone = tone.and(self.content_tone(content));
                if tone != Tone::Grey {
                    return tone;
                }
            }
            tone
        }

        /// What content streams probably decompress to, to give up on colour before spending
        /// the budget in vain.
        fn estimated_size(&self, contents: &[ObjectId]) -> usize {
            contents
                .iter()
                .filter_map(|&id| self.document.get_object(id).and_then(Object::as_stream).ok())
                .map(|stream| match stream.filters() {
                    Ok(filters) if !filters.is_empty() => stream.content.len().saturating_mul(PDF_ASSUMED_COMPRESSION),
                    _ => stream.content.len(),
                })
                .fold(0, usize::saturating_add)
        }

        fn first_visit(&mut self, id: ObjectId) -> bool {
            self.seen.insert(id)
        }

        fn page_resources_tone(&mut self, page: ObjectId) -> Tone {
            let Ok((direct, referenced)) = self.document.get_page_resources(page) else {
                return Tone::Unknown;
            };
            let mut tone = direct.map_or(Tone::Grey, |resources| self.resources_tone(resources, 0));
            for id in referenced {
                if self.first_visit(id)
                    && let Ok(resources) = self.document.get_dictionary(id)
                {
                    tone = tone.and(self.resources_tone(resources, 0));
                }
            }
            tone
        }

        /// Colour spaces, images, forms, shadings and patterns named by a resource dictionary.
        fn resources_tone(&mut self, resources: &'a Dictionary, depth: usize) -> Tone {
            if depth > PDF_MAX_DEPTH {
                return Tone::Unknown;
            }
            let mut tone = Tone::Grey;
            for space in self.entries(resources, b"ColorSpace") {
                tone = tone.and(space_tone(self.document, space, 0));
            }
            for shading in self.entries(resources, b"Shading") {
                tone = tone.and(self.shading_tone(shading));
            }
            for (id, object) in self.referenced_entries(resources, b"XObject") {
                if id.is_none_or(|id| self.first_visit(id)) {
                    tone = tone.and(self.xobject_tone(object, depth));
                }
            }
            for (id, object) in self.referenced_entries(resources, b"Pattern") {
                if id.is_none_or(|id| self.first_visit(id)) {
                    tone = tone.and(self.pattern_tone(object, depth));
                }
            }
            tone
        }

        /// The values of a resource category (`/ColorSpace`, `/Shading`…), dereferenced.
        fn entries(&self, resources: &'a Dictionary, category: &[u8]) -> Vec<&'a Object> {
            self.referenced_entries(resources, category).into_iter().map(|(_, object)| object).collect()
        }

        /// The values of a resource category with the object ids they were reached through.
        fn referenced_entries(
            &self,
            resources: &'a Dictionary,
            category: &[u8],
        ) -> Vec<(Option<ObjectId>, &'a Object)> {
            let Ok(named) = resources.get_deref(category, self.document).and_then(Object::as_dict) else {
                return Vec::new();
            };
            named.iter().filter_map(|(_, value)| self.document.dereference(value).ok()).collect()
        }

        fn xobject_tone(&mut self, object: &'a Object, depth: usize) -> Tone {
            let Ok(stream) = object.as_stream() else {
                return Tone::Unknown;
            };
            let dict = &stream.dict;
            match dict.get(b"Subtype").and_then(Object::as_name) {
                Ok(b"Image") if matches!(dict.get(b"ImageMask"), Ok(Object::Boolean(true))) => Tone::Grey,
                Ok(b"Image") => match dict.get(b"ColorSpace") {
                    Ok(space) => space_tone(self.document, space, 0),
                    Err(_) => Tone::Unknown,
                },
                Ok(b"Form") => self.painting_tone(stream, depth),
                _ => Tone::Grey,
            }
        }

        /// A form's or tiling pattern's resources, then (if they are grey) its content.
        fn painting_tone(&mut self, stream: &'a Stream, depth: usize) -> Tone {
            let resources = stream.dict.get_deref(b"Resources", self.document).and_then(Object::as_dict);
            let tone = resources.map_or(Tone::Grey, |resources| self.resources_tone(resources, depth + 1));
            if tone != Tone::Grey { tone } else { self.stream_content_tone(stream) }
        }

        fn pattern_tone(&mut self, object: &'a Object, depth: usize) -> Tone {
            match object {
                Object::Stream(tiling) => self.painting_tone(tiling, depth),
                Object::Dictionary(shading_pattern) => shading_pattern
                    .get(b"Shading")
                    .and_then(|shading| self.document.dereference(shading))
                    .map_or(Tone::Unknown, |(_, shading)| self.shading_tone(shading)),
                _ => Tone::Unknown,
            }
        }

        fn shading_tone(&self, shading: &'a Object) -> Tone {
            let dict = match shading {
                Object::Dictionary(dict) => dict,
                Object::Stream(stream) => &stream.dict,
                _ => return Tone::Unknown,
            };
            dict.get(b"ColorSpace").map_or(Tone::Unknown, |space| space_tone(self.document, space, 0))
        }

        fn content_tone(&mut self, id: ObjectId) -> Tone {
            if !self.first_visit(id) {
                return Tone::Grey;
            }
            match self.document.get_object(id).and_then(Object::as_stream) {
                Ok(stream) => self.stream_content_tone(stream),
                Err(_) => Tone::Unknown,
            }
        }

        fn stream_content_tone(&mut self, stream: &Stream) -> Tone {
            match stream.get_plain_content_with_limit(self.content_budget) {
                Ok(content) => {
                    self.content_budget -= content.len().min(self.content_budget);
                    super::content::tone(&content)
                }
                Err(_) => {
                    self.content_budget = 0;
                    Tone::Unknown
                }
            }
        }
    }

    /// The tone of a colour space: a name, or an array such as `[/ICCBased 5 0 R]`.
    fn space_tone(document: &Document, space: &Object, depth: usize) -> Tone {
        let Ok((_, space)) = document.dereference(space) else {
            return Tone::Unknown;
        };
        if depth > PDF_MAX_DEPTH {
            return Tone::Unknown;
        }
        match space {
            Object::Name(name) => name_tone(name),
            Object::Array(parts) => {
                let family = parts.first().and_then(|first| first.as_name().ok()).unwrap_or_default();
                match family {
                    b"ICCBased" => icc_tone(document, parts.get(1)),
                    b"Indexed" | b"I" | b"Pattern" => {
                        parts.get(1).map_or(Tone::Grey, |base| space_tone(document, base, depth + 1))
                    }
                    b"Separation" => colorants_tone(parts.get(1).into_iter()),
                    b"DeviceN" => match parts.get(1).map(|names| document.dereference(names)) {
                        Some(Ok((_, Object::Array(names)))) => colorants_tone(names.iter()),
                        _ => Tone::Unknown,
                    },
                    other => name_tone(other),
                }
            }
            _ => Tone::Unknown,
        }
    }

    /// Device and CIE colour space names; a pattern space alone paints what its patterns do.
    pub(super) fn name_tone(name: &[u8]) -> Tone {
        match name {
            b"DeviceGray" | b"G" | b"CalGray" | b"Pattern" => Tone::Grey,
            b"DeviceRGB" | b"RGB" | b"DeviceCMYK" | b"CMYK" | b"CalRGB" | b"Lab" => Tone::Colour,
            _ => Tone::Unknown,
        }
    }

    /// An ICC-based space is grey with one component.
    fn icc_tone(document: &Document, profile: Option<&Object>) -> Tone {
        let components = profile
            .and_then(|profile| document.dereference(profile).ok())
            .and_then(|(_, profile)| profile.as_stream().ok())
            .and_then(|profile| profile.dict.get(b"N").and_then(Object::as_i64).ok());
        match components {
            Some(1) => Tone::Grey,
            Some(_) => Tone::Colour,
            None => Tone::Unknown,
        }
    }

    /// Separation and DeviceN colorants: grey when only black (or nothing) is painted.
    fn colorants_tone<'o>(mut names: impl Iterator<Item = &'o Object>) -> Tone {
        let grey = names.all(|name| matches!(name.as_name(), Ok(b"Black" | b"None")));
        if grey { Tone::Grey } else { Tone::Colour }
    }
}

/// Reading PDF page content for colour operators, without interpreting it.
mod content {
    use super::Tone;

    /// Operands kept before an operator: the most any colour operator here takes.
    const OPERANDS: usize = 4;

    /// The tone of a content stream: `rg`/`RG` with unequal components, `k`/`K` with any cyan,
    /// magenta or yellow, `sc`/`scn` likewise in a device RGB or CMYK space, and inline images in
    /// an RGB or CMYK space are colour. Named colour spaces are judged from the resources.
    pub(super) fn tone(content: &[u8]) -> Tone {
        let mut lexer = Lexer { data: content, at: 0 };
        let mut operands = Operands::default();
        let mut last_name: &[u8] = b"";
        let (mut fill, mut stroke) = (Space::Other, Space::Other);
        while let Some(token) = lexer.token() {
            match token {
                Token::Number(number) => operands.push(number),
                Token::Name(name) => last_name = name,
                Token::Operator(operator) => {
                    let colour = match operator {
                        b"rg" | b"RG" => operands.rgb_is_colour(),
                        b"k" | b"K" => operands.cmyk_is_colour(),
                        b"cs" => {
                            fill = Space::named(last_name);
                            false
                        }
                        b"CS" => {
                            stroke = Space::named(last_name);
                            false
                        }
                        b"sc" | b"scn" => fill.is_colour(&operands),
                        b"SC" | b"SCN" => stroke.is_colour(&operands),
                        b"BI" => lexer.inline_image_is_colour(),
                        _ => false,
                    };
                    if colour {
                        return Tone::Colour;
                    }
                    operands = Operands::default();
                }
                Token::Other => {}
            }
        }
        Tone::Grey
    }

    /// The last numbers before an operator, kept as written and parsed only for colour operators.
    #[derive(Default)]
    struct Operands<'a> {
        /// The most recent last.
        numbers: [&'a [u8]; OPERANDS],
        /// How many numbers were seen (more than [`OPERANDS`] possibly).
        seen: usize,
    }

    impl<'a> Operands<'a> {
        fn push(&mut self, number: &'a [u8]) {
            self.numbers.rotate_left(1);
            self.numbers[OPERANDS - 1] = number;
            self.seen += 1;
        }

        /// The last `N` numbers.
        fn last<const N: usize>(&self) -> Option<[f32; N]> {
            if self.seen < N {
                return None;
            }
            let mut values = [0.0; N];
            for (value, written) in values.iter_mut().zip(&self.numbers[OPERANDS - N..]) {
                *value = std::str::from_utf8(written).ok()?.parse().ok()?;
            }
            Some(values)
        }

        fn rgb_is_colour(&self) -> bool {
            self.last::<3>().is_some_and(|[r, g, b]| (r - g).abs() > 0.004 || (g - b).abs() > 0.004)
        }

        fn cmyk_is_colour(&self) -> bool {
            self.last::<4>().is_some_and(|[c, m, y, _]| c.abs() > 0.004 || m.abs() > 0.004 || y.abs() > 0.004)
        }
    }

    /// The device colour space set for filling or stroking.
    #[derive(Clone, Copy)]
    enum Space {
        Rgb,
        Cmyk,
        Other,
    }

    impl Space {
        fn named(name: &[u8]) -> Space {
            match name {
                b"DeviceRGB" => Space::Rgb,
                b"DeviceCMYK" => Space::Cmyk,
                _ => Space::Other,
            }
        }

        fn is_colour(self, operands: &Operands) -> bool {
            match self {
                Space::Rgb => operands.rgb_is_colour(),
                Space::Cmyk => operands.cmyk_is_colour(),
                Space::Other => false,
            }
        }
    }

    enum Token<'a> {
        /// A number, as written.
        Number(&'a [u8]),
        Name(&'a [u8]),
        Operator(&'a [u8]),
        Other,
    }

    /// Byte classes of PDF syntax: white space, delimiters, and the regular characters of
    /// names, numbers and operators.
    #[derive(Clone, Copy, PartialEq, Eq)]
    enum Class {
        White,
        Delimiter,
        Regular,
    }

    const CLASSES: [Class; 256] = {
        let mut classes = [Class::Regular; 256];
        let mut byte = 0;
        while byte < 256 {
            classes[byte] = match byte as u8 {
                b'\0' | b'\t' | b'\n' | 0x0c | b'\r' | b' ' => Class::White,
                b'(' | b')' | b'<' | b'>' | b'[' | b']' | b'{' | b'}' | b'/' | b'%' => Class::Delimiter,
                _ => Class::Regular,
            };
            byte += 1;
        }
        classes
    };

    fn class(byte: u8) -> Class {
        CLASSES[usize::from(byte)]
    }

    struct Lexer<'a> {
        data: &'a [u8],
        at: usize,
    }

    impl<'a> Lexer<'a> {
        fn token(&mut self) -> Option<Token<'a>> {
            self.skip_while(|byte| class(byte) == Class::White);
            let byte = *self.data.get(self.at)?;
            Some(match byte {
                b'%' => {
                    self.skip_while(|byte| byte != b'\n' && byte != b'\r');
                    Token::Other
                }
                b'(' => {
                    self.skip_string();
                    Token::Other
                }
                b'<' if self.data.get(self.at + 1) != Some(&b'<') => {
                    self.skip_while(|byte| byte != b'>');
                    self.at += 1;
                    Token::Other
                }
                b'/' => {
                    self.at += 1;
                    Token::Name(self.regular_run())
                }
                _ if class(byte) == Class::Delimiter => {
                    self.at += 1;
                    Token::Other
                }
                b'0'..=b'9' | b'+' | b'-' | b'.' => Token::Number(self.regular_run()),
                _ => Token::Operator(self.regular_run()),
            })
        }

        fn regular_run(&mut self) -> &'a [u8] {
            let start = self.at;
            self.skip_while(|byte| class(byte) == Class::Regular);
            &self.data[start..self.at]
        }

        fn skip_while(&mut self, keep: impl Fn(u8) -> bool) {
            let rest = &self.data[self.at.min(self.data.len())..];
            self.at += rest.iter().position(|&byte| !keep(byte)).unwrap_or(rest.len());
        }

        /// Skips a literal string, with nested parentheses and escapes.
        fn skip_string(&mut self) {
            let mut depth = 0usize;
            while let Some(&byte) = self.data.get(self.at) {
                self.at += 1;
                match byte {
                    b'\\' => self.at += 1,
                    b'(' => depth += 1,
                    b')' => {
                        depth -= 1;
                        if depth == 0 {
                            return;
                        }
                    }
                    _ => {}
                }
            }
        }

        /// Reads an inline image's dictionary up to `ID`, skips its data up to `EI`, and says
        /// whether its colour space (`/CS` or `/ColorSpace`) is a colour one.
        fn inline_image_is_colour(&mut self) -> bool {
            let mut colour = false;
            let mut in_space = false;
            while let Some(token) = self.token() {
                match token {
                    Token::Name(b"CS" | b"ColorSpace") => in_space = true,
                    Token::Name(b"I" | b"Indexed") if in_space => {}
                    Token::Name(name) if in_space => {
                        colour |= super::pdf::name_tone(name) == Tone::Colour;
                        in_space = false;
                    }
                    Token::Operator(b"ID") => break,
                    Token::Other => {}
                    _ => in_space = false,
                }
            }
            self.skip_image_data();
            colour
        }

        /// Skips inline image data: up to `EI` between white space (or at the end).
        fn skip_image_data(&mut self) {
            while self.at < self.data.len() {
                let ends = self.data[self.at..].starts_with(b"EI")
                    && self.at > 0
                    && class(self.data[self.at - 1]) == Class::White
                    && self.data.get(self.at + 2).is_none_or(|&byte| class(byte) == Class::White);
                self.at += if ends { 2 } else { 1 };
                if ends {
                    return;
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Bytes
// ---------------------------------------------------------------------------------------------

fn read_u16(bytes: &[u8], at: usize, big_endian: bool) -> Option<u16> {
    let pair: [u8; 2] = bytes.get(at..at.checked_add(2)?)?.try_into().ok()?;
    Some(if big_endian { u16::from_be_bytes(pair) } else { u16::from_le_bytes(pair) })
}

fn read_u32(bytes: &[u8], at: usize, big_endian: bool) -> Option<u32> {
    let quad: [u8; 4] = bytes.get(at..at.checked_add(4)?)?.try_into().ok()?;
    Some(if big_endian { u32::from_be_bytes(quad) } else { u32::from_le_bytes(quad) })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|window| window == needle)
}

fn rfind(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).rposition(|window| window == needle)
}

/// The pieces of `bytes` between occurrences of `separator`.
fn split_on<'a>(bytes: &'a [u8], separator: &'a [u8]) -> impl Iterator<Item = &'a [u8]> + 'a {
    let mut rest = Some(bytes);
    std::iter::from_fn(move || {
        let current = rest?;
        match find(current, separator) {
            Some(at) => {
                rest = Some(&current[at + separator.len()..]);
                Some(&current[..at])
            }
            None => {
                rest = None;
                Some(current)
            }
        }
    })
}

/// The whole number at the start of `text`, if any.
fn leading_number(text: &[u8]) -> Option<u64> {
    let digits = text.iter().take_while(|byte| byte.is_ascii_digit()).count();
    std::str::from_utf8(&text[..digits]).ok()?.parse().ok()
}

/// Occurrences of `word` as a whole PostScript token.
fn count_word(text: &[u8], word: &[u8]) -> u64 {
    let boundary = |byte: Option<&u8>| byte.is_none_or(|&byte| !byte.is_ascii_alphanumeric());
    text.windows(word.len())
        .enumerate()
        .filter(|&(at, window)| {
            window == word
                && boundary(at.checked_sub(1).and_then(|before| text.get(before)))
                && boundary(text.get(at + word.len()))
        })
        .count() as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use lopdf::{EncryptionState, EncryptionVersion, Permissions, SaveOptions, dictionary};

    /// A PDF of `pages` A4 pages sharing one font, each with a small text content stream
    /// followed by `extra_content`.
    fn pdf_document(pages: usize, extra_content: &str) -> Document {
        let mut document = Document::with_version("1.5");
        let pages_id = document.new_object_id();
        let font = document.add_object(dictionary! {
            "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica",
        });
        let resources = document.add_object(dictionary! { "Font" => dictionary! { "F1" => font } });
        let kids: Vec<Object> = (0..pages)
            .map(|page| {
                let text = format!("BT /F1 12 Tf 72 720 Td (Page {page}) Tj ET {extra_content}");
                let content = document.add_object(Stream::new(dictionary! {}, text.into_bytes()));
                document
                    .add_object(dictionary! {
                        "Type" => "Page", "Parent" => pages_id, "Contents" => content, "Resources" => resources,
                        "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
                    })
                    .into()
            })
            .collect();
        let count = kids.len() as i64;
        document.objects.insert(pages_id, dictionary! { "Type" => "Pages", "Kids" => kids, "Count" => count }.into());
        let catalog = document.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
        document.trailer.set("Root", catalog);
        document
            .trailer
            .set("ID", vec![Object::string_literal("printcloud-test-1"), Object::string_literal("printcloud-test-1")]);
        document
    }

    fn saved(mut document: Document) -> Vec<u8> {
        let mut bytes = Vec::new();
        document.save_to(&mut bytes).unwrap();
        bytes
    }

    fn pdf(pages: usize) -> Vec<u8> {
        saved(pdf_document(pages, ""))
    }

    fn facts(bytes: &[u8]) -> DocumentFacts {
        examine(bytes).unwrap_or_else(|error| panic!("examine failed: {error:?}"))
    }

    fn encrypted_pdf(user_password: &str) -> Vec<u8> {
        let mut document = pdf_document(3, "");
        let state = EncryptionState::try_from(EncryptionVersion::V2 {
            document: &document,
            owner_password: "owner secret",
            user_password,
            key_length: 128,
            permissions: Permissions::PRINTABLE | Permissions::PRINTABLE_IN_HIGH_QUALITY,
        })
        .unwrap();
        document.encrypt(&state).unwrap();
        saved(document)
    }

    #[test]
    fn d_formats_three_page_pdf_is_counted() {
        let facts = facts(&pdf(3));
        assert_eq!(facts, DocumentFacts { format: DocumentFormat::Pdf, pages: 3, uses_colour: Some(false) });
    }

    #[test]
    fn d_formats_thousand_page_pdf_is_counted() {
        // Speed is measured by the bench-pages benchmark (docs/PERFORMANCE.md), not here.
        assert_eq!(facts(&pdf(1000)).pages, 1000);
    }

    #[test]
    fn d_formats_pdf_with_leading_garbage_is_read() {
        let mut bytes = b"\x1b%-12345X@PJL JOB\r\n".to_vec();
        bytes.extend(pdf(2));
        assert_eq!(sniff(&bytes), Some(DocumentFormat::Pdf));
        assert_eq!(facts(&bytes).pages, 2);
    }

    #[test]
    fn d_formats_incremental_update_adds_a_page() {
        let document = pdf_document(3, "");
        let pages_id = document.catalog().unwrap().get(b"Pages").unwrap().as_reference().unwrap();
        let catalog_id = document.trailer.get(b"Root").unwrap().as_reference().unwrap();
        let mut kids = document.get_dictionary(pages_id).unwrap().get(b"Kids").unwrap().as_array().unwrap().clone();
        let new_page = document.max_id + 1;
        let size = new_page + 1;
        let mut bytes = saved(document);
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let previous_xref: usize =
            text[text.rfind("startxref").unwrap() + 9..].split_whitespace().next().unwrap().parse().unwrap();
        kids.push(Object::Reference((new_page, 0)));
        let kids: Vec<String> = kids.iter().map(|kid| format!("{} 0 R", kid.as_reference().unwrap().0)).collect();

        let page_offset = bytes.len();
        bytes.extend(
            format!("{new_page} 0 obj\n<< /Type /Page /Parent {} 0 R /MediaBox [0 0 595 842] >>\nendobj\n", pages_id.0)
                .as_bytes(),
        );
        let pages_offset = bytes.len();
        bytes.extend(
            format!("{} 0 obj\n<< /Type /Pages /Kids [{}] /Count 4 >>\nendobj\n", pages_id.0, kids.join(" "))
                .as_bytes(),
        );
        let xref_offset = bytes.len();
        bytes.extend(
            format!(
                "xref\n0 1\n0000000000 65535 f \n{} 1\n{pages_offset:010} 00000 n \n\
                 {new_page} 1\n{page_offset:010} 00000 n \n\
                 trailer\n<< /Size {size} /Root {} 0 R /Prev {previous_xref} >>\nstartxref\n{xref_offset}\n%%EOF\n",
                pages_id.0, catalog_id.0
            )
            .as_bytes(),
        );
        assert_eq!(facts(&bytes).pages, 4);
    }

    #[test]
    fn d_formats_missing_or_implausible_page_count_is_checked_against_the_page_tree() {
        for count in [None, Some(Object::Integer(999_999)), Some(Object::Integer(-4))] {
            let mut document = pdf_document(3, "");
            let pages_id = document.catalog().unwrap().get(b"Pages").unwrap().as_reference().unwrap();
            let pages = document.get_dictionary_mut(pages_id).unwrap();
            match count {
                Some(count) => pages.set("Count", count),
                None => drop(pages.remove(b"Count")),
            }
            assert_eq!(facts(&saved(document)).pages, 3);
        }
    }

    #[test]
    fn d_formats_pdf_with_object_and_xref_streams_is_counted() {
        let mut document = pdf_document(5, "");
        let mut bytes = Vec::new();
        let options = SaveOptions::builder().use_object_streams(true).use_xref_streams(true).build();
        document.save_with_options(&mut bytes, options).unwrap();
        assert!(find(&bytes, b"/ObjStm").is_some() && find(&bytes, b"/XRef").is_some(), "no object or xref stream");
        assert_eq!(facts(&bytes).pages, 5);
    }

    #[test]
    fn d_formats_encrypted_pdf_with_empty_user_password_is_counted() {
        let bytes = encrypted_pdf("");
        assert!(find(&bytes, b"/Encrypt").is_some());
        assert_eq!(facts(&bytes).pages, 3);
    }

    #[test]
    fn d_formats_pdf_needing_a_password_is_refused() {
        let error = examine(&encrypted_pdf("user secret")).unwrap_err();
        assert_eq!(error, DocumentError::PasswordProtected);
        assert_eq!(error.code(), "password_protected");
    }

    #[test]
    fn d_formats_truncated_pdf_is_corrupt() {
        let bytes = pdf(3);
        let error = examine(&bytes[..bytes.len() / 2]).unwrap_err();
        assert!(matches!(error, DocumentError::Corrupt(_)), "{error:?}");
        assert_eq!(error.code(), "corrupt_document");
        let garbage = examine(b"%PDF-1.7\nthis is not a PDF at all\n").unwrap_err();
        assert_eq!(garbage.code(), "corrupt_document");
    }

    #[test]
    fn d_formats_pdf_colour_is_detected_from_content_and_resources() {
        assert_eq!(facts(&saved(pdf_document(2, "1 0 0 rg 0 0 10 10 re f"))).uses_colour, Some(true));
        assert_eq!(facts(&saved(pdf_document(2, "0.5 0.5 0.5 rg 0 0 0 1 k 0 g"))).uses_colour, Some(false));

        let mut document = pdf_document(1, "/Im1 Do");
        let image = document.add_object(Stream::new(
            dictionary! { "Type" => "XObject", "Subtype" => "Image", "Width" => 1, "Height" => 1,
            "ColorSpace" => "DeviceRGB", "BitsPerComponent" => 8 },
            vec![255, 0, 0],
        ));
        let resources = document.objects.values_mut().find_map(|object| match object {
            Object::Dictionary(dict) if dict.has(b"Font") && !dict.has(b"Type") => Some(dict),
            _ => None,
        });
        resources.unwrap().set("XObject", dictionary! { "Im1" => image });
        assert_eq!(facts(&saved(document)).uses_colour, Some(true));
    }

    #[test]
    fn d_formats_images_are_one_page_with_their_colour() {
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR\0\0\0\x10\0\0\0\x10\x08".to_vec();
        assert_eq!(facts(&[png.as_slice(), b"\x02\0\0\0"].concat()).uses_colour, Some(true));
        png.extend(b"\x00\0\0\0");
        assert_eq!(facts(&png), DocumentFacts { format: DocumentFormat::Png, pages: 1, uses_colour: Some(false) });

        let jpeg = |components: u8| {
            let mut jpeg = b"\xff\xd8\xff\xe0\0\x10JFIF\0\x01\x01\0\0\x01\0\x01\0\0".to_vec();
            jpeg.extend([0xff, 0xc0, 0, 8 + 3 * components, 8, 0, 16, 0, 16, components]);
            jpeg.extend(std::iter::repeat_n([1, 0x11, 0], usize::from(components)).flatten());
            jpeg.extend(b"\xff\xd9");
            jpeg
        };
        assert_eq!(facts(&jpeg(3)), DocumentFacts { format: DocumentFormat::Jpeg, pages: 1, uses_colour: Some(true) });
        assert_eq!(facts(&jpeg(1)).uses_colour, Some(false));
        assert_eq!(examine(b"\xff\xd8\xff\xe0\0\x10JF").unwrap_err().code(), "corrupt_document");

        let gif = b"GIF89a\x01\0\x01\0\x80\0\0\0\0\0\xff\xff\xff,\0\0\0\0\x01\0\x01\0\0\x02\x02D\x01\0;";
        assert_eq!(facts(gif), DocumentFacts { format: DocumentFormat::Gif, pages: 1, uses_colour: None });
    }

    /// A little-endian TIFF of `photometrics.len()` image directories, each with just its
    /// photometric interpretation; `loop_back` points the last one back at the first.
    fn tiff(photometrics: &[u16], loop_back: bool) -> Vec<u8> {
        let mut bytes = b"II*\0\x08\0\0\0".to_vec();
        for (index, &photometric) in photometrics.iter().enumerate() {
            let next = if index + 1 < photometrics.len() {
                bytes.len() + 18
            } else if loop_back {
                8
            } else {
                0
            };
            bytes.extend(1u16.to_le_bytes());
            bytes.extend(262u16.to_le_bytes());
            bytes.extend(3u16.to_le_bytes());
            bytes.extend(1u32.to_le_bytes());
            bytes.extend(u32::from(photometric).to_le_bytes());
            bytes.extend((next as u32).to_le_bytes());
        }
        bytes
    }

    #[test]
    fn d_formats_tiff_pages_are_its_image_directories() {
        assert_eq!(
            facts(&tiff(&[1, 1, 1], false)),
            DocumentFacts { format: DocumentFormat::Tiff, pages: 3, uses_colour: Some(false) }
        );
        assert_eq!(facts(&tiff(&[1, 2], false)).uses_colour, Some(true));
        assert_eq!(facts(&tiff(&[1, 1, 1], true)).pages, 3, "a directory chain looping back is walked once");
        assert_eq!(examine(b"II*\0\xff\xff\0\0").unwrap_err().code(), "corrupt_document");
    }

    #[test]
    fn d_formats_text_pages_follow_lines_and_form_feeds() {
        let page_of_lines = "line\n".repeat(60);
        let text = format!("{page_of_lines}one more line\n\x0csecond sheet\n\x0cthird\n\x0c\n");
        assert_eq!(
            facts(text.as_bytes()),
            DocumentFacts { format: DocumentFormat::Text, pages: 4, uses_colour: Some(false) }
        );
        assert_eq!(facts(b"name,amount\nalice,3\nbob,4\n").format, DocumentFormat::Text, "CSV is printed as text");
        assert_eq!(facts("caf\u{e9} cr\u{e8}me\n".as_bytes()).pages, 1);
        assert_eq!(facts(b"Latin-1 caf\xe9\n").format, DocumentFormat::Text);
        let notes = b"# check the header\nsed 1q out.pdf | grep \"%PDF-1\" >/dev/null\n";
        assert_eq!(facts(notes).format, DocumentFormat::Text, "text that mentions a PDF header is text");
    }

    #[test]
    fn d_formats_postscript_pages_come_from_dsc_comments() {
        let declared =
            b"%!PS-Adobe-3.0\n%%Pages: (atend)\n%%EndComments\n%%Page: 1 1\nshowpage\n%%Trailer\n%%Pages: 7\n%%EOF\n";
        assert_eq!(facts(declared), DocumentFacts { format: DocumentFormat::PostScript, pages: 7, uses_colour: None });
        assert_eq!(facts(b"%!PS\n%%Page: 1 1\nshowpage\n%%Page: 2 2\nshowpage\n").pages, 2);
        assert_eq!(facts(b"%!PS\n/x 1 def showpage showpage showpage\n").pages, 3);
    }

    #[test]
    fn d_formats_pcl_pages_are_counted_approximately() {
        let pcl5 = b"\x1bE\x1b&l26A\x1b*t300RPage one\x0cPage two\x1b*b3W\x0c\x0c\x0c\x0cPage three\x1bE";
        assert_eq!(facts(pcl5), DocumentFacts { format: DocumentFormat::Pcl, pages: 3, uses_colour: None });

        let mut xl = b"\x1b%-12345X@PJL JOB\r\n@PJL ENTER LANGUAGE=PCLXL\r\n) HP-PCL XL;2;0\n".to_vec();
        for _ in 0..2 {
            xl.extend(b"\xc0\x01\xf8\x26\x43"); // BeginPage with an attribute
            xl.extend(b"\xfb\x03\x44\x44\x44"); // embedded data holding EndPage bytes
            xl.extend(b"\x44"); // EndPage
        }
        xl.extend(b"\x1b%-12345X@PJL EOJ\r\n\x1b%-12345X");
        assert_eq!(facts(&xl).pages, 2);
        assert_eq!(facts(b"@PJL JOB\r\n@PJL ENTER LANGUAGE=PCL\r\n\x1bEhello").pages, 1);
    }

    #[test]
    fn d_formats_renamed_executable_is_unsupported() {
        let mut exe = b"MZ\x90\0\x03\0\0\0\x04\0\0\0\xff\xff\0\0".to_vec();
        exe.extend(b"This program cannot be run in DOS mode.\r\r\n$");
        assert_eq!(sniff(&exe), None);
        let error = examine(&exe).unwrap_err();
        assert_eq!(error, DocumentError::Unsupported);
        assert_eq!(error.code(), "unsupported_format");
        assert_eq!(examine(b"\x7fELF\x02\x01\x01\0").unwrap_err(), DocumentError::Unsupported);
        assert_eq!(examine(&[0x13, 0x00, 0xfe, 0x80, 0x01, 0x02, 0x00, 0x07]).unwrap_err(), DocumentError::Unsupported);
    }

    /// A ZIP archive of stored entries, with its central directory.
    fn zip(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut bytes = Vec::new();
        let mut directory = Vec::new();
        for (name, content) in entries {
            let offset = bytes.len() as u32;
            let header = |signature: &[u8], out: &mut Vec<u8>| {
                out.extend(signature);
                out.extend([20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
                out.extend((content.len() as u32).to_le_bytes());
                out.extend((content.len() as u32).to_le_bytes());
                out.extend((name.len() as u16).to_le_bytes());
            };
            header(b"PK\x03\x04", &mut bytes);
            bytes.extend([0, 0]);
            bytes.extend(name.as_bytes());
            bytes.extend(*content);
            directory.extend(b"PK\x01\x02\x14\0");
            header(&[], &mut directory);
            directory.extend([0; 12]);
            directory.extend(offset.to_le_bytes());
            directory.extend(name.as_bytes());
        }
        let directory_offset = bytes.len() as u32;
        let directory_size = directory.len() as u32;
        bytes.extend(directory);
        bytes.extend(b"PK\x05\x06\0\0\0\0");
        bytes.extend((entries.len() as u16).to_le_bytes());
        bytes.extend((entries.len() as u16).to_le_bytes());
        bytes.extend(directory_size.to_le_bytes());
        bytes.extend(directory_offset.to_le_bytes());
        bytes.extend([0, 0]);
        bytes
    }

    #[test]
    fn d_formats_office_documents_need_conversion() {
        let docx = zip(&[("[Content_Types].xml", b"<Types/>"), ("word/document.xml", b"<w:document/>")]);
        let error = examine(&docx).unwrap_err();
        assert_eq!(error, DocumentError::NeedsConversion(OfficeFormat::Docx));
        assert_eq!(error.code(), "conversion_unavailable");
        assert!(error.reason().contains("Word document (DOCX)"), "{}", error.reason());

        let odp = zip(&[("mimetype", b"application/vnd.oasis.opendocument.presentation"), ("content.xml", b"<x/>")]);
        assert_eq!(sniff(&odp), Some(DocumentFormat::Office(OfficeFormat::Odp)));
        assert_eq!(sniff(&zip(&[("xl/workbook.xml", b"<x/>")])), Some(DocumentFormat::Office(OfficeFormat::Xlsx)));
        assert_eq!(examine(&zip(&[("photo.jpg", b"\xff\xd8")])).unwrap_err(), DocumentError::Unsupported);

        let rtf = examine(b"{\\rtf1\\ansi Hello}").unwrap_err();
        assert_eq!(rtf, DocumentError::NeedsConversion(OfficeFormat::Rtf));
        let html = examine(b"\n<!DOCTYPE html><html><body>Hi</body></html>").unwrap_err();
        assert_eq!(html, DocumentError::NeedsConversion(OfficeFormat::Html));
    }

    /// A minimal OLE2 compound file (512-byte sectors) whose directory holds `streams`.
    fn compound_file(streams: &[&str]) -> Vec<u8> {
        let mut header = OLE2_MAGIC.to_vec();
        header.resize(512, 0);
        header[30] = 9; // sector shift
        header[44] = 1; // FAT sectors
        header[48..52].copy_from_slice(&1u32.to_le_bytes()); // first directory sector
        header[76..80].copy_from_slice(&0u32.to_le_bytes()); // FAT in sector 0
        for slot in 1..109 {
            header[76 + slot * 4..80 + slot * 4].copy_from_slice(&u32::MAX.to_le_bytes());
        }
        let mut fat = vec![0xffu8; 512];
        fat[0..4].copy_from_slice(&0xffff_fffdu32.to_le_bytes());
        fat[4..8].copy_from_slice(&0xffff_fffeu32.to_le_bytes());
        let mut directory = vec![0u8; 512];
        for (index, name) in ["Root Entry"].iter().chain(streams).enumerate() {
            let entry = &mut directory[index * 128..(index + 1) * 128];
            let units: Vec<u8> = name.encode_utf16().flat_map(u16::to_le_bytes).collect();
            entry[..units.len()].copy_from_slice(&units);
            entry[64..66].copy_from_slice(&((units.len() + 2) as u16).to_le_bytes());
        }
        [header, fat, directory].concat()
    }

    #[test]
    fn d_formats_legacy_office_files_are_told_apart() {
        assert_eq!(
            examine(&compound_file(&["WordDocument", "1Table"])).unwrap_err(),
            DocumentError::NeedsConversion(OfficeFormat::Doc)
        );
        assert_eq!(sniff(&compound_file(&["Workbook"])), Some(DocumentFormat::Office(OfficeFormat::Xls)));
        assert_eq!(sniff(&compound_file(&["PowerPoint Document"])), Some(DocumentFormat::Office(OfficeFormat::Ppt)));
        assert_eq!(examine(&compound_file(&["!_StringData"])).unwrap_err(), DocumentError::Unsupported);
        assert_eq!(sniff(OLE2_MAGIC), Some(DocumentFormat::Office(OfficeFormat::LegacyOffice)));
    }

    #[test]
    fn d_formats_empty_documents_are_refused() {
        assert_eq!(examine(b"").unwrap_err(), DocumentError::Empty);
        assert_eq!(examine(b" \n\t\n").unwrap_err().code(), "empty_document");
    }

    #[test]
    fn d_formats_hostile_bytes_never_panic() {
        let samples = [pdf(2), tiff(&[1, 2], true), encrypted_pdf(""), compound_file(&["WordDocument"])];
        for sample in &samples {
            for cut in (0..sample.len()).step_by(7) {
                let _ = examine(&sample[..cut]);
                let mut flipped = sample.clone();
                flipped[cut] ^= 0x5a;
                let _ = examine(&flipped);
            }
        }
        let _ = examine(b"\x1b*b4294967295W\x0c");
        let _ = examine(b") HP-PCL XL;2;0\n\xc8\xc1\xff\xff\xfa\xff\xff\xff\xff");
        let _ =
            examine(b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 1 0 R >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF");
    }

    #[test]
    fn d_formats_serialised_names_are_stable() {
        let facts = DocumentFacts { format: DocumentFormat::PostScript, pages: 2, uses_colour: None };
        assert_eq!(serde_json::to_string(&facts).unwrap(), r#"{"format":"postscript","pages":2,"usesColour":null}"#);
        let docx = serde_json::to_string(&DocumentFormat::Office(OfficeFormat::Docx)).unwrap();
        assert_eq!(docx, r#"{"office":"docx"}"#);
    }
}
