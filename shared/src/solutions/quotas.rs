//! Solution quotas (Solution Quota Manager, part-5 §2.13, §4.8, W11): what each user may
//! translate, redact and OCR a month, and the debit of what a solution step processed.
//!
//! Unit (D-SOLUTION-UNIT, R-Q-2): characters processed. Answers show the characters and
//! the pages they make, 1,800 characters a page, rounded up.
//!
//! Every debit meets two bounds, written in one transaction:
//! - the user's effective quota this month (D-QUOTA-PERIOD: the calendar month in the
//!   organisation's time zone): their personal custom quota, else their cost centre's or
//!   department's (an organisation uses one of the two kinds, never both, R-Q-5), else the
//!   organisation's default (D-QUOTA-PRECEDENCE, R-Q-4). The default is unlimited until
//!   set, so by default every user shares the organisation's whole pool (R-Q-3);
//! - the organisation's pool ([`super::distributions`]): what its partner distributed to
//!   it, or what it purchased itself. A pool is not monthly: it lasts until used up.
//!
//! Layout, in the organisation's partition:
//! - `SQUOTA#DEFAULT`: the default user quota;
//! - `SQUOTA#CUSTOM#<kind>#<key>`: a custom quota; the key is the user id, or the
//!   lower-cased cost-centre or department name;
//! - `SQUOTA#GROUPKIND`: which of cost centre and department the custom quotas use and how
//!   many there are, changed in the same transaction as each such quota (R-Q-5);
//! - `SQUOTAUSE#<user>#<yyyy-mm>`: characters used per service (`translate`, `redact`,
//!   `ocr`), each increment conditional on the user's limit;
//! - `SQDEBIT#<onceKey>`: the marker of a debit, written in its transaction, so a debit
//!   happens once per key however often it is retried (kept 90 days).

use super::distributions::{self, Pool, PoolView};
use crate::context::Ctx;
use crate::http::Problem;
use crate::identity::model::{Organisation, User};
use crate::identity::store;
use crate::ports::StoreError;
use crate::ports::table::{Condition, Key, Query, Update, Write};
use crate::print::policies::AssignmentKind;
use crate::quota::limits::{month_key, month_of};
use crate::records::to_item;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// Characters per page where the product speaks of pages (D-SOLUTION-UNIT).
pub const PAGE_CHARACTERS: u64 = 1_800;

/// Largest limit of one service, in characters: far beyond any organisation's use, and
/// small enough that sums of many of them never overflow.
pub const MAX_CHARACTERS: u64 = 1_000_000_000_000;

/// Longest once-key of a debit.
pub const MAX_ONCE_KEY: usize = 200;

/// How long the marker of a debit is kept: retries of a step come within minutes or hours.
const DEBIT_MARK_DAYS: i64 = 90;

/// How often a debit re-reads and tries again when its transaction was cancelled. Each
/// cancellation of a debit that still fits means another debit was written meanwhile, so
/// a debit gives up only under heavy contention (409 `conflict`, which a step retries).
const DEBIT_ATTEMPTS: u32 = 25;

/// The pause before another attempt: a random time up to 2 ms per attempt so far (at most
/// 50 ms), so the debits that collided do not collide again.
fn retry_pause(attempt: u32) -> std::time::Duration {
    std::time::Duration::from_millis(rand::random_range(1..=u64::from(attempt.clamp(1, 25)) * 2))
}

/// A service with its own limits (part-5 §2.13).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum SolutionService {
    /// Translation ("vertalen").
    Translate,
    /// Redaction ("redigeren").
    Redact,
    /// Optical character recognition.
    Ocr,
}

impl SolutionService {
    /// Every service, in the order answers list them.
    pub const ALL: [SolutionService; 3] = [SolutionService::Translate, SolutionService::Redact, SolutionService::Ocr];

    /// The service as in JSON and in usage attributes.
    pub fn as_str(self) -> &'static str {
        match self {
            SolutionService::Translate => "translate",
            SolutionService::Redact => "redact",
            SolutionService::Ocr => "ocr",
        }
    }

    /// The suffix of counter attributes (`committedTranslate`).
    pub fn title(self) -> &'static str {
        match self {
            SolutionService::Translate => "Translate",
            SolutionService::Redact => "Redact",
            SolutionService::Ocr => "Ocr",
        }
    }

    /// The service as people read it (mails, problem details).
    pub fn label(self) -> &'static str {
        match self {
            SolutionService::Translate => "Translation",
            SolutionService::Redact => "Redaction",
            SolutionService::Ocr => "OCR",
        }
    }
}

