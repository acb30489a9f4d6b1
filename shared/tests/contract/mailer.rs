//! Mailer port contract.

use crate::fixtures::{Fixture, MAIL_FROM};
use mail_parser::{MessageParser, MimeHeaders};
use shared::ports::{Attachment, Mail};

pub async fn mailer_sends_rendered_mail(f: &Fixture) {
    let mail = Mail {
        from: format!("printcloud <{MAIL_FROM}>"),
        to: vec!["admin@example.org".into(), "ops@example.org".into()],
        reply_to: None,
        subject: "Acme: toner low on 3 printers".into(),
        text: "Cyan toner is at 4 %.".into(),
        html: Some("<p>Cyan toner is at <b>4 %</b>.</p>".into()),
        attachments: vec![Attachment {
            filename: "printers.csv".into(),
            content_type: "text/csv".into(),
            bytes: b"serial,model\n123,CX735\n".to_vec(),
        }],
    };
    let id = f.mailer.send(&mail).await.unwrap();
    assert!(!id.is_empty());
    let no_recipient = Mail { to: Vec::new(), ..mail.clone() };
    assert!(f.mailer.send(&no_recipient).await.is_err());
    let Some(outbox) = &f.outbox else { return };
    let path = outbox.join(format!("{id}.eml"));
    let raw = std::fs::read(&path).expect("the mail is in the outbox");
    let parsed = MessageParser::default().parse(&raw).unwrap();
    assert_eq!(parsed.subject(), Some("Acme: toner low on 3 printers"));
    assert_eq!(parsed.to().unwrap().iter().count(), 2);
    assert_eq!(parsed.body_text(0).unwrap().trim(), "Cyan toner is at 4 %.");
    assert!(parsed.body_html(0).unwrap().contains("<b>4 %</b>"));
    let attachment = parsed.attachment(0).expect("the CSV is attached");
    assert_eq!(attachment.attachment_name(), Some("printers.csv"));
    assert_eq!(attachment.contents(), b"serial,model\n123,CX735\n");
}
