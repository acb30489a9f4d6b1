//! An organisation's pool of solution characters, and the distributions through which a
//! partner gives part of its pool to a child organisation (part-5 §2.13, R-Q-1, R-Q-7,
//! R-Q-9…R-Q-14, W10, D-SUBORG, D-ALMOST-USED-UP).
//!
//! The pool is what an organisation may use in total per service, not per month:
//! - a child organisation with a distribution from its parent has the distribution's
//!   limits. While it is suspended or revoked, or once a custom one expired, the
//!   organisation's translate, redact and OCR stop (R-Q-13, R-Q-9) with
//!   `distribution_suspended`, `distribution_revoked` or `distribution_expired`;
//! - any other organisation has its own purchased amount (unlimited until its Partner
//!   Administrator records one): what "the partner purchased" means for R-Q-1, as a
//!   self-hosted deployment has no billing of its own.
//!
//! Each pool keeps a counter per service of what is committed: the organisation's own use
//! plus what it distributed to its children and was not returned. A partner can only
//! distribute what its pool has left, so never more than it holds (R-Q-1); an Unlimited
//! service can only be distributed from an Unlimited pool. Every change of a counter is
//! conditional on the limit (and on the pool's version, so a concurrent edit is never
//! overrun), so concurrent debits and distributions never overspend.
//!
//! Expiry (R-Q-9): a custom distribution can be used through the day `expiresOn`, in the
//! child organisation's time zone, and stops at the start of the next day. It is judged
//! against the clock at each check and debit, so no sweep is needed. Unused pages of an
//! expired distribution stay with it until the partner edits (extends) or revokes it.
//!
//! Who (part-5 §3, as read here): the distributions of an organisation are managed in its
//! own path by its users who are members of its child-organisation access group
//! ("Toegang suborganisatie"): a Solutions Quota Administrator creates and edits them
//! (L15366, L15668); a Partner Administrator also edits them (L15503, R-Q-11) and is the
//! one who suspends, resumes and revokes them (L15503, L15842). Either role may list them.
//!
//! Layout:
//! - `ORG#<partner>` / `SDIST#<child>`: the distribution, with counters `committed<Service>`
//!   (the child's use plus what the child distributed on) and `used<Service>` (the child's
//!   own use), and the marks `mailed{Low,Empty}<Service>` of the D-ALMOST-USED-UP mails;
//! - `ORG#<org>` / `SQUOTAPOOL`: the purchased limits, a version and the same counters.

use super::quotas::{self, Amount, Limits, LimitsInput, LimitsView, SolutionService, invalid};
use crate::context::Ctx;
use crate::http::{Caller, Problem};
use crate::identity::model::Organisation;
use crate::identity::roles::{Permission, Role};
use crate::identity::{groups, store, users};
use crate::mail::Letter;
use crate::ports::StoreError;
use crate::ports::table::{Condition, Key, Query, Update, Write};
use crate::records::to_item;
use axum::http::StatusCode;
use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// Most addresses the almost-used-up mail goes to (R-Q-10).
pub const MAX_NOTIFICATION_EMAILS: usize = 10;

/// What an organisation has committed of its pool, per service, as stored.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Counters {
    /// Translation used or distributed on.
    #[serde(default)]
    pub committed_translate: i64,
    /// Redaction used or distributed on.
    #[serde(default)]
    pub committed_redact: i64,
    /// OCR used or distributed on.
    #[serde(default)]
    pub committed_ocr: i64,
    /// Translation used by the organisation itself.
    #[serde(default)]
    pub used_translate: i64,
    /// Redaction used by the organisation itself.
    #[serde(default)]
    pub used_redact: i64,
    /// OCR used by the organisation itself.
    #[serde(default)]
    pub used_ocr: i64,
}

impl Counters {
    /// Used or distributed on, of `service`.
    pub fn committed(&self, service: SolutionService) -> u64 {
        let n = match service {
            SolutionService::Translate => self.committed_translate,
            SolutionService::Redact => self.committed_redact,
            SolutionService::Ocr => self.committed_ocr,
        };
        n.max(0) as u64
    }

    /// Used by the organisation itself, of `service`.
    pub fn used(&self, service: SolutionService) -> u64 {
        let n = match service {
            SolutionService::Translate => self.used_translate,
            SolutionService::Redact => self.used_redact,
            SolutionService::Ocr => self.used_ocr,
        };
        n.max(0) as u64
    }
}

fn committed_attr(service: SolutionService) -> String {
    format!("committed{}", service.title())
}

fn used_attr(service: SolutionService) -> String {
    format!("used{}", service.title())
}

/// How long a distribution lasts (R-Q-9).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum DistributionDuration {
    /// "Doorlopend", the default: until used up.
    #[default]
    Continuous,
    /// "Aangepast": until used up or `expiresOn`, whichever comes first.
    Custom,
}

/// What the partner made of a distribution (W10).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum DistributionStatus {
    /// In use.
    Active,
    /// "Opschorten": the child's solutions stop until resumed (R-Q-13).
    Suspended,
    /// "Intrekken": ended; unused pages went back to the partner (R-Q-12).
    Revoked,
}

/// A partner's distribution to one child organisation, as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Distribution {
    /// The partner.
    pub partner_org_id: String,
    /// The child organisation.
    pub child_org_id: String,
    /// The child's name when the distribution was made.
    pub org_name: String,
    /// Per service, in characters; `None`: unlimited.
    pub limits: Limits,
    /// Continuous or custom.
    pub duration: DistributionDuration,
    /// The last day of a custom distribution.
    #[serde(default)]
    pub expires_on: Option<NaiveDate>,
    /// Whether to mail when (almost) used up (R-Q-10).
    pub notify_when_almost_used_up: bool,
    /// Who is mailed, at most 10.
    #[serde(default)]
    pub notification_emails: Vec<String>,
    /// Active, suspended or revoked.
    pub status: DistributionStatus,
    /// Increases with every change the partner makes.
    pub version: i64,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When the partner last changed it.
    pub updated_at: DateTime<Utc>,
    /// What the child committed.
    #[serde(flatten)]
    pub counters: Counters,
}