/// The pages `characters` make (D-SOLUTION-UNIT): 1,800 characters a page, rounded up.
pub fn pages(characters: u64) -> u64 {
    characters.div_ceil(PAGE_CHARACTERS)
}

/// An amount as answered: characters and the pages they make, or unlimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Amount {
    /// No limit (R-Q-7); then there are no numbers.
    pub unlimited: bool,
    /// Characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub characters: Option<u64>,
    /// Pages of 1,800 characters, rounded up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pages: Option<u64>,
}

impl Amount {
    /// `limit` characters, or unlimited for `None`.
    pub fn of(limit: Option<u64>) -> Self {
        Amount { unlimited: limit.is_none(), characters: limit, pages: limit.map(pages) }
    }

    /// Exactly `characters`.
    pub fn characters(characters: u64) -> Self {
        Amount::of(Some(characters))
    }
}

/// One service's limit as given: unlimited (R-Q-7), or a number of characters or pages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum LimitInput {
    /// No limit.
    Unlimited,
    /// Up to this many characters.
    Characters {
        /// The characters.
        characters: u64,
    },
    /// Up to this many pages of 1,800 characters.
    Pages {
        /// The pages.
        pages: u64,
    },
}

impl LimitInput {
    /// The limit in characters (`None`: unlimited), or 400 naming `field` when too large.
    pub fn characters(self, field: &str) -> Result<Option<u64>, Problem> {
        let characters = match self {
            LimitInput::Unlimited => return Ok(None),
            LimitInput::Characters { characters } => characters,
            LimitInput::Pages { pages } => pages.saturating_mul(PAGE_CHARACTERS),
        };
        if characters > MAX_CHARACTERS {
            let most = format!("at most {MAX_CHARACTERS} characters ({} pages)", pages(MAX_CHARACTERS));
            return Err(invalid(field, most));
        }
        Ok(Some(characters))
    }
}

/// The three services' limits as given.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LimitsInput {
    /// Translation.
    pub translate: LimitInput,
    /// Redaction.
    pub redact: LimitInput,
    /// OCR.
    pub ocr: LimitInput,
}

impl LimitsInput {
    /// The limits in characters, or 400 naming the field (under `field`) that is too large.
    pub fn resolve(self, field: &str) -> Result<Limits, Problem> {
        Ok(Limits {
            translate: self.translate.characters(&format!("{field}.translate"))?,
            redact: self.redact.characters(&format!("{field}.redact"))?,
            ocr: self.ocr.characters(&format!("{field}.ocr"))?,
        })
    }
}

/// The three services' limits as stored, in characters; `None` is unlimited.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Limits {
    /// Translation.
    #[serde(default)]
    pub translate: Option<u64>,
    /// Redaction.
    #[serde(default)]
    pub redact: Option<u64>,
    /// OCR.
    #[serde(default)]
    pub ocr: Option<u64>,
}

impl Limits {
    /// No limit on any service.
    pub const UNLIMITED: Limits = Limits { translate: None, redact: None, ocr: None };

    /// The limit of `service`.
    pub fn of(&self, service: SolutionService) -> Option<u64> {
        match service {
            SolutionService::Translate => self.translate,
            SolutionService::Redact => self.redact,
            SolutionService::Ocr => self.ocr,
        }
    }

    /// The limits as answered.
    pub fn view(&self) -> LimitsView {
        LimitsView::from_fn(|service| Amount::of(self.of(service)))
    }
}

/// An amount per service, as answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LimitsView {
    /// Translation.
    pub translate: Amount,
    /// Redaction.
    pub redact: Amount,
    /// OCR.
    pub ocr: Amount,
}

impl LimitsView {
    /// The amounts `amount` gives each service.
    pub fn from_fn(amount: impl Fn(SolutionService) -> Amount) -> Self {
        LimitsView {
            translate: amount(SolutionService::Translate),
            redact: amount(SolutionService::Redact),
            ocr: amount(SolutionService::Ocr),
        }
    }
}

/// 400 `invalid_field` naming the field and why.
pub(crate) fn invalid(field: &str, why: impl std::fmt::Display) -> Problem {
    Problem::new(StatusCode::BAD_REQUEST, "invalid_field", format!("{field}: {why}"))
}

fn changed_meanwhile(what: &str) -> Problem {
    Problem::new(
        StatusCode::CONFLICT,
        "conflict",
        format!("The {what} was changed meanwhile; reload it and try again."),
    )
}

// ---------------------------------------------------------------------------------------
// Default and custom quotas (W11)
// ---------------------------------------------------------------------------------------

/// Where a user's effective quota comes from (D-QUOTA-PRECEDENCE).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum QuotaSource {
    /// The user's personal custom quota.
    Personal,
    /// Their cost centre's custom quota.
    CostCenter,
    /// Their department's custom quota.
    Department,
    /// The organisation's default user quota.
    Default,
}

