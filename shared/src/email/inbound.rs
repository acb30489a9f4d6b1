//! Email-to-print (W6, BR-OS-14…17, R-GUEST-*): one raw mail stored under `mail/` becomes
//! print jobs in the right queue, or a reply saying why not, or nothing but a log line.
//!
//! Routing: every recipient at the deployment's mail domain whose local part is an
//! organisation's print address, with e-mail submission on, gets the mail (unknown or
//! disabled addresses: dropped and logged, never answered — senders may be forged). The
//! sender is a registered user of that organisation with the Print Release Management
//! User role (their queue), or else a guest when guests are allowed, or else is told they
//! may not print.
//!
//! Jobs: one per supported attachment, plus the body when body printing is on (as plain
//! text), each stored with its document so the normal ingest of `job-submit` counts pages
//! and applies policies. Job ids derive from the mail and the part, so a retried message
//! finds the jobs it already made instead of making them twice. Attachments in no printable
//! format, forwarded messages and (for guests) documents over the page limit are not
//! printed and are listed in one reply (R-GUEST-3, R-GUEST-5).
//!
//! Abuse: mails over [`MAX_MESSAGE_BYTES`], with more than [`MAX_ATTACHMENTS`]
//! attachments, or beyond the hourly limits per sender and per organisation are not
//! processed; machine-sent mail (bounces, auto-replies) is never answered. The raw mail is
//! deleted once handled, whatever the outcome, and every outcome is logged with the
//! message id (never addresses or content).

use super::guests;
use super::message::{self, InboundMail, MailPart};
use super::replies::{self, NotPrinted};
use crate::Ctx;
use crate::http::Problem;
use crate::identity::keyed_hash::{Purpose, keyed_hash};
use crate::identity::model::User;
use crate::identity::roles::{self, Permission};
use crate::identity::signin::roles_of;
use crate::identity::{printer_login, store};
use crate::ports::{Condition, Key, StoreError, Update};
use crate::print::documents;
use crate::print::jobs::JobSource;
use crate::print::options::PrintOptions;
use crate::print::settings::{self, PrintSettings};
use crate::print::submit::{self, Made, NewJob};
use bytes::Bytes;
use chrono::{DateTime, Timelike, Utc};

/// Largest raw mail processed (25 MB).
pub const MAX_MESSAGE_BYTES: u64 = 25 * 1024 * 1024;
/// Most attachments one mail may carry.
pub const MAX_ATTACHMENTS: usize = 20;
/// Mails one sender may send to one organisation per hour.
pub const SENDER_MAILS_PER_HOUR: i64 = 60;
/// Mails one organisation accepts per hour.
pub const ORG_MAILS_PER_HOUR: i64 = 5_000;
/// Print addresses of one mail that are served; further ones are ignored.
pub const MAX_ORGANISATIONS_PER_MAIL: usize = 5;

