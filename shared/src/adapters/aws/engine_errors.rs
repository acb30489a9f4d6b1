//! What an AWS SDK error of the Solution Center's engines (Textract, Translate,
//! Comprehend) means for a workflow step: its error code, a detail for the operator, and
//! whether a retry may succeed.

use aws_sdk_textract::config::http::HttpResponse;
use aws_sdk_textract::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

/// Service error codes that mean "try again later".
const TRANSIENT_CODES: [&str; 7] = [
    "ThrottlingException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "LimitExceededException",
    "ServiceUnavailableException",
    "InternalServerException",
    "InternalServerError",
];

/// An SDK error, classified.
#[derive(Debug)]
pub(crate) struct Failure {
    /// The service's error code ("" when the call never reached the service).
    pub code: String,
    /// What happened, for the operator (the SDK's message; never document text).
    pub detail: String,
    /// Whether the same call may succeed later (network, throttling, server errors).
    pub transient: bool,
}

/// Classifies `err` of a call to `service` (same smithy runtime for every AWS SDK crate).
pub(crate) fn failure<E>(service: &str, err: SdkError<E, HttpResponse>) -> Failure
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let (code, status) = match &err {
        SdkError::ServiceError(e) => (e.err().code().unwrap_or_default().to_string(), e.raw().status().as_u16()),
        _ => (String::new(), 0),
    };
    let transient = match &err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => true,
        SdkError::ServiceError(_) => TRANSIENT_CODES.contains(&code.as_str()) || status == 429 || status >= 500,
        _ => false,
    };
    let text: String = DisplayErrorContext(&err).to_string().chars().take(300).collect();
    Failure { code, detail: format!("{service} failed: {text}"), transient }
}