impl QuotaSource {
    fn of(kind: AssignmentKind) -> Self {
        match kind {
            AssignmentKind::Personal => QuotaSource::Personal,
            AssignmentKind::CostCenter => QuotaSource::CostCenter,
            AssignmentKind::Department => QuotaSource::Department,
        }
    }
}

/// The quota that applies (R-Q-4, D-QUOTA-PRECEDENCE): the personal custom quota overrides
/// the cost centre's or department's, which overrides the organisation's default.
pub fn precedence(
    personal: Option<Limits>,
    group: Option<(AssignmentKind, Limits)>,
    default: Limits,
) -> (QuotaSource, Limits) {
    match (personal, group) {
        (Some(limits), _) => (QuotaSource::Personal, limits),
        (None, Some((kind, limits))) => (QuotaSource::of(kind), limits),
        (None, None) => (QuotaSource::Default, default),
    }
}

/// The default user quota as stored.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DefaultRecord {
    limits: Limits,
    version: i64,
    updated_at: Option<DateTime<Utc>>,
}

/// A custom quota (part-5 §2.13): for a user, a cost centre or a department.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomQuota {
    /// Personal, cost centre or department.
    pub kind: AssignmentKind,
    /// The user's e-mail address, or the cost centre's or department's name as given.
    pub key: String,
    /// The user, for a personal quota.
    #[serde(default)]
    pub user_id: Option<String>,
    /// Its limits.
    pub limits: Limits,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// A custom quota as answered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CustomQuotaView {
    /// Personal, cost centre or department.
    pub kind: AssignmentKind,
    /// The user's e-mail address, or the cost centre's or department's name.
    pub key: String,
    /// The user, for a personal quota.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// Its limits.
    pub limits: LimitsView,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl CustomQuota {
    fn view(&self) -> CustomQuotaView {
        CustomQuotaView {
            kind: self.kind,
            key: self.key.clone(),
            user_id: self.user_id.clone(),
            limits: self.limits.view(),
            updated_at: self.updated_at,
        }
    }
}

/// The Solution Quota Manager's page of an organisation: default and custom quotas and
/// the organisation's pool.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SolutionQuotas {
    /// The default user quota (unlimited until set).
    pub default: LimitsView,
    /// Increases with every change of the default (0: never set).
    pub version: i64,
    /// When the default last changed.
    pub updated_at: Option<DateTime<Utc>>,
    /// Which of cost centre and department the custom quotas use; `null` while neither.
    pub custom_kind: Option<AssignmentKind>,
    /// Every custom quota, personal ones first.
    pub custom: Vec<CustomQuotaView>,
    /// What the organisation may use in total.
    pub pool: PoolView,
}

/// The body that sets the default user quota.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DefaultInput {
    /// Per service: unlimited, characters or pages.
    pub default: LimitsInput,
    /// The version read; a different stored version answers 409 `conflict`.
    #[serde(default)]
    pub version: Option<i64>,
}

/// The body that creates or replaces a custom quota.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CustomInput {
    /// Per service: unlimited, characters or pages.
    pub limits: LimitsInput,
}

/// Which group kind the custom quotas use (R-Q-5), as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GroupKind {
    kind: AssignmentKind,
    #[serde(default)]
    count: i64,
}

fn default_key(org_id: &str) -> Key {
    Key::new(store::org_partition(org_id), "SQUOTA#DEFAULT")
}

fn custom_key(org_id: &str, kind: AssignmentKind, normal: &str) -> Key {
    Key::new(store::org_partition(org_id), format!("SQUOTA#CUSTOM#{}#{normal}", kind.as_str()))
}

fn group_kind_key(org_id: &str) -> Key {
    Key::new(store::org_partition(org_id), "SQUOTA#GROUPKIND")
}

fn usage_key(org_id: &str, user_id: &str, month: &str) -> Key {
    Key::new(store::org_partition(org_id), format!("SQUOTAUSE#{user_id}#{month}"))
}

fn marker_key(org_id: &str, once_key: &str) -> Key {
    Key::new(store::org_partition(org_id), format!("SQDEBIT#{once_key}"))
}

/// A cost-centre or department name as stored: it matches regardless of case.
fn normal_name(name: &str) -> String {
    name.trim().to_lowercase()
}

async fn default_record(ctx: &Ctx, org_id: &str) -> Result<DefaultRecord, Problem> {
    Ok(crate::records::get(&*ctx.table, &default_key(org_id)).await?.unwrap_or_default())
}

