//! Enrolled printers (E-PRINTER, part-3 §2.4): their identity as the printer reports it at
//! enrollment, the identification an administrator edits, the latest telemetry, and the
//! device credential's id.
//!
//! Layout:
//! - printer `ORG#<org>` / `PRINTER#<printerId>`, with `gsi1pk` `PRINTERIP#<org>#<ip>` so
//!   label imports find printers by IP address;
//! - serial claim `PRINTERSERIAL#<serial>` / `CLAIM` → `{orgId, printerId}`: one printer per
//!   serial number across the deployment (R-ENR-3);
//! - unenrolled printer `ORG#<org>` / `UNENROLLED#<printerId>`: the record as it was, kept
//!   for reports (BR-UE-08) but out of every list.

use super::telemetry::LatestTelemetry;
use crate::Ctx;
use crate::http::Problem;
use crate::identity::store;
use crate::ports::{Condition, Key, Query, StoreError, StoreResult, Write};
use crate::records::{from_item, to_item};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// Sort-key prefix of enrolled printers in an organisation's partition.
pub const PRINTER_PREFIX: &str = "PRINTER#";

/// Which agent manages a printer (E-AGENT; one agent per printer, BR-AGT-1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub enum AgentType {
    /// The printer's own firmware agent (enrolled with a code on the printer).
    #[default]
    #[serde(rename = "Native Agent")]
    Native,
    /// The eSF Printer Agent on the printer.
    #[serde(rename = "Printer Agent")]
    Printer,
    /// A Fleet Agent on a server in the printers' network.
    #[serde(rename = "Fleet Agent")]
    Fleet,
    /// A Local Agent on a Windows host, for USB printers.
    #[serde(rename = "Local Agent")]
    Local,
}

/// The release application installed on the printer (part-4 §2.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub enum ReleaseApp {
    /// The eSF Print Release application.
    #[serde(rename = "Print Release eSF")]
    PrintReleaseEsf,
    /// Cloud Print Release.
    #[serde(rename = "Cloud Print Release")]
    CloudPrintRelease,
}

/// What a printer says about itself when it enrolls (and again on re-enrollment).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PrinterIdentity {
    /// Serial number: the printer's identity across organisations.
    pub serial_number: String,
    /// Model name, e.g. `CX825`.
    pub model: String,
    /// Manufacturer, e.g. `Lexmark`.
    pub manufacturer: String,
    /// IPv4 address (the default printer ID of the printer list, L6603).
    #[serde(default)]
    pub ip_address: Option<String>,
    /// MAC address.
    #[serde(default)]
    pub mac_address: Option<String>,
    /// Host name.
    #[serde(default)]
    pub hostname: Option<String>,
    /// Firmware version (e.g. `CXTPC.081.215`).
    #[serde(default)]
    pub firmware_version: Option<String>,
    /// Screen size in inches, when the printer has a touch screen.
    #[serde(default)]
    pub screen_size: Option<f64>,
    /// Whether it prints in colour.
    #[serde(default)]
    pub color: bool,
    /// Whether it prints on both sides.
    #[serde(default)]
    pub duplex: bool,
    /// The installed release application, if any.
    #[serde(default)]
    pub release_app: Option<ReleaseApp>,
    /// The agent type the printer runs itself (Native or Printer Agent); ignored when an
    /// agent enrolls the printer. Read at enrollment only: the printer's `agentType` says
    /// which agent manages it.
    #[serde(default, skip_serializing)]
    pub agent_type: Option<AgentType>,
}

/// What an administrator may edit (part-3 §2.4, L6663–L6664); every field optional in a
/// PATCH, `null` clears it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Identification {
    /// Display name.
    #[serde(default)]
    pub name: Option<String>,
    /// Free description.
    #[serde(default)]
    pub description: Option<String>,
    /// Asset tag.
    #[serde(default)]
    pub asset_tag: Option<String>,
    /// Where it stands.
    #[serde(default)]
    pub location: Option<String>,
    /// Who to contact about it.
    #[serde(default)]
    pub contact: Option<String>,
    /// IANA time zone, e.g. `Europe/Amsterdam`.
    #[serde(default)]
    pub time_zone: Option<String>,
}

