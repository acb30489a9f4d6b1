//! Lambda entry point of `release`.

#[tokio::main]
async fn main() -> Result<(), shared::lambda::InvocationError> {
    shared::lambda::run(release::function()).await
}
