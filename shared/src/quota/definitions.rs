//! Quota definitions (BR-QT-01…04) and the organisation's default quota (BR-QT-05).
//!
//! Layout, in the organisation's partition: a definition under `QUOTADEF#<id>` with an
//! `assignments` counter kept by [`super::assignments`]; its name claim under
//! `QUOTADEFNAME#<lower-cased name>`, so names are unique whatever their case; the default
//! quota under `QUOTADEFAULT` (absent: printing without limit).
//!
//! Definitions and the default are changed only while the organisation's print quotas are
//! on (BR-OS-18); they can always be read.

use super::limits::{MonthLimits, QuotaLimits};
use crate::context::Ctx;
use crate::http::Problem;
use crate::identity::store;
use crate::ports::table::{Condition, Key, Query, Update, Write};
use crate::ports::{Item, StoreError};
use crate::print::settings::{self, PrintSettings};
use crate::records::{from_item, to_item};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// Most definitions an organisation keeps.
pub const MAX_DEFINITIONS: u64 = 200;
/// Longest definition name, in characters.
pub const MAX_NAME: usize = 128;

/// A named set of monthly limits that can be assigned.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct QuotaDefinition {
    /// Its id.
    pub id: String,
    /// Its name, unique in the organisation regardless of case (BR-QT-01).
    pub name: String,
    /// What it allows each month.
    pub limits: QuotaLimits,
    /// Increases with every change; an update may name the version it read.
    pub version: i64,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// The body that creates or replaces a definition.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DefinitionInput {
    /// The name.
    pub name: String,
    /// The limits.
    pub limits: QuotaLimits,
    /// On update: the version read; a different stored version answers 409 `conflict`.
    #[serde(default)]
    pub version: Option<i64>,
}

/// The organisation's default quota: what applies to users without an assignment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DefaultQuota {
    /// What it allows each month.
    pub limits: QuotaLimits,
    /// Increases with every change (0: never set).
    pub version: i64,
    /// When it last changed.
    pub updated_at: Option<DateTime<Utc>>,
}

impl DefaultQuota {
    /// The default before an administrator sets one: printing without limit.
    pub fn unlimited() -> Self {
        DefaultQuota {
            limits: QuotaLimits::SameEveryMonth { limits: MonthLimits::UNLIMITED },
            version: 0,
            updated_at: None,
        }
    }
}

/// The body that sets the default quota.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DefaultInput {
    /// The limits.
    pub limits: QuotaLimits,
    /// The version read; a different stored version answers 409 `conflict`.
    #[serde(default)]
    pub version: Option<i64>,
}

fn definition_key(org_id: &str, id: &str) -> Key {
    Key::new(store::org_partition(org_id), format!("QUOTADEF#{id}"))
}

fn name_claim(org_id: &str, name: &str) -> Key {
    Key::new(store::org_partition(org_id), format!("QUOTADEFNAME#{}", name.to_lowercase()))
}

fn default_key(org_id: &str) -> Key {
    Key::new(store::org_partition(org_id), "QUOTADEFAULT")
}

fn invalid(field: &str, why: impl std::fmt::Display) -> Problem {
    Problem::new(StatusCode::BAD_REQUEST, "invalid_field", format!("{field}: {why}"))
}

/// 404 for a definition that does not exist.
pub fn no_such_definition() -> Problem {
    Problem::not_found("No such quota definition.")
}

fn name_taken() -> Problem {
    Problem::new(StatusCode::CONFLICT, "name_taken", "A quota definition with this name already exists (BR-QT-01).")
}

fn changed_meanwhile(what: &str) -> Problem {
    Problem::new(
        StatusCode::CONFLICT,
        "conflict",
        format!("The {what} was changed meanwhile; reload it and try again."),
    )
}

/// The settings of an organisation whose print quotas are on, or 409
/// `print_quotas_disabled` (BR-OS-18).
pub async fn require_enabled(ctx: &Ctx, org_id: &str) -> Result<PrintSettings, Problem> {
    let settings = settings::get(ctx, org_id).await?;
    if !settings.print_quotas {
        return Err(Problem::new(
            StatusCode::CONFLICT,
            "print_quotas_disabled",
            "Print quotas are off; turn on `printQuotas` in the organisation's print settings (BR-OS-18).",
        ));
    }
    Ok(settings)
}

