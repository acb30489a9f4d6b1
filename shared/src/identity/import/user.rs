//! User import (BR-UIMP, seed L4290–L4380; D-IMPORT-COLUMNS): the fixed header, and one
//! create/update/delete instruction per line.

use super::{ImportFileError, RowError, fit_columns, normalise_email, parse_custom_attributes, read_csv};
use std::collections::BTreeMap;
use std::fmt;

/// The user-import header, exactly and case-sensitively (seed L4312–L4314; the PDF breaks
/// `SHORTNAME` over a line as "SHORT NAME", the example at L4305 shows it whole).
pub const USER_IMPORT_HEADER: [&str; 11] = [
    "EMAIL",
    "OPERATION",
    "PASSWORD",
    "FIRST_NAME",
    "LAST_NAME",
    "DISPLAY_NAME",
    "SHORTNAME",
    "GROUPS",
    "CUSTOM_ATTRIBUTES",
    "COST_CENTER",
    "DEPARTMENT",
];

/// The action string that, on UPDATE, clears a first, last, display or short name (seed
/// L4325–L4327). Matched after trimming, ignoring case.
pub const DELETE_MARKER: &str = "[delete]";

/// Characters a group name may not hold; the import replaces each with `_` (seed L4355–L4357).
const GROUP_FORBIDDEN: &[char] = &['!', '@', '#', '$', '%', '^', '&', '*', ';', '+', '?', '/', '\\', '[', ']'];

// Column positions in USER_IMPORT_HEADER.
const EMAIL: usize = 0;
const OPERATION: usize = 1;
const PASSWORD: usize = 2;
const FIRST_NAME: usize = 3;
const LAST_NAME: usize = 4;
const DISPLAY_NAME: usize = 5;
const SHORTNAME: usize = 6;
const GROUPS: usize = 7;
const CUSTOM_ATTRIBUTES: usize = 8;
const COST_CENTER: usize = 9;
const DEPARTMENT: usize = 10;

/// One valid line of a user import: whom it is about and what to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserImportRow {
    /// Line number in the file (header = 1), for the import log.
    pub row: usize,
    /// The user's address, trimmed and lower-cased (seed L4318–L4320); identifies the user.
    pub email: String,
    /// What the line asks for.
    pub operation: UserImportOperation,
}

/// The three OPERATION values (seed L4321–L4330).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UserImportOperation {
    /// `CREATE`: a new user with the line's properties.
    Create(UserCreate),
    /// `UPDATE`: change an existing user; empty values leave things as they are.
    Update(UserUpdate),
    /// `DELETE`: remove an existing user; the line's other values are ignored.
    Delete,
}

/// The properties of a user created by an import line; `None`/empty means "not given".
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserCreate {
    /// The initial password (meets BR-PWD); `None` only when the import was started with
    /// "email a link to change the password" (seed L4332–L4333), so the user gets that link.
    pub password: Option<ImportedPassword>,
    /// First name.
    pub first_name: Option<String>,
    /// Last name.
    pub last_name: Option<String>,
    /// Name for messages and reports.
    pub display_name: Option<String>,
    /// Abbreviated name, e.g. `jjansen`.
    pub short_name: Option<String>,
    /// Group names to add the user to (created when missing, seed L4352–L4353), cleaned of
    /// forbidden characters, without duplicates, in file order.
    pub groups: Vec<String>,
    /// User metadata from CUSTOM_ATTRIBUTES.
    pub custom_attributes: BTreeMap<String, String>,
    /// Cost centre (quota assignment, reporting).
    pub cost_center: Option<String>,
    /// Department (quota assignment, reporting).
    pub department: Option<String>,
}

