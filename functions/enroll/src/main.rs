//! Lambda entry point of `enroll`.

#[tokio::main]
async fn main() -> Result<(), shared::lambda::InvocationError> {
    shared::lambda::run(enroll::function()).await
}
