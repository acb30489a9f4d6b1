//! Load generator for the fleet under `serve`: printer telemetry ingest
//! (`POST /v1/device/telemetry`) and Fleet Integration API paging
//! (`GET /cfm/fleetmgmt-integration-service/v1.0/assets`).
//!
//! Starts the one-process runner on a temporary data directory (embedded storage), then:
//! 1. enrolls [`TELEMETRY_PRINTERS`] printers over HTTP with the organisation's enrollment
//!    code, gets each a device token, and has `<telemetry concurrency>` clients send
//!    `<telemetry reports>` full reports (all counters with paper counts, 8 supplies, 3 alerts,
//!    2 diagnostic events) spread over the printers; any answer but 204 fails the run;
//! 2. tops the organisation up to [`FLEET_PRINTERS`] printers, written straight to storage with
//!    the same full telemetry, makes an application with the `fleet-integration` scope, and has
//!    `<asset clients>` clients read every page of 200 assets `<asset rounds>` times, checking
//!    each page is full and each round sees every printer once.
//!
//! Run: `cargo run --release -p e2e --bin load-fleet [-- <telemetry reports> <telemetry concurrency> <asset rounds> <asset clients>]`

use e2e::measured::Measured;
use e2e::{ADMIN_EMAIL, ADMIN_PASSWORD, access_token, options, start_with};
use printcloud::serve::Running;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use shared::fleet::printers::{AgentType, Printer, PrinterIdentity, PrinterRecord, record_item, serial_claim};
use shared::fleet::telemetry::{Counters, LatestTelemetry, TelemetryReport};
use shared::ports::{Condition, Write};
use std::collections::HashSet;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Printers enrolled over HTTP that send telemetry.
const TELEMETRY_PRINTERS: usize = 500;
/// Printers of the organisation when its assets are paged.
const FLEET_PRINTERS: usize = 10_000;
/// Assets per Integration API page (the largest size allowed).
const PAGE_SIZE: usize = 200;
/// Pages holding the whole fleet.
const PAGES: usize = FLEET_PRINTERS / PAGE_SIZE;
/// Concurrent clients while enrolling the telemetry printers.
const ENROLL_CLIENTS: usize = 16;
/// Printers per storage transaction: each is two writes (record and serial claim), within the
/// table's 100-write limit.
const PRINTERS_PER_TRANSACTION: usize = 50;
/// The paged Integration API endpoint.
const ASSETS_PATH: &str = "/cfm/fleetmgmt-integration-service/v1.0/assets";

/// What the command line asks for.
struct Settings {
    /// Telemetry reports to send in all.
    reports: usize,
    /// Telemetry requests in flight.
    concurrency: usize,
    /// Times every asset page is read.
    rounds: usize,
    /// Concurrent Integration API clients.
    asset_clients: usize,
}

impl Settings {
    /// `[telemetry-reports] [telemetry-concurrency] [asset-rounds] [asset-clients]`,
    /// defaults 20000, 64, 10, 4.
    fn from_args() -> anyhow::Result<Self> {
        let mut args = std::env::args().skip(1);
        let mut next = |default: usize| -> anyhow::Result<usize> {
            Ok(args.next().map(|a| a.parse()).transpose()?.unwrap_or(default).max(1))
        };
        Ok(Settings { reports: next(20_000)?, concurrency: next(64)?, rounds: next(10)?, asset_clients: next(4)? })
    }
}

/// The first administrator's view of the organisation the load runs in.
struct Admin {
    http: Client,
    url: String,
    token: String,
    org: String,
}

impl Admin {
    async fn sign_in(running: &Running, http: Client) -> anyhow::Result<Self> {
        let token = access_token(&running.url, ADMIN_EMAIL, ADMIN_PASSWORD).await;
        let me: Value = http.get(format!("{}/v1/me", running.url)).bearer_auth(&token).send().await?.json().await?;
        let org = me["organisation"]["id"].as_str().unwrap_or_default().to_string();
        Ok(Admin { http, url: running.url.clone(), token, org })
    }

