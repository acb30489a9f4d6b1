//! The Lambda side: one runtime loop per function binary that recognises the event shape
//! (API Gateway HTTP API v2, SQS, EventBridge schedule) and calls the matching handler of
//! the function's [`Function`] description.

use crate::function::Function;
use crate::{Ctx, telemetry};
use aws_lambda_events::encodings::Body as LambdaBody;
use aws_lambda_events::event::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use aws_lambda_events::event::sqs::SqsEvent;
use axum::body::Body;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http::{HeaderValue, header};
use http_body_util::BodyExt;
use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;
use tower::ServiceExt;
use tracing::Instrument;

/// Why an invocation failed (Lambda reports it and retries per the trigger's rules).
pub type InvocationError = Box<dyn std::error::Error + Send + Sync>;

/// Runs `function` as a Lambda function: JSON logs, AWS adapters, the runtime loop.
pub async fn run(function: Function) -> Result<(), lambda_runtime::Error> {
    telemetry::init_json();
    let ctx = Ctx::from_aws_env().await?;
    let dispatcher = Dispatcher::new(function, ctx);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let dispatcher = dispatcher.clone();
        let span = tracing::info_span!(
            "invocation",
            request_id = %event.context.request_id,
            function = dispatcher.function.name,
            org = tracing::field::Empty
        );
        async move { dispatcher.dispatch(event.payload).await }.instrument(span)
    }))
    .await
}

/// Routes a raw Lambda payload to the function's handler for its shape.
#[derive(Clone)]
pub struct Dispatcher {
    function: Function,
    ctx: Ctx,
    router: Option<axum::Router>,
}

impl Dispatcher {
    /// A dispatcher for `function` with `ctx`.
    pub fn new(function: Function, ctx: Ctx) -> Self {
        let router = function.router.map(|build| {
            build(ctx.clone())
                .fallback(crate::http::not_found_fallback)
                .layer(axum::middleware::from_fn(crate::http::access_log))
        });
        Dispatcher { function, ctx, router }
    }

    /// Handles one invocation payload and answers the response payload.
    pub async fn dispatch(&self, payload: Value) -> Result<Value, InvocationError> {
        let name = self.function.name;
        if is_sqs(&payload) {
            let trigger = self.function.queue.as_ref().ok_or(format!("{name} consumes no queue"))?;
            let event: SqsEvent = serde_json::from_value(payload)?;
            let response = (trigger.handler)(self.ctx.clone(), event).await;
            return Ok(serde_json::to_value(response)?);
        }
        if payload.get("detail-type").is_some() {
            let handler = self.function.on_schedule.as_ref().ok_or(format!("{name} has no schedule"))?;
            let event: EventBridgeEvent = serde_json::from_value(payload)?;
            handler(self.ctx.clone(), event).await?;
            return Ok(Value::Null);
        }
        if payload.get("version").and_then(Value::as_str) == Some("2.0") && payload.get("requestContext").is_some() {
            let router = self.router.clone().ok_or(format!("{name} serves no HTTP"))?;
            let request: ApiGatewayV2httpRequest = serde_json::from_value(payload)?;
            let response = call_router(router, request).await?;
            return Ok(serde_json::to_value(response)?);
        }
        Err(format!("{name} cannot handle this event shape").into())
    }
}

fn is_sqs(payload: &Value) -> bool {
    payload.pointer("/Records/0/eventSource").and_then(Value::as_str).is_some_and(|source| source == "aws:sqs")
}

/// Runs an API Gateway HTTP API (v2) request through `router`.
pub async fn call_router(
    router: axum::Router,
    event: ApiGatewayV2httpRequest,
) -> Result<ApiGatewayV2httpResponse, InvocationError> {
    let response = router.oneshot(into_http_request(event)?).await?;
    into_gateway_response(response).await
}

fn into_http_request(event: ApiGatewayV2httpRequest) -> Result<http::Request<Body>, InvocationError> {
    let path = event.raw_path.clone().unwrap_or_else(|| "/".into());
    let uri = match event.raw_query_string.as_deref() {
        Some(query) if !query.is_empty() => format!("{path}?{query}"),
        _ => path,
    };
    let body = match event.body {
        Some(text) if event.is_base64_encoded => Body::from(STANDARD.decode(text)?),
        Some(text) => Body::from(text),
        None => Body::empty(),
    };
    let mut request = http::Request::builder().method(event.request_context.http.method.clone()).uri(uri).body(body)?;
    *request.headers_mut() = event.headers;
    if let Some(cookies) = event.cookies.filter(|c| !c.is_empty()) {
        request.headers_mut().insert(header::COOKIE, HeaderValue::from_str(&cookies.join("; "))?);
    }
    Ok(request)
}

async fn into_gateway_response(response: http::Response<Body>) -> Result<ApiGatewayV2httpResponse, InvocationError> {
    let (parts, body) = response.into_parts();
    let bytes = body.collect().await?.to_bytes();
    let mut answer = ApiGatewayV2httpResponse::default();
    answer.status_code = i64::from(parts.status.as_u16());
    let mut headers = parts.headers;
    answer.cookies =
        headers.get_all(header::SET_COOKIE).iter().filter_map(|v| v.to_str().ok().map(str::to_string)).collect();
    headers.remove(header::SET_COOKIE);
    let textual = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("text/") || ct.contains("json") || ct.contains("xml"));
    answer.body = match (bytes.is_empty(), textual, String::from_utf8(bytes.to_vec())) {
        (true, _, _) => None,
        (false, true, Ok(text)) => Some(LambdaBody::Text(text)),
        _ => {
            answer.is_base64_encoded = true;
            Some(LambdaBody::Binary(bytes.to_vec()))
        }
    };
    answer.headers = headers;
    Ok(answer)
}
