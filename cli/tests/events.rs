//! Every sample event in `events/` through the function that consumes it, by the exact code
//! path Lambda uses (`shared::lambda::Dispatcher::dispatch` on the raw JSON payload), on
//! embedded storage in a temporary directory.

use aws_lambda_events::event::ses::SimpleEmailEvent;
use aws_lambda_events::event::sqs::SqsEvent;
use bytes::Bytes;
use serde_json::{Value, json};
use shared::lambda::{Dispatcher, InvocationError};
use shared::ports::{Condition, Key, SystemClock, UlidIds};
use shared::wiring::{self, LocalOptions, LocalStorage};
use shared::{Ctx, Function};
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use tempfile::TempDir;

/// Every sample event this file tests. A new file in `events/` must be added here (with a
/// test), or `every_sample_event_is_tested` fails.
const SAMPLES: [&str; 9] = [
    "apigw-http-health.json",
    "apigw-http-not-found.json",
    "eventbridge-notification-sweep.json",
    "eventbridge-retention-sweep.json",
    "ses-receipt.json",
    "sqs-quota-event.json",
    "sqs-s3-mail.json",
    "sqs-s3-test-event.json",
    "sqs-s3-upload.json",
];

fn events_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").join("events")
}

/// The sample event `name`, parsed.
fn sample(name: &str) -> Value {
    assert!(SAMPLES.contains(&name), "{name} is not in SAMPLES");
    let path = events_dir().join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name} is not JSON: {e}"))
}

/// An embedded context on a fresh data directory (kept alive with it).
struct Harness {
    ctx: Ctx,
    _dir: TempDir,
}

async fn harness() -> Harness {
    let dir = tempfile::tempdir().expect("temporary directory");
    let options = LocalOptions {
        data_dir: dir.path().to_path_buf(),
        public_url: "http://127.0.0.1:9".into(),
        smtp_relay: None,
        mail_from: "printcloud <no-reply@printcloud.test>".into(),
        mail_domain: "print.printcloud.test".into(),
        storage: LocalStorage::Embedded,
        max_document_bytes: shared::context::DEFAULT_MAX_DOCUMENT_BYTES,
    };
    let local =
        wiring::local(&options, Arc::new(SystemClock), Arc::new(UlidIds)).await.expect("embedded storage opens");
    Harness { ctx: local.ctx, _dir: dir }
}

/// What Lambda would answer for `payload` sent to `function`.
async fn dispatch(function: Function, ctx: &Ctx, payload: Value) -> Result<Value, InvocationError> {
    Dispatcher::new(function, ctx.clone()).dispatch(payload).await
}

/// The message ids an SQS batch response reports failed.
fn failures(response: &Value) -> Vec<String> {
    response["batchItemFailures"]
        .as_array()
        .unwrap_or_else(|| panic!("not an SQS batch response: {response}"))
        .iter()
        .map(|f| f["itemIdentifier"].as_str().expect("itemIdentifier is a string").to_string())
        .collect()
}

/// The (decoded) object keys of the S3 notifications carried by an SQS sample event.
fn s3_keys(event: &Value) -> Vec<String> {
    let event: SqsEvent = serde_json::from_value(event.clone()).expect("an SQS event");
    event
        .records
        .iter()
        .flat_map(|m| shared::events::s3_records_in(m).expect("an S3 notification body"))
        .map(|r| shared::events::s3_event_key(&r).expect("a decodable key"))
        .collect()
}

/// The bucket names of the S3 notifications carried by an SQS sample event.
fn s3_buckets(event: &Value) -> Vec<String> {
    let event: SqsEvent = serde_json::from_value(event.clone()).expect("an SQS event");
    event
        .records
        .iter()
        .flat_map(|m| shared::events::s3_records_in(m).expect("an S3 notification body"))
        .map(|r| r.s3.bucket.name.clone().expect("a bucket name"))
        .collect()
}

/// The JSON body of an API Gateway v2 response.
fn json_body(response: &Value) -> Value {
    let body = response["body"].as_str().unwrap_or_else(|| panic!("no text body in {response}"));
    serde_json::from_str(body).unwrap_or_else(|e| panic!("body is not JSON ({e}): {body}"))
}

