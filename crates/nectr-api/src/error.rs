//! The one error type of the API and the JSON body every error has:
//! `{"code": "<stable snake_case>", "detail": "<message>"}`. The original's clients read `detail`.

use actix_web::error::JsonPayloadError;
use actix_web::http::StatusCode;
use actix_web::http::header::ContentType;
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use serde::Serialize;

/// An error answered to an API client.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the request is malformed.
    #[error("{detail}")]
    BadRequest {
        /// Stable code, for example `invalid_json`.
        code: &'static str,
        /// Human-readable message.
        detail: String,
    },
    /// 401: no or invalid credentials.
    #[error("{0}")]
    Unauthorized(String),
    /// 401 `unauthenticated`: no session, or one that is invalid, expired or ended. The
    /// dashboard treats it as "signed out".
    #[error("{0}")]
    Unauthenticated(String),
    /// Any client error with a stable code of its own.
    #[error("{detail}")]
    Client {
        /// The status, a 4xx.
        status: StatusCode,
        /// Stable code, for example `repo_not_connected`.
        code: &'static str,
        /// Human-readable message.
        detail: String,
    },
    /// 403: the caller may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// 404: no such thing.
    #[error("{0}")]
    NotFound(String),
    /// 405: the path exists, the method does not.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// 409: conflicts with the current state.
    #[error("{0}")]
    Conflict(String),
    /// 413: the body is too large.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// 503: a dependency is unavailable.
    #[error("{0}")]
    Unavailable(String),
    /// 500: a bug or an unexpected failure. The cause is logged, never sent.
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    code: &'a str,
    detail: &'a str,
}

impl ApiError {
    /// The stable code clients can match on.
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadRequest { code, .. } => code,
            Self::Unauthorized(_) => "unauthorized",
            Self::Unauthenticated(_) => "unauthenticated",
            Self::Client { code, .. } => code,
            Self::Forbidden(_) => "forbidden",
            Self::NotFound(_) => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::Conflict(_) => "conflict",
            Self::PayloadTooLarge(_) => "payload_too_large",
            Self::Unavailable(_) => "service_unavailable",
            Self::Internal(_) => "internal_error",
        }
    }
}

/// The JSON error body for a status code and message.
pub(crate) fn error_response(status: StatusCode, code: &str, detail: &str) -> HttpResponse {
    HttpResponse::build(status).content_type(ContentType::json()).json(ErrorBody { code, detail })
}

/// The stable code for a bare status, used where actix produced the error itself.
pub(crate) fn code_for_status(status: StatusCode) -> &'static str {
    match status {
        StatusCode::BAD_REQUEST => "bad_request",
        StatusCode::UNAUTHORIZED => "unauthorized",
        StatusCode::FORBIDDEN => "forbidden",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::CONFLICT => "conflict",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::UNPROCESSABLE_ENTITY => "unprocessable_entity",
        StatusCode::TOO_MANY_REQUESTS => "too_many_requests",
        StatusCode::SERVICE_UNAVAILABLE => "service_unavailable",
        status if status.is_server_error() => "internal_error",
        _ => "error",
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) | Self::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            Self::Client { status, .. } => *status,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let Self::Internal(cause) = self {
            tracing::error!(error = format!("{cause:#}"), "internal error");
        }
        error_response(self.status_code(), self.code(), &self.to_string())
    }
}

/// Unknown routes answer 404 with a JSON body.
pub(crate) async fn not_found(request: HttpRequest) -> HttpResponse {
    ApiError::NotFound(format!("no route for {} {}", request.method(), request.path()))
        .error_response()
}

/// Known paths answer 405 with a JSON body for methods they do not serve.
pub(crate) async fn method_not_allowed() -> HttpResponse {
    ApiError::MethodNotAllowed.error_response()
}

/// Malformed or oversized JSON bodies become JSON errors.
pub(crate) fn json_config() -> web::JsonConfig {
    web::JsonConfig::default().limit(1024 * 1024).error_handler(|error, _request| {
        let api_error = match &error {
            JsonPayloadError::OverflowKnownLength { .. } | JsonPayloadError::Overflow { .. } => {
                ApiError::PayloadTooLarge("the JSON body is too large".to_owned())
            }
            JsonPayloadError::ContentType => ApiError::BadRequest {
                code: "unsupported_media_type",
                detail: "expected Content-Type: application/json".to_owned(),
            },
            other => ApiError::BadRequest { code: "invalid_json", detail: other.to_string() },
        };
        api_error.into()
    })
}

/// Malformed path parameters become JSON errors.
pub(crate) fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|error, _request| {
        ApiError::BadRequest { code: "invalid_path", detail: error.to_string() }.into()
    })
}

/// Malformed query strings become JSON errors.
pub(crate) fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|error, _request| {
        ApiError::BadRequest { code: "invalid_query", detail: error.to_string() }.into()
    })
}

#[cfg(test)]
mod tests {
    use actix_web::{App, test, web};
    use serde_json::Value;

    use super::*;

    #[derive(serde::Deserialize)]
    struct Payload {
        #[expect(dead_code, reason = "only deserialised")]
        name: String,
    }

    async fn accept(_payload: web::Json<Payload>) -> HttpResponse {
        HttpResponse::NoContent().finish()
    }

    async fn call(body: &'static str, content_type: &str) -> (StatusCode, Value) {
        let app = test::init_service(
            App::new().app_data(json_config()).route("/echo", web::post().to(accept)),
        )
        .await;
        let request = test::TestRequest::post()
            .uri("/echo")
            .insert_header(("content-type", content_type))
            .set_payload(body)
            .to_request();
        let response = test::call_service(&app, request).await;
        let status = response.status();
        let body: Value = test::read_body_json(response).await;
        (status, body)
    }

    #[actix_web::test]
    async fn malformed_json_is_a_json_error_with_a_stable_code() {
        let (status, body) = call("{\"name\": ", "application/json").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["code"], "invalid_json");
        assert!(body["detail"].as_str().is_some_and(|detail| !detail.is_empty()));
        let (status, body) = call("{\"other\": 1}", "application/json").await;
        assert_eq!(
            (status, body["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_json"))
        );
        let (status, body) = call("name=x", "text/plain").await;
        assert_eq!(body["code"], "unsupported_media_type", "{status}");
    }

    #[actix_web::test]
    async fn internal_errors_hide_their_cause() {
        let error = ApiError::Internal(anyhow::anyhow!("password=hunter2 in a driver message"));
        let response = error.error_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = actix_web::body::to_bytes(response.into_body()).await.unwrap();
        let text = String::from_utf8(body.to_vec()).unwrap();
        assert_eq!(text, r#"{"code":"internal_error","detail":"internal error"}"#);
    }
}
