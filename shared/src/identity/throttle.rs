//! Guessing protection for printer logins: after [`MAX_FAILURES`] wrong badges, PINs or
//! login codes from one printer within [`WINDOW`], that printer is locked for [`LOCKOUT`]
//! (answer 429 `pin_locked`).
//!
//! The counter is one TTL'd item per printer, changed only by atomic updates. The first
//! failure creates it with the window's end as `ttl`; the failure that reaches the limit
//! moves `ttl` to the end of the lockout. When the `ttl` passes, the table treats the item as
//! absent, which resets the counter without any sweep. A successful login does not reset it,
//! so interleaving one's own valid badge cannot buy more guesses.

use crate::Ctx;
use crate::http::Problem;
use crate::ports::{Condition, Key, StoreError, StoreResult, Update};
use axum::http::StatusCode;
use chrono::Duration;
use serde_json::Value;

/// Wrong attempts allowed from one printer within [`WINDOW`]; the one that reaches it locks.
pub const MAX_FAILURES: i64 = 5;
/// The window in which failures are counted, from the first failure.
pub const WINDOW: Duration = Duration::minutes(15);
/// How long a printer stays locked after the failure that reached the limit.
pub const LOCKOUT: Duration = Duration::minutes(15);

const FAILURES: &str = "failures";

/// The counter of a printer (or any other subject, e.g. a user setting their own PIN).
pub fn counter_key(org_partition: String, subject: &str) -> Key {
    Key::new(org_partition, format!("THROTTLE#{subject}"))
}

/// The problem a locked subject answers.
pub fn locked() -> Problem {
    Problem::new(
        StatusCode::TOO_MANY_REQUESTS,
        "pin_locked",
        format!(
            "Too many wrong attempts ({MAX_FAILURES} within {} minutes); try again in {} minutes.",
            WINDOW.num_minutes(),
            LOCKOUT.num_minutes()
        ),
    )
}

/// 429 `pin_locked` while the counter under `key` has reached [`MAX_FAILURES`].
pub async fn check(ctx: &Ctx, key: &Key) -> Result<(), Problem> {
    let failures = ctx.table.get(key).await?.and_then(|item| item.get(FAILURES).and_then(Value::as_i64));
    if failures.unwrap_or(0) >= MAX_FAILURES { Err(locked()) } else { Ok(()) }
}

/// Counts one failure and answers the count in the current window.
pub async fn record_failure(ctx: &Ctx, key: &Key) -> StoreResult<i64> {
    for _ in 0..5 {
        let now = ctx.clock.now();
        // A new window: `set` rather than `add`, so a stale item the backend has not yet
        // removed after its TTL cannot carry its count over.
        let first =
            Update::new(key.clone()).set(FAILURES, 1).set("ttl", (now + WINDOW).timestamp()).when(Condition::Absent);
        match ctx.table.update(first).await {
            Ok(_) => return Ok(1),
            Err(StoreError::ConditionFailed) => {}
            Err(other) => return Err(other),
        }
        let next = Update::new(key.clone()).add(FAILURES, 1).when(Condition::Exists);
        let item = match ctx.table.update(next).await {
            Ok(item) => item,
            // The window ended between the two writes: start a new one.
            Err(StoreError::ConditionFailed) => continue,
            Err(other) => return Err(other),
        };
        let failures = item.get(FAILURES).and_then(Value::as_i64).unwrap_or(MAX_FAILURES);
        if failures == MAX_FAILURES {
            let lock = Update::new(key.clone()).set("ttl", (now + LOCKOUT).timestamp()).when(Condition::Exists);
            match ctx.table.update(lock).await {
                Ok(_) | Err(StoreError::ConditionFailed) => {}
                Err(other) => return Err(other),
            }
        }
        return Ok(failures);
    }
    Err(StoreError::Backend("the failure counter kept changing under concurrent writes".into()))
}
