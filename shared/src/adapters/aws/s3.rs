//! The blob port on S3. ObjectCreated notifications are S3 event notifications to SQS,
//! configured on the bucket (`infra/template.yaml`).

use crate::ports::blobs::{self, BlobMeta};
use crate::ports::{Blobs, StoreError, StoreResult};
use async_trait::async_trait;
use aws_sdk_s3::Client;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use std::time::Duration;

/// The blob port on one S3 bucket.
pub struct S3Blobs {
    client: Client,
    bucket: String,
}

impl S3Blobs {
    /// The bucket named `bucket`.
    pub fn new(client: Client, bucket: impl Into<String>) -> Self {
        S3Blobs { client, bucket: bucket.into() }
    }

    /// The SDK client, for set-up such as bucket notifications in tests.
    pub fn client(&self) -> &Client {
        &self.client
    }
}

fn backend<E: std::error::Error + 'static>(err: aws_sdk_s3::error::SdkError<E>) -> StoreError {
    StoreError::backend(aws_sdk_s3::error::DisplayErrorContext(err))
}

fn timestamp(value: Option<&aws_sdk_s3::primitives::DateTime>) -> DateTime<Utc> {
    value.and_then(|t| DateTime::<Utc>::from_timestamp(t.secs(), t.subsec_nanos())).unwrap_or_default()
}

fn presigning(expires_in: Duration) -> StoreResult<PresigningConfig> {
    if expires_in.is_zero() || expires_in > blobs::MAX_PRESIGN {
        return Err(StoreError::Invalid("a presigned URL lives between 1 second and 7 days".into()));
    }
    PresigningConfig::expires_in(expires_in).map_err(|e| StoreError::Invalid(e.to_string()))
}

#[async_trait]
impl Blobs for S3Blobs {
    async fn put(&self, key: &str, bytes: Bytes, content_type: &str) -> StoreResult<()> {
        blobs::validate_key(key)?;
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn get(&self, key: &str) -> StoreResult<Option<(BlobMeta, Bytes)>> {
        let output = match self.client.get_object().bucket(&self.bucket).key(key).send().await {
            Ok(output) => output,
            Err(err) if err.as_service_error().is_some_and(|e| e.is_no_such_key()) => return Ok(None),
            Err(err) => return Err(backend(err)),
        };
        let meta = BlobMeta {
            key: key.to_string(),
            size: output.content_length.unwrap_or_default().max(0) as u64,
            content_type: output.content_type.clone(),
            last_modified: timestamp(output.last_modified.as_ref()),
        };
        let bytes = output.body.collect().await.map_err(StoreError::backend)?.into_bytes();
        Ok(Some((meta, bytes)))
    }

    async fn head(&self, key: &str) -> StoreResult<Option<BlobMeta>> {
        match self.client.head_object().bucket(&self.bucket).key(key).send().await {
            Ok(output) => Ok(Some(BlobMeta {
                key: key.to_string(),
                size: output.content_length.unwrap_or_default().max(0) as u64,
                content_type: output.content_type,
                last_modified: timestamp(output.last_modified.as_ref()),
            })),
            Err(err) if err.as_service_error().is_some_and(|e| e.is_not_found()) => Ok(None),
            Err(err) => Err(backend(err)),
        }
    }

    async fn delete(&self, key: &str) -> StoreResult<()> {
        self.client.delete_object().bucket(&self.bucket).key(key).send().await.map_err(backend)?;
        Ok(())
    }

    async fn list(&self, prefix: &str) -> StoreResult<Vec<BlobMeta>> {
        let mut pages = self.client.list_objects_v2().bucket(&self.bucket).prefix(prefix).into_paginator().send();
        let mut found = Vec::new();
        while let Some(page) = pages.next().await {
            for object in page.map_err(backend)?.contents.unwrap_or_default() {
                found.push(BlobMeta {
                    key: object.key.unwrap_or_default(),
                    size: object.size.unwrap_or_default().max(0) as u64,
                    content_type: None,
                    last_modified: timestamp(object.last_modified.as_ref()),
                });
            }
        }
        Ok(found)
    }

    async fn presign_get(&self, key: &str, expires_in: Duration) -> StoreResult<String> {
        blobs::validate_key(key)?;
        let request = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .presigned(presigning(expires_in)?)
            .await
            .map_err(backend)?;
        Ok(request.uri().to_string())
    }

    async fn presign_put(&self, key: &str, expires_in: Duration) -> StoreResult<String> {
        blobs::validate_key(key)?;
        let request = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .presigned(presigning(expires_in)?)
            .await
            .map_err(backend)?;
        Ok(request.uri().to_string())
    }
}
