//! Organisational print settings (part-3 §2.25 "Afdruktaken", "Quota", "Beleid";
//! BR-OS-05…13, BR-OS-18/19): delegation and its mails, copies change before release,
//! print-and-keep, automatic release at login, keeping file names, oldest first, job
//! retention and the history period, print quotas, and print policies with the way they
//! are assigned. One versioned record per organisation, `ORG#<org>`/`SETTINGS#PRINT`.
//!
//! Decisions where the seed is silent: retention and history are 1–365 days or 1–8760
//! hours; until an administrator saves settings, jobs are kept 2 days and history 30 days,
//! and every switch is off. A change names only the fields it changes; the rest keep their
//! saved values.
//!
//! E-mail submission (BR-OS-14…17): the print address is `<local part>@<mail domain>`; a
//! claim item `UNIQUE#MAILBOX#<local part>` written in the same transaction as the
//! settings keeps each local part to one organisation across the deployment, and tells
//! `email-inbound` whose mail it is.

use crate::Ctx;
use crate::http::Problem;
use crate::identity::{printer_login, store};
use crate::ports::{Condition, Key, StoreError, Write};
use crate::records::to_item;
use axum::http::StatusCode;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// Longest retention or history period in days (one year).
pub const MAX_DAYS: u32 = 365;
/// Longest retention or history period in hours (one year).
pub const MAX_HOURS: u32 = 8760;

/// The unit of a retention or history period ("dagen of uren", BR-OS-12/13).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum PeriodUnit {
    /// Hours.
    Hours,
    /// Days.
    Days,
}

/// A period of N days or hours.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Period {
    /// How many units, at least 1.
    pub amount: u32,
    /// Days or hours.
    pub unit: PeriodUnit,
}

impl Period {
    /// `amount` days.
    pub const fn days(amount: u32) -> Self {
        Period { amount, unit: PeriodUnit::Days }
    }

    /// The period as a duration.
    pub fn duration(self) -> Duration {
        match self.unit {
            PeriodUnit::Hours => Duration::hours(self.amount.into()),
            PeriodUnit::Days => Duration::days(self.amount.into()),
        }
    }

    fn validate(self, field: &str) -> Result<(), Problem> {
        let max = match self.unit {
            PeriodUnit::Hours => MAX_HOURS,
            PeriodUnit::Days => MAX_DAYS,
        };
        if (1..=max).contains(&self.amount) {
            Ok(())
        } else {
            Err(invalid(&format!("{field}.amount"), format!("must be between 1 and {max} {:?}", self.unit)))
        }
    }
}

/// To whom print policies may be assigned (BR-OS-19).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum PolicyAssignmentMode {
    /// "Kostenplaats of persoonlijk": cost centres and users.
    #[default]
    CostCenterOrPersonal,
    /// "Afdeling of persoonlijk": departments and users.
    DepartmentOrPersonal,
    /// "Alleen persoonlijk": users only.
    PersonalOnly,
}

