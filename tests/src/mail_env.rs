//! What the email-to-print end-to-end tests share: raw mails built by hand (so every
//! header is what the test says), delivery through a real SMTP client (Python's `smtplib`,
//! which `scripts/test` has because it installs moto with pip) or straight into the bucket
//! as SES stores it, and reading the runner's outbox.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

/// A file to attach: name, MIME type, bytes.
pub struct Attached<'a> {
    pub name: &'a str,
    pub mime: &'a str,
    pub bytes: &'a [u8],
}

/// A raw MIME mail from `from` to `to` with a text `body` and `attachments`.
pub fn raw_mail(from: &str, to: &str, subject: &str, body: &str, attachments: &[Attached<'_>]) -> Vec<u8> {
    let boundary = "=_printcloud_test_boundary";
    let mut mail = format!(
        "From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: <{}@test.example>\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"{boundary}\"\r\n\r\n\
         --{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n",
        subject.replace(' ', "-")
    );
    for attached in attachments {
        let encoded = STANDARD.encode(attached.bytes);
        let lines: Vec<&str> =
            encoded.as_bytes().chunks(76).map(|chunk| std::str::from_utf8(chunk).expect("base64 is ASCII")).collect();
        mail.push_str(&format!(
            "--{boundary}\r\nContent-Type: {}; name=\"{}\"\r\nContent-Disposition: attachment; filename=\"{}\"\r\n\
             Content-Transfer-Encoding: base64\r\n\r\n{}\r\n",
            attached.mime,
            attached.name,
            attached.name,
            lines.join("\r\n")
        ));
    }
    mail.push_str(&format!("--{boundary}--\r\n"));
    mail.into_bytes()
}

/// Sends `raw` from `from` to `to` over SMTP to `server` with Python's `smtplib`.
pub fn send_smtp(server: std::net::SocketAddr, from: &str, to: &str, raw: &[u8]) {
    let script = "import smtplib, sys\n\
        host, port, sender, rcpt = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]\n\
        with smtplib.SMTP(host, port, timeout=30) as s:\n    s.sendmail(sender, [rcpt], sys.stdin.buffer.read())\n";
    let mut child = Command::new("python3")
        .args(["-c", script, &server.ip().to_string(), &server.port().to_string(), from, to])
        .stdin(Stdio::piped())
        .spawn()
        .expect("python3 runs (scripts/test needs it for moto too)");
    child.stdin.take().expect("stdin").write_all(raw).expect("the mail is piped to smtplib");
    let status = child.wait().expect("smtplib finishes");
    assert!(status.success(), "smtplib could not send the mail");
}

/// The outbox mails (decoded text) whose `To` is `to`, oldest first, removed from the outbox.
pub fn take_mails_to(data_dir: &Path, to: &str) -> Vec<String> {
    let outbox = data_dir.join("outbox");
    let mut found = Vec::new();
    for entry in std::fs::read_dir(&outbox).into_iter().flatten() {
        let path = entry.expect("an outbox entry").path();
        if path.extension().is_none_or(|e| e != "eml") {
            continue;
        }
        let raw = std::fs::read(&path).expect("an outbox mail");
        let parsed = mail_parser::MessageParser::default().parse(&raw).expect("a mail");
        let to_matches = parsed.to().is_some_and(|list| list.iter().any(|a| a.address() == Some(to)));
        if to_matches {
            let modified = std::fs::metadata(&path).and_then(|m| m.modified()).expect("a time");
            let text = format!(
                "Subject: {}\n\n{}",
                parsed.subject().unwrap_or_default(),
                parsed.body_text(0).unwrap_or_default()
            );
            found.push((modified, path, text));
        }
    }
    found.sort_by_key(|(modified, _, _)| *modified);
    found
        .into_iter()
        .map(|(_, path, text)| {
            std::fs::remove_file(path).expect("the mail is taken");
            text
        })
        .collect()
}

/// The first line of `text` made only of digits (a mailed PIN).
pub fn pin_in(text: &str) -> String {
    let pin = text.lines().map(str::trim).find(|line| line.len() >= 4 && line.bytes().all(|b| b.is_ascii_digit()));
    pin.unwrap_or_else(|| panic!("a PIN in {text}")).to_string()
}
