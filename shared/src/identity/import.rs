//! Bulk import files: users (BR-UIMP, seed L4290–L4380) and badges/PINs (BR-BIMP, seed
//! L5207–L5267), parsed and validated without touching storage.
//!
//! Both formats are CSV (a `.txt` file holds the same text) of at most [`MAX_IMPORT_BYTES`].
//! A problem with the file as a whole (too big, wrong header) is an [`ImportFileError`] and
//! nothing is imported; a problem with one line is a [`RowError`] for that line only, so the
//! good lines of a file still import (the seed mails an import log rather than refusing the
//! file). The parsers return one entry per data line, in file order.
//!
//! Shared line rules (D-IMPORT-COLUMNS):
//! - a line with fewer values than the header gets empty values for the missing trailing
//!   columns (the seed's own examples are short); a line with more values is a row error;
//! - a line that is blank, or holds only empty values (`,,,,`), is skipped: it asks for
//!   nothing, and spreadsheet exports and editors often leave such lines at the end;
//! - an optional UTF-8 byte-order mark is ignored; LF, CRLF and CR line ends are accepted;
//! - values are trimmed; a value may be double-quoted to hold commas (seed L4376–L4380), but
//!   a value holding a line break is a row error (almost always an unclosed quote);
//! - row numbers are line numbers in the file, the header being line 1.

mod attributes;
mod badge;
mod user;

pub use attributes::parse_custom_attributes;
pub use badge::{BADGE_IMPORT_COLUMNS, BadgeImportMode, BadgeImportRow, BadgeOperation, parse_badge_import};
pub use user::{
    DELETE_MARKER, FieldChange, ImportedPassword, USER_IMPORT_HEADER, UserCreate, UserImportOperation, UserImportRow,
    UserUpdate, parse_user_import,
};

/// Largest import file accepted, in bytes: "Het bestand mag niet groter zijn dan 1 MB" (seed
/// L4373 for users, L5267 for badges and PINs).
pub const MAX_IMPORT_BYTES: usize = 1024 * 1024;

/// Why a whole import file is refused; nothing in it is imported.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ImportFileError {
    /// The file exceeds [`MAX_IMPORT_BYTES`].
    #[error("the file is {size} bytes; an import file may be at most {max} bytes (1 MB)")]
    TooLarge {
        /// Size of the file received.
        size: usize,
        /// The limit, [`MAX_IMPORT_BYTES`].
        max: usize,
    },
    /// The file has no header line (it is empty or holds only blank lines).
    #[error("the file is empty; it must start with the header line")]
    Empty,
    /// The header line is not UTF-8 text, so its column names cannot be read.
    #[error("the header line is not UTF-8 text; save the file as UTF-8 CSV")]
    HeaderNotText,
    /// The user-import header differs from [`USER_IMPORT_HEADER`]; each entry says where.
    #[error("the header line must be exactly `{}`: {}", USER_IMPORT_HEADER.join(","), .differences.join("; "))]
    HeaderMismatch {
        /// What differs, column by column, in words an administrator can act on.
        differences: Vec<String>,
    },
    /// The badge/PIN-import header does not name each of [`BADGE_IMPORT_COLUMNS`] exactly once.
    #[error("the header line must name the columns {} once each, in any order: {}",
        BADGE_IMPORT_COLUMNS.join(", "), describe_columns(.unknown, .missing, .duplicated))]
    BadgeColumns {
        /// Column names that are not badge-import columns, as written.
        unknown: Vec<String>,
        /// Badge-import columns the header lacks.
        missing: Vec<String>,
        /// Badge-import columns named more than once.
        duplicated: Vec<String>,
    },
    /// The CSV reader failed; with an in-memory file this should not happen.
    #[error("the file cannot be read as CSV: {0}")]
    Unreadable(String),
}

/// Why one line of an import file is not imported; the other lines are unaffected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("line {row}: {reason}")]
pub struct RowError {
    /// Line number in the file (the header is line 1), for the import log.
    pub row: usize,
    /// What is wrong, naming the column(s), in words an administrator can act on.
    pub reason: String,
}

