//! The one way the product writes mail to people (PINs, password links, delegate notices,
//! import logs, email-to-print replies, fleet notifications): a [`Letter`] of blocks is
//! rendered as a plain-text part and an HTML part with the same content, and its subject
//! always starts with the organisation's name, so recipients of several organisations
//! know at once which one writes.

use crate::ports::{Attachment, Mail};

/// A piece of a letter's body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Block {
    /// A paragraph.
    Text(String),
    /// Something to copy or type, set apart (a PIN, a link).
    Code(String),
    /// A bulleted list.
    List(Vec<String>),
}

/// A mail to people, before rendering.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Letter {
    /// The organisation it is about (starts the subject).
    pub org_name: String,
    /// The subject after the organisation's name.
    pub subject: String,
    /// The body, in order.
    pub blocks: Vec<Block>,
    /// Files attached.
    pub attachments: Vec<Attachment>,
}

impl Letter {
    /// A letter of `org_name` about `subject`, with no body yet.
    pub fn new(org_name: &str, subject: impl Into<String>) -> Self {
        Letter { org_name: org_name.to_string(), subject: subject.into(), ..Letter::default() }
    }

    /// Adds a paragraph.
    pub fn text(mut self, text: impl Into<String>) -> Self {
        self.blocks.push(Block::Text(text.into()));
        self
    }

    /// Adds something to copy or type.
    pub fn code(mut self, code: impl Into<String>) -> Self {
        self.blocks.push(Block::Code(code.into()));
        self
    }

    /// Adds a bulleted list (nothing when `items` is empty).
    pub fn list(mut self, items: Vec<String>) -> Self {
        if !items.is_empty() {
            self.blocks.push(Block::List(items));
        }
        self
    }

    /// Attaches a file.
    pub fn attach(mut self, attachment: Attachment) -> Self {
        self.attachments.push(attachment);
        self
    }

    /// The subject as sent: `<organisation>: <subject>` (the subject alone without one).
    pub fn full_subject(&self) -> String {
        if self.org_name.is_empty() { self.subject.clone() } else { format!("{}: {}", self.org_name, self.subject) }
    }

    /// The plain-text part.
    pub fn plain_text(&self) -> String {
        let blocks: Vec<String> = self
            .blocks
            .iter()
            .map(|block| match block {
                Block::Text(text) => text.clone(),
                Block::Code(code) => format!("    {code}"),
                Block::List(items) => items.iter().map(|item| format!("  - {item}")).collect::<Vec<_>>().join("\n"),
            })
            .collect();
        format!("{}\n", blocks.join("\n\n"))
    }

    /// The HTML part.
    pub fn html(&self) -> String {
        let body: String = self
            .blocks
            .iter()
            .map(|block| match block {
                Block::Text(text) => format!("<p>{}</p>\n", escape(text).replace('\n', "<br>")),
                Block::Code(code) => format!("<p><code style=\"font-size:1.3em\">{}</code></p>\n", escape(code)),
                Block::List(items) => {
                    let items: String = items.iter().map(|item| format!("<li>{}</li>", escape(item))).collect();
                    format!("<ul>{items}</ul>\n")
                }
            })
            .collect();
        format!("<!doctype html>\n<html><body>\n{body}</body></html>\n")
    }

    /// The mail from `from` to `to`.
    pub fn to_mail(&self, from: &str, to: Vec<String>) -> Mail {
        Mail {
            from: from.to_string(),
            to,
            reply_to: None,
            subject: self.full_subject(),
            text: self.plain_text(),
            html: Some(self.html()),
            attachments: self.attachments.clone(),
        }
    }
}

/// Escapes text for HTML content and attributes.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_letter_says_the_same_in_text_and_html_under_the_organisations_name() {
        let letter = Letter::new("Acme <Print>", "your PIN")
            .text("Hello Pat,")
            .code("123456")
            .list(vec!["a.pdf".into(), "b & c.png".into()]);
        let mail = letter.to_mail("printcloud <no-reply@example.org>", vec!["pat@example.org".into()]);
        assert_eq!(mail.subject, "Acme <Print>: your PIN");
        assert_eq!(mail.text, "Hello Pat,\n\n    123456\n\n  - a.pdf\n  - b & c.png\n");
        let html = mail.html.unwrap();
        assert!(
            html.contains("<code style=\"font-size:1.3em\">123456</code>") && html.contains("<li>b &amp; c.png</li>")
        );
        assert_eq!(Letter::new("", "no organisation").full_subject(), "no organisation");
    }
}
