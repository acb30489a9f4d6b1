//! `printcloud print`: submits files to the signed-in user's queue (source `LPMC`) — inline
//! up to the service's 5 MB allowance, through the answered upload URL above it, streamed
//! with a progress bar — then waits a while for ingest to tell each job's fate.

use super::api;
use super::session::{self, SignedIn};
use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use futures::Stream;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Deserialize;
use serde_json::json;
use shared::print::jobs::{Job, JobState};
use shared::print::options::PrintOptions;
use shared::print::submit::MAX_INLINE_BYTES;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::io::AsyncReadExt;

/// Bytes read from a file per chunk of an upload.
const UPLOAD_CHUNK: usize = 256 * 1024;

/// How an upload's progress bar looks.
const PROGRESS_TEMPLATE: &str = "{msg} [{bar:30}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta})";

/// How often the queue is read while waiting for ingest.
const POLL_INTERVAL: Duration = Duration::from_millis(500);

/// What to print and how.
#[derive(Clone, Debug, Default)]
pub struct PrintRequest {
    /// The files, each one job.
    pub files: Vec<PathBuf>,
    /// The job name (one file only); else each file's name.
    pub name: Option<String>,
    /// Print options; left-out ones come from the queue's defaults.
    pub options: PrintOptions,
    /// How long to wait for ingest; `None` does not wait.
    pub wait: Option<Duration>,
    /// Whether to draw a progress bar while uploading large files.
    pub show_progress: bool,
}

/// What became of one file.
#[derive(Debug)]
pub struct FileOutcome {
    /// The file.
    pub file: PathBuf,
    /// The job as last seen, or why it could not be submitted.
    pub job: anyhow::Result<Job>,
}

impl FileOutcome {
    /// Whether the file was submitted and not rejected.
    pub fn succeeded(&self) -> bool {
        self.job.as_ref().is_ok_and(|job| job.state != JobState::Rejected)
    }

    /// One line for people: name, state and pages, or the rejection or error.
    pub fn line(&self) -> String {
        let job = match &self.job {
            Ok(job) => job,
            Err(err) => return format!("{}: error: {err:#}", self.file.display()),
        };
        match (&job.state, &job.rejection, job.pages) {
            (JobState::Rejected, Some(rejection), _) => {
                format!("{}: Rejected: {} ({})", job.name, rejection.reason, rejection.code)
            }
            (JobState::Uploading, _, _) => format!("{}: Uploading (not ingested yet; see printcloud jobs)", job.name),
            (state, _, Some(1)) => format!("{}: {state:?}, 1 page", job.name),
            (state, _, Some(pages)) => format!("{}: {state:?}, {pages} pages", job.name),
            (state, _, None) => format!("{}: {state:?}", job.name),
        }
    }
}

/// The outcome of every file, in the order given.
#[derive(Debug)]
pub struct PrintReport {
    /// One per file.
    pub files: Vec<FileOutcome>,
}

impl PrintReport {
    /// Whether every file was submitted and none was rejected (the command's exit status).
    pub fn succeeded(&self) -> bool {
        self.files.iter().all(FileOutcome::succeeded)
    }
}

/// The submit endpoint's answer.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Submitted {
    job: Job,
    upload_url: Option<String>,
}

/// The queue endpoint's answer.
#[derive(Deserialize)]
struct Queue {
    items: Vec<Job>,
}

/// Submits every file of `request` as the user signed in in `config_dir`, then waits for
/// ingest if asked to. A file that fails does not stop the others.
pub async fn print(config_dir: &Path, request: &PrintRequest) -> anyhow::Result<PrintReport> {
    if request.files.is_empty() {
        bail!("name at least one file to print");
    }
    if request.name.is_some() && request.files.len() > 1 {
        bail!("--name names one job: give it with a single file");
    }
    let user = session::signed_in(config_dir).await?;
    let mut files = Vec::with_capacity(request.files.len());
    for file in &request.files {
        let job = submit_file(&user, file, request).await;
        files.push(FileOutcome { file: file.clone(), job });
    }
    if let Some(limit) = request.wait {
        wait_for_ingest(&user, &mut files, limit).await?;
    }
    Ok(PrintReport { files })
}