async fn find_custom(
    ctx: &Ctx,
    org_id: &str,
    kind: AssignmentKind,
    normal: &str,
) -> Result<Option<CustomQuota>, Problem> {
    Ok(crate::records::get(&*ctx.table, &custom_key(org_id, kind, normal)).await?)
}

/// The kind the custom quotas of the organisation use, while it has any (R-Q-5).
async fn group_kind(ctx: &Ctx, org_id: &str) -> Result<Option<AssignmentKind>, Problem> {
    let claim: Option<GroupKind> = crate::records::get(&*ctx.table, &group_kind_key(org_id)).await?;
    Ok(claim.filter(|claim| claim.count > 0).map(|claim| claim.kind))
}

/// The organisation `org_id`, or 404.
pub(crate) async fn organisation(ctx: &Ctx, org_id: &str) -> Result<Organisation, Problem> {
    store::get_org(ctx, org_id).await?.ok_or_else(|| Problem::not_found("No such organisation."))
}

/// The organisation's default and custom quotas and its pool.
pub async fn config(ctx: &Ctx, org_id: &str) -> Result<SolutionQuotas, Problem> {
    let org = organisation(ctx, org_id).await?;
    let default = default_record(ctx, org_id).await?;
    let mut custom = Vec::new();
    let mut cursor = None;
    loop {
        let query =
            Query::partition(store::org_partition(org_id)).begins_with("SQUOTA#CUSTOM#").limit(500).after(cursor);
        let page = ctx.table.query_json(&query).await?;
        for item in &page.items {
            custom.push(crate::records::from_json::<CustomQuota>(item)?.view());
        }
        cursor = page.cursor;
        if cursor.is_none() {
            break;
        }
    }
    custom.sort_by_key(|quota| (quota.kind != AssignmentKind::Personal, quota.key.to_lowercase()));
    let pool = distributions::pool_of(ctx, &org).await?;
    Ok(SolutionQuotas {
        default: default.limits.view(),
        version: default.version,
        updated_at: default.updated_at,
        custom_kind: group_kind(ctx, org_id).await?,
        custom,
        pool: pool.view(),
    })
}

/// Sets the default user quota (W11 step 1; unlimited allowed, R-Q-7).
pub async fn set_default(ctx: &Ctx, org_id: &str, input: DefaultInput) -> Result<SolutionQuotas, Problem> {
    let limits = input.default.resolve("default")?;
    organisation(ctx, org_id).await?;
    let current = default_record(ctx, org_id).await?;
    if input.version.is_some_and(|v| v != current.version) {
        return Err(changed_meanwhile("default quota"));
    }
    let next = DefaultRecord { limits, version: current.version + 1, updated_at: Some(ctx.clock.now()) };
    let condition = if current.version == 0 { Condition::Absent } else { Condition::VersionEquals(current.version) };
    match ctx.table.put(to_item(&next, &default_key(org_id), &[])?, condition).await {
        Ok(()) => config(ctx, org_id).await,
        Err(StoreError::ConditionFailed) => Err(changed_meanwhile("default quota")),
        Err(other) => Err(other.into()),
    }
}

/// The stored key, the key as shown and the user of a custom quota's target. A personal
/// quota needs a user registered in the organisation, named by e-mail address (R-Q-6);
/// cost centres and departments are names.
async fn target(
    ctx: &Ctx,
    org_id: &str,
    kind: AssignmentKind,
    key: &str,
) -> Result<(String, String, Option<String>), Problem> {
    let key = key.trim();
    if key.is_empty() || key.chars().count() > 256 || key.chars().any(char::is_control) {
        return Err(invalid("key", "1 to 256 characters, no control characters"));
    }
    if kind != AssignmentKind::Personal {
        return Ok((normal_name(key), key.to_string(), None));
    }
    let user = store::find_user_by_email(ctx, key).await?;
    let Some(user) = user.filter(|record| record.user.org_id == org_id && !record.user.guest) else {
        return Err(Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "user_not_registered",
            "A personal quota needs a user registered in the organisation; register the user first (R-Q-6).",
        ));
    };
    Ok((user.user.id.clone(), user.user.email, Some(user.user.id)))
}

fn kind_conflict(used: AssignmentKind) -> Problem {
    Problem::new(
        StatusCode::CONFLICT,
        "custom_quota_kind_conflict",
        format!(
            "The organisation's custom quotas are for {}s; cost centres and departments never both get custom \
             quotas (R-Q-5). Remove those first.",
            if used == AssignmentKind::CostCenter { "cost centre" } else { "department" }
        ),
    )
    .with("customKind", used.as_str())
}

