//! `enroll`: printer enrollment, device credentials, telemetry and the Fleet Integration
//! API.

use axum::Router;
use shared::{Ctx, Function, http};

/// The function's name, as deployed.
pub const NAME: &str = "enroll";

/// The function's triggers: HTTP only.
pub fn function() -> Function {
    Function::new(NAME).http(router)
}

/// The HTTP routes of `enroll`.
pub fn router(ctx: Ctx) -> Router {
    http::health_routes(NAME, false, ctx)
}

/// The OpenAPI description of the routes of `enroll`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    http::openapi::health_paths(NAME, false)
}
