//! Lambda entry point of `job-submit`.

#[tokio::main]
async fn main() -> Result<(), shared::lambda::InvocationError> {
    shared::lambda::run(job_submit::function()).await
}
