//! The JWTs `auth` issues and every function verifies: EdDSA-signed, `kid` in the header,
//! one issuer and one audience per deployment, and the caller's organisation, token kind
//! and scopes in the claims — the only place handlers take the organisation from.
//!
//! Verification trusts nothing in the token before the signature is checked: the
//! algorithm must be EdDSA (so `alg: none` and HMAC tokens forged with a public key as
//! secret fail), the key is chosen only by `kid` among the deployment's two keys (never
//! from `jku`, `jwk` or `x5u` headers), then issuer, audience and expiry are checked
//! against the time the caller passes in (the `Clock` port), without leeway.

use super::roles::Role;
use super::verified_tokens::VerifiedTokens;
use crate::identity::keys::{ALGORITHM, SigningKeys};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Header, Validation};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::sync::Arc;

/// Longest token [`TokenIssuer::verify`] looks at: ours are well under 1 KiB, and a bound
/// keeps a hostile header from costing more than a glance.
pub const MAX_TOKEN_LEN: usize = 8 * 1024;

/// What a token stands for, so a handler can refuse e.g. a refresh token used as an access
/// token, or a device session outside the device routes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenKind {
    /// A person signed in (password or login code).
    User,
    /// An application (client credentials).
    Client,
    /// A person at a printer (badge, PIN or login code at the panel), bound to that printer.
    DeviceSession,
    /// A refresh token, exchangeable once for a new access token of its family.
    Refresh,
    /// An enrolled printer or agent (its device credential); `printer` or `agent` says which.
    Device,
}

/// The claims of every printcloud token. Registered claims keep their JWT names; the rest
/// are single words (camelCase applies to any later addition).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Claims {
    /// The deployment that issued the token (its public URL).
    pub iss: String,
    /// Who the token is for (the deployment's API).
    pub aud: String,
    /// The user, application or device the token was issued to.
    pub sub: String,
    /// The organisation the subject acts in; handlers scope every read by it.
    pub org: String,
    /// What the token stands for.
    pub kind: TokenKind,
    /// Granted scopes; one space-separated `scope` string on the wire (RFC 8693 §4.2,
    /// RFC 9068 §2.2.3), absent when empty.
    #[serde(default, with = "space_separated", skip_serializing_if = "Vec::is_empty")]
    pub scope: Vec<String>,
    /// Expiry, seconds since the Unix epoch; the token is invalid from this second on.
    pub exp: i64,
    /// Issue time, seconds since the Unix epoch.
    pub iat: i64,
    /// Unique token id, for revocation and refresh-token reuse detection.
    pub jti: String,
    /// The printer a device session or device token is bound to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub printer: Option<String>,
    /// The agent a device token stands for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    /// The refresh-token family, so reuse of a spent refresh token can revoke the family.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family: Option<String>,
    /// The subject's effective roles in `org` when the token was issued.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<Role>,
}

impl Claims {
    /// Whether the token grants `scope`.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scope.iter().any(|granted| granted == scope)
    }
}

/// What the caller decides about a new token; the issuer adds `iss`, `aud`, `iat` and `exp`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewToken {
    /// The user, application or device.
    pub sub: String,
    /// The organisation.
    pub org: String,
    /// What the token stands for.
    pub kind: TokenKind,
    /// Granted scopes.
    pub scope: Vec<String>,
    /// Unique token id (from the `Ids` port).
    pub jti: String,
    /// The printer of a device session or device token.
    pub printer: Option<String>,
    /// The agent of a device token.
    pub agent: Option<String>,
    /// The refresh-token family.
    pub family: Option<String>,
    /// The subject's effective roles.
    pub roles: Vec<Role>,
}

