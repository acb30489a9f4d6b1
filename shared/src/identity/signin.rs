//! Signing in: the OAuth grants of `POST /oauth/token` for people (`password`,
//! `refresh_token`). Access tokens carry the caller's effective roles; refresh tokens
//! rotate on every use, and presenting a spent one revokes its whole family.

use super::model::{Organisation, User, UserRecord};
use super::roles::{Role, effective_roles};
use super::store;
use super::tokens::{NewToken, TokenError, TokenKind};
use crate::Ctx;
use crate::passwords;
use crate::ports::{Condition, Key, StoreError, Update};
use crate::records::to_item;
use chrono::Duration;
use serde::Serialize;
use serde_json::json;
use std::collections::BTreeSet;
use std::sync::OnceLock;

/// Lifetime of a person's access token.
pub const ACCESS_TTL: Duration = Duration::minutes(15);
/// Lifetime of a refresh-token family without use.
pub const REFRESH_TTL: Duration = Duration::days(30);

/// The answer of the token endpoint (part-6 §2.2, plus `refresh_token`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct TokenGrant {
    /// The bearer token.
    pub access_token: String,
    /// Always `bearer`.
    pub token_type: &'static str,
    /// Seconds the access token is valid.
    pub expires_in: i64,
    /// When it was issued, epoch seconds.
    pub created_at: i64,
    /// Exchange it once for a new pair (password and refresh grants only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
}

/// Why a grant was refused.
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    /// Wrong credentials, or a refresh token that is expired, revoked or spent.
    #[error("{0}")]
    InvalidGrant(&'static str),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A token could not be made.
    #[error(transparent)]
    Token(#[from] TokenError),
}

/// A hash verified when the e-mail address is unknown, so a wrong address takes as long
/// as a wrong password and does not reveal which addresses exist.
fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| passwords::hash("decoy password that matches nothing"))
}

const WRONG_CREDENTIALS: &str = "The e-mail address or password is wrong.";
const SPENT_REFRESH: &str = "The refresh token is expired, revoked or already used; sign in again.";

/// The roles that count for `user` in `org`: the default role `User` plus the union of
/// organisation, group and user assignments, within the organisation's entitlements.
pub async fn roles_of(ctx: &Ctx, org: &Organisation, user: &User) -> Result<BTreeSet<Role>, StoreError> {
    let mut group_roles = Vec::new();
    for group in &user.groups {
        if let Some(item) = ctx.table.get(&Key::new(store::org_partition(&org.id), format!("GROUP#{group}"))).await? {
            let roles: Vec<Role> =
                item.get("roles").cloned().map(serde_json::from_value).transpose().ok().flatten().unwrap_or_default();
            group_roles.extend(roles);
        }
    }
    let default = [Role::User];
    Ok(effective_roles([&default[..], &org.roles, &group_roles, &user.roles], &org.entitlements))
}

fn family_key(org_id: &str, family: &str) -> Key {
    Key::new(store::org_partition(org_id), format!("REFRESH#{family}"))
}

/// `grant_type=password`: e-mail address and password → access and refresh token.
pub async fn password_grant(ctx: &Ctx, email: &str, password: &str) -> Result<TokenGrant, SignInError> {
    let Some(record) = store::find_user_by_email(ctx, email).await? else {
        passwords::verify(password, decoy_hash());
        return Err(SignInError::InvalidGrant(WRONG_CREDENTIALS));
    };
    let hash = record.password_hash.as_deref().unwrap_or(decoy_hash());
    if !passwords::verify(password, hash) || record.password_hash.is_none() {
        return Err(SignInError::InvalidGrant(WRONG_CREDENTIALS));
    }
    let family = ctx.ids.new_id();
    let jti = ctx.ids.new_id();
    let expires = ctx.clock.now() + REFRESH_TTL;
    let item = to_item(
        &json!({"userId": record.user.id, "current": jti}),
        &family_key(&record.user.org_id, &family),
        &[("ttl", json!(expires.timestamp()))],
    )?;
    ctx.table.put(item, Condition::Absent).await?;
    issue_pair(ctx, &record, family, jti).await
}

/// `grant_type=refresh_token`: a refresh token → a new pair of the same family. A spent
/// token revokes the family (someone else holds a copy).
pub async fn refresh_grant(ctx: &Ctx, refresh_token: &str) -> Result<TokenGrant, SignInError> {
    let now = ctx.clock.now();
    let claims = ctx.tokens.verify(refresh_token, now).map_err(|_| SignInError::InvalidGrant(SPENT_REFRESH))?;
    let family = match (claims.kind, &claims.family) {
        (TokenKind::Refresh, Some(family)) => family.clone(),
        _ => return Err(SignInError::InvalidGrant(SPENT_REFRESH)),
    };
    let key = family_key(&claims.org, &family);
    let next = ctx.ids.new_id();
    let rotate = Update::new(key.clone())
        .set("current", next.clone())
        .set("ttl", (now + REFRESH_TTL).timestamp())
        .when(Condition::Equals("current".into(), json!(claims.jti)));
    match ctx.table.update(rotate).await {
        Ok(_) => {}
        Err(StoreError::ConditionFailed) => {
            if ctx.table.get(&key).await?.is_some() {
                tracing::warn!(family = %family, "a spent refresh token was presented; revoking its family");
                ctx.table.delete(&key, Condition::Always).await?;
            }
            return Err(SignInError::InvalidGrant(SPENT_REFRESH));
        }
        Err(other) => return Err(other.into()),
    }
    let Some(record) = store::get_user(ctx, &claims.org, &claims.sub).await? else {
        ctx.table.delete(&key, Condition::Always).await?;
        return Err(SignInError::InvalidGrant(SPENT_REFRESH));
    };
    issue_pair(ctx, &record, family, next).await
}

async fn issue_pair(
    ctx: &Ctx,
    record: &UserRecord,
    family: String,
    refresh_jti: String,
) -> Result<TokenGrant, SignInError> {
    let user = &record.user;
    let org = store::get_org(ctx, &user.org_id).await?.ok_or(SignInError::InvalidGrant(WRONG_CREDENTIALS))?;
    if org.deleting {
        return Err(SignInError::InvalidGrant(WRONG_CREDENTIALS));
    }
    let roles: Vec<Role> = roles_of(ctx, &org, user).await?.into_iter().collect();
    let now = ctx.clock.now();
    let access = NewToken {
        sub: user.id.clone(),
        org: org.id.clone(),
        kind: TokenKind::User,
        scope: Vec::new(),
        jti: ctx.ids.new_id(),
        printer: None,
        agent: None,
        family: None,
        roles,
    };
    let refresh = NewToken {
        kind: TokenKind::Refresh,
        jti: refresh_jti,
        family: Some(family),
        roles: Vec::new(),
        ..access.clone()
    };
    Ok(TokenGrant {
        access_token: ctx.tokens.issue(access, ACCESS_TTL, now)?,
        token_type: "bearer",
        expires_in: ACCESS_TTL.num_seconds(),
        created_at: now.timestamp(),
        refresh_token: Some(ctx.tokens.issue(refresh, REFRESH_TTL, now)?),
    })
}
