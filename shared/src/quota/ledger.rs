//! A user's monthly quota usage, the reservation a release makes and the settlement that
//! turns it into usage exactly once (D-QUOTA-UNIT, D-QUOTA-COLOUR, D-QUOTA-PERIOD).
//!
//! Layout, in the organisation's partition:
//! - usage `QUOTAUSE#<user>#<yyyy-mm>`: `consumed` / `consumedColour` (used plus reserved)
//!   and `used` / `usedColour` (settled), all in sides;
//! - reservation `QUOTARESERVE#<job>#<lease>`: who, which month and how many sides.
//!
//! A reservation is one conditional increment of `consumed` that fails when it would pass
//! the limit, written in the caller's transaction with the reservation record (and, at
//! release, the job's lease), so it is all or nothing. Settlement deletes the record on
//! condition that it exists, in the same transaction as the usage change: a message
//! delivered twice finds no record the second time and changes nothing.

use super::assignments::{self, EffectiveQuota};
use super::limits::{self, Consumed, MonthLimits, Refusal};
use crate::context::Ctx;
use crate::http::Problem;
use crate::identity::model::User;
use crate::identity::store;
use crate::ports::table::{Condition, Key, Update, Write};
use crate::ports::{Item, StoreError};
use crate::print::jobs;
use crate::print::settings::PrintSettings;
use crate::records::to_item;
use axum::http::StatusCode;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// A user's usage of one month, as stored.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Usage {
    /// Sides used or reserved.
    #[serde(default)]
    pub consumed: i64,
    /// Colour sides used or reserved.
    #[serde(default)]
    pub consumed_colour: i64,
    /// Sides printed and settled.
    #[serde(default)]
    pub used: i64,
    /// Colour sides printed and settled.
    #[serde(default)]
    pub used_colour: i64,
}

impl Usage {
    /// Used plus reserved, as the limits count it.
    pub fn consumed(&self) -> Consumed {
        Consumed { total: self.consumed.max(0) as u64, colour: self.consumed_colour.max(0) as u64 }
    }
}

/// Sides set aside for one release until the printer reports.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Reservation {
    /// The organisation.
    pub org_id: String,
    /// The released job.
    pub job_id: String,
    /// The release.
    pub lease_id: String,
    /// When the retention sweep returns it if the printer never reported: an hour after
    /// the lease lapsed, so a completion sent just before the lapse settles first.
    pub return_after: DateTime<Utc>,
    /// Whose quota.
    pub user_id: String,
    /// The quota month, `yyyy-mm`.
    pub month: String,
    /// Sides reserved, colour included.
    pub sides: u64,
    /// Colour sides reserved.
    pub colour_sides: u64,
    /// When it was made.
    pub reserved_at: DateTime<Utc>,
}

/// What a release asks of a user's quota.
#[derive(Clone, Debug)]
pub struct Request<'a> {
    /// The organisation's print settings (quotas on, assignment mode).
    pub settings: &'a PrintSettings,
    /// Whose quota: the job's owner.
    pub user: &'a User,
    /// The job.
    pub job_id: &'a str,
    /// The release (its lease id).
    pub lease_id: &'a str,
    /// When the lease lapses.
    pub lease_until: DateTime<Utc>,
    /// Expected sides, colour included.
    pub sides: u64,
    /// Expected colour sides.
    pub colour_sides: u64,
}

/// How long after a lease lapses its reservation is returned by the retention sweep.
pub const RETURN_GRACE: Duration = Duration::hours(1);

/// The expiry-index kind of reservations, which the retention sweep walks.
pub const EXPIRY_KIND: &str = "QUOTARESERVE";

/// The stored reservation, in the expiry index at its `return_after`.
fn reservation_item(reservation: &Reservation) -> Result<Item, StoreError> {
    let key = reservation_key(&reservation.org_id, &reservation.job_id, &reservation.lease_id);
    let sort = format!("{}#{}#{}", jobs::sortable(reservation.return_after), reservation.job_id, reservation.lease_id);
    to_item(
        reservation,
        &key,
        &[("gsi2pk", json!(jobs::expiry_partition(EXPIRY_KIND, reservation.return_after))), ("gsi2sk", json!(sort))],
    )
}

