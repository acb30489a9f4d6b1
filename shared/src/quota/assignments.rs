//! Quota assignments (§2.27): a definition assigned to a cost centre, a department or a
//! user, and the quota that applies to a user (D-QUOTA-PRECEDENCE).
//!
//! Layout, in the organisation's partition: `QUOTAASSIGN#<kind>#<key>` where the key is the
//! lower-cased cost-centre or department name, or the user id. Each assignment counts on
//! its definition's `assignments` attribute, in the same transaction, so a definition in
//! use cannot be deleted.

use super::definitions::{self, require_enabled};
use super::limits::QuotaLimits;
use crate::context::Ctx;
use crate::http::Problem;
use crate::identity::model::User;
use crate::identity::{store, users};
use crate::ports::StoreError;
use crate::ports::table::{Condition, Key, Query, Update, Write};
use crate::print::policies::{AssignmentKind, candidates};
use crate::print::settings::PrintSettings;
use crate::records::to_item;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// A definition assigned to a cost centre, a department or a user.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct QuotaAssignment {
    /// Cost centre, department or personal.
    pub kind: AssignmentKind,
    /// The cost centre's or department's name as given, or the user's e-mail address.
    pub key: String,
    /// The user, for a personal assignment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// The assigned definition.
    pub definition_id: String,
    /// When it was assigned.
    pub assigned_at: DateTime<Utc>,
}

/// The body of an assignment.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AssignQuota {
    /// The definition to assign.
    pub definition_id: String,
}

/// Where a user's quota comes from (D-QUOTA-STATUS "type").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub enum QuotaType {
    /// Assigned to the user.
    Personal,
    /// Assigned to the user's cost centre.
    #[serde(rename = "Cost centre")]
    CostCenter,
    /// Assigned to the user's department.
    Department,
    /// The organisation's default quota.
    Default,
}

impl QuotaType {
    /// The type of an assignment of `kind`.
    fn of(kind: AssignmentKind) -> Self {
        match kind {
            AssignmentKind::Personal => QuotaType::Personal,
            AssignmentKind::CostCenter => QuotaType::CostCenter,
            AssignmentKind::Department => QuotaType::Department,
        }
    }

    /// The type as shown and filtered on.
    pub fn label(self) -> &'static str {
        match self {
            QuotaType::Personal => "Personal",
            QuotaType::CostCenter => "Cost centre",
            QuotaType::Department => "Department",
            QuotaType::Default => "Default",
        }
    }
}

/// The quota that applies to a user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EffectiveQuota {
    /// Its limits.
    pub limits: QuotaLimits,
    /// The assigned definition; `None` for the default quota.
    pub definition_id: Option<String>,
    /// The definition's name, or `Default`.
    pub definition_name: String,
    /// Where it comes from.
    pub kind: QuotaType,
}

fn assignment_key(org_id: &str, kind: AssignmentKind, normal: &str) -> Key {
    Key::new(store::org_partition(org_id), format!("QUOTAASSIGN#{}#{normal}", kind.as_str()))
}

/// The stored form of a cost-centre or department name: it matches regardless of case.
fn normal_name(name: &str) -> String {
    name.trim().to_lowercase()
}

fn kind_not_enabled(kind: AssignmentKind) -> Problem {
    Problem::new(
        StatusCode::CONFLICT,
        "assignment_kind_not_enabled",
        format!("The organisation's quota assignment mode does not offer `{}` assignments (BR-QT-06).", kind.as_str()),
    )
}

/// Whether some user of the organisation has `name` as cost centre or department.
async fn name_in_use(ctx: &Ctx, org_id: &str, kind: AssignmentKind, name: &str) -> Result<bool, Problem> {
    let wanted = normal_name(name);
    let field = |user: &User| match kind {
        AssignmentKind::CostCenter => normal_name(&user.cost_center),
        _ => normal_name(&user.department),
    };
    let mut cursor = None;
    loop {
        let (page, next) = users::list(ctx, org_id, 500, cursor).await?;
        if page.iter().any(|user| field(user) == wanted) {
            return Ok(true);
        }
        cursor = next;
        if cursor.is_none() {
            return Ok(false);
        }
    }
}

/// The stored key and the user of an assignment target: a user of the organisation by
/// e-mail address (BR-QT-08), or a cost centre or department that some user of the
/// organisation has (BR-QT-07, ER-QT-01).
async fn resolve_target(
    ctx: &Ctx,
    org_id: &str,
    kind: AssignmentKind,
    key: &str,
) -> Result<(String, Option<String>), Problem> {
    if kind == AssignmentKind::Personal {
        let user = store::find_user_by_email(ctx, key).await?.filter(|record| record.user.org_id == org_id);
        let user = user.ok_or_else(|| Problem::not_found("No user of the organisation has this e-mail address."))?;
        return Ok((user.user.id.clone(), Some(user.user.id)));
    }
    if !name_in_use(ctx, org_id, kind, key).await? {
        let (code, what) = match kind {
            AssignmentKind::CostCenter => ("unknown_cost_center", "cost centre"),
            _ => ("unknown_department", "department"),
        };
        return Err(Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            code,
            format!("No user of the organisation has the {what} `{}` (ER-QT-01).", key.trim()),
        ));
    }
    Ok((normal_name(key), None))
}

