//! End-to-end tests through HTTP against the one-process runner (`printcloud serve`), each
//! on its own data directory and port.

use bytes::Bytes;
use e2e::{ADMIN_EMAIL, ADMIN_PASSWORD, eventually, expect_problem, options, start, start_with};
use serde_json::{Value, json};
use shared::ports::{Clock, Condition, Key, ManualClock, SystemClock};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

/// Every function of the deployment, by name.
const FUNCTIONS: [&str; 8] =
    ["auth", "enroll", "job-submit", "release", "quota-debit", "email-inbound", "notification-policy", "workflow-step"];

#[tokio::test]
async fn health_answers_for_the_deployment_and_every_function() {
    let dir = tempfile::tempdir().unwrap();
    let running = start(dir.path()).await;
    let client = reqwest::Client::new();

    let mounted: BTreeSet<&str> = printcloud::functions::all().iter().map(|f| f.name).collect();
    assert_eq!(mounted, FUNCTIONS.into_iter().collect(), "the runner mounts other functions than expected");

    let response = client.get(format!("{}/health", running.url)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "ok", "{body}");
    assert_eq!(body["function"], "auth", "{body}");
    assert!(body["version"].is_string(), "{body}");

    for name in FUNCTIONS {
        let response = client.get(format!("{}/health/{name}", running.url)).send().await.unwrap();
        assert_eq!(response.status(), 200, "GET /health/{name}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["status"], "ok", "{name}: {body}");
        assert_eq!(body["function"], name, "{name}: {body}");
    }
    running.shutdown().await;
}

#[tokio::test]
async fn unknown_paths_are_not_found_problems() {
    let dir = tempfile::tempdir().unwrap();
    let running = start(dir.path()).await;
    let client = reqwest::Client::new();
    let response = client.get(format!("{}/v1/no-such-path?x=1", running.url)).send().await.unwrap();
    let problem = expect_problem(response, 404, "not_found").await;
    assert!(problem["detail"].as_str().is_some_and(|d| d.contains("/v1/no-such-path")), "{problem}");
    let response = client.post(format!("{}/nothing/here", running.url)).body("{}").send().await.unwrap();
    expect_problem(response, 404, "not_found").await;
    running.shutdown().await;
}

#[tokio::test]
async fn first_start_creates_the_first_organisation_and_administrator_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut first = options(dir.path());
    first.admin_email = "  First.Admin@Example.ORG ".into();
    first.organisation = "Acme".into();
    let running = start_with(first.clone()).await;
    let admin = running.first_admin.clone().expect("the first start creates the administrator");
    assert_eq!(admin.email, "first.admin@example.org");
    assert_eq!(admin.organisation, "Acme");
    assert_eq!(admin.password, ADMIN_PASSWORD);

    let record = shared::identity::store::find_user_by_email(&running.ctx, "First.Admin@example.org")
        .await
        .expect("lookup by e-mail")
        .expect("the administrator exists");
    let user = serde_json::to_value(&record).unwrap();
    assert_eq!(user["email"], "first.admin@example.org");
    assert_eq!(user["roles"], json!(["Organization Administrator"]));
    let hash = user["passwordHash"].as_str().expect("a password hash");
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(!hash.contains(ADMIN_PASSWORD), "the hash must not contain the password");
    assert!(shared::passwords::verify(ADMIN_PASSWORD, hash), "the stored hash must verify the password");
    let org_id = user["orgId"].as_str().expect("the user's organisation");
    let org = running.ctx.table.get(&Key::new(format!("ORG#{org_id}"), "ORG")).await.unwrap();
    assert_eq!(org.expect("the organisation item")["name"], "Acme");
    running.shutdown().await;

    let mut again = first;
    again.admin_email = "someone.else@example.org".into();
    let running = start_with(again).await;
    assert_eq!(running.first_admin, None, "a second start must not create another administrator");
    let find = |email: &'static str| shared::identity::store::find_user_by_email(&running.ctx, email);
    assert!(find("first.admin@example.org").await.unwrap().is_some());
    assert!(find("someone.else@example.org").await.unwrap().is_none(), "no second administrator");
    running.shutdown().await;
}