/// Returns a reservation whose lease lapsed without a report (retention sweep).
pub async fn return_lapsed(ctx: &Ctx, reservation: &Reservation) -> Result<bool, StoreError> {
    settle(ctx, &reservation.org_id, &reservation.job_id, &reservation.lease_id, Settlement::Returned).await
}

/// The usage key of `user_id` in `month`.
pub fn usage_key(org_id: &str, user_id: &str, month: &str) -> Key {
    Key::new(store::org_partition(org_id), format!("QUOTAUSE#{user_id}#{month}"))
}

/// The key of the reservation made for lease `lease_id` of job `job_id`.
pub fn reservation_key(org_id: &str, job_id: &str, lease_id: &str) -> Key {
    Key::new(store::org_partition(org_id), format!("QUOTARESERVE#{job_id}#{lease_id}"))
}

/// The organisation's current quota month, `yyyy-mm`, in its time zone (D-QUOTA-PERIOD).
pub async fn current_month(ctx: &Ctx, org_id: &str) -> Result<String, Problem> {
    let zone = store::get_org(ctx, org_id).await?.and_then(|org| org.time_zone.parse().ok()).unwrap_or(chrono_tz::UTC);
    Ok(limits::month_key(limits::month_of(ctx.clock.now(), zone)))
}

/// A user's usage in `month` (nothing used when there is no record).
pub async fn usage(ctx: &Ctx, org_id: &str, user_id: &str, month: &str) -> Result<Usage, Problem> {
    Ok(crate::records::get(&*ctx.table, &usage_key(org_id, user_id, month)).await?.unwrap_or_default())
}

/// The limits that apply to a user this month, with where they come from.
pub struct Applicable {
    /// The quota month.
    pub month: String,
    /// The user's quota.
    pub quota: EffectiveQuota,
    /// Its limits this month.
    pub limits: MonthLimits,
}

/// The quota and limits that apply to `user` now.
pub async fn applicable(ctx: &Ctx, org_id: &str, settings: &PrintSettings, user: &User) -> Result<Applicable, Problem> {
    let month = current_month(ctx, org_id).await?;
    let quota = assignments::effective(ctx, org_id, settings, user).await?;
    let number = month[5..].parse().unwrap_or(1);
    let limits = quota.limits.for_month(number);
    Ok(Applicable { month, quota, limits })
}

/// The refusal as the device sees it: `quota_exceeded` or `colour_quota_exceeded`
/// (D-QUOTA-COLOUR), with what is left.
pub fn refusal_problem(refusal: Refusal) -> Problem {
    match refusal {
        Refusal::Total { remaining } => Problem::new(
            StatusCode::FORBIDDEN,
            "quota_exceeded",
            format!("The print quota does not cover this job: {remaining} side(s) left this month."),
        )
        .with("remaining", remaining),
        Refusal::Colour { remaining_colour, remaining } => Problem::new(
            StatusCode::FORBIDDEN,
            "colour_quota_exceeded",
            format!(
                "The colour quota does not cover this job: {remaining_colour} colour side(s) left this month; \
                 it may be released in mono."
            ),
        )
        .with("remainingColour", remaining_colour)
        .with("remaining", remaining.map_or(Value::Null, Value::from)),
    }
}

/// The most `consumed` may be before adding `n` so it stays within `limit`; `None` when
/// `n` alone is over it.
fn ceiling(limit: u64, n: u64) -> Option<i64> {
    limit.checked_sub(n).map(|room| room as i64)
}

