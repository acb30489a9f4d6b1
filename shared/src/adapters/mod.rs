//! Implementations of the ports: `aws` for Lambda (DynamoDB, S3, SQS, SES v2) and
//! `embedded` for `printcloud serve` (SQLite, a directory, an outbox or SMTP relay).

pub mod aws;
pub mod embedded;
