//! Printer telemetry (part-6 §2.5–§2.9): what a printer reports with its device credential
//! (`POST /v1/device/telemetry`) and the latest state kept per printer, which the Fleet
//! Integration API answers back.
//!
//! The wire shapes are the seed's v1.0 schemas field for field: every field is nullable
//! except a diagnostic event's `dateCreated` and `expirationDttm`, an absent field means
//! null, an unknown (e.g. misspelt) field is refused, and every field is written back,
//! nulls included. Values are range-checked but never rewritten (an alert's `issue` keeps its
//! spaces) and the relations between counters are not enforced, because the seed's own
//! samples break them (`totalSideCount` ≠ `lifetimeCount`).

use crate::http::Problem;
use axum::http::StatusCode;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Diagnostic events kept per printer: the newest by `dateCreated`.
pub const MAX_DIAGNOSTIC_EVENTS: usize = 50;
/// Supplies accepted in one report.
pub const MAX_SUPPLIES: usize = 100;
/// Alerts accepted in one report.
pub const MAX_ALERTS: usize = 100;
/// Diagnostic events accepted in one report.
pub const MAX_REPORTED_DIAGNOSTIC_EVENTS: usize = 200;
/// Paper counts accepted in one report's counters.
pub const MAX_PAPER_COUNTS: usize = 100;
/// Longest string accepted in any telemetry field, in characters.
pub const MAX_TEXT_CHARS: usize = 1024;

/// The printer's usage counters (part-6 §2.5): all 51 fields of the v1.0 schema (49 counts, the
/// unit and the paper counts).
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Counters {
    /// Lifetime usage, in `lifetimeCountUnit`.
    pub lifetime_count: Option<i64>,
    /// Unit of `lifetimeCount`, e.g. `"Sides"`.
    pub lifetime_count_unit: Option<String>,
    /// Colour sides printed.
    pub color_print_side_count: Option<i64>,
    /// Colour sheets printed.
    pub color_print_sheet_count: Option<i64>,
    /// Mono sides printed.
    pub mono_print_side_count: Option<i64>,
    /// Mono sheets printed.
    pub mono_print_sheet_count: Option<i64>,
    /// Sides printed.
    pub print_side_count: Option<i64>,
    /// Sheets printed.
    pub print_sheet_count: Option<i64>,
    /// Colour sides copied.
    pub color_copy_side_count: Option<i64>,
    /// Colour sheets copied.
    pub color_copy_sheet_count: Option<i64>,
    /// Mono sides copied.
    pub mono_copy_side_count: Option<i64>,
    /// Mono sheets copied.
    pub mono_copy_sheet_count: Option<i64>,
    /// Sides copied.
    pub copy_side_count: Option<i64>,
    /// Sheets copied.
    pub copy_sheet_count: Option<i64>,
    /// Colour fax sides.
    pub color_fax_side_count: Option<i64>,
    /// Colour fax sheets.
    pub color_fax_sheet_count: Option<i64>,
    /// Mono fax sides.
    pub mono_fax_side_count: Option<i64>,
    /// Mono fax sheets.
    pub mono_fax_sheet_count: Option<i64>,
    /// Fax sides.
    pub fax_side_count: Option<i64>,
    /// Fax sheets.
    pub fax_sheet_count: Option<i64>,
    /// Colour sides of every kind.
    pub color_side_count: Option<i64>,
    /// Colour sheets of every kind.
    pub color_sheet_count: Option<i64>,
    /// Mono sides of every kind.
    pub mono_side_count: Option<i64>,
    /// Mono sheets of every kind.
    pub mono_sheet_count: Option<i64>,
    /// All sides.
    pub total_side_count: Option<i64>,
    /// All sheets.
    pub total_sheet_count: Option<i64>,
    /// Colour large-format sides.
    pub color_large_side_count: Option<i64>,
    /// Mono large-format sides.
    pub mono_large_side_count: Option<i64>,
    /// Large-format sides.
    pub large_side_count: Option<i64>,
    /// Large-format sheets.
    pub large_sheet_count: Option<i64>,
    /// Duplex sides.
    pub duplex_side_count: Option<i64>,
    /// Duplex sheets.
    pub duplex_sheet_count: Option<i64>,
    /// Sides in the business coverage tier.
    pub coverage_tier_business_side_count: Option<i64>,
    /// Sheets in the business coverage tier.
    pub coverage_tier_business_sheet_count: Option<i64>,
    /// Sides in the graphics coverage tier.
    pub coverage_tier_graphics_side_count: Option<i64>,
    /// Sheets in the graphics coverage tier.
    pub coverage_tier_graphics_sheet_count: Option<i64>,
    /// Sides in the highlight coverage tier.
    pub coverage_tier_highlight_side_count: Option<i64>,
    /// Sheets in the highlight coverage tier.
    pub coverage_tier_highlight_sheet_count: Option<i64>,
    /// Counts per paper size and type; `null` is read as none.
    #[serde(deserialize_with = "null_as_empty")]
    pub paper_counts: Vec<PaperCount>,
    /// Blank copied sides.
    pub blank_copy_side_count: Option<i64>,
    /// Pages scanned through the document feeder.
    pub adf_scan_count: Option<i64>,
    /// Pages scanned on the flatbed.
    pub flatbed_scan_count: Option<i64>,
    /// Scans sent to the printer itself.
    pub scan_to_localhost_scan_count: Option<i64>,
    /// Scans made for copies.
    pub copy_scan_count: Option<i64>,
    /// Scans made for faxes.
    pub fax_scan_count: Option<i64>,
    /// Simplex feeder scans.
    pub simplex_adf_scan_count: Option<i64>,
    /// Duplex feeder scans.
    pub duplex_adf_scan_count: Option<i64>,
    /// Mono scans.
    pub mono_scan_count: Option<i64>,
    /// Colour scans.
    pub color_scan_count: Option<i64>,
    /// All scans.
    pub total_scan_count: Option<i64>,
    /// Blank fax sides.
    pub blank_fax_side_count: Option<i64>,
}

