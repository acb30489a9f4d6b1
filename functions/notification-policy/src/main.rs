//! Lambda entry point of `notification-policy`.

#[tokio::main]
async fn main() -> Result<(), shared::lambda::InvocationError> {
    shared::lambda::run(notification_policy::function()).await
}