/// The changes an UPDATE line asks for; anything left empty in the file stays as it is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserUpdate {
    /// A new password (meets BR-PWD); `None` keeps the current one.
    pub password: Option<ImportedPassword>,
    /// First name: keep, clear (`[delete]`) or set.
    pub first_name: FieldChange,
    /// Last name: keep, clear (`[delete]`) or set.
    pub last_name: FieldChange,
    /// Display name: keep, clear (`[delete]`) or set.
    pub display_name: FieldChange,
    /// Short name: keep, clear (`[delete]`) or set.
    pub short_name: FieldChange,
    /// Group names to add the user to, cleaned like [`UserCreate::groups`]; empty changes nothing.
    pub groups: Vec<String>,
    /// New metadata from CUSTOM_ATTRIBUTES; `None` keeps the current metadata.
    pub custom_attributes: Option<BTreeMap<String, String>>,
    /// New cost centre; `None` keeps the current one.
    pub cost_center: Option<String>,
    /// New department; `None` keeps the current one.
    pub department: Option<String>,
}

/// What an UPDATE line does to one name field: an empty value keeps it, [`DELETE_MARKER`]
/// clears it, anything else replaces it (seed L4325–L4327).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum FieldChange {
    /// The value was empty: leave the field as it is.
    #[default]
    Keep,
    /// The value was `[delete]`: empty the field.
    Clear,
    /// Replace the field with this (trimmed) value.
    Set(String),
}

/// A password read from an import file. It exists so that the plain text never ends up in a
/// log through `Debug`; read it with [`ImportedPassword::expose`] only to hash it.
#[derive(Clone, PartialEq, Eq)]
pub struct ImportedPassword(String);

impl ImportedPassword {
    /// The password as written in the file (trimmed), for hashing.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ImportedPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ImportedPassword(***)")
    }
}

/// Parses and validates a user-import file (BR-UIMP). `email_password_link` is the import
/// option "E-mail een koppeling om het wachtwoord te wijzigen": with it, a CREATE line may
/// leave PASSWORD empty. A wrong header or a file over 1 MB refuses the whole file; otherwise
/// each data line yields its instruction or the reason it is refused, in file order.
pub fn parse_user_import(
    bytes: &[u8],
    email_password_link: bool,
) -> Result<Vec<Result<UserImportRow, RowError>>, ImportFileError> {
    let file = read_csv(bytes)?;
    check_header(&file.header)?;
    Ok(file
        .rows
        .into_iter()
        .map(|(row, values)| {
            values
                .and_then(|v| fit_columns(v, USER_IMPORT_HEADER.len()))
                .and_then(|v| parse_row(row, &v, email_password_link).map_err(|problems| problems.join("; ")))
                .map_err(|reason| RowError { row, reason })
        })
        .collect())
}

/// The header must equal [`USER_IMPORT_HEADER`] (D-IMPORT-COLUMNS); names may be surrounded
/// by spaces but are case-sensitive.
fn check_header(found: &[String]) -> Result<(), ImportFileError> {
    let mut differences = Vec::new();
    if let [only] = found
        && only.contains(';')
    {
        differences.push("values must be separated by commas, not semicolons".to_owned());
    }
    for i in 0..found.len().max(USER_IMPORT_HEADER.len()) {
        let column = i + 1;
        match (USER_IMPORT_HEADER.get(i), found.get(i)) {
            (Some(want), Some(got)) if got == want => {}
            (Some(want), Some(got)) if got.eq_ignore_ascii_case(want) => {
                differences.push(format!("column {column} is `{got}`, expected `{want}` (names are case-sensitive)"))
            }
            (Some(want), Some(got)) => differences.push(format!("column {column} is `{got}`, expected `{want}`")),
            (Some(want), None) => differences.push(format!("column {column} `{want}` is missing")),
            (None, Some(got)) => differences.push(format!("column {column} `{got}` is not an import column")),
            (None, None) => unreachable!("the loop stops at the longer of the two"),
        }
    }
    if differences.is_empty() { Ok(()) } else { Err(ImportFileError::HeaderMismatch { differences }) }
}

