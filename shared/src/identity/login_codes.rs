//! Secure login codes (E-LOGINCODE, WF-LOGIN-CODE, BR-LC-1): a signed-in user asks for a
//! code and types it at a printer. A code works for 15 minutes and once; asking again
//! replaces the previous code.
//!
//! Format (the seed shows none): 8 characters from 32 that cannot be confused when read off
//! a screen and typed on a printer panel (no `0`/`O`, `1`/`I`), e.g. `K7M2QX9P`; typed in any
//! case, spaces and dashes ignored. 32⁸ ≈ 10¹² codes, against at most 5 guesses per printer
//! per 15 minutes ([`super::throttle`]).
//!
//! Layout, in the organisation's partition: `LOGINCODEUSER#<user>` holds the hash of the
//! user's current code, `LOGINCODE#<hash>` points at the user; both carry the code's `ttl`.
//! Using a code deletes its lookup with a condition, so of two printers racing with the
//! same code exactly one signs in.

use super::keyed_hash::{Purpose, keyed_hash};
use super::store;
use crate::Ctx;
use crate::http::Problem;
use crate::ports::{Condition, Key, StoreError, Write};
use crate::records::to_item;
use axum::http::StatusCode;
use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use serde::Serialize;
use serde_json::{Value, json};

/// How long a code works (BR-LC-1, L5108–L5109).
pub const LOGIN_CODE_LIFETIME: Duration = Duration::minutes(15);
/// Characters in a code.
pub const CODE_LENGTH: usize = 8;
/// The characters a code is made of: no `0`, `O`, `1`, `I`.
pub const ALPHABET: &[u8; 32] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";

/// A fresh code, shown to the user once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LoginCode {
    /// The code to type at the printer.
    pub login_code: String,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
    /// Seconds it works.
    pub expires_in: i64,
}

/// A random code.
pub fn generate() -> String {
    let mut rng = rand::rng();
    (0..CODE_LENGTH).map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())])).collect()
}

/// The code as typed, upper-cased without spaces and dashes; `None` when it cannot be one.
pub fn normalise(typed: &str) -> Option<String> {
    let code: String = typed.chars().filter(|c| !c.is_whitespace() && *c != '-').collect::<String>().to_uppercase();
    (code.len() == CODE_LENGTH && code.bytes().all(|b| ALPHABET.contains(&b))).then_some(code)
}

fn user_key(org_id: &str, user_id: &str) -> Key {
    Key::new(store::org_partition(org_id), format!("LOGINCODEUSER#{user_id}"))
}

fn lookup_key(org_id: &str, hash: &str) -> Key {
    Key::new(store::org_partition(org_id), format!("LOGINCODE#{hash}"))
}

/// Issues a new code for `user_id`, replacing (and invalidating) the previous one.
pub async fn issue(ctx: &Ctx, org_id: &str, user_id: &str) -> Result<LoginCode, Problem> {
    for _ in 0..5 {
        let code = generate();
        let hash = keyed_hash(&ctx.config.secret, Purpose::LoginCode, org_id, &code);
        let now = ctx.clock.now();
        let expires_at = now + LOGIN_CODE_LIFETIME;
        let ttl = [("ttl", json!(expires_at.timestamp()))];
        let previous = ctx.table.get(&user_key(org_id, user_id)).await?;
        let mut writes = vec![
            Write::Put {
                item: to_item(&json!({"userId": user_id}), &lookup_key(org_id, &hash), &ttl)?,
                condition: Condition::Absent,
            },
            Write::Put {
                item: to_item(&json!({"userId": user_id, "hash": hash}), &user_key(org_id, user_id), &ttl)?,
                condition: Condition::Always,
            },
        ];
        let old = previous.as_ref().and_then(|p| p.get("hash")).and_then(Value::as_str);
        if let Some(old) = old.filter(|old| *old != hash) {
            writes.push(Write::Delete {
                key: lookup_key(org_id, old),
                condition: Condition::Equals("userId".into(), json!(user_id)),
            });
        }
        match ctx.table.transact(writes).await {
            Ok(()) => {
                return Ok(LoginCode { login_code: code, expires_at, expires_in: LOGIN_CODE_LIFETIME.num_seconds() });
            }
            // A code collision (or a concurrent request): try a new code.
            Err(StoreError::TransactionCanceled { .. }) => continue,
            Err(other) => return Err(other.into()),
        }
    }
    Err(Problem::new(StatusCode::CONFLICT, "conflict", "Could not issue a login code; try again."))
}

/// Uses the code `typed`: answers its user and makes it unusable, or `None` when it is
/// unknown, expired, replaced or already used.
pub async fn consume(ctx: &Ctx, org_id: &str, typed: &str) -> Result<Option<String>, Problem> {
    let Some(code) = normalise(typed) else { return Ok(None) };
    let hash = keyed_hash(&ctx.config.secret, Purpose::LoginCode, org_id, &code);
    let key = lookup_key(org_id, &hash);
    let Some(lookup) = ctx.table.get(&key).await? else { return Ok(None) };
    let Some(user_id) = lookup.get("userId").and_then(Value::as_str).map(str::to_string) else { return Ok(None) };
    match ctx.table.delete(&key, Condition::Equals("userId".into(), json!(user_id))).await {
        Ok(()) => {}
        Err(StoreError::ConditionFailed) => return Ok(None),
        Err(other) => return Err(other.into()),
    }
    match ctx.table.delete(&user_key(org_id, &user_id), Condition::Equals("hash".into(), json!(hash))).await {
        Ok(()) | Err(StoreError::ConditionFailed) => Ok(Some(user_id)),
        Err(other) => Err(other.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn br_lc_1_codes_are_eight_unambiguous_characters() {
        for _ in 0..100 {
            let code = generate();
            assert_eq!(code.len(), CODE_LENGTH);
            assert!(!code.contains(['0', 'O', '1', 'I']), "{code}");
            assert_eq!(normalise(&code).as_deref(), Some(code.as_str()));
        }
    }

    #[test]
    fn typed_codes_ignore_case_spaces_and_dashes() {
        assert_eq!(normalise("k7m2-qx9p").as_deref(), Some("K7M2QX9P"));
        assert_eq!(normalise(" K7M2 QX9P ").as_deref(), Some("K7M2QX9P"));
        assert_eq!(normalise("K7M2QX9"), None);
        assert_eq!(normalise("K7M2QX9O"), None, "O is not in the alphabet");
    }
}
