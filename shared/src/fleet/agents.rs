//! Agents (E-AGENT): Fleet and Local agents activate with an activation code, then enroll
//! the printers they manage (one agent per printer, BR-AGT-1) and report for them. Their
//! last communication feeds the "agent not communicating" notifications.
//!
//! Layout: `ORG#<org>` / `AGENT#<agentId>`.

use super::printers::AgentType;
use crate::Ctx;
use crate::http::Problem;
use crate::identity::store;
use crate::ports::{Condition, Key, Query, StoreError, StoreResult, Update};
use crate::records::from_item;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What an agent says about itself when it activates.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AgentIdentity {
    /// `Fleet Agent` or `Local Agent` (as the activation code says).
    pub agent_type: AgentType,
    /// Name, e.g. the server's name.
    pub name: String,
    /// Agent version.
    #[serde(default)]
    pub version: Option<String>,
    /// Host the agent runs on.
    #[serde(default)]
    pub hostname: Option<String>,
}

/// An activated agent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Agent {
    /// Identifier.
    pub id: String,
    /// The organisation it belongs to.
    pub org_id: String,
    /// What it said about itself.
    #[serde(flatten)]
    pub identity: AgentIdentity,
    /// When it activated.
    pub activated_at: DateTime<Utc>,
    /// Last time it called in.
    #[serde(default)]
    pub last_communication: Option<DateTime<Utc>>,
    /// Client id of its device credential.
    #[serde(skip_serializing)]
    #[serde(default)]
    pub credential_id: String,
}

/// Key of agent `agent_id`.
pub fn agent_key(org_id: &str, agent_id: &str) -> Key {
    Key::new(store::org_partition(org_id), format!("AGENT#{agent_id}"))
}

/// The agent, if activated.
pub async fn find(ctx: &Ctx, org_id: &str, agent_id: &str) -> StoreResult<Option<Agent>> {
    crate::records::get(&*ctx.table, &agent_key(org_id, agent_id)).await
}

/// Every agent of the organisation.
pub async fn list(ctx: &Ctx, org_id: &str) -> Result<Vec<Agent>, Problem> {
    let mut agents = Vec::new();
    let mut cursor = None;
    loop {
        let query = Query::partition(store::org_partition(org_id)).begins_with("AGENT#").limit(200).after(cursor);
        let page = ctx.table.query(&query).await?;
        for item in page.items {
            agents.push(from_item(item)?);
        }
        cursor = page.cursor;
        if cursor.is_none() {
            return Ok(agents);
        }
    }
}

/// Records that the agent called in with credential `client_id`; 401 when that credential
/// is no longer the agent's.
pub async fn touch(ctx: &Ctx, org_id: &str, agent_id: &str, client_id: &str) -> Result<(), Problem> {
    let update = Update::new(agent_key(org_id, agent_id))
        .set("lastCommunication", serde_json::to_value(ctx.clock.now()).map_err(Problem::internal)?)
        .when(Condition::Equals("credentialId".into(), client_id.into()));
    match ctx.table.update(update).await {
        Ok(_) => Ok(()),
        Err(StoreError::ConditionFailed) => Err(super::credentials::revoked()),
        Err(other) => Err(other.into()),
    }
}

/// Records that the agent called in on behalf of one of its printers.
pub async fn touch_unchecked(ctx: &Ctx, org_id: &str, agent_id: &str) -> StoreResult<()> {
    let update = Update::new(agent_key(org_id, agent_id))
        .set("lastCommunication", serde_json::to_value(ctx.clock.now()).map_err(StoreError::backend)?)
        .when(Condition::Exists);
    match ctx.table.update(update).await {
        Ok(_) | Err(StoreError::ConditionFailed) => Ok(()),
        Err(other) => Err(other),
    }
}

/// 400 unless the identity is usable.
pub fn check_identity(identity: &AgentIdentity) -> Result<(), Problem> {
    let invalid = |detail: &str| Problem::new(StatusCode::BAD_REQUEST, "invalid_field", detail.to_string());
    let name = identity.name.trim();
    if name.is_empty() || name.chars().count() > 128 {
        return Err(invalid("agent.name: 1 to 128 characters"));
    }
    for (field, value) in [("agent.version", &identity.version), ("agent.hostname", &identity.hostname)] {
        if value.as_ref().is_some_and(|v| v.chars().count() > 128) {
            return Err(invalid(&format!("{field}: at most 128 characters")));
        }
    }
    Ok(())
}
