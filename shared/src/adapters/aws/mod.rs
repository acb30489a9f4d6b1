//! AWS adapters: DynamoDB, S3, SQS and SES v2, and the Solution Center's engines on
//! Textract, Translate and Comprehend. The endpoint follows the SDK's standard
//! configuration, so `AWS_ENDPOINT_URL` points them at a local AWS-compatible server.

pub mod comprehend;
pub mod dynamo;
mod engine_errors;
pub mod provision;
pub mod s3;
pub mod ses;
pub mod sqs;
pub mod textract;
pub mod textract_pdf;
pub mod translate;

pub use comprehend::ComprehendPii;
pub use dynamo::DynamoTable;
pub use s3::S3Blobs;
pub use ses::SesMailer;
pub use sqs::SqsQueue;
pub use textract::TextractOcr;
pub use translate::AwsTranslator;

/// Whether the SDK's endpoint is overridden (a local test server rather than AWS), which
/// S3 needs to know to use path-style addressing.
pub fn endpoint_overridden(config: &aws_config::SdkConfig) -> bool {
    config.endpoint_url().is_some()
}