/// The write that counts one more custom quota of `kind` on the group-kind claim, or the
/// refusal when the organisation's custom quotas use the other kind (R-Q-5).
async fn claim_group_kind(ctx: &Ctx, org_id: &str, kind: AssignmentKind) -> Result<Write, Problem> {
    let key = group_kind_key(org_id);
    let current: Option<GroupKind> = crate::records::get(&*ctx.table, &key).await?;
    match current {
        None => {
            let item = to_item(&GroupKind { kind, count: 1 }, &key, &[])?;
            Ok(Write::Put { item, condition: Condition::Absent })
        }
        Some(claim) if claim.kind == kind => {
            Ok(Write::Update(Update::new(key).add("count", 1).when(Condition::Equals("kind".into(), json!(kind)))))
        }
        Some(claim) if claim.count <= 0 => Ok(Write::Update(
            Update::new(key)
                .set("kind", json!(kind))
                .add("count", 1)
                .when(Condition::AtMostOrAbsent("count".into(), 0)),
        )),
        Some(claim) => Err(kind_conflict(claim.kind)),
    }
}

/// Creates or replaces the custom quota of `kind` for `key` (W11 steps 2–3): personal for
/// a registered user's e-mail address (R-Q-6), or for a cost centre or department, which
/// the organisation never both use (409 `custom_quota_kind_conflict`, R-Q-5).
pub async fn set_custom(
    ctx: &Ctx,
    org_id: &str,
    kind: AssignmentKind,
    key: &str,
    input: CustomInput,
) -> Result<CustomQuotaView, Problem> {
    let limits = input.limits.resolve("limits")?;
    organisation(ctx, org_id).await?;
    let (normal, shown, user_id) = target(ctx, org_id, kind, key).await?;
    let existing = find_custom(ctx, org_id, kind, &normal).await?;
    let quota = CustomQuota { kind, key: shown, user_id, limits, updated_at: ctx.clock.now() };
    let condition = if existing.is_some() { Condition::Exists } else { Condition::Absent };
    let mut writes = vec![Write::Put { item: to_item(&quota, &custom_key(org_id, kind, &normal), &[])?, condition }];
    if existing.is_none() && kind != AssignmentKind::Personal {
        writes.push(claim_group_kind(ctx, org_id, kind).await?);
    }
    match ctx.table.transact(writes).await {
        Ok(()) => Ok(quota.view()),
        Err(StoreError::TransactionCanceled { failed }) if failed.contains(&1) => {
            match group_kind(ctx, org_id).await? {
                Some(used) if used != kind => Err(kind_conflict(used)),
                _ => Err(changed_meanwhile("custom quota")),
            }
        }
        Err(StoreError::TransactionCanceled { .. }) => Err(changed_meanwhile("custom quota")),
        Err(other) => Err(other.into()),
    }
}

/// Removes the custom quota of `kind` for `key` (a personal one by e-mail address or user
/// id); its users fall back to the next quota that applies. The last cost-centre or
/// department quota frees the organisation to use the other kind.
pub async fn remove_custom(ctx: &Ctx, org_id: &str, kind: AssignmentKind, key: &str) -> Result<(), Problem> {
    organisation(ctx, org_id).await?;
    let normal = match kind {
        AssignmentKind::Personal if find_custom(ctx, org_id, kind, key.trim()).await?.is_some() => key.trim().into(),
        AssignmentKind::Personal => target(ctx, org_id, kind, key).await?.0,
        _ => normal_name(key),
    };
    find_custom(ctx, org_id, kind, &normal).await?.ok_or_else(|| Problem::not_found("No such custom quota."))?;
    let mut writes = vec![Write::Delete { key: custom_key(org_id, kind, &normal), condition: Condition::Exists }];
    if kind != AssignmentKind::Personal {
        let uncount = Update::new(group_kind_key(org_id)).add("count", -1);
        writes.push(Write::Update(uncount.when(Condition::Equals("kind".into(), json!(kind)))));
    }
    match ctx.table.transact(writes).await {
        Ok(()) => Ok(()),
        Err(StoreError::TransactionCanceled { .. }) => Err(changed_meanwhile("custom quota")),
        Err(other) => Err(other.into()),
    }
}

/// The quota that applies to `user` and where it comes from (D-QUOTA-PRECEDENCE).
pub async fn effective(ctx: &Ctx, org_id: &str, user: &User) -> Result<(QuotaSource, Limits), Problem> {
    let personal = find_custom(ctx, org_id, AssignmentKind::Personal, &user.id).await?.map(|q| q.limits);
    let mut group = None;
    if personal.is_none()
        && let Some(kind) = group_kind(ctx, org_id).await?
    {
        let name = if kind == AssignmentKind::CostCenter { &user.cost_center } else { &user.department };
        if !name.trim().is_empty() {
            group = find_custom(ctx, org_id, kind, &normal_name(name)).await?.map(|q| (kind, q.limits));
        }
    }
    let default = default_record(ctx, org_id).await?.limits;
    Ok(precedence(personal, group, default))
}

