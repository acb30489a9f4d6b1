//! Device credentials: the client id and secret an enrolled printer or agent receives once
//! at enrollment, exchanged at `POST /oauth/token` (grant `client_credentials`) for a short
//! device token. The secret is 256 random bits stored only as a keyed hash; a fast HMAC is
//! enough for such a secret (no dictionary to try), and keeps telemetry cheap.
//!
//! Revocation is immediate: every device request checks, in the record it reads or writes
//! anyway, that the token's credential is still the printer's (or agent's) current one, and
//! unenrollment deletes the credential item so no new token is granted.

use crate::Ctx;
use crate::http::Problem;
use crate::identity::keyed_hash::{Purpose, keyed_hash};
use crate::identity::signin::TokenGrant;
use crate::identity::tokens::{Claims, NewToken, TokenKind};
use crate::ports::{Item, Key};
use crate::records::{from_item, to_item};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Duration;
use rand::RngCore;
use serde::{Deserialize, Serialize};

/// Client ids of device credentials start with this, so the token endpoint knows where to
/// look them up.
pub const CLIENT_ID_PREFIX: &str = "device-";

/// How long a device token is valid (the seed's token example, L16849).
pub const DEVICE_TOKEN_TTL: Duration = Duration::seconds(7200);

/// What a device credential stands for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind", content = "id")]
pub enum Holder {
    /// An enrolled printer.
    Printer(String),
    /// An enrolled agent.
    Agent(String),
}

/// A credential as shown once to the device.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeviceCredential {
    /// Client id for `POST /oauth/token`.
    pub client_id: String,
    /// Client secret; never shown again.
    pub client_secret: String,
}

/// The stored credential.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StoredCredential {
    org_id: String,
    holder: Holder,
    secret_hash: String,
}

/// Key of the credential `client_id`.
pub fn credential_key(client_id: &str) -> Key {
    Key::new(format!("DEVICECRED#{client_id}"), "CREDENTIAL")
}

fn secret_hash(ctx: &Ctx, client_id: &str, secret: &str) -> String {
    keyed_hash(&ctx.config.secret, Purpose::DeviceSecret, client_id, secret)
}

/// A new credential for `holder` in `org_id`, and the item that stores it (written by the
/// caller in its enrollment transaction).
pub fn issue(ctx: &Ctx, org_id: &str, holder: Holder) -> Result<(DeviceCredential, Item), Problem> {
    let client_id = format!("{CLIENT_ID_PREFIX}{}", ctx.ids.new_id().to_lowercase());
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let client_secret = URL_SAFE_NO_PAD.encode(bytes);
    let stored = StoredCredential {
        org_id: org_id.to_string(),
        holder,
        secret_hash: secret_hash(ctx, &client_id, &client_secret),
    };
    let item = to_item(&stored, &credential_key(&client_id), &[])?;
    Ok((DeviceCredential { client_id, client_secret }, item))
}

fn invalid_client() -> Problem {
    Problem::new(StatusCode::UNAUTHORIZED, "invalid_client", "No application has these credentials.")
}

/// `grant_type=client_credentials` for a device credential → a device token bound to the
/// printer or agent, valid [`DEVICE_TOKEN_TTL`].
pub async fn grant(ctx: &Ctx, client_id: &str, client_secret: &str) -> Result<TokenGrant, Problem> {
    let Some(item) = ctx.table.get(&credential_key(client_id)).await? else { return Err(invalid_client()) };
    let stored: StoredCredential = from_item(item)?;
    let presented = secret_hash(ctx, client_id, client_secret);
    if !constant_time_eq(presented.as_bytes(), stored.secret_hash.as_bytes()) {
        return Err(invalid_client());
    }
    let (printer, agent) = match stored.holder {
        Holder::Printer(id) => (Some(id), None),
        Holder::Agent(id) => (None, Some(id)),
    };
    let now = ctx.clock.now();
    let token = NewToken {
        sub: client_id.to_string(),
        org: stored.org_id,
        kind: TokenKind::Device,
        scope: Vec::new(),
        jti: ctx.ids.new_id(),
        printer,
        agent,
        family: None,
        roles: Vec::new(),
    };
    Ok(TokenGrant {
        access_token: ctx.tokens.issue(token, DEVICE_TOKEN_TTL, now).map_err(Problem::internal)?,
        token_type: "bearer",
        expires_in: DEVICE_TOKEN_TTL.num_seconds(),
        created_at: now.timestamp(),
        refresh_token: None,
    })
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The enrolled printer or agent calling a device route, from its device token.
#[derive(Clone, Debug)]
pub struct Device {
    /// The verified token.
    pub claims: Claims,
}

impl Device {
    /// The organisation the device is enrolled in.
    pub fn org_id(&self) -> &str {
        &self.claims.org
    }

    /// The credential's client id (compared with the printer's current credential).
    pub fn client_id(&self) -> &str {
        &self.claims.sub
    }

    /// The printer, or 403 for an agent token.
    pub fn printer_id(&self) -> Result<&str, Problem> {
        self.claims
            .printer
            .as_deref()
            .ok_or_else(|| Problem::new(StatusCode::FORBIDDEN, "forbidden", "This needs a printer's device token."))
    }

    /// The agent, or 403 for a printer token.
    pub fn agent_id(&self) -> Result<&str, Problem> {
        self.claims
            .agent
            .as_deref()
            .ok_or_else(|| Problem::new(StatusCode::FORBIDDEN, "forbidden", "This needs an agent's device token."))
    }
}

/// 401 for a device whose credential no longer works (unenrolled, or re-enrolled with a
/// new credential).
pub fn revoked() -> Problem {
    Problem::new(
        StatusCode::UNAUTHORIZED,
        "device_unenrolled",
        "This device credential no longer works: the device was unenrolled or enrolled again.",
    )
}

impl FromRequestParts<Ctx> for Device {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, ctx: &Ctx) -> Result<Self, Self::Rejection> {
        let unauthenticated = |code: &str, detail: &str| Problem::new(StatusCode::UNAUTHORIZED, code, detail);
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|h| h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer ")))
            .ok_or_else(|| unauthenticated("unauthenticated", "Send `Authorization: Bearer <device token>`."))?;
        let claims = ctx
            .tokens
            .verify(token.trim(), ctx.clock.now())
            .map_err(|e| unauthenticated(e.code(), "The device token is not valid; get a new one."))?;
        if claims.kind != TokenKind::Device {
            return Err(Problem::new(StatusCode::FORBIDDEN, "forbidden", "This needs a device token."));
        }
        tracing::Span::current().record("org", claims.org.as_str());
        Ok(Device { claims })
    }
}