impl Counters {
    /// Every integer counter with its JSON name, so each can be range-checked by name.
    fn counts(&self) -> [(&'static str, Option<i64>); 49] {
        [
            ("lifetimeCount", self.lifetime_count),
            ("colorPrintSideCount", self.color_print_side_count),
            ("colorPrintSheetCount", self.color_print_sheet_count),
            ("monoPrintSideCount", self.mono_print_side_count),
            ("monoPrintSheetCount", self.mono_print_sheet_count),
            ("printSideCount", self.print_side_count),
            ("printSheetCount", self.print_sheet_count),
            ("colorCopySideCount", self.color_copy_side_count),
            ("colorCopySheetCount", self.color_copy_sheet_count),
            ("monoCopySideCount", self.mono_copy_side_count),
            ("monoCopySheetCount", self.mono_copy_sheet_count),
            ("copySideCount", self.copy_side_count),
            ("copySheetCount", self.copy_sheet_count),
            ("colorFaxSideCount", self.color_fax_side_count),
            ("colorFaxSheetCount", self.color_fax_sheet_count),
            ("monoFaxSideCount", self.mono_fax_side_count),
            ("monoFaxSheetCount", self.mono_fax_sheet_count),
            ("faxSideCount", self.fax_side_count),
            ("faxSheetCount", self.fax_sheet_count),
            ("colorSideCount", self.color_side_count),
            ("colorSheetCount", self.color_sheet_count),
            ("monoSideCount", self.mono_side_count),
            ("monoSheetCount", self.mono_sheet_count),
            ("totalSideCount", self.total_side_count),
            ("totalSheetCount", self.total_sheet_count),
            ("colorLargeSideCount", self.color_large_side_count),
            ("monoLargeSideCount", self.mono_large_side_count),
            ("largeSideCount", self.large_side_count),
            ("largeSheetCount", self.large_sheet_count),
            ("duplexSideCount", self.duplex_side_count),
            ("duplexSheetCount", self.duplex_sheet_count),
            ("coverageTierBusinessSideCount", self.coverage_tier_business_side_count),
            ("coverageTierBusinessSheetCount", self.coverage_tier_business_sheet_count),
            ("coverageTierGraphicsSideCount", self.coverage_tier_graphics_side_count),
            ("coverageTierGraphicsSheetCount", self.coverage_tier_graphics_sheet_count),
            ("coverageTierHighlightSideCount", self.coverage_tier_highlight_side_count),
            ("coverageTierHighlightSheetCount", self.coverage_tier_highlight_sheet_count),
            ("blankCopySideCount", self.blank_copy_side_count),
            ("adfScanCount", self.adf_scan_count),
            ("flatbedScanCount", self.flatbed_scan_count),
            ("scanToLocalhostScanCount", self.scan_to_localhost_scan_count),
            ("copyScanCount", self.copy_scan_count),
            ("faxScanCount", self.fax_scan_count),
            ("simplexAdfScanCount", self.simplex_adf_scan_count),
            ("duplexAdfScanCount", self.duplex_adf_scan_count),
            ("monoScanCount", self.mono_scan_count),
            ("colorScanCount", self.color_scan_count),
            ("totalScanCount", self.total_scan_count),
            ("blankFaxSideCount", self.blank_fax_side_count),
        ]
    }
}

/// Counts for one paper size and type (part-6 §2.6), an element of `counters.paperCounts`.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct PaperCount {
    /// Sheets picked.
    pub paper_sheet_picked_count: Option<i64>,
    /// Sheets delivered safely.
    pub paper_sheet_safe_count: Option<i64>,
    /// Colour sides picked.
    pub paper_side_color_picked_count: Option<i64>,
    /// Colour sides delivered safely.
    pub paper_side_color_safe_count: Option<i64>,
    /// Mono sides picked.
    pub paper_side_mono_picked_count: Option<i64>,
    /// Mono sides delivered safely.
    pub paper_side_mono_safe_count: Option<i64>,
    /// Paper size as the printer names it, e.g. `"Letter"`, `"JIS B5"`.
    pub paper_size: Option<String>,
    /// Paper type as the printer names it, e.g. `"Plain"`.
    pub paper_type: Option<String>,
}

