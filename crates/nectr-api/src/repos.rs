//! Repositories: `GET /api/v1/repos` (the user's GitHub repositories, each with whether they
//! connected it), `POST` and `DELETE /api/v1/repos/{owner}/{repo}/install` (connect and
//! disconnect). The JSON shapes are the original service's.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use chrono::{DateTime, SecondsFormat, Utc};
use nectr_domain::code_host::{CodeHostError, Identity};
use nectr_domain::connections::{ConnectionError, RepositoryListing, WebhookOutcome};
use nectr_domain::{RepoFullName, WebhookSecret};
use serde::Serialize;

use crate::error::{ApiError, method_not_allowed};
use crate::{ApiState, CurrentUser, get_only, random_token};

pub(crate) fn routes(config: &mut web::ServiceConfig) {
    config.service(get_only("/api/v1/repos", list)).service(
        web::resource("/api/v1/repos/{owner}/{repo}/install")
            .route(web::post().to(install))
            .route(web::delete().to(uninstall))
            .default_service(web::to(method_not_allowed)),
    );
}

/// One entry of `GET /api/v1/repos`. `installation_id` is Nectr's installation (row) id, as in
/// the original.
#[derive(Serialize)]
struct RepoBody<'a> {
    id: i64,
    name: &'a str,
    full_name: &'a str,
    description: Option<&'a str>,
    private: bool,
    html_url: &'a str,
    updated_at: Option<String>,
    is_connected: bool,
    installation_id: Option<i64>,
}

fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

impl<'a> From<&'a RepositoryListing> for RepoBody<'a> {
    fn from(listing: &'a RepositoryListing) -> Self {
        let repository = &listing.repository;
        let name = repository
            .full_name
            .split_once('/')
            .map_or(repository.full_name.as_str(), |(_, name)| name);
        Self {
            id: repository.id,
            name,
            full_name: &repository.full_name,
            description: repository.description.as_deref(),
            private: repository.private,
            html_url: &repository.html_url,
            updated_at: repository.updated_at.map(timestamp),
            is_connected: listing.installation.is_some(),
            installation_id: listing.installation.map(|id| id.get()),
        }
    }
}

fn client(status: StatusCode, code: &'static str, detail: String) -> ApiError {
    ApiError::Client { status, code, detail }
}

/// Connection errors as API errors with stable codes.
fn connection_error(error: ConnectionError) -> ApiError {
    match error {
        ConnectionError::AlreadyConnected(repo) => client(
            StatusCode::CONFLICT,
            "repo_already_connected",
            format!("Repo {repo} is already connected"),
        ),
        ConnectionError::NotConnected(repo) => client(
            StatusCode::NOT_FOUND,
            "repo_not_connected",
            format!("Repo {repo} is not connected"),
        ),
        ConnectionError::RepositoryNotFound(repo) => client(
            StatusCode::NOT_FOUND,
            "repo_not_found",
            format!("GitHub shows you no repository {repo}"),
        ),
        ConnectionError::NotAdmin(repo) => client(
            StatusCode::FORBIDDEN,
            "repo_admin_required",
            format!("Connecting {repo} creates a webhook, which needs admin rights on it"),
        ),
        ConnectionError::TokenRefused => client(
            StatusCode::UNAUTHORIZED,
            "github_token_refused",
            "GitHub refused your token — please log out and sign in again".to_owned(),
        ),
        ConnectionError::CodeHost(error) => code_host_error(error),
        ConnectionError::Unexpected(error) => ApiError::Internal(error),
    }
}

fn code_host_error(error: CodeHostError) -> ApiError {
    match error {
        CodeHostError::RateLimited { .. } => {
            client(StatusCode::TOO_MANY_REQUESTS, "github_rate_limited", error.to_string())
        }
        CodeHostError::ValidationFailed(_) => {
            client(StatusCode::UNPROCESSABLE_ENTITY, "github_rejected", error.to_string())
        }
        CodeHostError::Unavailable(_) => {
            client(StatusCode::BAD_GATEWAY, "github_unavailable", error.to_string())
        }
        other => ApiError::Internal(anyhow::Error::new(other)),
    }
}

fn repo_name(path: &(String, String)) -> Result<RepoFullName, ApiError> {
    RepoFullName::parse(&format!("{}/{}", path.0, path.1)).map_err(|error| ApiError::BadRequest {
        code: "invalid_repository",
        detail: error.to_string(),
    })
}

async fn list(state: web::Data<ApiState>, current: CurrentUser) -> Result<HttpResponse, ApiError> {
    let listings = state.connections.list(&current.user).await.map_err(connection_error)?;
    let bodies: Vec<RepoBody<'_>> = listings.iter().map(RepoBody::from).collect();
    Ok(HttpResponse::Ok().json(bodies))
}

async fn install(
    state: web::Data<ApiState>,
    current: CurrentUser,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let repo = repo_name(&path)?;
    let installation = state
        .connections
        .connect(&current.user, &repo, WebhookSecret::new(random_token()))
        .await
        .map_err(connection_error)?;
    tracing::info!(user_id = current.id.get(), repo = %installation.repo, "repository connected");
    // A connect starts the repository's first scan into the code graph.
    let who = Identity::Token(current.user.github_access_token.clone());
    state.graph.scans.request(&installation.repo, who);
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "status": "connected",
        "installation_id": installation.id.get(),
        "repo": installation.repo.as_str(),
    })))
}

async fn uninstall(
    state: web::Data<ApiState>,
    current: CurrentUser,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let repo = repo_name(&path)?;
    let outcome =
        state.connections.disconnect(&current.user, &repo).await.map_err(connection_error)?;
    if let WebhookOutcome::Failed(reason) = &outcome {
        tracing::warn!(repo = %repo, reason = %reason, "the webhook could not be deleted on GitHub");
    }
    tracing::info!(user_id = current.id.get(), repo = %repo, "repository disconnected");
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "status": "disconnected",
        "repo": repo.as_str(),
        "webhook_removed": matches!(outcome, WebhookOutcome::Removed),
    })))
}
