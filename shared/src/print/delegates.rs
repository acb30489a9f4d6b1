//! Delegates (part-3 §2.34, BR-DL-01…06, BR-OS-05/06, part-4 W7): a user (the owner) lets
//! another user of the same organisation (the delegate) see and release their print jobs,
//! for ever or for N days. The release path asks [`owners_of`] and [`is_delegate`]; the
//! retention sweep calls [`sweep_expired_all`], which mails and removes expired delegations.
//!
//! Layout, one item per delegation in the organisation's partition:
//! - `ORG#<org>`/`DELEGATE#<owner>#<delegate>`: the owner's delegates are a prefix query;
//! - `gsi1pk = ORG#<org>#DELEGATOR#<delegate>`, `gsi1sk = <owner>`: who delegated to a user;
//! - when it expires, `gsi2pk = DELEGATES#EXPIRING`, `gsi2sk = <expiresAt>#<org>#<owner>#<delegate>`:
//!   what the sweep finds due across organisations, oldest first;
//! - `ttl` a month after the expiry, only a backstop: every read compares the expiry with
//!   `ctx.clock` (an expired delegate sees nothing), and the sweep must still find the item
//!   to send the expiry mail.
//!
//! Decisions where the seed is silent: a user cannot delegate to themself; adding an
//! existing delegate again sets a new expiry (and mails again); while delegation is switched
//! off (BR-DL-01) nothing can be added and [`owners_of`]/[`is_delegate`] answer nobody, but
//! existing delegations can still be listed and removed. Mails are sent at most once: the
//! delegation is deleted first, then mailed; a mail that fails is logged, not retried.

use crate::Ctx;
use crate::http::Problem;
use crate::identity::model::{Organisation, User};
use crate::identity::store;
use crate::mail::Letter;
use crate::ports::{Condition, Index, Item, Key, Mail, Page, Query, SortKey, StoreError};
use crate::print::settings;
use crate::records::{from_item, to_item};
use axum::http::StatusCode;
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::HashMap;

/// Longest expiry in days (BR-DL-04 names no limit; one year like the other periods).
pub const MAX_EXPIRY_DAYS: u32 = 365;
/// How long an expired delegation stays stored for the sweep to mail it before `ttl` drops it.
const TTL_GRACE_DAYS: i64 = 30;
/// The index partition of every delegation that expires.
const EXPIRING: &str = "DELEGATES#EXPIRING";
/// Items per page when a whole index partition is read.
const PAGE: u32 = 100;

/// A delegation as stored: `owner_id` lets `delegate_id` release their jobs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DelegationRecord {
    /// The organisation of both users.
    pub org_id: String,
    /// The user whose jobs may be released.
    pub owner_id: String,
    /// The user who may release them.
    pub delegate_id: String,
    /// The chosen expiry in days; `None` never expires (BR-DL-04).
    #[serde(default)]
    pub expires_after_days: Option<u32>,
    /// When the delegation ends; `None` never.
    #[serde(default)]
    pub expires_at: Option<DateTime<Utc>>,
    /// When the delegate was first added.
    pub created_at: DateTime<Utc>,
    /// When the expiry was last set.
    pub updated_at: DateTime<Utc>,
    /// Optimistic-concurrency version.
    pub version: i64,
}

impl DelegationRecord {
    /// Whether the delegation still holds at `now`: it ends at its expiry.
    pub fn is_active(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_none_or(|at| at > now)
    }
}

/// What adds a delegate (BR-DL-05): the user and the expiry.
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewDelegate {
    /// The user who may release the owner's jobs: a user of the same organisation.
    pub delegate_user_id: String,
    /// 1–365 days, or `null`/absent: never expires (BR-DL-04).
    #[serde(default)]
    pub expires_after_days: Option<i64>,
}

/// A user as a delegation shows them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DelegationUser {
    /// User id.
    pub id: String,
    /// E-mail address.
    pub email: String,
    /// Display name (may be empty).
    pub display_name: String,
}

impl From<&User> for DelegationUser {
    fn from(user: &User) -> Self {
        DelegationUser { id: user.id.clone(), email: user.email.clone(), display_name: user.display_name.clone() }
    }
}

