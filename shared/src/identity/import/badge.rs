//! Badge and PIN import (BR-BIMP, seed L5207–L5267): columns found by name, one badge/PIN
//! instruction per line, checked against the organisation's printer-login method.

use super::{ImportFileError, RowError, fit_columns, normalise_email, read_csv};

/// The badge/PIN-import columns (seed L5211). The header must name each once, in any order
/// (L5229–L5235), ignoring case and surrounding spaces; other names refuse the file.
pub const BADGE_IMPORT_COLUMNS: [&str; 5] = ["BADGE", "OPERATION", "EMAIL", "TEMPORARY", "PIN"];

// Positions in BADGE_IMPORT_COLUMNS.
const BADGE: usize = 0;
const OPERATION: usize = 1;
const EMAIL: usize = 2;
const TEMPORARY: usize = 3;
const PIN: usize = 4;

/// What the printer-login method demands of each line (seed L5243–L5245, L5261–L5262): it
/// exists so that the parser can refuse lines that could never be used to log in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BadgeImportMode {
    /// BADGE must not be empty: printer login is "badge" or "badge + PIN as second factor".
    pub badge_required: bool,
    /// PIN must not be empty: printer login is "PIN" or "badge + PIN as second factor".
    pub pin_required: bool,
}

impl BadgeImportMode {
    /// Printer login by badge only (seed example L5211–L5215).
    pub const BADGE: Self = Self { badge_required: true, pin_required: false };
    /// Printer login by PIN only (seed example L5217–L5221).
    pub const PIN: Self = Self { badge_required: false, pin_required: true };
    /// Badge with a PIN as second factor (seed example L5223–L5227).
    pub const BADGE_AND_PIN: Self = Self { badge_required: true, pin_required: true };
}

/// The OPERATION values of a badge/PIN line (seed L5247–L5252).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BadgeOperation {
    /// `CREATE` (or the manual's Dutch `MAKEN`, L5253): register the badge and/or PIN for the
    /// existing user named by EMAIL.
    Create,
    /// `DELETE` (or the manual's Dutch `VERWIJDEREN`, L5266): remove the badge named by BADGE,
    /// or, without a badge, the PIN of the user named by EMAIL.
    Delete,
}

/// One valid line of a badge/PIN import.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadgeImportRow {
    /// Line number in the file (header = 1), for the import log.
    pub row: usize,
    /// What to do.
    pub operation: BadgeOperation,
    /// Badge id, trimmed, case kept; `None` when empty.
    pub badge: Option<String>,
    /// The user's address, trimmed and lower-cased (L5255–L5257); always present for CREATE,
    /// and for a DELETE without a badge.
    pub email: Option<String>,
    /// Whether the badge is temporary (expires after 24 hours, BR-BDG-2); empty is `false`.
    pub temporary: bool,
    /// The PIN, digits only; `None` when empty. Its length is checked against the
    /// organisation's PIN length by the caller, which the file cannot know.
    pub pin: Option<String>,
}

/// Parses and validates a badge/PIN-import file (BR-BIMP) for the organisation's printer-login
/// `mode`. A header that does not name the five columns, or a file over 1 MB, refuses the whole
/// file; otherwise each data line yields its instruction or the reason it is refused, in order.
pub fn parse_badge_import(
    bytes: &[u8],
    mode: BadgeImportMode,
) -> Result<Vec<Result<BadgeImportRow, RowError>>, ImportFileError> {
    let file = read_csv(bytes)?;
    let positions = map_columns(&file.header)?;
    Ok(file
        .rows
        .into_iter()
        .map(|(row, values)| {
            values
                .and_then(|v| fit_columns(v, positions.len()))
                .and_then(|v| {
                    let by_name: [&str; 5] = std::array::from_fn(|c| v[positions[c]].as_str());
                    parse_row(row, by_name, mode).map_err(|problems| problems.join("; "))
                })
                .map_err(|reason| RowError { row, reason })
        })
        .collect())
}