/// Why a token was refused (or, for [`TokenError::Signing`], could not be made). The
/// variants say what went wrong for logs; [`TokenError::code`] is what callers are told.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not a compact JWS, too long, bad base64 or JSON, missing claims, or a `crit` header.
    #[error("the token is not a well-formed printcloud JWT")]
    Malformed,
    /// The header names an algorithm other than EdDSA (`none`, `HS256`, ...).
    #[error("the token is not signed with EdDSA")]
    UnsupportedAlgorithm,
    /// The header has no `kid`.
    #[error("the token header has no kid")]
    MissingKeyId,
    /// The `kid` is neither the current nor the next key (e.g. a key rotated out).
    #[error("the token was signed by an unknown key")]
    UnknownKey,
    /// The signature does not match the header and payload.
    #[error("the token signature is invalid")]
    BadSignature,
    /// Issued by another deployment.
    #[error("the token was issued by someone else")]
    WrongIssuer,
    /// Meant for another audience.
    #[error("the token is meant for another audience")]
    WrongAudience,
    /// `exp` is at or before now.
    #[error("the token has expired")]
    Expired,
    /// Signing a new token failed; never returned by verification.
    #[error("could not sign a token")]
    Signing,
}

impl TokenError {
    /// The stable error code for responses (RFC 6750 `error`): `token_expired` for expiry,
    /// `server_error` when issuing failed, `invalid_token` for everything else, so a caller
    /// learns whether to refresh but not which check an attacker tripped.
    pub fn code(&self) -> &'static str {
        match self {
            TokenError::Expired => "token_expired",
            TokenError::Signing => "server_error",
            _ => "invalid_token",
        }
    }
}

/// Issues and verifies the deployment's tokens: signs with the current key, verifies with
/// the current or next key, and pins issuer and audience.
#[derive(Clone, Debug)]
pub struct TokenIssuer {
    keys: SigningKeys,
    issuer: String,
    audience: String,
    /// Tokens whose signature, issuer and audience these keys already accepted.
    verified: Arc<VerifiedTokens>,
}

/// The two header fields read before the signature is checked, plus `crit`, which is refused.
#[derive(Deserialize)]
struct PeekedHeader {
    alg: String,
    kid: Option<String>,
    crit: Option<Value>,
}

impl TokenIssuer {
    /// An issuer for `issuer` (the deployment's public URL, also the `iss` claim) whose
    /// tokens are meant for `audience`.
    pub fn new(keys: SigningKeys, issuer: impl Into<String>, audience: impl Into<String>) -> TokenIssuer {
        // The aws-lc backend is the crate feature; installing it explicitly also keeps
        // signing working should another crate ever enable a second backend.
        let _ = jsonwebtoken::crypto::CryptoProvider::install_default(&jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER);
        TokenIssuer { keys, issuer: issuer.into(), audience: audience.into(), verified: Arc::default() }
    }

    /// The keys, e.g. to serve their JWKS or rotate them.
    pub fn keys(&self) -> &SigningKeys {
        &self.keys
    }

    /// The `iss` of every token.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The `aud` of every token.
    pub fn audience(&self) -> &str {
        &self.audience
    }

    /// The JWKS to serve at `/.well-known/jwks.json`.
    pub fn jwks(&self) -> Value {
        self.keys.jwks()
    }

    /// Signs a token valid from `now` for `ttl` with the current key, its `kid` in the
    /// header.
    pub fn issue(&self, token: NewToken, ttl: Duration, now: DateTime<Utc>) -> Result<String, TokenError> {
        let iat = now.timestamp();
        let claims = Claims {
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            sub: token.sub,
            org: token.org,
            kind: token.kind,
            scope: token.scope,
            exp: iat.saturating_add(ttl.num_seconds()),
            iat,
            jti: token.jti,
            printer: token.printer,
            agent: token.agent,
            family: token.family,
            roles: token.roles,
        };
        let key = self.keys.current();
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(key.kid().to_owned());
        jsonwebtoken::encode(&header, &claims, key.encoding_key()).map_err(|error| {
            tracing::error!(%error, "signing a token failed");
            TokenError::Signing
        })
    }