/// A delegation as the API shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Delegation {
    /// The user whose jobs may be released.
    pub owner: DelegationUser,
    /// The user who may release them.
    pub delegate: DelegationUser,
    /// The chosen expiry in days; `null`: never expires.
    pub expires_after_days: Option<u32>,
    /// When the delegation ends; `null`: never.
    pub expires_at: Option<DateTime<Utc>>,
    /// When the delegate was first added.
    pub created_at: DateTime<Utc>,
    /// When the expiry was last set.
    pub updated_at: DateTime<Utc>,
}

impl Delegation {
    fn of(record: &DelegationRecord, owner: &User, delegate: &User) -> Self {
        Delegation {
            owner: owner.into(),
            delegate: delegate.into(),
            expires_after_days: record.expires_after_days,
            expires_at: record.expires_at,
            created_at: record.created_at,
            updated_at: record.updated_at,
        }
    }
}

fn delegation_key(org_id: &str, owner_id: &str, delegate_id: &str) -> Key {
    Key::new(store::org_partition(org_id), format!("DELEGATE#{owner_id}#{delegate_id}"))
}

fn delegates_prefix(owner_id: &str) -> String {
    format!("DELEGATE#{owner_id}#")
}

fn delegators_partition(org_id: &str, delegate_id: &str) -> String {
    format!("{}#DELEGATOR#{delegate_id}", store::org_partition(org_id))
}