/// The organisation's print settings as stored and shown.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PrintSettings {
    /// Users may let delegates release their jobs (BR-OS-05, BR-DL-01).
    pub delegation: bool,
    /// Delegates are mailed when added, removed or expired (BR-OS-06, BR-DL-06).
    pub delegate_email_notifications: bool,
    /// Users may change the number of copies at the printer before release (BR-OS-07).
    pub change_copies_before_release: bool,
    /// Released jobs stay in the queue until retention removes them (BR-OS-08).
    pub print_and_keep: bool,
    /// Jobs are released as soon as the user signs in at a printer (BR-OS-09).
    pub automatic_release: bool,
    /// Job file names are kept for history and reports (BR-OS-10); otherwise dropped.
    pub keep_file_names: bool,
    /// Jobs are listed and released oldest first (BR-OS-11); otherwise newest first.
    pub oldest_first: bool,
    /// How long released and unreleased jobs are kept (BR-OS-12).
    pub job_retention: Period,
    /// How long print history is kept (BR-OS-13).
    pub history_period: Period,
    /// Print quotas are reserved and debited (BR-OS-18).
    pub print_quotas: bool,
    /// Print policies apply (BR-OS-19, BR-PP-01).
    pub print_policies: bool,
    /// To whom policies may be assigned (BR-OS-19).
    pub policy_assignment: PolicyAssignmentMode,
    /// To whom quotas may be assigned: users, and cost centres or departments (BR-QT-06;
    /// the organisation uses one of the two, D-QUOTA-PRECEDENCE).
    #[serde(default)]
    pub quota_assignment: PolicyAssignmentMode,
    /// Users may e-mail documents to the organisation's print address (BR-OS-14, R-SUB-2).
    #[serde(default)]
    pub email_submission: bool,
    /// The organisation-specific part of the print address before the `@`, unique across
    /// the deployment (BR-OS-14, R-SUB-3); kept while e-mail submission is off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_local_part: Option<String>,
    /// The whole print address, `<local part>@<deployment mail domain>`; answered, never
    /// stored (the domain is a deployment parameter).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_address: Option<String>,
    /// The body of a mail is printed as its own job too (BR-OS-15).
    #[serde(default)]
    pub email_body_printing: bool,
    /// People without an account may e-mail documents and release them with a PIN
    /// (BR-OS-16, R-GUEST-1/2).
    #[serde(default)]
    pub guest_submission: bool,
    /// Most pages of one guest job; a longer one is not processed at all (R-GUEST-5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guest_page_limit: Option<u32>,
    /// The cost centre or department guests count against, for quotas and reporting
    /// (BR-OS-17, R-GUEST-10); none when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guest_charged_to: Option<GuestCharge>,
    /// Optimistic-concurrency version; 0 until the settings are first saved.
    pub version: i64,
    /// When they were last saved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<DateTime<Utc>>,
}

impl Default for PrintSettings {
    /// Every switch off; jobs kept 2 days, history 30 days.
    fn default() -> Self {
        PrintSettings {
            delegation: false,
            delegate_email_notifications: false,
            change_copies_before_release: false,
            print_and_keep: false,
            automatic_release: false,
            keep_file_names: false,
            oldest_first: false,
            job_retention: Period::days(2),
            history_period: Period::days(30),
            print_quotas: false,
            print_policies: false,
            policy_assignment: PolicyAssignmentMode::default(),
            quota_assignment: PolicyAssignmentMode::default(),
            email_submission: false,
            email_local_part: None,
            email_address: None,
            email_body_printing: false,
            guest_submission: false,
            guest_page_limit: None,
            guest_charged_to: None,
            version: 0,
            updated_at: None,
        }
    }
}

/// A change of the settings: only the fields given change.
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PrintSettingsUpdate {
    /// See [`PrintSettings::delegation`].
    pub delegation: Option<bool>,
    /// See [`PrintSettings::delegate_email_notifications`].
    pub delegate_email_notifications: Option<bool>,
    /// See [`PrintSettings::change_copies_before_release`].
    pub change_copies_before_release: Option<bool>,
    /// See [`PrintSettings::print_and_keep`].
    pub print_and_keep: Option<bool>,
    /// See [`PrintSettings::automatic_release`].
    pub automatic_release: Option<bool>,
    /// See [`PrintSettings::keep_file_names`].
    pub keep_file_names: Option<bool>,
    /// See [`PrintSettings::oldest_first`].
    pub oldest_first: Option<bool>,
    /// 1–365 days or 1–8760 hours.
    pub job_retention: Option<Period>,
    /// 1–365 days or 1–8760 hours.
    pub history_period: Option<Period>,
    /// See [`PrintSettings::print_quotas`].
    pub print_quotas: Option<bool>,
    /// See [`PrintSettings::print_policies`].
    pub print_policies: Option<bool>,
    /// See [`PrintSettings::policy_assignment`].
    pub policy_assignment: Option<PolicyAssignmentMode>,
    /// See [`PrintSettings::quota_assignment`].
    pub quota_assignment: Option<PolicyAssignmentMode>,
    /// See [`PrintSettings::email_submission`]; switching it off switches body and guest
    /// printing off too (ER-OS-03).
    pub email_submission: Option<bool>,
    /// 1–64 characters: letters, digits, `.`, `-`, `_` (stored lower-case).
    pub email_local_part: Option<String>,
    /// See [`PrintSettings::email_body_printing`]; needs e-mail submission (ER-OS-03).
    pub email_body_printing: Option<bool>,
    /// See [`PrintSettings::guest_submission`]; needs e-mail submission (ER-OS-03,
    /// R-GUEST-1) and PIN sign-in at printers (R-GUEST-2).
    pub guest_submission: Option<bool>,
    /// 1–10,000 pages, or `null` for no limit.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<u32>)]
    pub guest_page_limit: Option<Option<u32>>,
    /// The cost centre or department, or `null` to charge guests to nobody.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<GuestCharge>)]
    pub guest_charged_to: Option<Option<GuestCharge>>,
    /// The version this change is based on; a different stored version answers 409.
    pub version: Option<i64>,
}

