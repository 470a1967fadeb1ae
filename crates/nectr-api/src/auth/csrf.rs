//! Cross-site request forgery: a state-changing request (anything but `GET`, `HEAD` and
//! `OPTIONS`) that carries the session cookie and no bearer token passes only when its `Origin`
//! (or, without one, its `Referer`) is an allowed origin, the same list CORS answers. A browser
//! adds the cookie to a forged cross-site request, but it cannot forge `Origin`.

use actix_web::Error;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Method, StatusCode, header};
use actix_web::middleware::Next;
use actix_web::web;

use super::{Credential, presented_token};
use crate::ApiState;
use crate::error::error_response;

/// The origin (`scheme://host[:port]`) of a URL, without path or trailing slash.
fn origin_of(url: &str) -> Option<&str> {
    let (scheme, rest) = url.split_once("://")?;
    let host_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    (!scheme.is_empty() && host_end > 0).then(|| &url[..scheme.len() + 3 + host_end])
}

/// Whether the request's `Origin`, else `Referer`, is one of `allowed`.
pub fn origin_allowed(origin: Option<&str>, referer: Option<&str>, allowed: &[String]) -> bool {
    let claimed = match origin {
        Some(origin) => origin_of(origin),
        None => referer.and_then(origin_of),
    };
    claimed.is_some_and(|claimed| {
        allowed.iter().any(|allowed| allowed.trim_end_matches('/').eq_ignore_ascii_case(claimed))
    })
}

fn is_state_changing(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Refuses cookie-authenticated state-changing requests from origins not allowed, with 403
/// `{"code": "cross_origin_request"}`.
pub(crate) async fn check_origin(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    let by_cookie = is_state_changing(request.method())
        && matches!(presented_token(request.request()), Some((_, Credential::Cookie)));
    if by_cookie {
        let header_text = |name| {
            request.headers().get(name).and_then(|value: &header::HeaderValue| value.to_str().ok())
        };
        let allowed = request.app_data::<web::Data<ApiState>>().is_some_and(|state| {
            origin_allowed(
                header_text(header::ORIGIN),
                header_text(header::REFERER),
                &state.config.cors_origins,
            )
        });
        if !allowed {
            let response = error_response(
                StatusCode::FORBIDDEN,
                "cross_origin_request",
                "this request carries a session cookie but does not come from an allowed origin",
            );
            return Ok(request.into_response(response).map_into_right_body());
        }
    }
    Ok(next.call(request).await?.map_into_left_body())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed() -> Vec<String> {
        vec!["http://localhost:3000".to_owned(), "https://app.example.com/".to_owned()]
    }

    #[test]
    fn an_allowed_origin_passes_and_others_do_not() {
        assert!(origin_allowed(Some("http://localhost:3000"), None, &allowed()));
        assert!(origin_allowed(Some("https://app.example.com"), None, &allowed()));
        assert!(!origin_allowed(Some("https://evil.example"), None, &allowed()));
        assert!(!origin_allowed(Some("http://localhost:3000.evil.example"), None, &allowed()));
        assert!(!origin_allowed(Some("null"), Some("http://localhost:3000/x"), &allowed()));
        assert!(!origin_allowed(None, None, &allowed()));
    }

    #[test]
    fn the_referer_counts_only_without_an_origin() {
        assert!(origin_allowed(None, Some("http://localhost:3000/dashboard?x=1"), &allowed()));
        assert!(!origin_allowed(
            None,
            Some("https://evil.example/http://localhost:3000"),
            &allowed()
        ));
    }
}
