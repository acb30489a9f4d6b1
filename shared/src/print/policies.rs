//! Print policies (part-3 §2.29–2.30, BR-PP-01…12, D-POLICY-EVAL): rules an organisation
//! forces on print jobs — mono, duplex, and the days and times printing is allowed — the
//! organisation's default policy, named policies, and their assignment to cost centres,
//! departments and users; plus the evaluation ingest and release call.
//!
//! Layout (all in the organisation's partition `ORG#<org>`):
//! - policy `PRINTPOLICY#<id>`; the default policy is `PRINTPOLICY#default`, which exists
//!   implicitly (nothing forced, version 0) until it is first saved. Named policies carry an
//!   `assignments` counter, changed in the same transaction as each assignment, so a policy
//!   still assigned cannot be deleted;
//! - name claim `PRINTPOLICYNAME#<lower-cased name>` → `{policyId}` (BR-PP-09);
//! - assignment `PRINTPOLICYASSIGN#<kind>#<key>` and its twin `PRINTPOLICYUSE#<policyId>#<kind>#<key>`
//!   (to list a policy's assignments, BR-PP-12), written together. A cost centre's or
//!   department's key is its lower-cased name (names match regardless of case); a personal
//!   assignment's key is the user id.
//!
//! Decisions where the seed is silent:
//! - the default policy is called "Default"; it keeps that name, cannot be deleted, and no
//!   named policy may take it;
//! - a policy that is still assigned is not deleted (409 `policy_in_use` with the count):
//!   removing assignments silently would change what users may print;
//! - at most [`MAX_POLICIES`] named policies per organisation, so the list is one page;
//! - assignments of a kind the current assignment mode does not offer stay stored but are
//!   ignored by [`effective_policy`], and come back into force when the mode does again;
//! - page thresholds are 1 to [`MAX_MIN_PAGES`]; duplex is decided after mono is forced, on
//!   the job as it will print;
//! - a window's end is exclusive; times that do not exist on a day clocks go forward start
//!   or end when the clocks have gone forward, and times that happen twice when clocks go
//!   back open the window at their first and close it at their last occurrence.

use crate::Ctx;
use crate::http::Problem;
use crate::identity::model::User;
use crate::identity::store;
use crate::ports::{Condition, Key, Query, StoreError, Update, Write};
use crate::print::options::{ColourMode, Duplex, EffectiveOptions};
use crate::print::settings::{self, PolicyAssignmentMode, PrintSettings};
use crate::records::{from_item, to_item};
use axum::http::StatusCode;
use chrono::offset::LocalResult;
use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, SecondsFormat, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The id of the organisation's default policy.
pub const DEFAULT_POLICY_ID: &str = "default";
/// The name of the organisation's default policy.
pub const DEFAULT_POLICY_NAME: &str = "Default";
/// Most named policies of one organisation.
pub const MAX_POLICIES: u64 = 200;
/// Largest page threshold.
pub const MAX_MIN_PAGES: u32 = 100_000;
/// Longest policy name, cost-centre or department name.
pub const MAX_NAME: usize = 128;
const MINUTES_PER_DAY: u32 = 24 * 60;

// ---------------------------------------------------------------------------------------
// The rules
// ---------------------------------------------------------------------------------------

/// "Kleurenafdruktaken geforceerd instellen op zwart-wit" (BR-PP-02).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ForceMono {
    /// Only jobs of at least this many document pages; all colour jobs when absent.
    #[serde(default)]
    pub min_pages: Option<u32>,
}

/// The binding of forced duplex.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum DuplexBinding {
    /// "Inbinden aan lange zijde".
    LongEdge,
    /// "Inbinden aan korte zijde".
    ShortEdge,
}

impl DuplexBinding {
    /// The print option this binding prints with.
    pub fn duplex(self) -> Duplex {
        match self {
            DuplexBinding::LongEdge => Duplex::LongEdge,
            DuplexBinding::ShortEdge => Duplex::ShortEdge,
        }
    }
}

/// Which jobs forced duplex applies to (BR-PP-03); absent thresholds mean every such job.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "camelCase", deny_unknown_fields)]
pub enum DuplexScope {
    /// "Alle afdruktaken": mono and colour jobs, each with its own threshold.
    AllJobs {
        /// Mono jobs of at least this many pages.
        #[serde(rename = "monoMinPages", default)]
        mono_min_pages: Option<u32>,
        /// Colour jobs of at least this many pages.
        #[serde(rename = "colourMinPages", default)]
        colour_min_pages: Option<u32>,
    },
    /// "Zwart-witafdruktaken": mono jobs only.
    MonoJobs {
        /// Of at least this many pages.
        #[serde(rename = "minPages", default)]
        min_pages: Option<u32>,
    },
    /// "Kleurenafdruktaken": colour jobs only.
    ColourJobs {
        /// Of at least this many pages.
        #[serde(rename = "minPages", default)]
        min_pages: Option<u32>,
    },
}

impl DuplexScope {
    /// Whether a job printing in `mono` (or colour) with `pages` document pages is in scope.
    pub fn covers(self, mono: bool, pages: u32) -> bool {
        match self {
            DuplexScope::AllJobs { mono_min_pages, colour_min_pages } => {
                reaches(pages, if mono { mono_min_pages } else { colour_min_pages })
            }
            DuplexScope::MonoJobs { min_pages } => mono && reaches(pages, min_pages),
            DuplexScope::ColourJobs { min_pages } => !mono && reaches(pages, min_pages),
        }
    }

    fn thresholds(self) -> Vec<(&'static str, Option<u32>)> {
        match self {
            DuplexScope::AllJobs { mono_min_pages, colour_min_pages } => {
                vec![("monoMinPages", mono_min_pages), ("colourMinPages", colour_min_pages)]
            }
            DuplexScope::MonoJobs { min_pages } | DuplexScope::ColourJobs { min_pages } => {
                vec![("minPages", min_pages)]
            }
        }
    }
}

/// "Afdruktaken geforceerd instellen op dubbelzijdig afdrukken" (BR-PP-03).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ForceDuplex {
    /// Long or short edge.
    pub binding: DuplexBinding,
    /// Which jobs.
    pub scope: DuplexScope,
}

/// A day of the week.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum DayOfWeek {
    /// Monday.
    Monday,
    /// Tuesday.
    Tuesday,
    /// Wednesday.
    Wednesday,
    /// Thursday.
    Thursday,
    /// Friday.
    Friday,
    /// Saturday.
    Saturday,
    /// Sunday.
    Sunday,
}

impl DayOfWeek {
    /// The chrono weekday.
    pub fn weekday(self) -> Weekday {
        match self {
            DayOfWeek::Monday => Weekday::Mon,
            DayOfWeek::Tuesday => Weekday::Tue,
            DayOfWeek::Wednesday => Weekday::Wed,
            DayOfWeek::Thursday => Weekday::Thu,
            DayOfWeek::Friday => Weekday::Fri,
            DayOfWeek::Saturday => Weekday::Sat,
            DayOfWeek::Sunday => Weekday::Sun,
        }
    }
}

/// The hours of one day of a custom window.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DayHours {
    /// The day the window opens.
    pub day: DayOfWeek,
    /// `HH:MM`, 00:00–23:59.
    pub start: String,
    /// `HH:MM` after `start`, up to 47:59; after 23:59 the window ends the next day (BR-PP-05).
    pub end: String,
}

/// "Beperk afdrukken tot specifieke dagen en tijden" (BR-PP-04): when printing is allowed,
/// in the local time at the printer (BR-PP-06). Times are `HH:MM`; an end after 23:59
/// (up to 47:59) ends the next day (BR-PP-05).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "camelCase", deny_unknown_fields)]
pub enum PrintWindow {
    /// "Elke dag": every day from `start` to `end`.
    EveryDay {
        /// Opens, 00:00–23:59.
        start: String,
        /// Closes, after `start`, up to 47:59.
        end: String,
    },
    /// "Maandag - vrijdag": Monday to Friday from `start` to `end`.
    Weekdays {
        /// Opens, 00:00–23:59.
        start: String,
        /// Closes, after `start`, up to 47:59.
        end: String,
    },
    /// "Aangepast": hours per selected day.
    Custom {
        /// One entry per selected day.
        days: Vec<DayHours>,
    },
}

impl PrintWindow {
    /// The window opening on `day`, as minutes after that day's midnight.
    fn range_on(&self, day: Weekday) -> Option<(u32, u32)> {
        let (start, end) = match self {
            PrintWindow::EveryDay { start, end } => (start, end),
            PrintWindow::Weekdays { start, end } if day.num_days_from_monday() < 5 => (start, end),
            PrintWindow::Weekdays { .. } => return None,
            PrintWindow::Custom { days } => {
                let hours = days.iter().find(|d| d.day.weekday() == day)?;
                (&hours.start, &hours.end)
            }
        };
        Some((clock_minutes(start)?, clock_minutes(end)?))
    }

