//! Lambda entry point of `quota-debit`.

#[tokio::main]
async fn main() -> Result<(), shared::lambda::InvocationError> {
    shared::lambda::run(quota_debit::function()).await
}