    /// The claims of `token` if it is one of ours and still valid at `now`: EdDSA, a `kid`
    /// of the current or next key, a good signature, our issuer and audience, `exp > now`.
    /// A token these keys accepted before skips the signature check, not the expiry.
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<Claims, TokenError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(TokenError::Malformed);
        }
        let claims = match self.verified.get(token) {
            Some(claims) => claims,
            None => {
                let claims = self.check_signed(token)?;
                self.verified.remember(token, &claims, now.timestamp());
                claims
            }
        };
        if claims.exp <= now.timestamp() {
            return Err(TokenError::Expired);
        }
        Ok(claims)
    }

    /// How many verified tokens are remembered (tests see the cache at work through it).
    pub fn remembered_tokens(&self) -> usize {
        self.verified.len()
    }

    /// The claims of `token` if it is ours whatever the time: algorithm, key, signature,
    /// issuer and audience.
    fn check_signed(&self, token: &str) -> Result<Claims, TokenError> {
        let header = peek_header(token)?;
        if header.alg != ALGORITHM {
            return Err(TokenError::UnsupportedAlgorithm);
        }
        if header.crit.is_some() {
            return Err(TokenError::Malformed);
        }
        let kid = header.kid.ok_or(TokenError::MissingKeyId)?;
        let key = self.keys.find(&kid).ok_or(TokenError::UnknownKey)?;

        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.leeway = 0;
        // Expiry is checked below against the caller's clock, not the machine's.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        let claims = jsonwebtoken::decode::<Claims>(token, key.decoding_key(), &validation)
            .map_err(|error| match error.kind() {
                ErrorKind::InvalidSignature => TokenError::BadSignature,
                ErrorKind::InvalidAlgorithm | ErrorKind::UnsupportedAlgorithm => TokenError::UnsupportedAlgorithm,
                ErrorKind::InvalidIssuer => TokenError::WrongIssuer,
                ErrorKind::InvalidAudience => TokenError::WrongAudience,
                ErrorKind::ExpiredSignature => TokenError::Expired,
                _ => TokenError::Malformed,
            })?
            .claims;

        // Belt and braces: the library checked these, but they are the tenancy boundary.
        if claims.iss != self.issuer {
            return Err(TokenError::WrongIssuer);
        }
        if claims.aud != self.audience {
            return Err(TokenError::WrongAudience);
        }
        Ok(claims)
    }
}

/// Reads the header of a compact JWS without trusting it, to pick algorithm and key.
fn peek_header(token: &str) -> Result<PeekedHeader, TokenError> {
    let mut parts = token.split('.');
    let (Some(header), Some(_payload), Some(_signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenError::Malformed);
    };
    let json = URL_SAFE_NO_PAD.decode(header).map_err(|_| TokenError::Malformed)?;
    serde_json::from_slice(&json).map_err(|_| TokenError::Malformed)
}