    fn validate(&self) -> Result<(), Problem> {
        match self {
            PrintWindow::EveryDay { start, end } | PrintWindow::Weekdays { start, end } => {
                validate_hours("printWindow", start, end)
            }
            PrintWindow::Custom { days } => {
                if days.is_empty() {
                    return Err(invalid("printWindow.days", "choose at least one day"));
                }
                for (i, hours) in days.iter().enumerate() {
                    let field = format!("printWindow.days[{i}]");
                    if days[..i].iter().any(|earlier| earlier.day == hours.day) {
                        return Err(invalid(&format!("{field}.day"), "each day at most once"));
                    }
                    validate_hours(&field, &hours.start, &hours.end)?;
                }
                Ok(())
            }
        }
    }
}

/// A print policy (§2.29): what it forces, and when printing is allowed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PrintPolicy {
    /// Identifier; `default` for the organisation's default policy.
    pub id: String,
    /// Name, unique in the organisation regardless of case (BR-PP-09).
    pub name: String,
    /// Colour jobs print mono; null when not forced.
    pub force_mono: Option<ForceMono>,
    /// Simplex jobs print two-sided; null when not forced.
    pub force_duplex: Option<ForceDuplex>,
    /// Printing only within these days and times; null when always.
    pub print_window: Option<PrintWindow>,
    /// Optimistic-concurrency version; 0 for the default policy until it is first saved.
    pub version: i64,
    /// When it was created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<DateTime<Utc>>,
    /// When it was last saved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<DateTime<Utc>>,
}

impl PrintPolicy {
    /// The default policy of an organisation that never saved one: nothing forced.
    pub fn org_default() -> Self {
        PrintPolicy {
            id: DEFAULT_POLICY_ID.into(),
            name: DEFAULT_POLICY_NAME.into(),
            force_mono: None,
            force_duplex: None,
            print_window: None,
            version: 0,
            created_at: None,
            updated_at: None,
        }
    }

    /// Whether this is the organisation's default policy.
    pub fn is_default(&self) -> bool {
        self.id == DEFAULT_POLICY_ID
    }
}

/// A policy as an administrator creates or replaces it: the rules given replace all rules
/// (a rule left out is no longer forced).
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PolicyInput {
    /// Name: required to create; left out, a change keeps it. The default policy keeps its own.
    #[serde(default)]
    pub name: Option<String>,
    /// Force mono (BR-PP-02).
    #[serde(default)]
    pub force_mono: Option<ForceMono>,
    /// Force duplex (BR-PP-03).
    #[serde(default)]
    pub force_duplex: Option<ForceDuplex>,
    /// Restrict printing to days and times (BR-PP-04…06).
    #[serde(default)]
    pub print_window: Option<PrintWindow>,
    /// The version a change is based on; a different stored version answers 409.
    #[serde(default)]
    pub version: Option<i64>,
}

/// The name of a policy's copy (BR-PP-09).
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DuplicatePolicy {
    /// A name no policy of the organisation has, regardless of case.
    pub name: String,
}

/// Why ingest changed a job's options, kept with the job so its owner sees why.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum PolicyChange {
    /// The colour job prints mono (BR-PP-02).
    ForcedMono,
    /// The one-sided job prints two-sided with this binding (BR-PP-03).
    ForcedDuplex(DuplexBinding),
}

// ---------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------

fn invalid(field: &str, why: impl std::fmt::Display) -> Problem {
    Problem::new(StatusCode::BAD_REQUEST, "invalid_field", format!("{field}: {why}"))
}

/// Minutes after midnight of an `HH:MM` time (hours may pass 23).
fn clock_minutes(text: &str) -> Option<u32> {
    let (hours, minutes) = text.split_once(':')?;
    let digits = |part: &str| part.len() == 2 && part.bytes().all(|b| b.is_ascii_digit());
    if !digits(hours) || !digits(minutes) {
        return None;
    }
    let (hours, minutes) = (hours.parse::<u32>().ok()?, minutes.parse::<u32>().ok()?);
    (minutes < 60).then_some(hours * 60 + minutes)
}

fn validate_hours(field: &str, start: &str, end: &str) -> Result<(), Problem> {
    let start = clock_minutes(start)
        .filter(|m| *m < MINUTES_PER_DAY)
        .ok_or_else(|| invalid(&format!("{field}.start"), "a time HH:MM from 00:00 to 23:59"))?;
    let end = clock_minutes(end).filter(|m| *m < 2 * MINUTES_PER_DAY).ok_or_else(|| {
        invalid(&format!("{field}.end"), "a time HH:MM up to 47:59; after 23:59 it ends the next day (BR-PP-05)")
    })?;
    if end <= start {
        return Err(invalid(&format!("{field}.end"), "must be after start"));
    }
    Ok(())
}

fn validate_threshold(field: &str, min_pages: Option<u32>) -> Result<(), Problem> {
    match min_pages {
        Some(n) if !(1..=MAX_MIN_PAGES).contains(&n) => {
            Err(invalid(field, format!("must be between 1 and {MAX_MIN_PAGES}")))
        }
        _ => Ok(()),
    }
}

/// Checks the rules of `input`; 400 `invalid_field` names the first wrong one.
pub fn validate_rules(input: &PolicyInput) -> Result<(), Problem> {
    if let Some(mono) = input.force_mono {
        validate_threshold("forceMono.minPages", mono.min_pages)?;
    }
    if let Some(duplex) = input.force_duplex {
        for (name, min_pages) in duplex.scope.thresholds() {
            validate_threshold(&format!("forceDuplex.scope.{name}"), min_pages)?;
        }
    }
    if let Some(window) = &input.print_window {
        window.validate()?;
    }
    Ok(())
}

/// The trimmed name, or 400 `invalid_field`; the default policy's name is taken (409).
pub fn check_name(name: &str) -> Result<String, Problem> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME || name.chars().any(char::is_control) {
        return Err(invalid("name", format!("1 to {MAX_NAME} characters, no control characters")));
    }
    if name.eq_ignore_ascii_case(DEFAULT_POLICY_NAME) {
        return Err(name_taken());
    }
    Ok(name.to_string())
}

// ---------------------------------------------------------------------------------------
// Evaluation (D-POLICY-EVAL)
// ---------------------------------------------------------------------------------------

fn reaches(pages: u32, min_pages: Option<u32>) -> bool {
    min_pages.is_none_or(|min| pages >= min)
}

/// Applies the policy's forced mono and duplex to a job of `pages` document pages at
/// ingest, and answers what changed. Thresholds count document pages, never copies
/// (BR-PP-07). A job is colour unless its options say mono, and one-sided unless they say
/// two-sided (BR-PP-08); duplex is decided on the job as it will print, after mono.
pub fn apply_at_ingest(policy: &PrintPolicy, pages: u32, options: &mut EffectiveOptions) -> Vec<PolicyChange> {
    let mut changes = Vec::new();
    if let Some(mono) = policy.force_mono
        && options.colour_mode != ColourMode::Mono
        && reaches(pages, mono.min_pages)
    {
        options.colour_mode = ColourMode::Mono;
        changes.push(PolicyChange::ForcedMono);
    }
    if let Some(duplex) = policy.force_duplex
        && !options.duplex.two_sided()
        && duplex.scope.covers(options.colour_mode == ColourMode::Mono, pages)
    {
        options.duplex = duplex.binding.duplex();
        changes.push(PolicyChange::ForcedDuplex(duplex.binding));
    }
    changes
}

/// The instant of `minutes` after midnight of `date` in `zone`. A time that happens twice
/// answers its first (`first`) or last occurrence; a time clocks skip answers the moment
/// they went forward.
fn local_instant(zone: Tz, date: NaiveDate, minutes: u32, first: bool) -> DateTime<Utc> {
    let naive: NaiveDateTime = date.and_time(chrono::NaiveTime::MIN) + Duration::minutes(minutes.into());
    for skipped in 0..=i64::from(2 * MINUTES_PER_DAY) {
        match zone.from_local_datetime(&(naive + Duration::minutes(skipped))) {
            LocalResult::Single(at) => return at.with_timezone(&Utc),
            LocalResult::Ambiguous(early, late) => return if first { early } else { late }.with_timezone(&Utc),
            LocalResult::None => {}
        }
    }
    naive.and_utc()
}

/// The windows (UTC, end exclusive) opening on the local days around `at`: from two days
/// before (an end may reach into the second day) to eight days after (a weekly window).
fn windows_around(window: &PrintWindow, at: DateTime<Utc>, zone: Tz) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    let today = at.with_timezone(&zone).date_naive();
    (-2..=8)
        .filter_map(|offset| {
            let date = today + Duration::days(offset);
            let (start, end) = window.range_on(date.weekday())?;
            let opens = local_instant(zone, date, start, true);
            let closes = local_instant(zone, date, end, false);
            (opens < closes).then_some((opens, closes))
        })
        .collect()
}

/// Whether the policy lets a job print at `at`, judged in the printer's local time `zone`
/// (BR-PP-06): `Ok` inside the window (or without one), else `Err` with the next moment
/// printing is allowed. Windows ending after 23:59 run into the next day (BR-PP-05).
pub fn window_check(policy: &PrintPolicy, at: DateTime<Utc>, zone: Tz) -> Result<(), DateTime<Utc>> {
    let Some(window) = &policy.print_window else { return Ok(()) };
    let windows = windows_around(window, at, zone);
    if windows.iter().any(|(opens, closes)| *opens <= at && at < *closes) {
        return Ok(());
    }
    // A validated window opens at least once a week; without one printing is not restricted.
    windows.iter().map(|(opens, _)| *opens).filter(|opens| *opens > at).min().map_or(Ok(()), Err)
}

