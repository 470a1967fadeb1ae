//! GitHub sign-in: `GET /auth/github` (start), `GET /auth/github/callback`, `GET /auth/me`,
//! `POST /auth/logout` (this session; `?everywhere=true`: every session of the user) and
//! `GET /auth/github/reconnect`.
//!
//! The state GitHub hands back is single-use, expires after ten minutes, and must match the
//! short-lived `oauth_state` cookie set when the flow started, so a callback started in another
//! browser (login CSRF) is refused. That cookie is always `SameSite=Lax`, so that browsers send
//! it on GitHub's cross-site redirect back whatever `SameSite` the session cookie has.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, SecondsFormat, Utc};
use nectr_domain::sign_in::{STATE_LIFETIME_MINUTES, SignInError};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::session::{SameSite, SessionConfig, cookie_value};
use super::{AuthState, CurrentUser};
use crate::error::{ApiError, method_not_allowed};
use crate::openapi::ErrorDoc;
use crate::{ApiState, get_only, random_token};

/// The cookie that binds a sign-in's state to the browser that started it.
const STATE_COOKIE: &str = "oauth_state";
/// The state cookie is sent only to the sign-in routes.
const STATE_COOKIE_PATH: &str = "/auth/github";

pub(crate) fn routes(config: &mut web::ServiceConfig) {
    config
        .service(get_only("/auth/github", start))
        .service(get_only("/auth/github/callback", callback))
        .service(get_only("/auth/github/reconnect", reconnect))
        .service(get_only("/auth/me", me))
        .service(
            web::resource("/auth/logout")
                .route(web::post().to(logout))
                .default_service(web::to(method_not_allowed)),
        );
}

