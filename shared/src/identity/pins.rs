//! PINs (E-PIN, WF-PIN, BR-PIN-1..4, BR-USR-2): set by an administrator, by the user, or
//! generated and mailed, depending on the organisation's printer login configuration.
//! A PIN is stored only as its keyed hash ([`super::keyed_hash`]) and never answered or
//! logged; a generated PIN leaves the server once, in the mail to its user (BR-PIN-1).
//!
//! Layout, in the organisation's partition:
//! - the user's PIN `ORG#<org>`/`USERPIN#<user>`: hash, when it was set, when it expires
//!   (`ttl`, from the configured expiry, BR-PIN-3);
//! - the lookup `ORG#<org>`/`PIN#<hash>`: the users holding that PIN, each with their expiry.
//!
//! While PIN-only login is enabled a PIN identifies its user, so it must be unique in the
//! organisation: a lookup held by another live user answers 409 `pin_taken`. Under badge +
//! PIN the badge identifies the user and two users may share a PIN; the lookup then lists
//! both, and should the organisation later switch to PIN-only login, such a shared PIN
//! signs nobody in (never the wrong person) until its users get new ones. Every write
//! changes the user's PIN, the new lookup and the old lookup in one transaction, guarded by
//! versions, so concurrent changes cannot leave a lookup pointing at the wrong user.

use super::keyed_hash::{Purpose, keyed_hash};
use super::model::User;
use super::printer_login::{self, PinGeneration, PrinterLoginConfig};
use super::store;
use super::throttle;
use crate::Ctx;
use crate::http::Problem;
use crate::mail::Letter;
use crate::ports::{Condition, Key, StoreError, Write};
use crate::records::to_item;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use rand::Rng;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::BTreeMap;

/// How often a write is retried when a concurrent change got in between.
const ATTEMPTS: usize = 5;
/// How many random PINs are tried before giving up on finding an unused one.
const GENERATE_ATTEMPTS: usize = 25;

/// A user's PIN as stored (no PIN, only its hash).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PinRecord {
    /// Whose PIN.
    pub user_id: String,
    /// Keyed hash of the PIN.
    pub hash: String,
    /// When it was set.
    pub set_at: DateTime<Utc>,
    /// When it stops working (BR-PIN-3), if ever.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
    /// Made by the server (and mailed) rather than typed by someone.
    pub generated: bool,
    /// Optimistic-concurrency version.
    pub version: i64,
}

/// The users holding one PIN, each with the expiry of theirs (epoch seconds, `None` never).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
struct PinLookup {
    users: BTreeMap<String, Option<i64>>,
    version: i64,
}

/// What setting a PIN answers: never the PIN itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PinSet {
    /// Whose PIN was set.
    pub user_id: String,
    /// When.
    pub set_at: DateTime<Utc>,
    /// When it expires (BR-PIN-3), if ever.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
    /// The server generated the PIN and mailed it to the user (BR-PIN-1).
    pub emailed: bool,
}

/// The body of the PIN routes: the PIN when it is typed, nothing when the server makes it.
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PinRequest {
    /// Digits only, exactly the organisation's PIN length. Leave out with
    /// `autoGenerateAndEmail`.
    #[serde(default)]
    pub pin: Option<String>,
}

/// 409 `pin_not_settable` (BR-USR-2).
pub fn not_settable(why: &str) -> Problem {
    Problem::new(StatusCode::CONFLICT, "pin_not_settable", format!("{why} (BR-USR-2)."))
}

/// 409 `pin_taken`.
pub fn taken() -> Problem {
    Problem::new(
        StatusCode::CONFLICT,
        "pin_taken",
        "Printers sign in with a PIN alone, so PINs must be unique in the organisation; choose another.",
    )
}

/// 400 `invalid_pin` unless `pin` is exactly the configured number of digits.
pub fn check_format(config: &PrinterLoginConfig, pin: &str) -> Result<(), Problem> {
    if pin.len() == config.pin_length as usize && pin.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(Problem::new(StatusCode::BAD_REQUEST, "invalid_pin", format!("pin: exactly {} digits", config.pin_length)))
    }
}

