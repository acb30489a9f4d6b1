//! OAuth applications of an organisation (the *Toepassingen* of Account Management, part-3
//! §2.31 / part-4 §2.3, BR-OA-01..03) and the `client_credentials` grant that turns an
//! application's client id and secret into an access token (part-6 §2.1–2.2, R-API-6).
//!
//! Printers (Device authentication, Card Auth app), hybrid storage clients and Fleet
//! Integration API callers authenticate as an application, not as a person: their tokens
//! are of kind [`TokenKind::Client`], carry the application's scopes and no roles.
//!
//! Layout: the application `ORG#<org>`/`APPLICATION#<lower-cased name>` (the key itself
//! keeps names unique per organisation, case-insensitively, and makes the list
//! alphabetical), and a lookup item `CLIENT#<clientId>`/`CLIENT` pointing at it, written in
//! the same transaction, so the token endpoint finds a client with strongly consistent
//! reads and never through an index. The client secret is shown once, when the
//! application is created, and stored only as an argon2id hash.

use super::signin::TokenGrant;
use super::store;
use super::tokens::{NewToken, TokenKind};
use crate::Ctx;
use crate::http::Problem;
use crate::passwords;
use crate::ports::{Condition, Key, Page, Query, StoreError, Write};
use crate::records::{from_item, to_item};
use axum::http::StatusCode;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chrono::{DateTime, Duration, Utc};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::sync::OnceLock;

/// Lifetime of an application's access token: the 7200 s of part-6's token example
/// (L16849); applications ask for a new one with their credentials, there is no refresh.
pub const CLIENT_TOKEN_TTL: Duration = Duration::seconds(7200);

/// Prefix of every client id, so a printcloud client id is recognisable in configuration
/// files and support requests.
pub const CLIENT_ID_PREFIX: &str = "pc_";

/// Random bytes in a client id (after the prefix, base64url).
const CLIENT_ID_BYTES: usize = 16;

/// Random bytes in a client secret (base64url, 43 characters).
pub const CLIENT_SECRET_BYTES: usize = 32;

/// Longest application name.
pub const MAX_NAME: usize = 100;

/// Longest description.
pub const MAX_DESCRIPTION: usize = 1000;

/// A scope an application can be granted, and what it lets the application do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScopeInfo {
    /// The scope as it appears in tokens (`scope` claim).
    pub name: &'static str,
    /// What it allows.
    pub description: &'static str,
}

/// Every scope an application may hold; anything else is refused with `unknown_scope`.
pub const SCOPES: [ScopeInfo; 4] = [
    ScopeInfo {
        name: "badges-auth",
        description: "Authenticate users at printers by badge, PIN or login code (BR-OA-02).",
    },
    ScopeInfo { name: "fleet-integration", description: "Read the Fleet Management Integration API (part-6)." },
    ScopeInfo {
        name: "hybrid-storage",
        description: "Register and authenticate an Advanced Hybrid Storage client (R-AHS-1, W12).",
    },
    ScopeInfo { name: "print-submit", description: "Submit print jobs on behalf of the organisation's users." },
];

/// A named application the seed tells administrators to look for (BR-OA-01), offered as a
/// template: creating with `{"template": "<name>"}` fills in its name and scopes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Template {
    /// The name the application gets.
    pub name: &'static str,
    /// Other names that select the template (the Dutch names of the seed).
    pub aliases: &'static [&'static str],
    /// The scopes the application gets.
    pub scopes: &'static [&'static str],
    /// The description the application gets.
    pub description: &'static str,
}

/// The templates of BR-OA-01. Each lists `badges-auth`, which BR-OA-02 requires of all
/// three; the hybrid storage application also gets `hybrid-storage` (R-AHS-1).
pub const TEMPLATES: [Template; 3] = [
    Template {
        name: "Device authentication",
        aliases: &["Apparaatverificatie"],
        scopes: &["badges-auth"],
        description: "Printers authenticate users by badge, PIN or login code.",
    },
    Template {
        name: "Card Auth app",
        aliases: &["Card Auth-app"],
        scopes: &["badges-auth"],
        description: "The Card Authentication application on printers.",
    },
    Template {
        name: "CPM advanced hybrid storage",
        aliases: &["CMP geavanceerde hybride opslag", "CPM Advanced Hybrid Storage"],
        scopes: &["badges-auth", "hybrid-storage"],
        description: "Advanced Hybrid Storage clients register and authenticate with Cloud Print Management.",
    },
];

