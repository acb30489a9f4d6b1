//! `printcloud login` and the signed-in state of the other user commands: the password
//! grant's tokens are kept in `<config dir>/session.json` (owner-only), and an access token
//! that has expired is renewed with the refresh token — which is spent by that, so the new
//! pair is stored at once.

use super::api::{self, Api};
use super::files;
use anyhow::anyhow;
use chrono::{DateTime, Duration, Utc};
use reqwest::RequestBuilder;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::path::{Path, PathBuf};

/// The session file's name in the config directory.
pub const SESSION_FILE: &str = "session.json";

/// An access token is renewed this long before it expires, so none lapses on the way.
const EXPIRY_MARGIN: Duration = Duration::seconds(30);

/// What `printcloud login` stores.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredSession {
    /// The service's base URL.
    pub url: String,
    /// Bearer token of the user.
    pub access_token: String,
    /// Single-use token that renews the pair.
    pub refresh_token: String,
    /// When the access token stops working.
    pub expires_at: DateTime<Utc>,
    /// The user's organisation.
    pub org_id: String,
    /// The user.
    pub user_id: String,
}

/// A signed-in user, ready to call the API with a current access token.
#[derive(Clone, Debug)]
pub struct SignedIn {
    /// The service.
    pub api: Api,
    /// The session, renewed when it had expired.
    pub session: StoredSession,
}

impl SignedIn {
    /// `request` with the user's bearer token.
    pub fn authorize(&self, request: RequestBuilder) -> RequestBuilder {
        request.bearer_auth(&self.session.access_token)
    }
}

/// A token endpoint answer.
#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    refresh_token: Option<String>,
    expires_in: i64,
}

/// The parts of `GET /v1/me` a session needs.
#[derive(Deserialize)]
struct Me {
    user: Named,
    organisation: Named,
}

#[derive(Deserialize)]
struct Named {
    id: String,
}

/// Where the session of `config_dir` is kept.
pub fn session_file(config_dir: &Path) -> PathBuf {
    config_dir.join(SESSION_FILE)
}

/// Signs `email` in at `url` with the password grant and stores the session in
/// `config_dir`.
pub async fn login(config_dir: &Path, url: &str, email: &str, password: &str) -> anyhow::Result<StoredSession> {
    let api = Api::new(url)?;
    let grant = json!({"grant_type": "password", "username": email, "password": password});
    let tokens: TokenAnswer = api::json(api.post("/oauth/token").json(&grant)).await?;
    let me: Me = api::json(api.get("/v1/me").bearer_auth(&tokens.access_token)).await?;
    let session = StoredSession {
        url: api.base_url().to_string(),
        expires_at: Utc::now() + Duration::seconds(tokens.expires_in),
        refresh_token: tokens.refresh_token.ok_or_else(|| anyhow!("the service gave no refresh token"))?,
        access_token: tokens.access_token,
        org_id: me.organisation.id,
        user_id: me.user.id,
    };
    files::write_private(&session_file(config_dir), &session)?;
    Ok(session)
}

/// The signed-in user of `config_dir`, with the access token renewed if it has expired.
pub async fn signed_in(config_dir: &Path) -> anyhow::Result<SignedIn> {
    let path = session_file(config_dir);
    let session: StoredSession = files::read_json(&path)?
        .ok_or_else(|| anyhow!("not signed in: run printcloud login --url <URL> --email <E-MAIL>"))?;
    let api = Api::new(&session.url)?;
    if session.expires_at - EXPIRY_MARGIN > Utc::now() {
        return Ok(SignedIn { api, session });
    }
    let session = refresh(&api, session)
        .await
        .map_err(|err| anyhow!("the session has expired and could not be renewed ({err:#}); run printcloud login"))?;
    files::write_private(&path, &session)?;
    Ok(SignedIn { api, session })
}

/// `session` with a new token pair from its refresh token.
async fn refresh(api: &Api, session: StoredSession) -> anyhow::Result<StoredSession> {
    let grant = json!({"grant_type": "refresh_token", "refresh_token": session.refresh_token});
    let tokens: TokenAnswer = api::json(api.post("/oauth/token").json(&grant)).await?;
    Ok(StoredSession {
        expires_at: Utc::now() + Duration::seconds(tokens.expires_in),
        refresh_token: tokens.refresh_token.ok_or_else(|| anyhow!("the service gave no refresh token"))?,
        access_token: tokens.access_token,
        ..session
    })
}