/// A time as a fixed-width, sortable string.
fn stamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The sort key bound of the sweep: every expiry at or before `now` sorts below it ('$'
/// follows the '#' after the stamp).
fn due_bound(now: DateTime<Utc>) -> String {
    format!("{}$", stamp(now))
}

fn to_stored(record: &DelegationRecord) -> Result<Item, StoreError> {
    let key = delegation_key(&record.org_id, &record.owner_id, &record.delegate_id);
    let mut extra = vec![
        ("gsi1pk", json!(delegators_partition(&record.org_id, &record.delegate_id))),
        ("gsi1sk", json!(record.owner_id)),
    ];
    if let Some(at) = record.expires_at {
        let due = format!("{}#{}#{}#{}", stamp(at), record.org_id, record.owner_id, record.delegate_id);
        extra.push(("gsi2pk", json!(EXPIRING)));
        extra.push(("gsi2sk", json!(due)));
        extra.push(("ttl", json!((at + Duration::days(TTL_GRACE_DAYS)).timestamp())));
    }
    to_item(record, &key, &extra)
}

fn invalid(field: &str, why: &str) -> Problem {
    Problem::new(StatusCode::BAD_REQUEST, "invalid_field", format!("{field}: {why}"))
}

fn changed_meanwhile() -> Problem {
    Problem::new(StatusCode::CONFLICT, "conflict", "The delegate was changed meanwhile; reload and try again.")
}

/// The expiry in days a request asks for, `None` for never (BR-DL-04: 1–365 days).
pub fn check_expiry(days: Option<i64>) -> Result<Option<u32>, Problem> {
    match days {
        None => Ok(None),
        Some(n) => match u32::try_from(n) {
            Ok(n) if (1..=MAX_EXPIRY_DAYS).contains(&n) => Ok(Some(n)),
            _ => Err(invalid("expiresAfterDays", "between 1 and 365 days, or null for never")),
        },
    }
}

/// When a delegation set at `now` for `days` ends (BR-DL-04).
pub fn expiry(now: DateTime<Utc>, days: Option<u32>) -> Option<DateTime<Utc>> {
    days.map(|n| now + Duration::days(n.into()))
}

/// The stored delegation from `owner_id` to `delegate_id`, expired or not.
async fn find(ctx: &Ctx, org_id: &str, owner_id: &str, delegate_id: &str) -> Result<Option<DelegationRecord>, Problem> {
    let item = ctx.table.get(&delegation_key(org_id, owner_id, delegate_id)).await?;
    Ok(item.map(from_item).transpose()?)
}

/// Adds `new.delegate_user_id` as a delegate of `owner`, or sets a new expiry for an existing
/// one, and mails the delegate when the organisation wants that (BR-OS-06, BR-DL-06).
/// 409 `delegation_disabled` while delegation is off (BR-DL-01); 400 `invalid_field` for
/// the owner themself or an expiry outside 1–365 days; 404 for a user not in the organisation.
pub async fn add(ctx: &Ctx, org_id: &str, owner: &User, new: NewDelegate) -> Result<Delegation, Problem> {
    let org_settings = settings::get(ctx, org_id).await?;
    if !org_settings.delegation {
        return Err(Problem::new(
            StatusCode::CONFLICT,
            "delegation_disabled",
            "Delegation of print jobs is switched off in the organisation's print settings (BR-DL-01).",
        ));
    }
    let delegate_id = new.delegate_user_id.trim();
    if delegate_id.is_empty() {
        return Err(invalid("delegateUserId", "name a user"));
    }
    if delegate_id == owner.id {
        return Err(invalid("delegateUserId", "a user cannot be their own delegate"));
    }
    let days = check_expiry(new.expires_after_days)?;
    let delegate = store::get_user(ctx, org_id, delegate_id)
        .await?
        .ok_or_else(|| Problem::not_found("No such user: delegateUserId."))?
        .user;
    let now = ctx.clock.now();
    let existing = find(ctx, org_id, &owner.id, delegate_id).await?;
    let record = DelegationRecord {
        org_id: org_id.to_string(),
        owner_id: owner.id.clone(),
        delegate_id: delegate.id.clone(),
        expires_after_days: days,
        expires_at: expiry(now, days),
        created_at: existing.as_ref().filter(|e| e.is_active(now)).map_or(now, |e| e.created_at),
        updated_at: now,
        version: existing.as_ref().map_or(1, |e| e.version + 1),
    };
    let condition = existing.map_or(Condition::Absent, |e| Condition::VersionEquals(e.version));
    ctx.table.put(to_stored(&record)?, condition).await.map_err(|err| match err {
        StoreError::ConditionFailed => changed_meanwhile(),
        other => other.into(),
    })?;
    if org_settings.delegate_email_notifications {
        notify(ctx, Notice::Added, &record, owner, &delegate).await;
    }
    Ok(Delegation::of(&record, owner, &delegate))
}

/// Removes `delegate_id` as a delegate of `owner` and mails them when the organisation wants
/// that (BR-DL-05/06). Works while delegation is off; 404 when there is no (unexpired) such
/// delegate.
pub async fn remove(ctx: &Ctx, org_id: &str, owner: &User, delegate_id: &str) -> Result<(), Problem> {
    let now = ctx.clock.now();
    let record = find(ctx, org_id, &owner.id, delegate_id)
        .await?
        .filter(|r| r.is_active(now))
        .ok_or_else(|| Problem::not_found("No such delegate."))?;
    let key = delegation_key(org_id, &owner.id, delegate_id);
    ctx.table.delete(&key, Condition::VersionEquals(record.version)).await.map_err(|err| match err {
        StoreError::ConditionFailed => changed_meanwhile(),
        other => other.into(),
    })?;
    if settings::get(ctx, org_id).await?.delegate_email_notifications
        && let Some(delegate) = store::get_user(ctx, org_id, delegate_id).await?
    {
        notify(ctx, Notice::Removed, &record, owner, &delegate.user).await;
    }
    Ok(())
}

/// One page of `owner`'s unexpired delegates, ordered by delegate id. Delegations of users
/// deleted meanwhile are tidied away and left out.
pub async fn delegates_of(
    ctx: &Ctx,
    org_id: &str,
    owner: &User,
    limit: u32,
    cursor: Option<String>,
) -> Result<(Vec<Delegation>, Option<String>), Problem> {
    let query = Query::partition(store::org_partition(org_id))
        .begins_with(delegates_prefix(&owner.id))
        .limit(limit)
        .after(cursor);
    let Page { items, cursor } = ctx.table.query(&query).await?;
    let now = ctx.clock.now();
    let mut delegations = Vec::with_capacity(items.len());
    for record in decode_active(items, now)? {
        match store::get_user(ctx, org_id, &record.delegate_id).await? {
            Some(delegate) => delegations.push(Delegation::of(&record, owner, &delegate.user)),
            None => forget(ctx, &record).await?,
        }
    }
    Ok((delegations, cursor))
}

/// One page of the unexpired delegations to `delegate` ("who delegated to me"), ordered by
/// owner id. Delegations of users deleted meanwhile are tidied away and left out.
pub async fn delegators_of(
    ctx: &Ctx,
    org_id: &str,
    delegate: &User,
    limit: u32,
    cursor: Option<String>,
) -> Result<(Vec<Delegation>, Option<String>), Problem> {
    let query = Query::on_index(Index::Gsi1, delegators_partition(org_id, &delegate.id)).limit(limit).after(cursor);
    let Page { items, cursor } = ctx.table.query(&query).await?;
    let now = ctx.clock.now();
    let mut delegations = Vec::with_capacity(items.len());
    for record in decode_active(items, now)? {
        match store::get_user(ctx, org_id, &record.owner_id).await? {
            Some(owner) => delegations.push(Delegation::of(&record, &owner.user, delegate)),
            None => forget(ctx, &record).await?,
        }
    }
    Ok((delegations, cursor))
}

fn decode_active(items: Vec<Item>, now: DateTime<Utc>) -> Result<Vec<DelegationRecord>, StoreError> {
    let records: Vec<DelegationRecord> = items.into_iter().map(from_item).collect::<Result<_, _>>()?;
    Ok(records.into_iter().filter(|r| r.is_active(now)).collect())
}

/// Deletes a delegation whose owner or delegate no longer exists.
async fn forget(ctx: &Ctx, record: &DelegationRecord) -> Result<(), Problem> {
    let key = delegation_key(&record.org_id, &record.owner_id, &record.delegate_id);
    Ok(ctx.table.delete(&key, Condition::Always).await?)
}

/// The ids of the users who currently (unexpired) let `delegate_id` release their jobs;
/// nobody while delegation is switched off (BR-DL-01). Reads the index, which DynamoDB
/// updates a moment after a change: check [`is_delegate`] before releasing.
pub async fn owners_of(ctx: &Ctx, org_id: &str, delegate_id: &str) -> Result<Vec<String>, Problem> {
    if !settings::get(ctx, org_id).await?.delegation {
        return Ok(Vec::new());
    }
    let now = ctx.clock.now();
    let mut owners = Vec::new();
    let mut cursor = None;
    loop {
        let query = Query::on_index(Index::Gsi1, delegators_partition(org_id, delegate_id)).limit(PAGE).after(cursor);
        let page = ctx.table.query(&query).await?;
        owners.extend(decode_active(page.items, now)?.into_iter().map(|r| r.owner_id));
        match page.cursor {
            Some(next) => cursor = Some(next),
            None => return Ok(owners),
        }
    }
}

/// Whether `delegate_id` may now release `owner_id`'s jobs: an unexpired delegation while
/// delegation is switched on (BR-DL-01, BR-DL-04). Strongly consistent.
pub async fn is_delegate(ctx: &Ctx, org_id: &str, owner_id: &str, delegate_id: &str) -> Result<bool, Problem> {
    if !settings::get(ctx, org_id).await?.delegation {
        return Ok(false);
    }
    let record = find(ctx, org_id, owner_id, delegate_id).await?;
    Ok(record.is_some_and(|r| r.is_active(ctx.clock.now())))
}

/// The retention sweep's part (W7 `Expired`): removes every delegation, of any organisation,
/// whose expiry has passed, and mails each delegate once when their organisation wants that
/// (BR-DL-06). Answers how many delegations it removed.
pub async fn sweep_expired_all(ctx: &Ctx) -> Result<usize, Problem> {
    let now = ctx.clock.now();
    let mut mail_wanted: HashMap<String, bool> = HashMap::new();
    let mut removed = 0;
    let mut cursor = None;
    loop {
        let query =
            Query::on_index(Index::Gsi2, EXPIRING).sort(SortKey::AtMost(due_bound(now))).limit(PAGE).after(cursor);
        let page = ctx.table.query(&query).await?;
        for item in page.items {
            let hit: DelegationRecord = from_item(item)?;
            if let Some(record) = take_expired(ctx, &hit, now).await? {
                removed += 1;
                let wanted = match mail_wanted.get(&record.org_id) {
                    Some(wanted) => *wanted,
                    None => {
                        let wanted = settings::get(ctx, &record.org_id).await?.delegate_email_notifications;
                        *mail_wanted.entry(record.org_id.clone()).or_insert(wanted)
                    }
                };
                if wanted {
                    notify_expired(ctx, &record).await?;
                }
            }
        }
        match page.cursor {
            Some(next) => cursor = Some(next),
            None => return Ok(removed),
        }
    }
}

/// Deletes the delegation `hit` names if it is (still) expired, answering it; `None` when it
/// was renewed, removed or taken by another sweep meanwhile.
async fn take_expired(
    ctx: &Ctx,
    hit: &DelegationRecord,
    now: DateTime<Utc>,
) -> Result<Option<DelegationRecord>, Problem> {
    let Some(record) = find(ctx, &hit.org_id, &hit.owner_id, &hit.delegate_id).await? else { return Ok(None) };
    if record.is_active(now) {
        return Ok(None);
    }
    let key = delegation_key(&record.org_id, &record.owner_id, &record.delegate_id);
    match ctx.table.delete(&key, Condition::VersionEquals(record.version)).await {
        Ok(()) => Ok(Some(record)),
        Err(StoreError::ConditionFailed) => Ok(None),
        Err(other) => Err(other.into()),
    }
}

async fn notify_expired(ctx: &Ctx, record: &DelegationRecord) -> Result<(), Problem> {
    let owner = store::get_user(ctx, &record.org_id, &record.owner_id).await?;
    let delegate = store::get_user(ctx, &record.org_id, &record.delegate_id).await?;
    if let (Some(owner), Some(delegate)) = (owner, delegate) {
        notify(ctx, Notice::Expired, record, &owner.user, &delegate.user).await;
    }
    Ok(())
}

/// Which change a delegate is told about (W7).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Notice {
    Added,
    Removed,
    Expired,
}

