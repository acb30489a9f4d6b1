//! Enrollment (part-2 §5 WF-ENROLL-*): a printer or agent presents a code and its identity
//! and receives its record and a device credential, once.
//!
//! - Organisation code typed on a printer (WF-ENROLL-NATIVE-PRE, BR-EN-03).
//! - Agent activation code (Fleet / Local agents; 72 h, N activations, BR-LA-02/03).
//! - An activated agent enrolls the printers it manages (BR-LA-05, BR-AGT-1).
//! - Printer-generated code (WF-ENROLL-NATIVE-PRINTERCODE, BR-EN-02): the printer asks for
//!   a code and polls with a private poll secret; an administrator claims the code in the
//!   organisation; the printer's next poll enrolls it.
//!
//! A serial number belongs to one organisation at a time (R-ENR-3): enrolling it elsewhere
//! answers `printer_enrolled_elsewhere` until it is unenrolled there. Enrolling it again in
//! the same organisation replaces its identity and credential (a reset printer).

use super::agents::{self, Agent, AgentIdentity};
use super::codes::{self, CodeKind};
use super::credentials::{self, DeviceCredential, Holder};
use super::printers::{self, AgentType, Printer, PrinterIdentity, PrinterRecord};
use crate::Ctx;
use crate::http::Problem;
use crate::identity::throttle;
use crate::ports::{Condition, Key, StoreError, Write};
use crate::records::to_item;
use axum::http::StatusCode;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The body of `POST /v1/enroll`; which fields are present decides the flow.
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EnrollRequest {
    /// The organisation's enrollment code or an agent activation code.
    #[serde(default)]
    pub code: Option<String>,
    /// The enrolling printer (with `code`, with an agent's token, or with
    /// `requestPrinterCode`).
    #[serde(default)]
    pub printer: Option<PrinterIdentity>,
    /// The activating agent (with an activation `code`).
    #[serde(default)]
    pub agent: Option<AgentIdentity>,
    /// Ask for a printer-generated code to show on the panel.
    #[serde(default)]
    pub request_printer_code: bool,
    /// A printer-generated code, polled with its `pollSecret`.
    #[serde(default)]
    pub printer_code: Option<String>,
    /// The secret answered with the printer-generated code.
    #[serde(default)]
    pub poll_secret: Option<String>,
}

/// A printer enrolled: its record and its credential (shown once).
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EnrolledPrinter {
    /// The printer.
    pub printer: Printer,
    /// Its device credential.
    pub credential: DeviceCredential,
}

/// An agent activated: its record and its credential (shown once).
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ActivatedAgent {
    /// The agent.
    pub agent: Agent,
    /// Its device credential.
    pub credential: DeviceCredential,
}

/// A printer-generated code as the printer receives it.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PrinterCode {
    /// The code the printer shows for an administrator to claim.
    pub printer_code: String,
    /// Proof the printer sends with each poll (never shown on the panel).
    pub poll_secret: String,
    /// When the code stops working.
    pub expires_at: DateTime<Utc>,
}

/// How long a printer-generated code waits to be claimed and picked up.
pub const PRINTER_CODE_LIFETIME: Duration = Duration::hours(1);
/// Characters of a printer-generated code (typed by an administrator; claims are throttled).
pub const PRINTER_CODE_LENGTH: usize = 8;

fn invalid(detail: impl Into<String>) -> Problem {
    Problem::new(StatusCode::BAD_REQUEST, "invalid_field", detail.into())
}

fn bad_code() -> Problem {
    Problem::new(
        StatusCode::BAD_REQUEST,
        "invalid_enrollment_code",
        "The code is not a working enrollment or activation code (wrong, expired or replaced).",
    )
}