/// An enrolled printer as the API answers it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Printer {
    /// Identifier.
    pub id: String,
    /// The organisation it is enrolled in.
    pub org_id: String,
    /// What the printer reported.
    #[serde(flatten)]
    pub identity: PrinterIdentity,
    /// What administrators set.
    #[serde(flatten)]
    pub identification: Identification,
    /// The agent that manages it.
    pub agent_type: AgentType,
    /// The managing agent, for Fleet and Local agents.
    #[serde(default)]
    pub agent_id: Option<String>,
    /// When it enrolled.
    pub enrolled_at: DateTime<Utc>,
    /// Last change of its record.
    pub date_modified: DateTime<Utc>,
    /// Last time the printer (or its agent) called in.
    #[serde(default)]
    pub last_communication: Option<DateTime<Utc>>,
    /// Last time telemetry arrived.
    #[serde(default)]
    pub last_data_refresh: Option<DateTime<Utc>>,
    /// The latest counters, supplies, alerts and diagnostic events.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub telemetry: LatestTelemetry,
    /// Optimistic-concurrency version.
    #[serde(default)]
    pub version: i64,
}

/// The stored printer: the API view plus the id of its device credential. Stored as one
/// flat JSON object; it is read through [`StoredPrinter`], since decoding nested
/// `#[serde(flatten)]` fields buffers the whole (telemetry-sized) object first, and
/// printers are read in pages of hundreds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", from = "StoredPrinter")]
pub struct PrinterRecord {
    /// The printer.
    #[serde(flatten)]
    pub printer: Printer,
    /// Client id of the printer's current device credential.
    pub credential_id: String,
}

/// The flat stored form of a [`PrinterRecord`], field by field, decoded in one pass.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StoredPrinter {
    id: String,
    org_id: String,
    serial_number: String,
    model: String,
    manufacturer: String,
    #[serde(default)]
    ip_address: Option<String>,
    #[serde(default)]
    mac_address: Option<String>,
    #[serde(default)]
    hostname: Option<String>,
    #[serde(default)]
    firmware_version: Option<String>,
    #[serde(default)]
    screen_size: Option<f64>,
    #[serde(default)]
    color: bool,
    #[serde(default)]
    duplex: bool,
    #[serde(default)]
    release_app: Option<ReleaseApp>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    asset_tag: Option<String>,
    #[serde(default)]
    location: Option<String>,
    #[serde(default)]
    contact: Option<String>,
    #[serde(default)]
    time_zone: Option<String>,
    agent_type: AgentType,
    #[serde(default)]
    agent_id: Option<String>,
    enrolled_at: DateTime<Utc>,
    date_modified: DateTime<Utc>,
    #[serde(default)]
    last_communication: Option<DateTime<Utc>>,
    #[serde(default)]
    last_data_refresh: Option<DateTime<Utc>>,
    #[serde(default)]
    telemetry: LatestTelemetry,
    #[serde(default)]
    version: i64,
    credential_id: String,
}

impl From<StoredPrinter> for PrinterRecord {
    fn from(stored: StoredPrinter) -> Self {
        let identity = PrinterIdentity {
            serial_number: stored.serial_number,
            model: stored.model,
            manufacturer: stored.manufacturer,
            ip_address: stored.ip_address,
            mac_address: stored.mac_address,
            hostname: stored.hostname,
            firmware_version: stored.firmware_version,
            screen_size: stored.screen_size,
            color: stored.color,
            duplex: stored.duplex,
            release_app: stored.release_app,
            agent_type: None,
        };
        let identification = Identification {
            name: stored.name,
            description: stored.description,
            asset_tag: stored.asset_tag,
            location: stored.location,
            contact: stored.contact,
            time_zone: stored.time_zone,
        };
        let printer = Printer {
            id: stored.id,
            org_id: stored.org_id,
            identity,
            identification,
            agent_type: stored.agent_type,
            agent_id: stored.agent_id,
            enrolled_at: stored.enrolled_at,
            date_modified: stored.date_modified,
            last_communication: stored.last_communication,
            last_data_refresh: stored.last_data_refresh,
            telemetry: stored.telemetry,
            version: stored.version,
        };
        PrinterRecord { printer, credential_id: stored.credential_id }
    }
}