/// 403 `outside_print_window`, saying when printing is allowed again (RFC 3339, UTC).
pub fn outside_window_problem(next: DateTime<Utc>) -> Problem {
    Problem::new(
        StatusCode::FORBIDDEN,
        "outside_print_window",
        format!(
            "Your print policy does not allow printing now; printing is allowed again from {} (BR-PP-04).",
            next.to_rfc3339_opts(SecondsFormat::Secs, true)
        ),
    )
}

// ---------------------------------------------------------------------------------------
// Policies in the table
// ---------------------------------------------------------------------------------------

fn policy_key(org_id: &str, policy_id: &str) -> Key {
    Key::new(store::org_partition(org_id), format!("PRINTPOLICY#{policy_id}"))
}

fn name_claim(org_id: &str, name: &str) -> Key {
    Key::new(store::org_partition(org_id), format!("PRINTPOLICYNAME#{}", name.to_lowercase()))
}

fn name_taken() -> Problem {
    Problem::new(StatusCode::CONFLICT, "name_taken", "A print policy with this name already exists (BR-PP-09).")
}

fn no_such_policy() -> Problem {
    Problem::not_found("No such print policy.")
}

fn changed_meanwhile() -> Problem {
    Problem::new(StatusCode::CONFLICT, "conflict", "The print policy was changed meanwhile; reload it and try again.")
}

/// The settings of an organisation whose print policies are on, or 409
/// `print_policies_disabled` (BR-PP-01).
pub async fn require_enabled(ctx: &Ctx, org_id: &str) -> Result<PrintSettings, Problem> {
    let settings = settings::get(ctx, org_id).await?;
    if !settings.print_policies {
        return Err(Problem::new(
            StatusCode::CONFLICT,
            "print_policies_disabled",
            "Print policies are off; turn on `printPolicies` in the organisation's print settings (BR-PP-01).",
        ));
    }
    Ok(settings)
}

/// The policy `policy_id` of `org_id`, if it exists; the default policy always does.
pub async fn find(ctx: &Ctx, org_id: &str, policy_id: &str) -> Result<Option<PrintPolicy>, Problem> {
    match ctx.table.get(&policy_key(org_id, policy_id)).await? {
        Some(item) => Ok(Some(from_item(item)?)),
        None if policy_id == DEFAULT_POLICY_ID => Ok(Some(PrintPolicy::org_default())),
        None => Ok(None),
    }
}

/// The policy `policy_id` of `org_id`, or 404.
pub async fn get(ctx: &Ctx, org_id: &str, policy_id: &str) -> Result<PrintPolicy, Problem> {
    find(ctx, org_id, policy_id).await?.ok_or_else(no_such_policy)
}

/// Every policy of the organisation: the default first, then by name.
pub async fn list(ctx: &Ctx, org_id: &str) -> Result<Vec<PrintPolicy>, Problem> {
    let mut policies: Vec<PrintPolicy> = Vec::new();
    let mut cursor = None;
    loop {
        let query =
            Query::partition(store::org_partition(org_id)).begins_with("PRINTPOLICY#").limit(1000).after(cursor);
        let page = ctx.table.query(&query).await?;
        for item in page.items {
            policies.push(from_item(item)?);
        }
        match page.cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    if !policies.iter().any(PrintPolicy::is_default) {
        policies.push(PrintPolicy::org_default());
    }
    policies.sort_by_key(|p| (!p.is_default(), p.name.to_lowercase()));
    Ok(policies)
}

/// Stores a new named policy with its name claim (BR-PP-09).
async fn insert(ctx: &Ctx, org_id: &str, policy: PrintPolicy) -> Result<PrintPolicy, Problem> {
    let stored = Query::partition(store::org_partition(org_id)).begins_with("PRINTPOLICY#");
    let default_saved = ctx.table.get(&policy_key(org_id, DEFAULT_POLICY_ID)).await?.is_some();
    if ctx.table.count(&stored).await?.saturating_sub(u64::from(default_saved)) >= MAX_POLICIES {
        return Err(Problem::new(
            StatusCode::CONFLICT,
            "too_many_policies",
            format!("An organisation has at most {MAX_POLICIES} print policies besides the default."),
        ));
    }
    let writes = vec![
        Write::Put {
            item: to_item(&json!({"policyId": policy.id}), &name_claim(org_id, &policy.name), &[])?,
            condition: Condition::Absent,
        },
        Write::Put {
            item: to_item(&policy, &policy_key(org_id, &policy.id), &[("assignments", json!(0))])?,
            condition: Condition::Absent,
        },
    ];
    match ctx.table.transact(writes).await {
        Ok(()) => Ok(policy),
        Err(StoreError::TransactionCanceled { failed }) if failed.contains(&0) => Err(name_taken()),
        Err(other) => Err(other.into()),
    }
}

fn new_policy(ctx: &Ctx, name: String, rules: &PolicyInput) -> PrintPolicy {
    let now = ctx.clock.now();
    PrintPolicy {
        id: ctx.ids.new_id(),
        name,
        force_mono: rules.force_mono,
        force_duplex: rules.force_duplex,
        print_window: rules.print_window.clone(),
        version: 1,
        created_at: Some(now),
        updated_at: Some(now),
    }
}

/// Creates a named policy (print policies on, a free name, valid rules).
pub async fn create(ctx: &Ctx, org_id: &str, input: PolicyInput) -> Result<PrintPolicy, Problem> {
    require_enabled(ctx, org_id).await?;
    let name = check_name(input.name.as_deref().ok_or_else(|| invalid("name", "required"))?)?;
    validate_rules(&input)?;
    insert(ctx, org_id, new_policy(ctx, name, &input)).await
}

/// Copies a policy (the default one too) under a new, unique name (BR-PP-09).
pub async fn duplicate(
    ctx: &Ctx,
    org_id: &str,
    policy_id: &str,
    copy: DuplicatePolicy,
) -> Result<PrintPolicy, Problem> {
    require_enabled(ctx, org_id).await?;
    let source = get(ctx, org_id, policy_id).await?;
    let name = check_name(&copy.name)?;
    let rules = PolicyInput {
        force_mono: source.force_mono,
        force_duplex: source.force_duplex,
        print_window: source.print_window,
        ..PolicyInput::default()
    };
    insert(ctx, org_id, new_policy(ctx, name, &rules)).await
}

/// Replaces a policy's rules (and a named policy's name). `PUT` on `default` edits the
/// default policy, which keeps its name.
pub async fn update(ctx: &Ctx, org_id: &str, policy_id: &str, input: PolicyInput) -> Result<PrintPolicy, Problem> {
    require_enabled(ctx, org_id).await?;
    validate_rules(&input)?;
    let current = get(ctx, org_id, policy_id).await?;
    if input.version.is_some_and(|v| v != current.version) {
        return Err(Problem::new(
            StatusCode::CONFLICT,
            "conflict",
            format!("The print policy is at version {}; reload it and try again.", current.version),
        ));
    }
    let name = match input.name.as_deref() {
        Some(name) if current.is_default() && name.trim() != current.name => {
            return Err(invalid("name", "the default policy keeps its name"));
        }
        Some(name) if !current.is_default() => check_name(name)?,
        _ => current.name.clone(),
    };
    let next = PrintPolicy {
        name,
        force_mono: input.force_mono,
        force_duplex: input.force_duplex,
        print_window: input.print_window,
        version: current.version + 1,
        created_at: current.created_at.or(Some(ctx.clock.now())),
        updated_at: Some(ctx.clock.now()),
        ..current.clone()
    };
    let writes = if current.is_default() {
        default_writes(org_id, &current, &next)?
    } else {
        named_writes(org_id, &current, &next)?
    };
    let renames = writes.len() > 1;
    match ctx.table.transact(writes).await {
        Ok(()) => Ok(next),
        Err(StoreError::TransactionCanceled { failed }) if renames && failed.contains(&0) => Err(name_taken()),
        Err(StoreError::TransactionCanceled { .. } | StoreError::ConditionFailed) => Err(changed_meanwhile()),
        Err(other) => Err(other.into()),
    }
}

/// The default policy has no counter or claim: it is written whole.
fn default_writes(org_id: &str, current: &PrintPolicy, next: &PrintPolicy) -> Result<Vec<Write>, Problem> {
    let condition = if current.version == 0 { Condition::Absent } else { Condition::VersionEquals(current.version) };
    Ok(vec![Write::Put { item: to_item(next, &policy_key(org_id, &next.id), &[])?, condition }])
}

/// A named policy is updated field by field, keeping its assignment counter; a new name
/// moves the claim (the claim's write first).
fn named_writes(org_id: &str, current: &PrintPolicy, next: &PrintPolicy) -> Result<Vec<Write>, Problem> {
    let change = Update::new(policy_key(org_id, &next.id))
        .set("name", next.name.clone())
        .set("forceMono", json_of(&next.force_mono)?)
        .set("forceDuplex", json_of(&next.force_duplex)?)
        .set("printWindow", json_of(&next.print_window)?)
        .set("updatedAt", json_of(&next.updated_at)?)
        .add("version", 1)
        .when(Condition::VersionEquals(current.version));
    let mut writes = Vec::new();
    if next.name.to_lowercase() != current.name.to_lowercase() {
        writes.push(Write::Put {
            item: to_item(&json!({"policyId": next.id}), &name_claim(org_id, &next.name), &[])?,
            condition: Condition::Absent,
        });
        writes.push(Write::Delete {
            key: name_claim(org_id, &current.name),
            condition: Condition::Equals("policyId".into(), json!(current.id)),
        });
    }
    writes.push(Write::Update(change));
    Ok(writes)
}

/// A value as JSON for an update (null when absent).
fn json_of<T: Serialize>(value: &T) -> Result<Value, Problem> {
    serde_json::to_value(value).map_err(Problem::internal)
}

fn assignment_count(item: &crate::ports::Item) -> i64 {
    let count = item.get("assignments");
    count.and_then(Value::as_i64).or_else(|| count.and_then(Value::as_f64).map(|n| n as i64)).unwrap_or(0)
}

/// Deletes a named policy with its name claim. The default policy cannot be deleted (409
/// `default_policy`), nor a policy that is still assigned (409 `policy_in_use`).
pub async fn delete(ctx: &Ctx, org_id: &str, policy_id: &str) -> Result<(), Problem> {
    require_enabled(ctx, org_id).await?;
    if policy_id == DEFAULT_POLICY_ID {
        return Err(Problem::new(
            StatusCode::CONFLICT,
            "default_policy",
            "The default print policy cannot be deleted.",
        ));
    }
    let key = policy_key(org_id, policy_id);
    let in_use = |count: i64| {
        Problem::new(
            StatusCode::CONFLICT,
            "policy_in_use",
            format!("The print policy is assigned {count} time(s); remove its assignments first (BR-PP-12)."),
        )
    };
    let item = ctx.table.get(&key).await?.ok_or_else(no_such_policy)?;
    let count = assignment_count(&item);
    if count > 0 {
        return Err(in_use(count));
    }
    let policy: PrintPolicy = from_item(item)?;
    let writes = vec![
        Write::Delete { key: key.clone(), condition: Condition::Equals("assignments".into(), json!(0)) },
        Write::Delete {
            key: name_claim(org_id, &policy.name),
            condition: Condition::Equals("policyId".into(), json!(policy.id)),
        },
    ];
    match ctx.table.transact(writes).await {
        Ok(()) => Ok(()),
        Err(StoreError::TransactionCanceled { .. }) => match ctx.table.get(&key).await? {
            Some(item) if assignment_count(&item) > 0 => Err(in_use(assignment_count(&item))),
            _ => Err(changed_meanwhile()),
        },
        Err(other) => Err(other.into()),
    }
}

// ---------------------------------------------------------------------------------------
// Assignments (BR-PP-10…12)
// ---------------------------------------------------------------------------------------

/// To what a policy is assigned (the tabs of §2.30).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum AssignmentKind {
    /// A cost centre, by name ("Kostenplaats").
    CostCenter,
    /// A department, by name ("Afdeling").
    Department,
    /// A user, by id ("Persoonlijk").
    Personal,
}