/// Checks what a printer reports before anything is stored.
pub fn check_identity(identity: &mut PrinterIdentity) -> Result<(), Problem> {
    identity.serial_number = identity.serial_number.trim().to_string();
    let serial = &identity.serial_number;
    let serial_ok = (1..=64).contains(&serial.len())
        && serial.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if !serial_ok {
        return Err(invalid("printer.serialNumber: 1 to 64 letters, digits, `-`, `_` or `.`"));
    }
    for (field, value) in [("printer.model", &identity.model), ("printer.manufacturer", &identity.manufacturer)] {
        if value.trim().is_empty() || value.chars().count() > 128 {
            return Err(invalid(format!("{field}: 1 to 128 characters")));
        }
    }
    if let Some(ip) = identity.ip_address.as_ref().filter(|ip| ip.parse::<std::net::IpAddr>().is_err()) {
        return Err(invalid(format!("printer.ipAddress: `{ip}` is not an IP address")));
    }
    if let Some(mac) = &identity.mac_address {
        let parts: Vec<&str> = mac.split([':', '-']).collect();
        if parts.len() != 6 || !parts.iter().all(|p| p.len() == 2 && p.bytes().all(|b| b.is_ascii_hexdigit())) {
            return Err(invalid(format!("printer.macAddress: `{mac}` is not six hex pairs (e.g. 00:21:B7:12:34:56)")));
        }
    }
    for (field, value) in
        [("printer.hostname", &identity.hostname), ("printer.firmwareVersion", &identity.firmware_version)]
    {
        if value.as_ref().is_some_and(|v| v.chars().count() > 128) {
            return Err(invalid(format!("{field}: at most 128 characters")));
        }
    }
    if identity.screen_size.is_some_and(|s| !(s > 0.0 && s <= 30.0)) {
        return Err(invalid("printer.screenSize: inches, more than 0 and at most 30"));
    }
    if matches!(identity.agent_type, Some(AgentType::Fleet | AgentType::Local)) {
        return Err(invalid("printer.agentType: a printer runs `Native Agent` or `Printer Agent` itself"));
    }
    Ok(())
}

/// Enrolls (or re-enrolls) a printer in `org_id`, managed by `agent` when an agent enrolls
/// it; `extra` writes (an activation use) join the same transaction.
pub async fn enroll_printer(
    ctx: &Ctx,
    org_id: &str,
    mut identity: PrinterIdentity,
    agent: Option<&Agent>,
    extra: Vec<Write>,
) -> Result<EnrolledPrinter, Problem> {
    check_identity(&mut identity)?;
    let existing = match printers::serial_holder(ctx, &identity.serial_number).await? {
        Some((holder_org, _)) if holder_org != org_id => return Err(enrolled_elsewhere()),
        Some((_, printer_id)) => printers::find(ctx, org_id, &printer_id).await?,
        None => None,
    };
    if let (Some(old), Some(agent)) = (&existing, agent)
        && old.printer.agent_id.as_deref().is_some_and(|id| id != agent.id)
    {
        return Err(Problem::new(
            StatusCode::CONFLICT,
            "printer_managed_by_another_agent",
            "Another agent manages this printer; a printer has one agent at a time (BR-AGT-1).",
        ));
    }
    let now = ctx.clock.now();
    let printer_id = existing.as_ref().map_or_else(|| ctx.ids.new_id(), |old| old.printer.id.clone());
    let (credential, credential_item) = credentials::issue(ctx, org_id, Holder::Printer(printer_id.clone()))?;
    let record = PrinterRecord {
        printer: Printer {
            id: printer_id.clone(),
            org_id: org_id.to_string(),
            agent_type: agent.map_or(identity.agent_type.unwrap_or_default(), |a| a.identity.agent_type),
            agent_id: agent.map(|a| a.id.clone()),
            identity,
            identification: existing.as_ref().map(|o| o.printer.identification.clone()).unwrap_or_default(),
            enrolled_at: existing.as_ref().map_or(now, |o| o.printer.enrolled_at),
            date_modified: now,
            last_communication: Some(now),
            last_data_refresh: existing.as_ref().and_then(|o| o.printer.last_data_refresh),
            telemetry: existing.as_ref().map(|o| o.printer.telemetry.clone()).unwrap_or_default(),
            version: existing.as_ref().map_or(1, |o| o.printer.version + 1),
        },
        credential_id: credential.client_id.clone(),
    };
    let mut writes = vec![Write::Put {
        item: printers::record_item(&record)?,
        condition: existing.as_ref().map_or(Condition::Absent, |o| Condition::VersionEquals(o.printer.version)),
    }];
    if let Some(old) = &existing {
        writes
            .push(Write::Delete { key: credentials::credential_key(&old.credential_id), condition: Condition::Always });
    } else {
        writes.push(Write::Put { item: printers::serial_claim(&record)?, condition: Condition::Absent });
    }
    writes.push(Write::Put { item: credential_item, condition: Condition::Absent });
    let first_extra = writes.len();
    writes.extend(extra);
    match ctx.table.transact(writes).await {
        Ok(()) => Ok(EnrolledPrinter { printer: record.printer, credential }),
        Err(StoreError::TransactionCanceled { failed }) if failed.iter().any(|i| *i >= first_extra) => {
            Err(activations_used_up())
        }
        Err(StoreError::TransactionCanceled { .. }) => {
            Err(match printers::serial_holder(ctx, &record.printer.identity.serial_number).await? {
                Some((holder_org, _)) if holder_org != org_id => enrolled_elsewhere(),
                _ => Problem::new(StatusCode::CONFLICT, "conflict", "The printer enrolled meanwhile; try again."),
            })
        }
        Err(other) => Err(other.into()),
    }
}

