//! The `printcloud` command's library: the one-process runner behind `printcloud serve`,
//! usable in-process by end-to-end tests.

pub mod functions;
pub mod openapi;
pub mod poller;
pub mod schedule;
pub mod serve;