/// Key of printer `printer_id` of `org_id`.
pub fn printer_key(org_id: &str, printer_id: &str) -> Key {
    Key::new(store::org_partition(org_id), format!("{PRINTER_PREFIX}{printer_id}"))
}

/// Key of the record kept after unenrollment.
pub fn unenrolled_key(org_id: &str, printer_id: &str) -> Key {
    Key::new(store::org_partition(org_id), format!("UNENROLLED#{printer_id}"))
}

/// Key of the deployment-wide claim on a serial number.
pub fn serial_key(serial_number: &str) -> Key {
    Key::new(format!("PRINTERSERIAL#{}", serial_number.trim().to_uppercase()), "CLAIM")
}

/// Index partition of printers of `org_id` at `ip`.
pub fn ip_partition(org_id: &str, ip: &str) -> String {
    format!("PRINTERIP#{org_id}#{ip}")
}

/// The item of `record`, with its IP index attributes.
pub fn record_item(record: &PrinterRecord) -> StoreResult<crate::ports::Item> {
    let printer = &record.printer;
    let mut extra = Vec::new();
    if let Some(ip) = &printer.identity.ip_address {
        extra.push(("gsi1pk", Value::String(ip_partition(&printer.org_id, ip))));
        extra.push(("gsi1sk", Value::String(printer.id.clone())));
    }
    to_item(record, &printer_key(&printer.org_id, &printer.id), &extra)
}

/// The printer `printer_id` of `org_id`, if enrolled.
pub async fn find(ctx: &Ctx, org_id: &str, printer_id: &str) -> StoreResult<Option<PrinterRecord>> {
    crate::records::get(&*ctx.table, &printer_key(org_id, printer_id)).await
}

/// The printer, or 404 `printer_not_found`.
pub async fn get(ctx: &Ctx, org_id: &str, printer_id: &str) -> Result<PrinterRecord, Problem> {
    find(ctx, org_id, printer_id).await?.ok_or_else(not_found)
}

/// 404 for a printer that is not enrolled in the organisation.
pub fn not_found() -> Problem {
    Problem::new(StatusCode::NOT_FOUND, "printer_not_found", "No enrolled printer has this id in this organisation.")
}

/// Who holds `serial_number`: `(orgId, printerId)`.
pub async fn serial_holder(ctx: &Ctx, serial_number: &str) -> StoreResult<Option<(String, String)>> {
    let Some(item) = ctx.table.get(&serial_key(serial_number)).await? else { return Ok(None) };
    let text = |name: &str| item.get(name).and_then(Value::as_str).map(str::to_string);
    Ok(text("orgId").zip(text("printerId")))
}

/// The serial claim item for `record`.
pub fn serial_claim(record: &PrinterRecord) -> StoreResult<crate::ports::Item> {
    let printer = &record.printer;
    to_item(
        &json!({"orgId": printer.org_id, "printerId": printer.id}),
        &serial_key(&printer.identity.serial_number),
        &[],
    )
}

/// Filters of the printer list (part-3 §4.3).
#[derive(Clone, Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
pub struct PrinterFilter {
    /// Only printers carrying this label id.
    pub label: Option<String>,
    /// Only printers that did (`true`) or did not (`false`) communicate within
    /// [`COMMUNICATION_WINDOW`].
    pub communicating: Option<bool>,
    /// Only this model (case-insensitive).
    pub model: Option<String>,
    /// Only this serial number (case-insensitive).
    pub serial: Option<String>,
}

/// A printer that has not called in for this long counts as not communicating.
pub const COMMUNICATION_WINDOW: chrono::Duration = chrono::Duration::hours(24);

/// Whether the printer called in within [`COMMUNICATION_WINDOW`] before `now`.
pub fn is_communicating(printer: &Printer, now: DateTime<Utc>) -> bool {
    printer.last_communication.is_some_and(|at| now - at <= COMMUNICATION_WINDOW)
}