/// The body that creates (with `childOrgId`) or edits a distribution.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DistributionInput {
    /// The child organisation; needed to create, and if given on edit, the one edited.
    #[serde(default)]
    pub child_org_id: Option<String>,
    /// `continuous` (default) or `custom`.
    #[serde(default)]
    pub duration: DistributionDuration,
    /// The last day of a `custom` distribution, after today; not for `continuous`.
    #[serde(default)]
    pub expires_on: Option<NaiveDate>,
    /// Per service: unlimited, characters or pages (R-Q-7).
    pub limits: LimitsInput,
    /// Mail when 10 % or less is left and when nothing is (D-ALMOST-USED-UP).
    #[serde(default)]
    pub notify_when_almost_used_up: bool,
    /// Who is mailed, at most 10 (R-Q-10).
    #[serde(default)]
    pub notification_emails: Vec<String>,
    /// On edit: the version read; a different stored version answers 409 `conflict`.
    #[serde(default)]
    pub version: Option<i64>,
}

/// The body that revokes a distribution.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RevokeInput {
    /// The child organisation's name, typed exactly to confirm (R-Q-12).
    pub confirm_name: String,
}

/// The body that records an organisation's purchased amount.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PurchasedInput {
    /// Per service: unlimited, characters or pages.
    pub limits: LimitsInput,
    /// The version read; a different stored version answers 409 `conflict`.
    #[serde(default)]
    pub version: Option<i64>,
}

/// The purchased amount of an organisation without a distribution, as stored.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Purchased {
    #[serde(default)]
    limits: Limits,
    #[serde(default)]
    version: i64,
    #[serde(flatten)]
    counters: Counters,
}

/// Where an organisation's pool comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum PoolSource {
    /// Its own purchased amount.
    Purchased,
    /// A distribution from its partner.
    Distribution,
}

/// Whether a pool (or a distribution) can be used now.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum PoolState {
    /// Usable up to its limits.
    Active,
    /// Suspended by the partner (R-Q-13).
    Suspended,
    /// Revoked by the partner (R-Q-12).
    Revoked,
    /// A custom distribution past its last day (R-Q-9).
    Expired,
}

/// An organisation's pool, with what is needed to write to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pool {
    /// The item holding its counters.
    pub key: Key,
    /// Purchased or distributed.
    pub source: PoolSource,
    /// Usable or why not.
    pub state: PoolState,
    /// Its limits.
    pub limits: Limits,
    /// What is committed of it.
    pub counters: Counters,
    /// Its version (0: purchased amount never recorded).
    pub version: i64,
    /// The distribution, when it is one.
    pub distribution: Option<Distribution>,
}

/// An organisation's pool as answered (R-Q-14, R-Q-17).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PoolView {
    /// Purchased or distributed.
    pub source: PoolSource,
    /// Usable or why not.
    pub state: PoolState,
    /// Its limits.
    pub limits: LimitsView,
    /// Used by the organisation itself.
    pub used: LimitsView,
    /// Distributed to its children and not returned.
    pub distributed: LimitsView,
    /// Left to use or distribute.
    pub remaining: LimitsView,
    /// Continuous or custom, for a distribution.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration: Option<DistributionDuration>,
    /// The distribution's end date, only for a custom one (R-Q-14).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_on: Option<NaiveDate>,
    /// The pool's version (a purchased amount's, for `PUT .../purchased`).
    pub version: i64,
}

/// A distribution as the partner's list shows it (W10 step 5).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DistributionView {
    /// The child organisation.
    pub child_org_id: String,
    /// Its name.
    pub org_name: String,
    /// Active, suspended, revoked or expired.
    pub state: PoolState,
    /// Continuous or custom.
    pub duration: DistributionDuration,
    /// The last day of a custom distribution.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_on: Option<NaiveDate>,
    /// The expiry column: the date of a custom distribution, else `continuous`.
    pub expiry: String,
    /// When the partner last changed it.
    pub last_modified: DateTime<Utc>,
    /// Its limits.
    pub limits: LimitsView,
    /// Used by the child (and distributed on by it).
    pub used: LimitsView,
    /// Left; nothing once revoked.
    pub remaining: LimitsView,
    /// Whether the almost-used-up mail is on.
    pub notify_when_almost_used_up: bool,
    /// Who gets it.
    pub notification_emails: Vec<String>,
    /// Its version, for edits.
    pub version: i64,
}

/// The organisation's time zone (UTC when unknown).
pub fn zone(org: &Organisation) -> Tz {
    org.time_zone.parse().unwrap_or(chrono_tz::UTC)
}

fn today(ctx: &Ctx, org: &Organisation) -> NaiveDate {
    ctx.clock.now().with_timezone(&zone(org)).date_naive()
}

/// Whether a custom distribution ending on `expires_on` is over on `today` (R-Q-9).
pub fn expired(duration: DistributionDuration, expires_on: Option<NaiveDate>, today: NaiveDate) -> bool {
    duration == DistributionDuration::Custom && expires_on.is_some_and(|last| today > last)
}

/// What a distribution's status and expiry make of it on `today`.
pub fn state_of(distribution: &Distribution, today: NaiveDate) -> PoolState {
    match distribution.status {
        DistributionStatus::Suspended => PoolState::Suspended,
        DistributionStatus::Revoked => PoolState::Revoked,
        DistributionStatus::Active if expired(distribution.duration, distribution.expires_on, today) => {
            PoolState::Expired
        }
        DistributionStatus::Active => PoolState::Active,
    }
}

fn distribution_key(partner_org_id: &str, child_org_id: &str) -> Key {
    Key::new(store::org_partition(partner_org_id), format!("SDIST#{child_org_id}"))
}

fn purchased_key(org_id: &str) -> Key {
    Key::new(store::org_partition(org_id), "SQUOTAPOOL")
}

/// The distribution from `partner_org_id` to `child_org_id`, if any.
pub async fn find(ctx: &Ctx, partner_org_id: &str, child_org_id: &str) -> Result<Option<Distribution>, Problem> {
    Ok(crate::records::get(&*ctx.table, &distribution_key(partner_org_id, child_org_id)).await?)
}

