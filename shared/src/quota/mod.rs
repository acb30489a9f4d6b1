//! Print quotas (BR-QT-*): what a user may print a month, reserved at release and settled
//! exactly once when the printer reports what it printed.

pub mod assignments;
pub mod definitions;
pub mod ledger;
pub mod limits;
pub mod status;
