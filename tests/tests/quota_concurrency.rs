//! Quota settlement under concurrency and faults (D-QUOTA-UNIT): 1,000 one-side jobs of
//! one user with a monthly limit of 700 are released and completed by 50 printer sessions
//! at once through HTTP, while every `quota-events` message is delivered twice and one
//! settlement in 20 dies once before it succeeds. Exactly 700 print, the user's usage is
//! exactly 700 and no reservation is left.

use bytes::Bytes;
use e2e::faults::{DuplicateDeliveries, FailOnce};
use e2e::print_env::{PrintEnv as Env, held_job, pdf, store_held};
use e2e::{Storage, eventually};
use serde_json::{Value, json};
use shared::ports::table::Query;
use shared::quota::ledger;
use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

const JOBS: usize = 1_000;
const LIMIT: u64 = 700;
const PRINTERS: usize = 50;

/// What one printer session did: printed, or refused for quota.
#[derive(Default)]
struct Tally {
    printed: usize,
    refused: usize,
}

/// Releases and completes `jobs` one after another at the printer of `device`.
async fn work_through(env: &Env, device: &str, jobs: &[String]) -> Tally {
    let session = env.session(device).await;
    let mut tally = Tally::default();
    for job in jobs {
        let released = env.device_post(&session, &format!("/v1/device/jobs/{job}/release"), json!({})).await;
        let status = released.status().as_u16();
        let body: Value = released.json().await.unwrap();
        match (status, body["code"].as_str()) {
            (200, _) => {
                let done = json!({"leaseId": body["leaseId"], "outcome": "printed", "monoSides": 1, "sheets": 1});
                let completed = env.device_post(&session, &format!("/v1/device/jobs/{job}/complete"), done).await;
                assert_eq!(completed.status().as_u16(), 200);
                tally.printed += 1;
            }
            (403, Some("quota_exceeded")) => tally.refused += 1,
            other => panic!("release of {job}: {other:?} {body}"),
        }
    }
    tally
}

/// The organisation's reservations not yet settled.
async fn open_reservations(env: &Env) -> u64 {
    let query = Query::partition(format!("ORG#{}", env.org)).begins_with("QUOTARESERVE#");
    env.running.ctx.table.count(&query).await.unwrap()
}

async fn d_quota_unit_settles_exactly_once_under_concurrency_duplicates_and_failures(storage: Storage) {
    let faults: Arc<OnceLock<(Arc<DuplicateDeliveries>, Arc<FailOnce>)>> = Arc::default();
    let installed = faults.clone();
    let env = Env::start_customised(storage, chrono::Utc::now(), move |options| {
        options.decorate = Some(Arc::new(move |mut ctx: shared::Ctx| {
            let queue = Arc::new(DuplicateDeliveries::new(ctx.queue.clone(), "quota-events"));
            let table = Arc::new(FailOnce::new(ctx.table.clone(), "QUOTARESERVE#", 20));
            ctx.queue = queue.clone();
            ctx.table = table.clone();
            let _ = installed.set((queue, table));
            ctx
        }));
    })
    .await;
    env.print_settings(json!({"printQuotas": true})).await;
    let limit = json!({"kind": "sameEveryMonth", "limits": {"total": {"kind": "limit", "sides": LIMIT},
        "colour": {"kind": "allow"}}});
    env.send_ok("PUT", "/quota-default", json!({"limits": limit})).await;

    let ctx = &env.running.ctx;
    let document = Bytes::from(pdf(1));
    let expires_at = ctx.clock.now() + chrono::Duration::days(1);
    let mut jobs: Vec<_> = (0..JOBS)
        .map(|n| held_job(ctx, &env.user_id, format!("page {n}.pdf"), 1, document.len(), expires_at))
        .collect();
    store_held(ctx, &env.org, &mut jobs, document).await.unwrap();
    let ids: Vec<String> = jobs.iter().map(|job| job.id.clone()).collect();

    let mut devices = Vec::new();
    for n in 0..PRINTERS {
        devices.push(env.enroll(&format!("PRN-{n:04}"), &format!("10.7.0.{}", n + 1)).await);
    }
    let env = Arc::new(env);
    let mut tasks = Vec::new();
    for (n, device) in devices.into_iter().enumerate() {
        let (env, share) = (env.clone(), ids.iter().skip(n).step_by(PRINTERS).cloned().collect::<Vec<_>>());
        tasks.push(tokio::spawn(async move { work_through(&env, &device, &share).await }));
    }
    let mut tally = Tally::default();
    for task in tasks {
        let done = task.await.unwrap();
        (tally.printed, tally.refused) = (tally.printed + done.printed, tally.refused + done.refused);
    }
    assert_eq!((tally.printed, tally.refused), (LIMIT as usize, JOBS - LIMIT as usize), "exactly the limit prints");
    let env = Arc::into_inner(env).expect("every session is done");

    eventually("every settlement", Duration::from_secs(120), || async {
        env.clock.advance(chrono::Duration::seconds(2));
        (open_reservations(&env).await == 0).then_some(())
    })
    .await;
    let (duplicates, failures) = faults.get().expect("the ports were decorated");
    assert_eq!(duplicates.duplicated.load(Ordering::Relaxed), LIMIT as usize, "every printed release mailed twice");
    assert!(failures.failures.load(Ordering::Relaxed) > 0, "some settlements died once");
    let month = ledger::current_month(&env.running.ctx, &env.org).await.unwrap();
    let usage = ledger::usage(&env.running.ctx, &env.org, &env.user_id, &month).await.unwrap();
    assert_eq!((usage.consumed, usage.used), (LIMIT as i64, LIMIT as i64), "usage is exactly the limit: {usage:?}");
    env.running.shutdown().await;
}

/// On embedded storage. The same run on the AWS adapters against moto is not yet part of
/// the suite: there it takes about twelve minutes and a completion answers 500 (issue
/// [5 of 8] stays open on it).
#[tokio::test]
async fn d_quota_unit_settles_exactly_once_under_concurrency_duplicates_and_failures_embedded() {
    d_quota_unit_settles_exactly_once_under_concurrency_duplicates_and_failures(Storage::Embedded).await
}