fn no_such_distribution() -> Problem {
    Problem::not_found("No such distribution.")
}

/// The pool of `org`: its parent's distribution to it, else its purchased amount.
pub async fn pool_of(ctx: &Ctx, org: &Organisation) -> Result<Pool, Problem> {
    if let Some(parent) = &org.parent_id
        && let Some(distribution) = find(ctx, parent, &org.id).await?
    {
        return Ok(Pool {
            key: distribution_key(parent, &org.id),
            source: PoolSource::Distribution,
            state: state_of(&distribution, today(ctx, org)),
            limits: distribution.limits,
            counters: distribution.counters,
            version: distribution.version,
            distribution: Some(distribution),
        });
    }
    let purchased: Purchased = crate::records::get(&*ctx.table, &purchased_key(&org.id)).await?.unwrap_or_default();
    Ok(Pool {
        key: purchased_key(&org.id),
        source: PoolSource::Purchased,
        state: PoolState::Active,
        limits: purchased.limits,
        counters: purchased.counters,
        version: purchased.version,
        distribution: None,
    })
}

impl Pool {
    /// Left of `service` to use or distribute; `None`: unlimited.
    pub fn remaining(&self, service: SolutionService) -> Option<u64> {
        self.limits.of(service).map(|limit| limit.saturating_sub(self.counters.committed(service)))
    }

    /// Refuses while the pool is stopped (R-Q-13, R-Q-12, R-Q-9).
    pub fn usable(&self) -> Result<(), Problem> {
        let (code, why) = match self.state {
            PoolState::Active => return Ok(()),
            PoolState::Suspended => ("distribution_suspended", "is suspended by the partner (R-Q-13)"),
            PoolState::Revoked => ("distribution_revoked", "was revoked by the partner (R-Q-12)"),
            PoolState::Expired => ("distribution_expired", "expired (R-Q-9)"),
        };
        Err(Problem::new(
            StatusCode::CONFLICT,
            code,
            format!("The organisation's solution quota distribution {why}: translate, redact and OCR are stopped."),
        ))
    }

    /// The condition that the pool is still as read: same version (so the same limits and
    /// state); a purchased amount never recorded has no version yet.
    fn guard(&self) -> Condition {
        match (self.source, self.version) {
            (PoolSource::Purchased, 0) => Condition::AtMostOrAbsent("version".into(), 0),
            (_, version) => Condition::VersionEquals(version),
        }
    }

    /// The update that debits `characters` of `service`: conditional on the version and on
    /// what is left.
    pub fn debit(&self, service: SolutionService, characters: u64) -> Update {
        let mut conditions = vec![self.guard()];
        if let Some(limit) = self.limits.of(service) {
            conditions.push(Condition::AtMostOrAbsent(committed_attr(service), limit as i64 - characters as i64));
        }
        Update::new(self.key.clone())
            .add(committed_attr(service), characters as i64)
            .add(used_attr(service), characters as i64)
            .when(Condition::And(conditions))
    }

    /// The update that changes what is committed by `deltas` (a distribution made, edited
    /// or returned), conditional on the version and, for increases, on what is left;
    /// `None` when nothing changes.
    fn allocate(&self, deltas: &[(SolutionService, i64)]) -> Option<Update> {
        let mut update = Update::new(self.key.clone());
        let mut conditions = vec![self.guard()];
        for (service, delta) in deltas.iter().filter(|(_, delta)| *delta != 0) {
            update = update.add(committed_attr(*service), *delta);
            if let Some(limit) = self.limits.of(*service)
                && *delta > 0
            {
                conditions.push(Condition::AtMostOrAbsent(committed_attr(*service), limit as i64 - delta));
            }
        }
        (!update.add.is_empty()).then(|| update.when(Condition::And(conditions)))
    }

    /// The pool as answered.
    pub fn view(&self) -> PoolView {
        let counters = self.counters;
        let custom = self.distribution.as_ref().filter(|d| d.duration == DistributionDuration::Custom);
        PoolView {
            source: self.source,
            state: self.state,
            limits: self.limits.view(),
            used: LimitsView::from_fn(|s| Amount::characters(counters.used(s))),
            distributed: LimitsView::from_fn(|s| {
                Amount::characters(counters.committed(s).saturating_sub(counters.used(s)))
            }),
            remaining: LimitsView::from_fn(|s| Amount::of(self.remaining(s))),
            duration: self.distribution.as_ref().map(|d| d.duration),
            expires_on: custom.and_then(|d| d.expires_on),
            version: self.version,
        }
    }
}

// ---------------------------------------------------------------------------------------
// Who may do what (part-5 §3)
// ---------------------------------------------------------------------------------------

/// What a caller does with distributions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// List or read.
    View,
    /// Create.
    Create,
    /// Edit (R-Q-11).
    Edit,
    /// Suspend, resume or revoke.
    Control,
}

fn forbidden(detail: &str) -> Problem {
    Problem::new(StatusCode::FORBIDDEN, "forbidden", detail.to_string())
}

/// The caller may do `action` with the distributions of `org_id`, which must be their own
/// organisation (any other answers 404); see the module documentation for the roles.
pub async fn authorize(ctx: &Ctx, caller: &Caller, org_id: &str, action: Action) -> Result<(), Problem> {
    if org_id != caller.org_id() {
        return Err(Problem::not_found("No such organisation."));
    }
    let quota_admin = caller.allows(Permission::ManageSolutionQuotas);
    let partner_admin = caller.roles.contains(&Role::PartnerAdministrator);
    let allowed = match action {
        Action::View => quota_admin || partner_admin,
        Action::Create => quota_admin,
        Action::Edit => quota_admin || partner_admin,
        Action::Control => partner_admin,
    };
    if !allowed {
        return Err(forbidden("Your roles do not allow this."));
    }
    if action == Action::View {
        return Ok(());
    }
    let user_id = caller.require_user()?;
    let access_group = groups::access_group_id(ctx, org_id).await?;
    let user = store::get_user(ctx, org_id, user_id).await?;
    match (access_group, user) {
        (Some(group), Some(user)) if user.user.groups.contains(&group) => Ok(()),
        _ => Err(forbidden(
            "Distributions are managed by members of the organisation's child-organisation access group (part-5 §3).",
        )),
    }
}

