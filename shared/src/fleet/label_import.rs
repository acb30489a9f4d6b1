//! Reading a "label printers by file import" file (BR-LB-03, seed L6790–L6833): a TXT or
//! CSV file of at most 200 KB whose first line is the header `IP Address` or
//! `Serial Number` (any case), followed by one IP address or serial number per line and no
//! blank lines. Parsing is pure; applying the labels to the printers found is up to the
//! caller (BR-LB-04 reports which printers were inside the organisation).
//!
//! Tolerated, because spreadsheet programs write them: a UTF-8 byte order mark, CRLF line
//! ends, one trailing newline, whitespace around values, and a single-column CSV shape
//! (values in double quotes, one trailing comma).

use crate::http::Problem;
use axum::http::StatusCode;
use std::collections::HashSet;
use std::net::Ipv4Addr;
use std::path::Path;

/// Largest label file accepted: 200 KB (L6807).
pub const MAX_FILE_BYTES: usize = 200 * 1024;
/// Most data lines one file may hold, so one import stays a bounded amount of work.
pub const MAX_ENTRIES: usize = 10_000;
/// Longest serial number accepted.
pub const MAX_SERIAL_CHARS: usize = 64;

const IP_HEADER: &str = "IP Address";
const SERIAL_HEADER: &str = "Serial Number";
/// Longest piece of a refused line quoted back in a problem detail.
const SHOWN_CHARS: usize = 64;

/// The printers a label file names: which header it has, and its values in file order
/// with duplicates removed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LabelTargets {
    /// The file's header is `IP Address`.
    IpAddresses(Vec<Ipv4Addr>),
    /// The file's header is `Serial Number`.
    SerialNumbers(Vec<String>),
}

/// Which header a file has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum HeaderKind {
    Ip,
    Serial,
}

fn refused(code: &str, detail: impl Into<String>) -> Problem {
    Problem::new(StatusCode::BAD_REQUEST, code, detail)
}

/// Parses a label file (BR-LB-03). `file_name`, when the upload carried one, must end in
/// `.txt` or `.csv`. Every refusal is a problem with a stable code: 413 `file_too_large`,
/// or 400 `unsupported_file_type`, `invalid_label_file`, `invalid_header`, `no_entries`,
/// `too_many_entries`, `blank_line`, `invalid_ip_address`, `invalid_serial_number`.
pub fn parse_label_file(file_name: Option<&str>, bytes: &[u8]) -> Result<LabelTargets, Problem> {
    check_size(bytes)?;
    if let Some(name) = file_name {
        check_file_type(name)?;
    }
    let lines = text_lines(bytes)?;
    let (header, data) = lines.split_first().ok_or_else(empty_file)?;
    let kind = header_kind(header)?;
    if data.is_empty() {
        return Err(refused(
            "no_entries",
            "The file has a header but no IP addresses or serial numbers after it (BR-LB-03).",
        ));
    }
    if data.len() > MAX_ENTRIES {
        return Err(refused(
            "too_many_entries",
            format!("The file has {} entries; at most {MAX_ENTRIES} are accepted.", data.len()),
        ));
    }
    // Line 1 is the header, so the first data line is line 2.
    let numbered = data.iter().enumerate().map(|(i, line)| (i + 2, cell(line)));
    match kind {
        HeaderKind::Ip => collect(numbered, parse_ip).map(LabelTargets::IpAddresses),
        HeaderKind::Serial => collect(numbered, parse_serial).map(LabelTargets::SerialNumbers),
    }
}

fn check_size(bytes: &[u8]) -> Result<(), Problem> {
    if bytes.len() > MAX_FILE_BYTES {
        return Err(Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "file_too_large",
            format!(
                "The file is {} bytes; label files may be at most 200 KB ({MAX_FILE_BYTES} bytes) (BR-LB-03).",
                bytes.len()
            ),
        ));
    }
    Ok(())
}

fn check_file_type(name: &str) -> Result<(), Problem> {
    let extension = Path::new(name).extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
    match extension.as_deref() {
        Some("txt" | "csv") => Ok(()),
        _ => Err(refused(
            "unsupported_file_type",
            format!("The file \"{}\" is not a .txt or .csv file (BR-LB-03).", shown(name)),
        )),
    }
}