/// The name trimmed, or 400 when empty, too long or with control characters.
fn check_name(name: &str) -> Result<String, Problem> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME || name.chars().any(char::is_control) {
        return Err(invalid("name", format!("a name of 1 to {MAX_NAME} characters, no control characters")));
    }
    Ok(name.to_string())
}

/// The definition `id`, if it exists.
pub async fn find(ctx: &Ctx, org_id: &str, id: &str) -> Result<Option<QuotaDefinition>, Problem> {
    Ok(crate::records::get(&*ctx.table, &definition_key(org_id, id)).await?)
}

/// The definition `id`, or 404.
pub async fn get(ctx: &Ctx, org_id: &str, id: &str) -> Result<QuotaDefinition, Problem> {
    find(ctx, org_id, id).await?.ok_or_else(no_such_definition)
}

/// Every definition of the organisation, by name.
pub async fn list(ctx: &Ctx, org_id: &str) -> Result<Vec<QuotaDefinition>, Problem> {
    let mut definitions: Vec<QuotaDefinition> = Vec::new();
    let mut cursor = None;
    loop {
        let query = Query::partition(store::org_partition(org_id)).begins_with("QUOTADEF#").limit(500).after(cursor);
        let page = ctx.table.query_json(&query).await?;
        for item in &page.items {
            definitions.push(crate::records::from_json(item)?);
        }
        cursor = page.cursor;
        if cursor.is_none() {
            break;
        }
    }
    definitions.sort_by_key(|d| d.name.to_lowercase());
    Ok(definitions)
}

fn claim_item(org_id: &str, definition: &QuotaDefinition) -> Result<Item, Problem> {
    Ok(to_item(&json!({"definitionId": definition.id}), &name_claim(org_id, &definition.name), &[])?)
}