// ---------------------------------------------------------------------------------------
// Usage, checks and the debit
// ---------------------------------------------------------------------------------------

/// A user's usage of one month, as stored.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Usage {
    #[serde(default)]
    translate: i64,
    #[serde(default)]
    redact: i64,
    #[serde(default)]
    ocr: i64,
}

impl Usage {
    fn of(&self, service: SolutionService) -> u64 {
        let used = match service {
            SolutionService::Translate => self.translate,
            SolutionService::Redact => self.redact,
            SolutionService::Ocr => self.ocr,
        };
        used.max(0) as u64
    }
}

/// One service of a user's quota this month.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceQuota {
    /// The service.
    pub service: SolutionService,
    /// The user's limit this month.
    pub limit: Amount,
    /// Used this month.
    pub used: Amount,
    /// Left of the user's limit this month.
    pub remaining: Amount,
    /// What the user can use now: the smaller of what is left of their limit and of the
    /// organisation's pool; nothing while the pool is stopped.
    pub available: Amount,
}

/// A user's effective solution quota this month (R-Q-16 "my quota pages used").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserSolutionQuota {
    /// The user.
    pub user_id: String,
    /// The quota month, `yyyy-mm`, in the organisation's time zone.
    pub month: String,
    /// Where the limits come from.
    pub source: QuotaSource,
    /// Per service.
    pub services: Vec<ServiceQuota>,
    /// The organisation's pool.
    pub pool: PoolView,
}

/// What bounds a user's next debit: their limits and usage this month, and the pool.
struct Standing {
    month: String,
    source: QuotaSource,
    limits: Limits,
    usage: Usage,
    pool: Pool,
}

/// Which bound refuses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Bound {
    User,
    Organisation,
}

impl Standing {
    /// Left of the user's limit of `service` this month; `None`: unlimited.
    fn user_remaining(&self, service: SolutionService) -> Option<u64> {
        self.limits.of(service).map(|limit| limit.saturating_sub(self.usage.of(service)))
    }

    /// What the user can use of `service` now and which bound decides it; `None`: unlimited.
    fn available(&self, service: SolutionService) -> Option<(u64, Bound)> {
        let user = self.user_remaining(service).map(|n| (n, Bound::User));
        let pool = self.pool.remaining(service).map(|n| (n, Bound::Organisation));
        match (user, pool) {
            (Some(u), Some(p)) => Some(if p.0 < u.0 { p } else { u }),
            (one, other) => one.or(other),
        }
    }

    /// Refuses `characters` of `service` when the pool is stopped or they do not fit.
    fn refuse(&self, service: SolutionService, characters: u64) -> Result<(), Problem> {
        self.pool.usable()?;
        match self.available(service) {
            Some((left, bound)) if characters > left || (characters == 0 && left == 0) => {
                Err(exceeded(service, left, bound))
            }
            _ => Ok(()),
        }
    }
}

/// 409 `solution_quota_exceeded` with what is left (like print quotas' `remaining`).
fn exceeded(service: SolutionService, remaining: u64, bound: Bound) -> Problem {
    let whose = match bound {
        Bound::User => "your solution quota",
        Bound::Organisation => "the organisation's solution quota",
    };
    Problem::new(
        StatusCode::CONFLICT,
        "solution_quota_exceeded",
        format!(
            "{} is not covered by {whose}: {remaining} character(s) ({} page(s)) left; contact your administrator.",
            service.label(),
            pages(remaining)
        ),
    )
    .with("service", service.as_str())
    .with("remaining", remaining)
    .with("remainingPages", pages(remaining))
    .with("limitedBy", if bound == Bound::User { "user" } else { "organisation" })
}

/// The user's quota month in the organisation's time zone (D-QUOTA-PERIOD).
fn month(ctx: &Ctx, org: &Organisation) -> String {
    month_key(month_of(ctx.clock.now(), distributions::zone(org)))
}

async fn standing(ctx: &Ctx, org_id: &str, user_id: &str) -> Result<Standing, Problem> {
    let org = organisation(ctx, org_id).await?;
    let user = store::get_user(ctx, org_id, user_id).await?.ok_or_else(|| Problem::not_found("No such user."))?;
    let month = month(ctx, &org);
    let (source, limits) = effective(ctx, org_id, &user.user).await?;
    let usage = crate::records::get(&*ctx.table, &usage_key(org_id, user_id, &month)).await?.unwrap_or_default();
    let pool = distributions::pool_of(ctx, &org).await?;
    Ok(Standing { month, source, limits, usage, pool })
}

