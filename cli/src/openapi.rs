//! The whole API's OpenAPI document: every function's description merged. `printcloud
//! openapi` prints it; `api/openapi.json` holds it for `auth` to serve.

use utoipa::openapi::OpenApi;

/// The merged description of every function's routes.
pub fn document() -> OpenApi {
    let parts = [
        auth::openapi(),
        enroll::openapi(),
        job_submit::openapi(),
        release::openapi(),
        quota_debit::openapi(),
        email_inbound::openapi(),
        notification_policy::openapi(),
        workflow_step::openapi(),
    ];
    parts.into_iter().fold(shared::http::openapi::base(), OpenApi::merge_from)
}

/// The document as `api/openapi.json` holds it.
pub fn document_json() -> String {
    let mut text = document().to_pretty_json().expect("the OpenAPI document serialises");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_served_document_is_what_the_functions_describe() {
        assert_eq!(
            auth::OPENAPI_JSON,
            super::document_json(),
            "api/openapi.json is stale: run `cargo run -p printcloud -- openapi > api/openapi.json`"
        );
    }
}
