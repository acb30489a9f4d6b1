//! Signing in at a printer: a printer's application (a client token with scope
//! `badges-auth`) exchanges what the user presents — a badge, a PIN, both, or a secure login
//! code, as the organisation's printer login configuration allows — for a short-lived
//! device session of that user, bound to the printer. An unknown badge answers
//! `badge_not_registered`, so the printer can offer first-use registration with the user's
//! e-mail address and password (BR-BDG-1).
//!
//! Every wrong badge, PIN, login code or password counts against the printer
//! ([`super::throttle`]): the fifth within 15 minutes locks it for 15 minutes (429
//! `pin_locked`). Failures are logged with the printer and method, never what was typed.
//!
//! Until printers are enrolled (later), `printerId` is the printer's own identifier as its
//! application reports it; it is checked for shape only and bound into the session token.

use super::badges::{self, Badge};
use super::model::User;
use super::printer_login::{self, PrinterLoginConfig};
use super::roles::Role;
use super::signin::roles_of;
use super::tokens::{Claims, NewToken, TokenKind};
use super::{login_codes, pins, store, throttle};
use crate::Ctx;
use crate::http::Problem;
use crate::passwords;
use crate::ports::Key;
use axum::http::StatusCode;
use chrono::Duration;
use serde::{Deserialize, Serialize};
use std::sync::OnceLock;

/// Lifetime of a device session: long enough to pick and release jobs, short enough that a
/// session left at a printer is soon worthless.
pub const SESSION_LIFETIME: Duration = Duration::minutes(10);
/// The scope a printer's application needs (part-6: Card Authentication).
pub const BADGES_AUTH_SCOPE: &str = "badges-auth";
/// Longest printer id.
pub const MAX_PRINTER_ID: usize = 128;

/// What a printer sends to sign a user in: `printerId` plus one allowed combination of
/// `badge`, `pin` and `loginCode`.
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeviceLogin {
    /// The printer the session is for (letters, digits, `.`, `_`, `:`, `-`; at most 128);
    /// needed with an application token only: a printer's device token names the printer.
    #[serde(default)]
    pub printer_id: String,
    /// The badge number the reader reported.
    #[serde(default)]
    pub badge: Option<String>,
    /// The PIN typed.
    #[serde(default)]
    pub pin: Option<String>,
    /// The secure login code typed.
    #[serde(default)]
    pub login_code: Option<String>,
}

/// Who signed in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeviceSessionUser {
    /// User id.
    pub id: String,
    /// E-mail address.
    pub email: String,
    /// Display name (may be empty).
    pub display_name: String,
}

/// A device session.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeviceSession {
    /// Bearer token of kind device session, bound to the printer, with the user's roles.
    pub session_token: String,
    /// Seconds it is valid.
    pub expires_in: i64,
    /// The user.
    pub user: DeviceSessionUser,
}

/// First-use badge registration at a printer (BR-BDG-1).
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BadgeRegistration {
    /// The printer it happens at (application tokens only, as for [`DeviceLogin`]).
    #[serde(default)]
    pub printer_id: String,
    /// The badge number the reader reported.
    pub badge: String,
    /// The user's e-mail address.
    pub email: String,
    /// The user's password.
    pub password: String,
}

/// The printer a sign-in happens at. An enrolled printer's device token names it (and must
/// still be the printer's current credential: unenrolled printers sign nobody in); an
/// application token with scope `badges-auth` states it in the body.
pub async fn printer_of(ctx: &Ctx, claims: &Claims, stated: &str) -> Result<String, Problem> {
    if claims.kind == TokenKind::Device {
        let printer_id = claims.printer.as_deref().ok_or_else(|| {
            Problem::new(StatusCode::FORBIDDEN, "forbidden", "An agent's token cannot sign users in at a printer.")
        })?;
        let record = crate::fleet::printers::find(ctx, &claims.org, printer_id).await?;
        if record.is_none_or(|r| r.credential_id != claims.sub) {
            return Err(crate::fleet::credentials::revoked());
        }
        return Ok(printer_id.to_string());
    }
    require_badges_auth(claims)?;
    check_printer_id(stated)?;
    Ok(stated.to_string())
}

/// 403 unless the caller is an application with scope `badges-auth`.
fn require_badges_auth(claims: &Claims) -> Result<(), Problem> {
    if claims.kind == TokenKind::Client && claims.has_scope(BADGES_AUTH_SCOPE) {
        Ok(())
    } else {
        Err(Problem::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "This needs an application token with scope `badges-auth`.",
        ))
    }
}

