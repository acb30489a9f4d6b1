//! Lambda entry point of `auth`.

#[tokio::main]
async fn main() -> Result<(), shared::lambda::InvocationError> {
    shared::lambda::run(auth::function()).await
}
