//! Authentication: sessions ([`session`]), the [`CurrentUser`] extractor every protected route
//! takes (a session, or a personal API key as a bearer token), the Origin check against
//! cross-site requests ([`csrf`]), and the GitHub sign-in routes (`oauth`).

pub mod csrf;
pub(crate) mod oauth;
pub mod session;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use chrono::Utc;
use nectr_domain::api_keys::{ApiKeyStore, KEY_PREFIX};
use nectr_domain::sign_in::SignIn;
use nectr_domain::{User, UserId, UserRepository, UserRepositoryError};

use crate::ApiState;
use crate::error::ApiError;
use session::{SESSION_COOKIE, SessionConfig, cookie_value};

pub(crate) use oauth::routes;

/// Where GitHub's OAuth flow starts and returns, and where users land afterwards.
#[derive(Clone, Debug)]
pub struct OAuthConfig {
    /// `GITHUB_CLIENT_ID`; sign-in answers 503 without it.
    pub client_id: Option<String>,
    /// GitHub's authorize page, `{GITHUB_WEB_URL}/login/oauth/authorize`.
    pub authorize_url: String,
    /// `{BACKEND_URL}/auth/github/callback`.
    pub redirect_uri: String,
    /// The scopes asked for.
    pub scopes: Vec<String>,
    /// `FRONTEND_URL`: sign-in lands on `{FRONTEND_URL}/dashboard`, failures on
    /// `{FRONTEND_URL}/?error=<reason>`.
    pub frontend_url: String,
}

/// Sessions, sign-in and the user store, as the handlers need them.
#[derive(Clone)]
pub struct AuthState {
    /// How sessions are signed and kept.
    pub sessions: SessionConfig,
    /// The OAuth flow's addresses.
    pub oauth: OAuthConfig,
    /// The sign-in use case.
    pub sign_in: SignIn,
    /// The users.
    pub users: Arc<dyn UserRepository>,
    /// Personal API keys, which authenticate as their user.
    pub api_keys: Arc<dyn ApiKeyStore>,
}

/// How a request proved who it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Credential {
    /// The `access_token` cookie (a browser): state-changing requests need an allowed Origin.
    Cookie,
    /// `Authorization: Bearer` with a session JWT (an API client): not sent by browsers on
    /// their own, so exempt from the Origin check.
    Bearer,
    /// `Authorization: Bearer nectr_…`, the personal API key with this id: exempt from the
    /// Origin check like any bearer token.
    ApiKey(i64),
}

/// The signed-in user of a request: the `access_token` cookie or `Authorization: Bearer` with
/// the same JWT, valid, unexpired, of an existing user and of their current session version,
/// and not revoked by a logout; or `Authorization: Bearer` with a personal API key that is not
/// revoked, as the key's user. Anything else answers 401 `{"code": "unauthenticated", ...}`.
#[derive(Clone, Debug)]
pub struct CurrentUser {
    /// The user's id.
    pub id: UserId,
    /// Their GitHub login.
    pub github_username: String,
    /// The whole stored user (with their decrypted GitHub token: never log it).
    pub user: User,
    /// How the request authenticated.
    pub credential: Credential,
    /// The session's claims, when it authenticated by a session token (not by an API key).
    pub session: Option<session::Claims>,
}

/// The session token a request carries, and how: a bearer header wins over the cookie.
pub(crate) fn presented_token(request: &HttpRequest) -> Option<(String, Credential)> {
    let bearer = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer ")))
        .map(str::trim)
        .filter(|token| !token.is_empty());
    match bearer {
        Some(token) => Some((token.to_owned(), Credential::Bearer)),
        None => session_cookie(request).map(|token| (token, Credential::Cookie)),
    }
}

/// The `access_token` cookie's value, when the request has one.
pub(crate) fn session_cookie(request: &HttpRequest) -> Option<String> {
    request
        .headers()
        .get_all(header::COOKIE)
        .filter_map(|value| value.to_str().ok())
        .find_map(|value| cookie_value(value, SESSION_COOKIE))
        .map(str::to_owned)
}

fn unauthenticated(detail: &str) -> ApiError {
    ApiError::Unauthenticated(detail.to_owned())
}

/// Resolves a presented token to its user: a bearer token with the API key prefix as a key,
/// anything else as a session.
pub(crate) async fn authenticate(
    auth: &AuthState,
    token: &str,
    credential: Credential,
) -> Result<CurrentUser, ApiError> {
    match credential {
        Credential::Bearer if token.starts_with(KEY_PREFIX) => by_api_key(auth, token).await,
        _ => by_session(auth, token, credential).await,
    }
}

/// A session token's user, checking the session version.
async fn by_session(
    auth: &AuthState,
    token: &str,
    credential: Credential,
) -> Result<CurrentUser, ApiError> {
    let claims =
        auth.sessions.verify(token).map_err(|_| unauthenticated("Invalid or expired session"))?;
    let id = claims.user_id().ok_or_else(|| unauthenticated("Invalid or expired session"))?;
    let user = existing_user(auth, id, "Invalid or expired session").await?;
    if user.session_version != claims.ver || session_ended(auth, &claims).await? {
        return Err(unauthenticated("This session has ended; sign in again"));
    }
    Ok(CurrentUser { session: Some(claims), ..current_user(user, credential) })
}

/// Whether a logout revoked this very session (a token without a session id never is).
async fn session_ended(auth: &AuthState, claims: &session::Claims) -> Result<bool, ApiError> {
    match &claims.sid {
        Some(session_id) => auth
            .sign_in
            .session_ended(session_id)
            .await
            .map_err(|error| ApiError::Internal(error.into())),
        None => Ok(false),
    }
}

/// An API key's user; an unknown or revoked key is refused.
async fn by_api_key(auth: &AuthState, secret: &str) -> Result<CurrentUser, ApiError> {
    let key = auth
        .api_keys
        .authenticate(secret, Utc::now())
        .await
        .map_err(|error| ApiError::Internal(error.into()))?
        .ok_or_else(|| unauthenticated("Invalid or revoked API key"))?;
    let user = existing_user(auth, key.user_id, "Invalid or revoked API key").await?;
    Ok(current_user(user, Credential::ApiKey(key.id)))
}

/// The stored user `id`; `refusal` when there is none.
async fn existing_user(auth: &AuthState, id: UserId, refusal: &str) -> Result<User, ApiError> {
    match auth.users.find_by_id(id).await {
        Ok(Some(user)) => Ok(user),
        Ok(None) => Err(unauthenticated(refusal)),
        Err(UserRepositoryError::Undecryptable(_)) => Err(ApiError::Client {
            status: actix_web::http::StatusCode::UNAUTHORIZED,
            code: "session_expired",
            detail: "Session expired — please log out and sign in again".to_owned(),
        }),
        Err(UserRepositoryError::Unexpected(error)) => Err(ApiError::Internal(error)),
    }
}

fn current_user(user: User, credential: Credential) -> CurrentUser {
    CurrentUser {
        id: user.id,
        github_username: user.github_username.clone(),
        user,
        credential,
        session: None,
    }
}

impl FromRequest for CurrentUser {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(request: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let state = request.app_data::<web::Data<ApiState>>().cloned();
        let presented = presented_token(request);
        Box::pin(async move {
            let state = state.ok_or_else(|| {
                ApiError::Internal(anyhow::anyhow!("the API state is not registered"))
            })?;
            let (token, credential) =
                presented.ok_or_else(|| unauthenticated("Not authenticated"))?;
            authenticate(&state.auth, &token, credential).await
        })
    }
}
