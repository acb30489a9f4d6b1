//! Outbound e-mail (PINs, delegate notices, import logs, fleet notifications).

use super::StoreResult;
use async_trait::async_trait;

/// A file attached to a mail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attachment {
    /// File name shown to the recipient.
    pub filename: String,
    /// MIME type, e.g. `text/csv`.
    pub content_type: String,
    /// The content.
    pub bytes: Vec<u8>,
}

/// A mail to send: plain text always, HTML optionally, attachments optionally.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Mail {
    /// Sender address (the deployment's configured sender).
    pub from: String,
    /// Recipients.
    pub to: Vec<String>,
    /// Reply-to address, if any.
    pub reply_to: Option<String>,
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub text: String,
    /// HTML body, sent as the alternative to the text.
    pub html: Option<String>,
    /// Attachments.
    pub attachments: Vec<Attachment>,
}

/// Sends mail.
#[async_trait]
pub trait Mailer: Send + Sync {
    /// Sends `mail`; answers the message id.
    async fn send(&self, mail: &Mail) -> StoreResult<String>;
}

/// Renders `mail` as an RFC 5322 message (both adapters send exactly these bytes).
pub fn render(mail: &Mail) -> StoreResult<Vec<u8>> {
    use lettre::message::{Mailbox, MultiPart, SinglePart, header::ContentType};
    let invalid =
        |what: &str, value: &str| super::StoreError::Invalid(format!("{what} `{value}` is not a valid address"));
    let mut builder = lettre::Message::builder()
        .from(mail.from.parse::<Mailbox>().map_err(|_| invalid("sender", &mail.from))?)
        .subject(mail.subject.clone());
    if mail.to.is_empty() {
        return Err(super::StoreError::Invalid("a mail needs at least one recipient".into()));
    }
    for to in &mail.to {
        builder = builder.to(to.parse::<Mailbox>().map_err(|_| invalid("recipient", to))?);
    }
    if let Some(reply_to) = &mail.reply_to {
        builder = builder.reply_to(reply_to.parse::<Mailbox>().map_err(|_| invalid("reply-to", reply_to))?);
    }
    let body = match &mail.html {
        Some(html) => MultiPart::alternative_plain_html(mail.text.clone(), html.clone()),
        None => MultiPart::mixed().singlepart(SinglePart::plain(mail.text.clone())),
    };
    let mut message = MultiPart::mixed().multipart(body);
    for attachment in &mail.attachments {
        let content_type = ContentType::parse(&attachment.content_type)
            .map_err(|_| super::StoreError::Invalid(format!("`{}` is not a MIME type", attachment.content_type)))?;
        message = message.singlepart(
            lettre::message::Attachment::new(attachment.filename.clone()).body(attachment.bytes.clone(), content_type),
        );
    }
    let message = builder.multipart(message).map_err(|e| super::StoreError::Invalid(e.to_string()))?;
    Ok(message.formatted())
}