/// Validates one padded line; on failure, every problem found, each naming its column.
fn parse_row(row: usize, v: &[String], email_password_link: bool) -> Result<UserImportRow, Vec<String>> {
    let mut problems = Vec::new();
    let email = if v[EMAIL].is_empty() {
        problems.push("EMAIL is required".to_owned());
        None
    } else {
        normalise_email(&v[EMAIL]).map_err(|p| problems.push(p)).ok()
    };
    let operation = match v[OPERATION].to_ascii_uppercase().as_str() {
        "CREATE" => Some(Op::Create),
        "UPDATE" => Some(Op::Update),
        "DELETE" => Some(Op::Delete),
        "" => {
            problems.push("OPERATION is required: CREATE, UPDATE or DELETE".to_owned());
            None
        }
        _ => {
            problems.push(format!("OPERATION `{}` is not CREATE, UPDATE or DELETE", v[OPERATION]));
            None
        }
    };
    let operation = match operation {
        Some(Op::Delete) => Some(UserImportOperation::Delete),
        Some(Op::Create) => {
            let password = password(&v[PASSWORD], email_password_link, &mut problems);
            let groups = groups(&v[GROUPS], &mut problems);
            let custom_attributes = attributes(&v[CUSTOM_ATTRIBUTES], &mut problems).unwrap_or_default();
            let cost_center = plain(&v[COST_CENTER], "COST_CENTER", &mut problems);
            let department = plain(&v[DEPARTMENT], "DEPARTMENT", &mut problems);
            Some(UserImportOperation::Create(UserCreate {
                password,
                first_name: name_for_create(&v[FIRST_NAME]),
                last_name: name_for_create(&v[LAST_NAME]),
                display_name: name_for_create(&v[DISPLAY_NAME]),
                short_name: name_for_create(&v[SHORTNAME]),
                groups,
                custom_attributes,
                cost_center,
                department,
            }))
        }
        Some(Op::Update) => {
            // An UPDATE keeps the current password when PASSWORD is empty, whatever the option.
            let password = password(&v[PASSWORD], true, &mut problems);
            let groups = groups(&v[GROUPS], &mut problems);
            let custom_attributes = attributes(&v[CUSTOM_ATTRIBUTES], &mut problems);
            let cost_center = plain(&v[COST_CENTER], "COST_CENTER", &mut problems);
            let department = plain(&v[DEPARTMENT], "DEPARTMENT", &mut problems);
            Some(UserImportOperation::Update(UserUpdate {
                password,
                first_name: name_change(&v[FIRST_NAME]),
                last_name: name_change(&v[LAST_NAME]),
                display_name: name_change(&v[DISPLAY_NAME]),
                short_name: name_change(&v[SHORTNAME]),
                groups,
                custom_attributes,
                cost_center,
                department,
            }))
        }
        None => None,
    };
    match (email, operation) {
        (Some(email), Some(operation)) if problems.is_empty() => Ok(UserImportRow { row, email, operation }),
        _ => Err(problems),
    }
}

/// The OPERATION column, before the rest of the line is read.
enum Op {
    Create,
    Update,
    Delete,
}

/// PASSWORD: may be empty only when `may_be_empty`; otherwise it must meet BR-PWD.
fn password(value: &str, may_be_empty: bool, problems: &mut Vec<String>) -> Option<ImportedPassword> {
    if value.is_empty() {
        if !may_be_empty {
            problems.push("PASSWORD is required unless the import e-mails a link to change the password".to_owned());
        }
        return None;
    }
    let missing = crate::passwords::problems(value);
    if missing.is_empty() {
        Some(ImportedPassword(value.to_owned()))
    } else {
        problems.push(format!("PASSWORD does not meet the password requirements: it needs {}", missing.join(", ")));
        None
    }
}

/// Whether a value is the `[delete]` action string.
fn is_delete_marker(value: &str) -> bool {
    value.eq_ignore_ascii_case(DELETE_MARKER)
}

/// A name on CREATE: empty, or `[delete]` (there is nothing to clear yet), is "not given".
fn name_for_create(value: &str) -> Option<String> {
    (!value.is_empty() && !is_delete_marker(value)).then(|| value.to_owned())
}

/// A name on UPDATE: empty keeps, `[delete]` clears, anything else sets.
fn name_change(value: &str) -> FieldChange {
    if value.is_empty() {
        FieldChange::Keep
    } else if is_delete_marker(value) {
        FieldChange::Clear
    } else {
        FieldChange::Set(value.to_owned())
    }
}

