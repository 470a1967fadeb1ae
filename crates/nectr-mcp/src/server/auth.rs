//! Authentication: every MCP request presents a personal API key as `Authorization: Bearer`,
//! and acts with the rights of the key's user. The authenticated [`Caller`] travels with each
//! JSON-RPC message (in the HTTP request parts rmcp hands to the handler), so a tool always
//! answers for the user of the request it serves.

use actix_web::http::header::{self, HeaderMap};
use chrono::Utc;
use nectr_domain::UserId;
use nectr_domain::api_keys::ApiKeyStore;
use rmcp::ErrorData;
use rmcp::model::Extensions;

use super::http_error::Refusal;

/// Who sent a request: the user of the API key it presented.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Caller {
    /// The key's user; everything is scoped to their connected repositories.
    pub(crate) user: UserId,
    /// The key's id.
    pub(crate) key: i64,
}

impl Caller {
    /// The caller of the message whose extensions these are.
    ///
    /// # Errors
    /// An internal error when the message did not come through an authenticated route.
    pub(crate) fn of(extensions: &Extensions) -> Result<Self, ErrorData> {
        extensions
            .get::<http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<Self>())
            .copied()
            .ok_or_else(|| {
                ErrorData::internal_error("the request has no authenticated caller", None)
            })
    }
}

/// The token of an `Authorization: Bearer <token>` header (scheme in any case).
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The caller whose API key the request presents.
///
/// # Errors
/// [`Refusal::NoKey`] or [`Refusal::UnknownKey`] (401); [`Refusal::Internal`] when the key
/// store fails.
pub(crate) async fn authenticate(
    keys: &dyn ApiKeyStore,
    headers: &HeaderMap,
) -> Result<Caller, Refusal> {
    let secret = bearer(headers).ok_or(Refusal::NoKey)?;
    match keys.authenticate(secret, Utc::now()).await {
        Ok(Some(key)) => Ok(Caller { user: key.user_id, key: key.id }),
        Ok(None) => Err(Refusal::UnknownKey),
        Err(error) => {
            tracing::error!(error = %error, "the API key store failed");
            Err(Refusal::Internal)
        }
    }
}

#[cfg(test)]
mod tests {
    use actix_web::http::header::HeaderValue;

    use super::*;

    fn with_authorization(value: &'static str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static(value));
        headers
    }

    #[test]
    fn only_a_bearer_token_is_a_key() {
        assert_eq!(bearer(&with_authorization("Bearer nectr_abc")), Some("nectr_abc"));
        assert_eq!(bearer(&with_authorization("bearer  nectr_abc ")), Some("nectr_abc"));
        assert_eq!(bearer(&with_authorization("Basic bmVjdHI6eA==")), None);
        assert_eq!(bearer(&with_authorization("Bearer ")), None);
        assert_eq!(bearer(&HeaderMap::new()), None);
    }

    #[test]
    fn a_message_without_parts_has_no_caller() {
        let mut extensions = Extensions::new();
        assert!(Caller::of(&extensions).is_err());
        let (mut parts, ()) = http::Request::new(()).into_parts();
        let caller = Caller { user: UserId::new(7), key: 3 };
        parts.extensions.insert(caller);
        extensions.insert(parts);
        assert_eq!(Caller::of(&extensions).ok(), Some(caller));
    }
}
