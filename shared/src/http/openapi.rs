//! Building blocks of the OpenAPI 3.1 description (`GET /openapi.json`). Each function
//! describes its own routes; `printcloud openapi` merges them into `api/openapi.json`,
//! which `auth` serves (a test keeps the file equal to what the code describes).

use super::Problem;
use super::health::Health;
use utoipa::openapi::path::{HttpMethod, OperationBuilder, PathItem};
use utoipa::openapi::{
    ComponentsBuilder, ContentBuilder, InfoBuilder, OpenApi, OpenApiBuilder, PathsBuilder, Ref, Response,
    ResponseBuilder,
};

/// Media type of every error answer.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// A response whose body is the schema `schema` as JSON.
pub fn json_response(description: &str, schema: &str) -> Response {
    ResponseBuilder::new()
        .description(description)
        .content("application/json", ContentBuilder::new().schema(Some(Ref::from_schema_name(schema))).build())
        .build()
}

/// An error response (`application/problem+json`).
pub fn problem_response(description: &str) -> Response {
    ResponseBuilder::new()
        .description(description)
        .content(PROBLEM_JSON, ContentBuilder::new().schema(Some(Ref::from_schema_name("Problem"))).build())
        .build()
}

/// An empty document holding the schemas every function's description refers to.
pub fn base() -> OpenApi {
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("printcloud API")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "Self-hostable cloud print management. Errors are application/problem+json with a stable `code`.",
                ))
                .build(),
        )
        .components(Some(ComponentsBuilder::new().schema_from::<Problem>().schema_from::<Health>().build()))
        .build()
}

/// The health probes of `function`: `GET /health/<function>`, and `GET /health` when it
/// owns the deployment-wide probe.
pub fn health_paths(function: &str, owns_root: bool) -> OpenApi {
    let probe = |path: &str, id: String| {
        let operation = OperationBuilder::new()
            .tag("operations")
            .operation_id(Some(id))
            .summary(Some(format!("Health of {function}: answers when it can reach storage.")))
            .response("200", json_response("Healthy.", "Health"))
            .response("503", problem_response("Storage is not reachable (`storage_unavailable`)."))
            .build();
        (path.to_string(), PathItem::new(HttpMethod::Get, operation))
    };
    let mut paths = PathsBuilder::new();
    let (path, item) = probe(&format!("/health/{function}"), format!("health_{}", function.replace('-', "_")));
    paths = paths.path(path, item);
    if owns_root {
        let (path, item) = probe("/health", "health".into());
        paths = paths.path(path, item);
    }
    let mut doc = base();
    doc.paths = paths.build();
    doc
}

/// `GET /openapi.json`: this document.
pub fn openapi_document_path() -> PathItem {
    let operation = OperationBuilder::new()
        .tag("operations")
        .operation_id(Some("openapi"))
        .summary(Some("This OpenAPI 3.1 document."))
        .response("200", ResponseBuilder::new().description("The OpenAPI document.").build())
        .build();
    PathItem::new(HttpMethod::Get, operation)
}

/// A path with several operations (e.g. GET and POST on one collection).
pub fn path_item(operations: impl IntoIterator<Item = (HttpMethod, utoipa::openapi::path::Operation)>) -> PathItem {
    operations
        .into_iter()
        .fold(utoipa::openapi::path::PathItemBuilder::new(), |item, (method, operation)| {
            item.operation(method, operation)
        })
        .build()
}

/// A JSON request body of the schema `schema`.
pub fn json_request(schema: &str) -> utoipa::openapi::request_body::RequestBody {
    utoipa::openapi::request_body::RequestBodyBuilder::new()
        .content("application/json", ContentBuilder::new().schema(Some(Ref::from_schema_name(schema))).build())
        .build()
}

/// An operation that needs a bearer token: its tag, id and summary, and the 401 answer
/// every such route shares.
pub fn authenticated(tag: &str, id: &str, summary: &str) -> OperationBuilder {
    OperationBuilder::new().tag(tag).operation_id(Some(id)).summary(Some(summary)).response(
        "401",
        problem_response("No valid access token (`unauthenticated`, `invalid_token`, `token_expired`)."),
    )
}

/// The 403 answer of routes whose roles decide.
pub fn forbidden_response() -> Response {
    problem_response("Your roles do not allow this (`forbidden`).")
}
