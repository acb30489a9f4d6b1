//! A bounded memory of tokens whose signature, issuer and audience one [`TokenIssuer`]
//! has already checked, so that a client calling many times with one token (a printer
//! listing, releasing and completing within one session) pays for the EdDSA check once.
//!
//! Only what does not change with time is remembered: the answer for a remembered token
//! is still checked against the caller's clock for expiry on every call. Entries are keyed
//! by the SHA-256 of the whole token, so a token that differs in any byte is checked
//! afresh, and a cache belongs to one issuer and its keys, which never change.
//!
//! [`TokenIssuer`]: super::tokens::TokenIssuer

use super::tokens::Claims;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Mutex;

/// Most tokens remembered; when full, expired entries go first, then everything.
const CAPACITY: usize = 16 * 1024;

/// Claims of tokens that passed verification, by the digest of the token.
#[derive(Debug, Default)]
pub struct VerifiedTokens {
    entries: Mutex<HashMap<[u8; 32], Claims>>,
}

/// The cache key of `token`.
fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

impl VerifiedTokens {
    /// The claims remembered for `token`, if it verified before.
    pub fn get(&self, token: &str) -> Option<Claims> {
        let key = digest(token);
        self.entries.lock().ok()?.get(&key).cloned()
    }

    /// Remembers that `token` verified with `claims`; `now` (seconds) drops expired
    /// entries when the cache is full.
    pub fn remember(&self, token: &str, claims: &Claims, now: i64) {
        let key = digest(token);
        let Ok(mut entries) = self.entries.lock() else { return };
        if entries.len() >= CAPACITY {
            entries.retain(|_, remembered| remembered.exp > now);
            if entries.len() >= CAPACITY {
                entries.clear();
            }
        }
        entries.insert(key, claims.clone());
    }

    /// How many tokens are remembered.
    pub fn len(&self) -> usize {
        self.entries.lock().map_or(0, |entries| entries.len())
    }

    /// Whether no token is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