// ---------------------------------------------------------------------------------------
// Terms, creation and edits (W10)
// ---------------------------------------------------------------------------------------

/// A distribution's terms, checked.
struct Terms {
    limits: Limits,
    duration: DistributionDuration,
    expires_on: Option<NaiveDate>,
    notify: bool,
    emails: Vec<String>,
}

/// The terms of `input`, or 400: a custom distribution needs a last day after `today`, a
/// continuous one has none (R-Q-9); at most 10 valid addresses (R-Q-10), at least one when
/// the mail is on.
fn terms(input: &DistributionInput, today: NaiveDate) -> Result<Terms, Problem> {
    let limits = input.limits.resolve("limits")?;
    match (input.duration, input.expires_on) {
        (DistributionDuration::Continuous, Some(_)) => {
            return Err(invalid("expiresOn", "only a custom distribution has an expiry date (R-Q-9)"));
        }
        (DistributionDuration::Custom, None) => {
            return Err(invalid("expiresOn", "a custom distribution needs its expiry date (R-Q-9)"));
        }
        (DistributionDuration::Custom, Some(last)) if last <= today => {
            return Err(invalid("expiresOn", format!("the expiry date must be after today ({today})")));
        }
        _ => {}
    }
    let mut emails: Vec<String> = Vec::new();
    for (n, email) in input.notification_emails.iter().enumerate() {
        let email = email.trim().to_lowercase();
        if !users::is_email(&email) {
            return Err(invalid(&format!("notificationEmails[{n}]"), "not an e-mail address"));
        }
        if !emails.contains(&email) {
            emails.push(email);
        }
    }
    if emails.len() > MAX_NOTIFICATION_EMAILS {
        return Err(invalid("notificationEmails", format!("at most {MAX_NOTIFICATION_EMAILS} addresses (R-Q-10)")));
    }
    if input.notify_when_almost_used_up && emails.is_empty() {
        return Err(invalid("notificationEmails", "add at least one address to be notified"));
    }
    Ok(Terms {
        limits,
        duration: input.duration,
        expires_on: input.expires_on,
        notify: input.notify_when_almost_used_up,
        emails,
    })
}

/// What a distribution takes from its partner's pool of `service`: its limit; an
/// unlimited one (only from an unlimited pool) takes nothing countable.
fn allocation(limits: &Limits, service: SolutionService) -> i64 {
    limits.of(service).unwrap_or(0) as i64
}

/// The changes to the partner's committed amounts when a distribution's limits go from
/// `old` to `new`, or the refusal when the partner does not hold that much (R-Q-1).
fn fit(partner: &Pool, old: Option<&Limits>, new: &Limits) -> Result<Vec<(SolutionService, i64)>, Problem> {
    partner.usable()?;
    let mut deltas = Vec::new();
    for service in SolutionService::ALL {
        let delta = allocation(new, service) - old.map_or(0, |old| allocation(old, service));
        match (partner.remaining(service), new.of(service)) {
            (Some(_), None) => return Err(over_distribution(service, partner.remaining(service))),
            (Some(left), Some(_)) if delta > left as i64 => return Err(over_distribution(service, Some(left))),
            _ => {}
        }
        deltas.push((service, delta));
    }
    Ok(deltas)
}

fn over_distribution(service: SolutionService, available: Option<u64>) -> Problem {
    let left = available.unwrap_or(0);
    Problem::new(
        StatusCode::CONFLICT,
        "distribution_exceeds_available",
        format!(
            "{}: a partner cannot distribute more than it holds (R-Q-1): {left} character(s) ({} page(s)) \
             available, and Unlimited only from an unlimited pool.",
            service.label(),
            quotas::pages(left)
        ),
    )
    .with("service", service.as_str())
    .with("available", left)
    .with("availablePages", quotas::pages(left))
}

/// The child organisation `child_org_id` of `partner_org_id`, or 404.
async fn child_of(ctx: &Ctx, partner_org_id: &str, child_org_id: &str) -> Result<Organisation, Problem> {
    let child = store::get_org(ctx, child_org_id).await?;
    child
        .filter(|child| child.parent_id.as_deref() == Some(partner_org_id))
        .ok_or_else(|| Problem::not_found("No such child organisation."))
}

/// The mail marks of a new distribution: nothing mailed yet.
fn fresh_marks() -> Vec<(String, Value)> {
    SolutionService::ALL
        .into_iter()
        .flat_map(|s| [Level::Low, Level::Empty].map(|level| (level.attr(s), Value::Bool(false))))
        .collect()
}

/// Creates the distribution of `input.childOrgId` from `partner_org_id` (W10 step 1).
/// The child must be a child of the partner (404); a distribution that is not revoked
/// already exists answers 409 `distribution_exists` (edit it instead); a revoked one is
/// replaced.
pub async fn create(ctx: &Ctx, partner_org_id: &str, input: DistributionInput) -> Result<DistributionView, Problem> {
    let child_id = input.child_org_id.clone().ok_or_else(|| invalid("childOrgId", "name the child organisation"))?;
    let child = child_of(ctx, partner_org_id, child_id.trim()).await?;
    let terms = terms(&input, today(ctx, &child))?;
    let partner = pool_of(ctx, &quotas::organisation(ctx, partner_org_id).await?).await?;
    let deltas = fit(&partner, None, &terms.limits)?;
    let existing = find(ctx, partner_org_id, &child.id).await?;
    let condition = match &existing {
        Some(old) if old.status != DistributionStatus::Revoked => {
            return Err(Problem::new(
                StatusCode::CONFLICT,
                "distribution_exists",
                "The child organisation already has a distribution; edit it instead (R-Q-11).",
            ));
        }
        Some(old) => Condition::VersionEquals(old.version),
        None => Condition::Absent,
    };
    let now = ctx.clock.now();
    let distribution = Distribution {
        partner_org_id: partner_org_id.to_string(),
        child_org_id: child.id.clone(),
        org_name: child.name.clone(),
        limits: terms.limits,
        duration: terms.duration,
        expires_on: terms.expires_on,
        notify_when_almost_used_up: terms.notify,
        notification_emails: terms.emails,
        status: DistributionStatus::Active,
        version: existing.map_or(1, |old| old.version + 1),
        created_at: now,
        updated_at: now,
        counters: Counters::default(),
    };
    let marks = fresh_marks();
    let marks: Vec<(&str, Value)> = marks.iter().map(|(attr, value)| (attr.as_str(), value.clone())).collect();
    let key = distribution_key(partner_org_id, &child.id);
    let mut writes = vec![Write::Put { item: to_item(&distribution, &key, &marks)?, condition }];
    writes.extend(partner.allocate(&deltas).map(Write::Update));
    transact_against(ctx, writes, partner_org_id, &terms.limits, None).await?;
    Ok(view(&distribution, &child.name, today(ctx, &child)))
}