/// A random PIN of `length` digits (leading zeros allowed).
pub fn generate(length: u32) -> String {
    let mut rng = rand::rng();
    (0..length).map(|_| char::from(b'0' + rng.random_range(0..10u8))).collect()
}

fn record_key(org_id: &str, user_id: &str) -> Key {
    Key::new(store::org_partition(org_id), format!("USERPIN#{user_id}"))
}

fn lookup_key(org_id: &str, hash: &str) -> Key {
    Key::new(store::org_partition(org_id), format!("PIN#{hash}"))
}

fn hash(ctx: &Ctx, org_id: &str, pin: &str) -> String {
    keyed_hash(&ctx.config.secret, Purpose::Pin, org_id, pin)
}

fn version_condition(version: Option<i64>) -> Condition {
    version.map_or(Condition::Absent, Condition::VersionEquals)
}

/// The user's live PIN record, if any.
pub async fn get_record(ctx: &Ctx, org_id: &str, user_id: &str) -> Result<Option<PinRecord>, Problem> {
    Ok(crate::records::get(&*ctx.table, &record_key(org_id, user_id)).await?)
}

async fn get_lookup(ctx: &Ctx, org_id: &str, hash: &str) -> Result<Option<PinLookup>, Problem> {
    Ok(crate::records::get(&*ctx.table, &lookup_key(org_id, hash)).await?)
}

/// The lookup's users whose PIN has not expired at `now`.
fn live_users(lookup: Option<&PinLookup>, now: i64) -> BTreeMap<String, Option<i64>> {
    lookup
        .map(|l| l.users.iter().filter(|(_, exp)| exp.is_none_or(|e| e > now)).map(|(u, e)| (u.clone(), *e)).collect())
        .unwrap_or_default()
}

/// Whether `user_id` still exists and holds the PIN with `hash`.
async fn holds(ctx: &Ctx, org_id: &str, user_id: &str, hash: &str) -> Result<bool, Problem> {
    let pin = get_record(ctx, org_id, user_id).await?;
    Ok(pin.is_some_and(|p| p.hash == hash) && store::get_user(ctx, org_id, user_id).await?.is_some())
}

/// The write storing `users` under the lookup `hash` (a delete when nobody is left).
fn lookup_write(
    org_id: &str,
    hash: &str,
    users: BTreeMap<String, Option<i64>>,
    previous: Option<i64>,
) -> Result<Write, Problem> {
    let key = lookup_key(org_id, hash);
    if users.is_empty() {
        return Ok(Write::Delete { key, condition: version_condition(previous) });
    }
    let ttl = users.values().copied().collect::<Option<Vec<i64>>>().and_then(|all| all.into_iter().max());
    let lookup = PinLookup { users, version: previous.unwrap_or(0) + 1 };
    let extra: Vec<(&str, serde_json::Value)> = ttl.map(|t| ("ttl", json!(t))).into_iter().collect();
    Ok(Write::Put { item: to_item(&lookup, &key, &extra)?, condition: version_condition(previous) })
}

/// The write taking `user_id` out of the lookup `hash`, if that lookup exists.
async fn leave_lookup(ctx: &Ctx, org_id: &str, hash: &str, user_id: &str, now: i64) -> Result<Option<Write>, Problem> {
    let Some(lookup) = get_lookup(ctx, org_id, hash).await? else { return Ok(None) };
    let mut users = live_users(Some(&lookup), now);
    users.remove(user_id);
    Ok(Some(lookup_write(org_id, hash, users, Some(lookup.version))?))
}

fn conflict() -> Problem {
    Problem::new(StatusCode::CONFLICT, "conflict", "The PIN was changed by another request; try again.")
}

