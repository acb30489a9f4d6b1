//! The mail a policy sends (WF-NP step 3): up to 15 printers (or agents) in the body, a
//! CSV of all of them when there are more than 15 or the policy asks for it (BR-NP-09,
//! ER-NP-02), the notification data as JSON for supplies policies that ask for it
//! (BR-NP-07), the policy's extra text (BR-NP-06), and the organisation's name in the
//! subject. Plain text and HTML carry the same content.

use super::evaluation::Finding;
use super::policies::{NotificationPolicy, PolicyRule};
use crate::http::Problem;
use crate::http::csv_export;
use crate::mail::Letter;
use crate::ports::{Attachment, Mail};
use serde_json::json;

/// Most printers listed in a mail's body (BR-NP-09).
pub const BODY_LIMIT: usize = 15;

fn when(at: Option<chrono::DateTime<chrono::Utc>>) -> String {
    at.map_or_else(String::new, |at| at.to_rfc3339())
}

/// The CSV of `findings` (UTF-8, formula-injection-safe).
pub fn csv(findings: &[Finding]) -> Result<Vec<u8>, Problem> {
    let header = [
        "Serial number / name",
        "Model / type",
        "Address",
        "Asset tag",
        "Location",
        "Last communication",
        "Last data refresh",
        "Reason",
    ];
    let rows = findings.iter().map(|f| {
        vec![
            f.name.clone(),
            f.model.clone(),
            f.address.clone(),
            f.asset_tag.clone(),
            f.location.clone(),
            when(f.last_communication),
            when(f.last_data_refresh),
            f.reason.clone(),
        ]
    });
    csv_export::document(&header, rows)
}

fn what(policy: &NotificationPolicy) -> &'static str {
    match policy.rule {
        PolicyRule::Supplies { .. } => "printers with supplies at or below the threshold",
        PolicyRule::PrinterInformation { .. } => "printers that stopped reporting",
        PolicyRule::FleetAgents { .. } => "fleet agents that stopped communicating",
    }
}

/// One line about a finding: name, model and where it is, and why it matched.
fn line(finding: &Finding) -> String {
    let place = [finding.address.as_str(), finding.asset_tag.as_str(), finding.location.as_str()]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(", ");
    let place = if place.is_empty() { String::new() } else { format!(", {place}") };
    format!("{} ({}{place}): {}", finding.name, finding.model, finding.reason)
}

/// The mail `policy` sends for `findings` (newly matching), from `from`.
pub fn compose(from: &str, org_name: &str, policy: &NotificationPolicy, findings: &[Finding]) -> Result<Mail, Problem> {
    let listed = &findings[..findings.len().min(BODY_LIMIT)];
    let more = findings.len() - listed.len();
    let matches = if findings.len() == 1 { "match" } else { "matches" };
    let mut letter = Letter::new(org_name, format!("{} — {} {matches}", policy.name, findings.len()))
        .text(format!(
            "The notification policy \"{}\" of {org_name} found {} {}:",
            policy.name,
            findings.len(),
            what(policy)
        ))
        .list(listed.iter().map(line).collect());
    if more > 0 {
        letter = letter.text(format!("… and {more} more: all {} are in the attached CSV.", findings.len()));
    }
    if let Some(extra) = &policy.extra_text {
        letter = letter.text(extra.clone());
    }
    let wants_csv = matches!(
        policy.rule,
        PolicyRule::PrinterInformation { attach_csv: true, .. } | PolicyRule::FleetAgents { attach_csv: true, .. }
    );
    if more > 0 || wants_csv {
        letter = letter.attach(Attachment {
            filename: "notification.csv".into(),
            content_type: "text/csv".into(),
            bytes: csv(findings)?,
        });
    }
    if matches!(policy.rule, PolicyRule::Supplies { attach_json: true, .. }) {
        let data =
            json!({"policy": {"id": policy.id, "name": policy.name}, "organisation": org_name, "printers": findings});
        let bytes = serde_json::to_vec_pretty(&data).map_err(Problem::internal)?;
        letter = letter.attach(Attachment {
            filename: "notification.json".into(),
            content_type: "application/json".into(),
            bytes,
        });
    }
    Ok(letter.to_mail(from, policy.recipients.clone()))
}