#[tokio::test]
async fn br_pwd_a_weak_administrator_password_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut weak = options(dir.path());
    weak.admin_password = Some("short".into());
    let error = match printcloud::serve::start(weak).await {
        Ok(_) => panic!("start must refuse a weak administrator password"),
        Err(error) => format!("{error:#}"),
    };
    for missing in ["at least 8 characters", "an uppercase letter", "a digit", "a special character"] {
        assert!(error.contains(missing), "the error should name `{missing}`: {error}");
    }
    assert!(!error.contains("a lowercase letter"), "`short` has lowercase letters: {error}");

    // Nothing was half-created: a start with a strong password bootstraps normally.
    let running = start(dir.path()).await;
    assert_eq!(running.first_admin.as_ref().map(|a| a.email.as_str()), Some(ADMIN_EMAIL));
    running.shutdown().await;
}

#[tokio::test]
async fn presigned_upload_reaches_ingest_and_the_orphan_is_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let running = start(dir.path()).await;
    let ctx = running.ctx.clone();
    let key = "uploads/org1/job1";
    let document = Bytes::from_static(b"%PDF-1.7\n% an upload\n");

    // While a job record exists, ingest cannot take the upload yet and keeps it (failing the
    // record for retry); this makes the stored object observable without racing the poller.
    let Value::Object(job) = json!({"pk": "ORG#org1", "sk": "JOB#job1"}) else { unreachable!() };
    ctx.table.put(job, Condition::Absent).await.unwrap();

    let url = ctx.blobs.presign_put(key, Duration::from_secs(60)).await.unwrap();
    assert!(url.starts_with(&running.url), "{url}");
    let response = reqwest::Client::new()
        .put(&url)
        .header(reqwest::header::CONTENT_TYPE, "application/pdf")
        .body(document.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
    let meta = ctx.blobs.head(key).await.unwrap().expect("the upload is stored");
    assert_eq!(meta.size, document.len() as u64);
    assert_eq!(meta.content_type.as_deref(), Some("application/pdf"));
    let (_, stored) = ctx.blobs.get(key).await.unwrap().expect("the upload is readable");
    assert_eq!(stored, document);

    // Without its job the upload is an orphan: the retried ObjectCreated event deletes it.
    ctx.table.delete(&Key::new("ORG#org1", "JOB#job1"), Condition::Exists).await.unwrap();
    eventually("the ingest poller to delete the orphan upload", Duration::from_secs(10), || {
        let ctx = ctx.clone();
        async move { ctx.blobs.head(key).await.unwrap().is_none().then_some(()) }
    })
    .await;
    running.shutdown().await;
}

#[tokio::test]
async fn presigned_upload_without_a_job_is_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let running = start(dir.path()).await;
    let ctx = running.ctx.clone();
    let key = "uploads/org2/job2";
    let url = ctx.blobs.presign_put(key, Duration::from_secs(60)).await.unwrap();
    let response = reqwest::Client::new().put(&url).body("orphan").send().await.unwrap();
    assert_eq!(response.status(), 200);
    // The upload announces itself on `ingest`; job-submit finds no job and deletes it.
    eventually("the orphan upload to be ingested and deleted", Duration::from_secs(10), || {
        let ctx = ctx.clone();
        async move { ctx.blobs.head(key).await.unwrap().is_none().then_some(()) }
    })
    .await;
    running.shutdown().await;
}

#[tokio::test]
async fn presigned_downloads_check_signature_and_expiry() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(SystemClock.now()));
    let mut options = options(dir.path());
    options.clock = clock.clone();
    let running = start_with(options).await;
    let ctx = running.ctx.clone();
    let client = reqwest::Client::new();
    let key = "docs/guide v2.txt";
    ctx.blobs.put(key, Bytes::from_static(b"how to print"), "text/plain").await.unwrap();

    let url = ctx.blobs.presign_get(key, Duration::from_secs(60)).await.unwrap();
    let response = client.get(&url).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()[reqwest::header::CONTENT_TYPE], "text/plain");
    assert_eq!(response.bytes().await.unwrap(), Bytes::from_static(b"how to print"));

    // A changed signature, a signature for another key, or a GET URL used to PUT: refused.
    let last = url.chars().last().expect("a signature");
    let tampered = format!("{}{}", &url[..url.len() - 1], if last == '0' { '1' } else { '0' });
    expect_problem(client.get(&tampered).send().await.unwrap(), 403, "signature_invalid").await;
    let other = ctx.blobs.presign_get("docs/other.txt", Duration::from_secs(60)).await.unwrap();
    let (_, other_query) = other.split_once('?').unwrap();
    let (path, _) = url.split_once('?').unwrap();
    expect_problem(client.get(format!("{path}?{other_query}")).send().await.unwrap(), 403, "signature_invalid").await;
    expect_problem(client.put(&url).body("overwrite").send().await.unwrap(), 403, "signature_invalid").await;
    let (_, unchanged) = ctx.blobs.get(key).await.unwrap().expect("still stored");
    assert_eq!(unchanged, Bytes::from_static(b"how to print"));

    // Past its expiry the URL is refused, even though the signature is right.
    let put_url = ctx.blobs.presign_put("docs/late.txt", Duration::from_secs(60)).await.unwrap();
    clock.advance(chrono::Duration::seconds(61));
    expect_problem(client.get(&url).send().await.unwrap(), 403, "url_expired").await;
    expect_problem(client.put(&put_url).body("late").send().await.unwrap(), 403, "url_expired").await;
    assert_eq!(ctx.blobs.head("docs/late.txt").await.unwrap(), None, "an expired PUT must store nothing");
    running.shutdown().await;
}