/// Runs the writes of a distribution change whose partner-pool write (if any) is the last;
/// a cancellation is explained: the partner no longer holds enough (R-Q-1), or someone
/// changed something meanwhile.
async fn transact_against(
    ctx: &Ctx,
    writes: Vec<Write>,
    partner_org_id: &str,
    new: &Limits,
    old: Option<&Limits>,
) -> Result<(), Problem> {
    match ctx.table.transact(writes).await {
        Ok(()) => Ok(()),
        Err(StoreError::TransactionCanceled { .. }) => {
            let fresh = pool_of(ctx, &quotas::organisation(ctx, partner_org_id).await?).await?;
            fit(&fresh, old, new)?;
            Err(Problem::new(
                StatusCode::CONFLICT,
                "conflict",
                "The distribution or the partner's pool changed meanwhile; reload and try again.",
            ))
        }
        Err(other) => Err(other.into()),
    }
}

/// The distribution from `partner_org_id` to `child_org_id`, or 404.
pub async fn get(ctx: &Ctx, partner_org_id: &str, child_org_id: &str) -> Result<DistributionView, Problem> {
    let distribution = find(ctx, partner_org_id, child_org_id).await?.ok_or_else(no_such_distribution)?;
    describe(ctx, &distribution).await
}

/// The distribution as answered, with its child's current name and time zone.
async fn describe(ctx: &Ctx, distribution: &Distribution) -> Result<DistributionView, Problem> {
    match store::get_org(ctx, &distribution.child_org_id).await? {
        Some(child) => Ok(view(distribution, &child.name, today(ctx, &child))),
        None => Ok(view(distribution, &distribution.org_name, ctx.clock.now().date_naive())),
    }
}

fn view(distribution: &Distribution, name: &str, today: NaiveDate) -> DistributionView {
    let state = state_of(distribution, today);
    let counters = distribution.counters;
    let remaining = |service| match (state, distribution.limits.of(service)) {
        (PoolState::Revoked, _) => Amount::characters(0),
        (_, limit) => Amount::of(limit.map(|limit| limit.saturating_sub(counters.committed(service)))),
    };
    DistributionView {
        child_org_id: distribution.child_org_id.clone(),
        org_name: name.to_string(),
        state,
        duration: distribution.duration,
        expires_on: distribution.expires_on,
        expiry: match (distribution.duration, distribution.expires_on) {
            (DistributionDuration::Custom, Some(last)) => last.to_string(),
            _ => "continuous".into(),
        },
        last_modified: distribution.updated_at,
        limits: distribution.limits.view(),
        used: LimitsView::from_fn(|s| Amount::characters(counters.committed(s))),
        remaining: LimitsView::from_fn(remaining),
        notify_when_almost_used_up: distribution.notify_when_almost_used_up,
        notification_emails: distribution.notification_emails.clone(),
        version: distribution.version,
    }
}

/// One page of the partner's distributions, by child organisation id.
pub async fn list(
    ctx: &Ctx,
    partner_org_id: &str,
    limit: u32,
    cursor: Option<String>,
) -> Result<(Vec<DistributionView>, Option<String>), Problem> {
    let query = Query::partition(store::org_partition(partner_org_id)).begins_with("SDIST#").limit(limit).after(cursor);
    let page = ctx.table.query_json(&query).await?;
    let mut views = Vec::with_capacity(page.items.len());
    for item in &page.items {
        views.push(describe(ctx, &crate::records::from_json::<Distribution>(item)?).await?);
    }
    Ok((views, page.cursor))
}

/// Every distribution of the partner that is not revoked.
async fn outstanding(ctx: &Ctx, partner_org_id: &str) -> Result<Vec<Distribution>, Problem> {
    let mut found = Vec::new();
    let mut cursor = None;
    loop {
        let query =
            Query::partition(store::org_partition(partner_org_id)).begins_with("SDIST#").limit(500).after(cursor);
        let page = ctx.table.query_json(&query).await?;
        for item in &page.items {
            let distribution: Distribution = crate::records::from_json(item)?;
            if distribution.status != DistributionStatus::Revoked {
                found.push(distribution);
            }
        }
        cursor = page.cursor;
        if cursor.is_none() {
            return Ok(found);
        }
    }
}

/// The mail marks an edit clears: those whose threshold the new limit no longer meets, so
/// a later crossing mails again.
fn marks_to_clear(limits: &Limits, counters: &Counters) -> Vec<String> {
    let mut clear = Vec::new();
    for service in SolutionService::ALL {
        let level =
            limits.of(service).and_then(|limit| alert_level(limit, limit.saturating_sub(counters.committed(service))));
        match level {
            None => clear.extend([Level::Low.attr(service), Level::Empty.attr(service)]),
            Some(Level::Low) => clear.push(Level::Empty.attr(service)),
            Some(Level::Empty) => {}
        }
    }
    clear
}

