//! The Fleet Integration API's response shapes (part-6 §2.3, §2.4, §2.10, §2.11): the v1.0
//! asset envelope and its per-endpoint projections, the Spring-style page envelope, the paging
//! query, and the deprecated legacy counters record.
//!
//! The shapes are the seed's, field for field, but the page values are computed correctly
//! rather than copied from the seed's samples (part-6 §9 item 4: `last` is true on the last
//! page and `numberOfElements` is the page's length). Timestamps are epoch milliseconds.

use super::telemetry::{Alert, Counters, DiagnosticEvent, LatestTelemetry, Supply};
use crate::http::Problem;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::HashMap;

/// Page size when the caller gives none (R-API-1).
pub const DEFAULT_PAGE_SIZE: u64 = 50;
/// Largest page size a caller may ask for (R-API-1).
pub const MAX_PAGE_SIZE: u64 = 200;

/// What the printer store knows of one asset: the input of every Integration API answer.
#[derive(Clone, Debug, PartialEq)]
pub struct AssetFacts {
    /// Manufacturer, e.g. `"Lexmark"`.
    pub manufacturer: String,
    /// Model, e.g. `"X792e"`.
    pub model_name: String,
    /// The printer's serial number.
    pub serial_number: String,
    /// The organisation that owns the printer.
    pub account_id: String,
    /// Name given by an administrator.
    pub name: Option<String>,
    /// Description given by an administrator.
    pub description: Option<String>,
    /// When the printer was enrolled.
    pub date_created: DateTime<Utc>,
    /// When its record last changed.
    pub date_modified: DateTime<Utc>,
    /// When it last called in, if ever.
    pub last_communication: Option<DateTime<Utc>>,
    /// When its data was last refreshed (the last telemetry, else enrollment).
    pub last_data_refresh: DateTime<Utc>,
    /// Whether it currently communicates, if known.
    pub communicating: Option<bool>,
    /// Whether it is authenticated, if known.
    pub authenticated: Option<bool>,
    /// When its base firmware last changed, if known.
    pub base_firmware_last_modified_date: Option<DateTime<Utc>>,
    /// Its latest telemetry.
    pub telemetry: LatestTelemetry,
}

/// One asset as every v1.0 endpoint answers it (part-6 §2.4); sub-resources an endpoint does
/// not serve are `[]` and `counters` is `null` (part-6 §2.11).
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Asset {
    /// Manufacturer.
    pub manufacturer: String,
    /// Model.
    pub model_name: String,
    /// Serial number.
    pub serial_number: String,
    /// The owning organisation.
    pub account_id: String,
    /// Name, if any.
    pub name: Option<String>,
    /// Description, if any.
    pub description: Option<String>,
    /// Enrollment time (epoch milliseconds).
    pub date_created: i64,
    /// Last change of the record (epoch milliseconds).
    pub date_modified: i64,
    /// Last call-in (epoch milliseconds).
    pub last_communication: Option<i64>,
    /// Last data refresh (epoch milliseconds).
    pub last_data_refresh: i64,
    /// Whether the printer communicates.
    pub communicating: Option<bool>,
    /// Whether the printer is authenticated.
    pub authenticated: Option<bool>,
    /// Last base-firmware change (epoch milliseconds).
    pub base_firmware_last_modified_date: Option<i64>,
    /// Counters (counters and assets endpoints).
    pub counters: Option<Counters>,
    /// Diagnostic events (diagnostics and assets endpoints).
    pub diagnostic_events: Vec<DiagnosticEvent>,
    /// Supplies (supplies and assets endpoints).
    pub supplies: Vec<Supply>,
    /// Alerts (alerts and assets endpoints).
    pub alerts: Vec<Alert>,
}