/// Percent-encodes a query component (RFC 3986 unreserved characters stay).
fn encode(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(byte).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

fn redirect(location: &str) -> actix_web::HttpResponseBuilder {
    let mut response = HttpResponse::Found();
    response.insert_header((header::LOCATION, location.to_owned()));
    response.insert_header((header::CACHE_CONTROL, "no-store"));
    response
}

/// Where a failed sign-in lands: the frontend's start page with the reason.
fn failure(auth: &AuthState, reason: &str) -> HttpResponse {
    let frontend = auth.oauth.frontend_url.trim_end_matches('/');
    redirect(&format!("{frontend}/?error={}", encode(reason)))
        .insert_header((header::SET_COOKIE, clear_state_cookie(auth)))
        .finish()
}

/// The state cookie's flags: the sessions' (`HttpOnly`, `Secure` as configured), but always
/// `SameSite=Lax`, whatever the session cookie's. GitHub's redirect back to the callback is a
/// cross-site top-level navigation, on which browsers send `Lax` cookies and not `Strict` ones:
/// with `Strict`, every callback would lack its bound state.
fn state_cookie_flags(auth: &AuthState) -> SessionConfig {
    SessionConfig { same_site: SameSite::Lax, ..auth.sessions.clone() }
}

fn state_cookie(auth: &AuthState, state: &str) -> String {
    let lifetime = u64::try_from(STATE_LIFETIME_MINUTES * 60).unwrap_or(600);
    state_cookie_flags(auth).cookie(STATE_COOKIE, state, STATE_COOKIE_PATH, lifetime)
}

fn clear_state_cookie(auth: &AuthState) -> String {
    state_cookie_flags(auth).cookie(STATE_COOKIE, "", STATE_COOKIE_PATH, 0)
}

fn bound_state(request: &HttpRequest) -> Option<String> {
    request
        .headers()
        .get_all(header::COOKIE)
        .filter_map(|value| value.to_str().ok())
        .find_map(|value| cookie_value(value, STATE_COOKIE))
        .map(str::to_owned)
}

/// Stores a fresh state and redirects to GitHub's authorize page with it.
async fn authorize(auth: &AuthState) -> Result<actix_web::HttpResponseBuilder, ApiError> {
    let Some(client_id) = auth.oauth.client_id.as_deref() else {
        return Err(ApiError::Client {
            status: actix_web::http::StatusCode::SERVICE_UNAVAILABLE,
            code: "oauth_not_configured",
            detail:
                "GitHub sign-in is not configured: set GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET"
                    .to_owned(),
        });
    };
    let state = random_token();
    auth.sign_in.start(&state).await.map_err(|error| ApiError::Internal(error.into()))?;
    let location = format!(
        "{}?client_id={}&redirect_uri={}&scope={}&state={}",
        auth.oauth.authorize_url,
        encode(client_id),
        encode(&auth.oauth.redirect_uri),
        encode(&auth.oauth.scopes.join(",")),
        encode(&state),
    );
    let mut response = redirect(&location);
    response.append_header((header::SET_COOKIE, state_cookie(auth, &state)));
    Ok(response)
}

async fn start(state: web::Data<ApiState>) -> Result<HttpResponse, ApiError> {
    Ok(authorize(&state.auth).await?.finish())
}

#[derive(Deserialize)]
struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

async fn callback(
    state: web::Data<ApiState>,
    request: HttpRequest,
    query: web::Query<CallbackQuery>,
) -> HttpResponse {
    let auth = &state.auth;
    let query = query.into_inner();
    let bound = bound_state(&request);
    match (query.error, query.code, query.state) {
        (Some(error), _, returned) => {
            // The user said no (access_denied) or GitHub refused: the state is used up either way.
            if let Some(returned) = returned
                && let Err(failed) = auth.sign_in.abandon(&returned).await
            {
                tracing::warn!(error = %failed, "cannot discard an abandoned OAuth state");
            }
            let reason = if error == "access_denied" { "access_denied" } else { "oauth_error" };
            failure(auth, reason)
        }
        (None, Some(code), Some(returned)) if bound.as_deref() == Some(returned.as_str()) => {
            finish(auth, &code, &returned).await
        }
        (None, Some(_), Some(returned)) => {
            // A state this browser did not start: use it up so it cannot be replayed elsewhere.
            if let Err(failed) = auth.sign_in.abandon(&returned).await {
                tracing::warn!(error = %failed, "cannot discard a foreign OAuth state");
            }
            failure(auth, "state_mismatch")
        }
        (None, _, _) => failure(auth, "invalid_request"),
    }
}

async fn finish(auth: &AuthState, code: &str, returned: &str) -> HttpResponse {
    let user = match auth.sign_in.finish(code, returned).await {
        Ok(user) => user,
        Err(error) => {
            match &error {
                SignInError::Unexpected(cause) => {
                    tracing::error!(error = format!("{cause:#}"), "sign-in failed");
                }
                other => tracing::info!(reason = other.reason(), "sign-in refused"),
            }
            return failure(auth, error.reason());
        }
    };
    let token = match auth.sessions.issue(&user, Utc::now()) {
        Ok(token) => token,
        Err(error) => {
            tracing::error!(error = %error, "cannot sign a session");
            return failure(auth, "sign_in_failed");
        }
    };
    tracing::info!(user_id = user.id.get(), login = %user.github_username, "signed in");
    let frontend = auth.oauth.frontend_url.trim_end_matches('/');
    redirect(&format!("{frontend}/dashboard"))
        .append_header((header::SET_COOKIE, auth.sessions.session_cookie(&token)))
        .append_header((header::SET_COOKIE, clear_state_cookie(auth)))
        .finish()
}

/// `GET /auth/me`'s body, the original's shape.
#[derive(Serialize)]
struct Me<'a> {
    id: i64,
    github_id: i64,
    github_username: &'a str,
    name: Option<&'a str>,
    email: Option<&'a str>,
    avatar_url: Option<&'a str>,
    created_at: String,
}

fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

