//! Solution Center (`workflow-step`): solutions, their runs, the actions a run performs on
//! a document, and solution quotas with their distributions.

pub mod actions;
pub mod definitions;
pub mod detectors;
pub mod distributions;
pub mod docx;
pub mod execution;
pub mod formats;
pub mod quotas;
pub mod redaction;
pub mod retention;
pub mod runs;
pub mod steps;
