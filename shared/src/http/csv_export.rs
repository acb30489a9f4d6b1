//! CSV downloads (quota status, notification lists): UTF-8 with a byte-order mark so
//! spreadsheet programs read it as such, and cells that cannot run as formulas.

use super::Problem;
use axum::http::header;
use axum::response::{IntoResponse, Response};

/// `text` made safe for a spreadsheet: a cell that starts with `=`, `+`, `-`, `@`, a tab
/// or a carriage return would be read as a formula (CSV injection), so it gets a leading
/// apostrophe, which spreadsheets show as text.
pub fn safe_cell(text: &str) -> String {
    match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{text}"),
        _ => text.to_string(),
    }
}

/// The CSV document of `header` and `rows`, every cell made safe.
pub fn document(header: &[&str], rows: impl IntoIterator<Item = Vec<String>>) -> Result<Vec<u8>, Problem> {
    let mut writer = csv::Writer::from_writer("\u{feff}".as_bytes().to_vec());
    writer.write_record(header).map_err(Problem::internal)?;
    for row in rows {
        writer.write_record(row.iter().map(|cell| safe_cell(cell))).map_err(Problem::internal)?;
    }
    writer.into_inner().map_err(Problem::internal)
}

/// A CSV download named `file_name`.
pub fn download(file_name: &str, body: Vec<u8>) -> Response {
    let disposition = format!("attachment; filename=\"{file_name}\"");
    ([(header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()), (header::CONTENT_DISPOSITION, disposition)], body)
        .into_response()
}

/// Whether the request's `Accept` header asks for CSV.
pub fn wants_csv(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|accept| accept.split(',').any(|kind| kind.trim().starts_with("text/csv")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_that_spreadsheets_would_run_as_formulas_are_quoted_as_text() {
        for formula in ["=1+1", "+SUM(A1)", "-2+3", "@cmd", "\tx", "\rx"] {
            assert_eq!(safe_cell(formula), format!("'{formula}"));
        }
        assert_eq!(safe_cell("pat@example.org"), "pat@example.org");
        let text =
            String::from_utf8(document(&["a", "b"], [vec!["=HYPERLINK(\"x\")".into(), "ok".into()]]).unwrap()).unwrap();
        assert_eq!(text, "\u{feff}a,b\n\"'=HYPERLINK(\"\"x\"\")\",ok\n");
    }
}
