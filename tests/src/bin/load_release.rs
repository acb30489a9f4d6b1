//! Load generator for secure pull printing's release path under `serve`: a user's session
//! at a printer (`POST /v1/device/sessions`), the job list (`GET /v1/device/jobs`), a
//! release (`POST /v1/device/jobs/{id}/release`) and its completion
//! (`POST /v1/device/jobs/{id}/complete`).
//!
//! Starts the one-process runner on a temporary data directory (embedded storage), gives the
//! administrator the Print Release Management Administrator role and every user the Print
//! Release Management User role, enrolls `<printers>` printers with the Print Release eSF
//! app, and makes for each printer enough users, each with a badge, that every user
//! releases at most [`QUEUE_DEPTH`] − 1 jobs. Each user's queue is filled with
//! [`QUEUE_DEPTH`] held jobs written straight to storage (a small document blob and a
//! `Held` job with pages and options, as ingest leaves it), so job lists stay as short as
//! people's queues are. Then each printer, in turn for its users, signs a user in by badge,
//! lists, releases the first job and completes it as printed, `<releases per printer>`
//! times, all printers at once; each call is timed on its own and completed releases per
//! second are counted over the whole run. Any answer but success fails the run. Last,
//! apart from the measured run, each printer releases one more job of its first user and
//! fetches its document [`DOWNLOADS`] times from the presigned URL.
//!
//! The printers are paced so that together they start `<releases/s>` release cycles a
//! second, spread evenly (printer `i` starts its `n`-th cycle at `(n + i / printers) ×
//! printers / rate` seconds): the latencies are those of a service carrying that load.
//! A printer whose cycle ends late starts the next one at once, and the run counts those
//! late starts. A rate of `0` runs every printer flat out instead, which measures the most
//! releases a second the machine can complete.
//!
//! With `<quotas>` 1, print quotas are on (a default quota of a billion sides a month): each
//! release reserves its sides in the lease's transaction and each completion is settled by
//! `quota-debit` through the `quota-events` queue while the run goes on. After the run a
//! burst of [`SETTLEMENT_BURST`] reservations is written to storage and their printed
//! events queued at once; the time until `quota-debit` has settled all of them gives the
//! settlements per second the queue handler sustains.
//!
//! Run: `cargo run --release -p e2e --bin load-release [-- <printers> <releases per printer> <releases/s> <quotas>]`