/// Which v1.0 endpoint is answering, and so which sub-resource it fills (part-6 §2.11).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Projection {
    /// `/v1.0/assets`: everything.
    Assets,
    /// `/v1.0/assets/supplies`.
    Supplies,
    /// `/v1.0/assets/diagnostics`.
    Diagnostics,
    /// `/v1.0/assets/alerts`.
    Alerts,
    /// `/v1.0/assets/counters`.
    Counters,
}

/// The asset envelope of `facts` as the `projection`'s endpoint answers it. Takes the
/// facts by value: a page moves each printer's telemetry into its asset without copying.
pub fn asset(facts: AssetFacts, projection: Projection) -> Asset {
    let serves = |wanted: Projection| projection == Projection::Assets || projection == wanted;
    let telemetry = facts.telemetry;
    Asset {
        manufacturer: facts.manufacturer,
        model_name: facts.model_name,
        serial_number: facts.serial_number,
        account_id: facts.account_id,
        name: facts.name,
        description: facts.description,
        date_created: facts.date_created.timestamp_millis(),
        date_modified: facts.date_modified.timestamp_millis(),
        last_communication: facts.last_communication.map(|t| t.timestamp_millis()),
        last_data_refresh: facts.last_data_refresh.timestamp_millis(),
        communicating: facts.communicating,
        authenticated: facts.authenticated,
        base_firmware_last_modified_date: facts.base_firmware_last_modified_date.map(|t| t.timestamp_millis()),
        counters: telemetry.counters.filter(|_| serves(Projection::Counters)),
        diagnostic_events: when(serves(Projection::Diagnostics), telemetry.diagnostic_events),
        supplies: when(serves(Projection::Supplies), telemetry.supplies),
        alerts: when(serves(Projection::Alerts), telemetry.alerts),
    }
}

fn when<T>(served: bool, items: Vec<T>) -> Vec<T> {
    if served { items } else { Vec::new() }
}

/// The Spring Data page envelope every v1.0 endpoint answers (part-6 §2.10).
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Page<T> {
    /// The page's items.
    pub content: Vec<T>,
    /// What was asked for.
    pub pageable: Pageable,
    /// Items on all pages.
    pub total_elements: u64,
    /// Number of pages.
    pub total_pages: u64,
    /// Whether no page follows this one.
    pub last: bool,
    /// The order applied (always unsorted).
    pub sort: Sort,
    /// Whether this is page 0.
    pub first: bool,
    /// Items on this page.
    pub number_of_elements: u64,
    /// Page size asked for.
    pub size: u64,
    /// Page number (0-based).
    pub number: u64,
    /// Whether this page holds no items.
    pub empty: bool,
}

/// The request part of a [`Page`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Pageable {
    /// The order applied.
    pub sort: Sort,
    /// Page number (0-based).
    pub page_number: u64,
    /// Page size.
    pub page_size: u64,
    /// Items before this page.
    pub offset: u64,
    /// Always true: results are paged.
    pub paged: bool,
    /// Always false.
    pub unpaged: bool,
}

/// The sort of a [`Page`]: the Integration API answers unsorted (as the seed's samples).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Sort {
    /// Whether a sort was applied.
    pub sorted: bool,
    /// The negation of `sorted`.
    pub unsorted: bool,
    /// Whether no sort orders were given.
    pub empty: bool,
}

const UNSORTED: Sort = Sort { sorted: false, unsorted: true, empty: true };

/// The page `page_number` of `page_size` items holding `content`, out of `total_elements`.
pub fn page<T>(content: Vec<T>, page_number: u64, page_size: u64, total_elements: u64) -> Page<T> {
    let total_pages = total_elements.div_ceil(page_size.max(1));
    let number_of_elements = content.len() as u64;
    Page {
        empty: content.is_empty(),
        content,
        pageable: Pageable {
            sort: UNSORTED,
            page_number,
            page_size,
            offset: offset(page_number, page_size),
            paged: true,
            unpaged: false,
        },
        total_elements,
        total_pages,
        last: page_number.saturating_add(1) >= total_pages,
        sort: UNSORTED,
        first: page_number == 0,
        number_of_elements,
        size: page_size,
        number: page_number,
    }
}

