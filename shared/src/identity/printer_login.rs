//! Printer login configuration (E-PRINTERLOGIN, WF-PRINTER-LOGIN-CONFIG, seed L5034–L5100):
//! how users sign in at the organisation's printers, and the organisation's PIN details
//! (length, how PINs are made, expiry — BR-PIN-3). One versioned record per organisation,
//! `ORG#<org>`/`SETTINGS#PRINTER_LOGIN`; until an administrator saves one, printers log in
//! with a badge only ([`PrinterLoginConfig::default`]).
//!
//! Decisions where the seed is silent: PIN length 4–16 digits, default 6 (the seed's
//! examples); expiry after 1–8760 hours or 1–365 days; when left out of a change, PINs are
//! generated and e-mailed and never expire. A changed length or expiry applies to PINs set
//! from then on; PINs already set keep theirs.

use super::import::BadgeImportMode;
use super::store;
use crate::Ctx;
use crate::http::Problem;
use crate::ports::{Condition, Key};
use crate::records::to_item;
use axum::http::StatusCode;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// Shortest PIN an organisation may configure.
pub const MIN_PIN_LENGTH: u32 = 4;
/// Longest PIN an organisation may configure.
pub const MAX_PIN_LENGTH: u32 = 16;
/// PIN length until an administrator chooses one (the seed's examples are 6 digits).
pub const DEFAULT_PIN_LENGTH: u32 = 6;
/// Longest expiry in hours (one year).
pub const MAX_EXPIRY_HOURS: u32 = 8760;
/// Longest expiry in days (one year).
pub const MAX_EXPIRY_DAYS: u32 = 365;

/// The two ways of configuring printer login (L5040–L5066).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum LoginMode {
    /// "Standaardverificatie": any of the chosen methods on its own.
    #[default]
    Standard,
    /// "Badge + pincode als tweede factor": a badge and the user's PIN together.
    BadgeAndPin,
}

/// A way of signing in at a printer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum LoginMethod {
    /// A permanent or temporary badge.
    Badge,
    /// A PIN on its own.
    Pin,
    /// "Beveiligde aanmelding": the user's credentials, as a secure login code (E-LOGINCODE).
    SecureLogin,
}

/// How PINs come to be (L5073–L5090).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum PinGeneration {
    /// The server makes the PIN and mails it whenever an administrator or the user sets or
    /// resets it (BR-PIN-1).
    #[default]
    AutoGenerateAndEmail,
    /// Administrators type (or import) users' PINs (BR-PIN-2, BR-USR-2).
    SetByAdmin,
    /// Users choose their own PIN.
    SetByUser,
}

/// The unit of a PIN expiry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum PinExpiryUnit {
    /// Hours.
    Hours,
    /// Days.
    Days,
}

/// The literal `"never"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub enum PinExpiryNever {
    /// PINs never expire.
    #[serde(rename = "never")]
    Never,
}

/// "Verloopt na": PINs expire this long after they are set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PinExpiresAfter {
    /// How many units.
    pub after: u32,
    /// Hours or days.
    pub unit: PinExpiryUnit,
}

/// When PINs expire (BR-PIN-3): `"never"` (the default) or `{"after": N, "unit": "hours"|"days"}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum PinExpiry {
    /// `"never"`.
    Never(PinExpiryNever),
    /// `{"after": N, "unit": ...}`.
    After(PinExpiresAfter),
}

impl Default for PinExpiry {
    fn default() -> Self {
        PinExpiry::Never(PinExpiryNever::Never)
    }
}

impl PinExpiry {
    /// How long a PIN lives, `None` for never.
    pub fn duration(self) -> Option<Duration> {
        match self {
            PinExpiry::Never(_) => None,
            PinExpiry::After(PinExpiresAfter { after, unit: PinExpiryUnit::Hours }) => {
                Some(Duration::hours(after.into()))
            }
            PinExpiry::After(PinExpiresAfter { after, unit: PinExpiryUnit::Days }) => {
                Some(Duration::days(after.into()))
            }
        }
    }
}

