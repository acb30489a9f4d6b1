//! The retention sweep (schedule `retention-sweep`, hourly): deletes jobs and their
//! documents past retention (BR-OS-12) and history past its period (BR-OS-13), and returns
//! the quota reservations of leases that lapsed without a report (D-QUOTA-UNIT). It walks
//! the expiry index hour by hour from where it stopped last time (a checkpoint item), so
//! each run reads only the hours since the previous one; the current hour is read again
//! next time, as more of it expires. The first job ever submitted sets the first hour to
//! walk ([`start_from`]), so no sweep looks at hours before anything existed. Reads never
//! depend on it: expired jobs and history are not served even before it runs, and the
//! table's TTL is a later backstop.

use super::history::HistoryRecord;
use super::jobs::{self, Job};
use crate::Ctx;
use crate::http::Problem;
use crate::ports::{Condition, Index, Key, Query, SortKey};
use crate::quota::ledger;
use crate::records::{from_item, to_item};
use chrono::{DateTime, Duration, DurationRound, Utc};
use serde::{Deserialize, Serialize};

/// What one sweep removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Swept {
    /// Jobs (with their documents) deleted.
    pub jobs: usize,
    /// History rows deleted.
    pub history: usize,
    /// Quota reservations of lapsed leases returned (D-QUOTA-UNIT).
    pub reservations: usize,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Checkpoint {
    next_hour: DateTime<Utc>,
}

fn checkpoint_key() -> Key {
    Key::new("SWEEP#RETENTION", "CHECKPOINT")
}

fn hour_of(at: DateTime<Utc>) -> DateTime<Utc> {
    at.duration_trunc(Duration::hours(1)).unwrap_or(at)
}

/// Makes sure sweeps start no later than the hour of `at`, when the first job of the
/// deployment is made: one read per submission, one write ever.
pub async fn start_from(ctx: &Ctx, at: DateTime<Utc>) -> Result<(), Problem> {
    if ctx.table.get(&checkpoint_key()).await?.is_some() {
        return Ok(());
    }
    let checkpoint = Checkpoint { next_hour: hour_of(at) };
    match ctx.table.put(to_item(&checkpoint, &checkpoint_key(), &[])?, Condition::Absent).await {
        Ok(()) | Err(crate::ports::StoreError::ConditionFailed) => Ok(()),
        Err(other) => Err(other.into()),
    }
}

/// Deletes everything that expired up to now.
pub async fn sweep(ctx: &Ctx) -> Result<Swept, Problem> {
    let now = ctx.clock.now();
    let Some(item) = ctx.table.get(&checkpoint_key()).await? else {
        return Ok(Swept::default());
    };
    let first = from_item::<Checkpoint>(item)?.next_hour;
    let mut swept = Swept::default();
    let mut hour = first;
    while hour <= now {
        swept.jobs += sweep_hour(ctx, "JOB", hour, now).await?;
        swept.history += sweep_hour(ctx, "HISTORY", hour, now).await?;
        swept.reservations += sweep_hour(ctx, ledger::EXPIRY_KIND, hour, now).await?;
        hour += Duration::hours(1);
    }
    let checkpoint = Checkpoint { next_hour: hour_of(now) };
    ctx.table.put(to_item(&checkpoint, &checkpoint_key(), &[])?, Condition::Always).await?;
    Ok(swept)
}

/// Deletes the `kind` items of the expiry hour `hour` that expired by `now`.
async fn sweep_hour(ctx: &Ctx, kind: &str, hour: DateTime<Utc>, now: DateTime<Utc>) -> Result<usize, Problem> {
    let mut deleted = 0;
    let until = SortKey::AtMost(format!("{}#~", jobs::sortable(now)));
    loop {
        let query = Query::on_index(Index::Gsi2, jobs::expiry_partition(kind, hour)).sort(until.clone()).limit(100);
        let page = ctx.table.query(&query).await?;
        if page.items.is_empty() {
            return Ok(deleted);
        }
        for item in page.items {
            if kind == "JOB" {
                let job: Job = from_item(item)?;
                jobs::remove(ctx, &job).await?;
            } else if kind == ledger::EXPIRY_KIND {
                ledger::return_lapsed(ctx, &from_item(item)?).await?;
            } else {
                let record: HistoryRecord = from_item(item)?;
                let key = super::history::history_key(&record.org_id, &record.owner_id, &record.id);
                ctx.table.delete(&key, Condition::Always).await?;
            }
            deleted += 1;
        }
    }
}
