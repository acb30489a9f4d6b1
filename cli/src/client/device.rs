//! `printcloud device`: a simulated printer for trying pull printing without hardware. It
//! enrolls with an organisation's enrollment code and keeps its device credential in a
//! state file (owner-only); each later command takes a device token with that credential
//! and signs a user in with a badge or a PIN, as a printer's release app does.

use super::api::{self, Api};
use super::files;
use anyhow::{Context, anyhow, bail};
use reqwest::RequestBuilder;
use serde::{Deserialize, Serialize};
use serde_json::json;
use shared::fleet::credentials::DeviceCredential;
use shared::fleet::printers::{PrinterIdentity, ReleaseApp};
use shared::print::jobs::Job;
use std::path::{Path, PathBuf};

/// The model the simulated printer reports.
pub const MODEL: &str = "Simulated printer";
/// The manufacturer the simulated printer reports.
pub const MANUFACTURER: &str = "printcloud";

/// What an enrolled simulated printer keeps.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceState {
    /// The service's base URL.
    pub url: String,
    /// The printer's serial number.
    pub serial_number: String,
    /// The printer's id in the service.
    pub printer_id: String,
    /// Client id of the device credential.
    pub client_id: String,
    /// Client secret of the device credential.
    pub client_secret: String,
}

/// What `printcloud device enroll` sends.
#[derive(Clone, Debug)]
pub struct Enrollment {
    /// The service's base URL.
    pub url: String,
    /// The organisation's enrollment code.
    pub code: String,
    /// The printer's serial number.
    pub serial_number: String,
    /// The release app the printer says it runs (delegated jobs need the eSF one).
    pub release_app: ReleaseApp,
}

/// How the user signs in at the printer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Credential {
    /// A badge number, as the card reader reports it.
    Badge(String),
    /// A PIN, as typed.
    Pin(String),
}

/// The user a printer session belongs to.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionUser {
    /// User id.
    pub id: String,
    /// E-mail address.
    pub email: String,
    /// Display name (may be empty).
    #[serde(default)]
    pub display_name: String,
}

/// A job as the printer lists it.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct ListedJob {
    /// The job.
    pub job: Job,
    /// Whether the user releases it as another user's delegate.
    pub delegated: bool,
}

/// A user signed in at the simulated printer.
#[derive(Clone, Debug)]
pub struct AtPrinter {
    /// The service.
    pub api: Api,
    /// The printer.
    pub state: DeviceState,
    /// Who signed in.
    pub user: SessionUser,
    session_token: String,
}

/// The enroll endpoint's answer.
#[derive(Deserialize)]
struct Enrolled {
    printer: PrinterId,
    credential: DeviceCredential,
}

#[derive(Deserialize)]
struct PrinterId {
    id: String,
}

/// The device session endpoint's answer.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct OpenedSession {
    session_token: String,
    user: SessionUser,
}

/// A token endpoint answer.
#[derive(Deserialize)]
struct DeviceToken {
    access_token: String,
}

/// A list answer.
#[derive(Deserialize)]
pub(super) struct Items<T> {
    pub(super) items: Vec<T>,
}

/// The state file of printer `serial` in `state_dir`: `device-<serial>.json`.
pub fn state_file(state_dir: &Path, serial: &str) -> anyhow::Result<PathBuf> {
    let valid = (1..=64).contains(&serial.len())
        && serial.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && !serial.starts_with('.');
    if !valid {
        bail!("--serial: 1 to 64 letters, digits, `-`, `_` or `.` (not starting with `.`)");
    }
    Ok(state_dir.join(format!("device-{serial}.json")))
}

/// Enrolls the simulated printer and keeps its credential in `state_dir`.
pub async fn enroll(state_dir: &Path, enrollment: &Enrollment) -> anyhow::Result<DeviceState> {
    let path = state_file(state_dir, &enrollment.serial_number)?;
    let api = Api::new(&enrollment.url)?;
    let printer = PrinterIdentity {
        serial_number: enrollment.serial_number.clone(),
        model: MODEL.into(),
        manufacturer: MANUFACTURER.into(),
        color: true,
        duplex: true,
        release_app: Some(enrollment.release_app),
        ..PrinterIdentity::default()
    };
    let body = json!({"code": enrollment.code.trim(), "printer": printer});
    let enrolled: Enrolled = api::json(api.post("/v1/enroll").json(&body)).await?;
    let state = DeviceState {
        url: api.base_url().to_string(),
        serial_number: enrollment.serial_number.clone(),
        printer_id: enrolled.printer.id,
        client_id: enrolled.credential.client_id,
        client_secret: enrolled.credential.client_secret,
    };
    files::write_private(&path, &state)?;
    Ok(state)
}

impl AtPrinter {
    /// Signs `who` in at printer `serial` of `state_dir`.
    pub async fn sign_in(state_dir: &Path, serial: &str, who: &Credential) -> anyhow::Result<AtPrinter> {
        let path = state_file(state_dir, serial)?;
        let state: DeviceState = files::read_json(&path)?.ok_or_else(|| {
            anyhow!("printer {serial} is not enrolled (no {}): run printcloud device enroll first", path.display())
        })?;
        let api = Api::new(&state.url)?;
        let grant = json!({"grant_type": "client_credentials", "client_id": state.client_id,
            "client_secret": state.client_secret});
        let device: DeviceToken = api::json(api.post("/oauth/token").json(&grant)).await.context("printer sign-in")?;
        let body = match who {
            Credential::Badge(badge) => json!({"badge": badge}),
            Credential::Pin(pin) => json!({"pin": pin}),
        };
        let request = api.post("/v1/device/sessions").bearer_auth(&device.access_token).json(&body);
        let opened: OpenedSession = api::json(request).await.context("user sign-in at the printer")?;
        Ok(AtPrinter { api, state, user: opened.user, session_token: opened.session_token })
    }

    /// `request` with the user's printer session token.
    pub fn authorize(&self, request: RequestBuilder) -> RequestBuilder {
        request.bearer_auth(&self.session_token)
    }

    /// The jobs the user can release here: their own held jobs, then delegated ones.
    pub async fn jobs(&self) -> anyhow::Result<Vec<ListedJob>> {
        let listed: Items<ListedJob> = api::json(self.authorize(self.api.get("/v1/device/jobs"))).await?;
        Ok(listed.items)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_files_are_named_after_safe_serial_numbers() {
        let dir = Path::new("/tmp/pc");
        assert_eq!(state_file(dir, "SN-1.a_b").unwrap(), dir.join("device-SN-1.a_b.json"));
        for bad in ["", "../x", "a/b", ".hidden", &"x".repeat(65)] {
            assert!(state_file(dir, bad).is_err(), "{bad}");
        }
    }
}