fn check_printer_id(printer_id: &str) -> Result<(), Problem> {
    let shaped = printer_id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'));
    if printer_id.is_empty() || printer_id.len() > MAX_PRINTER_ID || !shaped {
        return Err(Problem::new(
            StatusCode::BAD_REQUEST,
            "invalid_field",
            format!("printerId: 1 to {MAX_PRINTER_ID} letters, digits, `.`, `_`, `:` or `-`"),
        ));
    }
    Ok(())
}

/// The failure counter of a printer.
fn printer_counter(org_id: &str, printer_id: &str) -> Key {
    throttle::counter_key(store::org_partition(org_id), &format!("PRINTER#{printer_id}"))
}

/// What a printer presented.
#[derive(Clone, Copy, Debug)]
enum Presented<'a> {
    Badge(&'a str),
    Pin(&'a str),
    BadgeAndPin(&'a str, &'a str),
    LoginCode(&'a str),
}

impl Presented<'_> {
    fn name(self) -> &'static str {
        match self {
            Presented::Badge(_) => "badge",
            Presented::Pin(_) => "pin",
            Presented::BadgeAndPin(..) => "badge+pin",
            Presented::LoginCode(_) => "login code",
        }
    }
}

/// Why the presented credentials signed nobody in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Failure {
    /// No user has this badge: the printer may offer registration (BR-BDG-1).
    BadgeNotRegistered,
    /// Wrong, expired or used PIN, code or password.
    InvalidCredentials,
}

fn not_allowed(config: &PrinterLoginConfig) -> Problem {
    let allowed = config.describe_logins();
    Problem::new(
        StatusCode::BAD_REQUEST,
        "login_method_not_allowed",
        if allowed.is_empty() {
            "Printers of this organisation accept no sign-in of this kind.".to_string()
        } else {
            format!("Printers of this organisation sign in with {allowed} (plus printerId).")
        },
    )
}

/// The presented combination, if the configuration allows it.
fn presented<'a>(config: &PrinterLoginConfig, login: &'a DeviceLogin) -> Result<Presented<'a>, Problem> {
    let presented = match (login.badge.as_deref(), login.pin.as_deref(), login.login_code.as_deref()) {
        (Some(badge), None, None) if config.badge_login() => Presented::Badge(badge),
        (None, Some(pin), None) if config.pin_login() => Presented::Pin(pin),
        (Some(badge), Some(pin), None) if config.badge_and_pin() => Presented::BadgeAndPin(badge, pin),
        (None, None, Some(code)) if config.secure_login() => Presented::LoginCode(code),
        _ => return Err(not_allowed(config)),
    };
    if let Presented::Badge(badge) | Presented::BadgeAndPin(badge, _) = presented {
        badges::normalise(badge)?;
    }
    Ok(presented)
}

/// Counts a failure against the printer, logs it, and answers the problem for it.
async fn fail(ctx: &Ctx, org_id: &str, printer_id: &str, method: &str, failure: Failure) -> Problem {
    let counter = printer_counter(org_id, printer_id);
    let failures = match throttle::record_failure(ctx, &counter).await {
        Ok(n) => n,
        Err(err) => return err.into(),
    };
    tracing::warn!(org = %org_id, printer = %printer_id, method, failures, ?failure, "printer sign-in failed");
    if failures >= throttle::MAX_FAILURES {
        return throttle::locked();
    }
    match failure {
        Failure::BadgeNotRegistered => Problem::new(
            StatusCode::NOT_FOUND,
            "badge_not_registered",
            "This badge is not registered; register it with your e-mail address and password (BR-BDG-1).",
        ),
        Failure::InvalidCredentials => {
            Problem::new(StatusCode::UNAUTHORIZED, "invalid_credentials", "The credentials are not valid.")
        }
    }
}

/// The user a badge names: a badge whose user no longer exists is removed, then unknown.
async fn badge_user(ctx: &Ctx, org_id: &str, badge: &str) -> Result<Option<User>, Problem> {
    let Some(found) = badges::find_by_number(ctx, org_id, badge).await? else { return Ok(None) };
    match store::get_user(ctx, org_id, &found.user_id).await? {
        Some(record) => Ok(Some(record.user)),
        None => {
            badges::delete(ctx, org_id, &found.id).await.or_else(|p| if p.status == 404 { Ok(()) } else { Err(p) })?;
            Ok(None)
        }
    }
}

