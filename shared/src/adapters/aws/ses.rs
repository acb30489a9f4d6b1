//! The mailer port on SES v2: the rendered MIME message is sent raw.

use crate::ports::mailer::{self, Mail};
use crate::ports::{Mailer, StoreError, StoreResult};
use async_trait::async_trait;
use aws_sdk_sesv2::Client;
use aws_sdk_sesv2::primitives::Blob;
use aws_sdk_sesv2::types::{EmailContent, RawMessage};

/// The mailer port on SES v2.
pub struct SesMailer {
    client: Client,
}

impl SesMailer {
    /// Sends through `client`.
    pub fn new(client: Client) -> Self {
        SesMailer { client }
    }
}

#[async_trait]
impl Mailer for SesMailer {
    async fn send(&self, mail: &Mail) -> StoreResult<String> {
        let raw = RawMessage::builder().data(Blob::new(mailer::render(mail)?)).build().map_err(StoreError::backend)?;
        let output = self
            .client
            .send_email()
            .content(EmailContent::builder().raw(raw).build())
            .send()
            .await
            .map_err(|err| StoreError::backend(aws_sdk_sesv2::error::DisplayErrorContext(err)))?;
        Ok(output.message_id.unwrap_or_default())
    }
}
