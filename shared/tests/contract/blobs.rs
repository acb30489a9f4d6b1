//! Blob port contract, presigned URLs exercised with a plain HTTP client.

use crate::fixtures::{Fixture, UPLOADS};
use bytes::Bytes;
use shared::events::{s3_event_key, s3_records_in};
use std::time::Duration;

pub async fn blobs_put_get_head_list_delete(f: &Fixture) {
    let doc = Bytes::from_static(b"%PDF-1.7 not really");
    f.blobs.put("orgs/o1/jobs/j1.pdf", doc.clone(), "application/pdf").await.unwrap();
    f.blobs.put("orgs/o1/jobs/j2.txt", Bytes::from_static(b"hello"), "text/plain").await.unwrap();
    f.blobs.put("orgs/o2/jobs/j3.txt", Bytes::from_static(b"other org"), "text/plain").await.unwrap();
    let (meta, bytes) = f.blobs.get("orgs/o1/jobs/j1.pdf").await.unwrap().unwrap();
    assert_eq!(bytes, doc);
    assert_eq!(meta.size, doc.len() as u64);
    assert_eq!(meta.content_type.as_deref(), Some("application/pdf"));
    let head = f.blobs.head("orgs/o1/jobs/j2.txt").await.unwrap().unwrap();
    assert_eq!((head.size, head.content_type.as_deref()), (5, Some("text/plain")));
    assert!(f.blobs.head("orgs/o1/jobs/none").await.unwrap().is_none());
    assert!(f.blobs.get("orgs/o1/jobs/none").await.unwrap().is_none());
    let listed: Vec<String> = f.blobs.list("orgs/o1/").await.unwrap().into_iter().map(|m| m.key).collect();
    assert_eq!(listed, ["orgs/o1/jobs/j1.pdf", "orgs/o1/jobs/j2.txt"]);
    f.blobs.put("orgs/o1/jobs/j2.txt", Bytes::from_static(b"replaced"), "text/plain").await.unwrap();
    assert_eq!(f.blobs.get("orgs/o1/jobs/j2.txt").await.unwrap().unwrap().1, Bytes::from_static(b"replaced"));
    f.blobs.delete("orgs/o1/jobs/j1.pdf").await.unwrap();
    f.blobs.delete("orgs/o1/jobs/j1.pdf").await.unwrap();
    assert!(f.blobs.get("orgs/o1/jobs/j1.pdf").await.unwrap().is_none());
    assert_eq!(f.blobs.list("orgs/o1/").await.unwrap().len(), 1);
    assert!(f.blobs.put("../escape", Bytes::new(), "text/plain").await.is_err());
}

pub async fn blobs_presigned_put_then_get(f: &Fixture) {
    let http = reqwest::Client::new();
    let put_url = f.blobs.presign_put("orgs/o1/uploads/report 1.pdf", Duration::from_secs(300)).await.unwrap();
    let response = http.put(&put_url).body("uploaded through a presigned URL").send().await.unwrap();
    assert!(response.status().is_success(), "PUT answered {}", response.status());
    let (_, stored) = f.blobs.get("orgs/o1/uploads/report 1.pdf").await.unwrap().expect("the upload is stored");
    assert_eq!(stored, Bytes::from_static(b"uploaded through a presigned URL"));

    let get_url = f.blobs.presign_get("orgs/o1/uploads/report 1.pdf", Duration::from_secs(300)).await.unwrap();
    let response = http.get(&get_url).send().await.unwrap();
    assert!(response.status().is_success());
    assert_eq!(response.bytes().await.unwrap(), Bytes::from_static(b"uploaded through a presigned URL"));

    let tampered = get_url.replace("report%201.pdf", "other.pdf").replace("report 1.pdf", "other.pdf");
    assert_ne!(tampered, get_url);
    assert!(!http.get(&tampered).send().await.unwrap().status().is_success(), "a URL is only good for its key");
}

pub async fn blobs_presigned_urls_expire(f: &Fixture) {
    f.blobs.put("orgs/o1/doc.txt", Bytes::from_static(b"secret"), "text/plain").await.unwrap();
    let url = f.blobs.presign_get("orgs/o1/doc.txt", Duration::from_secs(60)).await.unwrap();
    assert!(
        f.blobs.presign_get("orgs/o1/doc.txt", Duration::from_secs(8 * 24 * 3600)).await.is_err(),
        "at most 7 days"
    );
    if f.enforces_url_expiry {
        let http = reqwest::Client::new();
        assert!(http.get(&url).send().await.unwrap().status().is_success());
        f.clock.advance(chrono::Duration::seconds(61));
        let response = http.get(&url).send().await.unwrap();
        assert_eq!(response.status(), reqwest::StatusCode::FORBIDDEN);
        let problem: serde_json::Value = response.json().await.unwrap();
        assert_eq!(problem["code"], "url_expired");
    } else {
        // S3 enforces SigV4 expiry itself (moto does not): check we asked for 60 seconds.
        let parsed = reqwest::Url::parse(&url).unwrap();
        let query: std::collections::HashMap<_, _> = parsed.query_pairs().collect();
        assert_eq!(query.get("X-Amz-Expires").map(|v| v.as_ref()), Some("60"));
        assert!(query.contains_key("X-Amz-Signature"));
    }
}

pub async fn blobs_object_created_notifications(f: &Fixture) {
    f.blobs.put("other/not-announced", Bytes::from_static(b"x"), "text/plain").await.unwrap();
    f.blobs.put("uploads/org 1/job1", Bytes::from_static(b"document"), "application/pdf").await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let mut keys = Vec::new();
    while tokio::time::Instant::now() < deadline {
        for message in f.queue.receive(UPLOADS, 10, Duration::from_secs(30)).await.unwrap() {
            let mut record = aws_lambda_events::event::sqs::SqsMessage::default();
            record.body = Some(message.body.clone());
            let s3 = s3_records_in(&record).expect("an S3 event notification");
            for r in &s3 {
                assert!(r.event_name.as_deref().unwrap_or_default().starts_with("ObjectCreated:"));
                assert_eq!(r.s3.object.size, Some(8));
            }
            keys.extend(s3.iter().filter_map(s3_event_key));
        }
        if !keys.is_empty() {
            tokio::time::sleep(Duration::from_millis(500)).await;
            for message in f.queue.receive(UPLOADS, 10, Duration::from_secs(30)).await.unwrap() {
                let mut record = aws_lambda_events::event::sqs::SqsMessage::default();
                record.body = Some(message.body);
                keys.extend(s3_records_in(&record).unwrap().iter().filter_map(s3_event_key));
            }
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(keys, ["uploads/org 1/job1"], "exactly the object under the prefix is announced");
}
