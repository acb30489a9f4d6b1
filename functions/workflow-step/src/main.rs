//! Lambda entry point of `workflow-step`.

#[tokio::main]
async fn main() -> Result<(), shared::lambda::InvocationError> {
    shared::lambda::run(workflow_step::function()).await
}