/// One supply of the printer (part-6 §2.7): toner, fuser, waste bottle, ….
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Supply {
    /// The supply's own serial number.
    pub serial_number: Option<String>,
    /// Level in percent, 0 to 100.
    pub current_level: Option<i64>,
    /// Colour, e.g. `"Black"`, `"none"`.
    pub color: Option<String>,
    /// Name, e.g. `"Black Cartridge"`.
    pub description: Option<String>,
    /// Capacity in `capacityUnit`.
    #[serde(serialize_with = "whole_as_integer")]
    pub maximum_capacity: Option<f64>,
    /// Kind, e.g. `"Toner"`, `"Fuser"`.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// Unit of `maximumCapacity`, e.g. `"Sides"`.
    pub capacity_unit: Option<String>,
    /// Remaining in percent, 0 to 100.
    pub percent_remaining: Option<i64>,
    /// Authenticity state, e.g. `"AUTHENTIC"`.
    pub supply_state: Option<String>,
    /// Status, e.g. `"Ok"`, `"Low"`.
    pub status: Option<String>,
    /// Coverage in percent.
    #[serde(serialize_with = "whole_as_integer")]
    pub coverage: Option<f64>,
    /// When it was installed (epoch milliseconds).
    #[serde(serialize_with = "whole_as_integer")]
    pub install_date: Option<f64>,
    /// Average coverage over the supply's life.
    #[serde(serialize_with = "whole_as_integer")]
    pub coverage_lifetime: Option<f64>,
    /// Coverage of the last job.
    #[serde(serialize_with = "whole_as_integer")]
    pub coverage_last_job: Option<f64>,
    /// Sides made with this supply.
    #[serde(serialize_with = "whole_as_integer")]
    pub sides_on_supply: Option<f64>,
    /// When the printer read these values (epoch milliseconds).
    #[serde(serialize_with = "whole_as_integer")]
    pub timestamp: Option<f64>,
    /// Whether it is a prebate (return-programme) supply.
    pub prebate: Option<bool>,
    /// Whether it is a genuine supply.
    pub genuine: Option<bool>,
    /// Estimated days left.
    #[serde(serialize_with = "whole_as_integer")]
    pub days_left: Option<f64>,
    /// When `daysLeft` was estimated (epoch milliseconds).
    #[serde(serialize_with = "whole_as_integer")]
    pub days_left_last_updated: Option<f64>,
}

/// A diagnostic event (part-6 §2.8), e.g. a repeated paper jam.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DiagnosticEvent {
    /// When the event was created (epoch milliseconds); required.
    pub date_created: i64,
    /// Text, e.g. `"202.03 PAPER JAM: repeated 25 time(s) in 500 pages"`.
    #[serde(default)]
    pub alert: Option<String>,
    /// When the condition occurred (epoch milliseconds).
    #[serde(default)]
    pub alert_dttm: Option<i64>,
    /// Identifier; a re-sent event with the same id replaces the stored one.
    #[serde(default)]
    pub alert_id: Option<String>,
    /// Kind, e.g. `"Prescriptive"`.
    #[serde(default)]
    pub alert_type: Option<String>,
    /// The collector that raised it, e.g. `"CBR01"`.
    #[serde(default)]
    pub collector_id: Option<String>,
    /// Error code, e.g. `"202.03"`.
    #[serde(default)]
    pub error_code: Option<String>,
    /// Reason code, e.g. `"HC_REP"`.
    #[serde(default)]
    pub error_reason: Option<String>,
    /// Error pattern, e.g. `"%202.03%"`.
    #[serde(default)]
    pub error_type: Option<String>,
    /// When it expires; required (the seed's sample value `1313123` is kept valid).
    pub expiration_dttm: i64,
    /// Printer host name.
    #[serde(default)]
    pub hostname: Option<String>,
    /// Printer IP address.
    #[serde(default)]
    pub ip_address: Option<String>,
    /// Lifetime page count when the event was raised.
    #[serde(default, serialize_with = "whole_as_integer")]
    pub lpc: Option<f64>,
    /// Printer model, e.g. `"LEXMARK CX825"`.
    #[serde(default)]
    pub model: Option<String>,
    /// Printer serial number.
    #[serde(default)]
    pub serial_number: Option<String>,
}