async fn me(current: CurrentUser) -> HttpResponse {
    let user = &current.user;
    HttpResponse::Ok().json(Me {
        id: user.id.get(),
        github_id: user.github_id,
        github_username: &user.github_username,
        name: user.name.as_deref(),
        email: user.email.as_deref(),
        avatar_url: user.avatar_url.as_deref(),
        created_at: timestamp(user.created_at),
    })
}

/// `POST /auth/logout`'s query.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct LogoutParams {
    /// `true`: end every session of the user ("log out everywhere"), not only this one.
    #[serde(default)]
    everywhere: bool,
}

/// `POST /auth/logout`'s body, the original's shape.
#[derive(Serialize, ToSchema)]
pub(crate) struct LoggedOut {
    /// `Logged out`.
    message: String,
}

/// Ends the presented session on the server (its token is refused from now on; the user's other
/// sessions go on) and deletes the cookie; with `everywhere=true`, ends every session of the
/// user. Without a valid session it only deletes the cookie.
#[utoipa::path(
    post,
    path = "/auth/logout",
    tag = "auth",
    params(LogoutParams),
    responses(
        (status = 200, description = "Logged out; the cookie is deleted", body = LoggedOut),
        (status = 400, description = "`everywhere` is not `true` or `false`", body = ErrorDoc),
        (status = 403, description = "A cookie from an origin not allowed", body = ErrorDoc),
    ),
)]
pub(crate) async fn logout(
    state: web::Data<ApiState>,
    request: HttpRequest,
    params: web::Query<LogoutParams>,
) -> Result<HttpResponse, ApiError> {
    let auth = &state.auth;
    let signed_in = match super::presented_token(&request) {
        Some((token, credential)) => match super::authenticate(auth, &token, credential).await {
            Ok(current) => Some(current),
            Err(ApiError::Internal(error)) => return Err(ApiError::Internal(error)),
            Err(_) => None,
        },
        None => None,
    };
    if let Some(current) = signed_in {
        end_sessions(auth, &current, params.everywhere).await?;
    }
    Ok(HttpResponse::Ok()
        .insert_header((header::SET_COOKIE, auth.sessions.clear_session_cookie()))
        .json(LoggedOut { message: "Logged out".to_owned() }))
}

/// Ends the presented session, or with `everywhere` every session of its user.
async fn end_sessions(
    auth: &AuthState,
    current: &CurrentUser,
    everywhere: bool,
) -> Result<(), ApiError> {
    let ended = match (everywhere, &current.session) {
        (true, _) => auth.sign_in.end_sessions(&current.user).await,
        // A token without a session id (issued before sessions had ids) cannot be revoked
        // alone: `end_session` ends every session of the user for it, as logout did before.
        (false, Some(claims)) => {
            auth.sign_in
                .end_session(&current.user, claims.sid.as_deref(), claims.expires_at())
                .await
        }
        // An API key is no session: a plain logout has none to end (keys are revoked at
        // `/api/v1/api-keys`).
        (false, None) => return Ok(()),
    };
    ended.map_err(|error| ApiError::Internal(error.into()))?;
    tracing::info!(user_id = current.id.get(), everywhere, "signed out");
    Ok(())
}

/// Revokes the user's grant on GitHub (so GitHub asks again, for example for an organisation),
/// deletes the session cookie and starts a new sign-in.
async fn reconnect(
    state: web::Data<ApiState>,
    current: CurrentUser,
) -> Result<HttpResponse, ApiError> {
    let auth = &state.auth;
    if let Err(error) = auth.sign_in.revoke_grant(&current.user).await {
        tracing::warn!(error = %error, "revoking the GitHub grant failed; signing in again anyway");
    }
    let mut response = authorize(auth).await?;
    response.append_header((header::SET_COOKIE, auth.sessions.clear_session_cookie()));
    Ok(response.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_query_components() {
        assert_eq!(encode("http://x:1/a b"), "http%3A%2F%2Fx%3A1%2Fa%20b");
        assert_eq!(encode("repo,read:user"), "repo%2Cread%3Auser");
        assert_eq!(encode("a-Z_0.~"), "a-Z_0.~");
    }
}
