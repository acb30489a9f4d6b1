//! `printcloud device release`: the simulated printer releases the signed-in user's jobs
//! (one, or all), downloads each document, checks it is the document ingest examined (size,
//! format, pages), keeps it in a folder as a printed page would be kept in a tray, and
//! reports the outcome with the sides and sheets the release options make.

use super::api;
use super::device::{AtPrinter, Items};
use anyhow::{anyhow, bail};
use bytes::Bytes;
use serde_json::json;
use shared::print::documents::{self, DocumentFormat};
use shared::print::jobs::Job;
use shared::print::options::ColourMode;
use shared::print::release::{Completed, Completion, Outcome, Release};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Which jobs to release.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Selection {
    /// The job with this id.
    Job(String),
    /// Every job the user may release here.
    All,
}

/// What `printcloud device release` does.
#[derive(Clone, Debug)]
pub struct ReleasePlan {
    /// Which jobs.
    pub selection: Selection,
    /// Where the downloaded documents go (`<job id>.<extension>`).
    pub out_dir: PathBuf,
    /// What the printer reports for each.
    pub outcome: Outcome,
}

/// A released job that was downloaded, checked, stored and completed.
#[derive(Clone, Debug)]
pub struct Delivered {
    /// Where the document was written.
    pub file: PathBuf,
    /// What the printer reported.
    pub completion: Completion,
    /// What the service answered.
    pub completed: Completed,
}

/// What became of one released job.
#[derive(Debug)]
pub struct ReleasedJob {
    /// The release.
    pub release: Release,
    /// The job's name (its id when the printer's list did not have it).
    pub name: String,
    /// The delivery, or why it failed (the release is then reported `failed`).
    pub result: anyhow::Result<Delivered>,
}

impl ReleasedJob {
    /// One line for people.
    pub fn line(&self) -> String {
        match &self.result {
            Ok(delivered) => {
                let completion = &delivered.completion;
                format!(
                    "{}: {:?}, {} pages -> {} ({} mono sides, {} colour sides, {} sheets)",
                    self.name,
                    completion.outcome,
                    self.release.pages,
                    delivered.file.display(),
                    completion.mono_sides,
                    completion.colour_sides,
                    completion.sheets
                )
            }
            Err(err) => format!("{}: error: {err:#}", self.name),
        }
    }
}

/// Releases what `plan` selects at `printer` and delivers each release; answers one entry
/// per granted release (a refused release is an error).
pub async fn release(printer: &AtPrinter, plan: &ReleasePlan) -> anyhow::Result<Vec<ReleasedJob>> {
    let listed: HashMap<String, Job> =
        printer.jobs().await?.into_iter().map(|listed| (listed.job.id.clone(), listed.job)).collect();
    let releases = match &plan.selection {
        Selection::Job(job_id) => {
            let path = format!("/v1/device/jobs/{job_id}/release");
            vec![api::json::<Release>(printer.authorize(printer.api.post(&path)).json(&json!({}))).await?]
        }
        Selection::All => {
            let request = printer.authorize(printer.api.post("/v1/device/release-all"));
            api::json::<Items<Release>>(request).await?.items
        }
    };
    let mut released = Vec::with_capacity(releases.len());
    for release in releases {
        let job = listed.get(&release.job_id);
        let name = job.map_or_else(|| release.job_id.clone(), |job| job.name.clone());
        let result = deliver(printer, &release, job, plan).await;
        released.push(ReleasedJob { release, name, result });
    }
    Ok(released)
}

/// Downloads, checks and stores one release's document and completes the release; a
/// document that does not check out is reported `failed`.
async fn deliver(
    printer: &AtPrinter,
    release: &Release,
    job: Option<&Job>,
    plan: &ReleasePlan,
) -> anyhow::Result<Delivered> {
    let stored = match fetch_checked(printer, release, job).await {
        Ok((bytes, format)) => store(&plan.out_dir, &release.job_id, format, &bytes).await,
        Err(err) => Err(err),
    };
    let file = match stored {
        Ok(file) => file,
        Err(err) => {
            // The document is unusable: report the release as failed so the job is held
            // again now rather than when the lease lapses. The download's error is the one
            // that matters, so a failing report is not added to it.
            let _ = complete(printer, release, Outcome::Failed).await;
            return Err(err);
        }
    };
    let (completion, completed) = complete(printer, release, plan.outcome).await?;
    Ok(Delivered { file, completion, completed })
}

/// The release's document and its format, after checking it against what ingest recorded.
async fn fetch_checked(
    printer: &AtPrinter,
    release: &Release,
    job: Option<&Job>,
) -> anyhow::Result<(Bytes, DocumentFormat)> {
    let response = api::send(printer.api.http().get(&release.document_url)).await?;
    let bytes = response.bytes().await?;
    let format = verify(&bytes, release, job)?;
    Ok((bytes, format))
}