/// Whom guests' printing is charged to (BR-OS-17): a cost centre or a department, as the
/// organisation's users carry it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GuestCharge {
    /// `costCenter` or `department`.
    pub kind: GuestChargeKind,
    /// Its name, 1–255 characters.
    pub name: String,
}

/// The kind of group guests are charged to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum GuestChargeKind {
    /// "Kostenplaats".
    CostCenter,
    /// "Afdeling".
    Department,
}

/// Most pages a guest page limit may be set to.
pub const MAX_GUEST_PAGE_LIMIT: u32 = 10_000;
/// Longest local part of a print address (RFC 5321).
pub const MAX_LOCAL_PART: usize = 64;

/// Reads a field that may be left out (`None`), `null` (`Some(None)`) or a value.
fn nullable<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

fn invalid(field: &str, why: impl std::fmt::Display) -> Problem {
    Problem::new(StatusCode::BAD_REQUEST, "invalid_field", format!("{field}: {why}"))
}

/// The local part lower-cased, or 400 naming the field: 1–64 letters, digits, `.`, `-`,
/// `_`, not starting or ending with `.` and without `..`.
pub fn normal_local_part(text: &str) -> Result<String, Problem> {
    let local = text.trim().to_lowercase();
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_');
    let well_formed = (1..=MAX_LOCAL_PART).contains(&local.len())
        && local.chars().all(allowed)
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..");
    if well_formed {
        Ok(local)
    } else {
        Err(invalid("emailLocalPart", "1 to 64 letters, digits, '.', '-' or '_', not starting or ending with '.'"))
    }
}

/// 422 `requires_email_submission` (ER-OS-03).
fn requires_email_submission(field: &str) -> Problem {
    Problem::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "requires_email_submission",
        format!("{field}: needs e-mail submission (emailSubmission) switched on (ER-OS-03)."),
    )
}

/// Applies the e-mail submission fields of `update` (BR-OS-14…17, ER-OS-03).
fn apply_email(next: &mut PrintSettings, update: &PrintSettingsUpdate) -> Result<(), Problem> {
    if let Some(local) = &update.email_local_part {
        next.email_local_part = Some(normal_local_part(local)?);
    }
    if let Some(on) = update.email_submission {
        next.email_submission = on;
        if !on {
            next.email_body_printing = false;
            next.guest_submission = false;
        }
    }
    if next.email_submission && next.email_local_part.is_none() {
        return Err(invalid("emailLocalPart", "required to switch e-mail submission on"));
    }
    for (setting, change, field) in [
        (&mut next.email_body_printing, update.email_body_printing, "emailBodyPrinting"),
        (&mut next.guest_submission, update.guest_submission, "guestSubmission"),
    ] {
        if let Some(on) = change {
            if on && !next.email_submission {
                return Err(requires_email_submission(field));
            }
            *setting = on;
        }
    }
    if let Some(limit) = update.guest_page_limit {
        if limit.is_some_and(|pages| !(1..=MAX_GUEST_PAGE_LIMIT).contains(&pages)) {
            return Err(invalid("guestPageLimit", format!("between 1 and {MAX_GUEST_PAGE_LIMIT} pages, or null")));
        }
        next.guest_page_limit = limit;
    }
    if let Some(charge) = &update.guest_charged_to {
        let charge = charge.clone().map(|c| GuestCharge { name: c.name.trim().to_string(), ..c });
        if charge.as_ref().is_some_and(|c| c.name.is_empty() || c.name.chars().count() > 255) {
            return Err(invalid("guestChargedTo.name", "1 to 255 characters"));
        }
        next.guest_charged_to = charge;
    }
    Ok(())
}

