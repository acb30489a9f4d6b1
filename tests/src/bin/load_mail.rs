//! Load generator for email-to-print under `serve` (issue [6 of 8]): mails with a 1 MB PDF
//! attachment sent over SMTP to the runner's listener, measured from the first SMTP
//! transaction until every mail's job is `Held` — the whole path: SMTP accept, the raw
//! mail stored under `mail/`, `email-inbound` (parse, route, one job with its document),
//! and ingest in `job-submit` (format, page count, policy).
//!
//! Starts the one-process runner on a temporary data directory (embedded storage) with
//! its SMTP listener, turns e-mail submission on, and makes enough registered print users
//! that none sends more than [`MAILS_PER_SENDER`] mails (the per-sender hourly limit is
//! higher). `<connections>` SMTP clients then send `<mails>` mails as fast as they are
//! accepted, one mail per transaction; each transaction is timed, and the generator polls
//! the senders' queues until all jobs are held. Any refused mail or rejected job fails
//! the run.
//!
//! Run: `cargo run --release -p e2e --bin load-mail [-- <mails> <connections>]`

use e2e::mail_env::{Attached, raw_mail};
use e2e::measured::Measured;
use e2e::print_env::pdf_drawing;
use e2e::{ADMIN_EMAIL, ADMIN_PASSWORD, access_token, options, start_with};
use lettre::address::Envelope;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use printcloud::serve::Running;
use reqwest::Client;
use serde_json::{Value, json};
use shared::print::jobs::{self, JobState};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Most mails one sender sends in a run.
const MAILS_PER_SENDER: usize = 40;
/// The print address's local part.
const LOCAL_PART: &str = "load";
/// Size of the attached PDF.
const PDF_BYTES: usize = 1024 * 1024;

/// A valid PDF of `pages` pages, padded to about `size` bytes by the content stream they share.
fn padded_pdf(pages: usize, size: usize) -> Vec<u8> {
    pdf_drawing(pages, Some(&"0 0 m 1 1 l S\n".repeat(size / 14)))
}

