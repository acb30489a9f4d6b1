//! `/v1/password`: redeeming a set-password link (BR-UIMP, seed L4300; BR-PWD). No bearer
//! token: the link's token is the credential. `POST` with JSON `{token, password}` answers
//! 204; the mailed link opens `GET`, a plain HTML form that posts the same fields
//! form-encoded and answers HTML, so the link works in a browser without any other front end.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use shared::Ctx;
use shared::http::Problem;
use shared::http::openapi::problem_response;
use shared::identity::password_links::{self, PASSWORD_PATH};
use std::collections::HashMap;
use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{ComponentsBuilder, ContentBuilder, OpenApi, PathsBuilder, ResponseBuilder};

/// The routes of this module.
pub fn routes() -> Router<Ctx> {
    Router::new().route(PASSWORD_PATH, get(form).post(set))
}

/// Sets a password with the token of a mailed link.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SetPassword {
    /// The token from the link (`?token=...`).
    token: String,
    /// The new password (BR-PWD: 8+ characters with a lowercase and an uppercase letter, a
    /// digit and a special character).
    password: String,
}

async fn form(RawQuery(query): RawQuery) -> Response {
    let fields: HashMap<String, String> =
        serde_urlencoded::from_str(query.as_deref().unwrap_or_default()).unwrap_or_default();
    let token = fields.get("token").map(String::as_str).unwrap_or_default();
    page(
        StatusCode::OK,
        "Set your password",
        &format!(
            "<p>Choose a password of at least 8 characters with a lowercase and an uppercase letter, a digit and a \
             special character.</p>\n<form method=\"post\">\n<input type=\"hidden\" name=\"token\" value=\"{}\">\n\
             <label>New password <input type=\"password\" name=\"password\" autocomplete=\"new-password\" \
             required></label>\n<button type=\"submit\">Set password</button>\n</form>",
            escape(token)
        ),
    )
}

async fn set(State(ctx): State<Ctx>, headers: HeaderMap, body: Bytes) -> Response {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    if content_type.starts_with("application/x-www-form-urlencoded") {
        let outcome = match serde_urlencoded::from_bytes::<SetPassword>(&body) {
            Ok(request) => password_links::redeem(&ctx, &request.token, &request.password).await,
            Err(_) => Err(Problem::invalid("Fill in the new password.")),
        };
        return match outcome {
            Ok(()) => page(StatusCode::OK, "Password set", "<p>Your password is set. You can now sign in.</p>"),
            Err(problem) => {
                let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::BAD_REQUEST);
                page(status, "Password not set", &format!("<p>{}</p>", escape(&problem.detail)))
            }
        };
    }
    let json = content_type.starts_with("application/json")
        || content_type.split(';').next().is_some_and(|t| t.trim().ends_with("+json"));
    if !json {
        return Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Send the body as JSON with `Content-Type: application/json`.",
        )
        .into_response();
    }
    let request: SetPassword = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(e) => return Problem::new(StatusCode::BAD_REQUEST, "invalid_json", e.to_string()).into_response(),
    };
    match password_links::redeem(&ctx, &request.token, &request.password).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(problem) => problem.into_response(),
    }
}

/// A minimal HTML page that loads nothing and cannot be framed.
fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\"><meta name=\"viewport\" \
         content=\"width=device-width\"><title>{title} — printcloud</title></head>\n<body>\n<h1>{title}</h1>\n{body}\n\
         </body>\n</html>\n"
    );
    let mut response = (status, html).into_response();
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_TYPE, "text/html; charset=utf-8"),
        (header::CACHE_CONTROL, "no-store"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::CONTENT_SECURITY_POLICY, "default-src 'none'; form-action 'self'; frame-ancestors 'none'"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

/// Escapes text for HTML content and attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

/// The OpenAPI description of this module's routes.
pub fn openapi() -> OpenApi {
    let html = |description: &str| {
        ResponseBuilder::new()
            .description(description)
            .content(
                "text/html",
                ContentBuilder::new().schema(Some(ObjectBuilder::new().schema_type(Type::String))).build(),
            )
            .build()
    };
    let form = OperationBuilder::new()
        .tag("identity")
        .operation_id(Some("set_password_form"))
        .summary(Some("The page a mailed set-password link opens: an HTML form that posts to this path."))
        .parameter(
            ParameterBuilder::new()
                .name("token")
                .parameter_in(ParameterIn::Query)
                .description(Some("The link's token."))
                .schema(Some(ObjectBuilder::new().schema_type(Type::String))),
        )
        .response("200", html("The form."))
        .build();
    let set = OperationBuilder::new()
        .tag("identity")
        .operation_id(Some("set_password"))
        .summary(Some(
            "Set a password with the token of a mailed set-password link (no bearer token). A link works once and \
             for 72 hours. Form-encoded bodies (the HTML form) are answered with HTML.",
        ))
        .request_body(Some(shared::http::openapi::json_request("SetPassword")))
        .response("204", ResponseBuilder::new().description("The password is set; the link is used up.").build())
        .response(
            "400",
            problem_response(
                "Unknown, used or expired link (`invalid_link`), a password that breaks BR-PWD (`weak_password`), \
                 `invalid_json`.",
            ),
        )
        .response("415", problem_response("Not JSON (`unsupported_media_type`)."))
        .build();
    let mut doc = shared::http::openapi::base();
    doc.paths = PathsBuilder::new()
        .path(PASSWORD_PATH, shared::http::openapi::path_item([(HttpMethod::Get, form), (HttpMethod::Post, set)]))
        .build();
    doc.components = Some(ComponentsBuilder::new().schema_from::<SetPassword>().build());
    doc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn br_uimp_link_page_escapes_what_it_shows() {
        assert_eq!(escape("a\"><script>&'"), "a&quot;&gt;&lt;script&gt;&amp;&#39;");
    }
}
