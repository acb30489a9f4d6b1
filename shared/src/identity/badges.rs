//! Badges (E-BADGE, WF-BADGE, BR-BDG-1..4): registered by administrators, imported, or
//! registered by the user at the printer on first use. The badge number itself is never
//! stored: only its keyed hash ([`super::keyed_hash`]) and a masked form for listings.
//!
//! Layout, all in the organisation's partition:
//! - the badge `ORG#<org>`/`BADGEID#<id>` (random id), indexed by user on
//!   `gsi1pk = ORG#<org>#USERBADGES#<user>` so "all badges of this e-mail address" is one query;
//! - the lookup `ORG#<org>`/`BADGE#<hash>` → badge and user id, written in the same
//!   transaction with `Absent`, which makes a badge number unique in the organisation.
//!
//! A temporary badge expires 24 hours after registration (BR-BDG-2): both items carry that
//! `ttl`, so the table stops returning them and the number is free again.
//!
//! Decision where the seed is silent: badge numbers are matched ignoring case and surrounding
//! spaces (readers differ in how they print hex digits), at most 128 characters.

use super::keyed_hash::{Purpose, keyed_hash};
use super::model::User;
use super::store;
use crate::Ctx;
use crate::http::Problem;
use crate::ports::{Condition, Index, Key, Page, Query, StoreError, Write};
use crate::records::{from_item, to_item};
use axum::http::StatusCode;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// How long a temporary badge works (BR-BDG-2, L5146–L5147).
pub const TEMPORARY_BADGE_LIFETIME: Duration = Duration::hours(24);
/// Longest badge number.
pub const MAX_BADGE_LEN: usize = 128;
/// Longest description.
pub const MAX_DESCRIPTION: usize = 256;

/// A badge as the API shows it: never the number, only [`mask`]ed (BR-BDG-4, L5145).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Badge {
    /// Identifier (random; unrelated to the number).
    pub id: String,
    /// The user the badge signs in.
    pub user_id: String,
    /// The user's e-mail address when the badge was registered.
    pub email: String,
    /// Free text, e.g. "blue key fob".
    #[serde(default)]
    pub description: String,
    /// Temporary badges expire 24 hours after registration (BR-BDG-2).
    pub temporary: bool,
    /// The number with all but its last characters hidden, e.g. `****1a`.
    pub masked_badge: String,
    /// When it was registered.
    pub created_at: DateTime<Utc>,
    /// When a temporary badge stops working.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
}

/// A badge as stored: the API view plus the keyed hash of its number.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct BadgeRecord {
    #[serde(flatten)]
    badge: Badge,
    hash: String,
}

/// What an administrator gives to register a badge for a user.
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewBadge {
    /// The user's full e-mail address (or give `userId`).
    #[serde(default)]
    pub email: Option<String>,
    /// The user's id (or give `email`).
    #[serde(default)]
    pub user_id: Option<String>,
    /// The badge number as the reader reports it.
    pub badge: String,
    /// Free text.
    #[serde(default)]
    pub description: String,
    /// Expire after 24 hours (BR-BDG-2).
    #[serde(default)]
    pub temporary: bool,
}

/// The badge number as it is hashed: trimmed and upper-cased; 400 `invalid_field` when
/// empty, too long or holding control characters.
pub fn normalise(raw: &str) -> Result<String, Problem> {
    let badge = raw.trim();
    if badge.is_empty() || badge.chars().count() > MAX_BADGE_LEN || badge.chars().any(char::is_control) {
        return Err(Problem::new(
            StatusCode::BAD_REQUEST,
            "invalid_field",
            format!("badge: 1 to {MAX_BADGE_LEN} characters, no control characters"),
        ));
    }
    Ok(badge.to_uppercase())
}

/// `****` and the last two characters of the number when it has at least six; only `****`
/// for shorter numbers, of which two characters would give away too much.
pub fn mask(badge: &str) -> String {
    let chars: Vec<char> = badge.trim().chars().collect();
    let shown = if chars.len() >= 6 { 2 } else { 0 };
    let tail: String = chars[chars.len() - shown..].iter().collect();
    format!("****{tail}")
}

fn hash(ctx: &Ctx, org_id: &str, normalised: &str) -> String {
    keyed_hash(&ctx.config.secret, Purpose::Badge, org_id, normalised)
}

fn badge_key(org_id: &str, badge_id: &str) -> Key {
    Key::new(store::org_partition(org_id), format!("BADGEID#{badge_id}"))
}