/// Sends `path` of the organisation as the administrator; fails on anything but success.
async fn admin_call(
    http: &Client,
    running: &Running,
    token: &str,
    method: reqwest::Method,
    path: &str,
    body: Value,
) -> anyhow::Result<Value> {
    let response = http.request(method, format!("{}{path}", running.url)).bearer_auth(token).json(&body).send().await?;
    let status = response.status();
    let text = response.text().await?;
    anyhow::ensure!(status.is_success(), "{path}: {status} {text}");
    Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Prepares the organisation; answers its id and the senders' (address, user id).
async fn set_up(running: &Running, senders: usize) -> anyhow::Result<(String, Vec<(String, String)>)> {
    let http = Client::new();
    let token = access_token(&running.url, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let me = admin_call(&http, running, &token, reqwest::Method::GET, "/v1/me", Value::Null).await?;
    let org = me["organisation"]["id"].as_str().unwrap_or_default().to_string();
    let admin_id = me["user"]["id"].as_str().unwrap_or_default();
    let base = format!("/v1/orgs/{org}");
    let roles = json!({"roles": ["Organization Administrator", "Print Release Management Administrator"]});
    admin_call(&http, running, &token, reqwest::Method::PUT, &format!("{base}/roles/users/{admin_id}"), roles).await?;
    let everyone = json!({"roles": ["Print Release Management User"]});
    admin_call(&http, running, &token, reqwest::Method::PUT, &format!("{base}/roles/org"), everyone).await?;
    let token = access_token(&running.url, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let email = json!({"emailSubmission": true, "emailLocalPart": LOCAL_PART});
    admin_call(&http, running, &token, reqwest::Method::PUT, &format!("{base}/settings/print"), email).await?;
    let mut users = Vec::new();
    for n in 0..senders {
        let address = format!("sender{n}@load.example");
        let user = admin_call(
            &http,
            running,
            &token,
            reqwest::Method::POST,
            &format!("{base}/users"),
            json!({"email": address}),
        )
        .await?;
        users.push((address, user["id"].as_str().unwrap_or_default().to_string()));
    }
    Ok((org, users))
}

/// Held jobs of the senders, failing on a rejected one.
async fn held_jobs(running: &Running, org: &str, senders: &[(String, String)]) -> anyhow::Result<usize> {
    let mut held = 0;
    for (_, user) in senders {
        for job in jobs::queue_of(&running.ctx, org, user, false).await.map_err(|p| anyhow::anyhow!(p.detail))? {
            anyhow::ensure!(job.state != JobState::Rejected, "job {} was rejected: {:?}", job.id, job.rejection);
            held += usize::from(job.state == JobState::Held);
        }
    }
    Ok(held)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1).map(|a| a.parse::<usize>());
    let mails = args.next().transpose()?.unwrap_or(500).max(1);
    let connections = args.next().transpose()?.unwrap_or(8).max(1);
    let dir = tempfile::tempdir()?;
    let mut serve_options = options(dir.path());
    serve_options.smtp = Some("127.0.0.1:0".parse()?);
    let running = start_with(serve_options).await;
    let smtp = running.smtp_addr.ok_or_else(|| anyhow::anyhow!("no SMTP listener"))?;
    let (org, senders) = set_up(&running, mails.div_ceil(MAILS_PER_SENDER)).await?;
    let to = format!("{LOCAL_PART}@{}", running.ctx.config.mail_domain);
    let pdf = padded_pdf(4, PDF_BYTES);
    let mail_bytes: Vec<Arc<Vec<u8>>> = senders
        .iter()
        .map(|(from, _)| {
            let attachment = Attached { name: "document.pdf", mime: "application/pdf", bytes: &pdf };
            Arc::new(raw_mail(from, &to, "Load", "Please print.", &[attachment]))
        })
        .collect();
    println!(
        "{} senders, {mails} mails of {:.2} MB (a {:.2} MB PDF), {connections} SMTP connections",
        senders.len(),
        mail_bytes[0].len() as f64 / 1e6,
        pdf.len() as f64 / 1e6
    );
    let transport: AsyncSmtpTransport<Tokio1Executor> =
        AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(smtp.ip().to_string()).port(smtp.port()).build();
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut clients = tokio::task::JoinSet::new();
    for _ in 0..connections {
        let (transport, next, mail_bytes, senders, to) =
            (transport.clone(), next.clone(), mail_bytes.clone(), senders.clone(), to.clone());
        clients.spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= mails {
                    return anyhow::Ok(latencies);
                }
                let sender = n % senders.len();
                let envelope = Envelope::new(Some(senders[sender].0.parse()?), vec![to.parse()?])?;
                let sent = Instant::now();
                transport.send_raw(&envelope, &mail_bytes[sender]).await?;
                latencies.push(sent.elapsed());
            }
        });
    }
    let mut accepted = Vec::new();
    while let Some(done) = clients.join_next().await {
        accepted.extend(done??);
    }
    let accepted = Measured::new(accepted, started.elapsed());
    loop {
        let held = held_jobs(&running, &org, &senders).await?;
        if held >= mails {
            break;
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(600),
            "only {held} of {mails} jobs held after 10 minutes"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let whole = started.elapsed();
    println!("\nload-mail summary (serve, embedded storage)");
    println!("  as cargo: cargo run --release -p e2e --bin load-mail -- {mails} {connections}");
    println!("  measurement                                    count     per s    p50 ms    p99 ms    max ms");
    println!("{}", accepted.row("SMTP transaction (MAIL .. DATA accepted)"));
    println!(
        "  end to end: {mails} mails accepted and their jobs held in {:.2} s = {:.1} mails/s",
        whole.as_secs_f64(),
        mails as f64 / whole.as_secs_f64()
    );
    running.shutdown().await;
    Ok(())
}