fn enrolled_elsewhere() -> Problem {
    Problem::new(
        StatusCode::CONFLICT,
        "printer_enrolled_elsewhere",
        "This printer is enrolled in another organisation; unenroll it there first (R-ENR-3).",
    )
}

fn activations_used_up() -> Problem {
    Problem::new(
        StatusCode::CONFLICT,
        "activation_limit_reached",
        "This activation code has activated as many agents as it allows (BR-LA-03); generate a new one.",
    )
}

/// Throttle key of enrollment attempts for one serial number (or agent name).
fn attempts_key(subject: &str) -> Key {
    throttle::counter_key("ENROLLATTEMPTS".into(), &subject.trim().to_uppercase())
}

/// Looks up `typed`, counting a miss against `subject` (throttled like printer logins).
async fn redeem_throttled(ctx: &Ctx, typed: &str, subject: &str) -> Result<codes::Redeemed, Problem> {
    let key = attempts_key(subject);
    throttle::check(ctx, &key).await?;
    match codes::redeem(ctx, typed).await? {
        Some(found) => Ok(found),
        None => {
            throttle::record_failure(ctx, &key).await?;
            Err(bad_code())
        }
    }
}

/// A printer enrolling itself with the organisation's enrollment code.
pub async fn with_organisation_code(
    ctx: &Ctx,
    code: &str,
    identity: PrinterIdentity,
) -> Result<EnrolledPrinter, Problem> {
    let found = redeem_throttled(ctx, code, &identity.serial_number).await?;
    if found.kind != CodeKind::Organisation {
        return Err(Problem::new(
            StatusCode::BAD_REQUEST,
            "wrong_code_kind",
            "An agent activation code activates agents; a printer enrolls with the organisation's enrollment code.",
        ));
    }
    enroll_printer(ctx, &found.org_id, identity, None, Vec::new()).await
}

/// An agent activating with an activation code (BR-LA-02/03).
pub async fn activate_agent(ctx: &Ctx, code: &str, identity: AgentIdentity) -> Result<ActivatedAgent, Problem> {
    agents::check_identity(&identity)?;
    let found = redeem_throttled(ctx, code, &format!("AGENT#{}", identity.name)).await?;
    if found.kind != CodeKind::AgentActivation {
        return Err(Problem::new(
            StatusCode::BAD_REQUEST,
            "wrong_code_kind",
            "The organisation's enrollment code enrolls printers; an agent activates with an activation code.",
        ));
    }
    if found.agent_type != Some(identity.agent_type) {
        return Err(invalid("agent.agentType: this activation code is for another agent type"));
    }
    let now = ctx.clock.now();
    let agent_id = ctx.ids.new_id();
    let (credential, credential_item) = credentials::issue(ctx, &found.org_id, Holder::Agent(agent_id.clone()))?;
    let agent = Agent {
        id: agent_id.clone(),
        org_id: found.org_id.clone(),
        identity,
        activated_at: now,
        last_communication: Some(now),
        credential_id: credential.client_id.clone(),
    };
    let agent_item = to_item(
        &agent,
        &agents::agent_key(&found.org_id, &agent_id),
        &[("credentialId", json!(credential.client_id))],
    )?;
    let mut writes = vec![
        Write::Put { item: agent_item, condition: Condition::Absent },
        Write::Put { item: credential_item, condition: Condition::Absent },
    ];
    writes.extend(found.use_activation);
    match ctx.table.transact(writes).await {
        Ok(()) => Ok(ActivatedAgent { agent, credential }),
        Err(StoreError::TransactionCanceled { .. }) => Err(activations_used_up()),
        Err(other) => Err(other.into()),
    }
}

/// An activated agent enrolling a printer it manages.
pub async fn by_agent(
    ctx: &Ctx,
    device: &credentials::Device,
    identity: PrinterIdentity,
) -> Result<EnrolledPrinter, Problem> {
    let agent_id = device.agent_id()?;
    let agent = agents::find(ctx, device.org_id(), agent_id).await?.ok_or_else(credentials::revoked)?;
    if agent.credential_id != device.client_id() {
        return Err(credentials::revoked());
    }
    agents::touch(ctx, device.org_id(), agent_id, device.client_id()).await?;
    enroll_printer(ctx, device.org_id(), identity, Some(&agent), Vec::new()).await
}

fn pending_key(code: &str) -> Key {
    Key::new(format!("PRINTERCODE#{code}"), "PENDING")
}

