//! `printcloud jobs`: the signed-in user's queue, as a table for people or as the API's
//! JSON for scripts.

use super::api;
use super::session;
use chrono::{DateTime, Local, Utc};
use serde::Deserialize;
use shared::print::jobs::{Job, JobState};
use std::path::Path;

/// Names longer than this are cut in the table.
const NAME_WIDTH: usize = 40;

/// The queue endpoint's answer.
#[derive(Deserialize)]
struct Queue {
    items: Vec<Job>,
}

/// The jobs in the queue of the user signed in in `config_dir`, in the organisation's order.
pub async fn queue(config_dir: &Path) -> anyhow::Result<Vec<Job>> {
    let user = session::signed_in(config_dir).await?;
    let queue: Queue = api::json(user.authorize(user.api.get("/v1/me/jobs"))).await?;
    Ok(queue.items)
}

/// `jobs` as a table: name, state, pages, submitted, expires (local time); a rejected job's
/// reason follows its row.
pub fn table(jobs: &[Job]) -> String {
    if jobs.is_empty() {
        return "No jobs in your queue.\n".to_string();
    }
    let rows: Vec<[String; 5]> = jobs.iter().map(row).collect();
    let header = ["NAME", "STATE", "PAGES", "SUBMITTED", "EXPIRES"].map(String::from);
    let mut widths = header.clone().map(|cell| cell.chars().count());
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for (cells, job) in std::iter::once((&header, None)).chain(rows.iter().zip(jobs.iter().map(Some))) {
        let line: Vec<String> = cells.iter().zip(widths).map(|(cell, width)| format!("{cell:width$}")).collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
        if let Some(rejection) = job.and_then(|job| job.rejection.as_ref()) {
            out.push_str(&format!("  rejected: {} ({})\n", rejection.reason, rejection.code));
        }
    }
    out
}

fn row(job: &Job) -> [String; 5] {
    let mut name: String = job.name.chars().take(NAME_WIDTH).collect();
    if job.name.chars().count() > NAME_WIDTH {
        name.pop();
        name.push('…');
    }
    let pages = match (job.state, job.pages) {
        (JobState::Rejected, _) | (_, None) => "-".to_string(),
        (_, Some(pages)) => pages.to_string(),
    };
    [name, format!("{:?}", job.state), pages, local(job.created_at), local(job.expires_at)]
}

fn local(at: DateTime<Utc>) -> String {
    at.with_timezone(&Local).format("%Y-%m-%d %H:%M").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn job(name: &str, state: &str, pages: Option<u32>) -> Job {
        let mut job = json!({"id": "j1", "orgId": "o", "ownerId": "u", "name": name, "source": "LPMC",
            "state": state, "requested": {}, "createdAt": "2026-01-02T03:04:05Z",
            "expiresAt": "2026-01-05T03:04:05Z", "version": 1});
        if let Some(pages) = pages {
            job["pages"] = json!(pages);
        }
        if state == "Rejected" {
            job["rejection"] = json!({"code": "unsupported_format", "reason": "Not a printable document."});
        }
        serde_json::from_value(job).unwrap()
    }

    #[test]
    fn the_table_shows_state_pages_and_rejection_reasons() {
        let table = table(&[job("report.pdf", "Held", Some(3)), job("tool.exe", "Rejected", None)]);
        let lines: Vec<&str> = table.lines().collect();
        assert!(lines[0].starts_with("NAME") && lines[0].contains("EXPIRES"), "{table}");
        assert!(lines[1].starts_with("report.pdf") && lines[1].contains("Held") && lines[1].contains(" 3 "), "{table}");
        assert!(lines[2].starts_with("tool.exe") && lines[2].contains("Rejected"), "{table}");
        assert_eq!(lines[3], "  rejected: Not a printable document. (unsupported_format)");
        assert_eq!(super::table(&[]), "No jobs in your queue.\n");
    }
}
