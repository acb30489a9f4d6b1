//! HTTP plumbing every function's router uses: problem+json errors, health probes, and
//! the fallback for unknown paths.

mod access_log;
mod health;
pub mod openapi;
mod problem;

pub use access_log::access_log;
pub use health::{Health, health_routes};
pub use problem::{Problem, not_found_fallback};
