//! The mailer port on one machine: `.eml` files in an outbox directory, or an SMTP relay.

use crate::ports::mailer::{self, Mail};
use crate::ports::{Mailer, StoreError, StoreResult};
use async_trait::async_trait;
use lettre::address::Envelope;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use std::path::{Path, PathBuf};

/// Writes each mail as `<outbox>/<id>.eml` (atomically), for reading or forwarding later.
pub struct OutboxMailer {
    outbox: PathBuf,
}

impl OutboxMailer {
    /// Creates the outbox directory if needed.
    pub fn open(outbox: &Path) -> StoreResult<Self> {
        std::fs::create_dir_all(outbox.join(".tmp")).map_err(StoreError::backend)?;
        Ok(OutboxMailer { outbox: outbox.to_path_buf() })
    }
}

#[async_trait]
impl Mailer for OutboxMailer {
    async fn send(&self, mail: &Mail) -> StoreResult<String> {
        let bytes = mailer::render(mail)?;
        let id = ulid::Ulid::new().to_string().to_lowercase();
        let staging = self.outbox.join(".tmp").join(&id);
        tokio::fs::write(&staging, bytes).await.map_err(StoreError::backend)?;
        tokio::fs::rename(&staging, self.outbox.join(format!("{id}.eml"))).await.map_err(StoreError::backend)?;
        Ok(id)
    }
}

/// Relays every mail to an SMTP server (`smtp://host:port` or `smtps://user:pass@host`).
pub struct SmtpRelayMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
}

impl SmtpRelayMailer {
    /// A relay to the server at `url` (lettre's connection URL syntax).
    pub fn new(url: &str) -> StoreResult<Self> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| StoreError::Invalid(format!("SMTP relay URL: {e}")))?
            .build();
        Ok(SmtpRelayMailer { transport })
    }
}

#[async_trait]
impl Mailer for SmtpRelayMailer {
    async fn send(&self, mail: &Mail) -> StoreResult<String> {
        let bytes = mailer::render(mail)?;
        let parse = |a: &String| {
            a.parse::<lettre::message::Mailbox>()
                .map(|mailbox| mailbox.email)
                .map_err(|_| StoreError::Invalid(format!("`{a}` is not an address")))
        };
        let to = mail.to.iter().map(parse).collect::<StoreResult<Vec<_>>>()?;
        let envelope = Envelope::new(Some(parse(&mail.from)?), to).map_err(StoreError::backend)?;
        let response = self.transport.send_raw(&envelope, &bytes).await.map_err(StoreError::backend)?;
        Ok(response.message().collect::<Vec<_>>().join(" "))
    }
}