/// Submits one file; answers its job.
async fn submit_file(user: &SignedIn, file: &Path, request: &PrintRequest) -> anyhow::Result<Job> {
    let size = tokio::fs::metadata(file).await?.len();
    let name = match &request.name {
        Some(name) => name.clone(),
        None => file.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default(),
    };
    let mut body = json!({"name": name, "source": "LPMC", "options": request.options});
    let inline = usize::try_from(size).is_ok_and(|size| size <= MAX_INLINE_BYTES);
    if inline {
        body["document"] = json!(STANDARD.encode(tokio::fs::read(file).await?));
    }
    let path = format!("/v1/orgs/{}/jobs", user.session.org_id);
    let submitted: Submitted = api::json(user.authorize(user.api.post(&path)).json(&body)).await?;
    if let Some(url) = &submitted.upload_url {
        let bar = progress_bar(&name, size, request.show_progress);
        upload(user.api.http(), url, file, size, &bar).await.context("uploading the document")?;
        bar.finish_and_clear();
    }
    Ok(submitted.job)
}

/// A byte-counting progress bar of an upload, or a hidden one.
fn progress_bar(name: &str, size: u64, visible: bool) -> ProgressBar {
    if !visible {
        return ProgressBar::hidden();
    }
    let style = ProgressStyle::with_template(PROGRESS_TEMPLATE)
        .map(|style| style.progress_chars("=> "))
        .unwrap_or_else(|_| ProgressStyle::default_bar());
    ProgressBar::new(size).with_style(style).with_message(name.to_string())
}

/// Streams `file` (`size` bytes) to the presigned `url`, advancing `bar` as bytes are sent.
async fn upload(http: &reqwest::Client, url: &str, file: &Path, size: u64, bar: &ProgressBar) -> anyhow::Result<()> {
    let reader = tokio::fs::File::open(file).await?;
    let body = reqwest::Body::wrap_stream(counted_chunks(reader, bar.clone()));
    api::send(http.put(url).header(reqwest::header::CONTENT_LENGTH, size).body(body)).await?;
    Ok(())
}

/// The file's bytes in chunks, each counted on `bar` as the request body takes it.
fn counted_chunks(file: tokio::fs::File, bar: ProgressBar) -> impl Stream<Item = std::io::Result<Bytes>> {
    futures::stream::try_unfold((file, bar), |(mut file, bar)| async move {
        let mut chunk = vec![0; UPLOAD_CHUNK];
        let read = file.read(&mut chunk).await?;
        if read == 0 {
            return Ok(None);
        }
        chunk.truncate(read);
        bar.inc(read as u64);
        Ok(Some((Bytes::from(chunk), (file, bar))))
    })
}

/// Reads the queue until no submitted job is `Uploading` any more, or `limit` passes.
async fn wait_for_ingest(user: &SignedIn, files: &mut [FileOutcome], limit: Duration) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + limit;
    while files.iter().any(uploading) && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(POLL_INTERVAL).await;
        let queue: Queue = api::json(user.authorize(user.api.get("/v1/me/jobs"))).await?;
        let mut latest: HashMap<String, Job> = queue.items.into_iter().map(|job| (job.id.clone(), job)).collect();
        for outcome in files.iter_mut() {
            if let Ok(job) = &mut outcome.job
                && let Some(seen) = latest.remove(&job.id)
            {
                *job = seen;
            }
        }
    }
    Ok(())
}

fn uploading(outcome: &FileOutcome) -> bool {
    outcome.job.as_ref().is_ok_and(|job| job.state == JobState::Uploading)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_progress_bar_counts_bytes_and_hides_when_not_on_a_terminal() {
        assert!(ProgressStyle::with_template(PROGRESS_TEMPLATE).is_ok());
        assert!(progress_bar("big.pdf", 10, false).is_hidden());
        assert_eq!(progress_bar("big.pdf", 10, true).length(), Some(10));
    }

    #[tokio::test]
    async fn uploads_stream_the_file_in_counted_chunks() {
        use futures::TryStreamExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.bin");
        let bytes: Vec<u8> = (0..UPLOAD_CHUNK * 2 + 7).map(|n| (n % 251) as u8).collect();
        std::fs::write(&path, &bytes).unwrap();
        let bar = ProgressBar::hidden();
        bar.set_length(bytes.len() as u64);
        let file = tokio::fs::File::open(&path).await.unwrap();
        let chunks: Vec<Bytes> = counted_chunks(file, bar.clone()).try_collect().await.unwrap();
        assert_eq!(chunks.len(), 3);
        assert_eq!(chunks.concat(), bytes);
        assert_eq!(bar.position(), bytes.len() as u64);
    }
}