/// Words for [`ImportFileError::BadgeColumns`].
fn describe_columns(unknown: &[String], missing: &[String], duplicated: &[String]) -> String {
    let mut parts = Vec::new();
    if !unknown.is_empty() {
        parts.push(format!("unknown column(s) {}", quoted_list(unknown)));
    }
    if !missing.is_empty() {
        parts.push(format!("missing column(s) {}", quoted_list(missing)));
    }
    if !duplicated.is_empty() {
        parts.push(format!("repeated column(s) {}", quoted_list(duplicated)));
    }
    parts.join("; ")
}

/// `a`, `b` → "`a`, `b`".
fn quoted_list(names: &[String]) -> String {
    names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
}

/// A file split into its header and its data lines, before any column rules.
struct RawFile {
    /// The header's values, trimmed.
    header: Vec<String>,
    /// Each non-empty data line: its line number and its trimmed values, or why it is unreadable.
    rows: Vec<(usize, Result<Vec<String>, String>)>,
}

/// Applies the size limit, the BOM, CSV quoting and the blank-line rule common to both formats.
fn read_csv(bytes: &[u8]) -> Result<RawFile, ImportFileError> {
    if bytes.len() > MAX_IMPORT_BYTES {
        return Err(ImportFileError::TooLarge { size: bytes.len(), max: MAX_IMPORT_BYTES });
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(bytes);
    let mut header: Option<Vec<String>> = None;
    let mut rows = Vec::new();
    let mut record = csv::ByteRecord::new();
    let mut lines = LineCounter { bytes, at: 0, line: 1 };
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => return Err(ImportFileError::Unreadable(e.to_string())),
        }
        if record.iter().all(|v| v.trim_ascii().is_empty()) {
            continue;
        }
        let start = record.position().map_or(lines.at, |p| usize::try_from(p.byte()).unwrap_or(bytes.len()));
        let line = lines.line_at(start);
        let values = text_values(&record);
        match header {
            None => header = Some(values.map_err(|_| ImportFileError::HeaderNotText)?),
            Some(_) => rows.push((line, values)),
        }
    }
    let header = header.ok_or(ImportFileError::Empty)?;
    Ok(RawFile { header, rows })
}

/// Line numbers of record starts. The CSV reader's own line count is off by one after CRLF
/// line ends, so lines are counted here: `\n`, `\r\n` and a lone `\r` each end a line.
struct LineCounter<'a> {
    bytes: &'a [u8],
    /// Byte offset counted up to.
    at: usize,
    /// Line number at `at`.
    line: usize,
}

impl LineCounter<'_> {
    /// The line on which the record starting at byte `start` begins; `start` only grows.
    fn line_at(&mut self, start: usize) -> usize {
        // A record never starts with a line end; the reader may point at the `\n` of a `\r\n`.
        let mut start = start.min(self.bytes.len());
        while self.bytes.get(start).is_some_and(|b| matches!(b, b'\r' | b'\n')) {
            start += 1;
        }
        while self.at < start {
            match self.bytes[self.at] {
                b'\n' => self.line += 1,
                b'\r' if self.bytes.get(self.at + 1) != Some(&b'\n') => self.line += 1,
                _ => {}
            }
            self.at += 1;
        }
        self.line
    }
}

/// The record's values as trimmed text, or why they cannot be used.
fn text_values(record: &csv::ByteRecord) -> Result<Vec<String>, String> {
    let mut values = Vec::with_capacity(record.len());
    for (i, raw) in record.iter().enumerate() {
        let text = std::str::from_utf8(raw)
            .map_err(|_| format!("value {} is not UTF-8 text; save the file as UTF-8 CSV", i + 1))?;
        if text.contains(['\n', '\r']) {
            return Err(format!(
                "value {} spans more than one line; check for a double quote that is not closed",
                i + 1
            ));
        }
        values.push(text.trim().to_owned());
    }
    Ok(values)
}