/// Creates a definition with a free name and valid limits (BR-QT-01…04).
pub async fn create(ctx: &Ctx, org_id: &str, input: DefinitionInput) -> Result<QuotaDefinition, Problem> {
    require_enabled(ctx, org_id).await?;
    let name = check_name(&input.name)?;
    input.limits.validate()?;
    let stored = Query::partition(store::org_partition(org_id)).begins_with("QUOTADEF#");
    if ctx.table.count(&stored).await? >= MAX_DEFINITIONS {
        return Err(Problem::new(
            StatusCode::CONFLICT,
            "too_many_definitions",
            format!("An organisation has at most {MAX_DEFINITIONS} quota definitions."),
        ));
    }
    let now = ctx.clock.now();
    let definition = QuotaDefinition {
        id: ctx.ids.new_id(),
        name,
        limits: input.limits,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    let writes = vec![
        Write::Put { item: claim_item(org_id, &definition)?, condition: Condition::Absent },
        Write::Put {
            item: to_item(&definition, &definition_key(org_id, &definition.id), &[("assignments", json!(0))])?,
            condition: Condition::Absent,
        },
    ];
    match ctx.table.transact(writes).await {
        Ok(()) => Ok(definition),
        Err(StoreError::TransactionCanceled { failed }) if failed.contains(&0) => Err(name_taken()),
        Err(other) => Err(other.into()),
    }
}

/// Replaces a definition's name and limits, keeping its assignments; a new name moves
/// the claim. Effective quotas follow at once, as they are resolved at each release.
pub async fn update(ctx: &Ctx, org_id: &str, id: &str, input: DefinitionInput) -> Result<QuotaDefinition, Problem> {
    require_enabled(ctx, org_id).await?;
    let name = check_name(&input.name)?;
    input.limits.validate()?;
    let current = get(ctx, org_id, id).await?;
    if input.version.is_some_and(|v| v != current.version) {
        return Err(changed_meanwhile("quota definition"));
    }
    let next = QuotaDefinition {
        name,
        limits: input.limits,
        version: current.version + 1,
        updated_at: ctx.clock.now(),
        ..current.clone()
    };
    let limits = serde_json::to_value(&next.limits).map_err(Problem::internal)?;
    let change = Update::new(definition_key(org_id, id))
        .set("name", next.name.clone())
        .set("limits", limits)
        .set("updatedAt", json!(next.updated_at))
        .add("version", 1)
        .when(Condition::VersionEquals(current.version));
    let renamed = next.name.to_lowercase() != current.name.to_lowercase();
    let mut writes = Vec::new();
    if renamed {
        writes.push(Write::Put { item: claim_item(org_id, &next)?, condition: Condition::Absent });
        writes.push(Write::Delete {
            key: name_claim(org_id, &current.name),
            condition: Condition::Equals("definitionId".into(), json!(current.id)),
        });
    }
    writes.push(Write::Update(change));
    match ctx.table.transact(writes).await {
        Ok(()) => Ok(next),
        Err(StoreError::TransactionCanceled { failed }) if renamed && failed.contains(&0) => Err(name_taken()),
        Err(StoreError::TransactionCanceled { .. } | StoreError::ConditionFailed) => {
            Err(changed_meanwhile("quota definition"))
        }
        Err(other) => Err(other.into()),
    }
}

/// How many assignments use the definition stored in `item`.
pub fn assignment_count(item: &Item) -> i64 {
    item.get("assignments").and_then(Value::as_f64).map_or(0, |n| n as i64)
}

/// Deletes a definition and its name claim; 409 `quota_in_use` while it is assigned.
pub async fn delete(ctx: &Ctx, org_id: &str, id: &str) -> Result<(), Problem> {
    require_enabled(ctx, org_id).await?;
    let key = definition_key(org_id, id);
    let in_use = |count: i64| {
        Problem::new(
            StatusCode::CONFLICT,
            "quota_in_use",
            format!("The quota definition is assigned {count} time(s); remove its assignments first."),
        )
    };
    let item = ctx.table.get(&key).await?.ok_or_else(no_such_definition)?;
    if assignment_count(&item) > 0 {
        return Err(in_use(assignment_count(&item)));
    }
    let definition: QuotaDefinition = from_item(item)?;
    let writes = vec![
        Write::Delete { key: key.clone(), condition: Condition::Equals("assignments".into(), json!(0)) },
        Write::Delete {
            key: name_claim(org_id, &definition.name),
            condition: Condition::Equals("definitionId".into(), json!(definition.id)),
        },
    ];
    match ctx.table.transact(writes).await {
        Ok(()) => Ok(()),
        Err(StoreError::TransactionCanceled { .. }) => match ctx.table.get(&key).await? {
            Some(item) if assignment_count(&item) > 0 => Err(in_use(assignment_count(&item))),
            _ => Err(changed_meanwhile("quota definition")),
        },
        Err(other) => Err(other.into()),
    }
}

/// The organisation's default quota (unlimited until set).
pub async fn default_quota(ctx: &Ctx, org_id: &str) -> Result<DefaultQuota, Problem> {
    Ok(crate::records::get(&*ctx.table, &default_key(org_id)).await?.unwrap_or_else(DefaultQuota::unlimited))
}

/// Sets the default quota (BR-QT-05).
pub async fn set_default(ctx: &Ctx, org_id: &str, input: DefaultInput) -> Result<DefaultQuota, Problem> {
    require_enabled(ctx, org_id).await?;
    input.limits.validate()?;
    let current = default_quota(ctx, org_id).await?;
    if input.version.is_some_and(|v| v != current.version) {
        return Err(changed_meanwhile("default quota"));
    }
    let next = DefaultQuota { limits: input.limits, version: current.version + 1, updated_at: Some(ctx.clock.now()) };
    let condition = if current.version == 0 { Condition::Absent } else { Condition::VersionEquals(current.version) };
    match ctx.table.put(to_item(&next, &default_key(org_id), &[])?, condition).await {
        Ok(()) => Ok(next),
        Err(StoreError::ConditionFailed) => Err(changed_meanwhile("default quota")),
        Err(other) => Err(other.into()),
    }
}
