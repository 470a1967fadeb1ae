//! Middleware: request logging with request ids, CORS, and JSON bodies for every error that
//! actix produces itself.

use std::time::Instant;

use actix_cors::Cors;
use actix_web::Error;
use actix_web::body::{BoxBody, EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::{ErrorHandlerResponse, ErrorHandlers, Next};
use tracing::Instrument;

use crate::error::{code_for_status, error_response};

/// The header that carries a request's id, echoed when the client sent a usable one.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// A client's request id is echoed when it is 1 to 128 visible ASCII characters.
fn usable_request_id(value: &HeaderValue) -> Option<String> {
    let text = value.to_str().ok()?;
    let usable =
        (1..=128).contains(&text.len()) && text.bytes().all(|byte| byte.is_ascii_graphic());
    usable.then(|| text.to_owned())
}

/// Logs method, path, status, duration and request id of every request, and answers with the
/// request id in `X-Request-Id`.
pub(crate) async fn log_request(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    let request_id = request
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(usable_request_id)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let method = request.method().clone();
    let path = request.path().to_owned();
    // Everything logged while the request is handled carries its id.
    let span = tracing::info_span!("request", request_id = %request_id);
    let outcome = next.call(request).instrument(span).await;
    let duration_ms = started.elapsed().as_secs_f64() * 1000.0;
    let status = match &outcome {
        Ok(response) => response.status(),
        Err(error) => error.as_response_error().status_code(),
    };
    tracing::info!(
        method = %method,
        path = %path,
        status = status.as_u16(),
        duration_ms = (duration_ms * 100.0).round() / 100.0,
        request_id = %request_id,
        "request handled"
    );
    let mut response = outcome?;
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(HeaderName::from_static(REQUEST_ID_HEADER), value);
    }
    Ok(response)
}

/// CORS for the dashboard: the configured origins, with credentials.
pub(crate) fn cors(origins: &[String]) -> Cors {
    origins
        .iter()
        .fold(Cors::default(), |cors, origin| cors.allowed_origin(origin))
        .supports_credentials()
        .allowed_methods(["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"])
        .allowed_headers([header::CONTENT_TYPE, header::AUTHORIZATION, header::ACCEPT])
        .allowed_header(REQUEST_ID_HEADER)
        .expose_headers([REQUEST_ID_HEADER])
        .max_age(3600)
}

/// Replaces the body of any error response that is not JSON already (actix's own 404s, 405s,
/// malformed requests) with the API's JSON error body, so that no client ever sees HTML or text.
pub(crate) fn json_errors<B: MessageBody + 'static>() -> ErrorHandlers<B> {
    ErrorHandlers::new().default_handler(|response: ServiceResponse<B>| {
        let is_json = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.starts_with("application/json"));
        if is_json {
            return Ok(ErrorHandlerResponse::Response(response.map_into_left_body()));
        }
        let status = response.status();
        let detail = status.canonical_reason().unwrap_or("error").to_owned();
        let (request, _) = response.into_parts();
        let replacement: ServiceResponse<EitherBody<B, BoxBody>> =
            ServiceResponse::new(request, error_response(status, code_for_status(status), &detail))
                .map_into_right_body();
        Ok(ErrorHandlerResponse::Response(replacement))
    })
}
