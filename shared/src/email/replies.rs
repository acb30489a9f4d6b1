//! The mails email-to-print sends back to a sender: the guest's PIN (W6 step 5), the
//! list of supported formats when an attachment cannot be printed (R-GUEST-3), and why a
//! sender may not print. Each names the organisation in its subject.

use crate::mail::Letter;
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

fn not_printed_lines(parts: &[NotPrinted]) -> Vec<String> {
    parts.iter().map(|part| format!("{}: {}", part.name, part.why)).collect()
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
    let pin_line = if same_pin { "Your PIN is still the one we sent you before:" } else { "Your PIN:" };
    let mut letter = Letter::new(org_name, "your print PIN")
        .text("Hello,")
        .text(format!("Your documents are waiting in the print queue of {org_name}:"))
        .list(printed.to_vec())
        .text(pin_line)
        .code(pin)
        .text(format!(
            "At any printer of {org_name}, choose \"Sign in with PIN\", enter the PIN, then release your documents. \
             The PIN and your documents expire on {} (UTC).",
            expires_at.format("%Y-%m-%d %H:%M")
        ));
    if !not_printed.is_empty() {
        letter = letter.text("These were not printed:").list(not_printed_lines(not_printed));
    }
    letter.to_mail(from, vec![to.to_string()])
}

/// One reply listing what could not be printed and the formats that can (R-GUEST-3).
pub fn not_printed(from: &str, to: &str, org_name: &str, parts: &[NotPrinted]) -> Mail {
    Letter::new(org_name, "not printed")
        .text("Hello,")
        .text(format!("Some of what you e-mailed to {org_name} for printing was not printed:"))
        .list(not_printed_lines(parts))
        .text(format!("Attachments in these formats can be printed: {SUPPORTED_FORMATS}."))
        .to_mail(from, vec![to.to_string()])
}

/// The answer to a sender who may not print at the organisation.
pub fn may_not_print(from: &str, to: &str, org_name: &str) -> Mail {
    Letter::new(org_name, "you may not print here")
        .text("Hello,")
        .text(format!(
            "You e-mailed documents to the print address of {org_name}, but this address is not allowed to print \
             there: only registered print users of {org_name} may. Nothing was printed."
        ))
        .text(format!("Ask an administrator of {org_name} for access."))
        .to_mail(from, vec![to.to_string()])
}

/// The answer to a mail with more attachments than one mail may carry.
pub fn too_many_attachments(from: &str, to: &str, org_name: &str, most: usize) -> Mail {
    Letter::new(org_name, "too many attachments")
        .text("Hello,")
        .text(format!(
            "Your mail to the print address of {org_name} has more than {most} attachments, so nothing was printed. \
             Send the documents in several mails of at most {most} attachments each."
        ))
        .to_mail(from, vec![to.to_string()])
}