/// An alert the printer currently shows (part-6 §2.9); `issue` is kept verbatim.
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Alert {
    /// Severity, e.g. `"ERROR"`, `"WARNING"`.
    pub status: Option<String>,
    /// What is wrong, e.g. `"Standard Bin Full"`.
    pub issue: Option<String>,
}

/// The body of `POST /v1/device/telemetry`: any of the four sub-resources, at least one.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TelemetryReport {
    /// The current counters.
    #[serde(default)]
    pub counters: Option<Counters>,
    /// All current supplies.
    #[serde(default)]
    pub supplies: Option<Vec<Supply>>,
    /// All current alerts.
    #[serde(default)]
    pub alerts: Option<Vec<Alert>>,
    /// New diagnostic events.
    #[serde(default)]
    pub diagnostic_events: Option<Vec<DiagnosticEvent>>,
}

/// The latest telemetry of one printer, kept in its record and read by the Integration API.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct LatestTelemetry {
    /// Counters of the last report that carried them.
    pub counters: Option<Counters>,
    /// Supplies of the last report that carried them.
    pub supplies: Vec<Supply>,
    /// Alerts of the last report that carried them.
    pub alerts: Vec<Alert>,
    /// The newest [`MAX_DIAGNOSTIC_EVENTS`] events, oldest first.
    pub diagnostic_events: Vec<DiagnosticEvent>,
}

impl LatestTelemetry {
    /// Merges a report: counters, supplies and alerts it carries replace the stored ones (a
    /// report carries the device's current state of each); diagnostic events are added, a
    /// re-sent `alertId` replacing its earlier event, and only the newest are kept.
    pub fn apply(&mut self, report: TelemetryReport) {
        if let Some(counters) = report.counters {
            self.counters = Some(counters);
        }
        if let Some(supplies) = report.supplies {
            self.supplies = supplies;
        }
        if let Some(alerts) = report.alerts {
            self.alerts = alerts;
        }
        for event in report.diagnostic_events.into_iter().flatten() {
            self.add_event(event);
        }
        self.keep_newest_events();
    }

    fn add_event(&mut self, event: DiagnosticEvent) {
        let earlier = event
            .alert_id
            .as_ref()
            .and_then(|id| self.diagnostic_events.iter().position(|e| e.alert_id.as_ref() == Some(id)));
        match earlier {
            Some(index) => self.diagnostic_events[index] = event,
            None => self.diagnostic_events.push(event),
        }
    }

    fn keep_newest_events(&mut self) {
        self.diagnostic_events.sort_by_key(|e| e.date_created);
        let excess = self.diagnostic_events.len().saturating_sub(MAX_DIAGNOSTIC_EVENTS);
        self.diagnostic_events.drain(..excess);
    }
}

/// Reads and validates a telemetry report. A malformed body answers 400 `invalid_json`, a
/// wrong, unknown or out-of-range field 400 `invalid_field` naming its path (e.g.
/// `supplies[2].currentLevel`), a report with none of the four parts 400 `empty_telemetry`.
pub fn parse_report(body: &[u8]) -> Result<TelemetryReport, Problem> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let report: TelemetryReport = serde_path_to_error::deserialize(&mut deserializer).map_err(read_problem)?;
    deserializer.end().map_err(|e| invalid_json(&e))?;
    validate(&report)?;
    Ok(report)
}

fn read_problem(error: serde_path_to_error::Error<serde_json::Error>) -> Problem {
    let inner = error.inner();
    if inner.classify() != serde_json::error::Category::Data {
        return invalid_json(inner);
    }
    let message = without_position(inner);
    // An unknown field's message lists every known one; the field's name is enough.
    let message = message.split(", expected one of").next().unwrap_or_default();
    let path = error.path().to_string();
    let detail = if path == "." { message.to_string() } else { format!("{path}: {message}") };
    Problem::new(StatusCode::BAD_REQUEST, "invalid_field", detail)
}

fn invalid_json(error: &serde_json::Error) -> Problem {
    Problem::new(StatusCode::BAD_REQUEST, "invalid_json", format!("The body is not valid JSON: {error}."))
}

/// serde_json's message without its " at line L column C" suffix: the path says where.
fn without_position(error: &serde_json::Error) -> String {
    let message = error.to_string();
    let suffix = format!(" at line {} column {}", error.line(), error.column());
    message.strip_suffix(&suffix).map(str::to_string).unwrap_or(message)
}