/// Mails the delegate about `notice`. The change is already stored, so a mail that cannot
/// be sent is logged rather than failing the change.
async fn notify(ctx: &Ctx, notice: Notice, record: &DelegationRecord, owner: &User, delegate: &User) {
    let sent = async {
        let org =
            store::get_org(ctx, &record.org_id).await?.ok_or_else(|| Problem::not_found("No such organisation."))?;
        let mail = compose(notice, &org, record, owner, delegate, &ctx.config.mail_from);
        ctx.mailer.send(&mail).await.map_err(Problem::internal)
    };
    if let Err(problem) = sent.await {
        tracing::warn!(org = %record.org_id, notice = ?notice, detail = %problem.detail, "delegate mail not sent");
    }
}

fn name_of(user: &User) -> &str {
    if user.display_name.is_empty() { &user.email } else { &user.display_name }
}

/// `at` in the organisation's time zone (UTC when the zone is unknown), with the zone.
fn local_time(at: DateTime<Utc>, time_zone: &str) -> String {
    match time_zone.parse::<chrono_tz::Tz>() {
        Ok(zone) => at.with_timezone(&zone).format("%Y-%m-%d %H:%M %Z").to_string(),
        Err(_) => at.format("%Y-%m-%d %H:%M UTC").to_string(),
    }
}

