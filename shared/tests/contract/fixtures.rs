//! Fresh adapters per test: embedded ones in a temporary directory, AWS ones on uniquely
//! named resources of the moto server.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection, ProjectionType,
    ScalarAttributeType,
};
use chrono::Utc;
use shared::adapters::aws::{DynamoTable, S3Blobs, SesMailer, SqsQueue};
use shared::adapters::embedded::{DirBlobs, OutboxMailer, SqliteQueue, SqliteTable, blob_routes};
use shared::ports::blobs::NotificationRule;
use shared::ports::{Blobs, Mailer, ManualClock, Queue, SystemClock, Table, UlidIds};
use std::path::PathBuf;
use std::sync::Arc;

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
    create_table(&dynamo, &table_name).await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let prefix = format!("{}-", unique("q"));
    let uploads_arn = create_queues(&sqs, &prefix).await;
    let s3 = aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&sdk).force_path_style(true).build());
    let bucket = unique("bucket");
    create_bucket(&s3, &bucket, &uploads_arn).await;
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

async fn create_table(client: &aws_sdk_dynamodb::Client, name: &str) {
    let attribute = |n: &str| {
        AttributeDefinition::builder().attribute_name(n).attribute_type(ScalarAttributeType::S).build().unwrap()
    };
    let key = |n: &str, t: KeyType| KeySchemaElement::builder().attribute_name(n).key_type(t).build().unwrap();
    let index = |n: &str| {
        GlobalSecondaryIndex::builder()
            .index_name(n)
            .key_schema(key(&format!("{n}pk"), KeyType::Hash))
            .key_schema(key(&format!("{n}sk"), KeyType::Range))
            .projection(Projection::builder().projection_type(ProjectionType::All).build())
            .build()
            .unwrap()
    };
    let mut request = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key("pk", KeyType::Hash))
        .key_schema(key("sk", KeyType::Range))
        .global_secondary_indexes(index("gsi1"))
        .global_secondary_indexes(index("gsi2"));
    for a in ["pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk"] {
        request = request.attribute_definitions(attribute(a));
    }
    request.send().await.unwrap();
}

/// Creates `work` (redriving to `work-dlq` after 2 receives) and `uploads-events`;
/// answers the ARN of the latter.
async fn create_queues(client: &aws_sdk_sqs::Client, prefix: &str) -> String {
    use aws_sdk_sqs::types::QueueAttributeName;
    let arn_of = |url: String| async move {
        client
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await
            .unwrap()
            .attributes
            .unwrap()[&QueueAttributeName::QueueArn]
            .clone()
    };
    let dlq = client.create_queue().queue_name(format!("{prefix}{WORK_DLQ}")).send().await.unwrap();
    let dlq_arn = arn_of(dlq.queue_url.unwrap()).await;
    let redrive = serde_json::json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": MAX_RECEIVES}).to_string();
    client
        .create_queue()
        .queue_name(format!("{prefix}{WORK}"))
        .attributes(QueueAttributeName::RedrivePolicy, redrive)
        .send()
        .await
        .unwrap();
    let uploads = client.create_queue().queue_name(format!("{prefix}{UPLOADS}")).send().await.unwrap();
    arn_of(uploads.queue_url.unwrap()).await
}

async fn create_bucket(client: &aws_sdk_s3::Client, bucket: &str, uploads_queue_arn: &str) {
    use aws_sdk_s3::types::{
        Event, FilterRule, FilterRuleName, NotificationConfiguration, NotificationConfigurationFilter,
        QueueConfiguration, S3KeyFilter,
    };
    client.create_bucket().bucket(bucket).send().await.unwrap();
    let filter = NotificationConfigurationFilter::builder()
        .key(
            S3KeyFilter::builder()
                .filter_rules(FilterRule::builder().name(FilterRuleName::Prefix).value("uploads/").build())
                .build(),
        )
        .build();
    let queue = QueueConfiguration::builder()
        .id(UPLOADS)
        .queue_arn(uploads_queue_arn)
        .events(Event::S3ObjectCreated)
        .filter(filter)
        .build()
        .unwrap();
    client
        .put_bucket_notification_configuration()
        .bucket(bucket)
        .notification_configuration(NotificationConfiguration::builder().queue_configurations(queue).build())
        .send()
        .await
        .unwrap();
}