#[test]
fn every_sample_event_is_tested() {
    let on_disk: BTreeSet<String> = std::fs::read_dir(events_dir())
        .expect("events/ exists")
        .map(|entry| entry.expect("directory entry").file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".json"))
        .collect();
    let tested: BTreeSet<String> = SAMPLES.iter().map(|s| s.to_string()).collect();
    assert_eq!(on_disk, tested, "events/*.json and the samples tested here differ; add a test for the new event");
}

#[tokio::test]
async fn apigw_health_answers_ok_from_auth() {
    let h = harness().await;
    let response = dispatch(auth::function(), &h.ctx, sample("apigw-http-health.json")).await.expect("dispatched");
    assert_eq!(response["statusCode"], 200, "{response}");
    let body = json_body(&response);
    assert_eq!(body["status"], "ok", "{body}");
    assert_eq!(body["function"], "auth", "{body}");
}

#[tokio::test]
async fn apigw_unknown_path_is_a_not_found_problem() {
    let h = harness().await;
    let response = dispatch(auth::function(), &h.ctx, sample("apigw-http-not-found.json")).await.expect("dispatched");
    assert_eq!(response["statusCode"], 404, "{response}");
    assert_eq!(response["headers"]["content-type"], "application/problem+json", "{response}");
    let body = json_body(&response);
    assert_eq!(body["code"], "not_found", "{body}");
    assert_eq!(body["status"], 404, "{body}");
    assert!(body["detail"].as_str().is_some_and(|d| d.contains("/v1/no-such-path")), "{body}");
}

#[tokio::test]
async fn apigw_unknown_path_is_not_found_on_every_http_function() {
    let h = harness().await;
    let http_functions: Vec<Function> =
        printcloud::functions::all().into_iter().filter(|f| f.router.is_some()).collect();
    assert!(!http_functions.is_empty());
    for function in http_functions {
        let name = function.name;
        let response = dispatch(function, &h.ctx, sample("apigw-http-not-found.json")).await.expect("dispatched");
        assert_eq!(response["statusCode"], 404, "{name}: {response}");
        assert_eq!(response["headers"]["content-type"], "application/problem+json", "{name}: {response}");
        assert_eq!(json_body(&response)["code"], "not_found", "{name}: {response}");
    }
}

#[tokio::test]
async fn sqs_quota_event_fails_only_the_malformed_record() {
    let h = harness().await;
    let event = sample("sqs-quota-event.json");
    let malformed = event["Records"][0]["messageId"].as_str().expect("first record's id").to_string();
    assert!(
        serde_json::from_str::<Value>(event["Records"][0]["body"].as_str().unwrap()).is_err(),
        "the sample's first record should be malformed"
    );
    let response = dispatch(quota_debit::function(), &h.ctx, event).await.expect("dispatched");
    assert_eq!(failures(&response), vec![malformed]);
}

#[tokio::test]
async fn sqs_s3_upload_without_job_deletes_the_orphan() {
    let h = harness().await;
    let event = sample("sqs-s3-upload.json");
    let keys = s3_keys(&event);
    assert_eq!(keys, vec!["uploads/01hzyorg/01hzyjob".to_string()]);
    let key = &keys[0];
    h.ctx.blobs.put(key, Bytes::from_static(b"%PDF-1.7\n"), "application/pdf").await.expect("blob stored");
    let response = dispatch(job_submit::function(), &h.ctx, event).await.expect("dispatched");
    assert_eq!(failures(&response), Vec::<String>::new());
    assert_eq!(h.ctx.blobs.head(key).await.expect("head"), None, "the orphan upload should be deleted");
}

