//! Enrollment codes: the organisation's enrollment code (one per organisation, typed on a
//! printer to enroll it, regenerable; WF-ENROLL-NATIVE-PRE, BR-EN-03) and agent activation
//! codes (valid 72 hours, each activating at most N agents; BR-LA-02/03, BR-FA-6).
//!
//! Codes are random (80 bits), shown once, and stored only as keyed hashes:
//! - `ORG#<org>` / `ENROLLCODE#<codeId>`: what the administrator lists (kind, expiry,
//!   activations left) plus the hash;
//! - `ENROLLCODE#<hash>` / `CODE` → `{orgId, codeId}`: how an enrolling device's code is
//!   found before its organisation is known.
//!
//! Both carry the expiry as `ttl`, so an expired code is simply absent. Activations are
//! counted down in the enrollment's own transaction, so a refused enrollment uses none.

use super::printers::AgentType;
use crate::Ctx;
use crate::http::Problem;
use crate::identity::keyed_hash::{Purpose, keyed_hash};
use crate::identity::store;
use crate::ports::{Condition, Key, Query, StoreResult, Update, Write};
use crate::records::{from_item, to_item};
use axum::http::StatusCode;
use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// How long an activation code works (BR-LA-02, BR-FA-6).
pub const ACTIVATION_CODE_LIFETIME: Duration = Duration::hours(72);
/// Most agents one activation code may activate.
pub const MAX_ACTIVATIONS: i64 = 1000;
/// Characters of a code (no 0/O, 1/I look-alikes).
pub const ALPHABET: &[u8; 32] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
/// Characters of an enrollment or activation code (16 × 5 bits = 80 bits).
pub const CODE_LENGTH: usize = 16;
/// The code id of the organisation's enrollment code.
pub const ORGANISATION_CODE_ID: &str = "organisation";
const ACTIVATIONS_LEFT: &str = "activationsLeft";

/// What a code enrolls.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum CodeKind {
    /// The organisation's enrollment code: printers type it to enroll themselves.
    Organisation,
    /// An agent activation code: Fleet or Local agents activate with it.
    AgentActivation,
}

/// A code as administrators see it; `code` only in the answer that created it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EnrollmentCode {
    /// Identifier (`organisation` for the organisation's code).
    pub id: String,
    /// What it enrolls.
    pub kind: CodeKind,
    /// For activation codes: the agent type it activates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_type: Option<AgentType>,
    /// For activation codes: how many agents it may activate in all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_activations: Option<i64>,
    /// For activation codes: how many activations remain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activations_left: Option<i64>,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When it stops working (activation codes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
    /// The code itself, shown once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

/// What an administrator asks for.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewCode {
    /// `organisation` (make or regenerate the organisation's code) or `agentActivation`.
    pub kind: CodeKind,
    /// For activation codes: `Fleet Agent` or `Local Agent`.
    #[serde(default)]
    pub agent_type: Option<AgentType>,
    /// For activation codes: how many agents it may activate (1–1000, default 1).
    #[serde(default)]
    pub max_activations: Option<i64>,
}

/// A random code, grouped in fours for reading aloud.
pub fn generate(length: usize) -> String {
    let mut rng = rand::rng();
    let raw: Vec<char> = (0..length).map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())])).collect();
    raw.chunks(4).map(|c| c.iter().collect::<String>()).collect::<Vec<_>>().join("-")
}

/// The code as typed: upper-cased, without spaces and dashes; `None` when it cannot be one
/// of `length` characters.
pub fn normalise(typed: &str, length: usize) -> Option<String> {
    let code: String = typed.chars().filter(|c| !c.is_whitespace() && *c != '-').collect::<String>().to_uppercase();
    (code.len() == length && code.bytes().all(|b| ALPHABET.contains(&b))).then_some(code)
}

/// The keyed hash a code is stored under.
pub fn code_hash(ctx: &Ctx, normalised: &str) -> String {
    keyed_hash(&ctx.config.secret, Purpose::EnrollmentCode, "", normalised)
}

