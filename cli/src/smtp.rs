//! The SMTP listener of `printcloud serve`: email-to-print on one machine (issue [6 of 8]
//! email-to-print).
//!
//! On AWS, SES receives the mail and stores each raw message in the bucket under `mail/`;
//! here this listener does the same, with `ctx.blobs.put("mail/<id>", raw,
//! "message/rfc822")`. The blob store then announces the object on the `inbound-mail`
//! queue, exactly as S3 does, and `email-inbound` takes it from there. The listener never
//! looks inside a message: routing, and dropping mail to unknown addresses, happen in
//! `email-inbound`.
//!
//! The `mailin` crate parses the commands and keeps the protocol's state; this module does
//! the I/O around it. Choices worth knowing:
//! - STARTTLS is neither offered nor accepted: a client that sends it anyway is answered
//!   `454 TLS not available` and may go on in plain text. Put a TLS-terminating relay in
//!   front of the listener when mail crosses an untrusted network.
//! - SIZE is not advertised: `mailin` refuses any `MAIL FROM` parameter but `BODY=`, and a
//!   client told about SIZE would send `SIZE=`. Oversized mail is still refused, with `552`
//!   once the client has sent it all (the reply comes at the end of DATA, never in the
//!   middle, so clients read it as a refusal of that message only).
//! - The raw message is stored as received (after dot-unstuffing), without a `Received:`
//!   line, the same bytes a client sent.
//! - Only CRLF `.` CRLF ends a message; command lines may end in a bare LF.

use bytes::Bytes;
use mailin::{Action, Handler, Response, Session, SessionBuilder};
use shared::Ctx;
use shared::ports::{Blobs, Ids};
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

/// The longest command line accepted, CRLF included. RFC 5321 asks for 512; extensions
/// make lines longer, so there is room to spare.
pub const MAX_COMMAND_LINE: usize = 4 * 1024;

/// The longest line of a message accepted, CRLF included. RFC 5321 sets 1000; senders that
/// do not wrap long lines are common enough to tolerate up to this.
pub const MAX_DATA_LINE: usize = 16 * 1024;

/// The default largest message: 25 MiB, the size mail providers commonly allow, plus 1 MiB
/// for the headers that relays add on the way.
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 26 * 1024 * 1024;

/// The content type the raw messages are stored with (as SES stores them).
pub const MAIL_CONTENT_TYPE: &str = "message/rfc822";

/// The key prefix whose objects `email-inbound` hears about.
pub const MAIL_PREFIX: &str = "mail/";

/// How much one connection may ask of the listener, so that one client cannot exhaust the
/// machine that also serves the API.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest message accepted, in bytes; a larger one is read to its end, discarded and
    /// refused with `552`.
    pub max_message_bytes: usize,
    /// Most recipients of one message; the next ones are refused with `452` (the client
    /// sends them again in another message).
    pub max_recipients: usize,
    /// A connection that sends nothing for this long is closed with `421`.
    pub idle_timeout: Duration,
    /// Most connections served at once; the next ones are answered `421` and closed.
    pub max_connections: usize,
}

impl Default for Limits {
    /// 26 MiB messages, 50 recipients, 5 minutes of idleness, 64 connections.
    fn default() -> Self {
        Limits {
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            max_recipients: 50,
            idle_timeout: Duration::from_secs(5 * 60),
            max_connections: 64,
        }
    }
}

/// Accepts SMTP connections on `listener` and stores every message received in `ctx.blobs`
/// under `mail/`, until `stopped` turns true (or its sender goes away). Then it stops
/// accepting, tells idle clients `421`, and waits for the connections to end; a message
/// being stored is stored and answered first.
pub async fn run(listener: TcpListener, ctx: Ctx, limits: Limits, stopped: watch::Receiver<bool>) {
    let inbox = Inbox { blobs: ctx.blobs.clone(), ids: ctx.ids.clone(), server_name: ctx.config.mail_domain.clone() };
    accept_loop(listener, Arc::new(inbox), limits, stopped).await;
}

/// Where received messages go, and the name the listener greets with.
struct Inbox {
    blobs: Arc<dyn Blobs>,
    ids: Arc<dyn Ids>,
    server_name: String,
}

/// What the accept loop heard.
enum Event {
    Stop,
    ConnectionEnded,
    Accepted(io::Result<(TcpStream, SocketAddr)>),
}