use bytes::Bytes;
use e2e::measured::Measured;
use e2e::print_env::{held_job, store_held};
use e2e::{ADMIN_EMAIL, ADMIN_PASSWORD, access_token, eventually, options, start_with};
use printcloud::serve::Running;
use reqwest::{Client, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Concurrent clients while setting up users, badges and printers.
const SETUP_CLIENTS: usize = 16;
/// Times each printer fetches the document of its last release.
const DOWNLOADS: usize = 20;
/// Most pages of a filled job (job `n` has `1 + n % MAX_PAGES`).
const MAX_PAGES: usize = 5;
/// Held jobs in each user's queue before the run.
const QUEUE_DEPTH: usize = 5;
/// Reservations settled in the burst after the run, with quotas on.
const SETTLEMENT_BURST: usize = 10_000;

/// What the command line asks for.
struct Settings {
    /// Simulated printers, each releasing for its own user.
    printers: usize,
    /// Jobs each printer releases and completes in the measured run.
    releases: usize,
    /// Release cycles started per second by all printers together; `None` runs flat out.
    rate: Option<f64>,
    /// Print quotas on: releases reserve and completions settle.
    quotas: bool,
}

impl Settings {
    /// `[printers] [releases per printer] [releases/s] [quotas]`, defaults 50, 40, 500, 0.
    fn from_args() -> anyhow::Result<Self> {
        let mut args = std::env::args().skip(1);
        let mut next = |default: usize| -> anyhow::Result<usize> {
            Ok(args.next().map(|a| a.parse()).transpose()?.unwrap_or(default))
        };
        let (printers, releases, rate, quotas) = (next(50)?.max(1), next(40)?.max(1), next(500)?, next(0)?);
        Ok(Settings { printers, releases, rate: (rate > 0).then_some(rate as f64), quotas: quotas == 1 })
    }

    /// Time between the cycle starts of one printer, when paced.
    fn period(&self) -> Option<Duration> {
        self.rate.map(|rate| Duration::from_secs_f64(self.printers as f64 / rate))
    }

    /// The rate as the command line gives it.
    fn rate_arg(&self) -> u64 {
        self.rate.map_or(0, |rate| rate as u64)
    }

    /// Users taking turns at each printer: enough that none releases more than
    /// [`QUEUE_DEPTH`] − 1 jobs, leaving one for the download phase.
    fn users_per_printer(&self) -> usize {
        self.releases.div_ceil(QUEUE_DEPTH - 1)
    }
}

/// The first administrator's view of the organisation the load runs in.
struct Admin {
    http: Client,
    url: String,
    token: String,
    org: String,
    id: String,
}

impl Admin {
    async fn sign_in(running: &Running, http: Client) -> anyhow::Result<Self> {
        let token = access_token(&running.url, ADMIN_EMAIL, ADMIN_PASSWORD).await;
        let me: Value = http.get(format!("{}/v1/me", running.url)).bearer_auth(&token).send().await?.json().await?;
        let org = me["organisation"]["id"].as_str().unwrap_or_default().to_string();
        let id = me["user"]["id"].as_str().unwrap_or_default().to_string();
        Ok(Admin { http, url: running.url.clone(), token, org, id })
    }

    /// Sends `body` to the organisation's `path` with `method`, answering the JSON of a
    /// success (`null` for an empty one).
    async fn send(&self, method: reqwest::Method, path: &str, body: Value) -> anyhow::Result<Value> {
        let url = format!("{}/v1/orgs/{}/{path}", self.url, self.org);
        let text = ensure(self.http.request(method, url).bearer_auth(&self.token).json(&body).send().await?)
            .await?
            .text()
            .await?;
        Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn post(&self, path: &str, body: Value) -> anyhow::Result<Value> {
        self.send(reqwest::Method::POST, path, body).await
    }

    /// Turns print quotas on with a default quota no run reaches, so every release
    /// reserves and every completion settles.
    async fn turn_on_quotas(&self) -> anyhow::Result<()> {
        self.send(reqwest::Method::PUT, "settings/print", json!({"printQuotas": true})).await?;
        let limits = json!({"kind": "sameEveryMonth", "limits": {"total": {"kind": "limit", "sides": 1_000_000_000},
            "colour": {"kind": "allow"}}});
        self.send(reqwest::Method::PUT, "quota-default", json!({"limits": limits})).await?;
        Ok(())
    }

    /// Gives the administrator the Print Release Management Administrator role and every
    /// user the Print Release Management User role, then signs in again for a token that
    /// carries the new roles.
    async fn grant_print_roles(&mut self) -> anyhow::Result<()> {
        let roles = json!({"roles": ["Organization Administrator", "Print Release Management Administrator"]});
        self.send(reqwest::Method::PUT, &format!("roles/users/{}", self.id), roles).await?;
        self.send(reqwest::Method::PUT, "roles/org", json!({"roles": ["Print Release Management User"]})).await?;
        self.token = access_token(&self.url, ADMIN_EMAIL, ADMIN_PASSWORD).await;
        Ok(())
    }
}

/// One simulated printer and the users who release at it.
#[derive(Clone)]
struct Station {
    device_token: String,
    users: Vec<Releaser>,
}

/// A user with a badge.
#[derive(Clone)]
struct Releaser {
    badge: String,
    user_id: String,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let settings = Settings::from_args()?;
    let dir = tempfile::tempdir()?;
    let running = start_with(options(dir.path())).await;
    let http = Client::builder().pool_max_idle_per_host(settings.printers.max(SETUP_CLIENTS)).build()?;
    let mut admin = Admin::sign_in(&running, http).await?;
    let started = Instant::now();
    admin.grant_print_roles().await?;
    if settings.quotas {
        admin.turn_on_quotas().await?;
    }
    let stations = Arc::new(set_up_stations(&admin, &settings).await?);
    let users = settings.printers * settings.users_per_printer();
    println!(
        "set up {users} users with badges and {} Print Release eSF printers over HTTP in {:.2} s",
        settings.printers,
        secs(started)
    );
    let started = Instant::now();
    fill_queues(&running, &admin.org, &stations).await?;
    println!(
        "wrote {} held jobs ({QUEUE_DEPTH} per user) with their documents to storage in {:.2} s",
        users * QUEUE_DEPTH,
        secs(started)
    );
    let run = release_load(&admin, stations.clone(), &settings).await?;
    let settled = if settings.quotas { Some(settle_all(&running, &admin.org, &stations).await?) } else { None };
    let downloads = download_load(&admin, stations, &settings).await?;
    summary(&settings, &run, &downloads);
    if let Some(burst) = settled {
        println!("{}", burst.row(&format!("settlement burst ({SETTLEMENT_BURST} queued at once)")));
    }
    running.shutdown().await;
    Ok(())
}

fn secs(since: Instant) -> f64 {
    since.elapsed().as_secs_f64()
}

async fn ensure(response: reqwest::Response) -> anyhow::Result<reqwest::Response> {
    if !response.status().is_success() {
        anyhow::bail!("set-up request failed: {} {}", response.status(), response.text().await?);
    }
    Ok(response)
}

/// Runs `work(0..jobs)` on `workers` concurrent tasks; answers the outputs in job order.
async fn run_all<T, F, Fut>(workers: usize, jobs: usize, work: F) -> anyhow::Result<Vec<T>>
where
    T: Send + 'static,
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = anyhow::Result<T>> + Send,
{
    let work = Arc::new(work);
    let mut tasks = Vec::new();
    for worker in 0..workers.min(jobs) {
        let work = work.clone();
        tasks.push(tokio::spawn(async move {
            let mut done = Vec::new();
            for job in (worker..jobs).step_by(workers) {
                done.push((job, work(job).await?));
            }
            Ok::<_, anyhow::Error>(done)
        }));
    }
    let mut all = Vec::with_capacity(jobs);
    for task in tasks {
        all.extend(task.await??);
    }
    all.sort_by_key(|(job, _)| *job);
    Ok(all.into_iter().map(|(_, output)| output).collect())
}

/// Enrolls printer `i` with the organisation's code, for every `i < printers`, and makes
/// its users, user `j` of printer `i` with badge `i × users per printer + j`.
async fn set_up_stations(admin: &Admin, settings: &Settings) -> anyhow::Result<Vec<Station>> {
    let code = admin.post("enrollment-codes", json!({"kind": "organisation"})).await?;
    let code = code["code"].as_str().unwrap_or_default().to_string();
    let per_printer = settings.users_per_printer();
    let (http, url, token, org) = (admin.http.clone(), admin.url.clone(), admin.token.clone(), admin.org.clone());
    let org_url = format!("{url}/v1/orgs/{org}");
    let users = run_all(SETUP_CLIENTS, settings.printers * per_printer, move |n| {
        let (http, token, org_url) = (http.clone(), token.clone(), org_url.clone());
        async move {
            let user = json!({"email": format!("releaser{n}@load.test"), "displayName": format!("Releaser {n}")});
            let user: Value =
                ensure(http.post(format!("{org_url}/users")).bearer_auth(&token).json(&user).send().await?)
                    .await?
                    .json()
                    .await?;
            let user_id = user["id"].as_str().unwrap_or_default().to_string();
            let badge = format!("BADGE{n:06}");
            let body = json!({"userId": user_id, "badge": badge});
            ensure(http.post(format!("{org_url}/badges")).bearer_auth(&token).json(&body).send().await?).await?;
            Ok(Releaser { badge, user_id })
        }
    })
    .await?;
    let http = admin.http.clone();
    let url = admin.url.clone();
    let tokens = run_all(SETUP_CLIENTS, settings.printers, move |i| {
        let (http, url, code) = (http.clone(), url.clone(), code.clone());
        async move { enroll(&http, &url, &code, i).await }
    })
    .await?;
    let users = users.chunks(per_printer).map(<[Releaser]>::to_vec);
    Ok(tokens.into_iter().zip(users).map(|(device_token, users)| Station { device_token, users }).collect())
}

/// Enrolls printer `i` with the Print Release eSF app; answers its device token.
async fn enroll(http: &Client, url: &str, code: &str, i: usize) -> anyhow::Result<String> {
    let printer = json!({"serialNumber": format!("REL{i:05}"), "model": "CX825", "manufacturer": "Lexmark",
        "ipAddress": format!("10.9.{}.{}", i / 250, i % 250 + 1), "releaseApp": "Print Release eSF"});
    let enrolled: Value =
        ensure(http.post(format!("{url}/v1/enroll")).json(&json!({"code": code, "printer": printer})).send().await?)
            .await?
            .json()
            .await?;
    let credential = &enrolled["credential"];
    let grant = json!({"grant_type": "client_credentials", "client_id": credential["clientId"],
        "client_secret": credential["clientSecret"]});
    let answer: Value =
        ensure(http.post(format!("{url}/oauth/token")).json(&grant).send().await?).await?.json().await?;
    Ok(answer["access_token"].as_str().unwrap_or_default().to_string())
}

/// A small document as the printers would fetch it.
fn document() -> Bytes {
    let mut text = b"%PDF-1.4\n".to_vec();
    text.extend_from_slice(&b"% load-release document padding line\n".repeat(50));
    text.extend_from_slice(b"%%EOF\n");
    Bytes::from(text)
}

/// Writes [`QUEUE_DEPTH`] held jobs with their documents into each station user's queue,
/// as ingest would leave them; then waits for the ingest queue the document writes
/// notified to drain (ingest leaves a held job as it is).
async fn fill_queues(running: &Running, org: &str, stations: &[Station]) -> anyhow::Result<()> {
    let ctx = &running.ctx;
    let settings = shared::print::settings::get(ctx, org).await.map_err(|p| anyhow::anyhow!("{p:?}"))?;
    let expires_at = chrono::Utc::now() + settings.job_retention.duration();
    let bytes = document();
    let mut jobs = Vec::new();
    for user in stations.iter().flat_map(|station| &station.users) {
        for n in 0..QUEUE_DEPTH {
            let pages = (1 + n % MAX_PAGES) as u32;
            jobs.push(held_job(ctx, &user.user_id, format!("load document {n}.pdf"), pages, bytes.len(), expires_at));
        }
    }
    store_held(ctx, org, &mut jobs, bytes).await?;
    eventually("the ingest queue to drain", Duration::from_secs(120), || async {
        let waiting = ctx.queue.receive("ingest", 1, Duration::from_millis(1)).await.ok()?;
        waiting.is_empty().then_some(())
    })
    .await;
    Ok(())
}

/// What the load generator reads of a printer's job list.
#[derive(Deserialize)]
struct Listed {
    items: Vec<ListedJob>,
}

/// One listed job: its id and owner, and whether it is a delegate's.
#[derive(Deserialize)]
struct ListedJob {
    job: JobRef,
    delegated: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JobRef {
    id: String,
    owner_id: String,
}

/// What the load generator reads of a release.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Granted {
    lease_id: String,
    document_url: String,
    pages: u64,
}

/// What the load generator reads of a completion.
#[derive(Deserialize)]
struct Done {
    outcome: String,
    kept: bool,
}

/// Latencies of one printer's calls, by call.
#[derive(Default)]
struct Calls {
    sessions: Vec<Duration>,
    lists: Vec<Duration>,
    releases: Vec<Duration>,
    completes: Vec<Duration>,
    downloads: Vec<Duration>,
    /// Paced cycles that started more than a period after they were due.
    late_starts: usize,
}

impl Calls {
    fn extend(&mut self, other: Calls) {
        self.late_starts += other.late_starts;
        self.sessions.extend(other.sessions);
        self.lists.extend(other.lists);
        self.releases.extend(other.releases);
        self.completes.extend(other.completes);
        self.downloads.extend(other.downloads);
    }
}

/// One printer's HTTP conversation with the runner.
struct Printer {
    http: Client,
    url: String,
    station: Station,
}

impl Printer {
    /// Sends `request`, timing it; answers the body of a success with `expected` status.
    async fn timed(
        request: reqwest::RequestBuilder,
        expected: StatusCode,
        what: &str,
        into: &mut Vec<Duration>,
    ) -> anyhow::Result<Bytes> {
        let sent = Instant::now();
        let response = request.send().await?;
        let status = response.status();
        let body = response.bytes().await?;
        into.push(sent.elapsed());
        if status != expected {
            anyhow::bail!("{what} answered {status}: {}", String::from_utf8_lossy(&body));
        }
        Ok(body)
    }

    /// Signs `user` in by badge; answers the session token.
    async fn session(&self, user: &Releaser, calls: &mut Calls) -> anyhow::Result<String> {
        let request = self
            .http
            .post(format!("{}/v1/device/sessions", self.url))
            .bearer_auth(&self.station.device_token)
            .json(&json!({"badge": user.badge}));
        let body = Self::timed(request, StatusCode::CREATED, "device session", &mut calls.sessions).await?;
        let session: Value = serde_json::from_slice(&body)?;
        Ok(session["sessionToken"].as_str().unwrap_or_default().to_string())
    }

    /// Lists the session's jobs; answers the first, after checking `left` of `user`'s own
    /// jobs are listed.
    async fn first_job(
        &self,
        user: &Releaser,
        session: &str,
        left: usize,
        calls: &mut Calls,
    ) -> anyhow::Result<String> {
        let request = self.http.get(format!("{}/v1/device/jobs", self.url)).bearer_auth(session);
        let body = Self::timed(request, StatusCode::OK, "job list", &mut calls.lists).await?;
        let listed: Listed = serde_json::from_slice(&body)?;
        let own = listed.items.iter().all(|l| !l.delegated && l.job.owner_id == user.user_id);
        let complete = listed.items.len() == left;
        match listed.items.into_iter().next() {
            Some(first) if own && complete => Ok(first.job.id),
            _ => anyhow::bail!("the job list of {} does not hold its {left} own jobs", user.user_id),
        }
    }

    async fn release(&self, session: &str, job: &str, calls: &mut Calls) -> anyhow::Result<Granted> {
        let request =
            self.http.post(format!("{}/v1/device/jobs/{job}/release", self.url)).bearer_auth(session).json(&json!({}));
        let body = Self::timed(request, StatusCode::OK, "release", &mut calls.releases).await?;
        Ok(serde_json::from_slice(&body)?)
    }

    /// Reports `granted` as printed; fails unless the answer says so and the job is gone.
    async fn complete(&self, session: &str, job: &str, granted: &Granted, calls: &mut Calls) -> anyhow::Result<()> {
        let body = json!({"leaseId": granted.lease_id, "outcome": "printed", "monoSides": granted.pages,
            "sheets": granted.pages});
        let request =
            self.http.post(format!("{}/v1/device/jobs/{job}/complete", self.url)).bearer_auth(session).json(&body);
        let answer = Self::timed(request, StatusCode::OK, "completion", &mut calls.completes).await?;
        let done: Done = serde_json::from_slice(&answer)?;
        if done.outcome != "printed" || done.kept {
            anyhow::bail!("completion of job {job} answered {}", String::from_utf8_lossy(&answer));
        }
        Ok(())
    }

    /// One measured release by `user`, who has `left` jobs: session, list, release, complete.
    async fn release_one(&self, user: &Releaser, left: usize, calls: &mut Calls) -> anyhow::Result<()> {
        let session = self.session(user, calls).await?;
        let job = self.first_job(user, &session, left, calls).await?;
        let granted = self.release(&session, &job, calls).await?;
        self.complete(&session, &job, &granted, calls).await
    }

    /// Releases a job of the first user, who has `left` jobs, fetches its document
    /// [`DOWNLOADS`] times, then completes it.
    async fn download_one(&self, left: usize, expected: usize, calls: &mut Calls) -> anyhow::Result<()> {
        let mut unmeasured = Calls::default();
        let user = &self.station.users[0];
        let session = self.session(user, &mut unmeasured).await?;
        let job = self.first_job(user, &session, left, &mut unmeasured).await?;
        let granted = self.release(&session, &job, &mut unmeasured).await?;
        for _ in 0..DOWNLOADS {
            let request = self.http.get(&granted.document_url);
            let bytes = Self::timed(request, StatusCode::OK, "document download", &mut calls.downloads).await?;
            if bytes.len() != expected {
                anyhow::bail!("the document of job {job} has {} bytes, not {expected}", bytes.len());
            }
        }
        self.complete(&session, &job, &granted, &mut unmeasured).await
    }
}

/// The measured run: every printer releases `settings.releases` jobs, all at once.
async fn release_load(admin: &Admin, stations: Arc<Vec<Station>>, settings: &Settings) -> anyhow::Result<RunResult> {
    let pace = match settings.rate {
        Some(rate) => format!("paced at {rate:.0} cycles/s in all"),
        None => "flat out".to_string(),
    };
    println!(
        "release: {} printers × {} releases (session, list, release, complete), printer i for user i, {pace}",
        settings.printers, settings.releases
    );
    let (http, url, releases) = (admin.http.clone(), admin.url.clone(), settings.releases);
    let (printers, period) = (settings.printers, settings.period());
    let started = tokio::time::Instant::now();
    let all = run_all(settings.printers, settings.printers, move |i| {
        let printer = Printer { http: http.clone(), url: url.clone(), station: stations[i].clone() };
        async move {
            let mut calls = Calls::default();
            let mut left = vec![QUEUE_DEPTH; printer.station.users.len()];
            for n in 0..releases {
                if let Some(period) = period {
                    let due = started + period.mul_f64(n as f64 + i as f64 / printers as f64);
                    if tokio::time::Instant::now() > due + period {
                        calls.late_starts += 1;
                    }
                    tokio::time::sleep_until(due).await;
                }
                let turn = n % left.len();
                printer.release_one(&printer.station.users[turn], left[turn], &mut calls).await?;
                left[turn] -= 1;
            }
            Ok(calls)
        }
    })
    .await?;
    let elapsed = started.elapsed();
    let mut calls = Calls::default();
    for printer in all {
        calls.extend(printer);
    }
    let late_starts = calls.late_starts;
    let completed = calls.completes.len();
    let result = RunResult {
        sessions: Measured::new(calls.sessions, elapsed),
        lists: Measured::new(calls.lists, elapsed),
        releases: Measured::new(calls.releases, elapsed),
        completes: Measured::new(calls.completes, elapsed),
        completed_per_second: completed as f64 / elapsed.as_secs_f64(),
        completed,
        late_starts,
        elapsed,
    };
    Ok(result)
}

/// The measured run's calls and throughput.
struct RunResult {
    sessions: Measured,
    lists: Measured,
    releases: Measured,
    completes: Measured,
    completed: usize,
    completed_per_second: f64,
    /// Paced cycles that started more than a period after they were due.
    late_starts: usize,
    elapsed: Duration,
}

/// Apart from the run: each printer releases one more job of its first user and fetches
/// its document [`DOWNLOADS`] times.
async fn download_load(admin: &Admin, stations: Arc<Vec<Station>>, settings: &Settings) -> anyhow::Result<Measured> {
    let (http, url, expected) = (admin.http.clone(), admin.url.clone(), document().len());
    let first_user_releases = settings.releases.div_ceil(settings.users_per_printer());
    let left = QUEUE_DEPTH - first_user_releases;
    let started = Instant::now();
    let all = run_all(settings.printers, settings.printers, move |i| {
        let printer = Printer { http: http.clone(), url: url.clone(), station: stations[i].clone() };
        async move {
            let mut calls = Calls::default();
            printer.download_one(left, expected, &mut calls).await?;
            Ok(calls.downloads)
        }
    })
    .await?;
    Ok(Measured::new(all.into_iter().flatten().collect(), started.elapsed()))
}

fn summary(settings: &Settings, run: &RunResult, downloads: &Measured) {
    let line: Vec<String> = std::env::args().collect();
    println!();
    println!("load-release summary (serve, embedded storage)");
    println!("  command line: {}", line.join(" "));
    println!(
        "  as cargo:     cargo run --release -p e2e --bin load-release -- {} {} {} {}",
        settings.printers,
        settings.releases,
        settings.rate_arg(),
        u8::from(settings.quotas)
    );
    println!("  {:<44} {:>7} {:>9} {:>9} {:>9} {:>9}", "measurement", "count", "per s", "p50 ms", "p99 ms", "max ms");
    println!("{}", run.sessions.row("POST /v1/device/sessions (badge)"));
    println!("{}", run.lists.row("GET /v1/device/jobs"));
    println!("{}", run.releases.row("POST /v1/device/jobs/{id}/release"));
    println!("{}", run.completes.row("POST /v1/device/jobs/{id}/complete (printed)"));
    println!("{}", downloads.row(&format!("document GET (presigned), apart, ×{DOWNLOADS}")));
    println!(
        "  completed releases: {} in {:.2} s = {:.0} per s ({} printers at once; {} cycles started over a period late)",
        run.completed,
        run.elapsed.as_secs_f64(),
        run.completed_per_second,
        settings.printers,
        run.late_starts
    );
}

/// The organisation's reservations not yet settled.
async fn open_reservations(ctx: &shared::Ctx, org: &str) -> anyhow::Result<u64> {
    let query = shared::ports::table::Query::partition(format!("ORG#{org}")).begins_with("QUOTARESERVE#");
    Ok(ctx.table.count(&query).await?)
}

/// Waits for the run's settlements, then writes [`SETTLEMENT_BURST`] one-side
/// reservations of the stations' users, queues their `printed` events at once and times
/// `quota-debit` settling them all; answers the burst's settlement times, each measured
/// from the moment the events were queued.
async fn settle_all(running: &Running, org: &str, stations: &[Station]) -> anyhow::Result<Measured> {
    let ctx = &running.ctx;
    eventually("the run's settlements", Duration::from_secs(120), || async {
        (open_reservations(ctx, org).await.ok()? == 0).then_some(())
    })
    .await;
    let settings = shared::print::settings::get(ctx, org).await.map_err(|p| anyhow::anyhow!("{p:?}"))?;
    let users: Vec<_> = stations.iter().flat_map(|station| &station.users).collect();
    let mut events = Vec::with_capacity(SETTLEMENT_BURST);
    for n in 0..SETTLEMENT_BURST {
        let user_id = &users[n % users.len()].user_id;
        let user = shared::identity::store::get_user(ctx, org, user_id).await?.expect("a station user").user;
        let (job_id, lease_id) = (format!("burst-{n}"), ctx.ids.new_id());
        let request = shared::quota::ledger::Request {
            settings: &settings,
            user: &user,
            job_id: &job_id,
            lease_id: &lease_id,
            lease_until: ctx.clock.now() + chrono::Duration::minutes(10),
            sides: 1,
            colour_sides: 0,
        };
        let writes = shared::quota::ledger::reservation_writes(ctx, org, &request)
            .await
            .map_err(|p| anyhow::anyhow!("{p:?}"))?;
        ctx.table.transact(writes).await?;
        let event = json!({"kind": "printed", "orgId": org, "jobId": job_id, "leaseId": lease_id, "monoSides": 1});
        events.push(shared::ports::queue::OutgoingMessage::new(event.to_string()));
    }
    let started = Instant::now();
    for batch in events.chunks(10) {
        ctx.queue.send_batch("quota-events", batch.to_vec()).await?;
    }
    let mut done_at = Vec::new();
    let mut open = SETTLEMENT_BURST as u64;
    while open > 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
        let now_open = open_reservations(ctx, org).await?;
        done_at.extend(std::iter::repeat_n(started.elapsed(), (open - now_open) as usize));
        open = now_open;
        if started.elapsed() > Duration::from_secs(300) {
            anyhow::bail!("{open} reservations still open after 300 s");
        }
    }
    Ok(Measured::new(done_at, started.elapsed()))
}
