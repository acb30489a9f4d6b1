//! The mail a policy sends (WF-NP step 3): up to 15 printers (or agents) in the body, a
//! CSV of all of them when there are more than 15 or the policy asks for it (BR-NP-09,
//! ER-NP-02), the notification data as JSON for supplies policies that ask for it
//! (BR-NP-07), the policy's extra text (BR-NP-06), and the organisation's name in the
//! subject. Plain text and HTML carry the same content.

use super::evaluation::Finding;
use super::policies::{NotificationPolicy, PolicyRule};
use crate::http::Problem;
use crate::http::csv_export;
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

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn what(policy: &NotificationPolicy) -> &'static str {
    match policy.rule {
        PolicyRule::Supplies { .. } => "printers with supplies at or below the threshold",
        PolicyRule::PrinterInformation { .. } => "printers that stopped reporting",
        PolicyRule::FleetAgents { .. } => "fleet agents that stopped communicating",
    }
}

/// The mail `policy` sends for `findings` (newly matching), from `from`.
pub fn compose(from: &str, org_name: &str, policy: &NotificationPolicy, findings: &[Finding]) -> Result<Mail, Problem> {
    let listed = &findings[..findings.len().min(BODY_LIMIT)];
    let more = findings.len() - listed.len();
    let line = |f: &Finding| {
        let place = [f.address.as_str(), f.asset_tag.as_str(), f.location.as_str()]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(", ");
        format!(
            "{} ({}{}): {}",
            f.name,
            f.model,
            if place.is_empty() { String::new() } else { format!(", {place}") },
            f.reason
        )
    };
    let mut text = format!(
        "The notification policy \"{}\" of {org_name} found {} {}:\n\n",
        policy.name,
        findings.len(),
        what(policy)
    );
    let mut html = format!(
        "<p>The notification policy <b>{}</b> of {} found {} {}:</p><ul>",
        escape(&policy.name),
        escape(org_name),
        findings.len(),
        what(policy)
    );
    for finding in listed {
        text.push_str(&format!("  - {}\n", line(finding)));
        html.push_str(&format!("<li>{}</li>", escape(&line(finding))));
    }
    html.push_str("</ul>");
    if more > 0 {
        text.push_str(&format!("\n… and {more} more: all {} are in the attached CSV.\n", findings.len()));
        html.push_str(&format!("<p>… and {more} more: all {} are in the attached CSV.</p>", findings.len()));
    }
    if let Some(extra) = &policy.extra_text {
        text.push_str(&format!("\n{extra}\n"));
        html.push_str(&format!("<p>{}</p>", escape(extra)));
    }
    let mut attachments = Vec::new();
    let wants_csv = matches!(
        policy.rule,
        PolicyRule::PrinterInformation { attach_csv: true, .. } | PolicyRule::FleetAgents { attach_csv: true, .. }
    );
    if more > 0 || wants_csv {
        attachments.push(Attachment {
            filename: "notification.csv".into(),
            content_type: "text/csv".into(),
            bytes: csv(findings)?,
        });
    }
    if matches!(policy.rule, PolicyRule::Supplies { attach_json: true, .. }) {
        let data =
            json!({"policy": {"id": policy.id, "name": policy.name}, "organisation": org_name, "printers": findings});
        let bytes = serde_json::to_vec_pretty(&data).map_err(Problem::internal)?;
        attachments.push(Attachment {
            filename: "notification.json".into(),
            content_type: "application/json".into(),
            bytes,
        });
    }
    Ok(Mail {
        from: from.to_string(),
        to: policy.recipients.clone(),
        subject: format!(
            "{org_name}: {} — {} {}",
            policy.name,
            findings.len(),
            if findings.len() == 1 { "match" } else { "matches" }
        ),
        text,
        html: Some(html),
        attachments,
        ..Mail::default()
    })
}