async fn accept_loop(listener: TcpListener, inbox: Arc<Inbox>, limits: Limits, mut stopped: watch::Receiver<bool>) {
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let mut connections = JoinSet::new();
    loop {
        let event = tokio::select! {
            _ = stopped.wait_for(|stop| *stop) => Event::Stop,
            Some(_) = connections.join_next(), if !connections.is_empty() => Event::ConnectionEnded,
            accepted = listener.accept() => Event::Accepted(accepted),
        };
        match event {
            Event::Stop => break,
            Event::ConnectionEnded => {}
            Event::Accepted(Ok((stream, peer))) => {
                let Ok(permit) = permits.clone().try_acquire_owned() else {
                    tracing::warn!(%peer, "too many SMTP connections; refusing one");
                    connections.spawn(refuse(stream));
                    continue;
                };
                let (inbox, limits, stopped) = (inbox.clone(), limits.clone(), stopped.clone());
                connections.spawn(async move {
                    if let Err(err) = converse(stream, peer.ip(), &inbox, &limits, stopped).await {
                        tracing::debug!(%peer, error = %err, "SMTP connection ended with an error");
                    }
                    drop(permit);
                });
            }
            Event::Accepted(Err(err)) => {
                // Out of file descriptors, mostly: give the connections time to end.
                tracing::warn!(error = %err, "SMTP accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    while connections.join_next().await.is_some() {}
}

/// Tells a client over the connection limit to come back later.
async fn refuse(mut stream: TcpStream) {
    let busy = Response::custom(421, "4.3.2 Too many connections, try again later".into());
    let _ = tokio::time::timeout(Duration::from_secs(5), send(&mut stream, &busy)).await;
}

/// What ended a line read.
#[derive(Debug, PartialEq, Eq)]
enum Line {
    /// A whole line, LF included, is in the buffer.
    Complete,
    /// The line was longer than allowed; it was read to its LF and dropped.
    TooLong,
    /// The client closed the connection (a partial last line is dropped).
    Closed,
}

/// Reads one LF-terminated line into `line` (cleared first), keeping at most `max` bytes of
/// it; a longer line is consumed to its end but not kept, so the next read starts on the
/// next line.
async fn read_line<R: AsyncBufRead + Unpin>(reader: &mut R, line: &mut Vec<u8>, max: usize) -> io::Result<Line> {
    line.clear();
    let mut too_long = false;
    loop {
        let available = reader.fill_buf().await?;
        if available.is_empty() {
            line.clear();
            return Ok(Line::Closed);
        }
        let end = available.iter().position(|&b| b == b'\n');
        let chunk = &available[..end.map_or(available.len(), |at| at + 1)];
        too_long = too_long || line.len() + chunk.len() > max;
        if too_long {
            line.clear();
        } else {
            line.extend_from_slice(chunk);
        }
        let used = chunk.len();
        reader.consume(used);
        if end.is_some() {
            return Ok(if too_long { Line::TooLong } else { Line::Complete });
        }
    }
}

/// Makes a command line that ends in a bare LF end in CRLF, as `mailin` expects.
fn end_with_crlf(line: &mut Vec<u8>) {
    if line.ends_with(b"\n") && !line.ends_with(b"\r\n") {
        line.insert(line.len() - 1, b'\r');
    }
}

/// Whether the command line asks for STARTTLS (which this listener does not offer).
fn is_starttls(line: &[u8]) -> bool {
    line.trim_ascii().eq_ignore_ascii_case(b"STARTTLS")
}

/// Why a received message is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Refusal {
    /// It was larger than [`Limits::max_message_bytes`].
    TooBig,
    /// One of its lines was longer than [`MAX_DATA_LINE`].
    LineTooLong,
}

impl Refusal {
    fn response(self) -> Response {
        match self {
            Refusal::TooBig => Response::custom(552, "5.3.4 Message too big".into()),
            Refusal::LineTooLong => Response::custom(500, "5.5.6 Line too long".into()),
        }
    }
}

/// The data of one message as it arrives: kept while within the size limit, else dropped
/// (and the message refused) while its size is still counted.
#[derive(Debug)]
struct MessageBuffer {
    bytes: Vec<u8>,
    size: usize,
    max: usize,
    refusal: Option<Refusal>,
}

impl MessageBuffer {
    fn new(max: usize) -> Self {
        MessageBuffer { bytes: Vec::new(), size: 0, max, refusal: None }
    }

    /// Adds a (dot-unstuffed) line of the message.
    fn push(&mut self, data: &[u8]) {
        self.size = self.size.saturating_add(data.len());
        if self.refusal.is_none() && self.size > self.max {
            self.refuse(Refusal::TooBig);
        }
        if self.refusal.is_none() {
            self.bytes.extend_from_slice(data);
        }
    }

    /// Refuses the message (the first reason stays); what was kept is freed.
    fn refuse(&mut self, refusal: Refusal) {
        self.refusal.get_or_insert(refusal);
        self.bytes = Vec::new();
    }

    /// The whole message, or why it is refused.
    fn finish(self) -> Result<Vec<u8>, Refusal> {
        match self.refusal {
            Some(refusal) => Err(refusal),
            None => Ok(self.bytes),
        }
    }
}

/// The state of one connection's mail transaction, shared between the `mailin` handler
/// (synchronous, owned by the session) and the connection loop.
#[derive(Debug)]
struct Transaction {
    max_message_bytes: usize,
    max_recipients: usize,
    recipients: usize,
    /// The message being received, while in DATA.
    receiving: Option<MessageBuffer>,
    /// The message received by the final `.`, for the loop to store (or refuse).
    finished: Option<Result<Vec<u8>, Refusal>>,
}

impl Transaction {
    fn new(limits: &Limits) -> Self {
        Transaction {
            max_message_bytes: limits.max_message_bytes,
            max_recipients: limits.max_recipients,
            recipients: 0,
            receiving: None,
            finished: None,
        }
    }
}

type Shared = Arc<Mutex<Transaction>>;

fn lock(shared: &Shared) -> MutexGuard<'_, Transaction> {
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The `mailin` handler: accepts every sender and recipient (up to the limit) and collects
/// the message's data. It never refuses at the end of DATA itself (`mailin` would stay in
/// DATA after an error there); the connection loop answers for the finished message.
struct Collector(Shared);

impl Handler for Collector {
    fn mail(&mut self, _ip: IpAddr, _domain: &str, _from: &str) -> Response {
        let mut transaction = lock(&self.0);
        transaction.recipients = 0;
        transaction.receiving = None;
        mailin::response::OK
    }

    fn rcpt(&mut self, _to: &str) -> Response {
        let mut transaction = lock(&self.0);
        if transaction.recipients >= transaction.max_recipients {
            return Response::custom(452, "4.5.3 Too many recipients".into());
        }
        transaction.recipients += 1;
        mailin::response::OK
    }

    /// Starts the message with a `Delivered-To` line per envelope recipient, as delivering
    /// servers do, so `email-inbound` also finds print addresses the headers do not name
    /// (Bcc).
    fn data_start(&mut self, _domain: &str, _from: &str, _is8bit: bool, to: &[String]) -> Response {
        let mut transaction = lock(&self.0);
        let mut message = MessageBuffer::new(transaction.max_message_bytes);
        for recipient in to.iter().filter(|r| !r.bytes().any(|b| b == b'\r' || b == b'\n')) {
            message.push(format!("Delivered-To: {recipient}\r\n").as_bytes());
        }
        transaction.receiving = Some(message);
        mailin::response::OK
    }

    fn data(&mut self, buf: &[u8]) -> io::Result<()> {
        if let Some(message) = lock(&self.0).receiving.as_mut() {
            message.push(buf);
        }
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        let mut transaction = lock(&self.0);
        transaction.finished = transaction.receiving.take().map(MessageBuffer::finish);
        mailin::response::OK
    }
}

/// A client connection with the idle limit on every read and write.
struct Connection<S> {
    stream: BufReader<S>,
    idle: Duration,
    line: Vec<u8>,
}

/// What the client did next.
enum Next {
    Line(Line),
    IdleTooLong,
    Stopping,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Connection<S> {
    async fn next_line(&mut self, max: usize, stopped: &mut watch::Receiver<bool>) -> io::Result<Next> {
        tokio::select! {
            _ = stopped.wait_for(|stop| *stop) => Ok(Next::Stopping),
            read = tokio::time::timeout(self.idle, read_line(&mut self.stream, &mut self.line, max)) => match read {
                Ok(line) => Ok(Next::Line(line?)),
                Err(_) => Ok(Next::IdleTooLong),
            },
        }
    }

    async fn reply(&mut self, response: &Response) -> io::Result<()> {
        match tokio::time::timeout(self.idle, send(&mut self.stream, response)).await {
            Ok(sent) => sent,
            Err(_) => Err(io::Error::new(io::ErrorKind::TimedOut, "the client does not read its replies")),
        }
    }
}

async fn send<W: AsyncWrite + Unpin>(writer: &mut W, response: &Response) -> io::Result<()> {
    writer.write_all(&response.buffer()?).await?;
    writer.flush().await
}

/// Serves one SMTP connection until the client quits, idles too long, or the listener
/// stops.
async fn converse<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    peer: IpAddr,
    inbox: &Inbox,
    limits: &Limits,
    mut stopped: watch::Receiver<bool>,
) -> io::Result<()> {
    let shared: Shared = Arc::new(Mutex::new(Transaction::new(limits)));
    let mut session = SessionBuilder::new(inbox.server_name.clone()).build(peer, Collector(shared.clone()));
    let mut connection = Connection { stream: BufReader::new(stream), idle: limits.idle_timeout, line: Vec::new() };
    connection.reply(&session.greeting()).await?;
    loop {
        let in_data = lock(&shared).receiving.is_some();
        let max = if in_data { MAX_DATA_LINE } else { MAX_COMMAND_LINE };
        let read = match connection.next_line(max, &mut stopped).await? {
            Next::Line(Line::Closed) => return Ok(()),
            Next::Line(read) => read,
            Next::Stopping => return connection.reply(&Response::custom(421, SHUTTING_DOWN.into())).await,
            Next::IdleTooLong => return connection.reply(&Response::custom(421, IDLE_TOO_LONG.into())).await,
        };
        let response = respond(&mut session, &shared, read, in_data, &mut connection.line);
        let finished = lock(&shared).finished.take();
        let response = match finished {
            Some(message) => deliver(inbox, message).await,
            None => match response {
                Some(response) => response,
                None => continue,
            },
        };
        match response.action {
            Action::NoReply => {}
            Action::Reply => connection.reply(&response).await?,
            Action::Close => return connection.reply(&response).await,
            // Never happens (STARTTLS is not enabled in the session); if it did, the session
            // would wait for a TLS handshake this listener cannot do.
            Action::UpgradeTls => return connection.reply(&Response::custom(454, NO_TLS.into())).await,
        }
    }
}

const SHUTTING_DOWN: &str = "4.3.2 Shutting down, try again later";
const IDLE_TOO_LONG: &str = "4.4.2 Idle for too long, closing connection";
const NO_TLS: &str = "4.7.0 TLS not available";

/// What the session makes of one line read (a line of a message gets `NoReply`); `None`
/// for an overlong line of a message, which refuses the message at its end instead.
fn respond<H: Handler>(
    session: &mut Session<H>,
    shared: &Shared,
    read: Line,
    in_data: bool,
    line: &mut Vec<u8>,
) -> Option<Response> {
    let response = match read {
        Line::TooLong if in_data => {
            if let Some(message) = lock(shared).receiving.as_mut() {
                message.refuse(Refusal::LineTooLong);
            }
            return None;
        }
        Line::TooLong => Response::custom(500, "5.5.2 Line too long".into()),
        _ if in_data => session.process(line),
        _ if is_starttls(line) => Response::custom(454, NO_TLS.into()),
        _ => {
            end_with_crlf(line);
            session.process(line)
        }
    };
    Some(response)
}

/// Stores a received message under `mail/` and answers for it: `250` once stored, `451` if
/// storing failed (the client tries again later), the refusal otherwise.
async fn deliver(inbox: &Inbox, message: Result<Vec<u8>, Refusal>) -> Response {
    let bytes = match message {
        Ok(bytes) => bytes,
        Err(refusal) => {
            tracing::warn!(?refusal, "refused an inbound mail");
            return refusal.response();
        }
    };
    let id = inbox.ids.new_id();
    let key = format!("{MAIL_PREFIX}{id}");
    let size = bytes.len();
    match inbox.blobs.put(&key, Bytes::from(bytes), MAIL_CONTENT_TYPE).await {
        Ok(()) => {
            tracing::info!(%key, size, "stored an inbound mail");
            Response::custom(250, format!("2.0.0 OK: queued as {id}"))
        }
        Err(err) => {
            tracing::error!(%key, size, error = %err, "cannot store an inbound mail");
            Response::custom(451, "4.3.0 Cannot store the message now, try again later".into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_trait::async_trait;
    use shared::ports::{BlobMeta, StoreError, StoreResult, UlidIds};
    use std::collections::BTreeMap;
    use tokio::io::{AsyncReadExt, DuplexStream};

    // ----- line reading ------------------------------------------------------------------

    async fn lines(input: &[u8], max: usize) -> Vec<(Line, Vec<u8>)> {
        let mut reader = input;
        let mut line = Vec::new();
        let mut read = Vec::new();
        loop {
            let outcome = read_line(&mut reader, &mut line, max).await.unwrap();
            let closed = outcome == Line::Closed;
            read.push((outcome, line.clone()));
            if closed {
                return read;
            }
        }
    }

    #[tokio::test]
    async fn lines_are_read_with_their_line_ending() {
        let read = lines(b"EHLO a\r\nNOOP\n", 64).await;
        assert_eq!(
            read,
            [(Line::Complete, b"EHLO a\r\n".to_vec()), (Line::Complete, b"NOOP\n".to_vec()), (Line::Closed, vec![])]
        );
    }

    #[tokio::test]
    async fn an_overlong_line_is_dropped_whole_and_the_next_line_reads_normally() {
        let mut input = vec![b'x'; 100];
        input.extend_from_slice(b"\r\nQUIT\r\n");
        let read = lines(&input, 16).await;
        assert_eq!(read, [(Line::TooLong, vec![]), (Line::Complete, b"QUIT\r\n".to_vec()), (Line::Closed, vec![])]);
    }

    #[tokio::test]
    async fn a_line_of_exactly_the_limit_is_accepted() {
        let read = lines(b"1234567\n12345678\n", 8).await;
        assert_eq!(read[0], (Line::Complete, b"1234567\n".to_vec()));
        assert_eq!(read[1].0, Line::TooLong);
    }

    #[tokio::test]
    async fn a_partial_last_line_counts_as_closed() {
        let read = lines(b"QUIT", 64).await;
        assert_eq!(read, [(Line::Closed, vec![])]);
    }

    #[test]
    fn bare_line_feeds_of_commands_become_crlf() {
        let mut line = b"NOOP\n".to_vec();
        end_with_crlf(&mut line);
        assert_eq!(line, b"NOOP\r\n");
        end_with_crlf(&mut line);
        assert_eq!(line, b"NOOP\r\n", "a CRLF stays as it is");
    }

    #[test]
    fn starttls_is_recognised_in_any_case() {
        assert!(is_starttls(b"starttls\r\n"));
        assert!(is_starttls(b"STARTTLS\n"));
        assert!(!is_starttls(b"STARTTLSX\r\n"));
    }

    // ----- size accounting ---------------------------------------------------------------

    #[test]
    fn a_message_within_the_limit_is_kept_whole() {
        let mut message = MessageBuffer::new(10);
        message.push(b"12345");
        message.push(b"67890");
        assert_eq!(message.finish(), Ok(b"1234567890".to_vec()));
    }

    #[test]
    fn a_message_over_the_limit_is_dropped_while_its_size_is_still_counted() {
        let mut message = MessageBuffer::new(10);
        message.push(b"123456");
        message.push(b"789012");
        assert!(message.bytes.is_empty(), "what was kept is freed");
        message.push(b"345");
        assert_eq!(message.size, 15);
        assert!(message.bytes.is_empty(), "nothing more is kept");
        assert_eq!(message.finish(), Err(Refusal::TooBig));
    }

    #[test]
    fn the_first_refusal_of_a_message_is_the_one_answered() {
        let mut message = MessageBuffer::new(4);
        message.refuse(Refusal::LineTooLong);
        message.push(b"12345");
        assert_eq!(message.finish(), Err(Refusal::LineTooLong));
    }

    // ----- conversations over an in-memory connection -------------------------------------

    /// An in-memory blob store that records what is put, and can be told to fail.
    #[derive(Default)]
    struct MemoryBlobs {
        stored: Mutex<BTreeMap<String, (Bytes, String)>>,
        failing: bool,
    }

    #[async_trait]
    impl Blobs for MemoryBlobs {
        async fn put(&self, key: &str, bytes: Bytes, content_type: &str) -> StoreResult<()> {
            if self.failing {
                return Err(StoreError::Backend("the disk is full".into()));
            }
            self.stored.lock().unwrap().insert(key.into(), (bytes, content_type.into()));
            Ok(())
        }
        async fn get(&self, key: &str) -> StoreResult<Option<(BlobMeta, Bytes)>> {
            let stored = self.stored.lock().unwrap();
            Ok(stored.get(key).map(|(bytes, kind)| (meta(key, bytes, kind), bytes.clone())))
        }
        async fn head(&self, key: &str) -> StoreResult<Option<BlobMeta>> {
            Ok(self.get(key).await?.map(|(meta, _)| meta))
        }
        async fn delete(&self, key: &str) -> StoreResult<()> {
            self.stored.lock().unwrap().remove(key);
            Ok(())
        }
        async fn list(&self, prefix: &str) -> StoreResult<Vec<BlobMeta>> {
            let stored = self.stored.lock().unwrap();
            let under = stored.iter().filter(|(key, _)| key.starts_with(prefix));
            Ok(under.map(|(key, (bytes, kind))| meta(key, bytes, kind)).collect())
        }
        async fn presign_get(&self, _key: &str, _expires_in: Duration) -> StoreResult<String> {
            Err(StoreError::Invalid("an in-memory store has no URLs".into()))
        }
        async fn presign_put(&self, _key: &str, _expires_in: Duration) -> StoreResult<String> {
            Err(StoreError::Invalid("an in-memory store has no URLs".into()))
        }
    }

    /// What the in-memory store says about an object.
    fn meta(key: &str, bytes: &Bytes, kind: &str) -> BlobMeta {
        BlobMeta {
            key: key.to_string(),
            size: bytes.len() as u64,
            content_type: Some(kind.to_string()),
            last_modified: chrono::Utc::now(),
        }
    }

    impl MemoryBlobs {
        fn stored(&self) -> Vec<(String, Bytes, String)> {
            let stored = self.stored.lock().unwrap();
            stored.iter().map(|(key, (bytes, kind))| (key.clone(), bytes.clone(), kind.clone())).collect()
        }
    }

    /// A client on one end of an in-memory connection, the listener's loop on the other.
    struct Client {
        stream: BufReader<DuplexStream>,
        blobs: Arc<MemoryBlobs>,
        stop: watch::Sender<bool>,
        served: tokio::task::JoinHandle<io::Result<()>>,
    }

    fn small_limits() -> Limits {
        Limits { max_message_bytes: 1024, max_recipients: 3, idle_timeout: Duration::from_secs(10), max_connections: 2 }
    }

    async fn connect(limits: Limits, blobs: MemoryBlobs) -> Client {
        let blobs = Arc::new(blobs);
        let inbox = Inbox { blobs: blobs.clone(), ids: Arc::new(UlidIds), server_name: "print.test".into() };
        let (client, server) = tokio::io::duplex(64 * 1024);
        let (stop, stopped) = watch::channel(false);
        let peer = IpAddr::from([127, 0, 0, 1]);
        let served = tokio::spawn(async move { converse(server, peer, &inbox, &limits, stopped).await });
        let mut client = Client { stream: BufReader::new(client), blobs, stop, served };
        assert!(client.reply().await.starts_with("220 print.test"), "a greeting first");
        client
    }

    impl Client {
        /// The next reply, all its lines.
        async fn reply(&mut self) -> String {
            let mut reply = String::new();
            loop {
                let mut line = String::new();
                self.stream.read_line(&mut line).await.unwrap();
                reply.push_str(&line);
                if line.len() < 4 || line.as_bytes()[3] != b'-' {
                    return reply;
                }
            }
        }

        async fn send(&mut self, raw: &[u8]) {
            self.stream.write_all(raw).await.unwrap();
        }

        /// Sends one line and answers the reply to it.
        async fn command(&mut self, line: &str) -> String {
            self.send(format!("{line}\r\n").as_bytes()).await;
            self.reply().await
        }

        /// A greeting and a transaction up to the `354` that invites the data.
        async fn start_data(&mut self) {
            assert!(self.command("EHLO client.test").await.starts_with("250"));
            self.start_data_again().await;
        }

        /// A transaction (after the greeting) up to the `354` that invites the data.
        async fn start_data_again(&mut self) {
            assert!(self.command("MAIL FROM:<someone@example.org>").await.starts_with("250"));
            assert!(self.command("RCPT TO:<print@print.test>").await.starts_with("250"));
            assert!(self.command("DATA").await.starts_with("354"));
        }

        /// Sends `data` (already dot-stuffed, CRLF-terminated) and the final dot.
        async fn finish_data(&mut self, data: &[u8]) -> String {
            self.send(data).await;
            self.command(".").await
        }

        async fn quit(mut self) {
            assert!(self.command("QUIT").await.starts_with("221"));
            self.served.await.unwrap().unwrap();
        }
    }

    #[tokio::test]
    async fn a_message_is_stored_under_mail_unstuffed_as_the_sender_wrote_it() {
        let mut client = connect(small_limits(), MemoryBlobs::default()).await;
        client.start_data().await;
        let reply = client.finish_data(b"Subject: hi\r\n\r\n..leading dot\r\n...\r\nend\r\n").await;
        assert!(reply.starts_with("250 2.0.0 OK: queued as "), "{reply}");
        let stored = client.blobs.stored();
        assert_eq!(stored.len(), 1);
        let (key, bytes, content_type) = &stored[0];
        assert!(key.starts_with("mail/") && reply.trim_end().ends_with(&key["mail/".len()..]), "{key} / {reply}");
        assert_eq!(content_type, "message/rfc822");
        let expected = b"Delivered-To: print@print.test\r\nSubject: hi\r\n\r\n.leading dot\r\n..\r\nend\r\n";
        assert_eq!(&bytes[..], expected);
        client.quit().await;
    }

    #[tokio::test]
    async fn two_messages_on_one_connection_are_stored_apart() {
        let mut client = connect(small_limits(), MemoryBlobs::default()).await;
        client.start_data().await;
        assert!(client.finish_data(b"Subject: one\r\n\r\n1\r\n").await.starts_with("250"));
        client.start_data_again().await;
        assert!(client.finish_data(b"Subject: two\r\n\r\n2\r\n").await.starts_with("250"));
        let bodies: Vec<_> = client.blobs.stored().into_iter().map(|(_, bytes, _)| bytes).collect();
        assert_eq!(bodies.len(), 2);
        assert!(bodies.contains(&Bytes::from_static(b"Delivered-To: print@print.test\r\nSubject: one\r\n\r\n1\r\n")));
        assert!(bodies.contains(&Bytes::from_static(b"Delivered-To: print@print.test\r\nSubject: two\r\n\r\n2\r\n")));
        client.quit().await;
    }

    #[tokio::test]
    async fn an_oversized_message_is_read_to_its_end_then_refused_with_552_and_not_stored() {
        let mut client = connect(small_limits(), MemoryBlobs::default()).await;
        client.start_data().await;
        let line = format!("{}\r\n", "a".repeat(70));
        let reply = client.finish_data(line.repeat(40).as_bytes()).await;
        assert!(reply.starts_with("552 5.3.4"), "{reply}");
        assert!(client.blobs.stored().is_empty());
        assert!(client.command("NOOP").await.starts_with("250"), "the session goes on after the refusal");
        client.start_data_again().await;
        assert!(client.finish_data(b"small\r\n").await.starts_with("250"), "a smaller message is taken");
        client.quit().await;
    }

    #[tokio::test]
    async fn a_message_with_an_overlong_line_is_refused_at_its_end_and_not_stored() {
        let mut client = connect(Limits { max_message_bytes: 1 << 20, ..small_limits() }, MemoryBlobs::default()).await;
        client.start_data().await;
        let data = format!("Subject: long\r\n\r\n{}\r\nafter\r\n", "x".repeat(MAX_DATA_LINE + 1));
        let reply = client.finish_data(data.as_bytes()).await;
        assert!(reply.starts_with("500 5.5.6"), "{reply}");
        assert!(client.blobs.stored().is_empty());
        client.quit().await;
    }

    #[tokio::test]
    async fn a_storage_failure_is_answered_451_so_the_client_tries_again() {
        let mut client = connect(small_limits(), MemoryBlobs { failing: true, ..MemoryBlobs::default() }).await;
        client.start_data().await;
        let reply = client.finish_data(b"Subject: hi\r\n\r\nbody\r\n").await;
        assert!(reply.starts_with("451 4.3.0"), "{reply}");
        client.quit().await;
    }

    #[tokio::test]
    async fn recipients_past_the_limit_are_refused_with_452_and_a_new_transaction_starts_afresh() {
        let mut client = connect(small_limits(), MemoryBlobs::default()).await;
        assert!(client.command("EHLO client.test").await.starts_with("250"));
        for _ in 0..2 {
            assert!(client.command("MAIL FROM:<someone@example.org>").await.starts_with("250"));
            for n in 0..3 {
                assert!(client.command(&format!("RCPT TO:<p{n}@print.test>")).await.starts_with("250"));
            }
            assert!(client.command("RCPT TO:<p4@print.test>").await.starts_with("452 4.5.3"));
            assert!(client.command("RSET").await.starts_with("250"));
        }
        client.quit().await;
    }

    #[tokio::test]
    async fn garbage_and_overlong_commands_get_errors_and_the_session_goes_on() {
        let mut client = connect(small_limits(), MemoryBlobs::default()).await;
        assert!(client.command("HELLO there").await.starts_with("500"));
        client.send(b"\x00\xff\xfe binary\r\n").await;
        assert!(client.reply().await.starts_with("500"));
        let long = "NOOP ".repeat(MAX_COMMAND_LINE);
        assert!(client.command(&long).await.starts_with("500 5.5.2 Line too long"));
        assert!(client.command("DATA").await.starts_with("503"), "DATA before MAIL is out of sequence");
        client.send(b"EHLO bare-lf.test\n").await;
        assert!(client.reply().await.starts_with("250"), "a bare LF ends a command too");
        client.quit().await;
    }

    #[tokio::test]
    async fn starttls_is_answered_454_and_the_session_goes_on_in_plain_text() {
        let mut client = connect(small_limits(), MemoryBlobs::default()).await;
        let ehlo = client.command("EHLO client.test").await;
        assert!(!ehlo.contains("STARTTLS"), "not advertised: {ehlo}");
        assert!(client.command("STARTTLS").await.starts_with("454 4.7.0"));
        client.start_data_again().await;
        assert!(client.finish_data(b"plain\r\n").await.starts_with("250"));
        client.quit().await;
    }

    #[tokio::test]
    async fn an_idle_client_is_told_421_and_disconnected() {
        let limits = Limits { idle_timeout: Duration::from_millis(100), ..small_limits() };
        let mut client = connect(limits, MemoryBlobs::default()).await;
        assert!(client.reply().await.starts_with("421 4.4.2"));
        client.served.await.unwrap().unwrap();
        let mut rest = Vec::new();
        client.stream.read_to_end(&mut rest).await.unwrap();
        assert!(rest.is_empty(), "the connection is closed");
    }

    #[tokio::test]
    async fn stopping_tells_a_waiting_client_421_and_abandons_an_unfinished_message() {
        let mut client = connect(small_limits(), MemoryBlobs::default()).await;
        client.start_data().await;
        client.send(b"Subject: half\r\n").await;
        client.stop.send(true).unwrap();
        assert!(client.reply().await.starts_with("421 4.3.2"));
        client.served.await.unwrap().unwrap();
        assert!(client.blobs.stored().is_empty());
    }

    #[tokio::test]
    async fn connections_past_the_limit_are_answered_421_and_the_listener_stops_on_the_signal() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let blobs = Arc::new(MemoryBlobs::default());
        let inbox = Arc::new(Inbox { blobs, ids: Arc::new(UlidIds), server_name: "print.test".into() });
        let (stop, stopped) = watch::channel(false);
        let limits = Limits { max_connections: 1, ..small_limits() };
        let listening = tokio::spawn(accept_loop(listener, inbox, limits, stopped));

        let mut first = BufReader::new(tokio::net::TcpStream::connect(addr).await.unwrap());
        let mut greeting = String::new();
        first.read_line(&mut greeting).await.unwrap();
        assert!(greeting.starts_with("220"), "{greeting}");
        let mut second = BufReader::new(tokio::net::TcpStream::connect(addr).await.unwrap());
        let mut busy = String::new();
        second.read_line(&mut busy).await.unwrap();
        assert!(busy.starts_with("421 4.3.2 Too many connections"), "{busy}");

        stop.send(true).unwrap();
        let mut bye = String::new();
        first.read_line(&mut bye).await.unwrap();
        assert!(bye.starts_with("421 4.3.2 Shutting down"), "{bye}");
        tokio::time::timeout(Duration::from_secs(5), listening).await.expect("the listener stops").unwrap();
    }
}
