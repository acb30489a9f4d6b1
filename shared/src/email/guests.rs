//! Guests of email-to-print (W6, R-GUEST-*): people without an account who mail documents
//! to the organisation's print address and release them with a PIN mailed back to them.
//!
//! A guest is a user record marked `guest` (R-GUEST-12: a unique id for reports) with no
//! e-mail address, no password and only the Print Release Management User role, charged
//! to the cost centre or department the organisation chose (BR-OS-17, R-GUEST-10). What
//! finds the guest again is `ORG#<org>`/`GUEST#<hash>`, keyed by an HMAC of the sender's
//! lower-cased address (D-GUEST-HASH): the address itself is never stored.
//!
//! The guest's PIN is derived from the deployment secret, the address and a counter kept
//! in the guest record, and stored only as the usual PIN hash. A second mail while the
//! PIN is valid recomputes the same PIN and mails it again (R-GUEST-7); once it expired,
//! the counter moves on and a new PIN is mailed. PINs last the organisation's PIN expiry,
//! at most 14 days (R-GUEST-9); the guest (record and user) lasts 14 days after their
//! last mail (R-GUEST-8), after which a new mail makes a new guest.

use crate::Ctx;
use crate::http::Problem;
use crate::identity::keyed_hash::{Purpose, keyed_hash};
use crate::identity::model::{User, UserRecord};
use crate::identity::printer_login::PrinterLoginConfig;
use crate::identity::roles::Role;
use crate::identity::{pins, store};
use crate::ports::{Condition, Key, StoreError, Write};
use crate::print::settings::{GuestChargeKind, PrintSettings};
use crate::records::to_item;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// How long a guest is kept after their last mail (R-GUEST-8), and the longest a guest
/// PIN lasts (R-GUEST-9).
pub const GUEST_LIFETIME: Duration = Duration::days(14);
/// PINs tried before giving up on finding one no other user holds.
const PIN_ATTEMPTS: u32 = 25;
/// Times the guest's records are re-read after a concurrent mail changed them.
const ATTEMPTS: usize = 5;

/// What finds a guest again, stored under the hash of the sender's address.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GuestRecord {
    /// The guest's user id (their queue).
    user_id: String,
    /// The counter the current PIN was derived with.
    pin_counter: u32,
    /// When the guest first mailed.
    created_at: DateTime<Utc>,
    /// When they last mailed.
    last_mail_at: DateTime<Utc>,
    /// Optimistic-concurrency version.
    version: i64,
}

/// A guest who just mailed, with the PIN to mail back.
#[derive(Clone, Debug)]
pub struct Admitted {
    /// The guest's user record (their queue is this user's).
    pub user: User,
    /// Their PIN, to be mailed to them and nowhere else.
    pub pin: String,
    /// When the PIN stops working; their jobs expire by then too (R-GUEST-6).
    pub pin_expires_at: DateTime<Utc>,
    /// The PIN is the one mailed before (R-GUEST-7).
    pub same_pin: bool,
}

fn record_key(org_id: &str, sender_hash: &str) -> Key {
    Key::new(store::org_partition(org_id), format!("GUEST#{sender_hash}"))
}

/// The PIN of `length` digits derived for `sender` with `counter`.
fn derived_pin(ctx: &Ctx, org_id: &str, sender: &str, counter: u32, length: u32) -> String {
    let digest = keyed_hash(&ctx.config.secret, Purpose::GuestPin, org_id, &format!("{counter}:{sender}"));
    let number = u128::from_str_radix(&digest[..32], 16).unwrap_or_default();
    let modulus = 10u128.pow(length.min(30));
    format!("{:0width$}", number % modulus, width = length as usize)
}

/// How long a guest PIN lasts: the organisation's PIN expiry, at most 14 days (R-GUEST-9).
fn pin_lifetime(config: &PrinterLoginConfig) -> Duration {
    config.pin_expiry.duration().map_or(GUEST_LIFETIME, |lifetime| lifetime.min(GUEST_LIFETIME))
}

/// Finds or makes the guest for `sender` (lower-cased), keeps them 14 more days, and
/// answers their PIN: the same while it is valid, a new one otherwise.
pub async fn admit(
    ctx: &Ctx,
    org_id: &str,
    sender: &str,
    settings: &PrintSettings,
    config: &PrinterLoginConfig,
) -> Result<Admitted, Problem> {
    let sender_hash = keyed_hash(&ctx.config.secret, Purpose::GuestSender, org_id, sender);
    for _ in 0..ATTEMPTS {
        let (mut record, user) = match current(ctx, org_id, &sender_hash).await? {
            Some(found) => found,
            None => match create(ctx, org_id, &sender_hash, settings).await? {
                Some(made) => made,
                None => continue,
            },
        };
        let previous_version = record.version;
        let user = charged(settings, user);
        let pin = pin_for(ctx, org_id, sender, config, &mut record, &user).await?;
        record.last_mail_at = ctx.clock.now();
        record.version = previous_version + 1;
        match keep(ctx, org_id, &sender_hash, &record, &user, previous_version).await {
            Ok(()) => return Ok(Admitted { user, pin: pin.0, pin_expires_at: pin.1, same_pin: pin.2 }),
            Err(StoreError::TransactionCanceled { .. }) => continue,
            Err(other) => return Err(other.into()),
        }
    }
    Err(Problem::new(axum::http::StatusCode::CONFLICT, "conflict", "The guest changed meanwhile; try again."))
}