/// The organisation's printer login configuration as stored and shown.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PrinterLoginConfig {
    /// Standard (any chosen method alone) or badge + PIN as second factor.
    pub mode: LoginMode,
    /// Standard: the methods printers accept (at least one). Badge + PIN: badge and PIN are
    /// always both required, and `secureLogin` may be added.
    pub methods: BTreeSet<LoginMethod>,
    /// Digits in a PIN.
    pub pin_length: u32,
    /// How PINs are made.
    pub pin_generation: PinGeneration,
    /// When PINs expire.
    pub pin_expiry: PinExpiry,
    /// Optimistic-concurrency version; 0 until the configuration is first saved.
    pub version: i64,
    /// When it was last saved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<DateTime<Utc>>,
}

impl Default for PrinterLoginConfig {
    /// Badge login only, 6-digit PINs generated and mailed, never expiring.
    fn default() -> Self {
        PrinterLoginConfig {
            mode: LoginMode::Standard,
            methods: BTreeSet::from([LoginMethod::Badge]),
            pin_length: DEFAULT_PIN_LENGTH,
            pin_generation: PinGeneration::AutoGenerateAndEmail,
            pin_expiry: PinExpiry::default(),
            version: 0,
            updated_at: None,
        }
    }
}

impl PrinterLoginConfig {
    fn standard_with(&self, method: LoginMethod) -> bool {
        self.mode == LoginMode::Standard && self.methods.contains(&method)
    }

    /// A badge alone signs a user in.
    pub fn badge_login(&self) -> bool {
        self.standard_with(LoginMethod::Badge)
    }

    /// A PIN alone signs a user in ("PIN-only login"): PINs must then be unique.
    pub fn pin_login(&self) -> bool {
        self.standard_with(LoginMethod::Pin)
    }

    /// Badge + PIN as second factor.
    pub fn badge_and_pin(&self) -> bool {
        self.mode == LoginMode::BadgeAndPin
    }

    /// Secure login codes sign a user in.
    pub fn secure_login(&self) -> bool {
        self.methods.contains(&LoginMethod::SecureLogin)
    }

    /// Printers use badges in some way (so badges may be registered at a printer).
    pub fn uses_badges(&self) -> bool {
        self.badge_login() || self.badge_and_pin()
    }

    /// Printers use PINs in some way (BR-USR-2: PIN login or badge + PIN).
    pub fn uses_pins(&self) -> bool {
        self.pin_login() || self.badge_and_pin()
    }

    /// How long a PIN set now lives; only manual PINs expire (BR-PIN-3).
    pub fn pin_lifetime(&self) -> Option<Duration> {
        match self.pin_generation {
            PinGeneration::AutoGenerateAndEmail => None,
            PinGeneration::SetByAdmin | PinGeneration::SetByUser => self.pin_expiry.duration(),
        }
    }

    /// What a badge/PIN import line must hold under this configuration (BR-BIMP, L5239–L5261):
    /// a badge when badges are the only badge/PIN method or with badge + PIN, a PIN when PINs
    /// are the only one or with badge + PIN.
    pub fn import_mode(&self) -> BadgeImportMode {
        match (self.badge_and_pin(), self.badge_login(), self.pin_login()) {
            (true, _, _) => BadgeImportMode::BADGE_AND_PIN,
            (false, true, false) => BadgeImportMode::BADGE,
            (false, false, true) => BadgeImportMode::PIN,
            _ => BadgeImportMode::default(),
        }
    }

    /// The combinations printers may send, in words, for error messages.
    pub fn describe_logins(&self) -> String {
        let mut ways = Vec::new();
        if self.badge_login() {
            ways.push("{badge}");
        }
        if self.pin_login() {
            ways.push("{pin}");
        }
        if self.badge_and_pin() {
            ways.push("{badge, pin}");
        }
        if self.secure_login() {
            ways.push("{loginCode}");
        }
        ways.join(", ")
    }
}

