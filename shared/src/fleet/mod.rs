//! Fleet management: printers and agents enroll with codes into exactly one organisation,
//! report telemetry with their device credential, carry labels, and are read back by
//! administrators and by integrators through the Fleet Integration API.

pub mod agents;
pub mod assets;
pub mod codes;
pub mod credentials;
pub mod enrollment;
pub mod integration_api;
pub mod label_import;
pub mod labelling;
pub mod labels;
pub mod printers;
pub mod reports;
pub mod telemetry;