fn validate(report: &TelemetryReport) -> Result<(), Problem> {
    let TelemetryReport { counters, supplies, alerts, diagnostic_events } = report;
    if counters.is_none() && supplies.is_none() && alerts.is_none() && diagnostic_events.is_none() {
        return Err(Problem::new(
            StatusCode::BAD_REQUEST,
            "empty_telemetry",
            "A report needs at least one of counters, supplies, alerts, diagnosticEvents.",
        ));
    }
    if let Some(counters) = counters {
        validate_counters(counters)?;
    }
    if let Some(supplies) = supplies {
        validate_list("supplies", supplies, MAX_SUPPLIES, validate_supply)?;
    }
    if let Some(alerts) = alerts {
        validate_list("alerts", alerts, MAX_ALERTS, validate_alert)?;
    }
    if let Some(events) = diagnostic_events {
        validate_list("diagnosticEvents", events, MAX_REPORTED_DIAGNOSTIC_EVENTS, validate_event)?;
    }
    Ok(())
}

fn validate_list<T>(
    name: &str,
    items: &[T],
    max: usize,
    check: impl Fn(&Scope, &T) -> Result<(), Problem>,
) -> Result<(), Problem> {
    if items.len() > max {
        return Err(field_problem(format!("{name}: at most {max} entries are allowed, got {}", items.len())));
    }
    items.iter().enumerate().try_for_each(|(index, item)| check(&Scope(&format!("{name}[{index}]")), item))
}

fn validate_counters(counters: &Counters) -> Result<(), Problem> {
    let at = Scope("counters");
    for (name, value) in counters.counts() {
        at.count(name, value)?;
    }
    at.text("lifetimeCountUnit", &counters.lifetime_count_unit)?;
    validate_list("counters.paperCounts", &counters.paper_counts, MAX_PAPER_COUNTS, validate_paper_count)
}

fn validate_paper_count(at: &Scope, paper: &PaperCount) -> Result<(), Problem> {
    at.count("paperSheetPickedCount", paper.paper_sheet_picked_count)?;
    at.count("paperSheetSafeCount", paper.paper_sheet_safe_count)?;
    at.count("paperSideColorPickedCount", paper.paper_side_color_picked_count)?;
    at.count("paperSideColorSafeCount", paper.paper_side_color_safe_count)?;
    at.count("paperSideMonoPickedCount", paper.paper_side_mono_picked_count)?;
    at.count("paperSideMonoSafeCount", paper.paper_side_mono_safe_count)?;
    at.text("paperSize", &paper.paper_size)?;
    at.text("paperType", &paper.paper_type)
}

fn validate_supply(at: &Scope, supply: &Supply) -> Result<(), Problem> {
    at.percent("currentLevel", supply.current_level)?;
    at.percent("percentRemaining", supply.percent_remaining)?;
    at.number("maximumCapacity", supply.maximum_capacity)?;
    at.number("coverage", supply.coverage)?;
    at.number("installDate", supply.install_date)?;
    at.number("coverageLifetime", supply.coverage_lifetime)?;
    at.number("coverageLastJob", supply.coverage_last_job)?;
    at.number("sidesOnSupply", supply.sides_on_supply)?;
    at.number("timestamp", supply.timestamp)?;
    at.number("daysLeft", supply.days_left)?;
    at.number("daysLeftLastUpdated", supply.days_left_last_updated)?;
    at.text("serialNumber", &supply.serial_number)?;
    at.text("color", &supply.color)?;
    at.text("description", &supply.description)?;
    at.text("type", &supply.kind)?;
    at.text("capacityUnit", &supply.capacity_unit)?;
    at.text("supplyState", &supply.supply_state)?;
    at.text("status", &supply.status)
}

fn validate_event(at: &Scope, event: &DiagnosticEvent) -> Result<(), Problem> {
    at.count("dateCreated", Some(event.date_created))?;
    at.count("alertDttm", event.alert_dttm)?;
    at.count("expirationDttm", Some(event.expiration_dttm))?;
    at.number("lpc", event.lpc)?;
    at.text("alert", &event.alert)?;
    at.text("alertId", &event.alert_id)?;
    at.text("alertType", &event.alert_type)?;
    at.text("collectorId", &event.collector_id)?;
    at.text("errorCode", &event.error_code)?;
    at.text("errorReason", &event.error_reason)?;
    at.text("errorType", &event.error_type)?;
    at.text("hostname", &event.hostname)?;
    at.text("ipAddress", &event.ip_address)?;
    at.text("model", &event.model)?;
    at.text("serialNumber", &event.serial_number)
}

fn validate_alert(at: &Scope, alert: &Alert) -> Result<(), Problem> {
    at.text("status", &alert.status)?;
    at.text("issue", &alert.issue)
}

