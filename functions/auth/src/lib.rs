//! `auth`: identity and access — organisations, users, groups, roles, tokens, badges,
//! PINs and login codes. Owns the deployment-wide `GET /health`.

use axum::Router;
use shared::{Ctx, Function, http};

/// The function's name, as deployed.
pub const NAME: &str = "auth";

/// The function's triggers: HTTP only.
pub fn function() -> Function {
    Function::new(NAME).http(router)
}

/// The HTTP routes of `auth`.
pub fn router(ctx: Ctx) -> Router {
    http::health_routes(NAME, true, ctx)
}