/// What became of a mail at one organisation (or of the mail as a whole).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Not processed and not answered; the text says why (for the log).
    Dropped(&'static str),
    /// Not printed; the sender was told why.
    Refused(&'static str),
    /// Jobs made (their ids); `not_printed` parts were reported to the sender.
    Queued { jobs: Vec<String>, not_printed: usize, guest: bool },
}

/// Handles the raw mail stored under `key`, then deletes it. A key already gone (a
/// re-delivered event) is nothing to do.
pub async fn process(ctx: &Ctx, key: &str) -> Result<Vec<Outcome>, Problem> {
    let Some(meta) = ctx.blobs.head(key).await? else { return Ok(Vec::new()) };
    let outcomes = if meta.size > MAX_MESSAGE_BYTES {
        vec![Outcome::Dropped("message over the size limit")]
    } else {
        match ctx.blobs.get(key).await? {
            Some((_, raw)) => route(ctx, key, &raw).await?,
            None => return Ok(Vec::new()),
        }
    };
    ctx.blobs.delete(key).await?;
    Ok(outcomes)
}

/// A job-id-safe name of the stored mail.
fn mail_id(key: &str) -> String {
    let name = key.rsplit('/').next().unwrap_or_default();
    name.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').take(64).collect()
}

async fn route(ctx: &Ctx, key: &str, raw: &[u8]) -> Result<Vec<Outcome>, Problem> {
    let Some(mail) = message::parse(raw) else {
        tracing::info!(%key, "not a mail; dropped");
        return Ok(vec![Outcome::Dropped("not a mail")]);
    };
    let Some(sender) = mail.sender.clone() else {
        tracing::info!(%key, message_id = %mail.message_id, "no sender address; dropped");
        return Ok(vec![Outcome::Dropped("no sender")]);
    };
    if is_our_own(ctx, &sender) {
        tracing::info!(%key, message_id = %mail.message_id, "mail from this service's own address; dropped");
        return Ok(vec![Outcome::Dropped("sent by this service")]);
    }
    let organisations = organisations_addressed(ctx, &mail).await?;
    if organisations.is_empty() {
        tracing::info!(%key, message_id = %mail.message_id, "no organisation accepts mail at these addresses; dropped");
        return Ok(vec![Outcome::Dropped("no organisation accepts it")]);
    }
    let mut outcomes = Vec::new();
    for (org_id, settings) in organisations {
        let delivery = Delivery { mail_id: mail_id(key), org_id, settings, mail: &mail, sender: &sender };
        let outcome = deliver(ctx, &delivery).await?;
        tracing::info!(%key, message_id = %mail.message_id, org = %delivery.org_id, ?outcome, "mail handled");
        outcomes.push(outcome);
    }
    Ok(outcomes)
}

/// The organisations (with their settings) whose print address the mail is sent to and
/// that accept e-mail submission.
async fn organisations_addressed(ctx: &Ctx, mail: &InboundMail) -> Result<Vec<(String, PrintSettings)>, Problem> {
    let domain = ctx.config.mail_domain.to_lowercase();
    let mut found: Vec<(String, PrintSettings)> = Vec::new();
    for recipient in &mail.recipients {
        let Some((local, at)) = recipient.rsplit_once('@') else { continue };
        if at != domain || found.len() >= MAX_ORGANISATIONS_PER_MAIL {
            continue;
        }
        let Some(org_id) = settings::mailbox_owner(ctx, local).await? else { continue };
        if found.iter().any(|(known, _)| *known == org_id) {
            continue;
        }
        let settings = settings::get(ctx, &org_id).await?;
        if settings.email_submission {
            found.push((org_id, settings));
        }
    }
    Ok(found)
}

/// One mail at one organisation.
struct Delivery<'a> {
    mail_id: String,
    org_id: String,
    settings: PrintSettings,
    mail: &'a InboundMail,
    sender: &'a str,
}

/// Whose queue the mail goes to.
enum Sender {
    Registered(Box<User>),
    Guest,
    NotAllowed,
}

async fn deliver(ctx: &Ctx, delivery: &Delivery<'_>) -> Result<Outcome, Problem> {
    if !within_rate(ctx, delivery).await? {
        return Ok(Outcome::Dropped("over the hourly mail limit"));
    }
    let org_name = store::get_org(ctx, &delivery.org_id).await?.map(|org| org.name).unwrap_or_default();
    let reply = |mail: crate::ports::Mail| async move {
        if delivery.mail.automatic {
            return Ok(());
        }
        ctx.mailer.send(&mail).await.map(|_| ()).map_err(Problem::internal)
    };
    let from = ctx.config.mail_from.as_str();
    let sender = classify(ctx, delivery).await?;
    if let Sender::NotAllowed = sender {
        reply(replies::may_not_print(from, delivery.sender, &org_name)).await?;
        return Ok(Outcome::Refused("sender may not print"));
    }
    if delivery.mail.parts.len() > MAX_ATTACHMENTS {
        reply(replies::too_many_attachments(from, delivery.sender, &org_name, MAX_ATTACHMENTS)).await?;
        return Ok(Outcome::Refused("too many attachments"));
    }
    let guest = matches!(sender, Sender::Guest);
    let most_bytes = ctx.config.max_document_bytes.min(MAX_MESSAGE_BYTES);
    let (printable, not_printed) = plan(delivery.mail, &delivery.settings, guest, most_bytes);
    if printable.is_empty() {
        if !not_printed.is_empty() {
            reply(replies::not_printed(from, delivery.sender, &org_name, &not_printed)).await?;
        }
        return Ok(Outcome::Refused("nothing printable"));
    }
    let (owner, admitted) = match sender {
        Sender::Registered(user) => (*user, None),
        _ => {
            let config = printer_login::get(ctx, &delivery.org_id).await?;
            let admitted = guests::admit(ctx, &delivery.org_id, delivery.sender, &delivery.settings, &config).await?;
            (admitted.user.clone(), Some(admitted))
        }
    };
    let expires_by = admitted.as_ref().map(|a| a.pin_expires_at);
    let jobs = make_jobs(ctx, delivery, &owner, printable, expires_by).await?;
    match &admitted {
        Some(admitted) => {
            let pin = (admitted.pin.as_str(), admitted.pin_expires_at, admitted.same_pin);
            let names: Vec<String> = jobs.iter().map(|(_, name)| name.clone()).collect();
            let mail = replies::guest_pin(from, delivery.sender, &org_name, pin, &names, &not_printed);
            ctx.mailer.send(&mail).await.map_err(Problem::internal)?;
        }
        None if !not_printed.is_empty() => {
            reply(replies::not_printed(from, delivery.sender, &org_name, &not_printed)).await?;
        }
        None => {}
    }
    Ok(Outcome::Queued { jobs: jobs.into_iter().map(|(id, _)| id).collect(), not_printed: not_printed.len(), guest })
}