/// Edits a distribution that is not revoked (R-Q-11): limits (never below what the child
/// has used), duration and expiry, the mail. More pages must fit in what the partner holds
/// (R-Q-1); fewer go back to it.
pub async fn edit(
    ctx: &Ctx,
    partner_org_id: &str,
    child_org_id: &str,
    input: DistributionInput,
) -> Result<DistributionView, Problem> {
    if input.child_org_id.as_deref().is_some_and(|id| id.trim() != child_org_id) {
        return Err(invalid("childOrgId", "the distribution's child organisation cannot change"));
    }
    let current = find(ctx, partner_org_id, child_org_id).await?.ok_or_else(no_such_distribution)?;
    if current.status == DistributionStatus::Revoked {
        return Err(revoked_problem());
    }
    if input.version.is_some_and(|v| v != current.version) {
        return Err(Problem::new(StatusCode::CONFLICT, "conflict", "The distribution changed meanwhile; reload it."));
    }
    let child = child_of(ctx, partner_org_id, child_org_id).await?;
    let terms = terms(&input, today(ctx, &child))?;
    let mut conditions = vec![Condition::VersionEquals(current.version)];
    for service in SolutionService::ALL {
        let Some(limit) = terms.limits.of(service) else { continue };
        let committed = current.counters.committed(service);
        if limit < committed {
            return Err(Problem::new(
                StatusCode::CONFLICT,
                "distribution_below_used",
                format!(
                    "{}: the child has already used {committed} character(s); the limit cannot be lower.",
                    service.label()
                ),
            )
            .with("service", service.as_str())
            .with("used", committed));
        }
        conditions.push(Condition::AtMostOrAbsent(committed_attr(service), limit as i64));
    }
    let partner = pool_of(ctx, &quotas::organisation(ctx, partner_org_id).await?).await?;
    let deltas = fit(&partner, Some(&current.limits), &terms.limits)?;
    let now = ctx.clock.now();
    let limits = serde_json::to_value(terms.limits).map_err(Problem::internal)?;
    let mut update = Update::new(distribution_key(partner_org_id, child_org_id))
        .set("limits", limits)
        .set("duration", json!(terms.duration))
        .set("expiresOn", json!(terms.expires_on))
        .set("notifyWhenAlmostUsedUp", terms.notify)
        .set("notificationEmails", json!(terms.emails))
        .set("updatedAt", json!(now))
        .add("version", 1);
    for mark in marks_to_clear(&terms.limits, &current.counters) {
        update = update.set(mark, false);
    }
    let mut writes = vec![Write::Update(update.when(Condition::And(conditions)))];
    writes.extend(partner.allocate(&deltas).map(Write::Update));
    transact_against(ctx, writes, partner_org_id, &terms.limits, Some(&current.limits)).await?;
    get(ctx, partner_org_id, child_org_id).await
}

fn revoked_problem() -> Problem {
    Problem::new(StatusCode::CONFLICT, "distribution_revoked", "The distribution was revoked; create a new one.")
}

/// Suspends (`to` = suspended) or resumes (`to` = active) a distribution (R-Q-13): only
/// from the other of the two states, else 409 `invalid_distribution_state`.
pub async fn set_status(
    ctx: &Ctx,
    partner_org_id: &str,
    child_org_id: &str,
    to: DistributionStatus,
) -> Result<DistributionView, Problem> {
    let current = find(ctx, partner_org_id, child_org_id).await?.ok_or_else(no_such_distribution)?;
    let from = match to {
        DistributionStatus::Suspended => DistributionStatus::Active,
        _ => DistributionStatus::Suspended,
    };
    if current.status == DistributionStatus::Revoked {
        return Err(revoked_problem());
    }
    if current.status != from {
        return Err(Problem::new(
            StatusCode::CONFLICT,
            "invalid_distribution_state",
            format!(
                "Only a {} distribution can be {}.",
                json!(from).as_str().unwrap_or_default(),
                match to {
                    DistributionStatus::Suspended => "suspended",
                    _ => "resumed",
                }
            ),
        ));
    }
    let update = Update::new(distribution_key(partner_org_id, child_org_id))
        .set("status", json!(to))
        .set("updatedAt", json!(ctx.clock.now()))
        .add("version", 1)
        .when(Condition::And(vec![
            Condition::VersionEquals(current.version),
            Condition::Equals("status".into(), json!(from)),
        ]));
    match ctx.table.update(update).await {
        Ok(_) => get(ctx, partner_org_id, child_org_id).await,
        Err(StoreError::ConditionFailed) => {
            Err(Problem::new(StatusCode::CONFLICT, "conflict", "The distribution changed meanwhile; reload it."))
        }
        Err(other) => Err(other.into()),
    }
}

/// Revokes a distribution after the child organisation's name is typed exactly (R-Q-12):
/// the child's solutions stop, and what it did not use goes back to the partner's pool.
pub async fn revoke(
    ctx: &Ctx,
    partner_org_id: &str,
    child_org_id: &str,
    input: RevokeInput,
) -> Result<DistributionView, Problem> {
    let current = find(ctx, partner_org_id, child_org_id).await?.ok_or_else(no_such_distribution)?;
    let name = store::get_org(ctx, child_org_id).await?.map_or(current.org_name.clone(), |child| child.name);
    if input.confirm_name != name {
        return Err(Problem::new(
            StatusCode::BAD_REQUEST,
            "confirmation_mismatch",
            "confirmName: type the child organisation's name exactly to confirm the revocation (R-Q-12)",
        ));
    }
    if current.status == DistributionStatus::Revoked {
        return Err(revoked_problem());
    }
    let partner = pool_of(ctx, &quotas::organisation(ctx, partner_org_id).await?).await?;
    let mut conditions = vec![Condition::VersionEquals(current.version)];
    let mut returned = Update::new(partner.key.clone());
    for service in SolutionService::ALL {
        let Some(limit) = current.limits.of(service) else { continue };
        let committed = current.counters.committed(service);
        conditions.push(Condition::AtMostOrAbsent(committed_attr(service), committed as i64));
        let unused = limit.saturating_sub(committed) as i64;
        if unused > 0 {
            returned = returned.add(committed_attr(service), -unused);
        }
    }
    let update = Update::new(distribution_key(partner_org_id, child_org_id))
        .set("status", json!(DistributionStatus::Revoked))
        .set("updatedAt", json!(ctx.clock.now()))
        .add("version", 1)
        .when(Condition::And(conditions));
    let mut writes = vec![Write::Update(update)];
    if !returned.add.is_empty() {
        writes.push(Write::Update(returned.when(Condition::Exists)));
    }
    match ctx.table.transact(writes).await {
        Ok(()) => get(ctx, partner_org_id, child_org_id).await,
        Err(StoreError::TransactionCanceled { .. }) => {
            Err(Problem::new(StatusCode::CONFLICT, "conflict", "The distribution changed meanwhile; try again."))
        }
        Err(other) => Err(other.into()),
    }
}