/// The discovery document served at `/.well-known/openid-configuration` (OpenID Connect
/// Discovery / RFC 8414 fields), so clients and verifiers find the token endpoint and the
/// JWKS from the issuer URL alone.
pub fn openid_configuration(issuer: &str) -> Value {
    let base = issuer.trim_end_matches('/');
    json!({
        "issuer": issuer,
        "token_endpoint": format!("{base}/oauth/token"),
        "jwks_uri": format!("{base}/.well-known/jwks.json"),
        "grant_types_supported": ["client_credentials", "password", "refresh_token"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "response_types_supported": ["token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": [ALGORITHM],
        "token_endpoint_auth_signing_alg_values_supported": [ALGORITHM],
        "claims_supported": ["iss", "aud", "sub", "exp", "iat", "jti", "org", "kind", "scope", "printer", "family"],
    })
}

/// `scope` as one space-separated string on the wire, a list in Rust.
mod space_separated {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(scopes: &[String], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&scopes.join(" "))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
        let text = String::deserialize(deserializer)?;
        Ok(text.split_whitespace().map(str::to_owned).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    const ISSUER: &str = "https://print.example.com";
    const AUDIENCE: &str = "printcloud";

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap()
    }

    fn issuer() -> TokenIssuer {
        TokenIssuer::new(SigningKeys::generate().unwrap(), ISSUER, AUDIENCE)
    }

    fn device_session() -> NewToken {
        NewToken {
            sub: "user-1".into(),
            org: "org-1".into(),
            kind: TokenKind::DeviceSession,
            scope: vec!["print:release".into(), "jobs:read".into()],
            jti: "01JTI".into(),
            printer: Some("printer-7".into()),
            agent: None,
            family: None,
            roles: Vec::new(),
        }
    }

    fn b64(value: &Value) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap())
    }

    fn parts(token: &str) -> (Value, Value, String) {
        let mut it = token.split('.');
        let header = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(it.next().unwrap()).unwrap()).unwrap();
        let payload = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(it.next().unwrap()).unwrap()).unwrap();
        (header, payload, it.next().unwrap().to_owned())
    }

    #[test]
    fn round_trip_keeps_every_claim_and_puts_the_current_kid_in_the_header() {
        let issuer = issuer();
        let token = issuer.issue(device_session(), Duration::minutes(15), t0()).unwrap();
        let (header, payload, _) = parts(&token);
        assert_eq!(header["alg"], "EdDSA");
        assert_eq!(header["kid"], issuer.keys().current().kid());
        assert_eq!(payload["scope"], "print:release jobs:read");
        assert_eq!(payload["kind"], "device_session");
        assert!(payload.get("family").is_none());

        let claims = issuer.verify(&token, t0()).unwrap();
        assert_eq!(
            claims,
            Claims {
                iss: ISSUER.into(),
                aud: AUDIENCE.into(),
                sub: "user-1".into(),
                org: "org-1".into(),
                kind: TokenKind::DeviceSession,
                scope: vec!["print:release".into(), "jobs:read".into()],
                exp: t0().timestamp() + 15 * 60,
                iat: t0().timestamp(),
                jti: "01JTI".into(),
                printer: Some("printer-7".into()),
                agent: None,
                family: None,
                roles: Vec::new(),
            }
        );
        assert!(claims.has_scope("jobs:read") && !claims.has_scope("jobs"));
    }

    #[test]
    fn a_refresh_token_without_scope_round_trips_with_its_family() {
        let issuer = issuer();
        let new = NewToken {
            kind: TokenKind::Refresh,
            scope: vec![],
            printer: None,
            agent: None,
            family: Some("fam-1".into()),
            roles: Vec::new(),
            ..device_session()
        };
        let token = issuer.issue(new, Duration::days(30), t0()).unwrap();
        assert!(parts(&token).1.get("scope").is_none());
        let claims = issuer.verify(&token, t0() + Duration::days(29)).unwrap();
        assert_eq!((claims.kind, claims.scope, claims.family.as_deref()), (TokenKind::Refresh, vec![], Some("fam-1")));
    }

    #[test]
    fn a_token_signed_by_the_next_key_verifies_before_the_verifier_has_rotated() {
        // Instance A has rotated (its current is B's next); instance B has not yet.
        let not_rotated = issuer();
        let rotated = TokenIssuer::new(not_rotated.keys().clone().rotate().unwrap(), ISSUER, AUDIENCE);
        let token = rotated.issue(device_session(), Duration::minutes(5), t0()).unwrap();
        assert_eq!(parts(&token).0["kid"], not_rotated.keys().next().kid());
        assert!(not_rotated.verify(&token, t0()).is_ok());
        assert!(rotated.verify(&token, t0()).is_ok());
    }

    #[test]
    fn a_token_signed_before_rotation_verifies_until_its_key_is_rotated_out() {
        let before = issuer();
        let token = before.issue(device_session(), Duration::minutes(5), t0()).unwrap();
        // Its key is current: valid.
        assert!(before.verify(&token, t0()).is_ok());
        // After one rotation the old current only verifies: the token stays valid.
        let after = TokenIssuer::new(before.keys().clone().rotate().unwrap(), ISSUER, AUDIENCE);
        assert!(after.verify(&token, t0()).is_ok());
        // After a second rotation its key is dropped: refused as an unknown key.
        let later = TokenIssuer::new(after.keys().clone().rotate().unwrap(), ISSUER, AUDIENCE);
        assert_eq!(later.verify(&token, t0()), Err(TokenError::UnknownKey));
        // Whereas the published-ahead key, now current, signs tokens the old set accepts.
        let fresh = after.issue(device_session(), Duration::minutes(5), t0()).unwrap();
        assert!(before.verify(&fresh, t0()).is_ok());
    }

    #[test]
    fn alg_none_is_rejected() {
        let issuer = issuer();
        let token = issuer.issue(device_session(), Duration::minutes(5), t0()).unwrap();
        let (_, payload, _) = parts(&token);
        let kid = issuer.keys().current().kid();
        for alg in ["none", "None", "NONE"] {
            let forged = format!("{}.{}.", b64(&json!({"alg": alg, "kid": kid, "typ": "JWT"})), b64(&payload));
            let error = issuer.verify(&forged, t0()).unwrap_err();
            assert_eq!(error, TokenError::UnsupportedAlgorithm, "{alg}");
            assert_eq!(error.code(), "invalid_token");
        }
    }

    #[test]
    fn an_hs256_token_keyed_with_the_public_key_is_rejected() {
        let issuer = issuer();
        let token = issuer.issue(device_session(), Duration::minutes(5), t0()).unwrap();
        let (_, payload, _) = parts(&token);
        let kid = issuer.keys().current().kid().to_owned();
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(kid.clone());
        // The classic key-confusion attack: the public key (raw, and as its JWK x) as HMAC secret.
        let x = URL_SAFE_NO_PAD.encode(issuer.keys().current().public_key());
        for secret in [&issuer.keys().current().public_key()[..], x.as_bytes()] {
            let forged =
                jsonwebtoken::encode(&header, &payload, &jsonwebtoken::EncodingKey::from_secret(secret)).unwrap();
            assert_eq!(parts(&forged).0["kid"], kid);
            assert_eq!(issuer.verify(&forged, t0()), Err(TokenError::UnsupportedAlgorithm));
        }
    }

    #[test]
    fn a_tampered_payload_is_rejected() {
        let issuer = issuer();
        let token = issuer.issue(device_session(), Duration::minutes(5), t0()).unwrap();
        let (header, mut payload, signature) = parts(&token);
        payload["org"] = json!("org-2");
        let tampered = format!("{}.{}.{signature}", b64(&header), b64(&payload));
        assert_eq!(issuer.verify(&tampered, t0()), Err(TokenError::BadSignature));

        let mut flipped = token.into_bytes();
        let last = flipped.len() - 2;
        flipped[last] = if flipped[last] == b'A' { b'B' } else { b'A' };
        assert!(issuer.verify(std::str::from_utf8(&flipped).unwrap(), t0()).is_err());
    }

    #[test]
    fn an_unknown_or_missing_kid_is_rejected() {
        let issuer = issuer();
        let stranger = TokenIssuer::new(SigningKeys::generate().unwrap(), ISSUER, AUDIENCE);
        let token = stranger.issue(device_session(), Duration::minutes(5), t0()).unwrap();
        assert_eq!(issuer.verify(&token, t0()), Err(TokenError::UnknownKey));

        let (mut header, payload, signature) = parts(&token);
        header.as_object_mut().unwrap().remove("kid");
        let without = format!("{}.{}.{signature}", b64(&header), b64(&payload));
        assert_eq!(issuer.verify(&without, t0()), Err(TokenError::MissingKeyId));
    }

    #[test]
    fn an_expired_token_is_rejected_from_its_exp_second_on() {
        let issuer = issuer();
        let token = issuer.issue(device_session(), Duration::minutes(15), t0()).unwrap();
        let exp = t0() + Duration::minutes(15);
        assert!(issuer.verify(&token, exp - Duration::seconds(1)).is_ok());
        for now in [exp, exp + Duration::days(1)] {
            let error = issuer.verify(&token, now).unwrap_err();
            assert_eq!(error, TokenError::Expired);
            assert_eq!(error.code(), "token_expired");
        }
    }

    #[test]
    fn a_remembered_token_is_checked_once_and_still_expires() {
        let issuer = issuer();
        let token = issuer.issue(device_session(), Duration::minutes(15), t0()).unwrap();
        let first = issuer.verify(&token, t0()).unwrap();
        assert_eq!(issuer.verify(&token, t0() + Duration::minutes(1)).unwrap(), first);
        assert_eq!(issuer.remembered_tokens(), 1);
        assert_eq!(issuer.verify(&token, t0() + Duration::minutes(15)), Err(TokenError::Expired));
    }

    #[test]
    fn a_token_altered_after_its_original_was_remembered_is_checked_afresh() {
        let issuer = issuer();
        let token = issuer.issue(device_session(), Duration::minutes(15), t0()).unwrap();
        issuer.verify(&token, t0()).unwrap();
        let (header, mut payload, signature) = parts(&token);
        payload["org"] = json!("another-org");
        let altered = format!("{}.{}.{signature}", b64(&header), b64(&payload));
        assert_eq!(issuer.verify(&altered, t0()), Err(TokenError::BadSignature));
        assert_eq!(issuer.remembered_tokens(), 1);
    }

    #[test]
    fn a_token_from_another_issuer_is_rejected() {
        let ours = issuer();
        let theirs = TokenIssuer::new(ours.keys().clone(), "https://evil.example.com", AUDIENCE);
        let token = theirs.issue(device_session(), Duration::minutes(5), t0()).unwrap();
        assert_eq!(ours.verify(&token, t0()), Err(TokenError::WrongIssuer));
    }

    #[test]
    fn a_token_for_another_audience_is_rejected() {
        let ours = issuer();
        let theirs = TokenIssuer::new(ours.keys().clone(), ISSUER, "someone-else");
        let token = theirs.issue(device_session(), Duration::minutes(5), t0()).unwrap();
        assert_eq!(ours.verify(&token, t0()), Err(TokenError::WrongAudience));
    }

    #[test]
    fn a_crit_header_or_a_token_without_required_claims_is_rejected() {
        let issuer = issuer();
        let key = issuer.keys().current();
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(key.kid().to_owned());
        let sign =
            |header: &Header, payload: &Value| jsonwebtoken::encode(header, payload, key.encoding_key()).unwrap();
        let (_, payload, _) = parts(&issuer.issue(device_session(), Duration::minutes(5), t0()).unwrap());

        let mut no_org = payload.clone();
        no_org.as_object_mut().unwrap().remove("org");
        assert_eq!(issuer.verify(&sign(&header, &no_org), t0()), Err(TokenError::Malformed));

        let mut with_crit = header.clone();
        with_crit.crit = Some(vec!["exp".into()]);
        assert_eq!(issuer.verify(&sign(&with_crit, &payload), t0()), Err(TokenError::Malformed));
    }

    #[test]
    fn garbage_and_oversized_tokens_are_malformed() {
        let issuer = issuer();
        for token in ["", "a", "a.b", "a.b.c.d", "!!.!!.!!", &"a".repeat(MAX_TOKEN_LEN + 1)] {
            assert_eq!(issuer.verify(token, t0()), Err(TokenError::Malformed), "{token:.20}");
        }
    }

    #[test]
    fn error_codes_are_stable() {
        assert_eq!(TokenError::Expired.code(), "token_expired");
        assert_eq!(TokenError::Signing.code(), "server_error");
        for error in [
            TokenError::Malformed,
            TokenError::UnsupportedAlgorithm,
            TokenError::MissingKeyId,
            TokenError::UnknownKey,
            TokenError::BadSignature,
            TokenError::WrongIssuer,
            TokenError::WrongAudience,
        ] {
            assert_eq!(error.code(), "invalid_token");
        }
    }

    #[test]
    fn openid_configuration_points_at_the_token_endpoint_and_jwks() {
        let document = openid_configuration("https://print.example.com/");
        assert_eq!(document["issuer"], "https://print.example.com/");
        assert_eq!(document["token_endpoint"], "https://print.example.com/oauth/token");
        assert_eq!(document["jwks_uri"], "https://print.example.com/.well-known/jwks.json");
        assert_eq!(document["grant_types_supported"], json!(["client_credentials", "password", "refresh_token"]));
        assert_eq!(document["id_token_signing_alg_values_supported"], json!(["EdDSA"]));
    }

    #[test]
    fn the_issuer_debug_output_contains_no_key_bytes() {
        let issuer = issuer();
        let shown = format!("{issuer:?}");
        assert!(shown.contains(issuer.keys().current().kid()));
        let stored: Value = serde_json::from_str(&issuer.keys().to_stored()).unwrap();
        assert!(!shown.contains(stored["current"].as_str().unwrap()));
        assert!(!shown.contains(stored["next"].as_str().unwrap()));
    }
}