/// Whether `sender` is this deployment's own sending address (never answered: no loops).
fn is_our_own(ctx: &Ctx, sender: &str) -> bool {
    is_address_of(&ctx.config.mail_from, sender)
}

/// Whether `sender` is the address of `mailbox` (`Name <address>` or a bare address).
fn is_address_of(mailbox: &str, sender: &str) -> bool {
    let mailbox = mailbox.to_lowercase();
    let address = mailbox.rsplit_once('<').map_or(mailbox.as_str(), |(_, rest)| rest.trim_end_matches('>')).trim();
    address == sender
}

async fn classify(ctx: &Ctx, delivery: &Delivery<'_>) -> Result<Sender, Problem> {
    if let Some(record) = store::find_user_by_email(ctx, delivery.sender).await?
        && record.user.org_id == delivery.org_id
        && !record.user.guest
        && let Some(org) = store::get_org(ctx, &delivery.org_id).await?
        && roles::allows(&roles_of(ctx, &org, &record.user).await?, Permission::UsePrintRelease)
    {
        return Ok(Sender::Registered(Box::new(record.user)));
    }
    // Machine-sent mail (bounces, auto-replies) never makes a guest: nobody would read the PIN.
    let may_be_guest = delivery.settings.guest_submission && !delivery.mail.automatic;
    if may_be_guest && printer_login::get(ctx, &delivery.org_id).await?.pin_login() {
        return Ok(Sender::Guest);
    }
    Ok(Sender::NotAllowed)
}

/// A document to make a job of.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Printable {
    /// The job's name (the part's safe file name).
    pub name: String,
    /// The document.
    pub bytes: Vec<u8>,
}

/// Splits the mail's parts (and body, when printed) into printable documents and the
/// ones reported as not printed: documents at most `most_bytes` long, in a printable
/// format, and for guests within the page limit.
pub fn plan(
    mail: &InboundMail,
    settings: &PrintSettings,
    guest: bool,
    most_bytes: u64,
) -> (Vec<Printable>, Vec<NotPrinted>) {
    let mut candidates: Vec<MailPart> = mail.parts.clone();
    if settings.email_body_printing && !mail.body_text.is_empty() {
        let subject = message::safe_name(&mail.subject);
        let title = if subject.is_empty() { "E-mail message".to_string() } else { subject };
        let name = format!("{}.txt", title.chars().take(message::MAX_PART_NAME - 4).collect::<String>());
        candidates.push(MailPart { name, bytes: mail.body_text.clone().into_bytes(), forwarded_message: false });
    }
    let page_limit = if guest { settings.guest_page_limit } else { None };
    let mut printable = Vec::new();
    let mut not_printed = Vec::new();
    for part in candidates {
        match refusal(&part, most_bytes, page_limit) {
            Some(why) => not_printed.push(NotPrinted { name: part.name, why }),
            None => printable.push(Printable { name: part.name, bytes: part.bytes }),
        }
    }
    (printable, not_printed)
}

/// Why a part is not printed, if it is not.
fn refusal(part: &MailPart, most_bytes: u64, page_limit: Option<u32>) -> Option<String> {
    if part.forwarded_message {
        return Some("a forwarded message is not printed; attach the documents themselves".into());
    }
    if part.bytes.len() as u64 > most_bytes {
        return Some(format!("larger than the {most_bytes} bytes a document may have"));
    }
    if part.bytes.iter().all(u8::is_ascii_whitespace) {
        return Some("empty".into());
    }
    if documents::sniff(&part.bytes).is_none() {
        return Some("not in a format that can be printed".into());
    }
    let limit = page_limit?;
    match documents::examine(&part.bytes) {
        Ok(facts) if facts.pages > limit => {
            Some(format!("{} pages, more than the {limit} pages a guest job may have", facts.pages))
        }
        _ => None,
    }
}

