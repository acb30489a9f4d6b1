//! One log line per HTTP request: method, path (never the query string, which may carry
//! presigned-URL signatures or codes), status and duration.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use std::time::Instant;

/// Logs the request after it is answered; server errors at `warn`, the rest at `info`.
pub async fn access_log(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16();
    let millis = started.elapsed().as_secs_f64() * 1000.0;
    if response.status().is_server_error() {
        tracing::warn!(%method, %path, status, millis, "request");
    } else {
        tracing::info!(%method, %path, status, millis, "request");
    }
    response
}
