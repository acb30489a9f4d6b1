//! `POST /oauth/token` (part-6 §2.1–2.2: JSON body, form-encoded accepted too) and the
//! discovery documents `/.well-known/openid-configuration` and `/.well-known/jwks.json`.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::routing::{get, post};
use axum::{Json, Router};
use bytes::Bytes;
use serde::Deserialize;
use shared::Ctx;
use shared::http::Problem;
use shared::http::openapi::{json_response, problem_response};
use shared::identity::applications;
use shared::identity::signin::{self, SignInError, TokenGrant};
use shared::identity::tokens::openid_configuration;
use utoipa::openapi::path::{HttpMethod, OperationBuilder, PathItem};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::{ContentBuilder, OpenApi, PathsBuilder, Ref};

/// The routes of this module.
pub fn routes() -> Router<Ctx> {
    Router::new()
        .route("/oauth/token", post(token))
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/.well-known/jwks.json", get(jwks))
}

/// A token request, as JSON or form fields.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct TokenRequest {
    /// `password`, `refresh_token` or `client_credentials`.
    grant_type: String,
    /// The e-mail address (`password` grant).
    username: Option<String>,
    /// The password (`password` grant).
    password: Option<String>,
    /// The refresh token (`refresh_token` grant).
    refresh_token: Option<String>,
    /// The application's client id (`client_credentials` grant).
    client_id: Option<String>,
    /// The application's client secret (`client_credentials` grant).
    client_secret: Option<String>,
}

fn parse(headers: &HeaderMap, body: &Bytes) -> Result<TokenRequest, Problem> {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let parsed = if content_type.starts_with("application/x-www-form-urlencoded") {
        serde_urlencoded::from_bytes(body).map_err(|e| e.to_string())
    } else {
        serde_json::from_slice(body).map_err(|e| e.to_string())
    };
    parsed.map_err(|why| Problem::new(StatusCode::BAD_REQUEST, "invalid_request", format!("token request: {why}")))
}

fn missing(field: &str) -> Problem {
    Problem::new(StatusCode::BAD_REQUEST, "invalid_request", format!("`{field}` is required for this grant"))
}

async fn token(State(ctx): State<Ctx>, headers: HeaderMap, body: Bytes) -> Result<Json<TokenGrant>, Problem> {
    let request = parse(&headers, &body)?;
    let outcome = match request.grant_type.as_str() {
        "password" => {
            let username = request.username.as_deref().ok_or_else(|| missing("username"))?;
            let password = request.password.as_deref().ok_or_else(|| missing("password"))?;
            signin::password_grant(&ctx, username, password).await
        }
        "refresh_token" => {
            let refresh = request.refresh_token.as_deref().ok_or_else(|| missing("refresh_token"))?;
            signin::refresh_grant(&ctx, refresh).await
        }
        "client_credentials" => {
            let basic = headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(applications::basic_credentials);
            let (client_id, client_secret) = match (request.client_id, request.client_secret, basic) {
                (Some(id), Some(secret), _) => (id, secret),
                (None, None, Some(pair)) => pair,
                (None, _, _) => return Err(missing("client_id")),
                (_, None, _) => return Err(missing("client_secret")),
            };
            if client_id.starts_with(shared::fleet::credentials::CLIENT_ID_PREFIX) {
                // An enrolled printer's or agent's device credential.
                return shared::fleet::credentials::grant(&ctx, &client_id, &client_secret).await.map(Json);
            }
            return applications::client_credentials_grant(&ctx, &client_id, &client_secret).await.map(Json);
        }
        other => {
            return Err(Problem::new(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                format!("grant_type `{other}` is not one of password, refresh_token, client_credentials"),
            ));
        }
    };
    match outcome {
        Ok(grant) => Ok(Json(grant)),
        Err(SignInError::InvalidGrant(why)) => Err(Problem::new(StatusCode::BAD_REQUEST, "invalid_grant", why)),
        Err(SignInError::Store(err)) => Err(err.into()),
        Err(SignInError::Token(err)) => Err(Problem::internal(err)),
    }
}

async fn discovery(State(ctx): State<Ctx>) -> Json<serde_json::Value> {
    Json(openid_configuration(ctx.tokens.issuer()))
}

async fn jwks(State(ctx): State<Ctx>) -> Json<serde_json::Value> {
    Json(ctx.tokens.jwks())
}

/// The OpenAPI description of this module's routes.
pub fn openapi() -> OpenApi {
    let token = OperationBuilder::new()
        .tag("identity")
        .operation_id(Some("token"))
        .summary(Some("Exchange credentials for tokens (grants password, refresh_token, client_credentials)."))
        .request_body(Some(
            RequestBodyBuilder::new()
                .content(
                    "application/json",
                    ContentBuilder::new().schema(Some(Ref::from_schema_name("TokenRequest"))).build(),
                )
                .content(
                    "application/x-www-form-urlencoded",
                    ContentBuilder::new().schema(Some(Ref::from_schema_name("TokenRequest"))).build(),
                )
                .build(),
        ))
        .response("200", json_response("The tokens.", "TokenGrant"))
        .response("400", problem_response("`invalid_request`, `invalid_grant` or `unsupported_grant_type`."))
        .response("401", problem_response("`invalid_client`."))
        .build();
    let document = |id: &str, summary: &str| {
        let operation = OperationBuilder::new()
            .tag("identity")
            .operation_id(Some(id))
            .summary(Some(summary))
            .response("200", utoipa::openapi::ResponseBuilder::new().description("The document.").build())
            .build();
        PathItem::new(HttpMethod::Get, operation)
    };
    let mut doc = shared::http::openapi::base();
    doc.paths = PathsBuilder::new()
        .path("/oauth/token", PathItem::new(HttpMethod::Post, token))
        .path("/.well-known/openid-configuration", document("openid_configuration", "OAuth/OIDC discovery."))
        .path("/.well-known/jwks.json", document("jwks", "The public keys tokens are signed with."))
        .build();
    doc.components = Some(
        utoipa::openapi::ComponentsBuilder::new().schema_from::<TokenRequest>().schema_from::<TokenGrant>().build(),
    );
    doc
}
