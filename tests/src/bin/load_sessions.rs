//! Load generator for printer sign-in (`POST /v1/device/sessions`) under `serve`.
//!
//! Starts the one-process runner on a temporary data directory, sets up an organisation
//! with badge and PIN login, `USERS` users each with a PIN and a badge, and an
//! application token with the `badges-auth` scope; then `CLIENTS` concurrent clients sign
//! users in by PIN and by badge for a fixed number of requests each, and prints p50/p99
//! latency and sessions per second for each method.
//!
//! Run: `cargo run --release -p e2e --bin load-sessions [-- <clients> <requests per client>]`

use e2e::{ADMIN_EMAIL, ADMIN_PASSWORD, access_token, options, start_with};
use reqwest::Client;
use serde_json::{Value, json};
use shared::identity::tokens::{NewToken, TokenKind};
use std::time::{Duration, Instant};

const USERS: usize = 200;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let clients: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(16);
    let per_client: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(500);
    let dir = tempfile::tempdir()?;
    let running = start_with(options(dir.path())).await;
    let http = Client::builder().pool_max_idle_per_host(clients).build()?;
    let admin = access_token(&running.url, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let me: Value = http.get(format!("{}/v1/me", running.url)).bearer_auth(&admin).send().await?.json().await?;
    let org = me["organisation"]["id"].as_str().unwrap_or_default().to_string();
    let org_url = format!("{}/v1/orgs/{org}", running.url);
    let config =
        json!({"mode": "standard", "methods": ["badge", "pin"], "pinLength": 6, "pinGeneration": "setByAdmin"});
    ensure(http.put(format!("{org_url}/settings/printer-login")).bearer_auth(&admin).json(&config).send().await?)
        .await?;
    for i in 0..USERS {
        let user: Value = ensure(
            http.post(format!("{org_url}/users"))
                .bearer_auth(&admin)
                .json(&json!({"email": format!("u{i}@load.test")}))
                .send()
                .await?,
        )
        .await?
        .json()
        .await?;
        let id = user["id"].as_str().unwrap_or_default();
        let pin = json!({"pin": format!("{:06}", 100_000 + i)});
        ensure(http.put(format!("{org_url}/users/{id}/pin")).bearer_auth(&admin).json(&pin).send().await?).await?;
        let badge = json!({"userId": id, "badge": format!("BADGE{i:05}")});
        ensure(http.post(format!("{org_url}/badges")).bearer_auth(&admin).json(&badge).send().await?).await?;
    }
    let device = NewToken {
        sub: "load-client".into(),
        org: org.clone(),
        kind: TokenKind::Client,
        scope: vec!["badges-auth".into()],
        jti: "load".into(),
        printer: None,
        agent: None,
        family: None,
        roles: Vec::new(),
    };
    let token = running.ctx.tokens.issue(device, chrono::Duration::hours(1), chrono::Utc::now())?;
    println!("printer sign-in under serve: {clients} concurrent clients × {per_client} requests, {USERS} users");
    for method in ["pin", "badge"] {
        run(&http, &running.url, &token, method, clients, per_client).await?;
    }
    running.shutdown().await;
    Ok(())
}

async fn ensure(response: reqwest::Response) -> anyhow::Result<reqwest::Response> {
    if !response.status().is_success() {
        anyhow::bail!("set-up request failed: {} {}", response.status(), response.text().await?);
    }
    Ok(response)
}

async fn run(
    http: &Client,
    url: &str,
    token: &str,
    method: &str,
    clients: usize,
    per_client: usize,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let mut tasks = Vec::new();
    for client in 0..clients {
        let (http, url, token, method) = (http.clone(), url.to_string(), token.to_string(), method.to_string());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(per_client);
            for n in 0..per_client {
                let i = (client * per_client + n) % USERS;
                let body = match method.as_str() {
                    "pin" => json!({"printerId": format!("printer-{client}"), "pin": format!("{:06}", 100_000 + i)}),
                    _ => json!({"printerId": format!("printer-{client}"), "badge": format!("BADGE{i:05}")}),
                };
                let sent = Instant::now();
                let response =
                    http.post(format!("{url}/v1/device/sessions")).bearer_auth(&token).json(&body).send().await?;
                let status = response.status();
                response.bytes().await?;
                latencies.push(sent.elapsed());
                if !status.is_success() {
                    anyhow::bail!("sign-in by {method} answered {status}");
                }
            }
            Ok::<_, anyhow::Error>(latencies)
        }));
    }
    let mut all: Vec<Duration> = Vec::new();
    for task in tasks {
        all.extend(task.await??);
    }
    let elapsed = started.elapsed();
    all.sort();
    let pick = |q: f64| all[((all.len() as f64 * q) as usize).min(all.len() - 1)];
    println!(
        "  by {method:5}: {} sessions in {:.2} s = {:.0} sessions/s; p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        all.len(),
        elapsed.as_secs_f64(),
        all.len() as f64 / elapsed.as_secs_f64(),
        pick(0.50).as_secs_f64() * 1000.0,
        pick(0.99).as_secs_f64() * 1000.0,
        all.last().map_or(0.0, |d| d.as_secs_f64() * 1000.0),
    );
    Ok(())
}