fn offset(page_number: u64, page_size: u64) -> u64 {
    page_number.saturating_mul(page_size)
}

/// A v1.0 request's paging and filter (query `page`, `size`, `serialNumber`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageRequest {
    /// Page number, 0-based.
    pub page: u64,
    /// Items per page, 1 to [`MAX_PAGE_SIZE`].
    pub size: u64,
    /// Only the asset with exactly this serial number (R-API-5).
    pub serial_number: Option<String>,
}

impl PageRequest {
    /// Items before the requested page.
    pub fn offset(&self) -> u64 {
        offset(self.page, self.size)
    }
}

/// Reads the paging query: `page` (default 0), `size` (default [`DEFAULT_PAGE_SIZE`], at most
/// [`MAX_PAGE_SIZE`], else 400 `invalid_page_size`; R-API-1) and `serialNumber`. A value that
/// is not a whole number answers 400 `invalid_query`.
pub fn page_request(query: &HashMap<String, String>) -> Result<PageRequest, Problem> {
    let page = whole_number(query, "page")?.unwrap_or(0);
    let size = whole_number(query, "size")?.unwrap_or(DEFAULT_PAGE_SIZE);
    if !(1..=MAX_PAGE_SIZE).contains(&size) {
        return Err(Problem::new(
            StatusCode::BAD_REQUEST,
            "invalid_page_size",
            format!("size: must be between 1 and {MAX_PAGE_SIZE}, got {size}"),
        ));
    }
    let serial_number = query.get("serialNumber").cloned();
    if serial_number.as_deref() == Some("") {
        return Err(invalid_query("serialNumber: must not be empty"));
    }
    Ok(PageRequest { page, size, serial_number })
}

fn whole_number(query: &HashMap<String, String>, name: &str) -> Result<Option<u64>, Problem> {
    query
        .get(name)
        .map(|value| {
            value.parse().map_err(|_| invalid_query(&format!("{name}: must be a whole number, got {value:?}")))
        })
        .transpose()
}

fn invalid_query(detail: &str) -> Problem {
    Problem::new(StatusCode::BAD_REQUEST, "invalid_query", detail)
}

/// One item of the deprecated `GET /assets/inventory/counters` (part-6 §2.3, R-API-4).
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LegacyCounterRecord {
    /// The printer's serial number.
    pub serial_number: String,
    /// When the counters were collected (epoch milliseconds); null without counters.
    pub date_collected: Option<i64>,
    /// The 35 legacy counters; those without a value are omitted.
    pub counters: LegacyCounters,
}

