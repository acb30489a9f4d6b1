//! `enroll`: printer enrollment, device credentials, telemetry and the Fleet Integration
//! API.

mod codes;
mod device;
mod integration;
mod labels;
mod printers;

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
    let api = Router::new()
        .merge(codes::routes())
        .merge(device::routes())
        .merge(printers::routes())
        .merge(labels::routes())
        .merge(integration::routes())
        .with_state(ctx.clone());
    http::health_routes(NAME, false, ctx).merge(api)
}

/// The OpenAPI description of the routes of `enroll`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = http::openapi::health_paths(NAME, false);
    doc.merge(codes::openapi());
    doc.merge(device::openapi());
    doc.merge(printers::openapi());
    doc.merge(labels::openapi());
    doc.merge(integration::openapi());
    doc
}

/// An operation of the fleet API for signed-in administrators.
fn operation(id: &str, summary: &str) -> utoipa::openapi::path::OperationBuilder {
    http::openapi::authenticated("fleet", id, summary)
        .response("403", http::openapi::forbidden_response())
        .response("404", http::openapi::problem_response("No such organisation or resource (`not_found`, ...)."))
}