/// A change of the configuration; left-out PIN details take their defaults.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PrinterLoginUpdate {
    /// Standard or badge + PIN as second factor.
    pub mode: LoginMode,
    /// Standard: at least one of `badge`, `pin`, `secureLogin`. Badge + PIN: nothing, or
    /// `secureLogin`.
    #[serde(default)]
    pub methods: Vec<LoginMethod>,
    /// Digits in a PIN, 4 to 16 (default 6).
    #[serde(default)]
    pub pin_length: Option<u32>,
    /// How PINs are made (default `autoGenerateAndEmail`).
    #[serde(default)]
    pub pin_generation: Option<PinGeneration>,
    /// `"never"` (default) or `{"after": N, "unit": "hours"|"days"}`; only with `setByAdmin`
    /// or `setByUser` (BR-PIN-3).
    #[serde(default)]
    pub pin_expiry: Option<PinExpiry>,
    /// The version this change is based on; a different stored version answers 409.
    #[serde(default)]
    pub version: Option<i64>,
}

fn invalid(field: &str, why: impl std::fmt::Display) -> Problem {
    Problem::new(StatusCode::BAD_REQUEST, "invalid_field", format!("{field}: {why}"))
}

/// The configuration `update` asks for, or 400 `invalid_field` naming the field.
pub fn validate(update: &PrinterLoginUpdate) -> Result<PrinterLoginConfig, Problem> {
    let methods: BTreeSet<LoginMethod> = update.methods.iter().copied().collect();
    match update.mode {
        LoginMode::Standard if methods.is_empty() => {
            return Err(invalid("methods", "choose at least one of badge, pin, secureLogin"));
        }
        LoginMode::BadgeAndPin if methods.iter().any(|m| *m != LoginMethod::SecureLogin) => {
            return Err(invalid(
                "methods",
                "with badgeAndPin, badge and PIN are always both required; only secureLogin may be added",
            ));
        }
        _ => {}
    }
    let pin_length = update.pin_length.unwrap_or(DEFAULT_PIN_LENGTH);
    if !(MIN_PIN_LENGTH..=MAX_PIN_LENGTH).contains(&pin_length) {
        return Err(invalid("pinLength", format!("must be between {MIN_PIN_LENGTH} and {MAX_PIN_LENGTH}")));
    }
    let pin_generation = update.pin_generation.unwrap_or_default();
    let pin_expiry = update.pin_expiry.unwrap_or_default();
    if let PinExpiry::After(PinExpiresAfter { after, unit }) = pin_expiry {
        if pin_generation == PinGeneration::AutoGenerateAndEmail {
            return Err(invalid(
                "pinExpiry",
                "PINs can expire only when pinGeneration is setByAdmin or setByUser (BR-PIN-3)",
            ));
        }
        let max = match unit {
            PinExpiryUnit::Hours => MAX_EXPIRY_HOURS,
            PinExpiryUnit::Days => MAX_EXPIRY_DAYS,
        };
        if !(1..=max).contains(&after) {
            return Err(invalid("pinExpiry.after", format!("must be between 1 and {max}")));
        }
    }
    Ok(PrinterLoginConfig {
        mode: update.mode,
        methods,
        pin_length,
        pin_generation,
        pin_expiry,
        version: 0,
        updated_at: None,
    })
}

fn config_key(org_id: &str) -> Key {
    Key::new(store::org_partition(org_id), "SETTINGS#PRINTER_LOGIN")
}

/// The organisation's configuration, or the default when none was saved.
pub async fn get(ctx: &Ctx, org_id: &str) -> Result<PrinterLoginConfig, Problem> {
    Ok(crate::records::get(&*ctx.table, &config_key(org_id)).await?.unwrap_or_default())
}