/// For each of [`BADGE_IMPORT_COLUMNS`], its position in the file's header.
fn map_columns(header: &[String]) -> Result<[usize; 5], ImportFileError> {
    let mut positions = [None; 5];
    let (mut unknown, mut duplicated) = (Vec::new(), Vec::new());
    for (i, name) in header.iter().enumerate() {
        match BADGE_IMPORT_COLUMNS.iter().position(|c| c.eq_ignore_ascii_case(name)) {
            Some(c) if positions[c].is_some() => duplicated.push(BADGE_IMPORT_COLUMNS[c].to_owned()),
            Some(c) => positions[c] = Some(i),
            None => unknown.push(name.clone()),
        }
    }
    let missing: Vec<String> = BADGE_IMPORT_COLUMNS
        .iter()
        .zip(&positions)
        .filter(|(_, p)| p.is_none())
        .map(|(c, _)| (*c).to_owned())
        .collect();
    duplicated.dedup();
    match positions {
        [Some(a), Some(b), Some(c), Some(d), Some(e)] if unknown.is_empty() && duplicated.is_empty() => {
            Ok([a, b, c, d, e])
        }
        _ => Err(ImportFileError::BadgeColumns { unknown, missing, duplicated }),
    }
}

/// Validates one line, its values given in [`BADGE_IMPORT_COLUMNS`] order; on failure, every
/// problem found, each naming its column.
fn parse_row(row: usize, v: [&str; 5], mode: BadgeImportMode) -> Result<BadgeImportRow, Vec<String>> {
    let mut problems = Vec::new();
    let operation = match v[OPERATION].to_ascii_uppercase().as_str() {
        "CREATE" | "MAKEN" => Some(BadgeOperation::Create),
        "DELETE" | "VERWIJDEREN" => Some(BadgeOperation::Delete),
        "" => {
            problems.push("OPERATION is required: CREATE or DELETE".to_owned());
            None
        }
        _ => {
            problems.push(format!("OPERATION `{}` is not CREATE or DELETE", v[OPERATION]));
            None
        }
    };
    let badge = (!v[BADGE].is_empty()).then(|| v[BADGE].to_owned());
    if badge.is_none() && mode.badge_required {
        problems.push("BADGE is required when printers log in with a badge".to_owned());
    }
    let pin = (!v[PIN].is_empty()).then(|| v[PIN].to_owned());
    match &pin {
        None if mode.pin_required => problems.push("PIN is required when printers log in with a PIN".to_owned()),
        Some(p) if !p.chars().all(|c| c.is_ascii_digit()) => {
            problems.push(format!("PIN `{p}` must be digits only"));
        }
        _ => {}
    }
    let email = if v[EMAIL].is_empty() {
        match operation {
            Some(BadgeOperation::Create) => problems.push("EMAIL is required for CREATE".to_owned()),
            Some(BadgeOperation::Delete) if badge.is_none() => {
                problems.push("EMAIL is required for a DELETE without a BADGE".to_owned());
            }
            _ => {}
        }
        None
    } else {
        normalise_email(v[EMAIL]).map_err(|p| problems.push(p)).ok()
    };
    let temporary = match v[TEMPORARY].to_ascii_lowercase().as_str() {
        "" | "false" | "onwaar" => false,
        "true" | "waar" => true,
        _ => {
            problems.push(format!("TEMPORARY `{}` is not true or false", v[TEMPORARY]));
            false
        }
    };
    if operation == Some(BadgeOperation::Create) && badge.is_none() && pin.is_none() && problems.is_empty() {
        problems.push("the line creates nothing: BADGE and PIN are both empty".to_owned());
    }
    match operation {
        Some(operation) if problems.is_empty() => Ok(BadgeImportRow { row, operation, badge, email, temporary, pin }),
        _ => Err(problems),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str, mode: BadgeImportMode) -> Vec<Result<BadgeImportRow, RowError>> {
        parse_badge_import(text.as_bytes(), mode).expect("the file is accepted")
    }

    fn good(row: usize, op: BadgeOperation, badge: &str, email: &str, temporary: bool, pin: &str) -> BadgeImportRow {
        let some = |s: &str| (!s.is_empty()).then(|| s.to_owned());
        BadgeImportRow { row, operation: op, badge: some(badge), email: some(email), temporary, pin: some(pin) }
    }

    fn reason(row: &Result<BadgeImportRow, RowError>) -> &str {
        &row.as_ref().expect_err("a refused row").reason
    }

    use BadgeOperation::{Create, Delete};

    #[test]
    fn br_bimp_seed_badge_only_example() {
        // Seed L5212–L5215 (the PDF's trailing spaces included).
        let text = "BADGE,OPERATION,EMAIL,TEMPORARY,PIN \n20171a,CREATE,jdoe@company.com,true, \n\
                    20172b,CREATE,llane@company.com,true, \n20173c,DELETE,ckent@company.com,false,\n";
        assert_eq!(
            parse(text, BadgeImportMode::BADGE),
            vec![
                Ok(good(2, Create, "20171a", "jdoe@company.com", true, "")),
                Ok(good(3, Create, "20172b", "llane@company.com", true, "")),
                Ok(good(4, Delete, "20173c", "ckent@company.com", false, "")),
            ]
        );
    }

    #[test]
    fn br_bimp_seed_pin_only_example() {
        // Seed L5218–L5221.
        let text = "BADGE,OPERATION,EMAIL,TEMPORARY,PIN\n,CREATE,jdoe@company.com,,123456\n\
                    ,CREATE,llane@company.com,,234567\n,DELETE,ckent@company.com,,345678\n";
        assert_eq!(
            parse(text, BadgeImportMode::PIN),
            vec![
                Ok(good(2, Create, "", "jdoe@company.com", false, "123456")),
                Ok(good(3, Create, "", "llane@company.com", false, "234567")),
                Ok(good(4, Delete, "", "ckent@company.com", false, "345678")),
            ]
        );
    }

    #[test]
    fn br_bimp_seed_badge_and_pin_example() {
        // Seed L5224–L5227, including the stray leading space before `20172b`.
        let text = "BADGE,OPERATION,EMAIL,TEMPORARY,PIN\r\n20171a,CREATE,jdoe@company.com,true,123456\r\n \
                    20172b,CREATE,llane@company.com,true,234567\r\n20173c,DELETE,ckent@company.com,false,345678\r\n";
        assert_eq!(
            parse(text, BadgeImportMode::BADGE_AND_PIN),
            vec![
                Ok(good(2, Create, "20171a", "jdoe@company.com", true, "123456")),
                Ok(good(3, Create, "20172b", "llane@company.com", true, "234567")),
                Ok(good(4, Delete, "20173c", "ckent@company.com", false, "345678")),
            ]
        );
    }

    #[test]
    fn br_bimp_columns_map_by_name() {
        // Seed L5232–L5235: reordered columns, PIN only.
        let text = "PIN,OPERATION,EMAIL,BADGE,TEMPORARY\n123456,CREATE,jdoe@company.com,,\n\
                    234567,CREATE,llane@company.com,,\n345678,DELETE,ckent@company.com,,\n";
        assert_eq!(
            parse(text, BadgeImportMode::PIN),
            vec![
                Ok(good(2, Create, "", "jdoe@company.com", false, "123456")),
                Ok(good(3, Create, "", "llane@company.com", false, "234567")),
                Ok(good(4, Delete, "", "ckent@company.com", false, "345678")),
            ]
        );
        // Names ignore case and surrounding spaces.
        let text = "\u{feff}email , Temporary,badge,pin,Operation\nJDoe@Company.com,TRUE,b1,,create\n";
        assert_eq!(parse(text, BadgeImportMode::BADGE), vec![Ok(good(2, Create, "b1", "jdoe@company.com", true, ""))]);
    }

    #[test]
    fn br_bimp_unknown_missing_or_repeated_columns_refuse_the_file() {
        let err = parse_badge_import(b"BADGE_ID,OPERATION,EMAIL,TEMPORARY,PIN\n", BadgeImportMode::BADGE).unwrap_err();
        assert_eq!(
            err,
            ImportFileError::BadgeColumns {
                unknown: vec!["BADGE_ID".into()],
                missing: vec!["BADGE".into()],
                duplicated: vec![]
            }
        );
        assert!(err.to_string().ends_with("unknown column(s) `BADGE_ID`; missing column(s) `BADGE`"), "{err}");

        let err = parse_badge_import(b"BADGE,OPERATION,EMAIL,PIN\n", BadgeImportMode::BADGE).unwrap_err();
        assert_eq!(
            err,
            ImportFileError::BadgeColumns { unknown: vec![], missing: vec!["TEMPORARY".into()], duplicated: vec![] }
        );

        let err = parse_badge_import(b"BADGE,OPERATION,EMAIL,TEMPORARY,PIN,pin\n", BadgeImportMode::PIN).unwrap_err();
        assert_eq!(
            err,
            ImportFileError::BadgeColumns { unknown: vec![], missing: vec![], duplicated: vec!["PIN".into()] }
        );

        assert_eq!(parse_badge_import(b"\n\n", BadgeImportMode::PIN), Err(ImportFileError::Empty));
    }

    #[test]
    fn br_bimp_file_over_one_megabyte_is_refused() {
        let mut text = String::from("BADGE,OPERATION,EMAIL,TEMPORARY,PIN\n");
        while text.len() <= super::super::MAX_IMPORT_BYTES {
            text.push_str("20171a,CREATE,jdoe@company.com,true,\n");
        }
        assert!(matches!(
            parse_badge_import(text.as_bytes(), BadgeImportMode::BADGE),
            Err(ImportFileError::TooLarge { .. })
        ));
    }

    #[test]
    fn d_import_columns_badge_short_rows_are_padded_and_long_rows_refused() {
        // Seed L5266: `20171a,VERWIJDEREN,` — three values under five columns, Dutch DELETE.
        let text = "BADGE,OPERATION,EMAIL,TEMPORARY,PIN\n20171a,VERWIJDEREN,\n20171a,DELETE,,,,extra\n\
                    20172b,MAKEN,a@b.nl\n";
        let rows = parse(text, BadgeImportMode::BADGE);
        assert_eq!(rows[0], Ok(good(2, Delete, "20171a", "", false, "")));
        assert_eq!(
            reason(&rows[1]),
            "the line has 6 values but the header has 5 columns; quote values that contain commas"
        );
        assert_eq!(rows[2], Ok(good(4, Create, "20172b", "a@b.nl", false, "")));
    }

    #[test]
    fn br_bimp_login_mode_decides_what_is_required() {
        let text =
            "BADGE,OPERATION,EMAIL,TEMPORARY,PIN\n,CREATE,a@b.nl,,1234\nb1,CREATE,a@b.nl,,\nb1,CREATE,a@b.nl,,1234\n";
        let badge = parse(text, BadgeImportMode::BADGE);
        assert_eq!(reason(&badge[0]), "BADGE is required when printers log in with a badge");
        assert!(badge[1].is_ok() && badge[2].is_ok());

        let pin = parse(text, BadgeImportMode::PIN);
        assert!(pin[0].is_ok() && pin[2].is_ok());
        assert_eq!(reason(&pin[1]), "PIN is required when printers log in with a PIN");

        let both = parse(text, BadgeImportMode::BADGE_AND_PIN);
        assert!(both[0].is_err() && both[1].is_err() && both[2].is_ok());

        let neither = parse("BADGE,OPERATION,EMAIL,TEMPORARY,PIN\n,CREATE,a@b.nl,,\n", BadgeImportMode::default());
        assert_eq!(reason(&neither[0]), "the line creates nothing: BADGE and PIN are both empty");
    }

    #[test]
    fn br_bimp_values_are_checked() {
        let text = "BADGE,OPERATION,EMAIL,TEMPORARY,PIN\n\
                    b1,CREATE,,,\n\
                    b1,CREATE,JDoe@Company.COM,yes,12a4\n\
                    ,DELETE,,,1234\n\
                    b1,UPDATE,a@b.nl,,\n\
                    \"20171a,2a,3a\",CREATE,a@b.nl,False,0042\n\
                    b1,create,a@b.nl,WAAR,\n";
        let rows = parse(text, BadgeImportMode::default());
        assert_eq!(reason(&rows[0]), "EMAIL is required for CREATE");
        assert_eq!(reason(&rows[1]), "PIN `12a4` must be digits only; TEMPORARY `yes` is not true or false");
        assert_eq!(reason(&rows[2]), "EMAIL is required for a DELETE without a BADGE");
        assert_eq!(reason(&rows[3]), "OPERATION `UPDATE` is not CREATE or DELETE");
        // Seed L5240–L5241: a badge holding commas is quoted. Leading zeros of a PIN are kept.
        assert_eq!(rows[4], Ok(good(6, Create, "20171a,2a,3a", "a@b.nl", false, "0042")));
        assert_eq!(rows[5], Ok(good(7, Create, "b1", "a@b.nl", true, "")));
    }

    #[test]
    fn br_bimp_bad_rows_do_not_stop_good_rows() {
        let mut text = String::from("BADGE,OPERATION,EMAIL,TEMPORARY,PIN\n");
        for i in 0..10_000 {
            if i % 100 == 7 {
                text.push_str(&format!("b{i},CREATE,not-an-address,true,\n"));
            } else {
                text.push_str(&format!("b{i},CREATE,user{i}@example.com,{},{i:06}\n", i % 2 == 0));
            }
        }
        let rows = parse(&text, BadgeImportMode::BADGE_AND_PIN);
        assert_eq!(rows.len(), 10_000);
        assert_eq!(rows.iter().filter(|r| r.is_err()).count(), 100);
        for (i, row) in rows.iter().enumerate() {
            match row {
                Err(e) => assert_eq!((i % 100, e.row), (7, i + 2)),
                Ok(r) => assert_eq!(
                    r,
                    &good(
                        i + 2,
                        Create,
                        &format!("b{i}"),
                        &format!("user{i}@example.com"),
                        i % 2 == 0,
                        &format!("{i:06}")
                    )
                ),
            }
        }
    }
}