fn lookup_key(org_id: &str, hash: &str) -> Key {
    Key::new(store::org_partition(org_id), format!("BADGE#{hash}"))
}

fn user_badges_partition(org_id: &str, user_id: &str) -> String {
    format!("{}#USERBADGES#{user_id}", store::org_partition(org_id))
}

/// 409 `badge_taken`.
pub fn taken() -> Problem {
    Problem::new(StatusCode::CONFLICT, "badge_taken", "This badge is already registered in the organisation.")
}

/// The user of organisation `org_id` named by id or by full e-mail address (BR-BDG-4), or 404.
pub async fn resolve_user(
    ctx: &Ctx,
    org_id: &str,
    user_id: Option<&str>,
    email: Option<&str>,
) -> Result<User, Problem> {
    let not_found = || Problem::not_found("No such user in this organisation.");
    let record = match (user_id, email) {
        (Some(id), None) => store::get_user(ctx, org_id, id).await?,
        (None, Some(email)) => store::find_user_by_email(ctx, email).await?,
        _ => return Err(Problem::invalid("give either `email` or `userId`")),
    };
    record.map(|r| r.user).filter(|u| u.org_id == org_id).ok_or_else(not_found)
}

/// Registers an administrator's badge for a user of the organisation.
pub async fn create(ctx: &Ctx, org_id: &str, new: NewBadge) -> Result<Badge, Problem> {
    let user = resolve_user(ctx, org_id, new.user_id.as_deref(), new.email.as_deref()).await?;
    register(ctx, org_id, &user, &new.badge, &new.description, new.temporary).await
}

/// Registers badge number `raw` for `user`; 409 `badge_taken` when the organisation has it.
pub async fn register(
    ctx: &Ctx,
    org_id: &str,
    user: &User,
    raw: &str,
    description: &str,
    temporary: bool,
) -> Result<Badge, Problem> {
    let number = normalise(raw)?;
    let description = description.trim();
    if description.chars().count() > MAX_DESCRIPTION || description.chars().any(char::is_control) {
        return Err(Problem::new(
            StatusCode::BAD_REQUEST,
            "invalid_field",
            format!("description: at most {MAX_DESCRIPTION} characters, no control characters"),
        ));
    }
    let now = ctx.clock.now();
    let badge = Badge {
        id: ctx.ids.new_id(),
        user_id: user.id.clone(),
        email: user.email.clone(),
        description: description.to_string(),
        temporary,
        masked_badge: mask(raw),
        created_at: now,
        expires_at: temporary.then(|| now + TEMPORARY_BADGE_LIFETIME),
    };
    let hash = hash(ctx, org_id, &number);
    let mut extra = vec![
        ("gsi1pk", json!(user_badges_partition(org_id, &user.id))),
        ("gsi1sk", json!(format!("BADGEID#{}", badge.id))),
    ];
    let ttl = badge.expires_at.map(|at| ("ttl", json!(at.timestamp())));
    extra.extend(ttl.clone());
    let record = BadgeRecord { badge: badge.clone(), hash: hash.clone() };
    let lookup = json!({"badgeId": badge.id, "userId": user.id});
    let writes = vec![
        Write::Put {
            item: to_item(&lookup, &lookup_key(org_id, &hash), ttl.as_slice())?,
            condition: Condition::Absent,
        },
        Write::Put { item: to_item(&record, &badge_key(org_id, &badge.id), &extra)?, condition: Condition::Absent },
    ];
    match ctx.table.transact(writes).await {
        Ok(()) => Ok(badge),
        Err(StoreError::TransactionCanceled { failed }) if failed.contains(&0) => Err(taken()),
        Err(other) => Err(other.into()),
    }
}

/// The badge with id `badge_id`, or 404.
async fn get_record(ctx: &Ctx, org_id: &str, badge_id: &str) -> Result<BadgeRecord, Problem> {
    let record = crate::records::get(&*ctx.table, &badge_key(org_id, badge_id)).await?;
    record.ok_or_else(|| Problem::not_found("No such badge."))
}

