//! Reading a raw inbound mail (RFC 5322 / MIME, parsed by `mail-parser`) into what
//! email-to-print needs: who sent it, to which print addresses, its printable parts, and
//! whether it was sent by a machine (so nothing is ever answered to it).
//!
//! Nothing here trusts the mail: part names are reduced to a plain file name (no path,
//! no control characters, at most 255 characters), forwarded messages are not opened
//! (they count as one unsupported part), and inline images of an HTML body are not parts.

use mail_parser::{Address, MessageParser, MimeHeaders, PartType};

/// Longest part name kept, in characters.
pub const MAX_PART_NAME: usize = 255;

/// A part of a mail that may become a print job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MailPart {
    /// A safe file name for the job (the attachment's name, or made up from its position).
    pub name: String,
    /// The decoded bytes.
    pub bytes: Vec<u8>,
    /// A forwarded mail (`message/rfc822`), which is never printed.
    pub forwarded_message: bool,
}

/// What email-to-print reads from a raw mail.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InboundMail {
    /// The `Message-ID`, for logs (empty when the mail has none).
    pub message_id: String,
    /// The sender's address from `From`, lower-cased; `None` when there is no usable one.
    pub sender: Option<String>,
    /// Every recipient address the mail names — `Delivered-To` (added by the receiving
    /// server for each envelope recipient), `To` and `Cc` — lower-cased, without repeats.
    pub recipients: Vec<String>,
    /// The subject, or empty.
    pub subject: String,
    /// The body as plain text (an HTML-only body converted to text), trimmed.
    pub body_text: String,
    /// Attachments, in order.
    pub parts: Vec<MailPart>,
    /// Sent by a machine: `Auto-Submitted` other than `no`, `Precedence: bulk|junk|list`,
    /// or a bounce (`MAILER-DAEMON`, empty return path). Such mail gets no answer.
    pub automatic: bool,
}

/// Parses `raw`; `None` when it is not a mail at all (no headers could be read).
pub fn parse(raw: &[u8]) -> Option<InboundMail> {
    let message = MessageParser::default().parse(raw)?;
    if message.headers().is_empty() {
        return None;
    }
    let sender = message.from().and_then(first_address);
    let mut recipients = Vec::new();
    for value in message.header_values("Delivered-To") {
        if let Some(text) = value.as_text() {
            push_unique(&mut recipients, text.trim().trim_matches(['<', '>']).to_lowercase());
        }
    }
    for address in message.to().into_iter().chain(message.cc()) {
        for addr in address.iter() {
            if let Some(text) = addr.address() {
                push_unique(&mut recipients, text.trim().to_lowercase());
            }
        }
    }
    let automatic = is_automatic(&message, sender.as_deref());
    let parts = message.attachments().enumerate().filter(|(_, part)| !is_inline_image(part)).map(to_part).collect();
    Some(InboundMail {
        message_id: message.message_id().unwrap_or_default().chars().take(256).collect(),
        sender,
        recipients,
        subject: message.subject().unwrap_or_default().trim().chars().take(MAX_PART_NAME).collect(),
        body_text: message.body_text(0).map(|text| text.trim().to_string()).unwrap_or_default(),
        parts,
        automatic,
    })
}

fn push_unique(list: &mut Vec<String>, value: String) {
    if !value.is_empty() && !list.contains(&value) {
        list.push(value);
    }
}

/// The first address of a header, lower-cased, if it looks like `local@domain`.
fn first_address(address: &Address<'_>) -> Option<String> {
    let text = address.first()?.address()?.trim().to_lowercase();
    let (local, domain) = text.rsplit_once('@')?;
    (!local.is_empty() && domain.contains('.') && !text.chars().any(|c| c.is_whitespace() || c.is_control()))
        .then_some(text)
}

fn is_automatic(message: &mail_parser::Message<'_>, sender: Option<&str>) -> bool {
    let header = |name: &str| message.header_raw(name).map(|v| v.trim().to_ascii_lowercase());
    let auto_submitted = header("Auto-Submitted").is_some_and(|value| value != "no");
    let bulk = header("Precedence").is_some_and(|value| matches!(value.as_str(), "bulk" | "junk" | "list"));
    let bounce = sender.is_some_and(|s| s.starts_with("mailer-daemon@") || s.starts_with("postmaster@"))
        || header("Return-Path").is_some_and(|value| value == "<>");
    auto_submitted || bulk || bounce
}

/// An image shown inside an HTML body (inline with a `Content-ID`), not a document.
fn is_inline_image(part: &mail_parser::MessagePart<'_>) -> bool {
    let inline = part.content_disposition().is_some_and(|d| d.is_inline());
    let image = part.content_type().is_some_and(|t| t.ctype().eq_ignore_ascii_case("image"));
    inline && image && part.content_id().is_some()
}