/// Refuses (409 `solution_quota_exceeded`, or the distribution codes) when the user or the
/// org pool has nothing left of any of `services` — checked when a run starts.
pub async fn ensure_available(
    ctx: &Ctx,
    org_id: &str,
    user_id: &str,
    services: &[SolutionService],
) -> Result<(), Problem> {
    let standing = standing(ctx, org_id, user_id).await?;
    for service in services {
        standing.refuse(*service, 0)?;
    }
    standing.pool.usable()
}

/// Refuses when `characters` more would exceed the user's effective quota or the org's
/// pool — checked before a step does its work. Expiry of a custom distribution is checked
/// here and at the debit against the clock, so no sweep is needed (R-Q-9).
pub async fn check(
    ctx: &Ctx,
    org_id: &str,
    user_id: &str,
    service: SolutionService,
    characters: u64,
) -> Result<(), Problem> {
    standing(ctx, org_id, user_id).await?.refuse(service, characters)
}

fn check_debit(characters: u64, once_key: &str) -> Result<(), Problem> {
    if once_key.is_empty() || once_key.len() > MAX_ONCE_KEY || once_key.chars().any(char::is_control) {
        return Err(invalid("onceKey", format!("1 to {MAX_ONCE_KEY} bytes, no control characters")));
    }
    if characters > MAX_CHARACTERS {
        return Err(invalid("characters", format!("at most {MAX_CHARACTERS}")));
    }
    Ok(())
}

/// The writes of one debit: the once-marker (index 0), the user's month (conditional on
/// their limit) and the pool (conditional on its limit, version and state).
fn debit_writes(
    ctx: &Ctx,
    standing: &Standing,
    (org_id, user_id): (&str, &str),
    service: SolutionService,
    characters: u64,
    once_key: &str,
) -> Result<Vec<Write>, Problem> {
    let now = ctx.clock.now();
    let record = json!({"orgId": org_id, "userId": user_id, "service": service, "characters": characters,
        "month": standing.month, "at": now});
    let expires = (now + chrono::Duration::days(DEBIT_MARK_DAYS)).timestamp();
    let marker = to_item(&record, &marker_key(org_id, once_key), &[("ttl", json!(expires))])?;
    let mut usage = Update::new(usage_key(org_id, user_id, &standing.month))
        .set("userId", user_id)
        .set("month", standing.month.clone())
        .add(service.as_str(), characters as i64);
    if let Some(limit) = standing.limits.of(service) {
        usage = usage.when(Condition::AtMostOrAbsent(service.as_str().into(), limit as i64 - characters as i64));
    }
    Ok(vec![
        Write::Put { item: marker, condition: Condition::Absent },
        Write::Update(usage),
        Write::Update(standing.pool.debit(service, characters)),
    ])
}

/// Debits `characters` from the user's month and the org's pool (and the distribution, if
/// any) in ONE transaction, exactly once per `once_key` (a marker item written in the same
/// transaction; a second call with the same key changes nothing and answers Ok).
/// Conditional: if it would exceed a limit, nothing is written and it answers 409
/// `solution_quota_exceeded` (with `remaining`). Afterwards sends the D-ALMOST-USED-UP mail
/// when the distribution crossed 10 % remaining or reached 0 (each once).
///
/// A cancelled transaction (a limit, a concurrent edit of the pool, or DynamoDB's
/// `TransactionConflict` after the adapter's own retries) is answered by reading again:
/// the refusal if it no longer fits, else another attempt; so concurrent debits never
/// overspend and fail for contention alone only after many attempts.
pub async fn debit(
    ctx: &Ctx,
    org_id: &str,
    user_id: &str,
    service: SolutionService,
    characters: u64,
    once_key: &str,
) -> Result<(), Problem> {
    check_debit(characters, once_key)?;
    for attempt in 0..DEBIT_ATTEMPTS {
        if attempt > 0 {
            tokio::time::sleep(retry_pause(attempt)).await;
        }
        if ctx.table.get(&marker_key(org_id, once_key)).await?.is_some() {
            return Ok(());
        }
        let standing = standing(ctx, org_id, user_id).await?;
        standing.pool.usable()?;
        if characters == 0 {
            return Ok(());
        }
        standing.refuse(service, characters)?;
        let writes = debit_writes(ctx, &standing, (org_id, user_id), service, characters, once_key)?;
        match ctx.table.transact(writes).await {
            Ok(()) => {
                distributions::after_debit(ctx, &standing.pool, service).await;
                return Ok(());
            }
            Err(StoreError::TransactionCanceled { failed }) if failed.contains(&0) => return Ok(()),
            Err(StoreError::TransactionCanceled { .. }) => continue,
            Err(other) => return Err(other.into()),
        }
    }
    Err(Problem::new(StatusCode::CONFLICT, "conflict", "The quota is busy; try again."))
}

