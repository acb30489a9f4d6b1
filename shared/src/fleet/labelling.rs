//! Labelling printers from a file (BR-LB-03, BR-LB-04): every IP address or serial number
//! of the file that names a printer of the organisation gets the label; the others are
//! reported as not labelled (printers outside the organisation, or unknown).

use super::label_import::{self, LabelTargets};
use super::{labels, printers};
use crate::Ctx;
use crate::http::Problem;
use crate::ports::{Index, Query};
use serde::Serialize;
use serde_json::Value;

/// The "Resultatenoverzicht printers labelen" summary (BR-LB-04).
#[derive(Clone, Debug, Default, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LabellingSummary {
    /// Printers of the organisation that now carry the label.
    pub labelled: u64,
    /// Entries of the file that name no printer of the organisation.
    pub not_labelled: u64,
    /// Those entries, as written in the file.
    pub not_labelled_entries: Vec<String>,
}

/// Applies the label `label_id` to the printers the file names.
pub async fn import(
    ctx: &Ctx,
    org_id: &str,
    label_id: &str,
    file_name: Option<&str>,
    bytes: &[u8],
) -> Result<LabellingSummary, Problem> {
    labels::get(ctx, org_id, label_id).await?;
    let entries: Vec<(String, Vec<String>)> = match label_import::parse_label_file(file_name, bytes)? {
        LabelTargets::IpAddresses(ips) => {
            let mut found = Vec::with_capacity(ips.len());
            for ip in ips {
                found.push((ip.to_string(), printers_at(ctx, org_id, &ip.to_string()).await?));
            }
            found
        }
        LabelTargets::SerialNumbers(serials) => {
            let mut found = Vec::with_capacity(serials.len());
            for serial in serials {
                let holder = printers::serial_holder(ctx, &serial).await?;
                let ids = holder.filter(|(org, _)| org == org_id).map(|(_, id)| vec![id]).unwrap_or_default();
                found.push((serial, ids));
            }
            found
        }
    };
    let mut summary = LabellingSummary::default();
    for (entry, printer_ids) in entries {
        if printer_ids.is_empty() {
            summary.not_labelled += 1;
            summary.not_labelled_entries.push(entry);
            continue;
        }
        for printer_id in printer_ids {
            labels::attach(ctx, org_id, &printer_id, label_id).await?;
            summary.labelled += 1;
        }
    }
    Ok(summary)
}

/// The organisation's printers at `ip`.
async fn printers_at(ctx: &Ctx, org_id: &str, ip: &str) -> Result<Vec<String>, Problem> {
    let query = Query::on_index(Index::Gsi1, printers::ip_partition(org_id, ip)).limit(100);
    let page = ctx.table.query(&query).await?;
    Ok(page.items.iter().filter_map(|item| item.get("id").and_then(Value::as_str).map(str::to_string)).collect())
}