/// Records the purchased amount of an organisation that has no distribution from a partner
/// (its pool, and so what it can distribute, R-Q-1). Refused for an organisation whose
/// pool is a distribution (409 `pool_is_distribution`), and a limit on a service the
/// organisation distributed as Unlimited (409 `unlimited_distributions_exist`).
pub async fn set_purchased(ctx: &Ctx, org_id: &str, input: PurchasedInput) -> Result<PoolView, Problem> {
    let limits = input.limits.resolve("limits")?;
    let org = quotas::organisation(ctx, org_id).await?;
    let pool = pool_of(ctx, &org).await?;
    if pool.source == PoolSource::Distribution {
        return Err(Problem::new(
            StatusCode::CONFLICT,
            "pool_is_distribution",
            "The organisation's pool is its partner's distribution; the partner edits that.",
        ));
    }
    if input.version.is_some_and(|v| v != pool.version) {
        return Err(Problem::new(StatusCode::CONFLICT, "conflict", "The purchased amount changed meanwhile."));
    }
    for distribution in outstanding(ctx, org_id).await? {
        if let Some(service) =
            SolutionService::ALL.into_iter().find(|s| limits.of(*s).is_some() && distribution.limits.of(*s).is_none())
        {
            return Err(Problem::new(
                StatusCode::CONFLICT,
                "unlimited_distributions_exist",
                format!(
                    "{}: the distribution to {} is Unlimited; limit or revoke it first.",
                    service.label(),
                    distribution.org_name
                ),
            ));
        }
    }
    let json_limits = serde_json::to_value(limits).map_err(Problem::internal)?;
    let update = Update::new(purchased_key(org_id))
        .set("limits", json_limits)
        .set("updatedAt", json!(ctx.clock.now()))
        .add("version", 1)
        .when(pool.guard());
    match ctx.table.update(update).await {
        Ok(_) => Ok(pool_of(ctx, &org).await?.view()),
        Err(StoreError::ConditionFailed) => {
            Err(Problem::new(StatusCode::CONFLICT, "conflict", "The purchased amount changed meanwhile."))
        }
        Err(other) => Err(other.into()),
    }
}

// ---------------------------------------------------------------------------------------
// The almost-used-up mail (R-Q-10, D-ALMOST-USED-UP)
// ---------------------------------------------------------------------------------------

/// Which mail a distribution's remainder calls for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// 10 % or less is left.
    Low,
    /// Nothing is left.
    Empty,
}

impl Level {
    /// The attribute marking that this mail of `service` was sent.
    fn attr(self, service: SolutionService) -> String {
        match self {
            Level::Low => format!("mailedLow{}", service.title()),
            Level::Empty => format!("mailedEmpty{}", service.title()),
        }
    }
}

/// The mail `remaining` of `limit` calls for (D-ALMOST-USED-UP): at 10 % or less, and at
/// nothing left.
pub fn alert_level(limit: u64, remaining: u64) -> Option<Level> {
    if remaining == 0 {
        Some(Level::Empty)
    } else if u128::from(remaining) * 10 <= u128::from(limit) {
        Some(Level::Low)
    } else {
        None
    }
}

/// After a debit of `service` from `pool`: mails the distribution's addresses when it
/// crossed 10 % left or nothing left, each once. Failures are logged: the debit stands.
pub async fn after_debit(ctx: &Ctx, pool: &Pool, service: SolutionService) {
    if let Err(problem) = notify(ctx, pool, service).await {
        tracing::warn!(code = %problem.code, detail = %problem.detail, "almost-used-up mail not sent");
    }
}

async fn notify(ctx: &Ctx, pool: &Pool, service: SolutionService) -> Result<(), Problem> {
    let Some(before) = &pool.distribution else { return Ok(()) };
    if !before.notify_when_almost_used_up || before.notification_emails.is_empty() {
        return Ok(());
    }
    let Some(now) = find(ctx, &before.partner_org_id, &before.child_org_id).await? else { return Ok(()) };
    let Some(limit) = now.limits.of(service) else { return Ok(()) };
    let remaining = limit.saturating_sub(now.counters.committed(service));
    let Some(level) = alert_level(limit, remaining) else { return Ok(()) };
    let key = distribution_key(&now.partner_org_id, &now.child_org_id);
    let mut claim = Update::new(key.clone()).set(level.attr(service), true);
    if level == Level::Empty {
        claim = claim.set(Level::Low.attr(service), true);
    }
    match ctx.table.update(claim.when(Condition::Equals(level.attr(service), json!(false)))).await {
        Ok(_) => {}
        Err(StoreError::ConditionFailed) => return Ok(()),
        Err(other) => return Err(other.into()),
    }
    let partner_name = store::get_org(ctx, &now.partner_org_id).await?.map(|o| o.name).unwrap_or_default();
    let mail = letter(&partner_name, &now, level, service, remaining)
        .to_mail(&ctx.config.mail_from, now.notification_emails.clone());
    if let Err(err) = ctx.mailer.send(&mail).await {
        let release = Update::new(key).set(level.attr(service), false);
        ctx.table.update(release).await?;
        return Err(Problem::internal(err));
    }
    tracing::info!(partner = %now.partner_org_id, child = %now.child_org_id, ?level, "distribution mail sent");
    Ok(())
}

