//! Secure pull printing: organisational print settings, print options, jobs from
//! submission to release, documents (formats and page counts), print policies, delegates
//! and history.
pub mod delegates;
pub mod documents;
pub mod history;
pub mod ingest;
pub mod jobs;
pub mod options;
pub mod policies;
pub mod print_defaults;
pub mod release;
pub mod retention;
pub mod settings;
pub mod submit;