impl AssignmentKind {
    /// The kind as it appears in paths and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            AssignmentKind::CostCenter => "costCenter",
            AssignmentKind::Department => "department",
            AssignmentKind::Personal => "personal",
        }
    }

    /// The kind named `text`, or 400 `invalid_field` naming `field`.
    pub fn parse(field: &str, text: &str) -> Result<Self, Problem> {
        [AssignmentKind::CostCenter, AssignmentKind::Department, AssignmentKind::Personal]
            .into_iter()
            .find(|kind| kind.as_str() == text)
            .ok_or_else(|| invalid(field, "one of costCenter, department, personal"))
    }

    /// Whether the organisation's assignment mode offers this kind (BR-PP-10, BR-OS-19).
    pub fn enabled_by(self, mode: PolicyAssignmentMode) -> bool {
        match self {
            AssignmentKind::Personal => true,
            AssignmentKind::CostCenter => mode == PolicyAssignmentMode::CostCenterOrPersonal,
            AssignmentKind::Department => mode == PolicyAssignmentMode::DepartmentOrPersonal,
        }
    }
}

/// A policy assigned to a cost centre, a department or a user.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PolicyAssignment {
    /// Cost centre, department or personal.
    pub kind: AssignmentKind,
    /// The cost centre's or department's name as last given, or the user id.
    pub key: String,
    /// The assigned policy (`default` for the default policy).
    pub policy_id: String,
    /// When it was assigned.
    pub assigned_at: DateTime<Utc>,
}

/// The body of an assignment.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AssignPolicy {
    /// The policy to assign (`default` for the default policy).
    pub policy_id: String,
}

/// Which assignments to list.
#[derive(Clone, Debug, Default)]
pub struct AssignmentFilter {
    /// Only those of this policy ("Toegewezen afdrukbeleid", BR-PP-12).
    pub policy_id: Option<String>,
    /// Only those of this kind.
    pub kind: Option<AssignmentKind>,
}

/// The stored form of a key: cost centres and departments match regardless of case.
fn normal_key(kind: AssignmentKind, key: &str) -> String {
    match kind {
        AssignmentKind::Personal => key.to_string(),
        AssignmentKind::CostCenter | AssignmentKind::Department => key.trim().to_lowercase(),
    }
}

fn assignment_key(org_id: &str, kind: AssignmentKind, key: &str) -> Key {
    Key::new(store::org_partition(org_id), format!("PRINTPOLICYASSIGN#{}#{}", kind.as_str(), normal_key(kind, key)))
}

fn use_key(org_id: &str, policy_id: &str, kind: AssignmentKind, key: &str) -> Key {
    let sk = format!("PRINTPOLICYUSE#{policy_id}#{}#{}", kind.as_str(), normal_key(kind, key));
    Key::new(store::org_partition(org_id), sk)
}

fn counter(org_id: &str, policy_id: &str, by: i64) -> Write {
    Write::Update(Update::new(policy_key(org_id, policy_id)).add("assignments", by).when(Condition::Exists))
}

/// The assignment of `kind` and `key`, if any.
pub async fn find_assignment(
    ctx: &Ctx,
    org_id: &str,
    kind: AssignmentKind,
    key: &str,
) -> Result<Option<PolicyAssignment>, Problem> {
    Ok(crate::records::get(&*ctx.table, &assignment_key(org_id, kind, key)).await?)
}

/// The key as given, checked: a user of the organisation (404 otherwise), or a cost-centre
/// or department name of 1–128 characters.
async fn check_key(ctx: &Ctx, org_id: &str, kind: AssignmentKind, key: &str) -> Result<String, Problem> {
    if kind == AssignmentKind::Personal {
        store::get_user(ctx, org_id, key).await?.ok_or_else(|| Problem::not_found("No such user."))?;
        return Ok(key.to_string());
    }
    let name = key.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME || name.chars().any(char::is_control) {
        return Err(invalid("key", format!("a name of 1 to {MAX_NAME} characters, no control characters")));
    }
    Ok(name.to_string())
}

/// Assigns a policy to a cost centre, department or user, replacing what was assigned
/// there (BR-PP-10). The kind must be offered by the assignment mode (409
/// `assignment_kind_not_enabled`) and the policy must exist (404).
pub async fn assign(
    ctx: &Ctx,
    org_id: &str,
    kind: AssignmentKind,
    key: &str,
    body: AssignPolicy,
) -> Result<PolicyAssignment, Problem> {
    let settings = require_enabled(ctx, org_id).await?;
    if !kind.enabled_by(settings.policy_assignment) {
        return Err(Problem::new(
            StatusCode::CONFLICT,
            "assignment_kind_not_enabled",
            format!(
                "The organisation's policy assignment mode ({:?}) does not offer {} assignments (BR-PP-10).",
                settings.policy_assignment,
                kind.as_str()
            ),
        ));
    }
    let key = check_key(ctx, org_id, kind, key).await?;
    get(ctx, org_id, &body.policy_id).await?;
    let assignment = PolicyAssignment { kind, key, policy_id: body.policy_id, assigned_at: ctx.clock.now() };
    let current = find_assignment(ctx, org_id, kind, &assignment.key).await?;
    let writes = assign_writes(org_id, &assignment, current.as_ref())?;
    let new_counter = (assignment.policy_id != DEFAULT_POLICY_ID).then(|| writes.len() - 1);
    match ctx.table.transact(writes).await {
        Ok(()) => Ok(assignment),
        Err(StoreError::TransactionCanceled { failed }) if new_counter.is_some_and(|i| failed.contains(&i)) => {
            Err(no_such_policy())
        }
        Err(StoreError::TransactionCanceled { .. }) => Err(Problem::new(
            StatusCode::CONFLICT,
            "conflict",
            "The assignment was changed meanwhile; reload and try again.",
        )),
        Err(other) => Err(other.into()),
    }
}

