//! printcloud's shared library: the ports domain code talks to, their AWS and embedded
//! adapters, the HTTP and Lambda plumbing, and the domain modules every function uses.

pub mod adapters;
pub mod bootstrap;
pub mod context;
pub mod email;
pub mod events;
pub mod fleet;
pub mod function;
pub mod http;
pub mod identity;
pub mod lambda;
pub mod mail;
pub mod notifications;
pub mod passwords;
pub mod ports;
pub mod print;
pub mod quota;
pub mod records;
pub mod solutions;
pub mod telemetry;
pub mod wiring;

pub use context::{Config, Ctx};
pub use function::Function;
