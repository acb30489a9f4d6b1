//! Fleet notification policies (`notification-policy`, BR-NP-*, WF-NP): the policies, what
//! they match, the mails they send, the history of those mails and the scheduled sweep.

pub mod evaluation;
pub mod history;
pub mod mails;
pub mod matches;
pub mod policies;
pub mod run;
pub mod sweep;
