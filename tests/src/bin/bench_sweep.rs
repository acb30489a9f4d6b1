//! Benchmark of the notification sweep (issue [7 of 8]): one daily pass over `<orgs>`
//! organisations × `<printers>` printers with 10 policies each, on embedded storage —
//! wall time and peak memory (resident set) of the pass.
//!
//! The organisations, their printers (with eight supplies each and varied levels and last
//! contacts, written straight to storage as enrollment and telemetry leave them) and their
//! policies (four supplies policies, three on last communication, two on last data
//! refresh, one on fleet agents) are made first; then the peak resident set is reset
//! (`/proc/self/clear_refs`) and one sweep runs to completion, mailing every printer that
//! matches (to the outbox). The printed figures are the sweep's alone.
//!
//! Run: `cargo run --release -p e2e --bin bench-sweep [-- <orgs> <printers>]` (defaults 100, 500).

use chrono::Duration;
use serde_json::json;
use shared::Ctx;
use shared::fleet::printers::{AgentType, Printer, PrinterIdentity, PrinterRecord, record_item};
use shared::fleet::telemetry::{LatestTelemetry, TelemetryReport};
use shared::identity::model::Organisation;
use shared::identity::store;
use shared::notifications::policies::{self, PolicyInput};
use shared::notifications::sweep;
use shared::ports::{Condition, Write};
use std::time::Instant;

/// Printers written per transaction.
const PER_TRANSACTION: usize = 50;

/// The kB value of a `/proc/self/status` line such as `VmHWM`.
fn status_kb(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|line| line.starts_with(field))
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|kb| kb.parse().ok())
        .unwrap_or(0)
}

fn organisation(n: usize) -> Organisation {
    e2e::organisation(&format!("bench-org-{n:04}"), &format!("Bench Org {n:04}"))
}

/// Printer `n` of `org`: supplies at levels that vary with `n`, last contact 0–4 days ago.
fn printer(ctx: &Ctx, org: &str, n: usize) -> anyhow::Result<PrinterRecord> {
    let now = ctx.clock.now();
    let kinds = ["Toner", "Toner", "Toner", "Toner", "Fuser", "Waste Toner Bottle", "Imaging Unit", "Transfer Module"];
    let supplies: Vec<_> = kinds
        .iter()
        .enumerate()
        .map(|(s, kind)| {
            json!({"description": format!("{kind} {s}"), "type": kind, "percentRemaining": ((n * 7 + s * 13) % 100) as i64})
        })
        .collect();
    let report: TelemetryReport = serde_json::from_value(json!({"supplies": supplies}))?;
    let mut telemetry = LatestTelemetry::default();
    telemetry.apply(report);
    let contact = now - Duration::days((n % 5) as i64);
    let printer = Printer {
        id: format!("{org}-p{n:05}"),
        org_id: org.to_string(),
        identity: PrinterIdentity {
            serial_number: format!("{org}-S{n:05}"),
            model: "CX825".into(),
            manufacturer: "Lexmark".into(),
            ip_address: Some(format!("10.{}.{}.{}", n / 65536 % 256, n / 256 % 256, n % 256)),
            ..PrinterIdentity::default()
        },
        identification: Default::default(),
        agent_type: AgentType::Native,
        agent_id: None,
        enrolled_at: now - Duration::days(30),
        date_modified: now,
        last_communication: Some(contact),
        last_data_refresh: Some(contact - Duration::days((n % 3) as i64)),
        telemetry,
        version: 1,
    };
    Ok(PrinterRecord { credential_id: format!("bench-{org}-{n}"), printer })
}

/// The ten policies of every organisation.
fn policy_inputs() -> anyhow::Result<Vec<PolicyInput>> {
    let mut inputs = Vec::new();
    for (n, (types, threshold)) in [
        (json!(["toner"]), 5),
        (json!(["toner"]), 15),
        (json!(["fuser", "maintenanceKit"]), 10),
        (json!(["wasteTonerBottle", "photoconductor", "transferModule"]), 20),
    ]
    .into_iter()
    .enumerate()
    {
        let rule = json!({"category": "supplies", "supplyTypes": types, "thresholdPercent": threshold, "attachJson": n % 2 == 0});
        inputs.push(json!({"name": format!("Supplies {n}"), "rule": rule, "recipients": ["fleet@bench.example"]}));
    }
    for days in 1..=3 {
        let rule = json!({"category": "printerInformation", "condition": "lastCommunicated", "days": days, "attachCsv": days == 1});
        inputs.push(json!({"name": format!("Silent {days}"), "rule": rule, "recipients": ["fleet@bench.example"]}));
    }
    for days in [2, 4] {
        let rule = json!({"category": "printerInformation", "condition": "lastDataRefresh", "days": days});
        inputs.push(json!({"name": format!("No data {days}"), "rule": rule, "recipients": ["fleet@bench.example"]}));
    }
    inputs.push(json!({"name": "Agents", "rule": {"category": "fleetAgents", "days": 2}, "recipients": ["fleet@bench.example"]}));
    Ok(inputs.into_iter().map(serde_json::from_value).collect::<Result<_, _>>()?)
}

async fn set_up(ctx: &Ctx, orgs: usize, printers: usize) -> anyhow::Result<()> {
    let inputs = policy_inputs()?;
    for o in 0..orgs {
        let org = organisation(o);
        ctx.table.transact(store::create_org_writes(&org)?).await?;
        for first in (0..printers).step_by(PER_TRANSACTION) {
            let mut writes = Vec::new();
            for n in first..(first + PER_TRANSACTION).min(printers) {
                writes
                    .push(Write::Put { item: record_item(&printer(ctx, &org.id, n)?)?, condition: Condition::Absent });
            }
            ctx.table.transact(writes).await?;
        }
        for input in &inputs {
            policies::create(ctx, &org.id, input.clone()).await.map_err(|p| anyhow::anyhow!(p.detail))?;
        }
    }
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1).map(|a| a.parse::<usize>());
    let orgs = args.next().transpose()?.unwrap_or(100).max(1);
    let printers = args.next().transpose()?.unwrap_or(500).max(1);
    let dir = tempfile::tempdir()?;
    let running = e2e::start_with(e2e::options(dir.path())).await;
    let ctx = running.ctx.clone();
    let started = Instant::now();
    set_up(&ctx, orgs, printers).await?;
    println!(
        "set up {orgs} organisations × {printers} printers × 10 policies in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let before_kb = status_kb("VmRSS:");
    std::fs::write("/proc/self/clear_refs", "5")?;
    let started = Instant::now();
    let report =
        sweep::sweep(&ctx, std::time::Duration::from_secs(3600)).await.map_err(|p| anyhow::anyhow!(p.detail))?;
    let wall = started.elapsed();
    anyhow::ensure!(report.complete, "the sweep did not complete: {report:?}");
    let peak_kb = status_kb("VmHWM:");
    let mails = std::fs::read_dir(dir.path().join("outbox"))?.count();
    println!("\nbench-sweep summary (serve's ports, embedded storage)");
    println!("  as cargo: cargo run --release -p e2e --bin bench-sweep -- {orgs} {printers}");
    println!(
        "  one pass: {} organisations, {} policies, {} printers/agents mailed about in {mails} mails",
        report.organisations, report.policies, report.notified
    );
    println!(
        "  wall time {:.2} s; peak resident set {:.0} MB (before the pass {:.0} MB)",
        wall.as_secs_f64(),
        peak_kb as f64 / 1024.0,
        before_kb as f64 / 1024.0
    );
    running.shutdown().await;
    Ok(())
}