/// The legacy counters object: the 35 keys of part-6 §2.3, each omitted when it has no value.
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LegacyCounters {
    /// Lifetime usage.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lifetime_count: Option<i64>,
    /// Colour sides printed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub color_print_side_count: Option<i64>,
    /// Colour sheets printed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub color_print_sheet_count: Option<i64>,
    /// Mono sides printed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mono_print_side_count: Option<i64>,
    /// Mono sheets printed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mono_print_sheet_count: Option<i64>,
    /// Sides printed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub print_side_count: Option<i64>,
    /// Sheets printed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub print_sheet_count: Option<i64>,
    /// Colour sides copied.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub color_copy_side_count: Option<i64>,
    /// Colour sheets copied.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub color_copy_sheet_count: Option<i64>,
    /// Mono sides copied.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mono_copy_side_count: Option<i64>,
    /// Mono sheets copied.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mono_copy_sheet_count: Option<i64>,
    /// Sides copied.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub copy_side_count: Option<i64>,
    /// Sheets copied.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub copy_sheet_count: Option<i64>,
    /// Colour fax sides.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub color_fax_side_count: Option<i64>,
    /// Colour fax sheets.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub color_fax_sheet_count: Option<i64>,
    /// Mono fax sides.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mono_fax_side_count: Option<i64>,
    /// Mono fax sheets.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mono_fax_sheet_count: Option<i64>,
    /// Fax sides.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fax_side_count: Option<i64>,
    /// Fax sheets.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fax_sheet_count: Option<i64>,
    /// Colour sides of every kind.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub color_side_count: Option<i64>,
    /// Colour sheets of every kind.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub color_sheet_count: Option<i64>,
    /// Mono sides of every kind.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mono_side_count: Option<i64>,
    /// Mono sheets of every kind.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mono_sheet_count: Option<i64>,
    /// All sides.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_side_count: Option<i64>,
    /// All sheets.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_sheet_count: Option<i64>,
    /// Large-format sides.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub large_side_count: Option<i64>,
    /// Large-format sheets.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub large_sheet_count: Option<i64>,
    /// Duplex sides.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duplex_side_count: Option<i64>,
    /// Duplex sheets.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duplex_sheet_count: Option<i64>,
    /// Sides in the business coverage tier.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coverage_tier_business_side_count: Option<i64>,
    /// Sheets in the business coverage tier.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coverage_tier_business_sheet_count: Option<i64>,
    /// Sides in the graphics coverage tier.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coverage_tier_graphics_side_count: Option<i64>,
    /// Sheets in the graphics coverage tier.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coverage_tier_graphics_sheet_count: Option<i64>,
    /// Sides in the highlight coverage tier.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coverage_tier_highlight_side_count: Option<i64>,
    /// Sheets in the highlight coverage tier.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coverage_tier_highlight_sheet_count: Option<i64>,
}

impl From<&Counters> for LegacyCounters {
    fn from(c: &Counters) -> Self {
        LegacyCounters {
            lifetime_count: c.lifetime_count,
            color_print_side_count: c.color_print_side_count,
            color_print_sheet_count: c.color_print_sheet_count,
            mono_print_side_count: c.mono_print_side_count,
            mono_print_sheet_count: c.mono_print_sheet_count,
            print_side_count: c.print_side_count,
            print_sheet_count: c.print_sheet_count,
            color_copy_side_count: c.color_copy_side_count,
            color_copy_sheet_count: c.color_copy_sheet_count,
            mono_copy_side_count: c.mono_copy_side_count,
            mono_copy_sheet_count: c.mono_copy_sheet_count,
            copy_side_count: c.copy_side_count,
            copy_sheet_count: c.copy_sheet_count,
            color_fax_side_count: c.color_fax_side_count,
            color_fax_sheet_count: c.color_fax_sheet_count,
            mono_fax_side_count: c.mono_fax_side_count,
            mono_fax_sheet_count: c.mono_fax_sheet_count,
            fax_side_count: c.fax_side_count,
            fax_sheet_count: c.fax_sheet_count,
            color_side_count: c.color_side_count,
            color_sheet_count: c.color_sheet_count,
            mono_side_count: c.mono_side_count,
            mono_sheet_count: c.mono_sheet_count,
            total_side_count: c.total_side_count,
            total_sheet_count: c.total_sheet_count,
            large_side_count: c.large_side_count,
            large_sheet_count: c.large_sheet_count,
            duplex_side_count: c.duplex_side_count,
            duplex_sheet_count: c.duplex_sheet_count,
            coverage_tier_business_side_count: c.coverage_tier_business_side_count,
            coverage_tier_business_sheet_count: c.coverage_tier_business_sheet_count,
            coverage_tier_graphics_side_count: c.coverage_tier_graphics_side_count,
            coverage_tier_graphics_sheet_count: c.coverage_tier_graphics_sheet_count,
            coverage_tier_highlight_side_count: c.coverage_tier_highlight_side_count,
            coverage_tier_highlight_sheet_count: c.coverage_tier_highlight_sheet_count,
        }
    }
}