/// The file's lines without their line ends; one trailing newline ends the last line
/// rather than starting an empty one.
fn text_lines(bytes: &[u8]) -> Result<Vec<&str>, Problem> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = std::str::from_utf8(bytes)
        .ok()
        .filter(|text| !text.contains('\0'))
        .ok_or_else(|| refused("invalid_label_file", "The file is not a UTF-8 text file (BR-LB-03)."))?;
    if text.is_empty() {
        return Ok(Vec::new());
    }
    let text = text.strip_suffix('\n').unwrap_or(text);
    Ok(text.split('\n').map(|line| line.strip_suffix('\r').unwrap_or(line)).collect())
}

fn empty_file() -> Problem {
    refused(
        "invalid_header",
        format!("The file is empty; its first line must be the header `{IP_HEADER}` or `{SERIAL_HEADER}`."),
    )
}

fn header_kind(line: &str) -> Result<HeaderKind, Problem> {
    let header = cell(line);
    if header.eq_ignore_ascii_case(IP_HEADER) {
        Ok(HeaderKind::Ip)
    } else if header.eq_ignore_ascii_case(SERIAL_HEADER) {
        Ok(HeaderKind::Serial)
    } else {
        Err(refused(
            "invalid_header",
            format!(
                "Line 1 must be the header `{IP_HEADER}` or `{SERIAL_HEADER}` (in any case), not \"{}\" (BR-LB-03).",
                shown(line.trim())
            ),
        ))
    }
}

/// The value of a line: surrounding whitespace, one trailing comma and enclosing double
/// quotes removed (a single-column CSV line).
fn cell(line: &str) -> &str {
    let value = line.trim();
    let value = value.strip_suffix(',').unwrap_or(value).trim();
    value.strip_prefix('"').and_then(|v| v.strip_suffix('"')).unwrap_or(value).trim()
}

/// Parses every value, refusing blank lines and the first bad value; keeps the first
/// occurrence of each value.
fn collect<'a, T, P>(lines: impl Iterator<Item = (usize, &'a str)>, parse: P) -> Result<Vec<T>, Problem>
where
    T: Clone + Eq + std::hash::Hash,
    P: Fn(usize, &str) -> Result<T, Problem>,
{
    let mut seen = HashSet::new();
    let mut values = Vec::new();
    for (number, value) in lines {
        if value.is_empty() {
            return Err(refused(
                "blank_line",
                format!("Line {number} is blank; label files may not contain blank lines (BR-LB-03)."),
            ));
        }
        let parsed = parse(number, value)?;
        if seen.insert(parsed.clone()) {
            values.push(parsed);
        }
    }
    Ok(values)
}

/// A dotted IPv4 address like `123.123.123.123` (octets with leading zeros are refused:
/// they could be read as octal).
fn parse_ip(number: usize, value: &str) -> Result<Ipv4Addr, Problem> {
    value.parse().map_err(|_| {
        refused(
            "invalid_ip_address",
            format!("Line {number}: \"{}\" is not an IPv4 address like 123.123.123.123 (BR-LB-03).", shown(value)),
        )
    })
}

/// 1 to 64 letters, digits, `-`, `_` or `.`.
fn parse_serial(number: usize, value: &str) -> Result<String, Problem> {
    let valid = value.chars().count() <= MAX_SERIAL_CHARS
        && value.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !valid {
        return Err(refused(
            "invalid_serial_number",
            format!(
                "Line {number}: \"{}\" is not a serial number (1 to {MAX_SERIAL_CHARS} letters, digits, '-', '_' or '.').",
                shown(value)
            ),
        ));
    }
    Ok(value.to_string())
}