/// Makes one job per printable document; answers their ids and names. A job already made
/// by an earlier try of the same mail is kept as it is.
async fn make_jobs(
    ctx: &Ctx,
    delivery: &Delivery<'_>,
    owner: &User,
    printable: Vec<Printable>,
    expires_by: Option<DateTime<Utc>>,
) -> Result<Vec<(String, String)>, Problem> {
    let mut made = Vec::new();
    for (index, document) in printable.into_iter().enumerate() {
        let job_id = format!("{}-{}", delivery.mail_id, index + 1);
        let new = NewJob {
            name: document.name.clone(),
            description: None,
            source: JobSource::Email,
            options: PrintOptions::default(),
            owner_id: None,
            document: None,
        };
        let how = Made { job_id: job_id.clone(), expires_by };
        match submit::create_as(ctx, &delivery.org_id, &owner.id, new, Some(Bytes::from(document.bytes)), how).await {
            Ok(_) => {}
            Err(problem) if problem.code == "job_exists" => {}
            Err(problem) => return Err(problem),
        }
        made.push((job_id, document.name));
    }
    Ok(made)
}

/// Counts the mail against the hourly limits of its sender and its organisation; false
/// when either is used up (the mail is then dropped).
async fn within_rate(ctx: &Ctx, delivery: &Delivery<'_>) -> Result<bool, Problem> {
    let now = ctx.clock.now();
    let hour = now.format("%Y%m%d%H").to_string();
    let sender_hash = keyed_hash(&ctx.config.secret, Purpose::GuestSender, &delivery.org_id, delivery.sender);
    let subjects = [(format!("SENDER#{sender_hash}"), SENDER_MAILS_PER_HOUR), ("ORG".to_string(), ORG_MAILS_PER_HOUR)];
    for (subject, most) in subjects {
        let key = Key::new(store::org_partition(&delivery.org_id), format!("MAILRATE#{subject}#{hour}"));
        let window_end = now.with_minute(0).and_then(|t| t.with_second(0)).unwrap_or(now) + chrono::Duration::hours(2);
        let update = Update::new(key)
            .add("mails", 1)
            .set("ttl", window_end.timestamp())
            .when(Condition::AtMostOrAbsent("mails".into(), most - 1));
        match ctx.table.update(update).await {
            Ok(_) => {}
            Err(StoreError::ConditionFailed) => return Ok(false),
            Err(other) => return Err(other.into()),
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(name: &str, bytes: &[u8]) -> MailPart {
        MailPart { name: name.into(), bytes: bytes.to_vec(), forwarded_message: false }
    }

    #[test]
    fn r_guest_3_parts_in_no_printable_format_are_not_printed() {
        let exe = part("setup.exe", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00");
        assert!(refusal(&exe, 1 << 20, None).unwrap().contains("format"));
        assert_eq!(refusal(&part("a.pdf", b"%PDF-1.4\n%%EOF"), 1 << 20, None), None);
        assert!(refusal(&part("e.txt", b"  \n"), 1 << 20, None).unwrap().contains("empty"));
        assert!(refusal(&part("big.txt", &[b'a'; 100]), 10, None).unwrap().contains("larger"));
        let forwarded = MailPart { forwarded_message: true, ..part("fwd", b"") };
        assert!(refusal(&forwarded, 1 << 20, None).unwrap().contains("forwarded"));
    }

    #[test]
    fn r_guest_5_a_guest_document_over_the_page_limit_is_not_printed() {
        let text = "line\n".repeat(documents::TEXT_LINES_PER_PAGE as usize * 3);
        let three_pages = part("long.txt", text.as_bytes());
        assert!(refusal(&three_pages, 1 << 20, Some(2)).unwrap().contains("3 pages"));
        assert_eq!(refusal(&three_pages, 1 << 20, Some(3)), None);
        assert_eq!(refusal(&three_pages, 1 << 20, None), None);
    }

    #[test]
    fn mail_from_this_service_is_recognised_by_its_address_only() {
        assert!(is_address_of("printcloud <No-Reply@printcloud.local>", "no-reply@printcloud.local"));
        assert!(is_address_of("no-reply@printcloud.local", "no-reply@printcloud.local"));
        assert!(!is_address_of("printcloud <no-reply@printcloud.local>", "o-reply@printcloud.local"));
    }

    #[test]
    fn mail_ids_are_safe_for_job_ids() {
        assert_eq!(mail_id("mail/01HX-abc"), "01HX-abc");
        assert_eq!(mail_id("mail/a b/../c?d"), "cd");
    }
}