/// The legacy record of one printer: its counters collected at the last data refresh, or
/// `dateCollected: null` and `{}` when it never reported counters (as the seed's serial "36").
pub fn legacy_record(facts: &AssetFacts) -> LegacyCounterRecord {
    let counters = facts.telemetry.counters.as_ref();
    LegacyCounterRecord {
        serial_number: facts.serial_number.clone(),
        date_collected: counters.map(|_| facts.last_data_refresh.timestamp_millis()),
        counters: counters.map(LegacyCounters::from).unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::telemetry::TelemetryReport;
    use chrono::TimeZone;
    use serde_json::{Value, json};
    use std::collections::BTreeSet;

    fn at(millis: i64) -> DateTime<Utc> {
        Utc.timestamp_millis_opt(millis).single().unwrap()
    }

    fn facts_with(telemetry: LatestTelemetry) -> AssetFacts {
        AssetFacts {
            manufacturer: "Lexmark".into(),
            model_name: "X792e".into(),
            serial_number: "123SERIALNUMBER".into(),
            account_id: "bf899e52-b026-46f3-9715-fe54b5dd7637".into(),
            name: None,
            description: None,
            date_created: at(1568139701472),
            date_modified: at(1621677697123),
            last_communication: Some(at(1621686886903)),
            last_data_refresh: at(1621677697129),
            communicating: Some(false),
            authenticated: Some(true),
            base_firmware_last_modified_date: None,
            telemetry,
        }
    }

    fn full_facts() -> AssetFacts {
        let mut telemetry = LatestTelemetry::default();
        telemetry.apply(TelemetryReport {
            counters: Some(Counters {
                lifetime_count: Some(6436),
                print_side_count: Some(3100),
                ..Counters::default()
            }),
            supplies: Some(vec![Supply { current_level: Some(50), ..Supply::default() }]),
            alerts: Some(vec![Alert { issue: Some("Standard Bin Full".into()), ..Alert::default() }]),
            diagnostic_events: Some(vec![DiagnosticEvent { date_created: 1639077580134, ..Default::default() }]),
        });
        facts_with(telemetry)
    }

    fn keys(value: &Value) -> BTreeSet<&str> {
        value.as_object().unwrap().keys().map(String::as_str).collect()
    }

    #[test]
    fn part6_2_4_asset_has_exactly_the_seed_fields_in_epoch_millis() {
        let value = serde_json::to_value(asset(full_facts(), Projection::Assets)).unwrap();
        let expected = [
            "manufacturer",
            "modelName",
            "serialNumber",
            "accountId",
            "name",
            "description",
            "dateCreated",
            "dateModified",
            "lastCommunication",
            "lastDataRefresh",
            "communicating",
            "authenticated",
            "baseFirmwareLastModifiedDate",
            "counters",
            "diagnosticEvents",
            "supplies",
            "alerts",
        ];
        assert_eq!(keys(&value), expected.into_iter().collect());
        assert_eq!(value["dateCreated"], json!(1568139701472_i64));
        assert_eq!(value["lastCommunication"], json!(1621686886903_i64));
        assert_eq!(value["name"], Value::Null);
        assert_eq!(value["baseFirmwareLastModifiedDate"], Value::Null);
        assert_eq!(value["counters"]["lifetimeCount"], json!(6436));
    }

    #[test]
    fn part6_2_11_projections_fill_only_their_sub_resource() {
        let facts = full_facts();
        let filled = |a: &Asset| {
            [a.counters.is_some(), !a.diagnostic_events.is_empty(), !a.supplies.is_empty(), !a.alerts.is_empty()]
        };
        let cases = [
            (Projection::Assets, [true, true, true, true]),
            (Projection::Counters, [true, false, false, false]),
            (Projection::Diagnostics, [false, true, false, false]),
            (Projection::Supplies, [false, false, true, false]),
            (Projection::Alerts, [false, false, false, true]),
        ];
        for (projection, expected) in cases {
            let projected = asset(facts.clone(), projection);
            assert_eq!(filled(&projected), expected, "{projection:?}");
            let value = serde_json::to_value(&projected).unwrap();
            assert_eq!(keys(&value).len(), 17, "{projection:?} keeps the full envelope");
        }
        let supplies_only = serde_json::to_value(asset(facts, Projection::Supplies)).unwrap();
        assert_eq!((&supplies_only["counters"], &supplies_only["alerts"]), (&Value::Null, &json!([])));
    }

    #[test]
    fn part6_2_10_page_envelope_values_over_two_pages() {
        let first = serde_json::to_value(page(vec![0; 200], 0, 200, 250)).unwrap();
        let unsorted = json!({"sorted": false, "unsorted": true, "empty": true});
        assert_eq!(
            first["pageable"],
            json!({"sort": unsorted, "pageNumber": 0, "pageSize": 200, "offset": 0, "paged": true, "unpaged": false})
        );
        let envelope = |v: &Value| {
            let mut v = v.clone();
            let map = v.as_object_mut().unwrap();
            map.remove("content");
            map.remove("pageable");
            v
        };
        assert_eq!(
            envelope(&first),
            json!({"totalElements": 250, "totalPages": 2, "last": false, "sort": unsorted, "first": true,
                "numberOfElements": 200, "size": 200, "number": 0, "empty": false})
        );
        let second = serde_json::to_value(page(vec![0; 50], 1, 200, 250)).unwrap();
        assert_eq!(second["pageable"]["offset"], json!(200));
        assert_eq!(
            envelope(&second),
            json!({"totalElements": 250, "totalPages": 2, "last": true, "sort": unsorted, "first": false,
                "numberOfElements": 50, "size": 200, "number": 1, "empty": false})
        );
    }

    #[test]
    fn part6_9_4_seed_sample_page_is_answered_correctly() {
        let two = page(vec![1, 2], 0, 50, 2);
        assert_eq!((two.last, two.number_of_elements, two.total_pages), (true, 2, 1));
    }

    #[test]
    fn part6_2_10_empty_result_page() {
        let empty = page(Vec::<Asset>::new(), 0, 50, 0);
        assert!(empty.empty && empty.first && empty.last);
        assert_eq!((empty.total_pages, empty.number_of_elements, empty.pageable.offset), (0, 0, 0));
        let beyond = page(Vec::<Asset>::new(), 7, 50, 10);
        assert!(beyond.empty && beyond.last && !beyond.first);
    }

    fn query(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn r_api_1_page_request_defaults_to_page_0_of_50() {
        let request = page_request(&HashMap::new()).unwrap();
        assert_eq!(request, PageRequest { page: 0, size: DEFAULT_PAGE_SIZE, serial_number: None });
        let request = page_request(&query(&[("page", "3"), ("size", "200")])).unwrap();
        assert_eq!((request.page, request.size, request.offset()), (3, 200, 600));
    }

    #[test]
    fn r_api_1_page_size_outside_1_to_200_is_refused() {
        for size in ["0", "201"] {
            let problem = page_request(&query(&[("size", size)])).unwrap_err();
            assert_eq!((problem.status, problem.code.as_str()), (400, "invalid_page_size"));
            assert!(problem.detail.contains("200"), "{}", problem.detail);
        }
        assert!(page_request(&query(&[("size", "1")])).is_ok());
    }

    #[test]
    fn page_request_refuses_values_that_are_not_whole_numbers() {
        for (name, value) in [("page", "-1"), ("page", "x"), ("size", "2.5"), ("size", "")] {
            let problem = page_request(&query(&[(name, value)])).unwrap_err();
            assert_eq!(problem.code, "invalid_query");
            assert!(problem.detail.starts_with(name), "{}", problem.detail);
        }
        assert_eq!(page_request(&query(&[("serialNumber", "")])).unwrap_err().code, "invalid_query");
    }

    #[test]
    fn r_api_5_serial_number_filter_is_read() {
        let request = page_request(&query(&[("serialNumber", "123SERIALNUMBER")])).unwrap();
        assert_eq!(request.serial_number.as_deref(), Some("123SERIALNUMBER"));
    }

    #[test]
    fn part6_2_3_legacy_record_omits_null_keys() {
        let value = serde_json::to_value(legacy_record(&full_facts())).unwrap();
        assert_eq!(
            value,
            json!({"serialNumber": "123SERIALNUMBER", "dateCollected": 1621677697129_i64,
                "counters": {"lifetimeCount": 6436, "printSideCount": 3100}})
        );
    }

    #[test]
    fn part6_2_3_legacy_record_without_counters_is_null_and_empty() {
        let value = serde_json::to_value(legacy_record(&facts_with(LatestTelemetry::default()))).unwrap();
        assert_eq!(value, json!({"serialNumber": "123SERIALNUMBER", "dateCollected": null, "counters": {}}));
    }

    #[test]
    fn part6_2_3_legacy_counters_have_exactly_the_35_keys() {
        let all = Counters {
            lifetime_count: Some(1),
            color_print_side_count: Some(1),
            color_print_sheet_count: Some(1),
            mono_print_side_count: Some(1),
            mono_print_sheet_count: Some(1),
            print_side_count: Some(1),
            print_sheet_count: Some(1),
            color_copy_side_count: Some(1),
            color_copy_sheet_count: Some(1),
            mono_copy_side_count: Some(1),
            mono_copy_sheet_count: Some(1),
            copy_side_count: Some(1),
            copy_sheet_count: Some(1),
            color_fax_side_count: Some(1),
            color_fax_sheet_count: Some(1),
            mono_fax_side_count: Some(1),
            mono_fax_sheet_count: Some(1),
            fax_side_count: Some(1),
            fax_sheet_count: Some(1),
            color_side_count: Some(1),
            color_sheet_count: Some(1),
            mono_side_count: Some(1),
            mono_sheet_count: Some(1),
            total_side_count: Some(1),
            total_sheet_count: Some(1),
            color_large_side_count: Some(1),
            mono_large_side_count: Some(1),
            large_side_count: Some(1),
            large_sheet_count: Some(1),
            duplex_side_count: Some(1),
            duplex_sheet_count: Some(1),
            coverage_tier_business_side_count: Some(1),
            coverage_tier_business_sheet_count: Some(1),
            coverage_tier_graphics_side_count: Some(1),
            coverage_tier_graphics_sheet_count: Some(1),
            coverage_tier_highlight_side_count: Some(1),
            coverage_tier_highlight_sheet_count: Some(1),
            total_scan_count: Some(1),
            blank_fax_side_count: Some(1),
            lifetime_count_unit: Some("Sides".into()),
            ..Counters::default()
        };
        let value = serde_json::to_value(LegacyCounters::from(&all)).unwrap();
        let expected = "lifetimeCount colorPrintSideCount colorPrintSheetCount monoPrintSideCount \
            monoPrintSheetCount printSideCount printSheetCount colorCopySideCount colorCopySheetCount \
            monoCopySideCount monoCopySheetCount copySideCount copySheetCount colorFaxSideCount \
            colorFaxSheetCount monoFaxSideCount monoFaxSheetCount faxSideCount faxSheetCount colorSideCount \
            colorSheetCount monoSideCount monoSheetCount totalSideCount totalSheetCount largeSideCount \
            largeSheetCount duplexSideCount duplexSheetCount coverageTierBusinessSideCount \
            coverageTierBusinessSheetCount coverageTierGraphicsSideCount coverageTierGraphicsSheetCount \
            coverageTierHighlightSideCount coverageTierHighlightSheetCount";
        let expected: BTreeSet<&str> = expected.split_whitespace().collect();
        assert_eq!(expected.len(), 35);
        assert_eq!(keys(&value), expected, "v1.0-only counters (large colour/mono, scans, unit) are left out");
    }
}