/// The path of the object being checked (e.g. `supplies[2]`), so every error names its field.
struct Scope<'a>(&'a str);

impl Scope<'_> {
    /// Integers that cannot be negative: counts and epoch-millisecond timestamps.
    fn count(&self, name: &str, value: Option<i64>) -> Result<(), Problem> {
        match value {
            Some(v) if v < 0 => Err(self.problem(name, "must be 0 or more")),
            _ => Ok(()),
        }
    }

    fn percent(&self, name: &str, value: Option<i64>) -> Result<(), Problem> {
        match value {
            Some(v) if !(0..=100).contains(&v) => Err(self.problem(name, "must be between 0 and 100")),
            _ => Ok(()),
        }
    }

    fn number(&self, name: &str, value: Option<f64>) -> Result<(), Problem> {
        match value {
            Some(v) if !(v.is_finite() && v >= 0.0) => Err(self.problem(name, "must be a finite number, 0 or more")),
            _ => Ok(()),
        }
    }

    fn text(&self, name: &str, value: &Option<String>) -> Result<(), Problem> {
        match value {
            Some(s) if s.chars().count() > MAX_TEXT_CHARS => {
                Err(self.problem(name, &format!("must be at most {MAX_TEXT_CHARS} characters")))
            }
            _ => Ok(()),
        }
    }

    fn problem(&self, name: &str, rule: &str) -> Problem {
        field_problem(format!("{}.{name}: {rule}", self.0))
    }
}

fn field_problem(detail: String) -> Problem {
    Problem::new(StatusCode::BAD_REQUEST, "invalid_field", detail)
}

/// Reads `null` like an absent list.
fn null_as_empty<'de, D: Deserializer<'de>, T: Deserialize<'de>>(deserializer: D) -> Result<Vec<T>, D::Error> {
    Ok(Option::<Vec<T>>::deserialize(deserializer)?.unwrap_or_default())
}