fn info_key(org_id: &str, code_id: &str) -> Key {
    Key::new(store::org_partition(org_id), format!("ENROLLCODE#{code_id}"))
}

fn lookup_key(hash: &str) -> Key {
    Key::new(format!("ENROLLCODE#{hash}"), "CODE")
}

/// Makes a code: regenerates the organisation's code (the old one stops working) or adds
/// an activation code.
pub async fn create(ctx: &Ctx, org_id: &str, new: &NewCode) -> Result<EnrollmentCode, Problem> {
    let now = ctx.clock.now();
    let code = generate(CODE_LENGTH);
    let hash = code_hash(ctx, &normalise(&code, CODE_LENGTH).unwrap_or_default());
    let mut info = match new.kind {
        CodeKind::Organisation => {
            if new.agent_type.is_some() || new.max_activations.is_some() {
                return Err(invalid("agentType and maxActivations belong to agent activation codes only"));
            }
            EnrollmentCode {
                id: ORGANISATION_CODE_ID.into(),
                kind: CodeKind::Organisation,
                agent_type: None,
                max_activations: None,
                activations_left: None,
                created_at: now,
                expires_at: None,
                code: None,
            }
        }
        CodeKind::AgentActivation => activation_info(ctx, new, now)?,
    };
    let ttl = info.expires_at.map(|at| ("ttl", json!(at.timestamp())));
    let extra: Vec<(&str, Value)> = ttl.iter().cloned().chain([("hash", json!(hash))]).collect();
    let mut info_item = to_item(&info, &info_key(org_id, &info.id), &extra)?;
    if let Some(left) = info.activations_left {
        info_item.insert(ACTIVATIONS_LEFT.into(), json!(left));
    }
    let lookup = json!({"orgId": org_id, "codeId": info.id, "kind": info.kind});
    let lookup_item = to_item(&lookup, &lookup_key(&hash), ttl.as_slice())?;
    let mut writes = Vec::new();
    let previous = match info.kind {
        CodeKind::Organisation => ctx.table.get(&info_key(org_id, ORGANISATION_CODE_ID)).await?,
        CodeKind::AgentActivation => None,
    };
    if let Some(old_hash) = previous.as_ref().and_then(|old| old.get("hash")).and_then(Value::as_str) {
        writes.push(Write::Delete { key: lookup_key(old_hash), condition: Condition::Always });
    }
    writes.push(Write::Put { item: info_item, condition: Condition::Always });
    writes.push(Write::Put { item: lookup_item, condition: Condition::Absent });
    ctx.table.transact(writes).await?;
    info.code = Some(code);
    Ok(info)
}

fn activation_info(ctx: &Ctx, new: &NewCode, now: DateTime<Utc>) -> Result<EnrollmentCode, Problem> {
    let agent_type = match new.agent_type {
        Some(kind @ (AgentType::Fleet | AgentType::Local)) => kind,
        Some(_) | None => return Err(invalid("agentType: `Fleet Agent` or `Local Agent`")),
    };
    let max = new.max_activations.unwrap_or(1);
    if !(1..=MAX_ACTIVATIONS).contains(&max) {
        return Err(invalid(&format!("maxActivations: from 1 to {MAX_ACTIVATIONS}")));
    }
    Ok(EnrollmentCode {
        id: ctx.ids.new_id(),
        kind: CodeKind::AgentActivation,
        agent_type: Some(agent_type),
        max_activations: Some(max),
        activations_left: Some(max),
        created_at: now,
        expires_at: Some(now + ACTIVATION_CODE_LIFETIME),
        code: None,
    })
}

fn invalid(detail: &str) -> Problem {
    Problem::new(StatusCode::BAD_REQUEST, "invalid_field", detail.to_string())
}