/// Checks a downloaded document: the size and format ingest recorded (when the job was
/// listed) and the release's page count; answers its format.
pub fn verify(bytes: &[u8], release: &Release, job: Option<&Job>) -> anyhow::Result<DocumentFormat> {
    if let Some(expected) = job.and_then(|job| job.size_bytes)
        && expected != bytes.len() as u64
    {
        bail!("the download has {} bytes, the job {expected}", bytes.len());
    }
    let facts = documents::examine(bytes).map_err(|err| anyhow!("the download is not printable: {err}"))?;
    if let Some(expected) = job.and_then(|job| job.format)
        && expected != facts.format
    {
        bail!("the download is a {}, the job a {}", facts.format.label(), expected.label());
    }
    if facts.pages != release.pages {
        bail!("the download has {} pages, the release {}", facts.pages, release.pages);
    }
    Ok(facts.format)
}

/// Writes the document to `<out_dir>/<job id>.<extension>`.
async fn store(out_dir: &Path, job_id: &str, format: DocumentFormat, bytes: &[u8]) -> anyhow::Result<PathBuf> {
    if job_id.is_empty() || !job_id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_')) {
        bail!("the service answered an unusable job id `{job_id}`");
    }
    tokio::fs::create_dir_all(out_dir).await?;
    let file = out_dir.join(format!("{job_id}.{}", extension(format)));
    tokio::fs::write(&file, bytes).await?;
    Ok(file)
}

/// The usual file name extension of `format`.
pub fn extension(format: DocumentFormat) -> &'static str {
    match format {
        DocumentFormat::Pdf => "pdf",
        DocumentFormat::PostScript => "ps",
        DocumentFormat::Pcl => "pcl",
        DocumentFormat::Text => "txt",
        DocumentFormat::Jpeg => "jpg",
        DocumentFormat::Png => "png",
        DocumentFormat::Tiff => "tif",
        DocumentFormat::Gif => "gif",
        DocumentFormat::Office(_) => "bin",
    }
}

/// The printer's report of `release` ending with `outcome`: a printed job counts the sides
/// and sheets its options make (colour sides when it prints in colour).
pub fn completion(release: &Release, outcome: Outcome) -> Completion {
    let options = &release.options;
    let printed = outcome == Outcome::Printed;
    let sides = if printed { options.sides(release.pages) } else { 0 };
    let colour = options.colour_mode == ColourMode::Colour;
    Completion {
        lease_id: release.lease_id.clone(),
        outcome,
        mono_sides: if colour { 0 } else { sides },
        colour_sides: if colour { sides } else { 0 },
        sheets: if printed { options.sheets(release.pages) } else { 0 },
        duplex: options.duplex.two_sided(),
    }
}

async fn complete(printer: &AtPrinter, release: &Release, outcome: Outcome) -> anyhow::Result<(Completion, Completed)> {
    let completion = completion(release, outcome);
    let path = format!("/v1/device/jobs/{}/complete", release.job_id);
    let completed = api::json(printer.authorize(printer.api.post(&path)).json(&completion)).await?;
    Ok((completion, completed))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn release(options: serde_json::Value, pages: u32) -> Release {
        let options: shared::print::options::PrintOptions = serde_json::from_value(options).unwrap();
        Release {
            job_id: "j1".into(),
            lease_id: "l1".into(),
            document_url: "http://127.0.0.1/blobs/x".into(),
            lease_until: chrono::Utc::now(),
            pages,
            options: options.effective(),
        }
    }

    #[test]
    fn a_printed_job_counts_sides_by_colour_mode_and_sheets_by_duplex() {
        let mono = completion(
            &release(serde_json::json!({"copies": 2, "colourMode": "mono", "duplex": "longEdge"}), 3),
            Outcome::Printed,
        );
        assert_eq!((mono.mono_sides, mono.colour_sides, mono.sheets, mono.duplex), (6, 0, 4, true));
        let colour = completion(&release(serde_json::json!({"duplex": "simplex"}), 3), Outcome::Printed);
        assert_eq!((colour.mono_sides, colour.colour_sides, colour.sheets, colour.duplex), (0, 3, 3, false));
        let cancelled = completion(&release(serde_json::json!({}), 3), Outcome::Cancelled);
        assert_eq!((cancelled.mono_sides, cancelled.colour_sides, cancelled.sheets), (0, 0, 0));
    }

    #[test]
    fn a_download_must_match_the_pages_and_size_ingest_recorded() {
        let text = b"line one\nline two\n";
        assert_eq!(verify(text, &release(serde_json::json!({}), 1), None).unwrap(), DocumentFormat::Text);
        assert!(verify(text, &release(serde_json::json!({}), 2), None).unwrap_err().to_string().contains("pages"));
        assert!(verify(b"MZ\x90\x00\x03\x00\x00\x00", &release(serde_json::json!({}), 1), None).is_err());
    }
}