/// Stores `pin` as the PIN of `user_id`, replacing any previous one; 409 `pin_taken` when
/// PIN-only login is enabled and another user holds it.
async fn store_pin(
    ctx: &Ctx,
    org_id: &str,
    config: &PrinterLoginConfig,
    user_id: &str,
    pin: &str,
    generated: bool,
) -> Result<PinRecord, Problem> {
    store_pin_for(ctx, org_id, config, user_id, (pin, generated), config.pin_lifetime()).await
}

/// Stores a guest's generated PIN (W6), valid for `lifetime` (R-GUEST-9: the configured
/// expiry, at most 14 days); 409 `pin_taken` when another user holds it.
pub async fn store_guest_pin(
    ctx: &Ctx,
    org_id: &str,
    config: &PrinterLoginConfig,
    user_id: &str,
    pin: &str,
    lifetime: chrono::Duration,
) -> Result<PinRecord, Problem> {
    store_pin_for(ctx, org_id, config, user_id, (pin, true), Some(lifetime)).await
}

/// [`store_pin`] with the PIN's lifetime given (`None`: it never expires).
async fn store_pin_for(
    ctx: &Ctx,
    org_id: &str,
    config: &PrinterLoginConfig,
    user_id: &str,
    (pin, generated): (&str, bool),
    lifetime: Option<chrono::Duration>,
) -> Result<PinRecord, Problem> {
    let hash = hash(ctx, org_id, pin);
    for _ in 0..ATTEMPTS {
        let now = ctx.clock.now();
        let expires_at = lifetime.map(|lifetime| now + lifetime);
        let current = get_record(ctx, org_id, user_id).await?;
        let lookup = get_lookup(ctx, org_id, &hash).await?;
        let mut users = live_users(lookup.as_ref(), now.timestamp());
        users.remove(user_id);
        if config.pin_login() {
            let mut holders = BTreeMap::new();
            for (other, expiry) in users {
                if holds(ctx, org_id, &other, &hash).await? {
                    holders.insert(other, expiry);
                }
            }
            if !holders.is_empty() {
                return Err(taken());
            }
            users = holders;
        }
        users.insert(user_id.to_string(), expires_at.map(|at| at.timestamp()));
        let record = PinRecord {
            user_id: user_id.to_string(),
            hash: hash.clone(),
            set_at: now,
            expires_at,
            generated,
            version: current.as_ref().map_or(1, |c| c.version + 1),
        };
        let extra: Vec<(&str, serde_json::Value)> =
            expires_at.map(|at| ("ttl", json!(at.timestamp()))).into_iter().collect();
        let mut writes = vec![
            Write::Put {
                item: to_item(&record, &record_key(org_id, user_id), &extra)?,
                condition: version_condition(current.as_ref().map(|c| c.version)),
            },
            lookup_write(org_id, &hash, users, lookup.map(|l| l.version))?,
        ];
        if let Some(old) = current.filter(|c| c.hash != hash) {
            writes.extend(leave_lookup(ctx, org_id, &old.hash, user_id, now.timestamp()).await?);
        }
        match ctx.table.transact(writes).await {
            Ok(()) => return Ok(record),
            Err(StoreError::TransactionCanceled { .. }) => continue,
            Err(other) => return Err(other.into()),
        }
    }
    Err(conflict())
}

/// Removes the PIN of `user_id`; answers whether there was one.
pub async fn remove(ctx: &Ctx, org_id: &str, user_id: &str) -> Result<bool, Problem> {
    for _ in 0..ATTEMPTS {
        let Some(current) = get_record(ctx, org_id, user_id).await? else { return Ok(false) };
        let mut writes = vec![Write::Delete {
            key: record_key(org_id, user_id),
            condition: Condition::VersionEquals(current.version),
        }];
        writes.extend(leave_lookup(ctx, org_id, &current.hash, user_id, ctx.clock.now().timestamp()).await?);
        match ctx.table.transact(writes).await {
            Ok(()) => return Ok(true),
            Err(StoreError::TransactionCanceled { .. }) => continue,
            Err(other) => return Err(other.into()),
        }
    }
    Err(conflict())
}

