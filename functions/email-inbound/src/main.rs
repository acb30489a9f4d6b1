//! Lambda entry point of `email-inbound`.

#[tokio::main]
async fn main() -> Result<(), shared::lambda::InvocationError> {
    shared::lambda::run(email_inbound::function()).await
}
