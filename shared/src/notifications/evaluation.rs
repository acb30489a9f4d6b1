//! Which printers and agents a policy's rule matches now (BR-NP-02/03): pure functions of
//! the stored printer (or agent) and the time, so the sweep and the telemetry path agree.

use super::policies::{PolicyRule, PrinterCondition};
use crate::fleet::agents::Agent;
use crate::fleet::printers::Printer;
use crate::fleet::telemetry::Supply;
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

/// A printer or agent a policy matched, with what the mail says about it (BR-NP-10).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    /// The printer's or agent's id.
    pub id: String,
    /// Serial number (printers) or name (agents).
    pub name: String,
    /// Model (printers) or agent type.
    pub model: String,
    /// IP address (printers), host (agents).
    pub address: String,
    /// Asset tag, if any.
    pub asset_tag: String,
    /// Location, if any.
    pub location: String,
    /// Last contact, if ever.
    pub last_communication: Option<DateTime<Utc>>,
    /// Last telemetry, if ever (printers).
    pub last_data_refresh: Option<DateTime<Utc>>,
    /// Why it matched, in words (e.g. `Cyan Cartridge: 4 % left`).
    pub reason: String,
    /// The matching supplies (supplies policies), as telemetry reported them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub supplies: Vec<Supply>,
}

/// A supply's percent remaining: `percentRemaining`, else its `currentLevel` (also a
/// percentage, and the one the seed's sample reports).
fn remaining(supply: &Supply) -> Option<i64> {
    supply.percent_remaining.or(supply.current_level)
}

/// Whether `at` (or, never, `since`) is at least `days` days before `now`.
fn silent_for(at: Option<DateTime<Utc>>, since: DateTime<Utc>, days: u32, now: DateTime<Utc>) -> bool {
    now - at.unwrap_or(since) >= Duration::days(days.into())
}

fn when(at: Option<DateTime<Utc>>) -> String {
    at.map_or_else(|| "never".to_string(), |at| at.format("%Y-%m-%d %H:%M UTC").to_string())
}

/// What `rule` says of `printer` at `now`: a finding when it matches.
pub fn printer_finding(rule: &PolicyRule, printer: &Printer, now: DateTime<Utc>) -> Option<Finding> {
    let (reason, supplies) = match rule {
        PolicyRule::Supplies { supply_types, threshold_percent, .. } => {
            let low: Vec<Supply> = printer
                .telemetry
                .supplies
                .iter()
                .filter(|supply| {
                    let watched = supply.kind.as_deref().is_some_and(|kind| supply_types.iter().any(|t| t.is(kind)));
                    watched && remaining(supply).is_some_and(|left| left <= i64::from(*threshold_percent))
                })
                .cloned()
                .collect();
            if low.is_empty() {
                return None;
            }
            let reason = low
                .iter()
                .map(|s| {
                    let name = s.description.clone().or_else(|| s.kind.clone()).unwrap_or_default();
                    format!("{name}: {} % left", remaining(s).unwrap_or_default())
                })
                .collect::<Vec<_>>()
                .join("; ");
            (reason, low)
        }
        PolicyRule::PrinterInformation { condition: PrinterCondition::LastDataRefresh, days, .. } => {
            if !silent_for(printer.last_data_refresh, printer.enrolled_at, *days, now) {
                return None;
            }
            (format!("no data refresh since {}", when(printer.last_data_refresh)), Vec::new())
        }
        PolicyRule::PrinterInformation { condition: PrinterCondition::LastCommunicated, days, .. } => {
            if !silent_for(printer.last_communication, printer.enrolled_at, *days, now) {
                return None;
            }
            (format!("no communication since {}", when(printer.last_communication)), Vec::new())
        }
        PolicyRule::FleetAgents { .. } => return None,
    };
    Some(Finding {
        id: printer.id.clone(),
        name: printer.identity.serial_number.clone(),
        model: printer.identity.model.clone(),
        address: printer.identity.ip_address.clone().unwrap_or_default(),
        asset_tag: printer.identification.asset_tag.clone().unwrap_or_default(),
        location: printer.identification.location.clone().unwrap_or_default(),
        last_communication: printer.last_communication,
        last_data_refresh: printer.last_data_refresh,
        reason,
        supplies,
    })
}

/// What a fleet-agent `rule` says of `agent` at `now`: a finding when it matches.
pub fn agent_finding(rule: &PolicyRule, agent: &Agent, now: DateTime<Utc>) -> Option<Finding> {
    let PolicyRule::FleetAgents { days, .. } = rule else { return None };
    if !silent_for(agent.last_communication, agent.activated_at, *days, now) {
        return None;
    }
    Some(Finding {
        id: agent.id.clone(),
        name: agent.identity.name.clone(),
        model: format!("{:?}", agent.identity.agent_type),
        address: agent.identity.hostname.clone().unwrap_or_default(),
        asset_tag: String::new(),
        location: String::new(),
        last_communication: agent.last_communication,
        last_data_refresh: None,
        reason: format!("no communication since {}", when(agent.last_communication)),
        supplies: Vec::new(),
    })
}