/// Whether `pin` is the live PIN of `user_id` (badge + PIN as second factor).
pub async fn verify_for_user(ctx: &Ctx, org_id: &str, user_id: &str, pin: &str) -> Result<bool, Problem> {
    let record = get_record(ctx, org_id, user_id).await?;
    Ok(record.is_some_and(|r| r.hash == hash(ctx, org_id, pin)))
}

/// Who a PIN alone names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PinMatch {
    /// Nobody (wrong or expired PIN).
    Nobody,
    /// Exactly this user.
    One(String),
    /// Several users share it (set under badge + PIN); it signs nobody in.
    Ambiguous,
}

/// The user whose live PIN is `pin` (PIN-only login).
pub async fn find_user(ctx: &Ctx, org_id: &str, pin: &str) -> Result<PinMatch, Problem> {
    let hash = hash(ctx, org_id, pin);
    let lookup = get_lookup(ctx, org_id, &hash).await?;
    let mut holders = Vec::new();
    for user in live_users(lookup.as_ref(), ctx.clock.now().timestamp()).into_keys() {
        if holds(ctx, org_id, &user, &hash).await? {
            holders.push(user);
        }
    }
    Ok(match holders.len() {
        0 => PinMatch::Nobody,
        1 => PinMatch::One(holders.remove(0)),
        _ => PinMatch::Ambiguous,
    })
}

/// Generates an unused PIN for `user`, stores it and mails it (BR-PIN-1).
async fn generate_and_mail(
    ctx: &Ctx,
    org_id: &str,
    config: &PrinterLoginConfig,
    user: &User,
) -> Result<PinSet, Problem> {
    for _ in 0..GENERATE_ATTEMPTS {
        let pin = generate(config.pin_length);
        let record = match store_pin(ctx, org_id, config, &user.id, &pin, true).await {
            Ok(record) => record,
            Err(problem) if problem.code == "pin_taken" => continue,
            Err(problem) => return Err(problem),
        };
        mail_pin(ctx, org_id, user, &pin).await?;
        return Ok(PinSet {
            user_id: user.id.clone(),
            set_at: record.set_at,
            expires_at: record.expires_at,
            emailed: true,
        });
    }
    Err(Problem::new(
        StatusCode::CONFLICT,
        "pin_taken",
        "No unused PIN was found; an administrator can increase the PIN length.",
    ))
}

async fn mail_pin(ctx: &Ctx, org_id: &str, user: &User, pin: &str) -> Result<(), Problem> {
    let org_name = store::get_org(ctx, org_id).await?.map(|o| o.name).unwrap_or_default();
    let name = if user.display_name.is_empty() { user.email.as_str() } else { user.display_name.as_str() };
    let mail = Letter::new(&org_name, "your printer PIN")
        .text(format!("Hello {name},"))
        .text(format!("Your PIN for signing in at the printers of {org_name}:"))
        .code(pin)
        .text("Keep it to yourself. If you did not expect this message, ask your administrator to reset your PIN.")
        .to_mail(&ctx.config.mail_from, vec![user.email.clone()]);
    ctx.mailer.send(&mail).await.map_err(Problem::internal)?;
    Ok(())
}

/// An administrator sets or resets `user`'s PIN (WF-PIN, BR-USR-2): typed with `setByAdmin`,
/// generated and mailed with `autoGenerateAndEmail` (BR-PIN-1); 409 `pin_not_settable`
/// when printers do not use PINs or users set their own.
pub async fn admin_set(
    ctx: &Ctx,
    org_id: &str,
    config: &PrinterLoginConfig,
    user: &User,
    pin: Option<&str>,
) -> Result<PinSet, Problem> {
    if !config.uses_pins() {
        return Err(not_settable("Printers of this organisation do not sign in with a PIN"));
    }
    match config.pin_generation {
        PinGeneration::SetByAdmin => {
            let pin = pin.ok_or_else(|| {
                Problem::new(StatusCode::BAD_REQUEST, "invalid_pin", "pin: required (PINs are set by administrators)")
            })?;
            check_format(config, pin)?;
            let record = store_pin(ctx, org_id, config, &user.id, pin, false).await?;
            Ok(PinSet {
                user_id: user.id.clone(),
                set_at: record.set_at,
                expires_at: record.expires_at,
                emailed: false,
            })
        }
        PinGeneration::AutoGenerateAndEmail => {
            refuse_typed(pin)?;
            generate_and_mail(ctx, org_id, config, user).await
        }
        PinGeneration::SetByUser => Err(not_settable("Users of this organisation set their own PIN")),
    }
}