/// The template called `name` (case-insensitive, aliases included).
pub fn template(name: &str) -> Option<&'static Template> {
    let wanted = name.trim().to_lowercase();
    TEMPLATES.iter().find(|t| std::iter::once(&t.name).chain(t.aliases).any(|n| n.to_lowercase() == wanted))
}

/// Whether `scope` is one of [`SCOPES`].
pub fn is_known_scope(scope: &str) -> bool {
    SCOPES.iter().any(|known| known.name == scope)
}

/// An OAuth application (client) of an organisation, as the API shows it: never with its
/// secret or the secret's hash.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Application {
    /// The client id (`pc_…`), used as `client_id` at `POST /oauth/token`.
    pub client_id: String,
    /// The organisation the application acts in.
    pub org_id: String,
    /// Name, unique in the organisation (case-insensitive).
    pub name: String,
    /// What it is for.
    #[serde(default)]
    pub description: String,
    /// Granted scopes, sorted.
    pub scopes: Vec<String>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

/// An application as stored: the API view plus the argon2id hash of its secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationRecord {
    /// What the API shows.
    #[serde(flatten)]
    pub application: Application,
    /// argon2id PHC string of the client secret.
    pub secret_hash: String,
}

/// The answer to creating an application: the only time its secret is shown.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedApplication {
    /// The application.
    #[serde(flatten)]
    pub application: Application,
    /// The client secret (32 random bytes, base64url). It is stored only as a hash and
    /// cannot be shown again: keep it now, or delete the application and create a new one.
    pub client_secret: String,
}

/// What an administrator gives to create an application: a `template`, or a `name` and
/// `scopes`, or a template with some of its values overridden.
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewApplication {
    /// A named application of the seed (BR-OA-01) that fills in name, scopes and
    /// description: `Device authentication` → `badges-auth`; `Card Auth app` →
    /// `badges-auth`; `CPM advanced hybrid storage` → `badges-auth`, `hybrid-storage`.
    /// The Dutch names (`Apparaatverificatie`, `Card Auth-app`, `CMP geavanceerde hybride
    /// opslag`) select the same templates.
    #[serde(default)]
    pub template: Option<String>,
    /// Name, unique in the organisation (case-insensitive), at most 100 characters.
    /// Required without a template.
    #[serde(default)]
    pub name: Option<String>,
    /// What it is for, at most 1000 characters.
    #[serde(default)]
    pub description: Option<String>,
    /// Scopes out of `badges-auth`, `fleet-integration`, `hybrid-storage`, `print-submit`;
    /// at least one. Required without a template.
    #[serde(default)]
    pub scopes: Option<Vec<String>>,
}

fn invalid(field: &str, why: &str) -> Problem {
    Problem::new(StatusCode::BAD_REQUEST, "invalid_field", format!("{field}: {why}"))
}

fn application_key(org_id: &str, name: &str) -> Key {
    Key::new(store::org_partition(org_id), format!("APPLICATION#{}", name.to_lowercase()))
}

fn client_key(client_id: &str) -> Key {
    Key::new(format!("CLIENT#{client_id}"), "CLIENT")
}

fn random_base64url(bytes: usize) -> String {
    let mut random = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut random);
    URL_SAFE_NO_PAD.encode(random)
}

/// Whether `client_id` could be one of ours; anything else is not looked up at all.
fn plausible_client_id(client_id: &str) -> bool {
    client_id.strip_prefix(CLIENT_ID_PREFIX).is_some_and(|rest| {
        (1..=64).contains(&rest.len()) && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    })
}