/// The user's effective limits, used this month and remaining per service (for the API
/// and tests).
pub async fn user_status(ctx: &Ctx, org_id: &str, user_id: &str) -> Result<UserSolutionQuota, Problem> {
    let standing = standing(ctx, org_id, user_id).await?;
    let stopped = standing.pool.usable().is_err();
    let services = SolutionService::ALL
        .into_iter()
        .map(|service| ServiceQuota {
            service,
            limit: Amount::of(standing.limits.of(service)),
            used: Amount::characters(standing.usage.of(service)),
            remaining: Amount::of(standing.user_remaining(service)),
            available: match standing.available(service) {
                _ if stopped => Amount::characters(0),
                available => Amount::of(available.map(|(left, _)| left)),
            },
        })
        .collect();
    Ok(UserSolutionQuota {
        user_id: user_id.to_string(),
        month: standing.month,
        source: standing.source,
        services,
        pool: standing.pool.view(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(translate: Option<u64>, redact: Option<u64>, ocr: Option<u64>) -> Limits {
        Limits { translate, redact, ocr }
    }

    #[test]
    fn d_solution_unit_pages_are_1800_characters_rounded_up() {
        assert_eq!(pages(0), 0);
        assert_eq!(pages(1), 1);
        assert_eq!(pages(1_800), 1);
        assert_eq!(pages(1_801), 2);
        assert_eq!(pages(18_000), 10);
        assert_eq!(Amount::characters(3_601), Amount { unlimited: false, characters: Some(3_601), pages: Some(3) });
        assert_eq!(Amount::of(None), Amount { unlimited: true, characters: None, pages: None });
    }

    #[test]
    fn r_q_7_a_limit_is_characters_pages_or_unlimited() {
        let parsed: LimitsInput = serde_json::from_str(
            r#"{"translate": {"kind": "unlimited"}, "redact": {"kind": "pages", "pages": 10},
                "ocr": {"kind": "characters", "characters": 500}}"#,
        )
        .unwrap();
        assert_eq!(parsed.resolve("limits").unwrap(), limits(None, Some(18_000), Some(500)));
        let huge = LimitsInput {
            translate: LimitInput::Pages { pages: u64::MAX },
            redact: LimitInput::Unlimited,
            ocr: LimitInput::Unlimited,
        };
        let problem = huge.resolve("limits").unwrap_err();
        assert_eq!((problem.code.as_str(), problem.detail.starts_with("limits.translate")), ("invalid_field", true));
        assert!(serde_json::from_str::<LimitsInput>(r#"{"translate": {"kind": "unlimited"}}"#).is_err());
    }

    #[test]
    fn r_q_4_personal_overrides_group_which_overrides_the_default() {
        let default = limits(Some(100), None, None);
        let department = limits(Some(200), None, None);
        let personal = limits(Some(300), None, None);
        let group = Some((AssignmentKind::Department, department));
        assert_eq!(precedence(Some(personal), group, default), (QuotaSource::Personal, personal));
        assert_eq!(precedence(None, group, default), (QuotaSource::Department, department));
        let cost_centre = Some((AssignmentKind::CostCenter, limits(None, Some(5), None)));
        assert_eq!(precedence(None, cost_centre, default).0, QuotaSource::CostCenter);
        assert_eq!(precedence(None, None, default), (QuotaSource::Default, default));
    }

    #[test]
    fn a_once_key_and_a_size_are_checked_before_anything_is_read() {
        assert!(check_debit(10, "run-1#step-2").is_ok());
        assert_eq!(check_debit(10, "").unwrap_err().code, "invalid_field");
        assert_eq!(check_debit(10, &"k".repeat(MAX_ONCE_KEY + 1)).unwrap_err().code, "invalid_field");
        assert_eq!(check_debit(MAX_CHARACTERS + 1, "k").unwrap_err().code, "invalid_field");
    }

    #[test]
    fn exceeded_names_the_service_and_what_is_left() {
        let problem = exceeded(SolutionService::Ocr, 1_801, Bound::Organisation);
        assert_eq!((problem.status, problem.code.as_str()), (409, "solution_quota_exceeded"));
        let extensions = problem.extensions.unwrap();
        assert_eq!(extensions["remaining"], 1_801);
        assert_eq!(extensions["remainingPages"], 2);
        assert_eq!(extensions["service"], "ocr");
        assert_eq!(extensions["limitedBy"], "organisation");
    }
}