/// The guest record and user of `sender_hash`, when both still exist.
async fn current(ctx: &Ctx, org_id: &str, sender_hash: &str) -> Result<Option<(GuestRecord, User)>, Problem> {
    let Some(record) = crate::records::get::<GuestRecord>(&*ctx.table, &record_key(org_id, sender_hash)).await? else {
        return Ok(None);
    };
    let user = store::get_user(ctx, org_id, &record.user_id).await?;
    Ok(user.map(|found| (record, found.user)))
}

/// Makes a new guest; `None` when a concurrent mail of the same sender made one first.
async fn create(
    ctx: &Ctx,
    org_id: &str,
    sender_hash: &str,
    settings: &PrintSettings,
) -> Result<Option<(GuestRecord, User)>, Problem> {
    let now = ctx.clock.now();
    let user = User {
        id: ctx.ids.new_id(),
        org_id: org_id.to_string(),
        display_name: "Guest".into(),
        roles: vec![Role::PrintReleaseManagementUser],
        guest: true,
        version: 1,
        created_at: now,
        ..User::default()
    };
    let record =
        GuestRecord { user_id: user.id.clone(), pin_counter: 0, created_at: now, last_mail_at: now, version: 1 };
    let ttl = json!((now + GUEST_LIFETIME).timestamp());
    let user_record = UserRecord { user: charged(settings, user), password_hash: None };
    let writes = vec![
        // A record whose user expired is replaced (a new guest), so no condition on it.
        Write::Put {
            item: to_item(&record, &record_key(org_id, sender_hash), &[("ttl", ttl.clone())])?,
            condition: Condition::Always,
        },
        Write::Put {
            item: to_item(&user_record, &store::user_key(org_id, &user_record.user.id), &[("ttl", ttl)])?,
            condition: Condition::Absent,
        },
    ];
    match ctx.table.transact(writes).await {
        Ok(()) => Ok(Some((record, user_record.user))),
        Err(StoreError::TransactionCanceled { .. }) => Ok(None),
        Err(other) => Err(other.into()),
    }
}

/// `user` with the cost centre or department guests are charged to (BR-OS-17).
fn charged(settings: &PrintSettings, mut user: User) -> User {
    user.cost_center.clear();
    user.department.clear();
    if let Some(charge) = &settings.guest_charged_to {
        match charge.kind {
            GuestChargeKind::CostCenter => user.cost_center = charge.name.clone(),
            GuestChargeKind::Department => user.department = charge.name.clone(),
        }
    }
    user
}

/// The guest's PIN: the live one again, or the next derived one no other user holds.
async fn pin_for(
    ctx: &Ctx,
    org_id: &str,
    sender: &str,
    config: &PrinterLoginConfig,
    record: &mut GuestRecord,
    user: &User,
) -> Result<(String, DateTime<Utc>, bool), Problem> {
    let length = config.pin_length;
    if record.pin_counter > 0
        && let Some(live) = pins::get_record(ctx, org_id, &user.id).await?
        && let Some(expires_at) = live.expires_at
    {
        let again = derived_pin(ctx, org_id, sender, record.pin_counter, length);
        if pins::verify_for_user(ctx, org_id, &user.id, &again).await? {
            return Ok((again, expires_at, true));
        }
    }
    for _ in 0..PIN_ATTEMPTS {
        record.pin_counter += 1;
        let pin = derived_pin(ctx, org_id, sender, record.pin_counter, length);
        match pins::store_guest_pin(ctx, org_id, config, &user.id, &pin, pin_lifetime(config)).await {
            Ok(stored) => return Ok((pin, stored.expires_at.unwrap_or_else(|| ctx.clock.now()), false)),
            Err(problem) if problem.code == "pin_taken" => continue,
            Err(problem) => return Err(problem),
        }
    }
    Err(pins::taken())
}

/// Stores the guest record and user with 14 more days to live.
async fn keep(
    ctx: &Ctx,
    org_id: &str,
    sender_hash: &str,
    record: &GuestRecord,
    user: &User,
    previous_version: i64,
) -> Result<(), StoreError> {
    let ttl = json!((record.last_mail_at + GUEST_LIFETIME).timestamp());
    let user_record = UserRecord { user: user.clone(), password_hash: None };
    ctx.table
        .transact(vec![
            Write::Put {
                item: to_item(record, &record_key(org_id, sender_hash), &[("ttl", ttl.clone())])?,
                condition: Condition::VersionEquals(previous_version),
            },
            Write::Put {
                item: to_item(&user_record, &store::user_key(org_id, &user.id), &[("ttl", ttl)])?,
                condition: Condition::Exists,
            },
        ])
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r_guest_9_a_guest_pin_lasts_the_configured_expiry_at_most_fourteen_days() {
        use crate::identity::printer_login::{PinExpiresAfter, PinExpiry, PinExpiryUnit};
        let mut config = PrinterLoginConfig::default();
        assert_eq!(pin_lifetime(&config), GUEST_LIFETIME, "never expiring: 14 days");
        config.pin_expiry = PinExpiry::After(PinExpiresAfter { after: 7, unit: PinExpiryUnit::Hours });
        assert_eq!(pin_lifetime(&config), Duration::hours(7));
        config.pin_expiry = PinExpiry::After(PinExpiresAfter { after: 30, unit: PinExpiryUnit::Days });
        assert_eq!(pin_lifetime(&config), GUEST_LIFETIME);
    }
}