/// The scopes asked for, sorted and without duplicates, or 400 `unknown_scope` naming the
/// first one that is not in [`SCOPES`].
fn check_scopes(scopes: &[String]) -> Result<Vec<String>, Problem> {
    if let Some(unknown) = scopes.iter().find(|s| !is_known_scope(s)) {
        let known: Vec<&str> = SCOPES.iter().map(|s| s.name).collect();
        return Err(Problem::new(
            StatusCode::BAD_REQUEST,
            "unknown_scope",
            format!("scope `{unknown}` is not one of {}", known.join(", ")),
        ));
    }
    let mut sorted = scopes.to_vec();
    sorted.sort();
    sorted.dedup();
    if sorted.is_empty() {
        return Err(invalid("scopes", "at least one scope is required"));
    }
    Ok(sorted)
}

fn check_name(name: &str) -> Result<String, Problem> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME || name.chars().any(char::is_control) {
        return Err(invalid("name", "1 to 100 characters, no control characters"));
    }
    Ok(name.to_string())
}

fn check_description(description: &str) -> Result<String, Problem> {
    let description = description.trim();
    if description.chars().count() > MAX_DESCRIPTION
        || description.chars().any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(invalid("description", "at most 1000 characters, no control characters"));
    }
    Ok(description.to_string())
}

async fn hash_secret(secret: String) -> Result<String, Problem> {
    tokio::task::spawn_blocking(move || passwords::hash(&secret)).await.map_err(Problem::internal)
}

async fn verify_secret(secret: String, hash: String) -> Result<bool, Problem> {
    tokio::task::spawn_blocking(move || passwords::verify(&secret, &hash)).await.map_err(Problem::internal)
}

/// Creates an application in `org_id` with a new client id and secret (BR-OA-01); the
/// secret is in the answer and nowhere else. 409 `application_name_taken` when the
/// organisation has an application of that name (case-insensitive).
pub async fn create(ctx: &Ctx, org_id: &str, new: NewApplication) -> Result<CreatedApplication, Problem> {
    let template = match new.template.as_deref() {
        None => None,
        Some(name) => Some(template(name).ok_or_else(|| {
            let known: Vec<&str> = TEMPLATES.iter().map(|t| t.name).collect();
            Problem::new(
                StatusCode::BAD_REQUEST,
                "unknown_template",
                format!("template `{name}` is not one of {}", known.join(", ")),
            )
        })?),
    };
    let name = match (new.name.as_deref(), template) {
        (Some(name), _) => check_name(name)?,
        (None, Some(template)) => template.name.to_string(),
        (None, None) => return Err(invalid("name", "required (or give a template)")),
    };
    let scopes = match (new.scopes, template) {
        (Some(scopes), _) => check_scopes(&scopes)?,
        (None, Some(template)) => check_scopes(&template.scopes.iter().map(|s| s.to_string()).collect::<Vec<_>>())?,
        (None, None) => return Err(invalid("scopes", "required (or give a template)")),
    };
    let description = match (new.description.as_deref(), template) {
        (Some(description), _) => check_description(description)?,
        (None, Some(template)) => template.description.to_string(),
        (None, None) => String::new(),
    };

    let client_id = format!("{CLIENT_ID_PREFIX}{}", random_base64url(CLIENT_ID_BYTES));
    let client_secret = random_base64url(CLIENT_SECRET_BYTES);
    let application =
        Application { client_id, org_id: org_id.to_string(), name, description, scopes, created_at: ctx.clock.now() };
    let record =
        ApplicationRecord { application: application.clone(), secret_hash: hash_secret(client_secret.clone()).await? };
    let key = application_key(org_id, &application.name);
    let writes = vec![
        Write::Put { item: to_item(&record, &key, &[])?, condition: Condition::Absent },
        Write::Put {
            item: to_item(
                &json!({"orgId": org_id, "applicationSk": key.sk}),
                &client_key(&application.client_id),
                &[],
            )?,
            condition: Condition::Absent,
        },
    ];
    match ctx.table.transact(writes).await {
        Ok(()) => {
            tracing::info!(org = %org_id, client_id = %application.client_id, "application created");
            Ok(CreatedApplication { application, client_secret })
        }
        Err(StoreError::TransactionCanceled { failed }) if failed.contains(&0) => Err(Problem::new(
            StatusCode::CONFLICT,
            "application_name_taken",
            "The organisation already has an application with this name.",
        )),
        Err(other) => Err(other.into()),
    }
}

