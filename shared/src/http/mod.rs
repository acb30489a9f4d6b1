//! HTTP plumbing every function's router uses: problem+json errors, health probes, and
//! the fallback for unknown paths.

mod health;
mod problem;

pub use health::health_routes;
pub use problem::{Problem, not_found_fallback};