async fn authenticate(ctx: &Ctx, org_id: &str, presented: Presented<'_>) -> Result<Result<String, Failure>, Problem> {
    let user_id = match presented {
        Presented::Badge(badge) => match badge_user(ctx, org_id, badge).await? {
            Some(user) => Ok(user.id),
            None => Err(Failure::BadgeNotRegistered),
        },
        Presented::BadgeAndPin(badge, pin) => match badge_user(ctx, org_id, badge).await? {
            None => Err(Failure::BadgeNotRegistered),
            Some(user) if pins::verify_for_user(ctx, org_id, &user.id, pin).await? => Ok(user.id),
            Some(_) => Err(Failure::InvalidCredentials),
        },
        Presented::Pin(pin) => match pins::find_user(ctx, org_id, pin).await? {
            pins::PinMatch::One(user) => Ok(user),
            pins::PinMatch::Ambiguous => {
                tracing::warn!(org = %org_id, "a PIN shared by several users was refused for PIN-only sign-in");
                Err(Failure::InvalidCredentials)
            }
            pins::PinMatch::Nobody => Err(Failure::InvalidCredentials),
        },
        Presented::LoginCode(code) => login_codes::consume(ctx, org_id, code).await?.ok_or(Failure::InvalidCredentials),
    };
    Ok(user_id)
}

/// `POST /v1/device/sessions`: signs the presented user in at the printer.
pub async fn open(ctx: &Ctx, claims: &Claims, login: &DeviceLogin) -> Result<DeviceSession, Problem> {
    let printer_id = printer_of(ctx, claims, &login.printer_id).await?;
    let org_id = claims.org.as_str();
    let config = printer_login::get(ctx, org_id).await?;
    let presented = presented(&config, login)?;
    throttle::check(ctx, &printer_counter(org_id, &printer_id)).await?;
    let user_id = match authenticate(ctx, org_id, presented).await? {
        Ok(user_id) => user_id,
        Err(failure) => return Err(fail(ctx, org_id, &printer_id, presented.name(), failure).await),
    };
    let Some(record) = store::get_user(ctx, org_id, &user_id).await? else {
        return Err(fail(ctx, org_id, &printer_id, presented.name(), Failure::InvalidCredentials).await);
    };
    session(ctx, org_id, &record.user, &printer_id).await
}

async fn session(ctx: &Ctx, org_id: &str, user: &User, printer_id: &str) -> Result<DeviceSession, Problem> {
    let org = store::get_org(ctx, org_id).await?.filter(|org| !org.deleting).ok_or_else(|| {
        Problem::new(StatusCode::FORBIDDEN, "forbidden", "The organisation is not available for sign-in.")
    })?;
    let roles = if user.guest {
        // A guest prints their own jobs and nothing else, whatever every user is given.
        super::roles::effective_roles([&[Role::PrintReleaseManagementUser][..]], &org.entitlements)
    } else {
        roles_of(ctx, &org, user).await?
    };
    let roles = roles.into_iter().collect();
    let token = NewToken {
        sub: user.id.clone(),
        org: org.id.clone(),
        kind: TokenKind::DeviceSession,
        scope: Vec::new(),
        jti: ctx.ids.new_id(),
        printer: Some(printer_id.to_string()),
        agent: None,
        family: None,
        roles,
    };
    let session_token = ctx.tokens.issue(token, SESSION_LIFETIME, ctx.clock.now()).map_err(Problem::internal)?;
    Ok(DeviceSession {
        session_token,
        expires_in: SESSION_LIFETIME.num_seconds(),
        user: DeviceSessionUser {
            id: user.id.clone(),
            email: user.email.clone(),
            display_name: user.display_name.clone(),
        },
    })
}

/// A hash checked when the address is unknown, so a wrong address costs as much as a wrong
/// password and does not reveal which addresses exist.
fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| passwords::hash("decoy password that matches nothing"))
}

/// `POST /v1/device/badges`: the user registers the badge they just presented, proving who
/// they are with e-mail address and password (BR-BDG-1). The badge is permanent.
pub async fn register_badge(ctx: &Ctx, claims: &Claims, registration: &BadgeRegistration) -> Result<Badge, Problem> {
    let printer_id = printer_of(ctx, claims, &registration.printer_id).await?;
    let org_id = claims.org.as_str();
    let config = printer_login::get(ctx, org_id).await?;
    if !config.uses_badges() {
        return Err(not_allowed(&config));
    }
    badges::normalise(&registration.badge)?;
    throttle::check(ctx, &printer_counter(org_id, &printer_id)).await?;
    let user = store::find_user_by_email(ctx, &registration.email).await?.filter(|r| r.user.org_id == org_id);
    let hash = user.as_ref().and_then(|u| u.password_hash.as_deref());
    let matches = passwords::verify(&registration.password, hash.unwrap_or(decoy_hash())) && hash.is_some();
    let Some(user) = user.filter(|_| matches) else {
        return Err(fail(ctx, org_id, &printer_id, "badge registration", Failure::InvalidCredentials).await);
    };
    let description = format!("Registered at printer {printer_id}");
    badges::register(ctx, org_id, &user.user, &registration.badge, &description, false).await
}