impl PrinterFilter {
    /// Whether `printer` passes every filter given (labels are checked by the caller).
    pub fn matches(&self, printer: &Printer, now: DateTime<Utc>) -> bool {
        let same =
            |wanted: &Option<String>, actual: &str| wanted.as_ref().is_none_or(|w| w.eq_ignore_ascii_case(actual));
        same(&self.model, &printer.identity.model)
            && same(&self.serial, &printer.identity.serial_number)
            && self.communicating.is_none_or(|wanted| wanted == is_communicating(printer, now))
    }
}

/// One page of the organisation's printers that pass `filter`, in enrollment-id order.
pub async fn list(
    ctx: &Ctx,
    org_id: &str,
    filter: &PrinterFilter,
    limit: u32,
    cursor: Option<String>,
) -> Result<(Vec<Printer>, Option<String>), Problem> {
    let labelled = match &filter.label {
        Some(label) => Some(super::labels::printers_with_label(ctx, org_id, label).await?),
        None => None,
    };
    let now = ctx.clock.now();
    let mut found = Vec::new();
    let mut cursor = cursor;
    loop {
        let query =
            Query::partition(store::org_partition(org_id)).begins_with(PRINTER_PREFIX).limit(limit).after(cursor);
        let page = ctx.table.query(&query).await?;
        for item in page.items {
            let record: PrinterRecord = from_item(item)?;
            let in_label = labelled.as_ref().is_none_or(|ids| ids.contains(&record.printer.id));
            if in_label && filter.matches(&record.printer, now) {
                found.push(record.printer);
            }
        }
        cursor = page.cursor;
        if found.len() >= limit as usize || cursor.is_none() {
            break;
        }
    }
    if found.len() > limit as usize {
        // Filtering filled more than a page: answer exactly `limit`, continuing after the last.
        found.truncate(limit as usize);
        let last = found.last().map(|p| printer_key(org_id, &p.id));
        cursor = last.map(|key| crate::ports::table::cursor_for(&key_item(&key), crate::ports::Index::Primary));
    }
    Ok((found, cursor))
}

fn key_item(key: &Key) -> crate::ports::Item {
    let mut item = crate::ports::Item::new();
    item.insert("pk".into(), Value::String(key.pk.clone()));
    item.insert("sk".into(), Value::String(key.sk.clone()));
    item
}

/// Longest identification text accepted.
pub const MAX_TEXT: usize = 256;

/// Applies an identification PATCH (`null` clears a field, an absent one stays).
pub async fn update_identification(
    ctx: &Ctx,
    org_id: &str,
    printer_id: &str,
    patch: &serde_json::Map<String, Value>,
) -> Result<Printer, Problem> {
    for _ in 0..5 {
        let mut record = get(ctx, org_id, printer_id).await?;
        apply_patch(&mut record.printer.identification, patch)?;
        let version = record.printer.version;
        record.printer.version += 1;
        record.printer.date_modified = ctx.clock.now();
        match ctx.table.put(record_item(&record)?, Condition::VersionEquals(version)).await {
            Ok(()) => return Ok(record.printer),
            Err(StoreError::ConditionFailed) => continue,
            Err(other) => return Err(other.into()),
        }
    }
    Err(Problem::new(StatusCode::CONFLICT, "conflict", "The printer changed meanwhile; try again."))
}

fn apply_patch(identification: &mut Identification, patch: &serde_json::Map<String, Value>) -> Result<(), Problem> {
    for (field, value) in patch {
        let slot = match field.as_str() {
            "name" => &mut identification.name,
            "description" => &mut identification.description,
            "assetTag" => &mut identification.asset_tag,
            "location" => &mut identification.location,
            "contact" => &mut identification.contact,
            "timeZone" => &mut identification.time_zone,
            other => {
                return Err(invalid(format!(
                    "{other}: not editable; the editable fields are name, description, assetTag, location, contact and timeZone"
                )));
            }
        };
        *slot = match value {
            Value::Null => None,
            Value::String(text) if text.trim().is_empty() => None,
            Value::String(text) if text.chars().count() > MAX_TEXT => {
                return Err(invalid(format!("{field}: at most {MAX_TEXT} characters")));
            }
            Value::String(text) if field == "timeZone" && text.parse::<chrono_tz::Tz>().is_err() => {
                return Err(invalid(format!("timeZone: `{text}` is not an IANA time zone (e.g. Europe/Amsterdam)")));
            }
            Value::String(text) => Some(text.trim().to_string()),
            _ => return Err(invalid(format!("{field}: must be a string or null"))),
        };
    }
    Ok(())
}

