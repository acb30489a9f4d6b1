//! Quota settlement under concurrency and faults (D-QUOTA-UNIT): 1,000 one-side jobs of
//! one user with a monthly limit of 700 are released and completed by 50 printer sessions
//! at once through HTTP, while every `quota-events` message is delivered twice and one
//! settlement in 20 dies once before it succeeds. Exactly 700 print, the user's usage is
//! exactly 700 and no reservation is left. On the AWS adapters the run is a tenth of that
//! (100 jobs, limit 70, 10 printers): moto answers one request at a time and slows as its
//! tables and queues grow, so the full run takes it over ten minutes, until requests time
//! out.

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

/// The size of a run: jobs, the user's monthly limit in sides, and printer sessions.
#[derive(Clone, Copy)]
struct Scale {
    jobs: usize,
    limit: u64,
    printers: usize,
}

const FULL: Scale = Scale { jobs: 1_000, limit: 700, printers: 50 };
const ON_MOTO: Scale = Scale { jobs: 100, limit: 70, printers: 10 };

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
    let Scale { jobs: job_count, limit, printers } = if storage == Storage::Aws { ON_MOTO } else { FULL };
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
    let every_month = json!({"kind": "sameEveryMonth", "limits": {"total": {"kind": "limit", "sides": limit},
        "colour": {"kind": "allow"}}});
    env.send_ok("PUT", "/quota-default", json!({"limits": every_month})).await;

    let ctx = &env.running.ctx;
    let document = Bytes::from(pdf(1));
    let expires_at = ctx.clock.now() + chrono::Duration::days(1);
    let mut jobs: Vec<_> = (0..job_count)
        .map(|n| held_job(ctx, &env.user_id, format!("page {n}.pdf"), 1, document.len(), expires_at))
        .collect();
    store_held(ctx, &env.org, &mut jobs, document).await.unwrap();
    let ids: Vec<String> = jobs.iter().map(|job| job.id.clone()).collect();

    let mut devices = Vec::new();
    for n in 0..printers {
        devices.push(env.enroll(&format!("PRN-{n:04}"), &format!("10.7.0.{}", n + 1)).await);
    }
    let env = Arc::new(env);
    let mut tasks = Vec::new();
    for (n, device) in devices.into_iter().enumerate() {
        let (env, share) = (env.clone(), ids.iter().skip(n).step_by(printers).cloned().collect::<Vec<_>>());
        tasks.push(tokio::spawn(async move { work_through(&env, &device, &share).await }));
    }
    let mut tally = Tally::default();
    for task in tasks {
        let done = task.await.unwrap();
        (tally.printed, tally.refused) = (tally.printed + done.printed, tally.refused + done.refused);
    }
    assert_eq!(
        (tally.printed, tally.refused),
        (limit as usize, job_count - limit as usize),
        "exactly the limit prints"
    );
    let env = Arc::into_inner(env).expect("every session is done");

    eventually("every settlement", Duration::from_secs(120), || async {
        env.clock.advance(chrono::Duration::seconds(2));
        (open_reservations(&env).await == 0).then_some(())
    })
    .await;
    let (duplicates, failures) = faults.get().expect("the ports were decorated");
    assert_eq!(duplicates.duplicated.load(Ordering::Relaxed), limit as usize, "every printed release mailed twice");
    assert!(failures.failures.load(Ordering::Relaxed) > 0, "some settlements died once");
    let month = ledger::current_month(&env.running.ctx, &env.org).await.unwrap();
    let usage = ledger::usage(&env.running.ctx, &env.org, &env.user_id, &month).await.unwrap();
    assert_eq!((usage.consumed, usage.used), (limit as i64, limit as i64), "usage is exactly the limit: {usage:?}");
    env.running.shutdown().await;
}

e2e::on_both_storages!(d_quota_unit_settles_exactly_once_under_concurrency_duplicates_and_failures,);
