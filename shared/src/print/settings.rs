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

use crate::Ctx;
use crate::http::Problem;
use crate::identity::store;
use crate::ports::{Condition, Key};
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
    /// The version this change is based on; a different stored version answers 409.
    pub version: Option<i64>,
}

fn invalid(field: &str, why: impl std::fmt::Display) -> Problem {
    Problem::new(StatusCode::BAD_REQUEST, "invalid_field", format!("{field}: {why}"))
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
    Ok(next)
}

fn settings_key(org_id: &str) -> Key {
    Key::new(store::org_partition(org_id), "SETTINGS#PRINT")
}

/// The organisation's print settings, or the defaults when none were saved.
pub async fn get(ctx: &Ctx, org_id: &str) -> Result<PrintSettings, Problem> {
    Ok(crate::records::get(&*ctx.table, &settings_key(org_id)).await?.unwrap_or_default())
}

/// Saves the settings changed by `update` (a new version), refusing the change when
/// someone saved meanwhile.
pub async fn put(ctx: &Ctx, org_id: &str, update: PrintSettingsUpdate) -> Result<PrintSettings, Problem> {
    let current = get(ctx, org_id).await?;
    if update.version.is_some_and(|v| v != current.version) {
        return Err(Problem::new(
            StatusCode::CONFLICT,
            "conflict",
            format!("The print settings are at version {}; reload them and try again.", current.version),
        ));
    }
    let mut next = apply(&current, &update)?;
    next.version = current.version + 1;
    next.updated_at = Some(ctx.clock.now());
    let condition = if current.version == 0 { Condition::Absent } else { Condition::VersionEquals(current.version) };
    ctx.table.put(to_item(&next, &settings_key(org_id), &[])?, condition).await.map_err(|err| match err {
        crate::ports::StoreError::ConditionFailed => {
            Problem::new(StatusCode::CONFLICT, "conflict", "The print settings were saved meanwhile; try again.")
        }
        other => other.into(),
    })?;
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
