//! The scheduled notification sweep (BR-NP-08: printer data is evaluated in a daily batch).
//!
//! The schedule fires hourly; the first run of a day (UTC) evaluates every enabled policy
//! of every organisation that has policies, a page of organisations at a time, saving its
//! place after each page. A run cut off (a Lambda timeout, or the time budget it is given)
//! leaves the place saved, and the next hourly run resumes there; once the day's pass is
//! complete, later runs that day do nothing. Repeats send nothing twice either way: only
//! newly matching printers are mailed.
//!
//! State: `SWEEP#NOTIFICATIONS`/`STATE` — the day, the organisation cursor, whether done.

use super::policies::{self, ORGS_WITH_POLICIES};
use super::run;
use crate::Ctx;
use crate::http::Problem;
use crate::identity::store;
use crate::ports::{Condition, Key, Query};
use crate::records::to_item;
use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};

/// Organisations evaluated per page (the state is saved after each).
const ORGS_PER_PAGE: u32 = 25;

/// Where the day's pass stands.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SweepState {
    day: String,
    cursor: Option<String>,
    done: bool,
}

fn state_key() -> Key {
    Key::new("SWEEP#NOTIFICATIONS", "STATE")
}

/// What one run did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Organisations evaluated in this run.
    pub organisations: usize,
    /// Policies evaluated.
    pub policies: usize,
    /// Printers and agents mailed about.
    pub notified: usize,
    /// The day's pass is complete.
    pub complete: bool,
}

/// Runs (or resumes) today's pass for at most about `budget`.
pub async fn sweep(ctx: &Ctx, budget: Duration) -> Result<SweepReport, Problem> {
    let started = Instant::now();
    let today = ctx.clock.now().format("%Y-%m-%d").to_string();
    let stored: Option<SweepState> = crate::records::get(&*ctx.table, &state_key()).await?;
    let mut state = stored.filter(|s| s.day == today).unwrap_or(SweepState { day: today, cursor: None, done: false });
    let mut report = SweepReport { complete: state.done, ..SweepReport::default() };
    while !state.done {
        let query = Query::partition(ORGS_WITH_POLICIES).limit(ORGS_PER_PAGE).after(state.cursor.clone());
        let page = ctx.table.query(&query).await?;
        for item in &page.items {
            let Some(org_id) = item.get("orgId").and_then(serde_json::Value::as_str) else { continue };
            evaluate_org(ctx, org_id, &mut report).await;
        }
        state.cursor = page.cursor;
        state.done = state.cursor.is_none();
        ctx.table.put(to_item(&state, &state_key(), &[])?, Condition::Always).await?;
        if started.elapsed() >= budget {
            break;
        }
    }
    report.complete = state.done;
    Ok(report)
}

/// Evaluates every enabled policy of `org_id`; a failing policy is logged and the sweep
/// goes on (it is retried with the next day's pass, or the next change of its printers).
async fn evaluate_org(ctx: &Ctx, org_id: &str, report: &mut SweepReport) {
    let org_name = match store::get_org(ctx, org_id).await {
        Ok(Some(org)) => org.name,
        Ok(None) => return,
        Err(err) => {
            return tracing::error!(org = %org_id, error = %err, "notification sweep could not read the organisation");
        }
    };
    let policies = match policies::list(ctx, org_id).await {
        Ok(policies) => policies,
        Err(problem) => {
            return tracing::error!(org = %org_id, error = %problem.detail, "notification sweep could not list policies");
        }
    };
    report.organisations += 1;
    let enabled: Vec<_> = policies.into_iter().filter(|p| p.enabled).collect();
    let fleet = match run::Fleet::read(ctx, org_id, &enabled).await {
        Ok(fleet) => fleet,
        Err(problem) => {
            return tracing::error!(org = %org_id, error = %problem.detail, "notification sweep could not read the fleet");
        }
    };
    for policy in &enabled {
        report.policies += 1;
        match run::evaluate(ctx, &org_name, policy, &fleet).await {
            Ok(notified) => report.notified += notified,
            Err(problem) => {
                tracing::error!(org = %org_id, policy = %policy.id, error = %problem.detail, "a notification policy failed")
            }
        }
    }
}
