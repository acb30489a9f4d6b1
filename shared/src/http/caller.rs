//! Who is calling: the verified bearer token of a request, and the single place that
//! decides whether the caller may act in an organisation (tenant scoping + roles).

use super::Problem;
use crate::Ctx;
use crate::identity::roles::{Permission, Role, allows, effective_roles};
use crate::identity::tokens::{Claims, TokenKind};
use crate::identity::{groups, store};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use std::collections::BTreeSet;

/// The authenticated caller of a request.
#[derive(Clone, Debug)]
pub struct Caller {
    /// The verified token's claims.
    pub claims: Claims,
    /// The roles the token carries.
    pub roles: BTreeSet<Role>,
}

fn unauthenticated(code: &str, detail: &str) -> Problem {
    Problem::new(StatusCode::UNAUTHORIZED, code, detail)
}

impl FromRequestParts<Ctx> for Caller {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, ctx: &Ctx) -> Result<Self, Self::Rejection> {
        let header = parts.headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
        let token = header
            .and_then(|h| h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer ")))
            .ok_or_else(|| unauthenticated("unauthenticated", "Send `Authorization: Bearer <access token>`."))?;
        let claims = ctx
            .tokens
            .verify(token.trim(), ctx.clock.now())
            .map_err(|e| unauthenticated(e.code(), "The access token is not valid; sign in again."))?;
        if claims.kind == TokenKind::Refresh {
            return Err(unauthenticated("invalid_token", "A refresh token is not an access token."));
        }
        tracing::Span::current().record("org", claims.org.as_str());
        let roles = claims.roles.iter().copied().collect();
        Ok(Caller { claims, roles })
    }
}

impl Caller {
    /// The organisation the caller acts in.
    pub fn org_id(&self) -> &str {
        &self.claims.org
    }

    /// The signed-in user, for user tokens and printer sessions.
    pub fn user_id(&self) -> Option<&str> {
        matches!(self.claims.kind, TokenKind::User | TokenKind::DeviceSession).then_some(self.claims.sub.as_str())
    }

    /// The signed-in user, or 403 for application tokens.
    pub fn require_user(&self) -> Result<&str, Problem> {
        self.user_id().ok_or_else(|| Problem::new(StatusCode::FORBIDDEN, "forbidden", "This needs a signed-in user."))
    }

    /// Whether the caller's roles allow `permission` in their own organisation.
    pub fn allows(&self, permission: Permission) -> bool {
        allows(&self.roles, permission)
    }

    /// The tenant check of routes of the caller's own organisation: another organisation
    /// answers 404 (its existence is never revealed), the caller's own answers 403 when
    /// their roles lack `permission`. Routes that partners may also use on child
    /// organisations call [`Caller::authorize_in`].
    pub fn authorize(&self, org_id: &str, permission: Permission) -> Result<(), Problem> {
        if org_id != self.org_id() {
            return Err(Problem::not_found("No such organisation."));
        }
        if !self.allows(permission) {
            return Err(Problem::new(StatusCode::FORBIDDEN, "forbidden", "Your roles do not allow this."));
        }
        Ok(())
    }

    /// The tenant check including child organisations: in the caller's own organisation
    /// their roles decide; in a child of it, the caller must be a member of the parent's
    /// child-organisation access group, whose roles (within the child's entitlements)
    /// decide (WF-SUBORG-GROUP, L4085–L4092); any other organisation answers 404.
    pub async fn authorize_in(&self, ctx: &Ctx, org_id: &str, permission: Permission) -> Result<(), Problem> {
        if org_id == self.org_id() {
            return self.authorize(org_id, permission);
        }
        let hidden = || Problem::not_found("No such organisation.");
        let org = store::get_org(ctx, org_id).await?.filter(|o| o.parent_id.as_deref() == Some(self.org_id()));
        let (Some(org), Some(user_id)) = (org, self.user_id()) else { return Err(hidden()) };
        let access_group = groups::access_group_id(ctx, self.org_id()).await?.ok_or_else(hidden)?;
        let user = store::get_user(ctx, self.org_id(), user_id).await?.ok_or_else(hidden)?;
        if !user.user.groups.contains(&access_group) {
            return Err(hidden());
        }
        let group = groups::find(ctx, self.org_id(), &access_group).await?.ok_or_else(hidden)?;
        let roles = effective_roles([&group.roles[..]], &org.entitlements);
        if !allows(&roles, permission) {
            return Err(Problem::new(StatusCode::FORBIDDEN, "forbidden", "Your roles do not allow this."));
        }
        Ok(())
    }
}
