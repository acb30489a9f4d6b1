//! Solution Center (`workflow-step`): the actions a solution runs on a document.

pub mod detectors;
pub mod redaction;