/// D-IMPORT-COLUMNS: pads a short line with empty values; a long line is refused.
fn fit_columns(mut values: Vec<String>, columns: usize) -> Result<Vec<String>, String> {
    if values.len() > columns {
        return Err(format!(
            "the line has {} values but the header has {columns} columns; quote values that contain commas",
            values.len()
        ));
    }
    values.resize(columns, String::new());
    Ok(values)
}

/// Trims and lower-cases an e-mail address (seed L4318–L4320, L5254–L5257) and checks that
/// it looks like one: a single `@`, a local part, and a dotted domain without empty labels.
fn normalise_email(raw: &str) -> Result<String, String> {
    let email = raw.trim().to_lowercase();
    let problem = || Err(format!("EMAIL `{raw}` is not an e-mail address"));
    if email.len() > 254 || email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return problem();
    }
    let Some((local, domain)) = email.split_once('@') else { return problem() };
    if local.is_empty() || domain.contains('@') || !domain.contains('.') || domain.split('.').any(str::is_empty) {
        return problem();
    }
    Ok(email)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn br_uimp_email_is_trimmed_lower_cased_and_checked() {
        assert_eq!(normalise_email(" JJANSEN@Bedrijf.com ").unwrap(), "jjansen@bedrijf.com");
        for bad in ["", "jjansen", "@bedrijf.nl", "jjansen@", "jjansen@bedrijf", "a@b@c.nl", "j jansen@b.nl", "j@b..nl"]
        {
            assert!(normalise_email(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn d_import_columns_short_lines_are_padded_long_lines_refused() {
        assert_eq!(fit_columns(vec!["a".into()], 3).unwrap(), vec!["a", "", ""]);
        let err = fit_columns(vec!["a".into(), "b".into(), "c".into(), "d".into()], 3).unwrap_err();
        assert!(err.contains("4 values") && err.contains("3 columns"), "{err}");
    }

    #[test]
    fn br_uimp_size_limit_is_one_megabyte() {
        let exactly = vec![b'a'; MAX_IMPORT_BYTES];
        assert!(read_csv(&exactly).is_ok());
        let over = vec![b'a'; MAX_IMPORT_BYTES + 1];
        assert_eq!(
            read_csv(&over).err(),
            Some(ImportFileError::TooLarge { size: MAX_IMPORT_BYTES + 1, max: MAX_IMPORT_BYTES })
        );
    }

    #[test]
    fn import_reader_skips_blank_lines_and_numbers_lines_from_the_header() {
        let file = read_csv(b"\xEF\xBB\xBFA,B\r\n\r\nx,y\r\n , \r\n,,\r\n\"p\nq\",r\nz\n\n").unwrap();
        assert_eq!(file.header, vec!["A", "B"]);
        let lines: Vec<usize> = file.rows.iter().map(|(line, _)| *line).collect();
        assert_eq!(lines, vec![3, 6, 8]);
        assert_eq!(file.rows[0].1, Ok(vec!["x".to_owned(), "y".to_owned()]));
        assert!(file.rows[1].1.as_ref().unwrap_err().contains("double quote"));
        assert_eq!(file.rows[2].1, Ok(vec!["z".to_owned()]));
    }

    #[test]
    fn import_reader_counts_lf_crlf_and_cr_line_ends_alike() {
        for text in ["H\na\n\nb\n", "H\r\na\r\n\r\nb\r\n", "H\ra\r\rb\r"] {
            let lines: Vec<usize> = read_csv(text.as_bytes()).unwrap().rows.iter().map(|(line, _)| *line).collect();
            assert_eq!(lines, vec![2, 4], "{text:?}");
        }
    }

    #[test]
    fn import_reader_reports_empty_files_and_non_utf8() {
        assert_eq!(read_csv(b"").err(), Some(ImportFileError::Empty));
        assert_eq!(read_csv(b"\xEF\xBB\xBF\r\n\n").err(), Some(ImportFileError::Empty));
        assert_eq!(read_csv(b"EM\xFFAIL\n").err(), Some(ImportFileError::HeaderNotText));
        let file = read_csv(b"A\nJ\xE9r\xF4me\n").unwrap();
        assert!(file.rows[0].1.as_ref().unwrap_err().contains("UTF-8"));
    }
}
