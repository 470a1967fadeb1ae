//! actix-web and rmcp speak different HTTP types (actix's own on `http` 0.2, rmcp's on `http`
//! 1.x): this module converts a request's head for rmcp, with the authenticated [`Caller`]
//! attached and the credentials removed, and converts rmcp's response back, streaming event
//! streams chunk by chunk and rewriting rmcp's plain-text refusals as JSON errors.

use std::convert::Infallible;

use actix_web::http::StatusCode;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::{HttpRequest, HttpResponse};
use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};

use super::auth::Caller;
use super::http_error;

/// Headers that never reach rmcp or the handler (they carry secrets).
const WITHHELD: [&str; 2] = ["authorization", "cookie"];

/// The request head as rmcp reads it, with `caller` among its extensions.
pub(crate) fn parts(request: &HttpRequest, caller: Caller) -> http::request::Parts {
    let mut builder =
        http::Request::builder().method(request.method().as_str()).uri(request.uri().to_string());
    for (name, value) in request.headers() {
        if !WITHHELD.contains(&name.as_str()) {
            builder = builder.header(name.as_str(), value.as_bytes());
        }
    }
    let (mut parts, ()) = match builder.body(()) {
        Ok(converted) => converted.into_parts(),
        // actix parsed the head already, so it converts; an empty head would only lose headers.
        Err(_) => http::Request::new(()).into_parts(),
    };
    parts.extensions.insert(caller);
    parts
}

/// The whole request for rmcp's Streamable HTTP service.
pub(crate) fn request(
    request: &HttpRequest,
    body: Bytes,
    caller: Caller,
) -> http::Request<Full<Bytes>> {
    http::Request::from_parts(parts(request, caller), Full::new(body))
}

fn is_media(headers: &http::HeaderMap, media: &str) -> bool {
    headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.trim_start().starts_with(media))
}

/// rmcp's response as actix's: an event stream is streamed as it is produced; any other body
/// (small: a JSON-RPC message, an acknowledgement, a refusal) is read whole, and a refusal that
/// is not JSON becomes the API's JSON error with rmcp's text as its detail.
pub(crate) async fn response(response: http::Response<BoxBody<Bytes, Infallible>>) -> HttpResponse {
    let (head, body) = response.into_parts();
    let status =
        StatusCode::from_u16(head.status.as_u16()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut answer = HttpResponse::build(status);
    for (name, value) in &head.headers {
        let converted = (
            HeaderName::from_bytes(name.as_str().as_bytes()),
            HeaderValue::from_bytes(value.as_bytes()),
        );
        if let (Ok(name), Ok(value)) = converted {
            answer.append_header((name, value));
        }
    }
    if is_media(&head.headers, "text/event-stream") {
        return answer.streaming(body.into_data_stream());
    }
    let bytes = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(never) => match never {},
    };
    let refused = status.is_client_error() || status.is_server_error();
    match refused && !is_media(&head.headers, "application/json") {
        true => {
            let detail = String::from_utf8_lossy(&bytes);
            let mut error =
                http_error::json_error(status, http_error::code_for(status), detail.trim());
            let allow = head.headers.get(http::header::ALLOW);
            if let Some(Ok(value)) = allow.map(|allow| HeaderValue::from_bytes(allow.as_bytes())) {
                error.headers_mut().insert(actix_web::http::header::ALLOW, value);
            }
            error
        }
        false => answer.body(bytes),
    }
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;
    use nectr_domain::UserId;

    use super::*;

    #[test]
    fn the_head_reaches_rmcp_without_credentials_and_with_the_caller() {
        let request = TestRequest::post()
            .uri("/mcp?x=1")
            .insert_header(("Authorization", "Bearer nectr_secret"))
            .insert_header(("Cookie", "access_token=jwt"))
            .insert_header(("Mcp-Session-Id", "abc"))
            .insert_header(("Host", "localhost:8000"))
            .to_http_request();
        let caller = Caller { user: UserId::new(4), key: 9 };
        let head = parts(&request, caller);
        assert_eq!(head.method, http::Method::POST);
        assert_eq!(head.uri.path(), "/mcp");
        assert_eq!(head.headers.get("mcp-session-id").map(|v| v.as_bytes()), Some(&b"abc"[..]));
        assert!(head.headers.get("authorization").is_none());
        assert!(head.headers.get("cookie").is_none());
        assert_eq!(head.extensions.get::<Caller>(), Some(&caller));
    }

    #[actix_web::test]
    async fn a_plain_text_refusal_becomes_a_json_error() {
        let refusal = http::Response::builder()
            .status(404)
            .body(Full::new(Bytes::from("Not Found: Session not found")).boxed())
            .unwrap_or_default();
        let answer = response(refusal).await;
        assert_eq!(answer.status(), StatusCode::NOT_FOUND);
        let body = actix_web::body::to_bytes(answer.into_body()).await.unwrap_or_default();
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        assert_eq!(json["code"], "session_not_found");
        assert_eq!(json["detail"], "Not Found: Session not found");
    }
}
