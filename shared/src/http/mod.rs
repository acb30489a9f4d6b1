//! HTTP plumbing every function's router uses: problem+json errors, health probes, and
//! the fallback for unknown paths.

mod access_log;
mod caller;
pub mod csv_export;
mod health;
pub mod inline_document;
mod json;
mod list;
pub mod openapi;
mod problem;

pub use access_log::access_log;
pub use caller::Caller;
pub use health::{Health, health_routes};
pub use json::JsonBody;
pub use list::{ListPage, ListParams};
pub use problem::{Problem, not_found_fallback};