/// COST_CENTER or DEPARTMENT: empty is "not given"; `[delete]` is refused because the seed
/// gives it meaning only for the four name columns.
fn plain(value: &str, column: &str, problems: &mut Vec<String>) -> Option<String> {
    if is_delete_marker(value) {
        problems.push(marker_problem(column));
        return None;
    }
    (!value.is_empty()).then(|| value.to_owned())
}

/// The reason given when `[delete]` appears where it clears nothing.
fn marker_problem(column: &str) -> String {
    format!("{column} cannot be `{DELETE_MARKER}`; it clears only FIRST_NAME, LAST_NAME, DISPLAY_NAME and SHORTNAME")
}

/// GROUPS: a comma-separated list (quoted in the file when it has several names, seed
/// L4350–L4353); names trimmed, empties dropped, forbidden characters replaced by `_`
/// (L4355–L4357), duplicates dropped keeping the first.
fn groups(value: &str, problems: &mut Vec<String>) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for name in value.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        if is_delete_marker(name) {
            problems.push(marker_problem("GROUPS"));
            return Vec::new();
        }
        let clean: String = name.chars().map(|c| if GROUP_FORBIDDEN.contains(&c) { '_' } else { c }).collect();
        if !names.contains(&clean) {
            names.push(clean);
        }
    }
    names
}