fn refuse_typed(pin: Option<&str>) -> Result<(), Problem> {
    match pin {
        None => Ok(()),
        Some(_) => Err(Problem::new(
            StatusCode::BAD_REQUEST,
            "invalid_pin",
            "pin: leave it out; this organisation generates PINs and mails them (autoGenerateAndEmail)",
        )),
    }
}

/// The user sets their own PIN (`setByUser`) or has a new one generated and mailed
/// (`autoGenerateAndEmail`). Repeated `pin_taken` answers lock the user out for a while, so
/// the uniqueness rule cannot be used to find other users' PINs.
pub async fn self_set(ctx: &Ctx, org_id: &str, user: &User, pin: Option<&str>) -> Result<PinSet, Problem> {
    let config = printer_login::get(ctx, org_id).await?;
    if !config.uses_pins() {
        return Err(not_settable("Printers of this organisation do not sign in with a PIN"));
    }
    match config.pin_generation {
        PinGeneration::SetByUser => {
            let pin = pin.ok_or_else(|| Problem::new(StatusCode::BAD_REQUEST, "invalid_pin", "pin: required"))?;
            check_format(&config, pin)?;
            let counter = throttle::counter_key(store::org_partition(org_id), &format!("PINSET#{}", user.id));
            throttle::check(ctx, &counter).await?;
            match store_pin(ctx, org_id, &config, &user.id, pin, false).await {
                Ok(record) => Ok(PinSet {
                    user_id: user.id.clone(),
                    set_at: record.set_at,
                    expires_at: record.expires_at,
                    emailed: false,
                }),
                Err(problem) if problem.code == "pin_taken" => {
                    let failures = throttle::record_failure(ctx, &counter).await?;
                    tracing::warn!(org = %org_id, user = %user.id, failures, "a chosen PIN was already taken");
                    Err(if failures >= throttle::MAX_FAILURES { throttle::locked() } else { problem })
                }
                Err(problem) => Err(problem),
            }
        }
        PinGeneration::AutoGenerateAndEmail => {
            refuse_typed(pin)?;
            generate_and_mail(ctx, org_id, &config, user).await
        }
        PinGeneration::SetByAdmin => Err(not_settable("Administrators set the PINs of this organisation")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_pins_have_the_configured_length_and_only_digits() {
        for length in [4, 6, 16] {
            let pin = generate(length);
            assert_eq!(pin.len(), length as usize);
            assert!(pin.bytes().all(|b| b.is_ascii_digit()));
        }
    }

    #[test]
    fn pins_must_match_the_configured_length_and_be_digits() {
        let config = PrinterLoginConfig::default();
        assert!(check_format(&config, "012345").is_ok());
        for bad in ["12345", "1234567", "12345a", "１２３４５６", ""] {
            assert_eq!(check_format(&config, bad).unwrap_err().code, "invalid_pin", "{bad}");
        }
    }

    #[test]
    fn expired_lookup_entries_do_not_count() {
        let lookup = PinLookup {
            users: BTreeMap::from([("a".into(), None), ("b".into(), Some(100)), ("c".into(), Some(200))]),
            version: 1,
        };
        let live: Vec<String> = live_users(Some(&lookup), 100).into_keys().collect();
        assert_eq!(live, vec!["a", "c"]);
    }
}