/// The organisation's codes that still work, the organisation's own first.
pub async fn list(ctx: &Ctx, org_id: &str) -> Result<Vec<EnrollmentCode>, Problem> {
    let mut codes = Vec::new();
    let mut cursor = None;
    loop {
        let query = Query::partition(store::org_partition(org_id)).begins_with("ENROLLCODE#").limit(200).after(cursor);
        let page = ctx.table.query(&query).await?;
        for item in page.items {
            let left = item.get(ACTIVATIONS_LEFT).and_then(Value::as_i64);
            let mut code: EnrollmentCode = from_item(item)?;
            code.activations_left = left.or(code.activations_left);
            codes.push(code);
        }
        cursor = page.cursor;
        if cursor.is_none() {
            break;
        }
    }
    codes.sort_by_key(|c| (c.kind != CodeKind::Organisation, c.created_at));
    Ok(codes)
}

/// A code that was found: where it enrolls, and (for activation codes) the write that
/// uses one activation, to put in the enrollment's transaction.
#[derive(Clone, Debug)]
pub struct Redeemed {
    /// The organisation the device will belong to.
    pub org_id: String,
    /// What the code enrolls.
    pub kind: CodeKind,
    /// The agent type an activation code activates.
    pub agent_type: Option<AgentType>,
    /// Uses one activation; fails (and cancels the enrollment) when none are left.
    pub use_activation: Option<Write>,
}

/// Looks up a typed code; `None` when no working code matches.
pub async fn redeem(ctx: &Ctx, typed: &str) -> StoreResult<Option<Redeemed>> {
    let Some(code) = normalise(typed, CODE_LENGTH) else { return Ok(None) };
    let Some(lookup) = ctx.table.get(&lookup_key(&code_hash(ctx, &code))).await? else { return Ok(None) };
    let text = |name: &str| lookup.get(name).and_then(Value::as_str).unwrap_or_default().to_string();
    let (org_id, code_id) = (text("orgId"), text("codeId"));
    let Some(info) = ctx.table.get(&info_key(&org_id, &code_id)).await? else { return Ok(None) };
    let info: EnrollmentCode = from_item(info)?;
    let use_activation = (info.kind == CodeKind::AgentActivation).then(|| {
        Write::Update(
            Update::new(info_key(&org_id, &code_id))
                .add(ACTIVATIONS_LEFT, -1)
                .when(Condition::AtLeast(ACTIVATIONS_LEFT.into(), 1)),
        )
    });
    Ok(Some(Redeemed { org_id, kind: info.kind, agent_type: info.agent_type, use_activation }))
}

/// Deletes an activation code (the organisation's code can only be regenerated).
pub async fn delete(ctx: &Ctx, org_id: &str, code_id: &str) -> Result<(), Problem> {
    let not_found = || Problem::new(StatusCode::NOT_FOUND, "code_not_found", "No such enrollment code.");
    if code_id == ORGANISATION_CODE_ID {
        return Err(Problem::new(
            StatusCode::CONFLICT,
            "organisation_code_not_deletable",
            "The organisation's enrollment code cannot be deleted; regenerate it instead.",
        ));
    }
    let item = ctx.table.get(&info_key(org_id, code_id)).await?.ok_or_else(not_found)?;
    let hash = item.get("hash").and_then(Value::as_str).unwrap_or_default().to_string();
    ctx.table
        .transact(vec![
            Write::Delete { key: info_key(org_id, code_id), condition: Condition::Always },
            Write::Delete { key: lookup_key(&hash), condition: Condition::Always },
        ])
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_grouped_random_and_normalise_back() {
        let code = generate(CODE_LENGTH);
        assert_eq!(code.len(), CODE_LENGTH + 3);
        assert_ne!(code, generate(CODE_LENGTH));
        let typed = code.to_lowercase().replace('-', " ");
        assert_eq!(normalise(&typed, CODE_LENGTH), Some(code.replace('-', "")));
        assert_eq!(normalise("ABCD", CODE_LENGTH), None);
        assert_eq!(normalise("0000-0000-0000-0000", CODE_LENGTH), None, "0 is not in the alphabet");
    }
}