/// The mail telling `delegate` about `notice`: the organisation's name in the subject, the
/// expiry date and time when one is set (BR-OS-06), as text and HTML.
fn compose(
    notice: Notice,
    org: &Organisation,
    record: &DelegationRecord,
    owner: &User,
    delegate: &User,
    from: &str,
) -> Mail {
    let (org_name, owner_name) = (org.name.as_str(), name_of(owner));
    let owner_full = format!("{owner_name} ({})", owner.email);
    let until = record.expires_at.map(|at| local_time(at, &org.time_zone));
    let (subject, paragraphs) = match notice {
        Notice::Added => (
            format!("you are now a print delegate of {owner_name}"),
            vec![
                format!(
                    "{owner_full} made you a print delegate in {org_name}: you can see their print jobs and release \
                     their Cloud Print Management jobs at printers with the Cloud Print Management app."
                ),
                match &until {
                    Some(until) => format!("This delegation expires on {until}."),
                    None => "This delegation does not expire.".to_string(),
                },
            ],
        ),
        Notice::Removed => (
            format!("you are no longer a print delegate of {owner_name}"),
            vec![format!(
                "{owner_full} removed you as their print delegate in {org_name}: you can no longer release their \
                 print jobs."
            )],
        ),
        Notice::Expired => (
            format!("your print delegation from {owner_name} has expired"),
            vec![format!(
                "Your delegation from {owner_full} in {org_name} expired on {}: you can no longer release their \
                 print jobs.",
                until.unwrap_or_default()
            )],
        ),
    };
    let greeting = format!("Hello {},", name_of(delegate));
    let letter = std::iter::once(greeting).chain(paragraphs).fold(Letter::new(org_name, subject), Letter::text);
    letter.to_mail(from, vec![delegate.email.clone()])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::model::UserRecord;
    use crate::ports::{ManualClock, SequentialIds};
    use crate::print::settings::PrintSettingsUpdate;
    use crate::wiring::{LocalOptions, LocalStorage, local};
    use std::sync::Arc;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    fn user(id: &str, display_name: &str) -> User {
        User {
            id: id.into(),
            org_id: "o1".into(),
            email: format!("{id}@example.com"),
            display_name: display_name.into(),
            created_at: at("2025-01-01T00:00:00Z"),
            version: 1,
            ..User::default()
        }
    }

    fn org(time_zone: &str) -> Organisation {
        Organisation {
            id: "o1".into(),
            name: "Acme & Co".into(),
            parent_id: None,
            entitlements: Default::default(),
            time_zone: time_zone.into(),
            roles: Vec::new(),
            sub_org_creation_enabled: false,
            mps_express: false,
            deleting: false,
            created_at: at("2025-01-01T00:00:00Z"),
        }
    }

    fn record(expires_after_days: Option<u32>) -> DelegationRecord {
        let now = at("2025-01-01T00:00:00Z");
        DelegationRecord {
            org_id: "o1".into(),
            owner_id: "boss".into(),
            delegate_id: "aide".into(),
            expires_after_days,
            expires_at: expiry(now, expires_after_days),
            created_at: now,
            updated_at: now,
            version: 1,
        }
    }

    #[test]
    fn br_dl_04_expires_after_n_days_or_never() {
        assert_eq!(check_expiry(None).unwrap(), None, "null: never expires");
        assert_eq!(check_expiry(Some(1)).unwrap(), Some(1));
        assert_eq!(check_expiry(Some(365)).unwrap(), Some(365));
        for bad in [0, 366, -1, i64::MAX] {
            let problem = check_expiry(Some(bad)).unwrap_err();
            assert_eq!((problem.status, problem.code.as_str()), (400, "invalid_field"));
            assert!(problem.detail.starts_with("expiresAfterDays:"), "{}", problem.detail);
        }
        let now = at("2025-01-01T10:00:00Z");
        assert_eq!(expiry(now, Some(3)), Some(at("2025-01-04T10:00:00Z")));
        let three_days = DelegationRecord { expires_at: expiry(now, Some(3)), ..record(Some(3)) };
        assert!(three_days.is_active(at("2025-01-04T09:59:59Z")));
        assert!(!three_days.is_active(at("2025-01-04T10:00:00Z")), "ends at its expiry");
        assert!(record(None).is_active(at("2999-01-01T00:00:00Z")), "never expires");
    }

    #[test]
    fn br_dl_04_the_sweep_index_and_ttl_follow_the_expiry() {
        let expiring = to_stored(&record(Some(2))).unwrap();
        assert_eq!(expiring["pk"], "ORG#o1");
        assert_eq!(expiring["sk"], "DELEGATE#boss#aide");
        assert_eq!(expiring["gsi1pk"], "ORG#o1#DELEGATOR#aide");
        assert_eq!(expiring["gsi1sk"], "boss");
        assert_eq!(expiring["gsi2pk"], EXPIRING);
        let due = expiring["gsi2sk"].as_str().unwrap();
        assert_eq!(due, "2025-01-03T00:00:00.000Z#o1#boss#aide");
        let expires = at("2025-01-03T00:00:00Z");
        assert!(SortKey::AtMost(due_bound(expires)).matches(due), "due at its expiry");
        assert!(!SortKey::AtMost(due_bound(expires - Duration::milliseconds(1))).matches(due), "not before");
        let ttl = expiring["ttl"].as_i64().unwrap();
        assert!(ttl > expires.timestamp(), "ttl only a backstop after the sweep had its chance");

        let never = to_stored(&record(None)).unwrap();
        assert_eq!(never["gsi1pk"], "ORG#o1#DELEGATOR#aide");
        assert!(never.get("gsi2pk").is_none() && never.get("ttl").is_none());
    }

    #[test]
    fn br_os_06_the_added_mail_names_the_organisation_and_the_expiry() {
        let (owner, delegate) = (user("boss", "Bo <Boss>"), user("aide", ""));
        let mail = compose(Notice::Added, &org("Europe/Amsterdam"), &record(Some(2)), &owner, &delegate, "from@x");
        assert_eq!(mail.to, vec!["aide@example.com".to_string()]);
        assert_eq!(mail.subject, "Acme & Co: you are now a print delegate of Bo <Boss>");
        assert!(mail.text.starts_with("Hello aide@example.com,"), "{}", mail.text);
        assert!(mail.text.contains("Bo <Boss> (boss@example.com)"), "{}", mail.text);
        assert!(mail.text.contains("expires on 2025-01-03 01:00 CET"), "local time: {}", mail.text);
        let html = mail.html.unwrap();
        assert!(html.contains("Bo &lt;Boss&gt;") && html.contains("Acme &amp; Co"), "escaped: {html}");
        assert!(html.contains("2025-01-03 01:00 CET"));

        let never = compose(Notice::Added, &org("Nowhere/Else"), &record(None), &owner, &delegate, "from@x");
        assert!(never.text.contains("does not expire"), "{}", never.text);
    }

    #[test]
    fn br_dl_06_removal_and_expiry_mails() {
        let (owner, delegate) = (user("boss", "Boss"), user("aide", "Aide"));
        let removed = compose(Notice::Removed, &org("UTC"), &record(None), &owner, &delegate, "from@x");
        assert_eq!(removed.subject, "Acme & Co: you are no longer a print delegate of Boss");
        assert!(removed.text.contains("no longer release"));
        let expired = compose(Notice::Expired, &org("Invalid/Zone"), &record(Some(2)), &owner, &delegate, "f@x");
        assert_eq!(expired.subject, "Acme & Co: your print delegation from Boss has expired");
        assert!(expired.text.contains("expired on 2025-01-03 00:00 UTC"), "{}", expired.text);
        assert!(expired.html.unwrap().contains("<p>Hello Aide,</p>"));
    }

    struct Env {
        ctx: Ctx,
        clock: Arc<ManualClock>,
        dir: tempfile::TempDir,
        boss: User,
        aide: User,
    }

    impl Env {
        async fn new() -> Env {
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
            let clock = Arc::new(ManualClock::new(at("2025-01-01T00:00:00Z")));
            let ctx = local(&options, clock.clone(), Arc::new(SequentialIds::default())).await.unwrap().ctx;
            let mut writes = store::create_org_writes(&org("UTC")).unwrap();
            let (boss, aide) = (user("boss", "Boss"), user("aide", "Aide"));
            for account in [&boss, &aide, &user("other", "Other")] {
                let record = UserRecord { user: account.clone(), password_hash: None };
                writes.extend(store::create_user_writes(&record).unwrap());
            }
            ctx.table.transact(writes).await.unwrap();
            Env { ctx, clock, dir, boss, aide }
        }

        async fn switch(&self, delegation: bool, mails: bool) {
            let update = PrintSettingsUpdate {
                delegation: Some(delegation),
                delegate_email_notifications: Some(mails),
                ..PrintSettingsUpdate::default()
            };
            settings::put(&self.ctx, "o1", update).await.unwrap();
        }

        async fn add(&self, delegate: &str, days: Option<i64>) -> Result<Delegation, Problem> {
            let new = NewDelegate { delegate_user_id: delegate.into(), expires_after_days: days };
            add(&self.ctx, "o1", &self.boss, new).await
        }

        /// The subjects of the mails sent so far.
        fn subjects(&self) -> Vec<String> {
            let Ok(entries) = std::fs::read_dir(self.dir.path().join("outbox")) else { return Vec::new() };
            let mut subjects: Vec<String> = entries
                .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap_or_default())
                .filter_map(|text| text.lines().find_map(|l| l.strip_prefix("Subject: ").map(str::to_string)))
                .collect();
            subjects.sort();
            subjects
        }
    }

    #[tokio::test]
    async fn br_dl_01_delegation_switched_off_adds_and_releases_nothing() {
        let env = Env::new().await;
        let problem = env.add("aide", None).await.unwrap_err();
        assert_eq!((problem.status, problem.code.as_str()), (409, "delegation_disabled"));
        env.switch(true, false).await;
        env.add("aide", None).await.unwrap();
        assert!(is_delegate(&env.ctx, "o1", "boss", "aide").await.unwrap());
        env.switch(false, false).await;
        assert!(!is_delegate(&env.ctx, "o1", "boss", "aide").await.unwrap());
        assert!(owners_of(&env.ctx, "o1", "aide").await.unwrap().is_empty());
        let (listed, _) = delegates_of(&env.ctx, "o1", &env.boss, 50, None).await.unwrap();
        assert_eq!(listed.len(), 1, "listing still works");
        remove(&env.ctx, "o1", &env.boss, "aide").await.expect("removing still works");
        assert!(env.subjects().is_empty(), "no mails while notifications are off");
    }

    #[tokio::test]
    async fn br_dl_05_add_update_list_and_remove() {
        let env = Env::new().await;
        env.switch(true, true).await;
        assert_eq!(env.add("boss", None).await.unwrap_err().code, "invalid_field", "not oneself");
        assert_eq!(env.add("nobody", None).await.unwrap_err().status, 404);
        assert_eq!(env.add("aide", Some(0)).await.unwrap_err().code, "invalid_field");

        let added = env.add("aide", Some(5)).await.unwrap();
        assert_eq!((added.owner.id.as_str(), added.delegate.id.as_str()), ("boss", "aide"));
        assert_eq!(added.expires_at, Some(at("2025-01-06T00:00:00Z")));
        env.clock.advance(Duration::days(1));
        let renewed = env.add("aide", None).await.unwrap();
        assert_eq!((renewed.expires_after_days, renewed.expires_at), (None, None), "a new expiry");
        assert_eq!(renewed.created_at, added.created_at, "still the same delegate");
        env.add("other", Some(1)).await.unwrap();

        let (delegates, _) = delegates_of(&env.ctx, "o1", &env.boss, 50, None).await.unwrap();
        let ids: Vec<&str> = delegates.iter().map(|d| d.delegate.id.as_str()).collect();
        assert_eq!(ids, ["aide", "other"]);
        let (delegators, _) = delegators_of(&env.ctx, "o1", &env.aide, 50, None).await.unwrap();
        assert_eq!(delegators, vec![renewed.clone()]);
        assert_eq!(owners_of(&env.ctx, "o1", "aide").await.unwrap(), vec!["boss".to_string()]);
        assert!(!is_delegate(&env.ctx, "o1", "aide", "boss").await.unwrap(), "one direction only");

        remove(&env.ctx, "o1", &env.boss, "aide").await.unwrap();
        assert_eq!(remove(&env.ctx, "o1", &env.boss, "aide").await.unwrap_err().status, 404);
        assert!(owners_of(&env.ctx, "o1", "aide").await.unwrap().is_empty());
        assert_eq!(
            env.subjects(),
            [
                "Acme & Co: you are no longer a print delegate of Boss",
                "Acme & Co: you are now a print delegate of Boss",
                "Acme & Co: you are now a print delegate of Boss",
                "Acme & Co: you are now a print delegate of Boss",
            ]
        );
    }

    #[tokio::test]
    async fn br_dl_06_the_sweep_removes_expired_delegates_and_mails_each_once() {
        let env = Env::new().await;
        env.switch(true, true).await;
        env.add("aide", Some(2)).await.unwrap();
        env.add("other", None).await.unwrap();
        env.clock.advance(Duration::days(1));
        assert_eq!(sweep_expired_all(&env.ctx).await.unwrap(), 0, "not yet due");
        env.clock.advance(Duration::days(1));
        assert!(!is_delegate(&env.ctx, "o1", "boss", "aide").await.unwrap(), "expired before any sweep");
        assert!(owners_of(&env.ctx, "o1", "aide").await.unwrap().is_empty());
        let (delegates, _) = delegates_of(&env.ctx, "o1", &env.boss, 50, None).await.unwrap();
        assert_eq!(delegates.len(), 1, "only the delegate who never expires");
        assert_eq!(remove(&env.ctx, "o1", &env.boss, "aide").await.unwrap_err().status, 404);

        assert_eq!(sweep_expired_all(&env.ctx).await.unwrap(), 1);
        assert_eq!(sweep_expired_all(&env.ctx).await.unwrap(), 0, "once");
        let expired: Vec<String> = env.subjects().into_iter().filter(|s| s.ends_with("has expired")).collect();
        assert_eq!(expired, ["Acme & Co: your print delegation from Boss has expired"]);
        assert!(find(&env.ctx, "o1", "boss", "aide").await.unwrap().is_none(), "deleted");
        assert!(is_delegate(&env.ctx, "o1", "boss", "other").await.unwrap());
    }
}
