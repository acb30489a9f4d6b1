//! The SMTP listener of `printcloud serve` (issue [6 of 8] email-to-print): real mail sent
//! with `lettre` to the runner started in-process, on a temporary data directory.
//!
//! `email-inbound` takes each stored mail and deletes it, so the tests do not look for the
//! mail in the store afterwards: the runner's context is decorated with a blob store that
//! records every write and deletion under `mail/` on its way to the real one.

use async_trait::async_trait;
use base64::Engine as _;
use bytes::Bytes;
use lettre::message::header::ContentType;
use lettre::message::{Attachment, MultiPart, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use printcloud::serve::{self, Running, ServeOptions};
use printcloud::smtp::Limits;
use shared::Ctx;
use shared::ports::{BlobMeta, Blobs, StoreResult};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tempfile::TempDir;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// The print address the tests mail to.
const RECIPIENT: &str = "print@print.printcloud.local";

/// What the recorder saw happen under `mail/`.
#[derive(Clone, Debug, PartialEq)]
enum Seen {
    Put { key: String, bytes: Bytes, content_type: String },
    Delete { key: String },
}

type Journal = Arc<Mutex<Vec<Seen>>>;

/// A blob store that notes writes and deletions under `mail/`, then passes every call on.
struct Recorder {
    inner: Arc<dyn Blobs>,
    journal: Journal,
}

impl Recorder {
    fn note(&self, key: &str, seen: impl FnOnce() -> Seen) {
        if key.starts_with("mail/") {
            self.journal.lock().unwrap().push(seen());
        }
    }
}

#[async_trait]
impl Blobs for Recorder {
    async fn put(&self, key: &str, bytes: Bytes, content_type: &str) -> StoreResult<()> {
        let seen = || Seen::Put { key: key.into(), bytes: bytes.clone(), content_type: content_type.into() };
        self.note(key, seen);
        self.inner.put(key, bytes, content_type).await
    }
    async fn get(&self, key: &str) -> StoreResult<Option<(BlobMeta, Bytes)>> {
        self.inner.get(key).await
    }
    async fn head(&self, key: &str) -> StoreResult<Option<BlobMeta>> {
        self.inner.head(key).await
    }
    async fn delete(&self, key: &str) -> StoreResult<()> {
        self.note(key, || Seen::Delete { key: key.into() });
        self.inner.delete(key).await
    }
    async fn list(&self, prefix: &str) -> StoreResult<Vec<BlobMeta>> {
        self.inner.list(prefix).await
    }
    async fn presign_get(&self, key: &str, expires_in: Duration) -> StoreResult<String> {
        self.inner.presign_get(key, expires_in).await
    }
    async fn presign_put(&self, key: &str, expires_in: Duration) -> StoreResult<String> {
        self.inner.presign_put(key, expires_in).await
    }
}

/// The runner with its SMTP listener, and what happened under `mail/`.
struct Runner {
    running: Running,
    journal: Journal,
    _dir: TempDir,
}

impl Runner {
    async fn start(limits: Limits) -> Runner {
        let dir = tempfile::tempdir().unwrap();
        let mut options = ServeOptions::new(dir.path().to_path_buf(), "127.0.0.1:0".parse().unwrap());
        options.smtp = Some("127.0.0.1:0".parse().unwrap());
        options.smtp_limits = limits;
        let journal = Journal::default();
        let recorded = journal.clone();
        options.decorate = Some(Arc::new(move |ctx: Ctx| Ctx {
            blobs: Arc::new(Recorder { inner: ctx.blobs.clone(), journal: recorded.clone() }),
            ..ctx
        }));
        let running = serve::start(options).await.expect("the runner starts");
        Runner { running, journal, _dir: dir }
    }

    fn smtp_addr(&self) -> SocketAddr {
        self.running.smtp_addr.expect("the SMTP listener is bound")
    }

    fn mailer(&self) -> AsyncSmtpTransport<Tokio1Executor> {
        let addr = self.smtp_addr();
        AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(addr.ip().to_string())
            .port(addr.port())
            .timeout(Some(Duration::from_secs(30)))
            .build()
    }

    /// The mail the listener stored: key, bytes, content type.
    fn stored(&self) -> Vec<(String, Bytes, String)> {
        let journal = self.journal.lock().unwrap();
        journal
            .iter()
            .filter_map(|seen| match seen {
                Seen::Put { key, bytes, content_type } => Some((key.clone(), bytes.clone(), content_type.clone())),
                Seen::Delete { .. } => None,
            })
            .collect()
    }

    fn deleted(&self, key: &str) -> bool {
        self.journal.lock().unwrap().contains(&Seen::Delete { key: key.into() })
    }
}

/// A mail to the organisation's print address with a PDF attachment and body lines that
/// SMTP has to dot-stuff.
fn mail_with_attachment(subject: &str, attachment: Vec<u8>) -> Message {
    let body = "Please print the report.\r\n.a line that starts with a dot\r\n..two dots\r\n.\r\nthe end\r\n";
    Message::builder()
        .from("Sender <sender@example.org>".parse().unwrap())
        .to(RECIPIENT.parse().unwrap())
        .subject(subject)
        .multipart(MultiPart::mixed().singlepart(SinglePart::plain(body.to_string())).singlepart(
            Attachment::new("report.pdf".into()).body(attachment, ContentType::parse("application/pdf").unwrap()),
        ))
        .unwrap()
}

/// A PDF-looking document of `size` bytes.
fn document(size: usize) -> Vec<u8> {
    let mut pdf = b"%PDF-1.7\n".to_vec();
    pdf.extend((0..size.saturating_sub(pdf.len())).map(|n| (n % 251) as u8));
    pdf
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|window| window == needle)
}

