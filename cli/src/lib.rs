//! The `printcloud` command's library: the one-process runner behind `printcloud serve`,
//! usable in-process by end-to-end tests.

pub mod client;
pub mod functions;
pub mod openapi;
pub mod poller;
pub mod schedule;
pub mod serve;
pub mod smtp;

/// The allocator of every process that runs `serve`: a page of the Fleet Integration API
/// builds and frees hundreds of thousands of small JSON values, and mimalloc's per-thread
/// heaps keep that from contending on the system allocator's locks (docs/PERFORMANCE.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