/// The assignment of `kind` under the stored key `normal`, if any.
async fn find(ctx: &Ctx, org_id: &str, kind: AssignmentKind, normal: &str) -> Result<Option<QuotaAssignment>, Problem> {
    Ok(crate::records::get(&*ctx.table, &assignment_key(org_id, kind, normal)).await?)
}

fn counter(org_id: &str, definition_id: &str, by: i64) -> Write {
    let key = Key::new(store::org_partition(org_id), format!("QUOTADEF#{definition_id}"));
    Write::Update(Update::new(key).add("assignments", by).when(Condition::Exists))
}

/// Assigns a definition to a cost centre, department or user, replacing what was
/// assigned there. The kind must be offered by the quota assignment mode (409) and the
/// definition must exist (404).
pub async fn assign(
    ctx: &Ctx,
    org_id: &str,
    kind: AssignmentKind,
    key: &str,
    body: AssignQuota,
) -> Result<QuotaAssignment, Problem> {
    let settings = require_enabled(ctx, org_id).await?;
    if !kind.enabled_by(settings.quota_assignment) {
        return Err(kind_not_enabled(kind));
    }
    definitions::get(ctx, org_id, &body.definition_id).await?;
    let (normal, user_id) = resolve_target(ctx, org_id, kind, key).await?;
    let assignment = QuotaAssignment {
        kind,
        key: key.trim().to_string(),
        user_id,
        definition_id: body.definition_id.clone(),
        assigned_at: ctx.clock.now(),
    };
    let previous = find(ctx, org_id, kind, &normal).await?;
    let condition = match &previous {
        Some(old) => Condition::Equals("definitionId".into(), json!(old.definition_id)),
        None => Condition::Absent,
    };
    let mut writes =
        vec![Write::Put { item: to_item(&assignment, &assignment_key(org_id, kind, &normal), &[])?, condition }];
    match previous {
        Some(old) if old.definition_id == assignment.definition_id => {}
        Some(old) => {
            writes.push(counter(org_id, &old.definition_id, -1));
            writes.push(counter(org_id, &assignment.definition_id, 1));
        }
        None => writes.push(counter(org_id, &assignment.definition_id, 1)),
    }
    match ctx.table.transact(writes).await {
        Ok(()) => Ok(assignment),
        Err(StoreError::TransactionCanceled { .. }) => Err(Problem::new(
            StatusCode::CONFLICT,
            "conflict",
            "The assignment or its definition changed meanwhile; try again.",
        )),
        Err(other) => Err(other.into()),
    }
}

/// Removes the assignment of `kind` and `key` (404 when there is none).
pub async fn unassign(ctx: &Ctx, org_id: &str, kind: AssignmentKind, key: &str) -> Result<(), Problem> {
    require_enabled(ctx, org_id).await?;
    let normal = match kind {
        AssignmentKind::Personal => resolve_target(ctx, org_id, kind, key).await?.0,
        _ => normal_name(key),
    };
    let current = find(ctx, org_id, kind, &normal).await?.ok_or_else(|| Problem::not_found("No such assignment."))?;
    let writes = vec![
        Write::Delete {
            key: assignment_key(org_id, kind, &normal),
            condition: Condition::Equals("definitionId".into(), json!(current.definition_id)),
        },
        counter(org_id, &current.definition_id, -1),
    ];
    match ctx.table.transact(writes).await {
        Ok(()) => Ok(()),
        Err(StoreError::TransactionCanceled { .. }) => {
            Err(Problem::new(StatusCode::CONFLICT, "conflict", "The assignment changed meanwhile; try again."))
        }
        Err(other) => Err(other.into()),
    }
}

/// Every assignment of the organisation, by kind and key.
pub async fn list(ctx: &Ctx, org_id: &str) -> Result<Vec<QuotaAssignment>, Problem> {
    let mut found = Vec::new();
    let mut cursor = None;
    loop {
        let query = Query::partition(store::org_partition(org_id)).begins_with("QUOTAASSIGN#").limit(500).after(cursor);
        let page = ctx.table.query_json(&query).await?;
        for item in &page.items {
            found.push(crate::records::from_json::<QuotaAssignment>(item)?);
        }
        cursor = page.cursor;
        if cursor.is_none() {
            return Ok(found);
        }
    }
}

/// The quota that applies to `user` (D-QUOTA-PRECEDENCE): their personal assignment, else
/// their cost centre's or department's as the mode offers, else the default quota.
pub async fn effective(
    ctx: &Ctx,
    org_id: &str,
    settings: &PrintSettings,
    user: &User,
) -> Result<EffectiveQuota, Problem> {
    for (kind, key) in candidates(settings.quota_assignment, user) {
        let normal = if kind == AssignmentKind::Personal { key } else { normal_name(&key) };
        if let Some(assignment) = find(ctx, org_id, kind, &normal).await?
            && let Some(definition) = definitions::find(ctx, org_id, &assignment.definition_id).await?
        {
            return Ok(EffectiveQuota {
                limits: definition.limits,
                definition_id: Some(definition.id),
                definition_name: definition.name,
                kind: QuotaType::of(kind),
            });
        }
    }
    let default = definitions::default_quota(ctx, org_id).await?;
    Ok(EffectiveQuota {
        limits: default.limits,
        definition_id: None,
        definition_name: "Default".into(),
        kind: QuotaType::Default,
    })
}
