//! Secure pull printing end to end through HTTP against the in-process runner: submit with
//! an upload URL or inline, ingest (format from the bytes, page count, rejection reasons),
//! a printer session (badge) that lists, releases, downloads and completes, history, print-
//! and-keep, cancelled releases, concurrent releases, and retention with a fixed clock.

use chrono::Duration;
use e2e::print_env::{PrintEnv as Env, pdf};
use e2e::{Storage, expect_problem};
use serde_json::{Value, json};

async fn submitted_pdf_is_held_released_downloaded_completed_and_recorded(storage: Storage) {
    let env = Env::start(storage).await;
    let document = pdf(3);
    let job_id = env.submit_uploaded("quarterly report.pdf", document.clone()).await;
    let job = env.ingested(&job_id).await;
    assert_eq!((&job["state"], &job["pages"], &job["format"]), (&json!("Held"), &json!(3), &json!("pdf")), "{job}");

    let session = env.session(&env.device).await;
    let listed: Value =
        env.http.get(env.url("/v1/device/jobs")).bearer_auth(&session).send().await.unwrap().json().await.unwrap();
    assert_eq!(listed["items"][0]["job"]["id"], job_id.as_str(), "{listed}");
    let release: Value =
        env.device_post(&session, &format!("/v1/device/jobs/{job_id}/release"), json!({})).await.json().await.unwrap();
    assert_eq!(release["pages"], 3, "{release}");
    assert_eq!(release["options"]["duplex"], "simplex");
    let url = release["documentUrl"].as_str().unwrap();
    let downloaded = env.http.get(url).send().await.unwrap().bytes().await.unwrap();
    assert_eq!(downloaded.as_ref(), document.as_slice(), "the printer gets the exact bytes");

    let completion = json!({"leaseId": release["leaseId"], "outcome": "printed", "monoSides": 3, "sheets": 3});
    let path = format!("/v1/device/jobs/{job_id}/complete");
    let completed: Value = env.device_post(&session, &path, completion.clone()).await.json().await.unwrap();
    assert_eq!((&completed["outcome"], &completed["kept"]), (&json!("printed"), &json!(false)), "{completed}");
    let again: Value = env.device_post(&session, &path, completion).await.json().await.unwrap();
    assert_eq!(again, completed, "completion is idempotent");

    let token = env.user_token().await;
    let history: Value =
        env.http.get(env.url("/v1/me/history")).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
    let row = &history["items"][0];
    assert_eq!(
        (&row["printedSides"], &row["releasedFromIp"], &row["source"]),
        (&json!(3), &json!("10.1.2.3"), &json!("Web"))
    );
    assert!(row.get("jobName").is_none(), "file names are not kept unless the organisation says so (BR-OS-10)");
    assert!(row.get("releasedBy").is_none(), "released by the owner");
    assert_eq!(env.http.get(url).send().await.unwrap().status().as_u16(), 404, "the document is gone");
    let job = env.http.get(env.org_url(&format!("/users/{}/jobs/{job_id}", env.user_id))).bearer_auth(&env.admin);
    expect_problem(job.send().await.unwrap(), 404, "not_found").await;
    env.running.shutdown().await;
}