/// A printer asks for a code to show on its panel (BR-EN-02).
pub async fn request_printer_code(ctx: &Ctx, mut identity: PrinterIdentity) -> Result<PrinterCode, Problem> {
    check_identity(&mut identity)?;
    let now = ctx.clock.now();
    let expires_at = now + PRINTER_CODE_LIFETIME;
    let printer_code = codes::generate(PRINTER_CODE_LENGTH);
    let normalised = codes::normalise(&printer_code, PRINTER_CODE_LENGTH).unwrap_or_default();
    let poll_secret = codes::generate(32);
    let pending = json!({
        "identity": identity,
        "pollHash": codes::code_hash(ctx, &codes::normalise(&poll_secret, 32).unwrap_or_default()),
        "state": "pending",
        "ttl": expires_at.timestamp(),
    });
    let key = pending_key(&codes::code_hash(ctx, &normalised));
    ctx.table.put(to_item(&pending, &key, &[])?, Condition::Absent).await?;
    Ok(PrinterCode { printer_code, poll_secret, expires_at })
}

/// What a claim answers: the printer that will complete enrollment at its next poll.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClaimedPrinter {
    /// Its serial number.
    pub serial_number: String,
    /// Its model.
    pub model: String,
    /// Always `claimed`: the printer enrolls at its next poll.
    pub state: &'static str,
}

/// An administrator claims a printer-generated code for `org_id`; wrong codes count toward
/// the organisation's lockout (5 within 15 minutes).
pub async fn claim(ctx: &Ctx, org_id: &str, typed: &str) -> Result<ClaimedPrinter, Problem> {
    let counter = throttle::counter_key(crate::identity::store::org_partition(org_id), "PRINTERCLAIM");
    throttle::check(ctx, &counter).await?;
    let miss =
        || Problem::new(StatusCode::NOT_FOUND, "printer_code_not_found", "No printer is waiting with this code.");
    let Some(code) = codes::normalise(typed, PRINTER_CODE_LENGTH) else {
        throttle::record_failure(ctx, &counter).await?;
        return Err(miss());
    };
    let key = pending_key(&codes::code_hash(ctx, &code));
    let Some(item) = ctx.table.get(&key).await? else {
        throttle::record_failure(ctx, &counter).await?;
        return Err(miss());
    };
    let identity: PrinterIdentity =
        serde_json::from_value(item.get("identity").cloned().unwrap_or(Value::Null)).map_err(Problem::internal)?;
    if let Some((holder_org, _)) = printers::serial_holder(ctx, &identity.serial_number).await?
        && holder_org != org_id
    {
        return Err(enrolled_elsewhere());
    }
    let update = crate::ports::Update::new(key)
        .set("state", "claimed")
        .set("orgId", org_id)
        .when(Condition::Equals("state".into(), "pending".into()));
    match ctx.table.update(update).await {
        Ok(_) => {}
        Err(StoreError::ConditionFailed) => return Err(miss()),
        Err(other) => return Err(other.into()),
    }
    Ok(ClaimedPrinter { serial_number: identity.serial_number, model: identity.model, state: "claimed" })
}

/// The printer polls with its code and secret: `None` while unclaimed, the enrollment once
/// an administrator claimed it (the pending code is then spent).
pub async fn poll(ctx: &Ctx, typed: &str, poll_secret: &str) -> Result<Option<EnrolledPrinter>, Problem> {
    let miss =
        || Problem::new(StatusCode::NOT_FOUND, "printer_code_not_found", "No such printer code (or it expired).");
    let code = codes::normalise(typed, PRINTER_CODE_LENGTH).ok_or_else(miss)?;
    let key = pending_key(&codes::code_hash(ctx, &code));
    let item = ctx.table.get(&key).await?.ok_or_else(miss)?;
    let stored_hash = item.get("pollHash").and_then(Value::as_str).unwrap_or_default();
    let secret = codes::normalise(poll_secret, 32).unwrap_or_default();
    if codes::code_hash(ctx, &secret) != stored_hash {
        return Err(miss());
    }
    if item.get("state").and_then(Value::as_str) != Some("claimed") {
        return Ok(None);
    }
    let org_id = item.get("orgId").and_then(Value::as_str).unwrap_or_default().to_string();
    let identity: PrinterIdentity =
        serde_json::from_value(item.get("identity").cloned().unwrap_or(Value::Null)).map_err(Problem::internal)?;
    let spend = Write::Delete { key, condition: Condition::Equals("state".into(), "claimed".into()) };
    enroll_printer(ctx, &org_id, identity, None, vec![spend])
        .await
        .map(Some)
        .map_err(|problem| if problem.code == "activation_limit_reached" { miss() } else { problem })
}