/// The badge whose number is `raw` (compared in full, BR-BDG-4), if registered and live.
pub async fn find_by_number(ctx: &Ctx, org_id: &str, raw: &str) -> Result<Option<Badge>, Problem> {
    let Ok(number) = normalise(raw) else { return Ok(None) };
    let Some(lookup) = ctx.table.get(&lookup_key(org_id, &hash(ctx, org_id, &number))).await? else {
        return Ok(None);
    };
    let Some(badge_id) = lookup.get("badgeId").and_then(Value::as_str) else { return Ok(None) };
    match get_record(ctx, org_id, badge_id).await {
        Ok(record) => Ok(Some(record.badge)),
        Err(problem) if problem.status == 404 => Ok(None),
        Err(problem) => Err(problem),
    }
}

/// Deletes the badge `badge_id` (and frees its number); 404 when there is none.
pub async fn delete(ctx: &Ctx, org_id: &str, badge_id: &str) -> Result<(), Problem> {
    let record = get_record(ctx, org_id, badge_id).await?;
    let writes = vec![
        Write::Delete { key: badge_key(org_id, badge_id), condition: Condition::Exists },
        Write::Delete {
            key: lookup_key(org_id, &record.hash),
            condition: Condition::Equals("badgeId".into(), json!(badge_id)),
        },
    ];
    match ctx.table.transact(writes).await {
        Ok(()) => Ok(()),
        Err(StoreError::TransactionCanceled { .. }) => Err(Problem::not_found("No such badge.")),
        Err(other) => Err(other.into()),
    }
}

fn page(items: Vec<crate::ports::Item>) -> Result<Vec<Badge>, Problem> {
    Ok(items.into_iter().map(|i| from_item::<BadgeRecord>(i).map(|r| r.badge)).collect::<Result<_, _>>()?)
}

/// One page of the organisation's badges, in registration order.
pub async fn list(
    ctx: &Ctx,
    org_id: &str,
    limit: u32,
    cursor: Option<String>,
) -> Result<(Vec<Badge>, Option<String>), Problem> {
    let query = Query::partition(store::org_partition(org_id)).begins_with("BADGEID#").limit(limit).after(cursor);
    let Page { items, cursor } = ctx.table.query(&query).await?;
    Ok((page(items)?, cursor))
}

/// One page of the badges of user `user_id`.
pub async fn list_for_user(
    ctx: &Ctx,
    org_id: &str,
    user_id: &str,
    limit: u32,
    cursor: Option<String>,
) -> Result<(Vec<Badge>, Option<String>), Problem> {
    let query = Query::on_index(Index::Gsi1, user_badges_partition(org_id, user_id)).limit(limit).after(cursor);
    let Page { items, cursor } = ctx.table.query(&query).await?;
    Ok((page(items)?, cursor))
}

/// The badge list with the search of WF-BADGE: by a full e-mail address, a full badge number
/// (BR-BDG-4: never a part of either), both, or neither (every badge). An address of no user
/// of the organisation finds nothing.
pub async fn search(
    ctx: &Ctx,
    org_id: &str,
    email: Option<&str>,
    badge: Option<&str>,
    limit: u32,
    cursor: Option<String>,
) -> Result<(Vec<Badge>, Option<String>), Problem> {
    let user_id = match email {
        None => None,
        Some(email) => match store::find_user_by_email(ctx, email).await?.filter(|r| r.user.org_id == org_id) {
            Some(record) => Some(record.user.id),
            None => return Ok((Vec::new(), None)),
        },
    };
    match (badge, user_id) {
        (Some(badge), user_id) => {
            let found = find_by_number(ctx, org_id, badge).await?;
            let found = found.filter(|b| user_id.as_ref().is_none_or(|u| *u == b.user_id));
            Ok((found.into_iter().collect(), None))
        }
        (None, Some(user_id)) => list_for_user(ctx, org_id, &user_id, limit, cursor).await,
        (None, None) => list(ctx, org_id, limit, cursor).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn br_bdg_4_masks_show_at_most_the_last_two_characters() {
        assert_eq!(mask("20171a"), "****1a");
        assert_eq!(mask(" 0123456789abcdef "), "****ef");
        assert_eq!(mask("12345"), "****");
        assert_eq!(mask("ab"), "****");
    }

    #[test]
    fn badge_numbers_are_trimmed_upper_cased_and_bounded() {
        assert_eq!(normalise(" 20171a ").unwrap(), "20171A");
        assert!(normalise("   ").is_err());
        assert!(normalise("a\tb").is_err());
        assert!(normalise(&"x".repeat(MAX_BADGE_LEN + 1)).is_err());
        assert!(normalise(&"x".repeat(MAX_BADGE_LEN)).is_ok());
    }
}