/// `current` with `update` applied, or 400 `invalid_field` naming the field.
pub fn apply(current: &PrintSettings, update: &PrintSettingsUpdate) -> Result<PrintSettings, Problem> {
    let mut next = current.clone();
    let switches = [
        (&mut next.delegation, update.delegation),
        (&mut next.delegate_email_notifications, update.delegate_email_notifications),
        (&mut next.change_copies_before_release, update.change_copies_before_release),
        (&mut next.print_and_keep, update.print_and_keep),
        (&mut next.automatic_release, update.automatic_release),
        (&mut next.keep_file_names, update.keep_file_names),
        (&mut next.oldest_first, update.oldest_first),
        (&mut next.print_quotas, update.print_quotas),
        (&mut next.print_policies, update.print_policies),
    ];
    for (setting, change) in switches {
        if let Some(value) = change {
            *setting = value;
        }
    }
    if let Some(retention) = update.job_retention {
        retention.validate("jobRetention")?;
        next.job_retention = retention;
    }
    if let Some(history) = update.history_period {
        history.validate("historyPeriod")?;
        next.history_period = history;
    }
    if let Some(mode) = update.policy_assignment {
        next.policy_assignment = mode;
    }
    if let Some(mode) = update.quota_assignment {
        next.quota_assignment = mode;
    }
    apply_email(&mut next, update)?;
    Ok(next)
}

fn settings_key(org_id: &str) -> Key {
    Key::new(store::org_partition(org_id), "SETTINGS#PRINT")
}

/// The claim that reserves a print address's local part for one organisation.
pub fn mailbox_claim(local_part: &str) -> Key {
    Key::new(format!("UNIQUE#MAILBOX#{local_part}"), "UNIQUE")
}

/// The organisation whose print address has `local_part`, if any.
pub async fn mailbox_owner(ctx: &Ctx, local_part: &str) -> Result<Option<String>, Problem> {
    let claim = ctx.table.get(&mailbox_claim(&local_part.to_lowercase())).await?;
    Ok(claim.and_then(|item| item.get("orgId").and_then(serde_json::Value::as_str).map(str::to_string)))
}

/// The organisation's print settings, or the defaults when none were saved.
pub async fn get(ctx: &Ctx, org_id: &str) -> Result<PrintSettings, Problem> {
    let mut settings: PrintSettings =
        crate::records::get(&*ctx.table, &settings_key(org_id)).await?.unwrap_or_default();
    settings.email_address =
        settings.email_local_part.as_ref().map(|local| format!("{local}@{}", ctx.config.mail_domain));
    Ok(settings)
}

fn conflict(detail: String) -> Problem {
    Problem::new(StatusCode::CONFLICT, "conflict", detail)
}

/// 409 `pin_login_required` (R-GUEST-2): guests sign in at printers with their PIN alone.
fn pin_login_required() -> Problem {
    Problem::new(
        StatusCode::CONFLICT,
        "pin_login_required",
        "guestSubmission: guests release their jobs with a PIN, so printers must accept PIN sign-in \
         first (printer login configuration, R-GUEST-2).",
    )
}

/// The writes moving the print address claim from `before` to `after` (none when unchanged).
fn mailbox_writes(org_id: &str, before: Option<&str>, after: Option<&str>) -> Result<Vec<Write>, Problem> {
    if before == after {
        return Ok(Vec::new());
    }
    let mut writes = Vec::new();
    if let Some(local) = after {
        let item = to_item(&serde_json::json!({"orgId": org_id}), &mailbox_claim(local), &[])?;
        writes.push(Write::Put { item, condition: Condition::Absent });
    }
    if let Some(local) = before {
        writes.push(Write::Delete { key: mailbox_claim(local), condition: Condition::Always });
    }
    Ok(writes)
}