/// The writes of an assignment over `current`: the assignment (index 0), its twin, the old
/// twin and counter, and last the new policy's counter (which fails if it was deleted).
fn assign_writes(
    org_id: &str,
    new: &PolicyAssignment,
    current: Option<&PolicyAssignment>,
) -> Result<Vec<Write>, Problem> {
    let key = assignment_key(org_id, new.kind, &new.key);
    let condition = match current {
        Some(old) => Condition::Equals("policyId".into(), json!(old.policy_id)),
        None => Condition::Absent,
    };
    let twin = use_key(org_id, &new.policy_id, new.kind, &new.key);
    let mut writes = vec![
        Write::Put { item: to_item(new, &key, &[])?, condition },
        Write::Put { item: to_item(new, &twin, &[])?, condition: Condition::Always },
    ];
    if let Some(old) = current.filter(|old| old.policy_id != new.policy_id) {
        writes.push(Write::Delete {
            key: use_key(org_id, &old.policy_id, old.kind, &old.key),
            condition: Condition::Always,
        });
        if old.policy_id != DEFAULT_POLICY_ID {
            writes.push(counter(org_id, &old.policy_id, -1));
        }
    }
    if new.policy_id != DEFAULT_POLICY_ID {
        // The same policy again still has to exist, but is not counted twice.
        let again = current.is_some_and(|old| old.policy_id == new.policy_id);
        writes.push(if again {
            Write::Check { key: policy_key(org_id, &new.policy_id), condition: Condition::Exists }
        } else {
            counter(org_id, &new.policy_id, 1)
        });
    }
    Ok(writes)
}

/// Removes the assignment of `kind` and `key` (BR-PP-12); 404 when there is none.
pub async fn unassign(ctx: &Ctx, org_id: &str, kind: AssignmentKind, key: &str) -> Result<(), Problem> {
    require_enabled(ctx, org_id).await?;
    let current = find_assignment(ctx, org_id, kind, key)
        .await?
        .ok_or_else(|| Problem::not_found("No such print policy assignment."))?;
    let mut writes = vec![
        Write::Delete {
            key: assignment_key(org_id, kind, key),
            condition: Condition::Equals("policyId".into(), json!(current.policy_id)),
        },
        Write::Delete { key: use_key(org_id, &current.policy_id, kind, key), condition: Condition::Always },
    ];
    if current.policy_id != DEFAULT_POLICY_ID {
        writes.push(counter(org_id, &current.policy_id, -1));
    }
    match ctx.table.transact(writes).await {
        Ok(()) => Ok(()),
        Err(StoreError::TransactionCanceled { .. }) => Err(Problem::new(
            StatusCode::CONFLICT,
            "conflict",
            "The assignment was changed meanwhile; reload and try again.",
        )),
        Err(other) => Err(other.into()),
    }
}

/// One page of assignments, optionally of one policy and/or kind (BR-PP-12), ordered by
/// kind and key.
pub async fn assignments(
    ctx: &Ctx,
    org_id: &str,
    filter: &AssignmentFilter,
    limit: u32,
    cursor: Option<String>,
) -> Result<(Vec<PolicyAssignment>, Option<String>), Problem> {
    let mut prefix = match &filter.policy_id {
        Some(policy_id) => format!("PRINTPOLICYUSE#{policy_id}#"),
        None => "PRINTPOLICYASSIGN#".to_string(),
    };
    if let Some(kind) = filter.kind {
        prefix.push_str(kind.as_str());
        prefix.push('#');
    }
    let query = Query::partition(store::org_partition(org_id)).begins_with(prefix).limit(limit).after(cursor);
    let page = ctx.table.query(&query).await?;
    Ok((page.items.into_iter().map(from_item).collect::<Result<_, _>>()?, page.cursor))
}

/// Where a user's policy may come from, strongest first (BR-PP-11): their personal
/// assignment, then their cost centre or department as the mode offers.
pub fn candidates(mode: PolicyAssignmentMode, user: &User) -> Vec<(AssignmentKind, String)> {
    let mut found = vec![(AssignmentKind::Personal, user.id.clone())];
    for (kind, name) in
        [(AssignmentKind::CostCenter, &user.cost_center), (AssignmentKind::Department, &user.department)]
    {
        if kind.enabled_by(mode) && !name.trim().is_empty() {
            found.push((kind, name.clone()));
        }
    }
    found
}