#[tokio::test]
async fn sqs_s3_upload_of_an_existing_job_is_failed_and_kept() {
    let h = harness().await;
    let event = sample("sqs-s3-upload.json");
    let message_id = event["Records"][0]["messageId"].as_str().expect("message id").to_string();
    let key = "uploads/01hzyorg/01hzyjob";
    h.ctx.blobs.put(key, Bytes::from_static(b"%PDF-1.7\n"), "application/pdf").await.expect("blob stored");
    let Value::Object(job) = json!({"pk": "ORG#01hzyorg", "sk": "JOB#01hzyjob"}) else { unreachable!() };
    h.ctx.table.put(job, Condition::Absent).await.expect("job stored");
    let response = dispatch(job_submit::function(), &h.ctx, event).await.expect("dispatched");
    assert_eq!(failures(&response), vec![message_id]);
    assert!(h.ctx.blobs.head(key).await.expect("head").is_some(), "the job's upload must be kept");
    assert!(h.ctx.table.get(&Key::new("ORG#01hzyorg", "JOB#01hzyjob")).await.expect("get").is_some());
}

#[tokio::test]
async fn sqs_s3_test_event_is_acknowledged() {
    let h = harness().await;
    let response =
        dispatch(job_submit::function(), &h.ctx, sample("sqs-s3-test-event.json")).await.expect("dispatched");
    assert_eq!(failures(&response), Vec::<String>::new());
    // S3 sends its test event to every notified queue, so email-inbound must acknowledge it too.
    let response =
        dispatch(email_inbound::function(), &h.ctx, sample("sqs-s3-test-event.json")).await.expect("dispatched");
    assert_eq!(failures(&response), Vec::<String>::new());
}

#[tokio::test]
async fn sqs_s3_mail_is_dropped_and_deleted() {
    let h = harness().await;
    let event = sample("sqs-s3-mail.json");
    let keys = s3_keys(&event);
    assert_eq!(keys, vec!["mail/4b1f0e2c9a7d".to_string()]);
    let key = &keys[0];
    h.ctx
        .blobs
        .put(key, Bytes::from_static(b"From: a@example.org\r\n\r\nhi\r\n"), "message/rfc822")
        .await
        .expect("mail");
    let response = dispatch(email_inbound::function(), &h.ctx, event).await.expect("dispatched");
    assert_eq!(failures(&response), Vec::<String>::new());
    assert_eq!(h.ctx.blobs.head(key).await.expect("head"), None, "the dropped mail should be deleted");
}

#[tokio::test]
async fn ses_receipt_describes_the_stored_mail_and_is_not_a_trigger() {
    let ses: SimpleEmailEvent = serde_json::from_value(sample("ses-receipt.json")).expect("an SES event");
    assert_eq!(ses.records.len(), 1);
    let action = &ses.records[0].ses.receipt.action;
    assert_eq!(action.type_.as_deref(), Some("S3"));
    let mail = sample("sqs-s3-mail.json");
    assert_eq!(action.object_key.clone().into_iter().collect::<Vec<_>>(), s3_keys(&mail));
    assert_eq!(action.bucket_name.clone().into_iter().collect::<Vec<_>>(), s3_buckets(&mail));

    let h = harness().await;
    let outcome = dispatch(email_inbound::function(), &h.ctx, sample("ses-receipt.json")).await;
    assert!(
        outcome.as_ref().is_err_and(|e| e.to_string().contains("cannot handle this event shape")),
        "email-inbound must refuse an SES event, got {outcome:?}"
    );
}

#[tokio::test]
async fn eventbridge_retention_sweep_runs_on_release_only() {
    let h = harness().await;
    let event = sample("eventbridge-retention-sweep.json");
    let answer = dispatch(release::function(), &h.ctx, event.clone()).await.expect("release runs the sweep");
    assert_eq!(answer, Value::Null);
    let wrong = dispatch(notification_policy::function(), &h.ctx, event).await;
    assert!(wrong.is_err_and(|e| e.to_string().contains("no schedule")), "notification-policy must refuse it");
}

#[tokio::test]
async fn eventbridge_notification_sweep_runs_on_notification_policy_only() {
    let h = harness().await;
    let event = sample("eventbridge-notification-sweep.json");
    let answer = dispatch(notification_policy::function(), &h.ctx, event.clone()).await.expect("sweep runs");
    assert_eq!(answer, Value::Null);
    let wrong = dispatch(release::function(), &h.ctx, event).await;
    assert!(wrong.is_err_and(|e| e.to_string().contains("no schedule")), "release must refuse it");
}
