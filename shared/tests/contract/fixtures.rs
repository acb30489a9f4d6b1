//! Fresh adapters per test: embedded ones in a temporary directory, AWS ones on uniquely
//! named resources of the moto server.

use chrono::Utc;
use shared::adapters::aws::provision;
use shared::adapters::aws::{DynamoTable, S3Blobs, SesMailer, SqsQueue};
use shared::adapters::embedded::{DirBlobs, OutboxMailer, SqliteQueue, SqliteTable, blob_routes};
use shared::ports::blobs::NotificationRule;
use shared::ports::queue::QueueSpec;
use shared::ports::{Blobs, Mailer, ManualClock, Queue, SystemClock, Table, UlidIds};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Logical queue used by the queue cases; its dead-letter queue is `work-dlq`.
pub const WORK: &str = "work";
/// Dead-letter queue of [`WORK`].
pub const WORK_DLQ: &str = "work-dlq";
/// Receives [`WORK`] allows before redrive.
pub const MAX_RECEIVES: u32 = 2;
/// Queue that hears about objects created under `uploads/`.
pub const UPLOADS: &str = "uploads-events";
/// Sender of the mailer cases.
pub const MAIL_FROM: &str = "no-reply@printcloud.test";

/// What one backend offers a test.
pub struct Fixture {
    pub table: Arc<dyn Table>,
    pub queue: Arc<dyn Queue>,
    pub blobs: Arc<dyn Blobs>,
    pub mailer: Arc<dyn Mailer>,
    /// Clock of the table (TTL) and of the embedded presigned URLs.
    pub clock: Arc<ManualClock>,
    /// Whether the server refuses expired presigned URLs (moto does not check expiry).
    pub enforces_url_expiry: bool,
    /// Where the embedded mailer writes; `None` for SES.
    pub outbox: Option<PathBuf>,
    _dir: tempfile::TempDir,
}

pub async fn embedded() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let queue =
        Arc::new(SqliteQueue::open(&dir.path().join("q.db"), Arc::new(SystemClock), Arc::new(UlidIds)).unwrap());
    queue.declare_named(WORK, Some((WORK_DLQ, MAX_RECEIVES))).await.unwrap();
    queue.declare_named(WORK_DLQ, None).await.unwrap();
    queue.declare_named(UPLOADS, None).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let blobs = DirBlobs::open(&dir.path().join("blobs"), &url, b"test-secret", clock.clone())
        .unwrap()
        .notify(NotificationRule { prefix: "uploads/", queue: UPLOADS }, queue.clone());
    let blobs = Arc::new(blobs);
    let routes = blob_routes(blobs.clone());
    tokio::spawn(async move { axum::serve(listener, routes).await.unwrap() });
    let outbox = dir.path().join("outbox");
    Fixture {
        table: Arc::new(SqliteTable::open(&dir.path().join("t.db"), clock.clone()).unwrap()),
        queue,
        blobs,
        mailer: Arc::new(OutboxMailer::open(&outbox).unwrap()),
        clock,
        enforces_url_expiry: true,
        outbox: Some(outbox),
        _dir: dir,
    }
}

fn moto_endpoint() -> String {
    std::env::var("PRINTCLOUD_MOTO_ENDPOINT").expect(
        "PRINTCLOUD_MOTO_ENDPOINT is not set: run the tests with scripts/test, which installs and starts moto server",
    )
}

async fn sdk_config() -> aws_config::SdkConfig {
    let credentials = aws_sdk_dynamodb::config::Credentials::new("test", "test", None, None, "contract-tests");
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(moto_endpoint())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(credentials)
        .load()
        .await
}

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", ulid::Ulid::new().to_string().to_lowercase())
}

pub async fn aws() -> Fixture {
    let sdk = sdk_config().await;
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let dynamo = aws_sdk_dynamodb::Client::new(&sdk);
    let table_name = unique("table");
    provision::create_table(&dynamo, &table_name).await.unwrap();
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let prefix = format!("{}-", unique("q"));
    let uploads_arn = create_queues(&sqs, &prefix).await;
    let s3 = aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&sdk).force_path_style(true).build());
    let bucket = unique("bucket");
    provision::create_bucket(&s3, &bucket, &[("uploads/", uploads_arn)]).await.unwrap();
    let ses = aws_sdk_sesv2::Client::new(&sdk);
    ses.create_email_identity().email_identity(MAIL_FROM).send().await.unwrap();
    Fixture {
        table: Arc::new(DynamoTable::new(dynamo, table_name, clock.clone())),
        queue: Arc::new(SqsQueue::new(sqs, prefix)),
        blobs: Arc::new(S3Blobs::new(s3, bucket)),
        mailer: Arc::new(SesMailer::new(ses)),
        clock,
        enforces_url_expiry: false,
        outbox: None,
        _dir: tempfile::tempdir().unwrap(),
    }
}

/// Creates `work` (redriving to `work-dlq` after 2 receives) and `uploads-events`;
/// answers the ARN of the latter.
async fn create_queues(client: &aws_sdk_sqs::Client, prefix: &str) -> String {
    let work = QueueSpec { name: WORK, max_receives: MAX_RECEIVES, visibility: Duration::from_secs(30) };
    provision::create_queue_with_dlq(client, prefix, &work).await.unwrap();
    provision::create_queue(client, &format!("{prefix}{UPLOADS}"), HashMap::new()).await.unwrap()
}
