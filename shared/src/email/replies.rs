//! The mails email-to-print sends back to a sender: the guest's PIN (W6 step 5), the
//! list of supported formats when an attachment cannot be printed (R-GUEST-3), and why a
//! sender may not print. Each names the organisation in its subject.

use crate::ports::Mail;
use chrono::{DateTime, Utc};

/// The attachment formats the seed lists for email-to-print (R-GUEST-3), as told to senders.
pub const SUPPORTED_FORMATS: &str =
    "CSV, DOC, DOCX, GIF, HTML, JPG, ODP, ODS, ODT, PDF, PPT, PPTX, RTF, TIFF, TXT, XLS, XLSX";

/// A part that was not printed, and why, for the sender.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotPrinted {
    /// The part's file name.
    pub name: String,
    /// Why, in words.
    pub why: String,
}

fn mail(from: &str, to: &str, subject: String, text: String) -> Mail {
    Mail { from: from.to_string(), to: vec![to.to_string()], subject, text, ..Mail::default() }
}

fn not_printed_lines(parts: &[NotPrinted]) -> String {
    parts.iter().map(|part| format!("  - {}: {}\n", part.name, part.why)).collect()
}

/// The guest's confirmation: their jobs are waiting and the PIN that releases them.
pub fn guest_pin(
    from: &str,
    to: &str,
    org_name: &str,
    (pin, expires_at, same_pin): (&str, DateTime<Utc>, bool),
    printed: &[String],
    not_printed: &[NotPrinted],
) -> Mail {
    let jobs: String = printed.iter().map(|name| format!("  - {name}\n")).collect();
    let pin_line = if same_pin { "Your PIN is still the one we sent you before" } else { "Your PIN" };
    let mut text = format!(
        "Hello,\n\nYour documents are waiting in the print queue of {org_name}:\n\n{jobs}\n\
         {pin_line}:\n\n    {pin}\n\nAt any printer of {org_name}, choose \"Sign in with PIN\", enter the PIN, \
         then release your documents. The PIN and your documents expire on {} (UTC).\n",
        expires_at.format("%Y-%m-%d %H:%M")
    );
    if !not_printed.is_empty() {
        text.push_str(&format!("\nThese were not printed:\n{}", not_printed_lines(not_printed)));
    }
    mail(from, to, format!("{org_name}: your print PIN"), text)
}

/// One reply listing what could not be printed and the formats that can (R-GUEST-3).
pub fn not_printed(from: &str, to: &str, org_name: &str, parts: &[NotPrinted]) -> Mail {
    let text = format!(
        "Hello,\n\nSome of what you e-mailed to {org_name} for printing was not printed:\n\n{}\n\
         Attachments in these formats can be printed: {SUPPORTED_FORMATS}.\n",
        not_printed_lines(parts)
    );
    mail(from, to, format!("{org_name}: not printed"), text)
}

/// The answer to a sender who may not print at the organisation.
pub fn may_not_print(from: &str, to: &str, org_name: &str) -> Mail {
    let text = format!(
        "Hello,\n\nYou e-mailed documents to the print address of {org_name}, but this address is not \
         allowed to print there: only registered print users of {org_name} may. Nothing was printed.\n\n\
         Ask an administrator of {org_name} for access.\n"
    );
    mail(from, to, format!("{org_name}: you may not print here"), text)
}

/// The answer to a mail with more attachments than one mail may carry.
pub fn too_many_attachments(from: &str, to: &str, org_name: &str, most: usize) -> Mail {
    let text = format!(
        "Hello,\n\nYour mail to the print address of {org_name} has more than {most} attachments, so \
         nothing was printed. Send the documents in several mails of at most {most} attachments each.\n"
    );
    mail(from, to, format!("{org_name}: too many attachments"), text)
}