/// At most [`SHOWN_CHARS`] characters of `text`, for quoting in a detail.
fn shown(text: &str) -> String {
    let mut chars = text.chars();
    let head: String = chars.by_ref().take(SHOWN_CHARS).collect();
    if chars.next().is_some() { format!("{head}…") } else { head }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The seed's example for the IP-address header (L6819–L6827), one value per line as
    /// the file holds them (the manual's layout puts empty paragraphs between them).
    const SEED_IP_FILE: &str = "IP Address \n10.195.2.10 \n10.4.5.100 \n10.194.8.182\n";
    /// The seed's example for the serial-number header (L6831–L6833).
    const SEED_SERIAL_FILE: &str = "Serial Number \n50621094752gk \n";

    fn code_of(result: Result<LabelTargets, Problem>) -> (u16, String, String) {
        let problem = result.expect_err("refused");
        (problem.status, problem.code, problem.detail)
    }

    fn ips(values: &[&str]) -> LabelTargets {
        LabelTargets::IpAddresses(values.iter().map(|v| v.parse().unwrap()).collect())
    }

    #[test]
    fn br_lb_03_the_seed_examples_parse() {
        assert_eq!(
            parse_label_file(Some("printers.txt"), SEED_IP_FILE.as_bytes()).unwrap(),
            ips(&["10.195.2.10", "10.4.5.100", "10.194.8.182"])
        );
        assert_eq!(
            parse_label_file(Some("printers.csv"), SEED_SERIAL_FILE.as_bytes()).unwrap(),
            LabelTargets::SerialNumbers(vec!["50621094752gk".into()])
        );
    }

    #[test]
    fn br_lb_03_header_is_case_insensitive() {
        for header in ["ip address", "IP ADDRESS", "Ip Address", "  iP aDDress  ", "\"IP Address\"", "IP Address,"] {
            let file = format!("{header}\n10.0.0.1");
            assert_eq!(parse_label_file(None, file.as_bytes()).unwrap(), ips(&["10.0.0.1"]), "{header:?}");
        }
        for header in ["serial number", "SERIAL NUMBER", "\"serial Number\","] {
            let file = format!("{header}\nABC123");
            assert_eq!(
                parse_label_file(None, file.as_bytes()).unwrap(),
                LabelTargets::SerialNumbers(vec!["ABC123".into()]),
                "{header:?}"
            );
        }
    }

    #[test]
    fn br_lb_03_bom_crlf_quotes_and_duplicates_are_handled() {
        let file = "\u{feff}IP Address\r\n\"10.0.0.2\",\r\n10.0.0.1\r\n10.0.0.2\r\n";
        assert_eq!(parse_label_file(Some("LIST.CSV"), file.as_bytes()).unwrap(), ips(&["10.0.0.2", "10.0.0.1"]));
    }

    #[test]
    fn br_lb_03_files_over_200_kb_are_refused() {
        let mut file = String::from("IP Address\n");
        while file.len() <= MAX_FILE_BYTES {
            file.push_str("10.0.0.1\n");
        }
        let (status, code, _) = code_of(parse_label_file(Some("big.txt"), file.as_bytes()));
        assert_eq!((status, code.as_str()), (413, "file_too_large"));
        let exact = format!("IP Address\n{}", "1".repeat(MAX_FILE_BYTES - 11));
        assert_ne!(code_of(parse_label_file(None, exact.as_bytes())).1, "file_too_large", "200 KB itself is fine");
    }

    #[test]
    fn br_lb_03_only_txt_and_csv_files_are_accepted() {
        for name in ["printers.xlsx", "printers", "printers.txt.exe", ".csv"] {
            let (status, code, detail) = code_of(parse_label_file(Some(name), SEED_IP_FILE.as_bytes()));
            assert_eq!((status, code.as_str()), (400, "unsupported_file_type"), "{name}");
            assert!(detail.contains(".txt or .csv"));
        }
        for name in ["a.TXT", "a.Csv", "dir/a.csv"] {
            assert!(parse_label_file(Some(name), SEED_IP_FILE.as_bytes()).is_ok(), "{name}");
        }
    }

    #[test]
    fn br_lb_03_binary_content_is_refused() {
        for bytes in [&b"IP Address\n\xff\xfe10.0.0.1"[..], b"IP Address\n10.0.0.1\0"] {
            assert_eq!(code_of(parse_label_file(Some("a.txt"), bytes)).1, "invalid_label_file");
        }
    }

    #[test]
    fn br_lb_03_the_header_must_be_one_of_the_two() {
        for file in ["", "\n10.0.0.1", "IP-adres\n10.0.0.1", "IPAddress\n10.0.0.1", "IP Address,Name\n10.0.0.1"] {
            let (status, code, detail) = code_of(parse_label_file(None, file.as_bytes()));
            assert_eq!((status, code.as_str()), (400, "invalid_header"), "{file:?}");
            assert!(detail.contains("IP Address") && detail.contains("Serial Number"), "{detail}");
        }
    }

    #[test]
    fn br_lb_03_a_file_needs_entries() {
        for file in ["IP Address", "IP Address\n", "Serial Number\r\n"] {
            assert_eq!(code_of(parse_label_file(None, file.as_bytes())).1, "no_entries", "{file:?}");
        }
    }

    #[test]
    fn br_lb_03_blank_lines_are_refused_with_their_line_number() {
        let cases = [
            ("IP Address\n\n10.0.0.1", "Line 2 "),
            ("IP Address\n10.0.0.1\n   \n10.0.0.2", "Line 3 "),
            ("IP Address\r\n10.0.0.1\r\n\r\n", "Line 3 "),
            ("Serial Number\nA1\n,\nA2", "Line 3 "),
        ];
        for (file, line) in cases {
            let (_, code, detail) = code_of(parse_label_file(None, file.as_bytes()));
            assert_eq!(code, "blank_line", "{file:?}");
            assert!(detail.starts_with(line), "{detail}");
        }
    }

    #[test]
    fn br_lb_03_ip_addresses_must_be_valid() {
        for bad in ["10.0.0", "10.0.0.256", "10.0.0.1.5", "a.b.c.d", "10.0.0.01", "::1", "10.0.0.1/24", "10.0.0.1,x"] {
            let file = format!("IP Address\n10.0.0.9\n{bad}");
            let (status, code, detail) = code_of(parse_label_file(None, file.as_bytes()));
            assert_eq!((status, code.as_str()), (400, "invalid_ip_address"), "{bad}");
            assert!(detail.starts_with("Line 3:") && detail.contains(bad), "{detail}");
        }
        assert_eq!(
            parse_label_file(None, b"IP Address\n255.255.255.255\n0.0.0.0").unwrap(),
            ips(&["255.255.255.255", "0.0.0.0"])
        );
    }

    #[test]
    fn br_lb_03_serial_numbers_must_be_valid() {
        let long = "X".repeat(MAX_SERIAL_CHARS + 1);
        for bad in ["AB CD", "AB/CD", "ABC;", long.as_str(), "séri"] {
            let file = format!("Serial Number\n{bad}");
            let (status, code, detail) = code_of(parse_label_file(None, file.as_bytes()));
            assert_eq!((status, code.as_str()), (400, "invalid_serial_number"), "{bad}");
            assert!(detail.starts_with("Line 2:"), "{detail}");
        }
        let fine = format!("Serial Number\n  7014-29M.X_1  \n{}", "Y".repeat(MAX_SERIAL_CHARS));
        assert_eq!(
            parse_label_file(None, fine.as_bytes()).unwrap(),
            LabelTargets::SerialNumbers(vec!["7014-29M.X_1".into(), "Y".repeat(MAX_SERIAL_CHARS)])
        );
    }

    #[test]
    fn br_lb_03_at_most_10000_entries() {
        let lines = |n: usize| (0..n).map(|i| format!("S{i}\n")).collect::<String>();
        let at_limit = format!("Serial Number\n{}", lines(MAX_ENTRIES));
        let LabelTargets::SerialNumbers(values) = parse_label_file(None, at_limit.as_bytes()).unwrap() else {
            panic!("serial numbers")
        };
        assert_eq!(values.len(), MAX_ENTRIES);
        let over = format!("Serial Number\n{}", lines(MAX_ENTRIES + 1));
        assert_eq!(code_of(parse_label_file(None, over.as_bytes())).1, "too_many_entries");
    }
}
