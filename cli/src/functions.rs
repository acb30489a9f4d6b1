//! Every function of the deployment, as the runner mounts them.

use shared::Function;

/// The eight functions, in the order of ARCHITECTURE.md.
pub fn all() -> Vec<Function> {
    vec![
        auth::function(),
        enroll::function(),
        job_submit::function(),
        release::function(),
        quota_debit::function(),
        email_inbound::function(),
        notification_policy::function(),
        workflow_step::function(),
    ]
}