fn to_part((index, part): (usize, &mail_parser::MessagePart<'_>)) -> MailPart {
    let forwarded_message = matches!(part.body, PartType::Message(_));
    let fallback = format!("attachment-{}", index + 1);
    MailPart {
        name: part.attachment_name().map(safe_name).filter(|n| !n.is_empty()).unwrap_or(fallback),
        bytes: if forwarded_message { Vec::new() } else { part.contents().to_vec() },
        forwarded_message,
    }
}

/// A file name with no path (whatever separator), no control characters, no leading
/// dots, at most [`MAX_PART_NAME`] characters.
pub fn safe_name(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = last.chars().filter(|c| !c.is_control()).collect();
    cleaned.trim().trim_start_matches('.').chars().take(MAX_PART_NAME).collect::<String>().trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mail(headers: &str, body: &str) -> Vec<u8> {
        format!("{headers}\r\nMessage-ID: <m1@example.org>\r\n\r\n{body}").into_bytes()
    }

    #[test]
    fn sender_and_recipients_are_lower_cased_and_unique() {
        let raw = mail(
            "From: Ann <Ann@Example.ORG>\r\nTo: Print@Print.Example\r\nCc: print@print.example, b@x.org\r\n\
             Delivered-To: <other@print.example>\r\nSubject: hi",
            "hello",
        );
        let parsed = parse(&raw).unwrap();
        assert_eq!(parsed.sender.as_deref(), Some("ann@example.org"));
        assert_eq!(parsed.recipients, ["other@print.example", "print@print.example", "b@x.org"]);
        assert_eq!(parsed.message_id, "m1@example.org");
        assert_eq!(parsed.body_text, "hello");
        assert!(!parsed.automatic);
    }

    // Issue [6 of 8]: path-traversal file names never reach a path.
    #[test]
    fn part_names_lose_paths_control_characters_and_leading_dots() {
        assert_eq!(safe_name("../../etc/passwd"), "passwd");
        assert_eq!(safe_name("C:\\Users\\x\\..\\report.pdf"), "report.pdf");
        assert_eq!(safe_name("..hidden\u{0}\u{7}.pdf"), "hidden.pdf");
        assert_eq!(safe_name(&"a".repeat(400)).chars().count(), MAX_PART_NAME);
        assert_eq!(safe_name("/"), "");
    }

    #[test]
    fn attachments_are_parts_and_inline_images_are_not() {
        let raw = mail(
            "From: a@example.org\r\nTo: p@print.example\r\nSubject: s\r\nMIME-Version: 1.0\r\n\
             Content-Type: multipart/mixed; boundary=\"b\"",
            "--b\r\nContent-Type: multipart/related; boundary=\"r\"\r\n\r\n\
             --r\r\nContent-Type: text/html\r\n\r\n<p>Hi <img src=\"cid:logo\"></p>\r\n\
             --r\r\nContent-Type: image/png\r\nContent-ID: <logo>\r\nContent-Disposition: inline\r\n\
             Content-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n--r--\r\n\
             --b\r\nContent-Type: application/pdf; name=\"../a.pdf\"\r\nContent-Disposition: attachment; \
             filename=\"../a.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n\
             --b\r\nContent-Type: message/rfc822\r\n\r\nFrom: x@y.org\r\nSubject: fwd\r\n\r\nbody\r\n--b--\r\n",
        );
        let parsed = parse(&raw).unwrap();
        assert_eq!(parsed.parts.len(), 2, "{:?}", parsed.parts);
        assert_eq!(parsed.parts[0].name, "a.pdf");
        assert_eq!(parsed.parts[0].bytes, b"%PDF-1.4\n");
        assert!(parsed.parts[1].forwarded_message && parsed.parts[1].bytes.is_empty());
        assert_eq!(parsed.body_text, "Hi");
    }

    #[test]
    fn machine_mail_is_marked_automatic() {
        for header in ["Auto-Submitted: auto-replied", "Precedence: bulk", "Return-Path: <>"] {
            let raw = mail(&format!("From: a@example.org\r\nTo: p@print.example\r\n{header}"), "x");
            assert!(parse(&raw).unwrap().automatic, "{header}");
        }
        let bounce = mail("From: MAILER-DAEMON@mx.example.org\r\nTo: p@print.example", "x");
        assert!(parse(&bounce).unwrap().automatic);
    }

    #[test]
    fn bytes_that_are_not_a_mail_are_refused_or_read_without_a_sender() {
        assert!(parse(b"").is_none());
        let odd = parse(b"\x00\x01\x02 not a mail at all").map(|m| m.sender);
        assert!(matches!(odd, None | Some(None)));
    }
}