/// Saves the settings changed by `update` (a new version), refusing the change when
/// someone saved meanwhile or the print address belongs to another organisation.
pub async fn put(ctx: &Ctx, org_id: &str, update: PrintSettingsUpdate) -> Result<PrintSettings, Problem> {
    let current = get(ctx, org_id).await?;
    if update.version.is_some_and(|v| v != current.version) {
        return Err(conflict(format!(
            "The print settings are at version {}; reload them and try again.",
            current.version
        )));
    }
    let mut next = apply(&current, &update)?;
    if next.guest_submission && !current.guest_submission && !printer_login::get(ctx, org_id).await?.pin_login() {
        return Err(pin_login_required());
    }
    next.version = current.version + 1;
    next.updated_at = Some(ctx.clock.now());
    next.email_address = None;
    let condition = if current.version == 0 { Condition::Absent } else { Condition::VersionEquals(current.version) };
    let mut writes = vec![Write::Put { item: to_item(&next, &settings_key(org_id), &[])?, condition }];
    let claims = mailbox_writes(org_id, current.email_local_part.as_deref(), next.email_local_part.as_deref())?;
    let claims_new_address = claims.iter().any(|w| matches!(w, Write::Put { .. }));
    writes.extend(claims);
    ctx.table.transact(writes).await.map_err(|err| match err {
        StoreError::TransactionCanceled { failed } if claims_new_address && failed.contains(&1) => Problem::new(
            StatusCode::CONFLICT,
            "email_address_taken",
            "emailLocalPart: another organisation uses this print address; choose another.",
        ),
        StoreError::TransactionCanceled { .. } => {
            conflict("The print settings were saved meanwhile; try again.".into())
        }
        other => other.into(),
    })?;
    next.email_address = next.email_local_part.as_ref().map(|local| format!("{local}@{}", ctx.config.mail_domain));
    Ok(next)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn update(value: serde_json::Value) -> PrintSettingsUpdate {
        serde_json::from_value(value).expect("a well-formed update")
    }

    #[test]
    fn br_os_12_13_defaults_keep_jobs_two_days_and_history_thirty() {
        let settings = PrintSettings::default();
        assert_eq!(settings.job_retention.duration(), Duration::days(2));
        assert_eq!(settings.history_period.duration(), Duration::days(30));
        assert!(!settings.delegation && !settings.print_and_keep && !settings.print_policies);
    }

    #[test]
    fn br_os_12_retention_in_hours_or_days_within_a_year() {
        let hours = apply(&PrintSettings::default(), &update(json!({"jobRetention": {"amount": 12, "unit": "hours"}})));
        assert_eq!(hours.unwrap().job_retention.duration(), Duration::hours(12));
        for bad in [json!({"amount": 0, "unit": "days"}), json!({"amount": 366, "unit": "days"})] {
            let err = apply(&PrintSettings::default(), &update(json!({"jobRetention": bad}))).unwrap_err();
            assert!(err.detail.starts_with("jobRetention.amount:"), "{}", err.detail);
        }
        let err =
            apply(&PrintSettings::default(), &update(json!({"historyPeriod": {"amount": 8761, "unit": "hours"}})));
        assert!(err.unwrap_err().detail.starts_with("historyPeriod.amount:"));
    }

    #[test]
    fn br_os_05_to_11_a_change_keeps_what_it_does_not_name() {
        let first = apply(&PrintSettings::default(), &update(json!({"delegation": true, "printAndKeep": true})));
        let second = apply(&first.unwrap(), &update(json!({"oldestFirst": true}))).unwrap();
        assert!(second.delegation && second.print_and_keep && second.oldest_first);
        assert!(!second.automatic_release);
    }

    #[test]
    fn unknown_fields_are_refused() {
        let parsed: Result<PrintSettingsUpdate, _> = serde_json::from_value(json!({"delegations": true}));
        assert!(parsed.is_err());
    }
}
