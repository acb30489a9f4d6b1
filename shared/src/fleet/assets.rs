//! The Fleet Integration API's reads (part-6, R-API-1…5): the printers of the token's
//! organisation and all its child organisations (recursively), as numbered pages in a
//! stable order (organisation by organisation, each in printer-id order), or one asset by
//! serial number, or the unpaginated legacy counters list.
//!
//! A page is found without reading what comes before it: each organisation's printers are
//! counted, whole organisations before the page are passed over by their count, and the
//! table skips (keys only) into the organisation where the page starts.

use super::integration_api::{self, Asset, AssetFacts, LegacyCounterRecord, Page, PageRequest, Projection};
use super::printers::{self, PRINTER_PREFIX, PrinterRecord};
use crate::Ctx;
use crate::http::Problem;
use crate::identity::model::Organisation;
use crate::identity::store;
use crate::ports::{Index, Query};
use crate::records::{from_item, from_json};

/// The organisation and all its descendants, parents before children.
pub async fn scope(ctx: &Ctx, org_id: &str) -> Result<Vec<String>, Problem> {
    let mut scope = vec![org_id.to_string()];
    let mut next = 0;
    while next < scope.len() {
        let parent = scope[next].clone();
        let mut cursor = None;
        let mut children = Vec::new();
        loop {
            let query = Query::on_index(Index::Gsi1, store::children_partition(Some(&parent))).limit(200).after(cursor);
            let page = ctx.table.query(&query).await?;
            for item in page.items {
                let org: Organisation = from_item(item)?;
                if !org.deleting {
                    children.push(org.id);
                }
            }
            cursor = page.cursor;
            if cursor.is_none() {
                break;
            }
        }
        children.sort();
        scope.extend(children);
        next += 1;
    }
    Ok(scope)
}

fn printers_of(org_id: &str) -> Query {
    Query::partition(store::org_partition(org_id)).begins_with(PRINTER_PREFIX)
}

/// What the Integration API says about a stored printer (taken by value, so the
/// telemetry moves into the answer instead of being copied).
pub fn facts(record: PrinterRecord, now: chrono::DateTime<chrono::Utc>) -> AssetFacts {
    let printer = record.printer;
    let communicating = Some(printers::is_communicating(&printer, now));
    AssetFacts {
        manufacturer: printer.identity.manufacturer,
        model_name: printer.identity.model,
        serial_number: printer.identity.serial_number,
        account_id: printer.org_id,
        name: printer.identification.name,
        description: printer.identification.description,
        date_created: printer.enrolled_at,
        date_modified: printer.date_modified,
        last_communication: printer.last_communication,
        last_data_refresh: printer.last_data_refresh.unwrap_or(printer.enrolled_at),
        communicating,
        authenticated: Some(true),
        base_firmware_last_modified_date: None,
        telemetry: printer.telemetry,
    }
}

/// One page of assets of `org_id`'s scope, projected for the endpoint.
pub async fn page(
    ctx: &Ctx,
    org_id: &str,
    request: &PageRequest,
    projection: Projection,
) -> Result<Page<Asset>, Problem> {
    let now = ctx.clock.now();
    let orgs = scope(ctx, org_id).await?;
    if let Some(serial) = &request.serial_number {
        let found = match printers::serial_holder(ctx, serial).await? {
            Some((holder_org, printer_id)) if orgs.contains(&holder_org) => {
                printers::find(ctx, &holder_org, &printer_id).await?
            }
            _ => None,
        };
        let content: Vec<Asset> =
            found.into_iter().map(|r| integration_api::asset(facts(r, now), projection)).collect();
        let total = content.len() as u64;
        let content = if request.page == 0 { content } else { Vec::new() };
        return Ok(integration_api::page(content, request.page, request.size, total));
    }
    let mut counts = Vec::with_capacity(orgs.len());
    for org in &orgs {
        counts.push(ctx.table.count(&printers_of(org)).await?);
    }
    let total = counts.iter().sum();
    let mut skip = request.offset();
    let mut content = Vec::new();
    for (org, count) in orgs.iter().zip(counts) {
        if content.len() as u64 >= request.size {
            break;
        }
        if skip >= count {
            skip -= count;
            continue;
        }
        let wanted = request.size - content.len() as u64;
        let query = printers_of(org).skip(skip).limit(wanted.min(1000) as u32);
        skip = 0;
        for item in ctx.table.query_json(&query).await?.items {
            let record: PrinterRecord = from_json(&item)?;
            content.push(integration_api::asset(facts(record, now), projection));
        }
    }
    Ok(integration_api::page(content, request.page, request.size, total))
}

/// Every printer of the scope as a legacy counters record (deprecated, unpaginated; R-API-4).
pub async fn legacy_counters(ctx: &Ctx, org_id: &str) -> Result<Vec<LegacyCounterRecord>, Problem> {
    let now = ctx.clock.now();
    let mut records = Vec::new();
    for org in scope(ctx, org_id).await? {
        let mut cursor = None;
        loop {
            let page = ctx.table.query_json(&printers_of(&org).limit(1000).after(cursor)).await?;
            for item in page.items {
                let record: PrinterRecord = from_json(&item)?;
                records.push(integration_api::legacy_record(&facts(record, now)));
            }
            cursor = page.cursor;
            if cursor.is_none() {
                break;
            }
        }
    }
    Ok(records)
}
