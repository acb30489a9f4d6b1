//! Health probes: `GET /health/<function>` for every function (and `GET /health` on the
//! function that owns it). A probe reads the table, so it reports storage trouble.

use super::Problem;
use crate::Ctx;
use crate::ports::Key;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

/// The answer of a healthy probe.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Health {
    /// Always `ok`.
    pub status: &'static str,
    /// Which function answered.
    pub function: &'static str,
    /// printcloud's version.
    pub version: &'static str,
}

/// `GET /health/<function>`, plus `GET /health` when `owns_root` is set.
pub fn health_routes(function: &'static str, owns_root: bool, ctx: Ctx) -> Router {
    let probe = move || {
        let ctx = ctx.clone();
        async move { check(&ctx, function).await }
    };
    let routes = Router::new().route(&format!("/health/{function}"), get(probe.clone()));
    if owns_root { routes.route("/health", get(probe)) } else { routes }
}

async fn check(ctx: &Ctx, function: &'static str) -> Result<Json<Health>, Problem> {
    match ctx.table.get(&Key::new("HEALTH", "PROBE")).await {
        Ok(_) => Ok(Json(Health { status: "ok", function, version: env!("CARGO_PKG_VERSION") })),
        Err(err) => {
            tracing::error!(error = %err, "health probe could not read the table");
            Err(Problem::new(StatusCode::SERVICE_UNAVAILABLE, "storage_unavailable", "Storage is not reachable."))
        }
    }
}