#[tokio::test]
async fn mail_with_an_attachment_is_stored_under_mail_as_sent_and_reaches_email_inbound() {
    let runner = Runner::start(Limits::default()).await;
    let attachment = document(3000);
    let message = mail_with_attachment("Quarterly report 6/8", attachment.clone());
    let sent = message.formatted();
    let response = runner.mailer().send(message).await.expect("the listener takes the mail");
    assert!(response.is_positive(), "{response:?}");

    let stored = runner.stored();
    assert_eq!(stored.len(), 1, "one mail stored: {stored:?}");
    let (key, bytes, content_type) = &stored[0];
    assert!(key.starts_with("mail/") && key.len() > "mail/".len(), "{key}");
    assert_eq!(content_type, "message/rfc822");
    // A Delivered-To line per envelope recipient, then the mail as sent; lettre ends the
    // data with CRLF . CRLF, whose CRLF belongs to the message.
    let delivered_to = format!("Delivered-To: {RECIPIENT}\r\n");
    let expected = [delivered_to.as_bytes(), &sent[..], b"\r\n"].concat();
    assert_eq!(&bytes[..], expected, "the stored mail is the sent one, byte for byte, after Delivered-To");
    assert!(contains(bytes, b"Subject: Quarterly report 6/8"));
    let unwrapped: Vec<u8> = bytes.iter().copied().filter(|&b| b != b'\r' && b != b'\n').collect();
    let encoded = base64::engine::general_purpose::STANDARD.encode(&attachment);
    assert!(contains(&unwrapped, encoded.as_bytes()), "the attachment's base64 is in the stored mail");

    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !runner.deleted(key) {
        assert!(tokio::time::Instant::now() < deadline, "email-inbound never took {key} from the inbound-mail queue");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    runner.running.shutdown().await;
}

#[tokio::test]
async fn dot_stuffed_lines_are_stored_unstuffed() {
    let runner = Runner::start(Limits::default()).await;
    runner.mailer().send(mail_with_attachment("Dots", document(100))).await.expect("the listener takes the mail");
    let stored = runner.stored();
    let bytes = &stored.first().expect("a mail stored").1;
    assert!(contains(bytes, b"\r\n.a line that starts with a dot\r\n..two dots\r\n.\r\nthe end\r\n"));
    assert!(!contains(bytes, b"\r\n...two dots"), "lettre's stuffing is undone");
    runner.running.shutdown().await;
}

#[tokio::test]
async fn an_oversized_mail_is_refused_with_552_and_not_stored() {
    let runner = Runner::start(Limits { max_message_bytes: 64 * 1024, ..Limits::default() }).await;
    let error = runner
        .mailer()
        .send(mail_with_attachment("Too big", document(200 * 1024)))
        .await
        .expect_err("the listener refuses the mail");
    assert_eq!(error.status().map(u16::from), Some(552), "{error}");
    assert!(error.is_permanent(), "{error}");
    assert!(runner.stored().is_empty(), "nothing stored: {:?}", runner.stored());

    let response = runner.mailer().send(mail_with_attachment("Small", document(1024))).await;
    assert!(response.expect("a small mail is still taken").is_positive());
    assert_eq!(runner.stored().len(), 1);
    runner.running.shutdown().await;
}

/// A raw SMTP conversation.
struct Raw(BufReader<TcpStream>);

impl Raw {
    async fn connect(addr: SocketAddr) -> Raw {
        let mut raw = Raw(BufReader::new(TcpStream::connect(addr).await.unwrap()));
        let greeting = raw.reply().await;
        assert!(greeting.starts_with("220 "), "{greeting}");
        raw
    }

    async fn reply(&mut self) -> String {
        let mut reply = String::new();
        loop {
            let mut line = String::new();
            self.0.read_line(&mut line).await.unwrap();
            reply.push_str(&line);
            if line.len() < 4 || line.as_bytes()[3] != b'-' {
                return reply;
            }
        }
    }

    async fn send(&mut self, raw: &[u8]) -> String {
        self.0.get_mut().write_all(raw).await.unwrap();
        self.reply().await
    }
}

#[tokio::test]
async fn garbage_commands_get_errors_and_the_listener_keeps_serving() {
    let runner = Runner::start(Limits::default()).await;
    let mut raw = Raw::connect(runner.smtp_addr()).await;
    for garbage in [&b"HELLO there\r\n"[..], b"\x00\xff\xfe\r\n", b"MAIL FROM:<a@b>\r\n", b"RCPT TO:<x>\r\n"] {
        let reply = raw.send(garbage).await;
        assert!(reply.starts_with('5'), "{:?} answered {reply}", String::from_utf8_lossy(garbage));
    }
    let reply = raw.send(format!("EHLO {}\r\n", "x".repeat(10_000)).as_bytes()).await;
    assert!(reply.starts_with("500"), "an overlong line: {reply}");
    assert!(raw.send(b"STARTTLS\r\n").await.starts_with("454"), "no TLS on this listener");
    assert!(raw.send(b"QUIT\r\n").await.starts_with("221"));

    let response = runner.mailer().send(mail_with_attachment("After garbage", document(100))).await;
    assert!(response.expect("a second connection still works").is_positive());
    assert_eq!(runner.stored().len(), 1);
    runner.running.shutdown().await;
}

#[tokio::test]
async fn no_listener_is_bound_unless_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    let options = ServeOptions::new(dir.path().to_path_buf(), "127.0.0.1:0".parse().unwrap());
    assert_eq!(options.smtp, None);
    let running = serve::start(options).await.expect("the runner starts");
    assert_eq!(running.smtp_addr, None);
    running.shutdown().await;
}

#[tokio::test]
async fn shutdown_stops_the_listener() {
    let runner = Runner::start(Limits::default()).await;
    let addr = runner.smtp_addr();
    let mut raw = Raw::connect(addr).await;
    let shutdown = tokio::spawn(runner.running.shutdown());
    let bye = raw.reply().await;
    assert!(bye.starts_with("421"), "a connected client is told: {bye}");
    tokio::time::timeout(Duration::from_secs(30), shutdown).await.expect("shutdown ends").unwrap();
    assert!(TcpStream::connect(addr).await.is_err(), "nothing listens any more");
}
