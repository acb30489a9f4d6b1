//! Solution Center benchmark (issue [8 of 8]): OCR + redact + footer of a scanned
//! `<pages>`-page document under `serve` (embedded storage, Tesseract), wall time split by
//! step.
//!
//! The document is the Dutch letter of the end-to-end tests, rasterised at 200 dpi in grey
//! and wrapped as a PDF of page images (no text layer), as a scanner sends it. The solution
//! is OCR → DOCX, redaction (every pattern PII type and a custom expression), a footer and a
//! download destination. The runner uses the system clock, so each step's `startedAt` and
//! `finishedAt` in the run are real: a step's time is between the two, and "queue" is the
//! hand-over time between steps (a step done → the next one claimed from the queue).
//!
//! Run: `cargo run --release -p e2e --bin bench-solution [-- <pages> <runs>]` (defaults 10, 3).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use e2e::Storage;
use e2e::solution_env::{REDACTED, scanned_letter_pdf, solution_env_with};
use serde_json::{Value, json};
use shared::ports::SystemClock;
use shared::solutions::detectors::PiiType;
use shared::solutions::docx;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let pages: usize = std::env::args().nth(1).map(|a| a.parse()).transpose()?.unwrap_or(10);
    let runs: usize = std::env::args().nth(2).map(|a| a.parse()).transpose()?.unwrap_or(3);
    let env = solution_env_with(Storage::Embedded, |options| options.clock = Arc::new(SystemClock)).await;
    let unlimited = json!({"kind": "unlimited"});
    env.send_ok(
        "PUT",
        "/solution-quotas",
        json!({"default": {"ocr": unlimited, "redact": unlimited, "translate": unlimited}}),
    )
    .await;
    let solution = env
        .send_ok(
            "POST",
            "/solutions",
            json!({"name": "Bench", "type": "organisational", "steps": [{"items": [
                {"type": "ocr", "format": "docx", "locked": true},
                {"type": "redact", "language": "nl", "pii": PiiType::PATTERNS,
                 "custom": [{"text": "DOS-\\d{4}-\\d{4}", "mode": "advanced"}], "locked": true},
                {"type": "footer", "text": "Vertrouwelijk", "locked": true},
                {"type": "download"}
            ]}]}),
        )
        .await;
    let document = scanned_letter_pdf(pages);
    println!("document: {pages} scanned pages, {:.1} MB PDF of 200 dpi grey images", document.len() as f64 / 1e6);
    let token = env.user_token().await;
    let url = env.org_url(&format!("/solutions/{}/runs", solution["id"].as_str().unwrap()));
    let mut rows = Vec::new();
    for round in 1..=runs {
        let started = Instant::now();
        let body = json!({"fileName": "scan.pdf", "document": STANDARD.encode(&document)});
        let answer: Value = env.http.post(&url).bearer_auth(&token).json(&body).send().await?.json().await?;
        let run_id = answer["run"]["id"].as_str().ok_or_else(|| anyhow::anyhow!("no run: {answer}"))?.to_string();
        let accepted = started.elapsed();
        let run = follow(&env, &token, &run_id, started).await?;
        let total = started.elapsed();
        anyhow::ensure!(run["status"] == "succeeded", "the run failed: {run:#}");
        check_result(&env, &run).await?;
        let (steps, queue) = step_times(&run)?;
        let characters = run["steps"][0]["characters"].as_u64().unwrap_or(0);
        println!(
            "run {round}: accepted {:.0} ms, ocr {:.3} s, redact {:.3} s, footer {:.3} s, download {:.3} s, \
             queue hand-overs {:.3} s, total {:.2} s ({characters} characters)",
            accepted.as_secs_f64() * 1e3,
            steps[0].as_secs_f64(),
            steps[1].as_secs_f64(),
            steps[2].as_secs_f64(),
            steps[3].as_secs_f64(),
            queue.as_secs_f64(),
            total.as_secs_f64()
        );
        let steps = steps.into_iter().chain([queue]).collect();
        rows.push(Row { accepted, steps, total });
    }
    summary(pages, &rows);
    Ok(())
}

/// Polls the run until it finishes; answers it.
async fn follow(env: &e2e::print_env::PrintEnv, token: &str, run_id: &str, started: Instant) -> anyhow::Result<Value> {
    let url = env.org_url(&format!("/runs/{run_id}"));
    loop {
        let run: Value = env.http.get(&url).bearer_auth(token).send().await?.json().await?;
        if matches!(run["status"].as_str(), Some("succeeded" | "failed")) {
            return Ok(run);
        }
        anyhow::ensure!(started.elapsed() < Duration::from_secs(600), "the run took over 10 minutes");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Each step's time (started → finished) and the summed hand-over time between steps.
fn step_times(run: &Value) -> anyhow::Result<(Vec<Duration>, Duration)> {
    let time = |step: &Value, field: &str| -> anyhow::Result<DateTime<Utc>> {
        Ok(step[field].as_str().ok_or_else(|| anyhow::anyhow!("a step without {field}"))?.parse()?)
    };
    let steps = run["steps"].as_array().ok_or_else(|| anyhow::anyhow!("no steps"))?;
    let mut times = Vec::new();
    let mut queue = chrono::Duration::zero();
    for (index, step) in steps.iter().enumerate() {
        times.push((time(step, "finishedAt")? - time(step, "startedAt")?).to_std()?);
        if index > 0 {
            queue += time(step, "startedAt")? - time(&steps[index - 1], "finishedAt")?;
        }
    }
    Ok((times, queue.to_std()?))
}

/// The downloaded DOCX holds the letter's text, without what redaction removes.
async fn check_result(env: &e2e::print_env::PrintEnv, run: &Value) -> anyhow::Result<()> {
    let link = run["downloads"][0]["url"].as_str().ok_or_else(|| anyhow::anyhow!("no download link"))?;
    let bytes = env.http.get(link).send().await?.bytes().await?;
    let text = docx::body_text(&bytes)?;
    anyhow::ensure!(text.contains("Geachte heer Jansen"), "the letter's text is missing:\n{text}");
    for gone in REDACTED {
        anyhow::ensure!(!text.contains(gone), "{gone} was not redacted");
    }
    Ok(())
}

/// One measured run: the POST, each step (and the queue hand-overs), the whole run.
struct Row {
    accepted: Duration,
    steps: Vec<Duration>,
    total: Duration,
}

fn summary(pages: usize, rows: &[Row]) {
    let mean = |pick: &dyn Fn(&Row) -> Duration| {
        rows.iter().map(|row| pick(row).as_secs_f64()).sum::<f64>() / rows.len() as f64
    };
    println!(
        "\nbench-solution summary ({pages} pages, {} runs, serve on embedded storage, Tesseract eng+nld)",
        rows.len()
    );
    println!("  command line: cargo run --release -p e2e --bin bench-solution -- {pages} {}", rows.len());
    println!("  step              mean s");
    println!("  accepted (POST)   {:.3}", mean(&|r| r.accepted));
    for (index, name) in ["ocr", "redact", "footer", "download", "queue hand-overs"].iter().enumerate() {
        println!("  {name:<17} {:.3}", mean(&|r| r.steps[index]));
    }
    println!("  total             {:.3}", mean(&|r| r.total));
}
