//! Creating the deployment's AWS resources on an AWS-compatible endpoint (moto, LocalStack)
//! the way `infra/template.yaml` declares them on AWS: the table with its two indexes,
//! every queue with its dead-letter queue, and the bucket with its ObjectCreated
//! notifications. `printcloud serve --aws-endpoint` and the contract tests use it; a real
//! deployment gets these from CloudFormation instead. Every step tolerates resources that
//! already exist, so a restart provisions nothing twice.

use crate::ports::blobs::NOTIFICATIONS;
use crate::ports::queue::{QUEUES, QueueSpec};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection, ProjectionType,
    ScalarAttributeType,
};
use aws_sdk_sqs::types::QueueAttributeName;
use std::collections::HashMap;

/// Why provisioning failed.
pub type ProvisionError = Box<dyn std::error::Error + Send + Sync>;

/// The names of one deployment's resources.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ResourceNames {
    /// The single table.
    pub table: String,
    /// The document bucket.
    pub bucket: String,
    /// Prefix of every queue name (`<prefix>ingest`, `<prefix>ingest-dlq`, ...).
    pub queue_prefix: String,
}

impl ResourceNames {
    /// Names that start with `stem`, valid for DynamoDB, S3 (lower case) and SQS.
    pub fn with_stem(stem: &str) -> Self {
        let stem = stem.to_lowercase();
        ResourceNames { table: stem.clone(), bucket: stem.clone(), queue_prefix: format!("{stem}-") }
    }
}

/// Creates every resource of a deployment named by `names`.
pub async fn provision(sdk: &aws_config::SdkConfig, names: &ResourceNames) -> Result<(), ProvisionError> {
    create_table(&aws_sdk_dynamodb::Client::new(sdk), &names.table).await?;
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let mut queue_arns = HashMap::new();
    for spec in &QUEUES {
        queue_arns.insert(spec.name, create_queue_with_dlq(&sqs, &names.queue_prefix, spec).await?);
    }
    let notifications: Vec<(&str, String)> = NOTIFICATIONS
        .iter()
        .map(|rule| (rule.prefix, queue_arns.get(rule.queue).cloned().unwrap_or_default()))
        .collect();
    let s3 = aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(sdk).force_path_style(true).build());
    create_bucket(&s3, &names.bucket, &notifications).await
}

/// Creates the table: key `pk`/`sk`, indexes `gsi1` and `gsi2` on `gsiNpk`/`gsiNsk`,
/// on-demand billing, as the template declares it.
pub async fn create_table(client: &aws_sdk_dynamodb::Client, name: &str) -> Result<(), ProvisionError> {
    let attribute =
        |n: &str| AttributeDefinition::builder().attribute_name(n).attribute_type(ScalarAttributeType::S).build();
    let key = |n: &str, t: KeyType| KeySchemaElement::builder().attribute_name(n).key_type(t).build();
    let index = |n: &str| -> Result<GlobalSecondaryIndex, ProvisionError> {
        Ok(GlobalSecondaryIndex::builder()
            .index_name(n)
            .key_schema(key(&format!("{n}pk"), KeyType::Hash)?)
            .key_schema(key(&format!("{n}sk"), KeyType::Range)?)
            .projection(Projection::builder().projection_type(ProjectionType::All).build())
            .build()?)
    };
    let mut request = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key("pk", KeyType::Hash)?)
        .key_schema(key("sk", KeyType::Range)?)
        .global_secondary_indexes(index("gsi1")?)
        .global_secondary_indexes(index("gsi2")?);
    for a in ["pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk"] {
        request = request.attribute_definitions(attribute(a)?);
    }
    match request.send().await {
        Ok(_) => Ok(()),
        Err(err) if err.as_service_error().is_some_and(|e| e.is_resource_in_use_exception()) => Ok(()),
        Err(err) => Err(aws_sdk_dynamodb::error::DisplayErrorContext(err).to_string().into()),
    }
}

/// Creates `<prefix><name>` redriving to `<prefix><name>-dlq` after the spec's receives;
/// answers the queue's ARN.
pub async fn create_queue_with_dlq(
    client: &aws_sdk_sqs::Client,
    prefix: &str,
    spec: &QueueSpec,
) -> Result<String, ProvisionError> {
    let dlq_arn = create_queue(client, &format!("{prefix}{}-dlq", spec.name), HashMap::new()).await?;
    let redrive = serde_json::json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": spec.max_receives});
    let attributes = HashMap::from([
        (QueueAttributeName::RedrivePolicy, redrive.to_string()),
        (QueueAttributeName::VisibilityTimeout, spec.visibility.as_secs().to_string()),
    ]);
    create_queue(client, &format!("{prefix}{}", spec.name), attributes).await
}

/// Creates (or finds, when it exists with the same attributes) the queue `name`; answers
/// its ARN.
pub async fn create_queue(
    client: &aws_sdk_sqs::Client,
    name: &str,
    attributes: HashMap<QueueAttributeName, String>,
) -> Result<String, ProvisionError> {
    let sqs_error = |err| -> ProvisionError { aws_sdk_sqs::error::DisplayErrorContext(err).to_string().into() };
    let created =
        client.create_queue().queue_name(name).set_attributes(Some(attributes)).send().await.map_err(sqs_error)?;
    let url = created.queue_url.ok_or_else(|| format!("creating the queue {name} answered no URL"))?;
    let described = client
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(|err| aws_sdk_sqs::error::DisplayErrorContext(err).to_string())?;
    described
        .attributes
        .and_then(|mut a| a.remove(&QueueAttributeName::QueueArn))
        .ok_or_else(|| format!("the queue {name} has no ARN").into())
}

/// Creates the bucket and sends ObjectCreated events for keys under each prefix of
/// `notifications` to the paired queue ARN.
pub async fn create_bucket(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    notifications: &[(&str, String)],
) -> Result<(), ProvisionError> {
    use aws_sdk_s3::types::{
        Event, FilterRule, FilterRuleName, NotificationConfiguration, NotificationConfigurationFilter,
        QueueConfiguration, S3KeyFilter,
    };
    match client.create_bucket().bucket(bucket).send().await {
        Ok(_) => {}
        Err(err) if err.as_service_error().is_some_and(|e| e.is_bucket_already_owned_by_you()) => {}
        Err(err) => return Err(aws_sdk_s3::error::DisplayErrorContext(err).to_string().into()),
    }
    let mut configuration = NotificationConfiguration::builder();
    for (prefix, queue_arn) in notifications {
        let rule = FilterRule::builder().name(FilterRuleName::Prefix).value(*prefix).build();
        let filter =
            NotificationConfigurationFilter::builder().key(S3KeyFilter::builder().filter_rules(rule).build()).build();
        configuration = configuration.queue_configurations(
            QueueConfiguration::builder()
                .id(prefix.trim_end_matches('/'))
                .queue_arn(queue_arn)
                .events(Event::S3ObjectCreated)
                .filter(filter)
                .build()?,
        );
    }
    client
        .put_bucket_notification_configuration()
        .bucket(bucket)
        .notification_configuration(configuration.build())
        .send()
        .await
        .map_err(|err| aws_sdk_s3::error::DisplayErrorContext(err).to_string())?;
    Ok(())
}