/// The writes that reserve `request`'s sides for its release, to run in one transaction
/// with the caller's own writes; or the refusal when the sides cannot fit whatever the
/// usage. Quotas off: no writes (release behaves as without quotas).
pub async fn reservation_writes(ctx: &Ctx, org_id: &str, request: &Request<'_>) -> Result<Vec<Write>, Problem> {
    if !request.settings.print_quotas {
        return Ok(Vec::new());
    }
    let applicable = applicable(ctx, org_id, request.settings, request.user).await?;
    let mut conditions = Vec::new();
    if let Some(total) = applicable.limits.total_sides() {
        let Some(most) = ceiling(total, request.sides) else {
            return Err(refusal_of(ctx, org_id, request, &applicable).await);
        };
        conditions.push(Condition::AtMostOrAbsent("consumed".into(), most));
    }
    if request.colour_sides > 0
        && let Some(colour) = applicable.limits.colour_sides()
    {
        let Some(most) = ceiling(colour, request.colour_sides) else {
            return Err(refusal_of(ctx, org_id, request, &applicable).await);
        };
        conditions.push(Condition::AtMostOrAbsent("consumedColour".into(), most));
    }
    let usage = Update::new(usage_key(org_id, &request.user.id, &applicable.month))
        .set("userId", request.user.id.clone())
        .set("month", applicable.month.clone())
        .add("consumed", request.sides as i64)
        .add("consumedColour", request.colour_sides as i64)
        .when(Condition::And(conditions));
    let reservation = Reservation {
        org_id: org_id.to_string(),
        job_id: request.job_id.to_string(),
        lease_id: request.lease_id.to_string(),
        return_after: request.lease_until + RETURN_GRACE,
        user_id: request.user.id.clone(),
        month: applicable.month,
        sides: request.sides,
        colour_sides: request.colour_sides,
        reserved_at: ctx.clock.now(),
    };
    let record = reservation_item(&reservation)?;
    Ok(vec![Write::Update(usage), Write::Put { item: record, condition: Condition::Absent }])
}

/// Why `request` does not fit, read from the current usage.
async fn refusal_of(ctx: &Ctx, org_id: &str, request: &Request<'_>, applicable: &Applicable) -> Problem {
    let usage = match usage(ctx, org_id, &request.user.id, &applicable.month).await {
        Ok(usage) => usage,
        Err(problem) => return problem,
    };
    match limits::check_reservation(&applicable.limits, usage.consumed(), request.sides, request.colour_sides) {
        Err(refusal) => refusal_problem(refusal),
        Ok(()) => Problem::new(StatusCode::CONFLICT, "conflict", "The quota changed meanwhile; try again."),
    }
}

/// The answer to a reservation whose usage write failed: the refusal with what is left.
pub async fn refused(ctx: &Ctx, org_id: &str, request: &Request<'_>) -> Problem {
    match applicable(ctx, org_id, request.settings, request.user).await {
        Ok(applicable) => refusal_of(ctx, org_id, request, &applicable).await,
        Err(problem) => problem,
    }
}

/// How a release ended, for settlement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Settlement {
    /// Printed: these sides become usage.
    Printed {
        /// Sides printed, colour included.
        sides: u64,
        /// Colour sides printed.
        colour_sides: u64,
    },
    /// Cancelled, failed or lapsed: the reservation is returned.
    Returned,
}

/// Settles the reservation of lease `lease_id` of job `job_id` exactly once: answers
/// `false` when there is none (never made, or already settled), which changes nothing.
pub async fn settle(
    ctx: &Ctx,
    org_id: &str,
    job_id: &str,
    lease_id: &str,
    outcome: Settlement,
) -> Result<bool, StoreError> {
    let key = reservation_key(org_id, job_id, lease_id);
    let Some(reservation) = crate::records::get::<Reservation>(&*ctx.table, &key).await? else {
        return Ok(false);
    };
    let (sides, colour_sides) = match outcome {
        Settlement::Printed { sides, colour_sides } => (sides as i64, colour_sides as i64),
        Settlement::Returned => (0, 0),
    };
    let usage = Update::new(usage_key(org_id, &reservation.user_id, &reservation.month))
        .add("consumed", sides - reservation.sides as i64)
        .add("consumedColour", colour_sides - reservation.colour_sides as i64)
        .add("used", sides)
        .add("usedColour", colour_sides);
    let writes = vec![
        Write::Delete { key, condition: Condition::Equals("reservedAt".into(), json!(reservation.reserved_at)) },
        Write::Update(usage),
    ];
    match ctx.table.transact(writes).await {
        Ok(()) => Ok(true),
        Err(StoreError::TransactionCanceled { failed }) if failed == [0] => Ok(false),
        Err(other) => Err(other),
    }
}
