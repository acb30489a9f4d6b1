//! Users' quota status this month (§2.28, BR-QT-09…12, D-QUOTA-STATUS): status, total and
//! colour remaining, definition and type, filterable and exportable to CSV.

use super::assignments::{self, QuotaType};
use super::ledger;
use super::limits::{self, ColourLimit, QuotaStatus};
use crate::context::Ctx;
use crate::http::Problem;
use crate::identity::model::User;
use crate::identity::users;
use crate::print::settings::{self, PrintSettings};
use serde::Serialize;

/// One user's row of the quota status page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct QuotaStatusRow {
    /// The user.
    pub user_id: String,
    /// Their e-mail address ("Gebruiker").
    pub email: String,
    /// OK, Warning or Exceeded.
    pub status: QuotaStatus,
    /// Sides left of the total this month; `null` when unlimited.
    pub total_remaining: Option<u64>,
    /// Colour sides left this month; `null` when only an unlimited total bounds colour.
    pub colour_remaining: Option<u64>,
    /// The definition's name, or `Default`.
    pub definition: String,
    /// The definition's id; `null` for the default quota.
    pub definition_id: Option<String>,
    /// Where the quota comes from.
    #[serde(rename = "type")]
    pub kind: QuotaType,
    /// The quota month, `yyyy-mm`.
    pub month: String,
}

/// Which rows to show.
#[derive(Clone, Debug, Default)]
pub struct StatusFilter {
    /// Only rows with this status.
    pub status: Option<QuotaStatus>,
    /// Only rows of this definition (`default` for the default quota).
    pub definition_id: Option<String>,
    /// Only rows of this type.
    pub kind: Option<QuotaType>,
}

impl StatusFilter {
    fn keeps(&self, row: &QuotaStatusRow) -> bool {
        let definition = row.definition_id.as_deref().unwrap_or("default");
        self.status.is_none_or(|s| s == row.status)
            && self.definition_id.as_deref().is_none_or(|d| d == definition)
            && self.kind.is_none_or(|k| k == row.kind)
    }
}

/// The status row of `user` in `month`.
pub async fn row(
    ctx: &Ctx,
    org_id: &str,
    settings: &PrintSettings,
    month: &str,
    user: &User,
) -> Result<QuotaStatusRow, Problem> {
    let quota = assignments::effective(ctx, org_id, settings, user).await?;
    let month_number = month[5..].parse().unwrap_or(1);
    let limits = quota.limits.for_month(month_number);
    let consumed = ledger::usage(ctx, org_id, &user.id, month).await?.consumed();
    let colour_remaining = match limits.colour {
        ColourLimit::Deny => Some(0),
        _ => limits.colour_sides().map(|colour| colour.saturating_sub(consumed.colour)),
    };
    let total_remaining = limits.total_sides().map(|total| total.saturating_sub(consumed.total));
    Ok(QuotaStatusRow {
        user_id: user.id.clone(),
        email: user.email.clone(),
        status: limits::status(&limits, consumed),
        total_remaining,
        colour_remaining: colour_remaining.map(|colour| total_remaining.map_or(colour, |total| colour.min(total))),
        definition: quota.definition_name,
        definition_id: quota.definition_id,
        kind: quota.kind,
        month: month.to_string(),
    })
}

/// One page of rows: the users of one page of the organisation's users (`limit`, after
/// `cursor`) that `filter` keeps, so a filtered page may hold fewer rows than `limit`.
pub async fn page(
    ctx: &Ctx,
    org_id: &str,
    filter: &StatusFilter,
    limit: u32,
    cursor: Option<String>,
) -> Result<(Vec<QuotaStatusRow>, Option<String>), Problem> {
    let settings = settings::get(ctx, org_id).await?;
    let month = ledger::current_month(ctx, org_id).await?;
    let (users, next) = users::list(ctx, org_id, limit, cursor).await?;
    let mut rows = Vec::with_capacity(users.len());
    for user in &users {
        let row = row(ctx, org_id, &settings, &month, user).await?;
        if filter.keeps(&row) {
            rows.push(row);
        }
    }
    Ok((rows, next))
}

/// Every row `filter` keeps, for the CSV export.
pub async fn all(ctx: &Ctx, org_id: &str, filter: &StatusFilter) -> Result<Vec<QuotaStatusRow>, Problem> {
    let mut rows = Vec::new();
    let mut cursor = None;
    loop {
        let (found, next) = page(ctx, org_id, filter, 200, cursor).await?;
        rows.extend(found);
        cursor = next;
        if cursor.is_none() {
            return Ok(rows);
        }
    }
}

/// The CSV columns, as the status page shows them (BR-QT-12).
pub const CSV_HEADER: [&str; 7] =
    ["User", "Status", "Total remaining", "Colour remaining", "Quota definition", "Type", "Month"];

/// `rows` as CSV lines under [`CSV_HEADER`]; unlimited amounts read `Unlimited`.
pub fn csv_rows(rows: &[QuotaStatusRow]) -> impl Iterator<Item = Vec<String>> + '_ {
    let amount = |value: Option<u64>| value.map_or_else(|| "Unlimited".to_string(), |n| n.to_string());
    rows.iter().map(move |row| {
        vec![
            row.email.clone(),
            status_label(row.status).to_string(),
            amount(row.total_remaining),
            amount(row.colour_remaining),
            row.definition.clone(),
            row.kind.label().to_string(),
            row.month.clone(),
        ]
    })
}

/// The status as shown and filtered on.
pub fn status_label(status: QuotaStatus) -> &'static str {
    match status {
        QuotaStatus::Ok => "OK",
        QuotaStatus::Warning => "Warning",
        QuotaStatus::Exceeded => "Exceeded",
    }
}