fn invalid(detail: String) -> Problem {
    Problem::new(StatusCode::BAD_REQUEST, "invalid_field", detail)
}

/// Unenrolls a printer (BR-UE-01, BR-UE-05, BR-UE-08): in one transaction the printer leaves
/// the list, its serial number is freed, its device credential stops working, and its
/// record is kept under `UNENROLLED#` for reports. Nothing can stop it once asked.
pub async fn unenroll(ctx: &Ctx, org_id: &str, printer_id: &str) -> Result<(), Problem> {
    let record = get(ctx, org_id, printer_id).await?;
    let printer = &record.printer;
    let kept = to_item(
        &json!({"printer": printer, "unenrolledAt": ctx.clock.now()}),
        &unenrolled_key(org_id, printer_id),
        &[],
    )?;
    let writes = vec![
        Write::Delete { key: printer_key(org_id, printer_id), condition: Condition::VersionEquals(printer.version) },
        Write::Delete { key: serial_key(&printer.identity.serial_number), condition: Condition::Always },
        Write::Delete { key: super::credentials::credential_key(&record.credential_id), condition: Condition::Always },
        Write::Put { item: kept, condition: Condition::Always },
    ];
    match ctx.table.transact(writes).await {
        Ok(()) => {}
        Err(StoreError::TransactionCanceled { .. }) => {
            return Err(Problem::new(StatusCode::CONFLICT, "conflict", "The printer changed meanwhile; try again."));
        }
        Err(other) => return Err(other.into()),
    }
    super::labels::remove_printer_links(ctx, org_id, printer_id).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::telemetry::parse_report;

    fn every_field_set() -> PrinterRecord {
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        let mut telemetry = LatestTelemetry::default();
        let report = br#"{"alerts": [{"status": "WARNING", "issue": "Cyan low"}]}"#;
        telemetry.apply(parse_report(report).unwrap());
        let identity = PrinterIdentity {
            serial_number: "50621234567".into(),
            model: "CX825".into(),
            manufacturer: "Lexmark".into(),
            ip_address: Some("10.0.0.7".into()),
            mac_address: Some("00:21:B7:01:02:03".into()),
            hostname: Some("printer-7".into()),
            firmware_version: Some("CXTPC.081.215".into()),
            screen_size: Some(10.0),
            color: true,
            duplex: true,
            release_app: Some(ReleaseApp::CloudPrintRelease),
            agent_type: None,
        };
        let identification = Identification {
            name: Some("Reception".into()),
            description: Some("Ground floor".into()),
            asset_tag: Some("A-7".into()),
            location: Some("Hall".into()),
            contact: Some("desk@example.com".into()),
            time_zone: Some("Europe/Amsterdam".into()),
        };
        let printer = Printer {
            id: "p1".into(),
            org_id: "o1".into(),
            identity,
            identification,
            agent_type: AgentType::Fleet,
            agent_id: Some("a1".into()),
            enrolled_at: at("2026-01-02T03:04:05Z"),
            date_modified: at("2026-01-03T03:04:05Z"),
            last_communication: Some(at("2026-01-04T03:04:05Z")),
            last_data_refresh: Some(at("2026-01-05T03:04:05Z")),
            telemetry,
            version: 7,
        };
        PrinterRecord { printer, credential_id: "device-1".into() }
    }

    /// The one-pass stored form reads back every field the flattened record writes, with
    /// the table's key attributes beside them.
    #[test]
    fn stored_printer_round_trips_every_field() {
        let record = every_field_set();
        let mut stored = serde_json::to_value(&record).unwrap();
        stored["pk"] = json!("ORG#o1");
        stored["sk"] = json!("PRINTER#p1");
        let read: PrinterRecord = serde_json::from_value(stored.clone()).unwrap();
        assert_eq!(read, record);
        let read: PrinterRecord = serde_json::from_str(&stored.to_string()).unwrap();
        assert_eq!(read, record);
    }
}