/// One page of the organisation's applications, alphabetically by name; without secrets.
pub async fn list(
    ctx: &Ctx,
    org_id: &str,
    limit: u32,
    cursor: Option<String>,
) -> Result<(Vec<Application>, Option<String>), Problem> {
    let query = Query::partition(store::org_partition(org_id)).begins_with("APPLICATION#").limit(limit).after(cursor);
    let Page { items, cursor } = ctx.table.query(&query).await?;
    let applications = items
        .into_iter()
        .map(|item| from_item::<ApplicationRecord>(item).map(|r| r.application))
        .collect::<Result<_, _>>()?;
    Ok((applications, cursor))
}

/// The application with `client_id` and where it is stored, read strongly consistently
/// through its lookup item; `None` when there is none (or only a dangling lookup).
async fn find(ctx: &Ctx, client_id: &str) -> Result<Option<(Key, ApplicationRecord)>, StoreError> {
    if !plausible_client_id(client_id) {
        return Ok(None);
    }
    let Some(lookup) = ctx.table.get(&client_key(client_id)).await? else { return Ok(None) };
    let (Some(org_id), Some(sk)) =
        (lookup.get("orgId").and_then(Value::as_str), lookup.get("applicationSk").and_then(Value::as_str))
    else {
        return Ok(None);
    };
    let key = Key::new(store::org_partition(org_id), sk);
    let Some(item) = ctx.table.get(&key).await? else { return Ok(None) };
    let record: ApplicationRecord = from_item(item)?;
    if record.application.client_id != client_id || record.application.org_id != org_id {
        return Ok(None);
    }
    Ok(Some((key, record)))
}

/// Deletes the application `client_id` of `org_id`; from then on its credentials get no
/// token. 404 when `org_id` has no such application (another organisation's included).
pub async fn delete(ctx: &Ctx, org_id: &str, client_id: &str) -> Result<(), Problem> {
    let not_found = || Problem::not_found("No such application.");
    let Some((key, record)) = find(ctx, client_id).await? else { return Err(not_found()) };
    if record.application.org_id != org_id {
        return Err(not_found());
    }
    let writes = vec![
        Write::Delete { key, condition: Condition::Equals("clientId".into(), json!(client_id)) },
        Write::Delete { key: client_key(client_id), condition: Condition::Exists },
    ];
    match ctx.table.transact(writes).await {
        Ok(()) => {
            tracing::info!(org = %org_id, client_id = %client_id, "application deleted");
            Ok(())
        }
        Err(StoreError::TransactionCanceled { failed }) if !failed.is_empty() => Err(not_found()),
        Err(other) => Err(other.into()),
    }
}

/// A hash verified when the client id is unknown, so an unknown client takes as long as a
/// wrong secret and does not reveal which client ids exist.
fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| passwords::hash("decoy client secret that matches nothing"))
}

const INVALID_CLIENT: &str = "No application has these credentials.";

fn invalid_client() -> Problem {
    Problem::new(StatusCode::UNAUTHORIZED, "invalid_client", INVALID_CLIENT)
}