/// The almost-used-up (or used-up) mail of `distribution`'s `service`.
fn letter(
    partner_name: &str,
    distribution: &Distribution,
    level: Level,
    service: SolutionService,
    remaining: u64,
) -> Letter {
    let what = match level {
        Level::Low => "almost used up",
        Level::Empty => "used up",
    };
    let limit = distribution.limits.of(service).unwrap_or(0);
    Letter::new(partner_name, format!("the distribution to {} is {what}", distribution.org_name))
        .text(format!(
            "{} of the solution quota distribution to {} is {what}: {} page(s) ({remaining} characters) left of {} page(s).",
            service.label(),
            distribution.org_name,
            quotas::pages(remaining),
            quotas::pages(limit),
        ))
        .text("To give the organisation more pages, edit its distribution in the Solution Quota Manager (Distributions).")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(json: Value) -> DistributionInput {
        serde_json::from_value(json).unwrap()
    }

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    fn unlimited_all() -> Value {
        json!({"translate": {"kind": "unlimited"}, "redact": {"kind": "unlimited"}, "ocr": {"kind": "unlimited"}})
    }

    #[test]
    fn d_almost_used_up_at_ten_percent_and_at_nothing() {
        assert_eq!(alert_level(1_000, 101), None, "10.1 % left");
        assert_eq!(alert_level(1_000, 100), Some(Level::Low), "10 % left");
        assert_eq!(alert_level(1_000, 1), Some(Level::Low));
        assert_eq!(alert_level(1_000, 0), Some(Level::Empty));
        assert_eq!(alert_level(0, 0), Some(Level::Empty));
    }

    #[test]
    fn r_q_9_continuous_is_the_default_and_custom_needs_a_future_expiry() {
        let today = day("2026-03-10");
        let continuous = terms(&input(json!({"limits": unlimited_all()})), today).unwrap();
        assert_eq!((continuous.duration, continuous.expires_on), (DistributionDuration::Continuous, None));
        for bad in [
            json!({"limits": unlimited_all(), "duration": "custom"}),
            json!({"limits": unlimited_all(), "duration": "custom", "expiresOn": "2026-03-10"}),
            json!({"limits": unlimited_all(), "expiresOn": "2026-04-01"}),
        ] {
            let problem = terms(&input(bad), today).err().unwrap();
            assert_eq!((problem.code.as_str(), problem.detail.starts_with("expiresOn")), ("invalid_field", true));
        }
        let custom = json!({"limits": unlimited_all(), "duration": "custom", "expiresOn": "2026-03-11"});
        assert_eq!(terms(&input(custom), today).unwrap().expires_on, Some(day("2026-03-11")));
    }

    #[test]
    fn r_q_9_a_custom_distribution_runs_through_its_last_day() {
        let last = Some(day("2026-03-11"));
        assert!(!expired(DistributionDuration::Custom, last, day("2026-03-11")));
        assert!(expired(DistributionDuration::Custom, last, day("2026-03-12")));
        assert!(!expired(DistributionDuration::Continuous, last, day("2030-01-01")));
    }

    #[test]
    fn r_q_10_at_most_ten_valid_addresses_and_one_when_notifying() {
        let today = day("2026-03-10");
        let emails: Vec<String> = (0..11).map(|n| format!("p{n}@example.org")).collect();
        let eleven = json!({"limits": unlimited_all(), "notifyWhenAlmostUsedUp": true, "notificationEmails": emails});
        assert_eq!(terms(&input(eleven), today).err().unwrap().code, "invalid_field");
        let bad = json!({"limits": unlimited_all(), "notificationEmails": ["not-an-address"]});
        assert_eq!(terms(&input(bad), today).err().unwrap().code, "invalid_field");
        let none = json!({"limits": unlimited_all(), "notifyWhenAlmostUsedUp": true});
        assert_eq!(terms(&input(none), today).err().unwrap().code, "invalid_field");
        let same = json!({"limits": unlimited_all(), "notificationEmails": ["A@example.org", "a@example.org "]});
        assert_eq!(terms(&input(same), today).unwrap().emails, vec!["a@example.org".to_string()]);
    }

    fn purchased_pool(limits: Limits, committed_translate: i64) -> Pool {
        Pool {
            key: purchased_key("p"),
            source: PoolSource::Purchased,
            state: PoolState::Active,
            limits,
            counters: Counters { committed_translate, ..Counters::default() },
            version: 1,
            distribution: None,
        }
    }

    #[test]
    fn r_q_1_a_partner_distributes_at_most_what_it_holds() {
        let partner = purchased_pool(Limits { translate: Some(10_000), redact: None, ocr: None }, 4_000);
        let fits = Limits { translate: Some(6_000), redact: None, ocr: Some(5) };
        assert_eq!(fit(&partner, None, &fits).unwrap()[0], (SolutionService::Translate, 6_000));
        let over = Limits { translate: Some(6_001), ..fits };
        let problem = fit(&partner, None, &over).err().unwrap();
        assert_eq!(problem.code, "distribution_exceeds_available");
        assert_eq!(problem.extensions.unwrap()["available"], 6_000);
        let unlimited = Limits { translate: None, ..fits };
        assert_eq!(fit(&partner, None, &unlimited).err().unwrap().code, "distribution_exceeds_available");
        let edited = Limits { translate: Some(9_000), ..fits };
        let old = Limits { translate: Some(3_000), ..fits };
        assert_eq!(fit(&partner, Some(&old), &edited).unwrap()[0], (SolutionService::Translate, 6_000), "R-Q-11");
    }

    #[test]
    fn an_edit_clears_the_marks_the_new_limit_no_longer_meets() {
        let counters = Counters { committed_translate: 950, ..Counters::default() };
        let raised = Limits { translate: Some(2_000), redact: Some(10), ocr: None };
        let clear = marks_to_clear(&raised, &counters);
        assert!(clear.contains(&"mailedLowTranslate".to_string()) && clear.contains(&"mailedEmptyTranslate".into()));
        let still_low = Limits { translate: Some(1_000), ..raised };
        let clear = marks_to_clear(&still_low, &counters);
        assert!(!clear.contains(&"mailedLowTranslate".to_string()) && clear.contains(&"mailedEmptyTranslate".into()));
    }
}