#[tokio::test]
async fn a_failing_queue_message_is_retried_into_the_dead_letter_queue() {
    let dir = tempfile::tempdir().unwrap();
    let running = start(dir.path()).await;
    let ctx = running.ctx.clone();
    let malformed = "{\"not\":\"a quota event\"".to_string();
    let bad_id = ctx.queue.send("quota-events", malformed.clone()).await.unwrap();
    // A well-formed event without a reservation is acknowledged, never dead-lettered.
    let good = json!({"kind": "printed", "orgId": "org1", "jobId": "job1", "leaseId": "lease1"}).to_string();
    let good_id = ctx.queue.send("quota-events", good).await.unwrap();

    // 5 receives with 1, 2, 4, 8, 16 s backoff between them: about 31 s.
    let dead = eventually("the malformed message in quota-events-dlq", Duration::from_secs(60), || {
        let ctx = ctx.clone();
        async move {
            let messages = ctx.queue.receive("quota-events-dlq", 10, Duration::from_secs(30)).await.unwrap();
            (!messages.is_empty()).then_some(messages)
        }
    })
    .await;
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert_eq!(dead[0].message_id, bad_id);
    assert_ne!(dead[0].message_id, good_id);
    assert_eq!(dead[0].body, malformed);
    let left = ctx.queue.receive("quota-events", 10, Duration::from_secs(1)).await.unwrap();
    assert!(left.is_empty(), "nothing should be left on quota-events: {left:?}");
    running.shutdown().await;
}

#[tokio::test]
async fn shutdown_finishes_and_closes_the_port() {
    let dir = tempfile::tempdir().unwrap();
    let running = start(dir.path()).await;
    let (addr, url) = (running.addr, running.url.clone());
    // Keep a pooled keep-alive connection open across the shutdown.
    let client = reqwest::Client::new();
    assert_eq!(client.get(format!("{url}/health")).send().await.unwrap().status(), 200);

    tokio::time::timeout(Duration::from_secs(30), running.shutdown())
        .await
        .expect("shutdown did not finish within 30 s");

    let refused = tokio::net::TcpStream::connect(addr).await;
    assert!(refused.is_err(), "the port still accepts connections after shutdown");
    let answer = client.get(format!("{url}/health")).send().await;
    assert!(answer.is_err(), "a request after shutdown got an answer: {answer:?}");
}

/// `/openapi.json` is served, and every operation it documents is routed (none answers
/// 404 or 405).
#[tokio::test]
async fn every_documented_path_is_served() {
    let dir = tempfile::tempdir().unwrap();
    let running = e2e::start(dir.path()).await;
    let http = reqwest::Client::new();
    let document: serde_json::Value =
        http.get(format!("{}/openapi.json", running.url)).send().await.unwrap().json().await.unwrap();
    assert_eq!(document["openapi"], "3.1.0");
    let paths = document["paths"].as_object().expect("documented paths");
    assert!(paths.len() >= 10, "health probes of every function and the document itself");
    for (path, item) in paths {
        for method in item.as_object().unwrap().keys() {
            let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let response = http.request(method.clone(), format!("{}{path}", running.url)).send().await.unwrap();
            let status = response.status().as_u16();
            assert!(status != 404 && status != 405, "{method} {path} is documented but answers {status}");
        }
    }
    running.shutdown().await;
}