/// `grant_type=client_credentials` (part-6 §2.1–2.2): client id and secret → an access
/// token of kind `client` for the application's organisation, with its scopes, no roles,
/// valid [`CLIENT_TOKEN_TTL`], and no refresh token. Wrong and unknown credentials both
/// answer 401 `invalid_client` with the same detail, after the same argon2 work.
pub async fn client_credentials_grant(ctx: &Ctx, client_id: &str, client_secret: &str) -> Result<TokenGrant, Problem> {
    let found = find(ctx, client_id).await?;
    let hash = found.as_ref().map_or_else(|| decoy_hash().to_string(), |(_, record)| record.secret_hash.clone());
    let matches = verify_secret(client_secret.to_string(), hash).await?;
    let Some((_, record)) = found.filter(|_| matches) else { return Err(invalid_client()) };
    let application = record.application;
    match store::get_org(ctx, &application.org_id).await? {
        Some(org) if !org.deleting => {}
        _ => return Err(invalid_client()),
    }
    let now = ctx.clock.now();
    let token = NewToken {
        sub: application.client_id,
        org: application.org_id,
        kind: TokenKind::Client,
        scope: application.scopes,
        jti: ctx.ids.new_id(),
        printer: None,
        agent: None,
        family: None,
        roles: Vec::new(),
    };
    Ok(TokenGrant {
        access_token: ctx.tokens.issue(token, CLIENT_TOKEN_TTL, now).map_err(Problem::internal)?,
        token_type: "bearer",
        expires_in: CLIENT_TOKEN_TTL.num_seconds(),
        created_at: now.timestamp(),
        refresh_token: None,
    })
}

/// The client id and secret of an `Authorization: Basic` header (RFC 6749 §2.3.1,
/// `client_secret_basic`, which the discovery document advertises): base64 of the
/// form-encoded id, `:`, and the form-encoded secret.
pub fn basic_credentials(authorization: &str) -> Option<(String, String)> {
    let (scheme, encoded) = authorization.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let unescape = |part: &str| {
        percent_encoding::percent_decode_str(&part.replace('+', " ")).decode_utf8().ok().map(|s| s.into_owned())
    };
    Some((unescape(id)?, unescape(secret)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn br_oa_02_every_template_lists_badges_auth_and_only_known_scopes() {
        for template in TEMPLATES {
            assert!(template.scopes.contains(&"badges-auth"), "{}", template.name);
            assert!(template.scopes.iter().all(|s| is_known_scope(s)), "{}", template.name);
        }
        assert_eq!(template("apparaatverificatie").map(|t| t.name), Some("Device authentication"));
        assert_eq!(template(" card auth app ").map(|t| t.name), Some("Card Auth app"));
        assert_eq!(template("CMP geavanceerde hybride opslag").map(|t| t.name), Some("CPM advanced hybrid storage"));
        assert!(template("Fleet Agent").is_none());
    }

    #[test]
    fn scopes_are_checked_sorted_and_deduplicated() {
        let asked = vec!["print-submit".to_string(), "badges-auth".into(), "print-submit".into()];
        assert_eq!(check_scopes(&asked).unwrap(), vec!["badges-auth".to_string(), "print-submit".into()]);
        assert_eq!(check_scopes(&["badges".into()]).unwrap_err().code, "unknown_scope");
        assert_eq!(check_scopes(&[]).unwrap_err().code, "invalid_field");
    }

    #[test]
    fn client_ids_are_prefixed_url_safe_and_secrets_carry_32_bytes() {
        let id = format!("{CLIENT_ID_PREFIX}{}", random_base64url(CLIENT_ID_BYTES));
        assert!(plausible_client_id(&id), "{id}");
        let secret = random_base64url(CLIENT_SECRET_BYTES);
        assert_eq!(URL_SAFE_NO_PAD.decode(&secret).unwrap().len(), 32);
        assert_ne!(secret, random_base64url(CLIENT_SECRET_BYTES));
        for bogus in ["", "pc_", "xx_abc", "pc_a/b", "pc_a#CLIENT", &format!("pc_{}", "a".repeat(65))] {
            assert!(!plausible_client_id(bogus), "{bogus}");
        }
    }

    #[test]
    fn basic_credentials_are_decoded_per_rfc_6749() {
        let header = format!("Basic {}", STANDARD.encode("pc_abc:s%3Acret+x"));
        assert_eq!(basic_credentials(&header), Some(("pc_abc".into(), "s:cret x".into())));
        assert_eq!(basic_credentials(&format!("basic {}", STANDARD.encode("a:b"))), Some(("a".into(), "b".into())));
        assert_eq!(basic_credentials("Bearer abc"), None);
        assert_eq!(basic_credentials("Basic !!!"), None);
        assert_eq!(basic_credentials(&format!("Basic {}", STANDARD.encode("no-colon"))), None);
    }
}