async fn corrupt_pdf_and_renamed_executable_are_rejected_with_reasons(storage: Storage) {
    let env = Env::start(storage).await;
    let mut corrupt = pdf(4);
    corrupt.truncate(60);
    let corrupt_job = env.submit_inline("broken.pdf", &corrupt).await;
    let executable =
        env.submit_inline("invoice.pdf", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00PE\0\0").await;
    let rejected = env.ingested(&corrupt_job).await;
    assert_eq!(
        (&rejected["state"], &rejected["rejection"]["code"]),
        (&json!("Rejected"), &json!("corrupt_document")),
        "{rejected}"
    );
    let rejected = env.ingested(&executable).await;
    assert_eq!(rejected["state"], "Rejected", "{rejected}");
    assert_eq!(rejected["rejection"]["code"], "unsupported_format", "the bytes decide, not the .pdf name");
    assert!(!rejected["rejection"]["reason"].as_str().unwrap().is_empty());
    env.running.shutdown().await;
}

async fn print_and_keep_and_cancel_return_the_job_to_the_queue(storage: Storage) {
    let env = Env::start(storage).await;
    env.print_settings(json!({"printAndKeep": true, "keepFileNames": true})).await;
    let job_id = env.submit_inline("notes.txt", b"line one\nline two\n").await;
    assert_eq!(env.ingested(&job_id).await["state"], "Held");
    let session = env.session(&env.device).await;
    let release_path = format!("/v1/device/jobs/{job_id}/release");
    let complete_path = format!("/v1/device/jobs/{job_id}/complete");

    let release: Value = env.device_post(&session, &release_path, json!({})).await.json().await.unwrap();
    let cancelled = json!({"leaseId": release["leaseId"], "outcome": "cancelled"});
    let answer: Value = env.device_post(&session, &complete_path, cancelled).await.json().await.unwrap();
    assert_eq!(answer["kept"], true);
    let release: Value = env.device_post(&session, &release_path, json!({})).await.json().await.unwrap();
    let printed = json!({"leaseId": release["leaseId"], "outcome": "printed", "monoSides": 1, "sheets": 1});
    let answer: Value = env.device_post(&session, &complete_path, printed).await.json().await.unwrap();
    assert_eq!(answer["kept"], true, "print-and-keep keeps the job (BR-OS-08)");
    let job = env.ingested(&job_id).await;
    assert_eq!((&job["state"], &job["timesPrinted"]), (&json!("Held"), &json!(1)), "{job}");
    let url = release["documentUrl"].as_str().unwrap();
    assert_eq!(env.http.get(url).send().await.unwrap().status().as_u16(), 200, "the kept document stays");
    let token = env.user_token().await;
    let history: Value =
        env.http.get(env.url("/v1/me/history")).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
    assert_eq!(history["items"].as_array().unwrap().len(), 1, "a cancelled release writes no history");
    assert_eq!(history["items"][0]["jobName"], "notes.txt", "file names kept (BR-OS-10)");
    env.running.shutdown().await;
}

async fn two_printers_releasing_the_same_job_at_once_exactly_one_gets_it(storage: Storage) {
    let env = Env::start(storage).await;
    let second_device = env.enroll("PRN-0002", "10.1.2.4").await;
    let job_id = env.submit_inline("race.txt", b"who wins").await;
    env.ingested(&job_id).await;
    let (first, second) = (env.session(&env.device).await, env.session(&second_device).await);
    let path = format!("/v1/device/jobs/{job_id}/release");
    let (a, b) = tokio::join!(env.device_post(&first, &path, json!({})), env.device_post(&second, &path, json!({})));
    let mut statuses = [a.status().as_u16(), b.status().as_u16()];
    statuses.sort();
    assert_eq!(statuses, [200, 409], "exactly one release wins");
    let loser = if a.status().as_u16() == 409 { a } else { b };
    expect_problem(loser, 409, "job_not_releasable").await;
    env.running.shutdown().await;
}

async fn br_os_12_jobs_past_retention_are_not_served_and_the_sweep_deletes_them(storage: Storage) {
    let env = Env::start(storage).await;
    env.print_settings(json!({"jobRetention": {"amount": 3, "unit": "hours"}})).await;
    let job_id = env.submit_inline("old.txt", b"expires").await;
    env.ingested(&job_id).await;
    let key = format!("uploads/{}/{job_id}", env.org);
    assert!(env.running.ctx.blobs.head(&key).await.unwrap().is_some());
    env.clock.advance(Duration::hours(3) + Duration::minutes(1));
    let token = env.user_token().await;
    let queue: Value =
        env.http.get(env.url("/v1/me/jobs")).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
    assert_eq!(queue["items"], json!([]), "an expired job is not served before the sweep");
    let swept = shared::print::retention::sweep(&env.running.ctx).await.unwrap();
    assert_eq!(swept.jobs, 1);
    assert!(env.running.ctx.blobs.head(&key).await.unwrap().is_none(), "the sweep deletes the document");
    assert_eq!(shared::print::retention::sweep(&env.running.ctx).await.unwrap().jobs, 0);
    env.running.shutdown().await;
}

async fn br_pp_02_policy_forces_mono_from_ten_pages_and_releases_keep_to_the_print_window(storage: Storage) {
    // 03:00 UTC: outside 08:00-18:00 in the printer's time zone (set to UTC below).
    let start = chrono::DateTime::parse_from_rfc3339("2026-11-24T03:00:00Z").unwrap().with_timezone(&chrono::Utc);
    let mut env = Env::start_at(storage, start).await;
    env.print_settings(json!({"printPolicies": true})).await;
    let window = json!({"kind": "everyDay", "start": "08:00", "end": "18:00"});
    env.send_ok("PUT", "/print-policies/default", json!({"forceMono": {"minPages": 10}, "printWindow": window})).await;
    let printers = env.send_ok("GET", "/printers", Value::Null).await;
    let printer_id = printers["items"][0]["id"].as_str().unwrap().to_string();
    env.send_ok("PATCH", &format!("/printers/{printer_id}"), json!({"timeZone": "UTC"})).await;

    let long = env.submit_inline("long.pdf", &pdf(12)).await;
    let short = env.submit_inline("short.pdf", &pdf(3)).await;
    let long_job = env.ingested(&long).await;
    assert_eq!(long_job["options"]["colourMode"], "mono", "12 pages ≥ 10 forces mono (BR-PP-02): {long_job}");
    assert_eq!(long_job["policyChanges"], json!(["forcedMono"]));
    let short_job = env.ingested(&short).await;
    assert_eq!(short_job["options"]["colourMode"], "colour", "3 pages stay colour (BR-PP-07): {short_job}");

    let session = env.session(&env.device).await;
    let refused = env.device_post(&session, &format!("/v1/device/jobs/{short}/release"), json!({})).await;
    let problem = expect_problem(refused, 403, "outside_print_window").await;
    assert!(problem["detail"].as_str().unwrap().contains("2026-11-24T08:00:00Z"), "{problem}");
    env.clock.advance(Duration::hours(7));
    env.refresh_admin().await;
    let session = env.session(&env.device_token().await).await;
    let released = env.device_post(&session, &format!("/v1/device/jobs/{short}/release"), json!({})).await;
    assert_eq!(released.status().as_u16(), 200, "10:00 UTC is inside the window");
    env.running.shutdown().await;
}

async fn br_dl_02_a_delegate_releases_cloud_jobs_only_at_print_release_esf_printers(storage: Storage) {
    let env = Env::start(storage).await;
    env.print_settings(json!({"delegation": true})).await;
    let delegate = env.add_user("sam@example.org", "B00DE1E9").await;
    let body = json!({"delegateUserId": delegate, "expiresAfterDays": null});
    env.send_ok("POST", &format!("/users/{}/delegates", env.user_id), body).await;
    let job_id = env.submit_inline("for sam.txt", b"delegated print").await;
    env.ingested(&job_id).await;

    let cloud_printer = env.enroll_with("PRN-CPR1", "10.1.2.9", "Cloud Print Release").await;
    let cloud_session = env.session_of(&env.grant(&cloud_printer).await, "B00DE1E9").await;
    let refused = env.device_post(&cloud_session, &format!("/v1/device/jobs/{job_id}/release"), json!({})).await;
    expect_problem(refused, 403, "delegate_release_not_supported").await;

    let session = env.session_of(&env.device, "B00DE1E9").await;
    let listed: Value =
        env.http.get(env.url("/v1/device/jobs")).bearer_auth(&session).send().await.unwrap().json().await.unwrap();
    assert_eq!((&listed["items"][0]["job"]["id"], &listed["items"][0]["delegated"]), (&json!(job_id), &json!(true)));
    let release: Value =
        env.device_post(&session, &format!("/v1/device/jobs/{job_id}/release"), json!({})).await.json().await.unwrap();
    let done = json!({"leaseId": release["leaseId"], "outcome": "printed", "monoSides": 1, "sheets": 1});
    let path = format!("/v1/device/jobs/{job_id}/complete");
    assert_eq!(env.device_post(&session, &path, done).await.status().as_u16(), 200);
    let history = env.send_ok("GET", &format!("/users/{}/history", env.user_id), Value::Null).await;
    assert_eq!(history["items"][0]["releasedBy"], delegate.as_str(), "released by the delegate (BR-HI-01)");
    env.running.shutdown().await;
}

async fn br_os_09_release_all_releases_every_own_held_job(storage: Storage) {
    let env = Env::start(storage).await;
    let first = env.submit_inline("one.txt", b"one").await;
    let second = env.submit_inline("two.txt", b"two").await;
    env.ingested(&first).await;
    env.ingested(&second).await;
    let session = env.session(&env.device).await;
    let released: Value = env.device_post(&session, "/v1/device/release-all", json!({})).await.json().await.unwrap();
    let mut ids: Vec<&str> =
        released["items"].as_array().unwrap().iter().map(|r| r["jobId"].as_str().unwrap()).collect();
    ids.sort();
    let mut expected = [first.as_str(), second.as_str()];
    expected.sort();
    assert_eq!(ids, expected);
    let again: Value = env.device_post(&session, "/v1/device/release-all", json!({})).await.json().await.unwrap();
    assert_eq!(again["items"], json!([]), "jobs being released are not released twice");
    env.running.shutdown().await;
}

async fn redelivered_ingest_events_and_repeated_completions_change_nothing(storage: Storage) {
    let env = Env::start(storage).await;
    let job_id = env.submit_inline("twice.txt", b"delivered twice").await;
    let held = env.ingested(&job_id).await;
    let ctx = &env.running.ctx;
    let key = format!("uploads/{}/{job_id}", env.org);
    let meta = ctx.blobs.head(&key).await.unwrap().unwrap();
    let event = shared::events::s3_object_created("printcloud", "ingest", &meta);
    let body = serde_json::to_string(&event).unwrap();
    ctx.queue.send("ingest", body.clone()).await.unwrap();
    ctx.queue.send("ingest", body).await.unwrap();
    let session = env.session(&env.device).await;
    let release: Value =
        env.device_post(&session, &format!("/v1/device/jobs/{job_id}/release"), json!({})).await.json().await.unwrap();
    let done = json!({"leaseId": release["leaseId"], "outcome": "cancelled"});
    let path = format!("/v1/device/jobs/{job_id}/complete");
    assert_eq!(env.device_post(&session, &path, done.clone()).await.status().as_u16(), 200);
    assert_eq!(env.device_post(&session, &path, done).await.status().as_u16(), 200, "a repeated completion");
    e2e::eventually("the queues to drain", std::time::Duration::from_secs(20), || async {
        let ingest = ctx.queue.receive("ingest", 1, std::time::Duration::from_millis(1)).await.ok()?;
        ingest.is_empty().then_some(())
    })
    .await;
    let after = env.ingested(&job_id).await;
    assert_eq!(after["state"], "Held");
    assert_eq!(after["pages"], held["pages"]);
    assert_eq!(after["version"].as_i64().unwrap(), held["version"].as_i64().unwrap() + 2, "release and cancel only");
    env.running.shutdown().await;
}

async fn a_lapsed_lease_returns_the_job_to_the_queue_and_oversized_documents_are_rejected(storage: Storage) {
    let mut env = Env::start_configured(storage, chrono::Utc::now(), 1024).await;
    let big = env.submit_inline("big.txt", &[b'x'; 2048]).await;
    let rejected = env.ingested(&big).await;
    assert_eq!(rejected["rejection"]["code"], "document_too_large", "{rejected}");
    let job_id = env.submit_inline("small.txt", b"fits").await;
    env.ingested(&job_id).await;
    let session = env.session(&env.device).await;
    let release: Value =
        env.device_post(&session, &format!("/v1/device/jobs/{job_id}/release"), json!({})).await.json().await.unwrap();
    env.clock.advance(Duration::minutes(11));
    env.refresh_admin().await;
    let session = env.session(&env.device_token().await).await;
    let listed: Value =
        env.http.get(env.url("/v1/device/jobs")).bearer_auth(&session).send().await.unwrap().json().await.unwrap();
    assert_eq!(listed["items"][0]["job"]["id"], job_id.as_str(), "the lapsed release is back in the queue");
    let again = env.device_post(&session, &format!("/v1/device/jobs/{job_id}/release"), json!({})).await;
    assert_eq!(again.status().as_u16(), 200);
    let stale = json!({"leaseId": release["leaseId"], "outcome": "printed", "monoSides": 1});
    let answer = env.device_post(&session, &format!("/v1/device/jobs/{job_id}/complete"), stale).await;
    expect_problem(answer, 409, "lease_not_current").await;
    env.running.shutdown().await;
}

e2e::on_both_storages!(
    submitted_pdf_is_held_released_downloaded_completed_and_recorded,
    corrupt_pdf_and_renamed_executable_are_rejected_with_reasons,
    print_and_keep_and_cancel_return_the_job_to_the_queue,
    two_printers_releasing_the_same_job_at_once_exactly_one_gets_it,
    br_os_12_jobs_past_retention_are_not_served_and_the_sweep_deletes_them,
    br_pp_02_policy_forces_mono_from_ten_pages_and_releases_keep_to_the_print_window,
    br_dl_02_a_delegate_releases_cloud_jobs_only_at_print_release_esf_printers,
    br_os_09_release_all_releases_every_own_held_job,
    redelivered_ingest_events_and_repeated_completions_change_nothing,
    a_lapsed_lease_returns_the_job_to_the_queue_and_oversized_documents_are_rejected,
);
