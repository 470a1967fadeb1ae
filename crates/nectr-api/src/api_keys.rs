//! Personal API keys over HTTP: `GET /api/v1/api-keys` (the signed-in user's keys, never their
//! secrets), `POST /api/v1/api-keys` (`{"name": "..."}`; answers 201 with the secret in `key`,
//! the only time it is shown) and `DELETE /api/v1/api-keys/{id}` (204; 404 `not_found` for a key
//! that is not the user's).
//!
//! Keys are managed with a session (the cookie or a session JWT), never with an API key: a key
//! that leaked cannot mint others that outlive its revocation (403 `session_required`).

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use nectr_domain::api_keys::{ApiKey, ApiKeyError, CreatedApiKey};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::{Credential, CurrentUser};
use crate::error::method_not_allowed;
use crate::openapi::ErrorDoc;
use crate::{ApiError, ApiState};

pub(crate) fn routes(config: &mut web::ServiceConfig) {
    config.service(
        web::resource("/api/v1/api-keys")
            .route(web::get().to(list))
            .route(web::post().to(create))
            .default_service(web::to(method_not_allowed)),
    );
    config.service(
        web::resource("/api/v1/api-keys/{id}")
            .route(web::delete().to(revoke))
            .default_service(web::to(method_not_allowed)),
    );
}

/// A new key's request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewApiKeyBody {
    /// What the key is for: 1 to 100 characters, trimmed.
    name: String,
}

/// One API key, without its secret.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ApiKeyBody {
    /// Its id, for `DELETE /api/v1/api-keys/{id}`.
    id: i64,
    /// The name its owner gave it.
    name: String,
    /// The first characters of its secret (`nectr_` and six more), to tell keys apart.
    hint: String,
    /// When it was created.
    created_at: DateTime<Utc>,
    /// When a request last presented it (to the minute), or null if never.
    last_used_at: Option<DateTime<Utc>>,
}

impl From<ApiKey> for ApiKeyBody {
    fn from(key: ApiKey) -> Self {
        Self {
            id: key.id,
            name: key.name,
            hint: key.hint,
            created_at: key.created_at,
            last_used_at: key.last_used_at,
        }
    }
}

/// A key just created, with its secret: shown this once, stored only as a hash.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CreatedApiKeyBody {
    #[serde(flatten)]
    api_key: ApiKeyBody,
    /// The secret, for `Authorization: Bearer`. Nectr cannot show it again.
    key: String,
}

impl From<CreatedApiKey> for CreatedApiKeyBody {
    fn from(created: CreatedApiKey) -> Self {
        Self { key: created.secret.expose_secret().to_owned(), api_key: created.key.into() }
    }
}

fn store_error(error: ApiKeyError) -> ApiError {
    match error {
        ApiKeyError::InvalidName => {
            ApiError::BadRequest { code: "invalid_name", detail: error.to_string() }
        }
        ApiKeyError::Unexpected(error) => ApiError::Internal(error),
    }
}

/// Refuses a request authenticated by an API key.
fn require_session(current: &CurrentUser) -> Result<(), ApiError> {
    match current.credential {
        Credential::ApiKey(_) => Err(ApiError::Client {
            status: StatusCode::FORBIDDEN,
            code: "session_required",
            detail: "API keys are managed from a signed-in session, not with an API key".to_owned(),
        }),
        Credential::Cookie | Credential::Bearer => Ok(()),
    }
}

/// The signed-in user's API keys, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/api-keys",
    tag = "api-keys",
    responses(
        (status = 200, description = "The keys, without their secrets", body = [ApiKeyBody]),
        (status = 401, description = "Not signed in", body = ErrorDoc),
        (status = 403, description = "Called with an API key instead of a session", body = ErrorDoc),
    ),
    security(("session_cookie" = []), ("bearer" = []))
)]
pub(crate) async fn list(
    state: web::Data<ApiState>,
    current: CurrentUser,
) -> Result<HttpResponse, ApiError> {
    require_session(&current)?;
    let keys = state.auth.api_keys.list(current.id).await.map_err(store_error)?;
    let bodies: Vec<ApiKeyBody> = keys.into_iter().map(ApiKeyBody::from).collect();
    Ok(HttpResponse::Ok().json(bodies))
}

/// Creates a key for the signed-in user and shows its secret, once.
#[utoipa::path(
    post,
    path = "/api/v1/api-keys",
    tag = "api-keys",
    request_body = NewApiKeyBody,
    responses(
        (status = 201, description = "The key, with its secret in `key`", body = CreatedApiKeyBody),
        (status = 400, description = "Not JSON, no name, or a name empty or over 100 characters", body = ErrorDoc),
        (status = 401, description = "Not signed in", body = ErrorDoc),
        (status = 403, description = "Called with an API key, or a cookie from an origin not allowed", body = ErrorDoc),
    ),
    security(("session_cookie" = []), ("bearer" = []))
)]
pub(crate) async fn create(
    state: web::Data<ApiState>,
    current: CurrentUser,
    body: web::Json<NewApiKeyBody>,
) -> Result<HttpResponse, ApiError> {
    require_session(&current)?;
    let created = state.auth.api_keys.create(current.id, &body.name).await.map_err(store_error)?;
    tracing::info!(user_id = current.id.get(), key_id = created.key.id, "API key created");
    Ok(HttpResponse::Created()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(CreatedApiKeyBody::from(created)))
}

/// Revokes one of the signed-in user's keys: the next request with it is refused.
#[utoipa::path(
    delete,
    path = "/api/v1/api-keys/{id}",
    tag = "api-keys",
    params(("id" = i64, Path, description = "The key's id")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 400, description = "The id is not a number", body = ErrorDoc),
        (status = 401, description = "Not signed in", body = ErrorDoc),
        (status = 403, description = "Called with an API key, or a cookie from an origin not allowed", body = ErrorDoc),
        (status = 404, description = "No such key of this user's", body = ErrorDoc),
    ),
    security(("session_cookie" = []), ("bearer" = []))
)]
pub(crate) async fn revoke(
    state: web::Data<ApiState>,
    current: CurrentUser,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    require_session(&current)?;
    let id = id.into_inner();
    match state.auth.api_keys.revoke(current.id, id).await.map_err(store_error)? {
        true => {
            tracing::info!(user_id = current.id.get(), key_id = id, "API key revoked");
            Ok(HttpResponse::NoContent().finish())
        }
        false => Err(ApiError::NotFound(format!("API key {id} not found"))),
    }
}