    /// POSTs `body` to the organisation's `path`, answering the JSON of a success.
    async fn post(&self, path: &str, body: Value) -> anyhow::Result<Value> {
        let url = format!("{}/v1/orgs/{}/{path}", self.url, self.org);
        Ok(ensure(self.http.post(url).bearer_auth(&self.token).json(&body).send().await?).await?.json().await?)
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let settings = Settings::from_args()?;
    let dir = tempfile::tempdir()?;
    let running = start_with(options(dir.path())).await;
    let http = Client::builder().pool_max_idle_per_host(settings.concurrency.max(ENROLL_CLIENTS)).build()?;
    let admin = Admin::sign_in(&running, http).await?;
    let telemetry = telemetry_load(&admin, &settings).await?;
    let (assets, page_bytes) = assets_load(&running, &admin, &settings).await?;
    summary(&settings, &telemetry, &assets, page_bytes);
    running.shutdown().await;
    Ok(())
}

async fn ensure(response: reqwest::Response) -> anyhow::Result<reqwest::Response> {
    if !response.status().is_success() {
        anyhow::bail!("set-up request failed: {} {}", response.status(), response.text().await?);
    }
    Ok(response)
}

/// Runs jobs `0..jobs` on `workers` concurrent tasks, answering each job's output in no
/// particular order; the first failure stops every worker and is answered.
async fn run_pool<T, F, Fut>(workers: usize, jobs: usize, work: F) -> anyhow::Result<Vec<T>>
where
    T: Send + 'static,
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<T>> + Send,
{
    let next = Arc::new(AtomicUsize::new(0));
    let work = Arc::new(work);
    let mut tasks = Vec::new();
    for _ in 0..workers.min(jobs) {
        let (next, work) = (next.clone(), work.clone());
        tasks.push(tokio::spawn(async move {
            let mut done = Vec::new();
            loop {
                let job = next.fetch_add(1, Ordering::Relaxed);
                if job >= jobs {
                    return Ok::<_, anyhow::Error>(done);
                }
                match work(job).await {
                    Ok(output) => done.push(output),
                    Err(err) => {
                        next.store(jobs, Ordering::Relaxed);
                        return Err(err);
                    }
                }
            }
        }));
    }
    let mut all = Vec::with_capacity(jobs);
    for task in tasks {
        all.extend(task.await??);
    }
    Ok(all)
}

fn serial(printer: usize) -> String {
    format!("LOAD{printer:05}")
}

fn ip_address(printer: usize) -> String {
    format!("10.{}.{}.{}", printer / 62_500, printer / 250 % 250, printer % 250 + 1)
}

/// Phase 1: enroll the telemetry printers, then send the reports.
async fn telemetry_load(admin: &Admin, settings: &Settings) -> anyhow::Result<Measured> {
    let code = admin.post("enrollment-codes", json!({"kind": "organisation"})).await?;
    let code = code["code"].as_str().unwrap_or_default().to_string();
    let started = Instant::now();
    let tokens = enroll_printers(admin, &code).await?;
    println!("enrolled {TELEMETRY_PRINTERS} printers over HTTP with device tokens in {:.2} s", secs(started));
    let bodies = (0..TELEMETRY_PRINTERS).map(|p| Ok(serde_json::to_string(&telemetry_report(p)?)?));
    let bodies = bodies.collect::<anyhow::Result<Vec<String>>>()?;
    println!(
        "telemetry: {} reports of {} bytes, {} in flight, over {TELEMETRY_PRINTERS} printers",
        settings.reports,
        bodies[0].len(),
        settings.concurrency
    );
    let measured = send_reports(admin, Arc::new(tokens), Arc::new(bodies), settings).await?;
    println!("{}", measured.row("telemetry POST"));
    Ok(measured)
}

fn secs(since: Instant) -> f64 {
    since.elapsed().as_secs_f64()
}

/// Enrolls the telemetry printers with the organisation code; answers their device tokens,
/// printer by printer.
async fn enroll_printers(admin: &Admin, code: &str) -> anyhow::Result<Vec<String>> {
    let (http, url, code) = (admin.http.clone(), admin.url.clone(), code.to_string());
    let mut tokens = run_pool(ENROLL_CLIENTS, TELEMETRY_PRINTERS, move |printer| {
        let (http, url, code) = (http.clone(), url.clone(), code.clone());
        async move { Ok((printer, enroll(&http, &url, &code, printer).await?)) }
    })
    .await?;
    tokens.sort();
    Ok(tokens.into_iter().map(|(_, token)| token).collect())
}

/// Enrolls one printer and exchanges its credential for a device token.
async fn enroll(http: &Client, url: &str, code: &str, printer: usize) -> anyhow::Result<String> {
    let identity = json!({"serialNumber": serial(printer), "model": "CX825", "manufacturer": "Lexmark",
        "ipAddress": ip_address(printer)});
    let enrolled: Value =
        ensure(http.post(format!("{url}/v1/enroll")).json(&json!({"code": code, "printer": identity})).send().await?)
            .await?
            .json()
            .await?;
    let credential = &enrolled["credential"];
    let grant = json!({"grant_type": "client_credentials", "client_id": credential["clientId"],
        "client_secret": credential["clientSecret"]});
    client_token(http, url, &grant).await
}

/// The access token of a `client_credentials` grant.
async fn client_token(http: &Client, url: &str, grant: &Value) -> anyhow::Result<String> {
    let answer: Value = ensure(http.post(format!("{url}/oauth/token")).json(grant).send().await?).await?.json().await?;
    Ok(answer["access_token"].as_str().unwrap_or_default().to_string())
}

/// Sends the reports, report `n` from printer `n mod TELEMETRY_PRINTERS`, and times each.
async fn send_reports(
    admin: &Admin,
    tokens: Arc<Vec<String>>,
    bodies: Arc<Vec<String>>,
    settings: &Settings,
) -> anyhow::Result<Measured> {
    let (http, endpoint) = (admin.http.clone(), format!("{}/v1/device/telemetry", admin.url));
    let started = Instant::now();
    let latencies = run_pool(settings.concurrency, settings.reports, move |report| {
        let printer = report % TELEMETRY_PRINTERS;
        let request = http
            .post(&endpoint)
            .bearer_auth(&tokens[printer])
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(bodies[printer].clone());
        async move {
            let sent = Instant::now();
            let response = request.send().await?;
            let status = response.status();
            let text = response.text().await?;
            let latency = sent.elapsed();
            if status != StatusCode::NO_CONTENT {
                anyhow::bail!("telemetry report {report} of printer {printer} answered {status}: {text}");
            }
            Ok(latency)
        }
    })
    .await?;
    Ok(Measured::new(latencies, started.elapsed()))
}

/// A full report of `printer`, checked against the shared wire types (unknown or misspelt
/// fields are refused there as they are by the service).
fn telemetry_report(printer: usize) -> anyhow::Result<TelemetryReport> {
    let serial = serial(printer);
    let supplies = [
        ("Black", "Toner"),
        ("Cyan", "Toner"),
        ("Magenta", "Toner"),
        ("Yellow", "Toner"),
        ("none", "Fuser"),
        ("none", "Waste Toner Bottle"),
        ("Black", "Imaging Unit"),
        ("none", "Transfer Module"),
    ];
    let supplies: Vec<Value> =
        supplies.iter().enumerate().map(|(n, (color, kind))| supply(&serial, n, color, kind)).collect();
    let alerts = json!([{"status": "ERROR", "issue": " [145.80A]"}, {"status": "WARNING", "issue": "Yellow cartridge low "},
        {"status": "INFO", "issue": "Standard Bin Full"}]);
    let events: Vec<Value> = (0..2).map(|n| diagnostic_event(printer, n)).collect();
    let report =
        json!({"counters": counters(printer)?, "supplies": supplies, "alerts": alerts, "diagnosticEvents": events});
    Ok(serde_json::from_value(report)?)
}

/// Every counter of the schema with a number, plus three paper counts.
fn counters(printer: usize) -> anyhow::Result<Value> {
    let mut counters = serde_json::to_value(Counters::default())?;
    let base = 10_000 + printer as i64 * 7;
    if let Some(fields) = counters.as_object_mut() {
        for (n, value) in fields.values_mut().enumerate() {
            *value = json!(base + n as i64 * 113);
        }
    }
    counters["lifetimeCountUnit"] = json!("Sides");
    counters["paperCounts"] = json!(
        [("Letter", "Plain"), ("A4", "Plain"), ("Legal", "Recycled")]
            .iter()
            .enumerate()
            .map(|(n, (size, kind))| paper_count(base + n as i64, size, kind))
            .collect::<Vec<_>>()
    );
    Ok(counters)
}

fn paper_count(base: i64, size: &str, kind: &str) -> Value {
    json!({"paperSheetPickedCount": base, "paperSheetSafeCount": base - 3, "paperSideColorPickedCount": base / 2,
        "paperSideColorSafeCount": base / 2 - 1, "paperSideMonoPickedCount": base / 3,
        "paperSideMonoSafeCount": base / 3 - 1, "paperSize": size, "paperType": kind})
}

fn supply(serial: &str, n: usize, color: &str, kind: &str) -> Value {
    json!({"serialNumber": format!("{serial}-S{n}"), "currentLevel": 80 - n as i64 * 5, "color": color,
        "description": format!("{color} {kind}"), "maximumCapacity": 6000 + n * 1000, "type": kind,
        "capacityUnit": "Sides", "percentRemaining": 80 - n as i64 * 5, "supplyState": "AUTHENTIC",
        "status": "Ok", "coverage": 0.028, "installDate": 1_568_701_948_000_i64, "coverageLifetime": 6.198895,
        "coverageLastJob": 15, "sidesOnSupply": 31_355, "timestamp": 1_621_674_025_052_i64, "prebate": true,
        "genuine": true, "daysLeft": 120 + n, "daysLeftLastUpdated": 1_621_674_025_052_i64})
}

fn diagnostic_event(printer: usize, n: usize) -> Value {
    json!({"dateCreated": 1_639_077_580_134_i64 + n as i64, "alert": "202.03 PAPER JAM: repeated 25 time(s) in 500 pages",
        "alertDttm": 1_639_077_580_134_i64, "alertId": format!("event-{printer}-{n}"), "alertType": "Prescriptive",
        "collectorId": "CBR01", "errorCode": "202.03", "errorReason": "HC_REP", "errorType": "%202.03%",
        "expirationDttm": 1_313_123, "hostname": ip_address(printer), "ipAddress": ip_address(printer),
        "lpc": 505_535, "model": "LEXMARK CX825", "serialNumber": serial(printer)})
}

/// Phase 2: fill the fleet, then page through its assets. Answers the page latencies and
/// the size of the last page read.
async fn assets_load(running: &Running, admin: &Admin, settings: &Settings) -> anyhow::Result<(Measured, usize)> {
    let started = Instant::now();
    write_fleet(running, &admin.org).await?;
    println!(
        "wrote {} more printers with full telemetry to storage in {:.2} s",
        FLEET_PRINTERS - TELEMETRY_PRINTERS,
        secs(started)
    );
    let app = admin.post("applications", json!({"name": "Fleet load", "scopes": ["fleet-integration"]})).await?;
    let grant = json!({"grant_type": "client_credentials", "client_id": app["clientId"],
        "client_secret": app["clientSecret"]});
    let token = client_token(&admin.http, &admin.url, &grant).await?;
    println!(
        "assets: {} rounds × {PAGES} pages of {PAGE_SIZE}, {} clients, {FLEET_PRINTERS} printers",
        settings.rounds, settings.asset_clients
    );
    let pages = read_pages(admin, token, settings).await?;
    check_rounds(&pages, settings.rounds)?;
    let bytes = pages.last().map_or(0, |p| p.bytes);
    let measured = Measured::new(pages.iter().map(|p| p.latency).collect(), pages_span(&pages));
    println!("{}", measured.row("assets page (size=200)"));
    println!("{}", by_position(&pages));
    Ok((measured, bytes))
}

/// Writes printers `TELEMETRY_PRINTERS..FLEET_PRINTERS` with the full telemetry straight to
/// storage, as enrollment would store them.
async fn write_fleet(running: &Running, org: &str) -> anyhow::Result<()> {
    let now = chrono::Utc::now();
    for first in (TELEMETRY_PRINTERS..FLEET_PRINTERS).step_by(PRINTERS_PER_TRANSACTION) {
        let mut writes = Vec::with_capacity(2 * PRINTERS_PER_TRANSACTION);
        for printer in first..(first + PRINTERS_PER_TRANSACTION).min(FLEET_PRINTERS) {
            let record = stored_printer(running, org, printer, now)?;
            writes.push(Write::Put { item: record_item(&record)?, condition: Condition::Absent });
            writes.push(Write::Put { item: serial_claim(&record)?, condition: Condition::Absent });
        }
        running.ctx.table.transact(writes).await?;
    }
    Ok(())
}

fn stored_printer(
    running: &Running,
    org: &str,
    printer: usize,
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<PrinterRecord> {
    let mut telemetry = LatestTelemetry::default();
    telemetry.apply(telemetry_report(printer)?);
    let identity = PrinterIdentity {
        serial_number: serial(printer),
        model: "CX825".into(),
        manufacturer: "Lexmark".into(),
        ip_address: Some(ip_address(printer)),
        ..PrinterIdentity::default()
    };
    let printer = Printer {
        id: running.ctx.ids.new_id(),
        org_id: org.to_string(),
        identity,
        identification: Default::default(),
        agent_type: AgentType::Native,
        agent_id: None,
        enrolled_at: now,
        date_modified: now,
        last_communication: Some(now),
        last_data_refresh: Some(now),
        telemetry,
        version: 1,
    };
    Ok(PrinterRecord { credential_id: format!("device-load-{}", printer.identity.serial_number), printer })
}

/// One page read: which round it belonged to, how long it took, what it held.
struct PageRead {
    round: usize,
    page: usize,
    started: Instant,
    latency: Duration,
    serials: Vec<String>,
    bytes: usize,
}

/// Reads every page `settings.rounds` times on `settings.asset_clients` clients.
async fn read_pages(admin: &Admin, token: String, settings: &Settings) -> anyhow::Result<Vec<PageRead>> {
    let (http, endpoint, token) = (admin.http.clone(), format!("{}{ASSETS_PATH}", admin.url), Arc::new(token));
    run_pool(settings.asset_clients, settings.rounds * PAGES, move |job| {
        let (round, page) = (job / PAGES, job % PAGES);
        let request = http.get(format!("{endpoint}?size={PAGE_SIZE}&page={page}")).bearer_auth(token.as_str());
        async move {
            let started = Instant::now();
            let response = request.send().await?;
            let status = response.status();
            let body = response.bytes().await?;
            let latency = started.elapsed();
            if status != StatusCode::OK {
                anyhow::bail!("assets page {page} answered {status}: {}", String::from_utf8_lossy(&body));
            }
            let serials = full_page_serials(&body, page)?;
            Ok(PageRead { round, page, started, latency, serials, bytes: body.len() })
        }
    })
    .await
}

/// What the load generator reads of an assets page: the page's serial numbers and the
/// fleet total (the rest of each asset is skipped unparsed, so checking a page costs the
/// process little of the CPU it shares with the service).
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct AssetsPage {
    content: Vec<AssetSerial>,
    total_elements: u64,
}

/// One asset of a page, by serial number.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct AssetSerial {
    serial_number: String,
}

/// The serial numbers of a page, after checking it is full and counts the whole fleet.
fn full_page_serials(body: &[u8], number: usize) -> anyhow::Result<Vec<String>> {
    let page: AssetsPage = serde_json::from_slice(body)?;
    if page.content.len() != PAGE_SIZE || page.total_elements != FLEET_PRINTERS as u64 {
        anyhow::bail!(
            "assets page {number} holds {} items of totalElements {}; expected {PAGE_SIZE} of {FLEET_PRINTERS}",
            page.content.len(),
            page.total_elements
        );
    }
    Ok(page.content.into_iter().map(|a| a.serial_number).collect())
}

/// Every round must have seen each printer exactly once.
fn check_rounds(pages: &[PageRead], rounds: usize) -> anyhow::Result<()> {
    for round in 0..rounds {
        let seen: HashSet<&str> =
            pages.iter().filter(|p| p.round == round).flat_map(|p| p.serials.iter().map(String::as_str)).collect();
        if seen.len() != FLEET_PRINTERS {
            anyhow::bail!("round {round} saw {} distinct printers over its pages, not {FLEET_PRINTERS}", seen.len());
        }
    }
    Ok(())
}

/// Median latency of the first and of the last ten pages: paging that skips by offset
/// slows down towards the end.
fn by_position(pages: &[PageRead]) -> String {
    let median = |range: std::ops::Range<usize>| {
        let latencies = pages.iter().filter(|p| range.contains(&p.page)).map(|p| p.latency).collect();
        Measured::new(latencies, Duration::ZERO).quantile_ms(0.50)
    };
    format!(
        "  assets page p50 by position: pages 0-9 {:.2} ms, pages {}-{} {:.2} ms",
        median(0..10),
        PAGES - 10,
        PAGES - 1,
        median(PAGES - 10..PAGES)
    )
}

/// Time from the first page request to the last answer.
fn pages_span(pages: &[PageRead]) -> Duration {
    let first = pages.iter().map(|p| p.started).min();
    let last = pages.iter().map(|p| p.started + p.latency).max();
    first.zip(last).map_or(Duration::ZERO, |(first, last)| last - first)
}

fn summary(settings: &Settings, telemetry: &Measured, assets: &Measured, page_bytes: usize) {
    let line: Vec<String> = std::env::args().collect();
    println!();
    println!("load-fleet summary (serve, embedded storage)");
    println!("  command line: {}", line.join(" "));
    println!(
        "  as cargo:     cargo run --release -p e2e --bin load-fleet -- {} {} {} {}",
        settings.reports, settings.concurrency, settings.rounds, settings.asset_clients
    );
    println!("  {:<44} {:>7} {:>9} {:>9} {:>9} {:>9}", "measurement", "count", "per s", "p50 ms", "p99 ms", "max ms");
    let telemetry_label = format!("telemetry POST, {} in flight, {TELEMETRY_PRINTERS} printers", settings.concurrency);
    println!("{}", telemetry.row(&telemetry_label));
    let assets_label =
        format!("assets page of {PAGE_SIZE} ({} kB), {} clients", page_bytes / 1024, settings.asset_clients);
    println!("{}", assets.row(&assets_label));
}