/// Saves a new configuration (a new version), refusing it when someone saved meanwhile.
pub async fn put(ctx: &Ctx, org_id: &str, update: PrinterLoginUpdate) -> Result<PrinterLoginConfig, Problem> {
    let mut config = validate(&update)?;
    let current = get(ctx, org_id).await?;
    if update.version.is_some_and(|v| v != current.version) {
        return Err(Problem::new(
            StatusCode::CONFLICT,
            "conflict",
            format!("The configuration is at version {}; reload it and try again.", current.version),
        ));
    }
    config.version = current.version + 1;
    config.updated_at = Some(ctx.clock.now());
    let condition = if current.version == 0 { Condition::Absent } else { Condition::VersionEquals(current.version) };
    ctx.table.put(to_item(&config, &config_key(org_id), &[])?, condition).await?;
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn update(json: serde_json::Value) -> PrinterLoginUpdate {
        serde_json::from_value(json).expect("a well-formed update")
    }

    fn field_of(problem: Problem) -> String {
        problem.detail.split(':').next().unwrap().to_string()
    }

    #[test]
    fn e_printerlogin_default_is_badge_login_only() {
        let config = PrinterLoginConfig::default();
        assert!(config.badge_login());
        assert!(!config.pin_login() && !config.badge_and_pin() && !config.secure_login());
        assert_eq!(config.pin_length, 6);
        assert_eq!(serde_json::to_value(config.pin_expiry).unwrap(), "never");
    }

    #[test]
    fn e_printerlogin_standard_needs_a_method_and_badge_and_pin_adds_only_secure_login() {
        let err = validate(&update(serde_json::json!({"mode": "standard"}))).unwrap_err();
        assert_eq!(field_of(err), "methods");
        let err = validate(&update(serde_json::json!({"mode": "badgeAndPin", "methods": ["pin"]}))).unwrap_err();
        assert_eq!(field_of(err), "methods");
        let ok = validate(&update(serde_json::json!({"mode": "badgeAndPin", "methods": ["secureLogin"]}))).unwrap();
        assert!(ok.badge_and_pin() && ok.secure_login() && ok.uses_pins() && ok.uses_badges() && !ok.pin_login());
        let ok =
            validate(&update(serde_json::json!({"mode": "standard", "methods": ["pin", "pin", "badge"]}))).unwrap();
        assert_eq!(ok.methods.len(), 2);
        assert_eq!(ok.import_mode(), BadgeImportMode::default());
    }

    #[test]
    fn br_pin_3_expiry_only_with_manual_pins() {
        let err = validate(&update(serde_json::json!({
            "mode": "standard", "methods": ["pin"], "pinExpiry": {"after": 12, "unit": "hours"}
        })))
        .unwrap_err();
        assert_eq!(field_of(err.clone()), "pinExpiry");
        assert!(err.detail.contains("BR-PIN-3"));
        for generation in ["setByAdmin", "setByUser"] {
            let ok = validate(&update(serde_json::json!({
                "mode": "standard", "methods": ["pin"], "pinGeneration": generation,
                "pinExpiry": {"after": 2, "unit": "days"}
            })))
            .unwrap();
            assert_eq!(ok.pin_lifetime(), Some(Duration::days(2)));
        }
        let err = validate(&update(serde_json::json!({
            "mode": "standard", "methods": ["pin"], "pinGeneration": "setByAdmin",
            "pinExpiry": {"after": 0, "unit": "days"}
        })))
        .unwrap_err();
        assert_eq!(field_of(err), "pinExpiry.after");
        let never =
            validate(&update(serde_json::json!({"mode": "standard", "methods": ["pin"], "pinExpiry": "never"})))
                .unwrap();
        assert_eq!(never.pin_lifetime(), None);
    }

    #[test]
    fn e_printerlogin_pin_length_is_bounded() {
        for (length, ok) in [(3, false), (4, true), (16, true), (17, false)] {
            let result =
                validate(&update(serde_json::json!({"mode": "standard", "methods": ["pin"], "pinLength": length})));
            assert_eq!(result.is_ok(), ok, "{length}");
        }
    }
}
