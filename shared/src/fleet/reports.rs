//! What enrolled devices send: telemetry (part-6 §2.5–2.9) and heartbeats. Each updates the
//! printer's last communication; telemetry also its last data refresh and latest state.
//! The write is conditional on the token's credential still being the printer's, so an
//! unenrolled (or re-enrolled) printer's old token stops working at once.

use super::credentials::{self, Device};
use super::telemetry;
use super::{agents, printers};
use crate::Ctx;
use crate::http::Problem;
use crate::ports::{Condition, StoreError};
use axum::http::StatusCode;

/// Stores a telemetry report of the calling printer.
pub async fn record_telemetry(ctx: &Ctx, device: &Device, body: &[u8]) -> Result<(), Problem> {
    let printer_id = device.printer_id()?;
    let report = telemetry::parse_report(body)?;
    for _ in 0..5 {
        let Some(mut record) = printers::find(ctx, device.org_id(), printer_id).await? else {
            return Err(credentials::revoked());
        };
        if record.credential_id != device.client_id() {
            return Err(credentials::revoked());
        }
        let now = ctx.clock.now();
        let printer = &mut record.printer;
        printer.telemetry.apply(report.clone());
        printer.last_communication = Some(now);
        printer.last_data_refresh = Some(now);
        let version = printer.version;
        printer.version += 1;
        let condition = Condition::And(vec![
            Condition::VersionEquals(version),
            Condition::Equals("credentialId".into(), device.client_id().into()),
        ]);
        match ctx.table.put(printers::record_item(&record)?, condition).await {
            Ok(()) => {
                if let Some(agent_id) = record.printer.agent_id.as_deref() {
                    // The agent relayed the report: it is communicating too.
                    let touched = agents::touch_unchecked(ctx, device.org_id(), agent_id).await;
                    if let Err(err) = touched {
                        tracing::warn!(agent = agent_id, error = %err, "could not record the agent's communication");
                    }
                }
                if report.supplies.is_some() {
                    // Supplies policies are checked as the levels arrive; a failure here is
                    // logged and left to the daily sweep, never refused to the printer.
                    if let Err(problem) = crate::notifications::run::on_telemetry(ctx, &record.printer).await {
                        tracing::error!(printer = %printer_id, error = %problem.detail, "supplies notification failed");
                    }
                }
                return Ok(());
            }
            Err(StoreError::ConditionFailed) => continue,
            Err(other) => return Err(other.into()),
        }
    }
    Err(Problem::new(StatusCode::CONFLICT, "conflict", "The printer's record kept changing; send the report again."))
}

/// Records that the calling printer or agent is alive.
pub async fn heartbeat(ctx: &Ctx, device: &Device) -> Result<(), Problem> {
    if let Ok(agent_id) = device.agent_id() {
        return agents::touch(ctx, device.org_id(), agent_id, device.client_id()).await;
    }
    let printer_id = device.printer_id()?;
    let update = crate::ports::Update::new(printers::printer_key(device.org_id(), printer_id))
        .set("lastCommunication", serde_json::to_value(ctx.clock.now()).map_err(Problem::internal)?)
        .when(Condition::Equals("credentialId".into(), device.client_id().into()));
    match ctx.table.update(update).await {
        Ok(_) => Ok(()),
        Err(StoreError::ConditionFailed) => Err(credentials::revoked()),
        Err(other) => Err(other.into()),
    }
}