/// Writes whole numbers without a fraction (`200000`, `1568701948000`), as the seed's samples
/// show them, instead of serde_json's `200000.0`.
fn whole_as_integer<S: Serializer>(value: &Option<f64>, serializer: S) -> Result<S::Ok, S::Error> {
    const EXACT_INTEGERS: f64 = 9_007_199_254_740_992.0; // 2^53
    match value {
        Some(v) if v.fract() == 0.0 && v.abs() <= EXACT_INTEGERS => serializer.serialize_some(&(*v as i64)),
        _ => value.serialize(serializer),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn parse(value: Value) -> Result<TelemetryReport, Problem> {
        parse_report(value.to_string().as_bytes())
    }

    fn event(id: Option<&str>, date_created: i64) -> DiagnosticEvent {
        DiagnosticEvent {
            date_created,
            alert_id: id.map(str::to_string),
            expiration_dttm: 1313123,
            ..DiagnosticEvent::default()
        }
    }

    fn events_report(events: Vec<DiagnosticEvent>) -> TelemetryReport {
        TelemetryReport { diagnostic_events: Some(events), ..TelemetryReport::default() }
    }

    #[test]
    fn part6_2_5_parses_the_seed_x792e_counters() {
        let report = parse(json!({"counters": {
            "lifetimeCount": 6436, "lifetimeCountUnit": "Sides", "colorPrintSideCount": 464,
            "colorPrintSheetCount": null, "printSideCount": 3100, "totalSideCount": 6418,
            "duplexSheetCount": 41, "totalScanCount": 1099, "blankFaxSideCount": 0,
            "paperCounts": [{"paperSheetPickedCount": null, "paperSheetSafeCount": 5370,
                "paperSideColorPickedCount": 586, "paperSideColorSafeCount": 700,
                "paperSideMonoPickedCount": 2377, "paperSideMonoSafeCount": 4711,
                "paperSize": "Letter", "paperType": "Plain"}]
        }}))
        .unwrap();
        let counters = report.counters.unwrap();
        assert_eq!(counters.lifetime_count, Some(6436));
        assert_eq!(counters.lifetime_count_unit.as_deref(), Some("Sides"));
        assert_eq!(counters.color_print_sheet_count, None);
        assert_eq!(counters.total_side_count, Some(6418), "not forced to equal lifetimeCount");
        assert_eq!(counters.paper_counts[0].paper_sheet_safe_count, Some(5370));
        assert_eq!(counters.paper_counts[0].paper_size.as_deref(), Some("Letter"));
        assert_eq!(counters.copy_scan_count, None, "absent means null");
    }

    #[test]
    fn part6_2_5_counters_write_all_51_fields_with_nulls() {
        let value = serde_json::to_value(Counters::default()).unwrap();
        let object = value.as_object().unwrap();
        assert_eq!(object.len(), 51);
        assert_eq!(object["lifetimeCount"], Value::Null);
        assert_eq!(object["paperCounts"], json!([]));
        let named: Vec<&str> = Counters::default().counts().iter().map(|(name, _)| *name).collect();
        let keys: Vec<&str> =
            object.keys().map(String::as_str).filter(|k| !["lifetimeCountUnit", "paperCounts"].contains(k)).collect();
        let (mut named, mut keys) = (named, keys);
        named.sort_unstable();
        keys.sort_unstable();
        assert_eq!(named, keys, "every integer counter is range-checked under its JSON name");
    }

    #[test]
    fn part6_2_7_supply_with_fractional_coverage_round_trips() {
        let supply = json!({"serialNumber": null, "currentLevel": 50, "color": "Yellow",
            "description": "Yellow Cartridge", "maximumCapacity": 6000, "type": "Toner",
            "capacityUnit": "Sides", "percentRemaining": null, "supplyState": "AUTHENTIC",
            "status": "Intermediate", "coverage": 0.028, "installDate": 1568701948000_i64,
            "coverageLifetime": 6.198895, "coverageLastJob": 15, "sidesOnSupply": 31355,
            "timestamp": 1621674025052_i64, "prebate": true, "genuine": null, "daysLeft": null,
            "daysLeftLastUpdated": null});
        let report = parse(json!({"supplies": [supply.clone()]})).unwrap();
        let parsed = &report.supplies.as_ref().unwrap()[0];
        assert_eq!(parsed.coverage, Some(0.028));
        assert_eq!(parsed.coverage_lifetime, Some(6.198895));
        assert_eq!(parsed.kind.as_deref(), Some("Toner"));
        assert_eq!(serde_json::to_value(parsed).unwrap(), supply, "written back as the seed shows it");
    }

    #[test]
    fn part6_2_9_alert_issue_spaces_are_kept() {
        let report = parse(json!({"alerts": [{"status": "ERROR", "issue": " [145.80A]"},
            {"status": "WARNING", "issue": "Yellow cartridge low "}]}))
        .unwrap();
        let alerts = report.alerts.unwrap();
        assert_eq!(alerts[0].issue.as_deref(), Some(" [145.80A]"));
        assert_eq!(alerts[1].issue.as_deref(), Some("Yellow cartridge low "));
    }

    #[test]
    fn part6_2_8_diagnostic_event_sample_is_valid_and_required_fields_are_required() {
        let sample = json!({"dateCreated": 1639077580134_i64, "alert": "Other alert",
            "alertDttm": 1639077580134_i64, "alertId": "61b25b2cc036774096bbef91", "alertType": "Prescriptive",
            "collectorId": "CBR01", "errorCode": "202.03", "errorReason": "HC_REP", "errorType": "%202.03%",
            "expirationDttm": 1313123, "hostname": "10.99.0.60", "ipAddress": "10.99.0.60", "lpc": 505535,
            "model": "LEXMARK CX825", "serialNumber": "12345SERIALNUMBER"});
        let report = parse(json!({"diagnosticEvents": [sample.clone()]})).unwrap();
        assert_eq!(serde_json::to_value(&report.diagnostic_events.unwrap()[0]).unwrap(), sample);

        let missing = parse(json!({"diagnosticEvents": [{"expirationDttm": 1}]})).unwrap_err();
        assert_eq!(missing.code, "invalid_field");
        assert!(missing.detail.contains("dateCreated"), "{}", missing.detail);
    }

    #[test]
    fn unknown_field_is_refused_naming_it() {
        let problem = parse(json!({"counters": {"lifetimeCont": 1}})).unwrap_err();
        assert_eq!((problem.status, problem.code.as_str()), (400, "invalid_field"));
        assert_eq!(problem.detail, "counters.lifetimeCont: unknown field `lifetimeCont`");

        let top = parse(json!({"supply": []})).unwrap_err();
        assert_eq!(top.detail, "supply: unknown field `supply`");
    }

    #[test]
    fn wrong_type_names_the_path() {
        let problem = parse(json!({"supplies": [{}, {}, {"currentLevel": "x"}]})).unwrap_err();
        assert_eq!(problem.code, "invalid_field");
        assert_eq!(problem.detail, r#"supplies[2].currentLevel: invalid type: string "x", expected i64"#);
    }

    #[test]
    fn malformed_json_and_empty_report_are_refused() {
        for body in [&b"{\"counters\": "[..], b"", b"{} x"] {
            assert_eq!(parse_report(body).unwrap_err().code, "invalid_json");
        }
        let empty = parse(json!({})).unwrap_err();
        assert_eq!((empty.status, empty.code.as_str()), (400, "empty_telemetry"));
        assert_eq!(parse(json!({"counters": null})).unwrap_err().code, "empty_telemetry");
    }

    #[test]
    fn out_of_range_values_are_refused_naming_the_field() {
        let cases = [
            (json!({"supplies": [{"currentLevel": 101}]}), "supplies[0].currentLevel: must be between 0 and 100"),
            (
                json!({"supplies": [{"percentRemaining": -1}]}),
                "supplies[0].percentRemaining: must be between 0 and 100",
            ),
            (json!({"supplies": [{"coverage": -0.5}]}), "supplies[0].coverage: must be a finite number, 0 or more"),
            (json!({"counters": {"printSideCount": -3}}), "counters.printSideCount: must be 0 or more"),
            (
                json!({"counters": {"paperCounts": [{"paperSheetSafeCount": -1}]}}),
                "counters.paperCounts[0].paperSheetSafeCount: must be 0 or more",
            ),
            (
                json!({"diagnosticEvents": [{"dateCreated": -1, "expirationDttm": 0}]}),
                "diagnosticEvents[0].dateCreated: must be 0 or more",
            ),
            (json!({"alerts": [{"issue": "x".repeat(1025)}]}), "alerts[0].issue: must be at most 1024 characters"),
        ];
        for (body, detail) in cases {
            let problem = parse(body).unwrap_err();
            assert_eq!((problem.code.as_str(), problem.detail.as_str()), ("invalid_field", detail));
        }
        assert!(parse(json!({"supplies": [{"currentLevel": 100, "percentRemaining": 0}]})).is_ok());
        assert!(parse(json!({"alerts": [{"issue": "é".repeat(1024)}]})).is_ok(), "characters, not bytes");
    }

    #[test]
    fn too_many_entries_are_refused() {
        let supplies = vec![json!({}); MAX_SUPPLIES + 1];
        let problem = parse(json!({"supplies": supplies})).unwrap_err();
        assert_eq!(problem.detail, "supplies: at most 100 entries are allowed, got 101");
        assert!(parse(json!({"supplies": vec![json!({}); MAX_SUPPLIES]})).is_ok());
    }

    #[test]
    fn apply_replaces_counters_supplies_and_alerts_only_when_reported() {
        let mut latest = LatestTelemetry::default();
        let counters = Counters { lifetime_count: Some(10), ..Counters::default() };
        latest.apply(TelemetryReport {
            counters: Some(counters.clone()),
            supplies: Some(vec![Supply::default(), Supply::default()]),
            alerts: Some(vec![Alert { issue: Some("Tray 1 Low ".into()), ..Alert::default() }]),
            diagnostic_events: None,
        });
        latest.apply(TelemetryReport { alerts: Some(vec![]), ..TelemetryReport::default() });
        assert_eq!(latest.counters, Some(counters), "kept: not in the report");
        assert_eq!(latest.supplies.len(), 2, "kept: not in the report");
        assert!(latest.alerts.is_empty(), "replaced: the printer shows no alerts now");
    }

    #[test]
    fn apply_replaces_a_resent_alert_id_and_appends_others() {
        let mut latest = LatestTelemetry::default();
        latest.apply(events_report(vec![event(Some("a"), 1), event(None, 2), event(None, 2)]));
        let mut resent = event(Some("a"), 5);
        resent.alert = Some("repeated".into());
        latest.apply(events_report(vec![resent.clone(), event(Some("b"), 3)]));
        let ids: Vec<_> = latest.diagnostic_events.iter().map(|e| (e.alert_id.as_deref(), e.date_created)).collect();
        assert_eq!(ids, [(None, 2), (None, 2), (Some("b"), 3), (Some("a"), 5)]);
        assert_eq!(latest.diagnostic_events[3], resent);
    }

    #[test]
    fn apply_keeps_only_the_newest_50_events() {
        let mut latest = LatestTelemetry::default();
        latest.apply(events_report((0..40).map(|i| event(Some(&format!("old{i}")), 1000 + i)).collect()));
        latest.apply(events_report((0..30).map(|i| event(Some(&format!("new{i}")), i)).collect()));
        assert_eq!(latest.diagnostic_events.len(), MAX_DIAGNOSTIC_EVENTS);
        let oldest = latest.diagnostic_events[0].date_created;
        assert_eq!(oldest, 20, "the 20 oldest events were dropped, whatever order they came in");
        assert_eq!(latest.diagnostic_events[49].date_created, 1039);
    }

    #[test]
    fn latest_telemetry_round_trips_through_storage_json() {
        let mut latest = LatestTelemetry::default();
        latest.apply(events_report(vec![event(Some("a"), 1)]));
        let stored = serde_json::to_string(&latest).unwrap();
        assert_eq!(serde_json::from_str::<LatestTelemetry>(&stored).unwrap(), latest);
    }
}
