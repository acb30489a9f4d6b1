//! HTTP plumbing shared by the clients: one `reqwest` client per command, paths under the
//! service's base URL, and failed answers turned into errors that read well — an
//! `application/problem+json` answer becomes an [`ApiProblem`] shown as `<detail> (<code>)`.

use anyhow::{Context, anyhow, bail};
use reqwest::header::CONTENT_TYPE;
use reqwest::{RequestBuilder, Response};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use std::time::Duration;

/// How long connecting to the service may take before a command gives up.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Longest piece of a non-problem error body quoted in a message.
const QUOTED_BODY: usize = 200;

/// A problem the service answered: the error a command prints as `error: <detail> (<code>)`,
/// and that callers can inspect (`err.downcast_ref::<ApiProblem>()`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct ApiProblem {
    /// HTTP status.
    #[serde(default)]
    pub status: u16,
    /// Stable machine code, e.g. `invalid_grant`.
    pub code: String,
    /// What went wrong, for people.
    pub detail: String,
}

impl std::fmt::Display for ApiProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.detail, self.code)
    }
}

impl std::error::Error for ApiProblem {}

/// The service at one base URL.
#[derive(Clone, Debug)]
pub struct Api {
    http: reqwest::Client,
    base: String,
}

impl Api {
    /// A client of the service at `base_url` (`http://` or `https://`, trailing `/` ignored).
    pub fn new(base_url: &str) -> anyhow::Result<Api> {
        let base = base_url.trim().trim_end_matches('/').to_string();
        let parsed = reqwest::Url::parse(&base).with_context(|| format!("`{base_url}` is not a URL"))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            bail!("`{base_url}` is not an http:// or https:// URL");
        }
        let http = reqwest::Client::builder().connect_timeout(CONNECT_TIMEOUT).build()?;
        Ok(Api { http, base })
    }

    /// The base URL, as sessions and printer state store it.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// The underlying client, for the absolute URLs the service hands out (uploads,
    /// downloads).
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// A `GET` of `path` (starting with `/`) under the base URL.
    pub fn get(&self, path: &str) -> RequestBuilder {
        self.http.get(format!("{}{path}", self.base))
    }

    /// A `POST` of `path` (starting with `/`) under the base URL.
    pub fn post(&self, path: &str) -> RequestBuilder {
        self.http.post(format!("{}{path}", self.base))
    }
}

/// Sends `request`; answers the response when it succeeded, else the error it describes.
pub async fn send(request: RequestBuilder) -> anyhow::Result<Response> {
    let response = request.send().await.context("the service could not be reached")?;
    if response.status().is_success() {
        return Ok(response);
    }
    Err(failure(response).await)
}

/// Sends `request` and reads its JSON answer.
pub async fn json<T: DeserializeOwned>(request: RequestBuilder) -> anyhow::Result<T> {
    let response = send(request).await?;
    let url = response.url().clone();
    let body = response.bytes().await.with_context(|| format!("reading the answer of {url}"))?;
    serde_json::from_slice(&body).with_context(|| format!("unexpected answer from {url}"))
}

/// The error a failed response describes.
async fn failure(response: Response) -> anyhow::Error {
    let status = response.status();
    let url = response.url().clone();
    let problem = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/problem+json"));
    let body = response.text().await.unwrap_or_default();
    if problem && let Ok(problem) = serde_json::from_str::<ApiProblem>(&body) {
        return problem.into();
    }
    let quoted: String = body.chars().take(QUOTED_BODY).collect();
    anyhow!("{url} answered {status}: {}", quoted.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_read_as_detail_then_code() {
        let problem: ApiProblem = serde_json::from_str(
            r#"{"type":"urn:printcloud:problem:invalid_grant","title":"Bad Request","status":400,
                "detail":"Wrong e-mail address or password.","code":"invalid_grant"}"#,
        )
        .unwrap();
        assert_eq!(problem.to_string(), "Wrong e-mail address or password. (invalid_grant)");
        assert_eq!(
            format!("{:#}", anyhow::Error::from(problem).context("login")),
            "login: Wrong e-mail address or password. (invalid_grant)"
        );
    }

    #[test]
    fn base_urls_must_be_http() {
        assert_eq!(Api::new("http://127.0.0.1:8080/").unwrap().base_url(), "http://127.0.0.1:8080");
        assert!(Api::new("ftp://example.org").is_err());
        assert!(Api::new("not a url").is_err());
    }
}