/// The policy that applies to `user`'s jobs: `None` when print policies are off
/// (BR-PP-01); else their personal policy, which overrides their cost centre's or
/// department's (BR-PP-11), which overrides the organisation's default.
pub async fn effective_policy(ctx: &Ctx, org_id: &str, user: &User) -> Result<Option<PrintPolicy>, Problem> {
    let settings = settings::get(ctx, org_id).await?;
    if !settings.print_policies {
        return Ok(None);
    }
    for (kind, key) in candidates(settings.policy_assignment, user) {
        if let Some(assignment) = find_assignment(ctx, org_id, kind, &key).await?
            && let Some(policy) = find(ctx, org_id, &assignment.policy_id).await?
        {
            return Ok(Some(policy));
        }
    }
    Ok(Some(get(ctx, org_id, DEFAULT_POLICY_ID).await?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::model::UserRecord;
    use crate::ports::{ManualClock, SequentialIds};
    use crate::print::options::PrintOptions;
    use crate::print::settings::PrintSettingsUpdate;
    use crate::wiring::{LocalOptions, LocalStorage, local};
    use std::sync::Arc;

    fn policy(value: Value) -> PrintPolicy {
        let mut base = serde_json::to_value(PrintPolicy::org_default()).unwrap();
        base.as_object_mut().unwrap().extend(value.as_object().unwrap().clone());
        serde_json::from_value(base).expect("a well-formed policy")
    }

    fn input(value: Value) -> PolicyInput {
        serde_json::from_value(value).expect("a well-formed input")
    }

    fn job(options: Value) -> EffectiveOptions {
        serde_json::from_value::<PrintOptions>(options).unwrap().effective()
    }

    fn utc(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    fn field_of(problem: &Problem) -> &str {
        problem.detail.split(':').next().unwrap()
    }

    const AMSTERDAM: Tz = chrono_tz::Europe::Amsterdam;

    #[test]
    fn br_pp_02_force_mono_only_from_min_pages() {
        let eco = policy(json!({"forceMono": {"minPages": 5}}));
        let mut small = job(json!({}));
        assert_eq!(apply_at_ingest(&eco, 4, &mut small), vec![]);
        assert_eq!(small.colour_mode, ColourMode::Colour);
        let mut large = job(json!({}));
        assert_eq!(apply_at_ingest(&eco, 5, &mut large), vec![PolicyChange::ForcedMono]);
        assert_eq!(large.colour_mode, ColourMode::Mono);
        let all = policy(json!({"forceMono": {}}));
        let mut one = job(json!({}));
        assert_eq!(apply_at_ingest(&all, 1, &mut one), vec![PolicyChange::ForcedMono]);
    }

    #[test]
    fn br_pp_03_force_duplex_by_scope_and_thresholds() {
        let all = policy(json!({"forceDuplex": {"binding": "shortEdge",
            "scope": {"kind": "allJobs", "monoMinPages": 2, "colourMinPages": 10}}}));
        let mut mono = job(json!({"colourMode": "mono"}));
        assert_eq!(apply_at_ingest(&all, 2, &mut mono), vec![PolicyChange::ForcedDuplex(DuplexBinding::ShortEdge)]);
        assert_eq!(mono.duplex, Duplex::ShortEdge);
        let mut colour = job(json!({}));
        assert_eq!(apply_at_ingest(&all, 9, &mut colour), vec![], "colour threshold is 10");
        assert_eq!(apply_at_ingest(&all, 10, &mut colour), vec![PolicyChange::ForcedDuplex(DuplexBinding::ShortEdge)]);

        let mono_only = policy(json!({"forceDuplex": {"binding": "longEdge", "scope": {"kind": "monoJobs"}}}));
        assert_eq!(apply_at_ingest(&mono_only, 1, &mut job(json!({}))), vec![], "colour jobs are out of scope");
        let mut mono = job(json!({"colourMode": "mono"}));
        assert_eq!(
            apply_at_ingest(&mono_only, 1, &mut mono),
            vec![PolicyChange::ForcedDuplex(DuplexBinding::LongEdge)]
        );

        let colour_only =
            policy(json!({"forceDuplex": {"binding": "longEdge", "scope": {"kind": "colourJobs", "minPages": 3}}}));
        assert_eq!(apply_at_ingest(&colour_only, 3, &mut job(json!({"colourMode": "mono"}))), vec![]);
        assert_eq!(apply_at_ingest(&colour_only, 2, &mut job(json!({}))), vec![]);
        assert_eq!(apply_at_ingest(&colour_only, 3, &mut job(json!({}))).len(), 1);
    }

    #[test]
    fn br_pp_03_duplex_is_decided_after_mono_is_forced() {
        let both =
            policy(json!({"forceMono": {}, "forceDuplex": {"binding": "longEdge", "scope": {"kind": "monoJobs"}}}));
        let mut options = job(json!({}));
        let changes = apply_at_ingest(&both, 1, &mut options);
        assert_eq!(changes, vec![PolicyChange::ForcedMono, PolicyChange::ForcedDuplex(DuplexBinding::LongEdge)]);
        assert_eq!((options.colour_mode, options.duplex), (ColourMode::Mono, Duplex::LongEdge));
    }

    #[test]
    fn br_pp_07_page_thresholds_count_document_pages_copies_not_counted() {
        let strict = policy(json!({"forceMono": {"minPages": 3},
            "forceDuplex": {"binding": "longEdge", "scope": {"kind": "allJobs", "monoMinPages": 3, "colourMinPages": 3}}}));
        let mut two_copies = job(json!({"copies": 2}));
        assert_eq!(apply_at_ingest(&strict, 2, &mut two_copies), vec![], "2 copies of 2 pages is still a 2-page job");
        let mut many = job(json!({"copies": 50, "nUp": 4}));
        assert_eq!(apply_at_ingest(&strict, 2, &mut many), vec![]);
        assert_eq!((many.copies, many.colour_mode), (50, ColourMode::Colour));
    }

    #[test]
    fn br_pp_08_a_job_is_colour_and_simplex_unless_its_options_say_otherwise() {
        let both =
            policy(json!({"forceMono": {}, "forceDuplex": {"binding": "longEdge", "scope": {"kind": "allJobs"}}}));
        let mut unknown = job(json!({"duplex": "printerDefault"}));
        assert_eq!(apply_at_ingest(&both, 1, &mut unknown).len(), 2, "printer default counts as simplex");
        let mut mono_two_sided = job(json!({"colourMode": "mono", "duplex": "shortEdge"}));
        assert_eq!(apply_at_ingest(&both, 1, &mut mono_two_sided), vec![], "nothing to force");
        assert_eq!(mono_two_sided.duplex, Duplex::ShortEdge, "a chosen binding is kept");
        let mut nothing = job(json!({}));
        assert_eq!(apply_at_ingest(&PrintPolicy::org_default(), 100, &mut nothing), vec![]);
        assert_eq!(nothing, job(json!({})));
    }

    #[test]
    fn policy_changes_serialise_for_the_job() {
        let changes = vec![PolicyChange::ForcedMono, PolicyChange::ForcedDuplex(DuplexBinding::ShortEdge)];
        assert_eq!(serde_json::to_value(&changes).unwrap(), json!(["forcedMono", {"forcedDuplex": "shortEdge"}]));
    }

    #[test]
    fn br_pp_04_every_day_window_and_next_start() {
        let office = policy(json!({"printWindow": {"kind": "everyDay", "start": "07:00", "end": "19:00"}}));
        // 2025-01-15 is a Wednesday; Amsterdam is UTC+1 in winter.
        assert_eq!(window_check(&office, utc("2025-01-15T06:00:00Z"), AMSTERDAM), Ok(()));
        assert_eq!(window_check(&office, utc("2025-01-15T17:59:00Z"), AMSTERDAM), Ok(()));
        assert_eq!(window_check(&office, utc("2025-01-15T18:00:00Z"), AMSTERDAM), Err(utc("2025-01-16T06:00:00Z")));
        assert_eq!(window_check(&office, utc("2025-01-15T05:59:00Z"), AMSTERDAM), Err(utc("2025-01-15T06:00:00Z")));
        assert_eq!(window_check(&PrintPolicy::org_default(), utc("2025-01-15T03:00:00Z"), AMSTERDAM), Ok(()));
    }

    #[test]
    fn br_pp_04_weekdays_skip_the_weekend() {
        let weekdays = policy(json!({"printWindow": {"kind": "weekdays", "start": "08:00", "end": "18:00"}}));
        // Friday 2025-01-17 after hours: next is Monday 2025-01-20 08:00 local.
        assert_eq!(window_check(&weekdays, utc("2025-01-17T17:30:00Z"), AMSTERDAM), Err(utc("2025-01-20T07:00:00Z")));
        assert_eq!(window_check(&weekdays, utc("2025-01-18T10:00:00Z"), AMSTERDAM), Err(utc("2025-01-20T07:00:00Z")));
        assert_eq!(window_check(&weekdays, utc("2025-01-20T07:00:00Z"), AMSTERDAM), Ok(()));
    }

    #[test]
    fn br_pp_04_custom_days_have_their_own_hours() {
        let custom = policy(json!({"printWindow": {"kind": "custom", "days": [
            {"day": "monday", "start": "08:00", "end": "12:00"},
            {"day": "wednesday", "start": "13:00", "end": "17:00"}]}}));
        // Tuesday 2025-01-14 10:00 UTC: next is Wednesday 13:00 local.
        assert_eq!(
            window_check(&custom, utc("2025-01-14T10:00:00Z"), chrono_tz::UTC),
            Err(utc("2025-01-15T13:00:00Z"))
        );
        assert_eq!(window_check(&custom, utc("2025-01-13T11:59:00Z"), chrono_tz::UTC), Ok(()));
        assert_eq!(
            window_check(&custom, utc("2025-01-13T12:00:00Z"), chrono_tz::UTC),
            Err(utc("2025-01-15T13:00:00Z"))
        );
        assert_eq!(window_check(&custom, utc("2025-01-15T16:00:00Z"), chrono_tz::UTC), Ok(()));
        // Wednesday after hours: next Monday.
        assert_eq!(
            window_check(&custom, utc("2025-01-15T17:00:00Z"), chrono_tz::UTC),
            Err(utc("2025-01-20T08:00:00Z"))
        );
    }

    #[test]
    fn br_pp_05_end_after_midnight_rolls_into_next_day() {
        let night = policy(json!({"printWindow": {"kind": "weekdays", "start": "22:00", "end": "26:00"}}));
        let z = chrono_tz::UTC;
        // Friday 2025-01-17 23:30 and Saturday 01:30 are in Friday's window.
        assert_eq!(window_check(&night, utc("2025-01-17T23:30:00Z"), z), Ok(()));
        assert_eq!(window_check(&night, utc("2025-01-18T01:30:00Z"), z), Ok(()));
        assert_eq!(window_check(&night, utc("2025-01-18T02:00:00Z"), z), Err(utc("2025-01-20T22:00:00Z")));
        // Monday 01:00 would be Sunday's window, which does not exist.
        assert_eq!(window_check(&night, utc("2025-01-20T01:00:00Z"), z), Err(utc("2025-01-20T22:00:00Z")));
        assert_eq!(window_check(&night, utc("2025-01-21T01:00:00Z"), z), Ok(()), "Monday's window reaches Tuesday");
        let custom = policy(json!({"printWindow": {"kind": "custom",
            "days": [{"day": "sunday", "start": "20:00", "end": "47:59"}]}}));
        assert_eq!(window_check(&custom, utc("2025-01-20T23:00:00Z"), z), Ok(()), "Sunday 20:00 to Tuesday 00:00");
        assert_eq!(window_check(&custom, utc("2025-01-21T00:00:00Z"), z), Err(utc("2025-01-26T20:00:00Z")));
    }

    #[test]
    fn br_pp_06_window_is_judged_in_the_printers_local_time() {
        let office = policy(json!({"printWindow": {"kind": "everyDay", "start": "09:00", "end": "17:00"}}));
        let at = utc("2025-01-15T15:00:00Z");
        assert_eq!(window_check(&office, at, AMSTERDAM), Ok(()), "16:00 in Amsterdam");
        assert_eq!(window_check(&office, at, chrono_tz::America::New_York), Ok(()), "10:00 in New York");
        assert_eq!(
            window_check(&office, at, chrono_tz::Asia::Tokyo),
            Err(utc("2025-01-16T00:00:00Z")),
            "00:00 in Tokyo"
        );
    }

    #[test]
    fn dst_spring_forward_keeps_local_hours_and_skipped_times_open_when_clocks_jump() {
        let office = policy(json!({"printWindow": {"kind": "everyDay", "start": "07:00", "end": "19:00"}}));
        // 2025-03-30: Amsterdam goes from UTC+1 to UTC+2 at 02:00 local.
        assert_eq!(window_check(&office, utc("2025-03-29T06:30:00Z"), AMSTERDAM), Ok(()), "07:30 CET");
        assert_eq!(window_check(&office, utc("2025-03-30T05:30:00Z"), AMSTERDAM), Ok(()), "07:30 CEST");
        assert_eq!(window_check(&office, utc("2025-03-30T04:30:00Z"), AMSTERDAM), Err(utc("2025-03-30T05:00:00Z")));
        let skipped = policy(json!({"printWindow": {"kind": "everyDay", "start": "02:30", "end": "04:00"}}));
        // 02:30 does not exist that day: the window opens when clocks jump to 03:00 CEST (01:00 UTC).
        assert_eq!(window_check(&skipped, utc("2025-03-30T00:30:00Z"), AMSTERDAM), Err(utc("2025-03-30T01:00:00Z")));
        assert_eq!(window_check(&skipped, utc("2025-03-30T01:00:00Z"), AMSTERDAM), Ok(()));
        assert_eq!(window_check(&skipped, utc("2025-03-30T02:00:00Z"), AMSTERDAM), Err(utc("2025-03-31T00:30:00Z")));
    }

    #[test]
    fn dst_fall_back_counts_repeated_times_until_their_last_occurrence() {
        // 2025-10-26: Amsterdam goes from UTC+2 back to UTC+1 at 03:00 local; 02:00–03:00 happens twice.
        let early = policy(json!({"printWindow": {"kind": "everyDay", "start": "00:00", "end": "02:30"}}));
        assert_eq!(window_check(&early, utc("2025-10-26T00:15:00Z"), AMSTERDAM), Ok(()), "02:15 CEST");
        assert_eq!(window_check(&early, utc("2025-10-26T01:15:00Z"), AMSTERDAM), Ok(()), "02:15 CET");
        assert_eq!(window_check(&early, utc("2025-10-26T01:45:00Z"), AMSTERDAM), Err(utc("2025-10-26T23:00:00Z")));
        let office = policy(json!({"printWindow": {"kind": "everyDay", "start": "07:00", "end": "19:00"}}));
        assert_eq!(window_check(&office, utc("2025-10-26T05:30:00Z"), AMSTERDAM), Err(utc("2025-10-26T06:00:00Z")));
    }

    #[test]
    fn br_pp_04_invalid_windows_and_thresholds_name_the_field() {
        for (bad, field) in [
            (json!({"printWindow": {"kind": "everyDay", "start": "7:00", "end": "19:00"}}), "printWindow.start"),
            (json!({"printWindow": {"kind": "everyDay", "start": "24:00", "end": "25:00"}}), "printWindow.start"),
            (json!({"printWindow": {"kind": "weekdays", "start": "08:00", "end": "48:00"}}), "printWindow.end"),
            (json!({"printWindow": {"kind": "weekdays", "start": "08:00", "end": "08:60"}}), "printWindow.end"),
            (json!({"printWindow": {"kind": "everyDay", "start": "19:00", "end": "07:00"}}), "printWindow.end"),
            (json!({"printWindow": {"kind": "everyDay", "start": "07:00", "end": "07:00"}}), "printWindow.end"),
            (json!({"printWindow": {"kind": "custom", "days": []}}), "printWindow.days"),
            (
                json!({"printWindow": {"kind": "custom", "days": [
                    {"day": "monday", "start": "08:00", "end": "12:00"},
                    {"day": "tuesday", "start": "08:00", "end": "x"}]}}),
                "printWindow.days[1].end",
            ),
            (
                json!({"printWindow": {"kind": "custom", "days": [
                    {"day": "monday", "start": "08:00", "end": "12:00"},
                    {"day": "monday", "start": "13:00", "end": "14:00"}]}}),
                "printWindow.days[1].day",
            ),
            (json!({"forceMono": {"minPages": 0}}), "forceMono.minPages"),
            (
                json!({"forceDuplex": {"binding": "longEdge", "scope": {"kind": "allJobs", "colourMinPages": 0}}}),
                "forceDuplex.scope.colourMinPages",
            ),
            (
                json!({"forceDuplex": {"binding": "longEdge", "scope": {"kind": "monoJobs", "minPages": 100001}}}),
                "forceDuplex.scope.minPages",
            ),
        ] {
            let err = validate_rules(&input(bad.clone())).unwrap_err();
            assert_eq!((err.status, field_of(&err)), (400, field), "{bad}");
            assert_eq!(err.code, "invalid_field");
        }
        let fine = json!({"forceMono": {"minPages": 1}, "printWindow": {"kind": "everyDay", "start": "00:00", "end": "47:59"}});
        assert!(validate_rules(&input(fine)).is_ok());
        assert!(serde_json::from_value::<PolicyInput>(json!({"forceMono": {"pages": 2}})).is_err(), "unknown field");
        assert!(serde_json::from_value::<PolicyInput>(json!({"printWindow": {"kind": "sometimes"}})).is_err());
    }

    #[test]
    fn outside_window_problem_says_when_printing_is_allowed_again() {
        let problem = outside_window_problem(utc("2025-01-20T07:00:00Z"));
        assert_eq!((problem.status, problem.code.as_str()), (403, "outside_print_window"));
        assert!(problem.detail.contains("2025-01-20T07:00:00Z"), "{}", problem.detail);
    }

    #[test]
    fn br_pp_10_assignment_kinds_follow_the_assignment_mode() {
        use PolicyAssignmentMode::*;
        let offered = |mode| {
            [AssignmentKind::CostCenter, AssignmentKind::Department, AssignmentKind::Personal]
                .into_iter()
                .filter(|k| k.enabled_by(mode))
                .collect::<Vec<_>>()
        };
        assert_eq!(offered(CostCenterOrPersonal), vec![AssignmentKind::CostCenter, AssignmentKind::Personal]);
        assert_eq!(offered(DepartmentOrPersonal), vec![AssignmentKind::Department, AssignmentKind::Personal]);
        assert_eq!(offered(PersonalOnly), vec![AssignmentKind::Personal]);
        assert_eq!(AssignmentKind::parse("kind", "costCenter").unwrap(), AssignmentKind::CostCenter);
        assert_eq!(field_of(&AssignmentKind::parse("kind", "group").unwrap_err()), "kind");
    }

    #[test]
    fn br_pp_11_personal_comes_before_cost_centre_or_department() {
        let user = User { id: "u1".into(), cost_center: "Sales".into(), department: "Ops".into(), ..User::default() };
        let kinds = |mode| candidates(mode, &user).into_iter().map(|(k, _)| k).collect::<Vec<_>>();
        assert_eq!(
            kinds(PolicyAssignmentMode::CostCenterOrPersonal),
            vec![AssignmentKind::Personal, AssignmentKind::CostCenter]
        );
        assert_eq!(
            kinds(PolicyAssignmentMode::DepartmentOrPersonal),
            vec![AssignmentKind::Personal, AssignmentKind::Department]
        );
        assert_eq!(kinds(PolicyAssignmentMode::PersonalOnly), vec![AssignmentKind::Personal]);
        let no_centre = User { cost_center: " ".into(), ..user };
        assert_eq!(candidates(PolicyAssignmentMode::CostCenterOrPersonal, &no_centre).len(), 1);
    }

    // --- against an embedded store -------------------------------------------------------

    async fn test_ctx() -> (Ctx, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let options = LocalOptions {
            data_dir: dir.path().to_path_buf(),
            public_url: "http://localhost".into(),
            smtp_relay: None,
            mail_from: "noreply@example.com".into(),
            mail_domain: "print.example.com".into(),
            storage: LocalStorage::Embedded,
            max_document_bytes: crate::context::DEFAULT_MAX_DOCUMENT_BYTES,
        };
        let clock = Arc::new(ManualClock::new(utc("2025-01-01T00:00:00Z")));
        let built = local(&options, clock, Arc::new(SequentialIds::default())).await.unwrap();
        (built.ctx, dir)
    }

    async fn enable(ctx: &Ctx, org: &str, mode: PolicyAssignmentMode) {
        let update = PrintSettingsUpdate {
            print_policies: Some(true),
            policy_assignment: Some(mode),
            ..PrintSettingsUpdate::default()
        };
        settings::put(ctx, org, update).await.unwrap();
    }

    async fn add_user(ctx: &Ctx, org: &str, id: &str, cost_center: &str, department: &str) -> User {
        let user = User {
            id: id.into(),
            org_id: org.into(),
            email: format!("{id}@example.com"),
            cost_center: cost_center.into(),
            department: department.into(),
            version: 1,
            created_at: utc("2025-01-01T00:00:00Z"),
            ..User::default()
        };
        let record = UserRecord { user: user.clone(), password_hash: None };
        ctx.table.transact(store::create_user_writes(&record).unwrap()).await.unwrap();
        user
    }

    async fn named(ctx: &Ctx, org: &str, name: &str) -> PrintPolicy {
        create(ctx, org, input(json!({"name": name, "forceMono": {}}))).await.unwrap()
    }

    fn assign_to(policy: &PrintPolicy) -> AssignPolicy {
        AssignPolicy { policy_id: policy.id.clone() }
    }

    #[tokio::test]
    async fn br_pp_01_writes_need_print_policies_on_and_reads_still_work() {
        let (ctx, _dir) = test_ctx().await;
        let off = create(&ctx, "o1", input(json!({"name": "Eco"}))).await.unwrap_err();
        assert_eq!((off.status, off.code.as_str()), (409, "print_policies_disabled"));
        let user = add_user(&ctx, "o1", "u1", "Sales", "").await;
        assert_eq!(effective_policy(&ctx, "o1", &user).await.unwrap(), None);
        assert_eq!(list(&ctx, "o1").await.unwrap(), vec![PrintPolicy::org_default()]);
        enable(&ctx, "o1", PolicyAssignmentMode::CostCenterOrPersonal).await;
        assert_eq!(effective_policy(&ctx, "o1", &user).await.unwrap(), Some(PrintPolicy::org_default()));
    }

    #[tokio::test]
    async fn br_pp_09_names_are_unique_and_duplicates_need_a_new_one() {
        let (ctx, _dir) = test_ctx().await;
        enable(&ctx, "o1", PolicyAssignmentMode::CostCenterOrPersonal).await;
        let eco = named(&ctx, "o1", " Eco ").await;
        assert_eq!((eco.name.as_str(), eco.version), ("Eco", 1));
        assert_eq!(create(&ctx, "o1", input(json!({"name": "ECO"}))).await.unwrap_err().code, "name_taken");
        assert_eq!(create(&ctx, "o1", input(json!({"name": "default"}))).await.unwrap_err().code, "name_taken");
        assert_eq!(create(&ctx, "o1", input(json!({}))).await.unwrap_err().detail, "name: required");
        let copy = duplicate(&ctx, "o1", &eco.id, DuplicatePolicy { name: "eco".into() }).await.unwrap_err();
        assert_eq!(copy.code, "name_taken");
        let copy = duplicate(&ctx, "o1", &eco.id, DuplicatePolicy { name: "Eco 2".into() }).await.unwrap();
        assert_ne!(copy.id, eco.id);
        assert_eq!((copy.force_mono, copy.name.as_str()), (eco.force_mono, "Eco 2"));
        enable(&ctx, "o2", PolicyAssignmentMode::PersonalOnly).await;
        assert_eq!(named(&ctx, "o2", "Eco").await.name, "Eco", "names are unique per organisation only");

        let renamed = update(&ctx, "o1", &eco.id, input(json!({"name": "Green", "version": 1}))).await.unwrap();
        assert_eq!((renamed.name.as_str(), renamed.version, renamed.force_mono), ("Green", 2, None));
        assert_eq!(get(&ctx, "o1", &eco.id).await.unwrap(), renamed);
        named(&ctx, "o1", "eco").await;
        let stale = update(&ctx, "o1", &eco.id, input(json!({"version": 1}))).await.unwrap_err();
        assert_eq!(stale.code, "conflict");
        let taken = update(&ctx, "o1", &eco.id, input(json!({"name": "eco 2"}))).await.unwrap_err();
        assert_eq!(taken.code, "name_taken");
        let names: Vec<String> = list(&ctx, "o1").await.unwrap().into_iter().map(|p| p.name).collect();
        assert_eq!(names, vec!["Default", "eco", "Eco 2", "Green"]);
    }

    #[tokio::test]
    async fn the_default_policy_is_editable_but_not_deletable() {
        let (ctx, _dir) = test_ctx().await;
        enable(&ctx, "o1", PolicyAssignmentMode::CostCenterOrPersonal).await;
        let rules = json!({"forceDuplex": {"binding": "longEdge", "scope": {"kind": "allJobs"}}});
        let saved = update(&ctx, "o1", DEFAULT_POLICY_ID, input(rules.clone())).await.unwrap();
        assert_eq!((saved.version, saved.name.as_str()), (1, "Default"));
        assert!(saved.force_duplex.is_some());
        let again = update(&ctx, "o1", DEFAULT_POLICY_ID, input(json!({"name": "Default", "version": 1}))).await;
        assert_eq!(again.unwrap().version, 2);
        let rename = update(&ctx, "o1", DEFAULT_POLICY_ID, input(json!({"name": "Other"}))).await.unwrap_err();
        assert_eq!(field_of(&rename), "name");
        assert_eq!(delete(&ctx, "o1", DEFAULT_POLICY_ID).await.unwrap_err().code, "default_policy");
        assert_eq!(list(&ctx, "o1").await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn br_pp_11_personal_overrides_cost_centre_which_overrides_the_default() {
        let (ctx, _dir) = test_ctx().await;
        enable(&ctx, "o1", PolicyAssignmentMode::CostCenterOrPersonal).await;
        let centre = named(&ctx, "o1", "Centre").await;
        let personal = named(&ctx, "o1", "Personal").await;
        let ann = add_user(&ctx, "o1", "ann", "Sales", "Ops").await;
        let bob = add_user(&ctx, "o1", "bob", "sales ", "").await;
        assign(&ctx, "o1", AssignmentKind::CostCenter, "SALES", assign_to(&centre)).await.unwrap();
        assert_eq!(
            effective_policy(&ctx, "o1", &bob).await.unwrap().unwrap().id,
            centre.id,
            "names match regardless of case"
        );
        assign(&ctx, "o1", AssignmentKind::Personal, "ann", assign_to(&personal)).await.unwrap();
        assert_eq!(effective_policy(&ctx, "o1", &ann).await.unwrap().unwrap().id, personal.id);
        assert_eq!(effective_policy(&ctx, "o1", &bob).await.unwrap().unwrap().id, centre.id);
        let to_default = AssignPolicy { policy_id: DEFAULT_POLICY_ID.into() };
        assign(&ctx, "o1", AssignmentKind::Personal, "bob", to_default).await.unwrap();
        assert!(
            effective_policy(&ctx, "o1", &bob).await.unwrap().unwrap().is_default(),
            "a personal default overrides too"
        );

        // Department mode: the cost-centre assignment no longer counts, the department's does.
        enable(&ctx, "o1", PolicyAssignmentMode::DepartmentOrPersonal).await;
        let carl = add_user(&ctx, "o1", "carl", "Sales", "Ops").await;
        assert!(effective_policy(&ctx, "o1", &carl).await.unwrap().unwrap().is_default());
        assign(&ctx, "o1", AssignmentKind::Department, "ops", assign_to(&centre)).await.unwrap();
        assert_eq!(effective_policy(&ctx, "o1", &carl).await.unwrap().unwrap().id, centre.id);
        let refused = assign(&ctx, "o1", AssignmentKind::CostCenter, "Sales", assign_to(&centre)).await.unwrap_err();
        assert_eq!((refused.status, refused.code.as_str()), (409, "assignment_kind_not_enabled"));
    }

    #[tokio::test]
    async fn br_pp_12_assignments_are_listed_by_policy_and_block_deletion_until_removed() {
        let (ctx, _dir) = test_ctx().await;
        enable(&ctx, "o1", PolicyAssignmentMode::CostCenterOrPersonal).await;
        let eco = named(&ctx, "o1", "Eco").await;
        let strict = named(&ctx, "o1", "Strict").await;
        add_user(&ctx, "o1", "ann", "", "").await;
        let missing = assign(&ctx, "o1", AssignmentKind::Personal, "nobody", assign_to(&eco)).await.unwrap_err();
        assert_eq!(missing.status, 404);
        let no_policy = AssignPolicy { policy_id: "nope".into() };
        assert_eq!(assign(&ctx, "o1", AssignmentKind::CostCenter, "Sales", no_policy).await.unwrap_err().status, 404);
        assign(&ctx, "o1", AssignmentKind::Personal, "ann", assign_to(&eco)).await.unwrap();
        assign(&ctx, "o1", AssignmentKind::CostCenter, "Sales", assign_to(&eco)).await.unwrap();
        assign(&ctx, "o1", AssignmentKind::CostCenter, "Sales", assign_to(&eco)).await.unwrap();
        assign(&ctx, "o1", AssignmentKind::CostCenter, "Finance", assign_to(&strict)).await.unwrap();

        let of = |policy: &str| AssignmentFilter { policy_id: Some(policy.into()), kind: None };
        let (eco_uses, _) = assignments(&ctx, "o1", &of(&eco.id), 50, None).await.unwrap();
        assert_eq!(eco_uses.iter().map(|a| a.key.as_str()).collect::<Vec<_>>(), vec!["Sales", "ann"]);
        let (all, _) = assignments(&ctx, "o1", &AssignmentFilter::default(), 50, None).await.unwrap();
        assert_eq!(all.len(), 3);
        let personal = AssignmentFilter { policy_id: None, kind: Some(AssignmentKind::Personal) };
        assert_eq!(assignments(&ctx, "o1", &personal, 50, None).await.unwrap().0.len(), 1);

        let in_use = delete(&ctx, "o1", &eco.id).await.unwrap_err();
        assert_eq!((in_use.code.as_str(), in_use.status), ("policy_in_use", 409));
        assert!(in_use.detail.contains("2 time"), "{}", in_use.detail);
        // Moving Sales to Strict frees one use of Eco.
        assign(&ctx, "o1", AssignmentKind::CostCenter, "sales", assign_to(&strict)).await.unwrap();
        assert_eq!(assignments(&ctx, "o1", &of(&eco.id), 50, None).await.unwrap().0.len(), 1);
        unassign(&ctx, "o1", AssignmentKind::Personal, "ann").await.unwrap();
        assert_eq!(unassign(&ctx, "o1", AssignmentKind::Personal, "ann").await.unwrap_err().status, 404);
        delete(&ctx, "o1", &eco.id).await.unwrap();
        assert_eq!(get(&ctx, "o1", &eco.id).await.unwrap_err().status, 404);
        named(&ctx, "o1", "eco").await;
        assert!(delete(&ctx, "o1", &strict.id).await.unwrap_err().detail.contains("2 time"));
    }
}