/// CUSTOM_ATTRIBUTES: empty is "not given"; otherwise see [`parse_custom_attributes`].
fn attributes(value: &str, problems: &mut Vec<String>) -> Option<BTreeMap<String, String>> {
    if value.is_empty() {
        return None;
    }
    parse_custom_attributes(value).map_err(|p| problems.push(format!("CUSTOM_ATTRIBUTES {p}"))).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "EMAIL,OPERATION,PASSWORD,FIRST_NAME,LAST_NAME,DISPLAY_NAME,SHORTNAME,GROUPS,CUSTOM_ATTRIBUTES,COST_CENTER,DEPARTMENT";

    /// The rows of a file that must parse, with the header prepended.
    fn parse(lines: &[&str], link: bool) -> Vec<Result<UserImportRow, RowError>> {
        let text = std::iter::once(HEADER).chain(lines.iter().copied()).collect::<Vec<_>>().join("\n");
        parse_user_import(text.as_bytes(), link).expect("the file is accepted")
    }

    fn create(row: &Result<UserImportRow, RowError>) -> &UserCreate {
        match &row.as_ref().expect("a good row").operation {
            UserImportOperation::Create(c) => c,
            other => panic!("not a CREATE: {other:?}"),
        }
    }

    fn update(row: &Result<UserImportRow, RowError>) -> &UserUpdate {
        match &row.as_ref().expect("a good row").operation {
            UserImportOperation::Update(u) => u,
            other => panic!("not an UPDATE: {other:?}"),
        }
    }

    fn reason(row: &Result<UserImportRow, RowError>) -> &str {
        &row.as_ref().expect_err("a refused row").reason
    }

    #[test]
    fn br_uimp_seed_example_parses_with_the_link_option() {
        // Seed L4305–L4310, rows of 9 fields under an 11-column header (D-IMPORT-COLUMNS).
        let rows = parse(
            &[
                "jdoe@company.com,CREATE,,John,Doe,Johnny,jdoe,Group 1,\"{'key1':'value1','key2':'value2'}\"",
                "llane@company.com,UPDATE,password2,Lois,Lane,Lois,llane,,",
                "ckent@company.com,DELETE,,,,,,,",
            ],
            true,
        );
        assert_eq!(rows.len(), 3);

        let jdoe = rows[0].as_ref().unwrap();
        assert_eq!((jdoe.row, jdoe.email.as_str()), (2, "jdoe@company.com"));
        let expected = UserCreate {
            password: None,
            first_name: Some("John".into()),
            last_name: Some("Doe".into()),
            display_name: Some("Johnny".into()),
            short_name: Some("jdoe".into()),
            groups: vec!["Group 1".into()],
            custom_attributes: BTreeMap::from([("key1".into(), "value1".into()), ("key2".into(), "value2".into())]),
            cost_center: None,
            department: None,
        };
        assert_eq!(create(&rows[0]), &expected);

        // `password2` has no uppercase letter and no special character: BR-PWD refuses it.
        let llane = rows[1].as_ref().unwrap_err();
        assert_eq!(llane.row, 3);
        assert_eq!(
            llane.reason,
            "PASSWORD does not meet the password requirements: it needs an uppercase letter, a special character"
        );

        assert_eq!(
            rows[2],
            Ok(UserImportRow { row: 4, email: "ckent@company.com".into(), operation: UserImportOperation::Delete })
        );
    }

    #[test]
    fn br_uimp_seed_example_with_a_valid_password_updates() {
        let rows = parse(&["llane@company.com,UPDATE,Password2!,Lois,Lane,Lois,llane,,"], false);
        let u = update(&rows[0]);
        assert_eq!(u.password.as_ref().map(ImportedPassword::expose), Some("Password2!"));
        assert_eq!(u.first_name, FieldChange::Set("Lois".into()));
        assert_eq!(u.short_name, FieldChange::Set("llane".into()));
        assert_eq!((u.groups.len(), &u.custom_attributes, &u.cost_center), (0, &None, &None));
    }

    #[test]
    fn d_import_columns_dutch_delete_example_with_eight_fields_parses() {
        // Seed L4372.
        let rows = parse(&["jjansen@bedrijf.nl,DELETE,,,,,,"], false);
        assert_eq!(
            rows,
            vec![Ok(UserImportRow {
                row: 2,
                email: "jjansen@bedrijf.nl".into(),
                operation: UserImportOperation::Delete
            })]
        );
    }

    #[test]
    fn d_import_columns_short_rows_are_padded() {
        let rows = parse(&["a@b.nl,CREATE,Geheim12!", "c@d.nl,UPDATE", "e@f.nl,DELETE"], false);
        assert_eq!(create(&rows[0]).first_name, None);
        assert_eq!(update(&rows[1]), &UserUpdate::default());
        assert!(rows[2].is_ok());
    }

    #[test]
    fn d_import_columns_long_rows_are_row_errors() {
        let rows = parse(&["a@b.nl,DELETE,,,,,,,,,,extra", "c@d.nl,DELETE,,,,,,,,,,"], false);
        assert_eq!(
            reason(&rows[0]),
            "the line has 12 values but the header has 11 columns; quote values that contain commas"
        );
        // Twelve values, even if the twelfth is empty, is still one too many.
        assert!(rows[1].is_err());
    }

    #[test]
    fn br_uimp_header_is_exact_and_case_sensitive() {
        assert!(parse_user_import(format!("{HEADER}\n").as_bytes(), false).unwrap().is_empty());

        let lower = HEADER.replace("EMAIL", "Email");
        let Err(ImportFileError::HeaderMismatch { differences }) = parse_user_import(lower.as_bytes(), false) else {
            panic!("a lower-case name is accepted");
        };
        assert_eq!(differences, vec!["column 1 is `Email`, expected `EMAIL` (names are case-sensitive)"]);

        let pdf = HEADER.replace("SHORTNAME", "SHORT NAME");
        let Err(ImportFileError::HeaderMismatch { differences }) = parse_user_import(pdf.as_bytes(), false) else {
            panic!("SHORT NAME accepted");
        };
        assert_eq!(differences, vec!["column 7 is `SHORT NAME`, expected `SHORTNAME`"]);

        let short = HEADER.trim_end_matches(",COST_CENTER,DEPARTMENT");
        let Err(ImportFileError::HeaderMismatch { differences }) = parse_user_import(short.as_bytes(), false) else {
            panic!("a short header is accepted");
        };
        assert_eq!(differences, vec!["column 10 `COST_CENTER` is missing", "column 11 `DEPARTMENT` is missing"]);

        let long = format!("{HEADER},ROLES");
        let err = parse_user_import(long.as_bytes(), false).unwrap_err();
        assert_eq!(
            err,
            ImportFileError::HeaderMismatch { differences: vec!["column 12 `ROLES` is not an import column".into()] }
        );
        assert!(err.to_string().starts_with("the header line must be exactly `EMAIL,OPERATION,"));

        let semicolons = HEADER.replace(',', ";");
        let Err(ImportFileError::HeaderMismatch { differences }) = parse_user_import(semicolons.as_bytes(), false)
        else {
            panic!("semicolons accepted");
        };
        assert_eq!(differences[0], "values must be separated by commas, not semicolons");

        assert_eq!(parse_user_import(b"", false), Err(ImportFileError::Empty));
    }

    #[test]
    fn br_uimp_file_over_one_megabyte_is_refused() {
        let mut text = format!("{HEADER}\n");
        while text.len() <= super::super::MAX_IMPORT_BYTES {
            text.push_str("someone@example.com,DELETE,,,,,,,,,\n");
        }
        assert_eq!(
            parse_user_import(text.as_bytes(), false),
            Err(ImportFileError::TooLarge { size: text.len(), max: super::super::MAX_IMPORT_BYTES })
        );
    }

    #[test]
    fn br_uimp_bom_crlf_and_trailing_blank_lines_are_accepted() {
        let text = format!("\u{feff}{HEADER}\r\njdoe@company.com,DELETE,,,,,,,,,\r\n\r\n,,,,,,,,,,\r\n\r\n");
        let rows = parse_user_import(text.as_bytes(), false).unwrap();
        assert_eq!(
            rows,
            vec![Ok(UserImportRow {
                row: 2,
                email: "jdoe@company.com".into(),
                operation: UserImportOperation::Delete
            })]
        );
    }

    #[test]
    fn br_uimp_email_is_required_lower_cased_and_must_look_like_an_address() {
        let rows = parse(&[" JJANSEN@Bedrijf.com ,DELETE", ",DELETE", "jjansen.bedrijf.nl,DELETE"], false);
        assert_eq!(rows[0].as_ref().unwrap().email, "jjansen@bedrijf.com");
        assert_eq!(reason(&rows[1]), "EMAIL is required");
        assert_eq!(reason(&rows[2]), "EMAIL `jjansen.bedrijf.nl` is not an e-mail address");
    }

    #[test]
    fn br_uimp_operation_must_be_create_update_or_delete() {
        let rows = parse(&["a@b.nl,delete", "a@b.nl,Remove", "a@b.nl,", "nope,MAKEN"], false);
        assert!(matches!(rows[0].as_ref().unwrap().operation, UserImportOperation::Delete));
        assert_eq!(reason(&rows[1]), "OPERATION `Remove` is not CREATE, UPDATE or DELETE");
        assert_eq!(reason(&rows[2]), "OPERATION is required: CREATE, UPDATE or DELETE");
        // Every problem of a line is reported at once.
        assert_eq!(
            reason(&rows[3]),
            "EMAIL `nope` is not an e-mail address; OPERATION `MAKEN` is not CREATE, UPDATE or DELETE"
        );
    }

    #[test]
    fn br_uimp_password_may_be_empty_only_with_the_link_option() {
        let line = "a@b.nl,CREATE,,Jan";
        assert_eq!(
            reason(&parse(&[line], false)[0]),
            "PASSWORD is required unless the import e-mails a link to change the password"
        );
        assert_eq!(create(&parse(&[line], true)[0]).password, None);
        // UPDATE with an empty PASSWORD keeps the current one, with or without the option.
        assert_eq!(update(&parse(&["a@b.nl,UPDATE,,Jan"], false)[0]).password, None);
        // DELETE ignores PASSWORD.
        assert!(parse(&["a@b.nl,DELETE,weak"], false)[0].is_ok());
    }

    #[test]
    fn br_pwd_applies_to_imported_passwords() {
        let rows = parse(&["a@b.nl,CREATE,kort", "a@b.nl,UPDATE,Geheim12!", "a@b.nl,CREATE,Geheim12!"], true);
        assert_eq!(
            reason(&rows[0]),
            "PASSWORD does not meet the password requirements: it needs at least 8 characters, an uppercase letter, \
             a digit, a special character"
        );
        assert_eq!(update(&rows[1]).password.as_ref().unwrap().expose(), "Geheim12!");
        assert_eq!(create(&rows[2]).password.as_ref().unwrap().expose(), "Geheim12!");
        assert_eq!(format!("{:?}", create(&rows[2]).password), "Some(ImportedPassword(***))");
    }

    #[test]
    fn br_uimp_delete_marker_clears_names_on_update_and_empty_keeps_them() {
        let rows =
            parse(&["a@b.nl,UPDATE,,[delete],,Jan A. Jansen, [DELETE] ", "a@b.nl,CREATE,,[delete],Jansen"], true);
        let u = update(&rows[0]);
        assert_eq!(
            [&u.first_name, &u.last_name, &u.display_name, &u.short_name],
            [&FieldChange::Clear, &FieldChange::Keep, &FieldChange::Set("Jan A. Jansen".into()), &FieldChange::Clear]
        );
        let c = create(&rows[1]);
        assert_eq!((&c.first_name, &c.last_name), (&None, &Some("Jansen".into())));
    }

    #[test]
    fn br_uimp_delete_marker_is_refused_outside_the_name_columns() {
        let rows = parse(
            &["a@b.nl,UPDATE,,,,,,,,[delete]", "a@b.nl,UPDATE,,,,,,\"G1,[delete]\"", "a@b.nl,CREATE,,,,,,,,,[delete]"],
            true,
        );
        assert_eq!(
            reason(&rows[0]),
            "COST_CENTER cannot be `[delete]`; it clears only FIRST_NAME, LAST_NAME, DISPLAY_NAME and SHORTNAME"
        );
        assert!(reason(&rows[1]).starts_with("GROUPS cannot be `[delete]`"));
        assert!(reason(&rows[2]).starts_with("DEPARTMENT cannot be `[delete]`"));
    }

    #[test]
    fn br_uimp_groups_are_split_cleaned_and_deduplicated() {
        let rows = parse(
            &["a@b.nl,CREATE,,,,,,\" Groep1, Groep2 ,,Groep1,R&D/Lab [2],a!b@c#d$e%f^g*h;i+j?k\\l, Groep2\""],
            true,
        );
        assert_eq!(create(&rows[0]).groups, vec!["Groep1", "Groep2", "R_D_Lab _2_", "a_b_c_d_e_f_g_h_i_j_k_l"]);
    }

    #[test]
    fn br_uimp_quoted_values_may_hold_commas() {
        // Seed L4376–L4380, with a password that meets BR-PWD.
        let rows = parse(
            &[
                "llamers@bedrijf.nl,UPDATE,\"Wacht,woord2\",Loes,Lamers,\"Loes,Lamers\",llamers,\"Groep1,Groep2\",",
                "\"x@y.nl\",CREATE,\"A,b\"\"c1!x\",\"Jansen, Jan\",,,,,,\"Kosten, plaats\",\"Afdeling \"\"Noord\"\"\"",
            ],
            true,
        );
        let u = update(&rows[0]);
        assert_eq!(u.password.as_ref().unwrap().expose(), "Wacht,woord2");
        assert_eq!(u.display_name, FieldChange::Set("Loes,Lamers".into()));
        assert_eq!(u.groups, vec!["Groep1", "Groep2"]);
        let c = create(&rows[1]);
        assert_eq!(c.password.as_ref().unwrap().expose(), "A,b\"c1!x");
        assert_eq!(c.first_name.as_deref(), Some("Jansen, Jan"));
        assert_eq!(c.cost_center.as_deref(), Some("Kosten, plaats"));
        assert_eq!(c.department.as_deref(), Some("Afdeling \"Noord\""));
    }

    #[test]
    fn br_uimp_custom_attributes_accept_json_and_the_single_quoted_form() {
        let rows = parse(
            &[
                "a@b.nl,CREATE,,,,,,,\"{\"\"site\"\": \"\"Utrecht\"\", \"\"floor\"\": 3}\"",
                "a@b.nl,UPDATE,,,,,,,\"{'a':'x'}\"",
                "a@b.nl,UPDATE,,,,,,,{'a':'x'}",
                "a@b.nl,CREATE,,,,,,,not json",
            ],
            true,
        );
        assert_eq!(
            create(&rows[0]).custom_attributes,
            BTreeMap::from([("floor".into(), "3".into()), ("site".into(), "Utrecht".into())])
        );
        assert_eq!(update(&rows[1]).custom_attributes, Some(BTreeMap::from([("a".into(), "x".into())])));
        // Unquoted, the single-quoted object has no comma, so it survives as one value.
        assert_eq!(update(&rows[2]).custom_attributes, Some(BTreeMap::from([("a".into(), "x".into())])));
        assert!(reason(&rows[3]).starts_with("CUSTOM_ATTRIBUTES "), "{}", reason(&rows[3]));
    }

    #[test]
    fn br_uimp_cost_center_and_department_are_trimmed_and_optional() {
        let rows = parse(&["a@b.nl,CREATE,,,,,,,, CC-100 , Finance ", "a@b.nl,UPDATE,,,,,,,,,Sales"], true);
        let c = create(&rows[0]);
        assert_eq!((c.cost_center.as_deref(), c.department.as_deref()), (Some("CC-100"), Some("Finance")));
        let u = update(&rows[1]);
        assert_eq!((u.cost_center.as_deref(), u.department.as_deref()), (None, Some("Sales")));
    }

    #[test]
    fn br_uimp_bad_rows_do_not_stop_good_rows() {
        let rows = parse(
            &[
                "good1@b.nl,CREATE,Geheim12!,Jan",
                "bad,CREATE,Geheim12!",
                "good2@b.nl,UPDATE,,,Jansen",
                "good3@b.nl,SHRED",
                "good4@b.nl,DELETE,,,,,,,,,,,,",
                "good5@b.nl,DELETE",
            ],
            false,
        );
        let good: Vec<(usize, &str)> =
            rows.iter().filter_map(|r| r.as_ref().ok()).map(|r| (r.row, r.email.as_str())).collect();
        assert_eq!(good, vec![(2, "good1@b.nl"), (4, "good2@b.nl"), (7, "good5@b.nl")]);
        let bad: Vec<usize> = rows.iter().filter_map(|r| r.as_ref().err()).map(|e| e.row).collect();
        assert_eq!(bad, vec![3, 5, 6]);
    }

    #[test]
    fn br_uimp_ten_thousand_rows_parse() {
        let mut text = format!("{HEADER}\r\n");
        for i in 0..10_000 {
            let line = match i % 3 {
                0 => format!(
                    "User{i}@Example.com,CREATE,Geheim{i}!,Jan,Jansen,\"Jansen, Jan\",jj{i},\"G1,G{}\",,CC,D\r\n",
                    i % 7
                ),
                1 => format!("user{i}@example.com,UPDATE,,[delete],,,,,\"{{'n':'{i}'}}\"\r\n"),
                _ => format!("user{i}@example.com,DELETE,,,,,,\r\n"),
            };
            text.push_str(&line);
        }
        assert!(text.len() <= super::super::MAX_IMPORT_BYTES, "{} bytes", text.len());
        let rows = parse_user_import(text.as_bytes(), false).unwrap();
        assert_eq!(rows.len(), 10_000);
        for (i, row) in rows.iter().enumerate() {
            let row = row.as_ref().unwrap_or_else(|e| panic!("{e}"));
            assert_eq!((row.row, &row.email), (i + 2, &format!("user{i}@example.com")));
        }
        assert_eq!(create(&rows[9999]).groups, vec!["G1".to_owned(), format!("G{}", 9999 % 7)]);
        assert_eq!(update(&rows[9997]).custom_attributes, Some(BTreeMap::from([("n".to_owned(), "9997".to_owned())])));
    }
}
