//! The MCP routes' HTTP errors, in the API's JSON shape `{"code": "<stable snake_case>",
//! "detail": "<message>"}`: every refusal before MCP begins ([`Refusal`]: a bad host, no key, a
//! foreign or unknown session, one session too many, …), and rmcp's own plain-text refusals
//! rewritten into that shape.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};

/// Why an MCP request is refused before it reaches MCP.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Refusal {
    /// 403: `Host` is missing, malformed or not allowed.
    #[error("the Host header names a host not allowed")]
    Host,
    /// 403: `Origin` is not a web origin on an allowed host.
    #[error("the Origin header is not allowed")]
    Origin,
    /// 401: no `Authorization: Bearer` key.
    #[error("an API key is required: Authorization: Bearer <key> (create one under API keys)")]
    NoKey,
    /// 401: the key is unknown or revoked.
    #[error("unknown or revoked API key")]
    UnknownKey,
    /// 403: the session was opened with another user's key.
    #[error("this MCP session belongs to another user's API key")]
    ForeignSession,
    /// 404: no such session (never opened, or ended).
    #[error("no such MCP session (it may have ended)")]
    UnknownSession,
    /// 400: a message without `session_id`.
    #[error("session_id=… is required: use the endpoint the event stream announced")]
    NoSession,
    /// 405: the route does not take this method.
    #[error("method not allowed")]
    Method,
    /// 429: the key's user holds the most open MCP sessions allowed.
    #[error(
        "this API key's user has {limit} open MCP sessions, the most allowed: end one (DELETE /mcp, or close its event stream) and try again"
    )]
    TooManySessions {
        /// The cap.
        limit: usize,
    },
    /// 500: a dependency failed; the cause is logged where it happened, never sent.
    #[error("internal error")]
    Internal,
}

impl Refusal {
    const fn code(self) -> &'static str {
        match self {
            Self::Host => "host_not_allowed",
            Self::Origin => "origin_not_allowed",
            Self::NoKey | Self::UnknownKey => "unauthorized",
            Self::ForeignSession => "session_of_another_user",
            Self::UnknownSession => "session_not_found",
            Self::NoSession => "session_id_required",
            Self::Method => "method_not_allowed",
            Self::TooManySessions { .. } => "too_many_sessions",
            Self::Internal => "internal_error",
        }
    }
}

impl ResponseError for Refusal {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Host | Self::Origin | Self::ForeignSession => StatusCode::FORBIDDEN,
            Self::NoKey | Self::UnknownKey => StatusCode::UNAUTHORIZED,
            Self::UnknownSession => StatusCode::NOT_FOUND,
            Self::NoSession => StatusCode::BAD_REQUEST,
            Self::Method => StatusCode::METHOD_NOT_ALLOWED,
            Self::TooManySessions { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = json_error(self.status_code(), self.code(), &self.to_string());
        if matches!(self, Self::NoKey | Self::UnknownKey) {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"nectr\""),
            );
        }
        response
    }
}

/// A JSON error response.
pub(crate) fn json_error(status: StatusCode, code: &str, detail: &str) -> HttpResponse {
    HttpResponse::build(status).json(serde_json::json!({ "code": code, "detail": detail }))
}

/// The stable code of an error status that rmcp answered with a plain-text body.
pub(crate) fn code_for(status: StatusCode) -> &'static str {
    match status {
        StatusCode::BAD_REQUEST => "bad_request",
        StatusCode::FORBIDDEN => "forbidden",
        StatusCode::NOT_FOUND => "session_not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::NOT_ACCEPTABLE => "not_acceptable",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        status if status.is_server_error() => "internal_error",
        _ => "error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_key_is_told_to_use_a_bearer_key() {
        let response = Refusal::NoKey.error_response();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let challenge = response.headers().get(header::WWW_AUTHENTICATE);
        assert!(challenge.is_some_and(|value| value.as_bytes().starts_with(b"Bearer")));
        assert_eq!(Refusal::Host.status_code(), StatusCode::FORBIDDEN);
        assert!(Refusal::Host.error_response().headers().get(header::WWW_AUTHENTICATE).is_none());
        assert_eq!(code_for(StatusCode::NOT_ACCEPTABLE), "not_acceptable");
    }
}
