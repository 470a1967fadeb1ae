//! Project memory over HTTP, in the dashboard's shapes: `GET/POST /api/v1/memory`,
//! `GET /api/v1/memory/stats`, `GET /api/v1/memory/project-map`, `POST /api/v1/memory/rescan`,
//! `PATCH`/`DELETE /api/v1/memory/{id}`, and the team view `GET /api/v1/analytics/contributors`.
//! Every call names a repository (`?repo=owner/name`) the user has connected, else 404
//! `repo_not_connected`; a memory of another repository is 404 `memory_not_found`, so nothing
//! crosses repositories or users.

use std::collections::BTreeMap;
use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use nectr_domain::RepoFullName;
use nectr_domain::code_host::Identity;
use nectr_domain::memory::contributors::{self, ContributorActivity, ContributorsError};
use nectr_domain::memory::project_map::{MapSummary, ProjectScanner, ScanError};
use nectr_domain::memory::{
    MAX_PAGE, Memory, MemoryFilter, MemoryId, MemoryScope, MemoryStore, MemoryStoreError,
    MemoryType, NewMemory, Provenance,
};
use nectr_domain::tenancy::TenancyError;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::auth::CurrentUser;
use crate::{ApiError, ApiState};

/// What the memory routes need.
#[derive(Clone)]
pub struct MemoryState {
    /// Mem0 or the embedded store.
    pub store: Arc<dyn MemoryStore>,
    /// Builds project maps from the default branch.
    pub scanner: ProjectScanner,
    /// Reviewed pull requests per author.
    pub activity: Arc<dyn ContributorActivity>,
}

pub(crate) fn routes(config: &mut web::ServiceConfig) {
    config.service(
        web::resource("/api/v1/memory")
            .route(web::get().to(list))
            .route(web::post().to(add))
            .default_service(web::to(crate::error::method_not_allowed)),
    );
    config.service(crate::get_only("/api/v1/memory/stats", stats));
    config.service(crate::get_only("/api/v1/memory/project-map", project_map));
    config.service(
        web::resource("/api/v1/memory/rescan")
            .route(web::post().to(rescan))
            .default_service(web::to(crate::error::method_not_allowed)),
    );
    config.service(
        web::resource("/api/v1/memory/{id}")
            .route(web::patch().to(edit))
            .route(web::delete().to(delete))
            .default_service(web::to(crate::error::method_not_allowed)),
    );
    config.service(crate::get_only("/api/v1/analytics/contributors", team));
}

/// `?repo=` and, for lists, `memory_type`, `page` (from 1) and `per_page` (1 to 200).
#[derive(Debug, Deserialize)]
struct RepoQuery {
    repo: Option<String>,
    memory_type: Option<String>,
    page: Option<u32>,
    per_page: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AddBody {
    repo: String,
    content: String,
    #[serde(default = "default_type")]
    memory_type: String,
}

fn default_type() -> String {
    MemoryType::ProjectRule.as_str().to_owned()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EditBody {
    content: String,
}

#[derive(Serialize)]
struct MetadataBody {
    memory_type: &'static str,
    source_kind: &'static str,
    source_pr: Option<u64>,
    source_user_id: Option<i64>,
    username: Option<String>,
    hits: u64,
    last_hit_at: Option<String>,
}

/// A memory as the dashboard reads it (`memory` and `content` carry the same text).
#[derive(Serialize)]
struct MemoryBody {
    id: String,
    memory: String,
    content: String,
    user_id: String,
    metadata: MetadataBody,
    created_at: String,
    updated_at: String,
}

impl From<Memory> for MemoryBody {
    fn from(memory: Memory) -> Self {
        let (source_kind, source_pr, source_user_id) = match memory.provenance {
            Provenance::PullRequest { number } => ("pull_request", Some(number), None),
            Provenance::User { id } => ("user", None, Some(id.get())),
            Provenance::Scan => ("scan", None, None),
        };
        let username = match &memory.scope {
            MemoryScope::Project => None,
            MemoryScope::Developer(login) => Some(login.clone()),
        };
        Self {
            id: memory.id.to_string(),
            memory: memory.content.clone(),
            content: memory.content,
            user_id: memory.scope.user_id().to_owned(),
            metadata: MetadataBody {
                memory_type: memory.memory_type.as_str(),
                source_kind,
                source_pr,
                source_user_id,
                username,
                hits: memory.hits,
                last_hit_at: memory.last_hit_at.map(|at| at.to_rfc3339()),
            },
            created_at: memory.created_at.to_rfc3339(),
            updated_at: memory.updated_at.to_rfc3339(),
        }
    }
}

fn invalid_query(detail: String) -> ApiError {
    ApiError::BadRequest { code: "invalid_query", detail }
}

fn memory_not_found(id: &str) -> ApiError {
    ApiError::Client {
        status: StatusCode::NOT_FOUND,
        code: "memory_not_found",
        detail: format!("Memory {id} not found in this repository"),
    }
}

fn store_error(error: MemoryStoreError) -> ApiError {
    match error {
        MemoryStoreError::InvalidContent(detail) => {
            ApiError::BadRequest { code: "invalid_memory", detail }
        }
        MemoryStoreError::Unavailable(detail) => ApiError::Client {
            status: StatusCode::SERVICE_UNAVAILABLE,
            code: "memory_unavailable",
            detail,
        },
        MemoryStoreError::Unexpected(error) => ApiError::Internal(error),
    }
}

/// The repository named by `text`, when the user has connected it.
async fn connected(
    state: &ApiState,
    current: &CurrentUser,
    text: Option<&str>,
) -> Result<RepoFullName, ApiError> {
    let text = text.map(str::trim).filter(|text| !text.is_empty());
    let Some(text) = text else {
        return Err(invalid_query("repo=owner/name is required".to_owned()));
    };
    let repo = RepoFullName::parse(text).map_err(|error| ApiError::BadRequest {
        code: "invalid_repository",
        detail: error.to_string(),
    })?;
    match state.tenancy.require_connected(current.id, &repo).await {
        Ok(installation) => Ok(installation.repo),
        Err(TenancyError::NotConnected(_)) => Err(ApiError::Client {
            status: StatusCode::NOT_FOUND,
            code: "repo_not_connected",
            detail: format!("Repo {repo} is not connected"),
        }),
        Err(TenancyError::Unexpected(error)) => Err(ApiError::Internal(error)),
    }
}

fn memory_type(text: &str) -> Result<MemoryType, ApiError> {
    text.parse::<MemoryType>().map_err(|error| ApiError::BadRequest {
        code: "invalid_memory_type",
        detail: error.to_string(),
    })
}

fn page(query: &RepoQuery) -> Result<(u32, u32), ApiError> {
    match (query.page.unwrap_or(1), query.per_page.unwrap_or(100)) {
        (0, _) => Err(invalid_query("page starts at 1".to_owned())),
        (_, per_page) if !(1..=MAX_PAGE).contains(&per_page) => {
            Err(invalid_query(format!("per_page must be between 1 and {MAX_PAGE}")))
        }
        (page, per_page) => Ok((page, per_page)),
    }
}

fn listing(memories: Vec<Memory>, total: u64) -> HttpResponse {
    let count = memories.len();
    let memories: Vec<MemoryBody> = memories.into_iter().map(MemoryBody::from).collect();
    HttpResponse::Ok().json(json!({ "memories": memories, "count": count, "total": total }))
}

async fn list(
    state: web::Data<ApiState>,
    current: CurrentUser,
    query: web::Query<RepoQuery>,
) -> Result<HttpResponse, ApiError> {
    let repo = connected(&state, &current, query.repo.as_deref()).await?;
    let types = match query.memory_type.as_deref().map(str::trim).filter(|text| !text.is_empty()) {
        Some(text) => vec![memory_type(text)?],
        None => Vec::new(),
    };
    let (page, per_page) = page(&query)?;
    let filter = MemoryFilter {
        types,
        scope: None,
        offset: (page - 1).saturating_mul(per_page),
        limit: per_page,
    };
    let found = state.memory.store.list(&repo, &filter).await.map_err(store_error)?;
    Ok(listing(found.memories, found.total))
}

async fn add(
    state: web::Data<ApiState>,
    current: CurrentUser,
    body: web::Json<AddBody>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let repo = connected(&state, &current, Some(&body.repo)).await?;
    let kind = memory_type(&body.memory_type)?;
    match kind {
        MemoryType::ProjectRule
        | MemoryType::ProjectPattern
        | MemoryType::Decision
        | MemoryType::RiskModule => {}
        other => {
            return Err(ApiError::BadRequest {
                code: "invalid_memory_type",
                detail: format!("{other} memories are written by Nectr, not by hand"),
            });
        }
    }
    let memory = NewMemory {
        repo,
        scope: MemoryScope::Project,
        memory_type: kind,
        content: body.content.trim().to_owned(),
        provenance: Provenance::User { id: current.id },
    };
    let stored = state.memory.store.add(&memory).await.map_err(store_error)?;
    tracing::info!(user_id = current.id.get(), repo = %stored.repo, memory_type = %kind, "memory added");
    let id = stored.id.to_string();
    Ok(HttpResponse::Ok()
        .json(json!({ "id": id, "status": "added", "memory": MemoryBody::from(stored) })))
}

async fn stats(
    state: web::Data<ApiState>,
    current: CurrentUser,
    query: web::Query<RepoQuery>,
) -> Result<HttpResponse, ApiError> {
    let repo = connected(&state, &current, query.repo.as_deref()).await?;
    let counts = state.memory.store.count_by_type(&repo).await.map_err(store_error)?;
    let by_type: BTreeMap<&str, u64> =
        counts.iter().map(|(kind, count)| (kind.as_str(), *count)).collect();
    let total: u64 = counts.values().sum();
    Ok(HttpResponse::Ok()
        .json(json!({ "repo": repo.as_str(), "total": total, "by_type": by_type })))
}

async fn project_map(
    state: web::Data<ApiState>,
    current: CurrentUser,
    query: web::Query<RepoQuery>,
) -> Result<HttpResponse, ApiError> {
    let repo = connected(&state, &current, query.repo.as_deref()).await?;
    let filter = MemoryFilter {
        types: vec![MemoryType::ProjectMap],
        scope: None,
        offset: 0,
        limit: MAX_PAGE,
    };
    let mut found = state.memory.store.list(&repo, &filter).await.map_err(store_error)?;
    found
        .memories
        .sort_by(|left, right| (left.created_at, &left.id).cmp(&(right.created_at, &right.id)));
    Ok(listing(found.memories, found.total))
}

async fn rescan(
    state: web::Data<ApiState>,
    current: CurrentUser,
    query: web::Query<RepoQuery>,
) -> Result<HttpResponse, ApiError> {
    let repo = connected(&state, &current, query.repo.as_deref()).await?;
    let who = Identity::Token(current.user.github_access_token.clone());
    let scanned = state.memory.scanner.scan(&who, &repo).await.map_err(|error| match error {
        ScanError::Store(error) => store_error(error),
        ScanError::CodeHost(error) => ApiError::Client {
            status: StatusCode::BAD_GATEWAY,
            code: "github_unavailable",
            detail: format!("GitHub could not be read: {error}"),
        },
    })?;
    if let MapSummary::Failed(error) = &scanned.summary {
        tracing::warn!(repo = %repo, error = %error, "the project map has no summary: the model failed");
    }
    tracing::info!(user_id = current.id.get(), repo = %repo, sections = scanned.sections.len(), "project map rebuilt");
    let titles: Vec<&str> = scanned.sections.iter().map(|section| section.title.as_str()).collect();
    Ok(HttpResponse::Ok().json(json!({
        "status": "rescan_completed",
        "repo": repo.as_str(),
        "sections": titles,
    })))
}

async fn edit(
    state: web::Data<ApiState>,
    current: CurrentUser,
    path: web::Path<String>,
    query: web::Query<RepoQuery>,
    body: web::Json<EditBody>,
) -> Result<HttpResponse, ApiError> {
    let repo = connected(&state, &current, query.repo.as_deref()).await?;
    let id = MemoryId::new(path.into_inner());
    let provenance = Provenance::User { id: current.id };
    let updated = state
        .memory
        .store
        .update(&repo, &id, body.content.trim(), &provenance)
        .await
        .map_err(store_error)?;
    match updated {
        Some(memory) => Ok(HttpResponse::Ok().json(MemoryBody::from(memory))),
        None => Err(memory_not_found(id.as_str())),
    }
}

async fn delete(
    state: web::Data<ApiState>,
    current: CurrentUser,
    path: web::Path<String>,
    query: web::Query<RepoQuery>,
) -> Result<HttpResponse, ApiError> {
    let repo = connected(&state, &current, query.repo.as_deref()).await?;
    let id = MemoryId::new(path.into_inner());
    match state.memory.store.delete(&repo, &id).await.map_err(store_error)? {
        true => Ok(HttpResponse::Ok().json(json!({ "status": "deleted" }))),
        false => Err(memory_not_found(id.as_str())),
    }
}

async fn team(
    state: web::Data<ApiState>,
    current: CurrentUser,
    query: web::Query<RepoQuery>,
) -> Result<HttpResponse, ApiError> {
    let repo = connected(&state, &current, query.repo.as_deref()).await?;
    let (page, per_page) = match (query.page.unwrap_or(1), query.per_page.unwrap_or(20)) {
        (0, _) => return Err(invalid_query("page starts at 1".to_owned())),
        (_, per_page) if !(1..=100).contains(&per_page) => {
            return Err(invalid_query("per_page must be between 1 and 100".to_owned()));
        }
        pair => pair,
    };
    let everyone = contributors::contributors(&state.memory.store, &state.memory.activity, &repo)
        .await
        .map_err(|error| match error {
            ContributorsError::Memory(error) => store_error(error),
            ContributorsError::Activity(error) => ApiError::Internal(anyhow::Error::new(error)),
        })?;
    let total = everyone.len();
    let per = usize::try_from(per_page).unwrap_or(20);
    let skip = usize::try_from(page - 1).unwrap_or(usize::MAX).saturating_mul(per);
    let shown: Vec<serde_json::Value> = everyone
        .into_iter()
        .skip(skip)
        .take(per)
        .map(|person| {
            json!({
                "username": person.username,
                "profile_summary": person.profile_summary,
                "patterns": person.patterns,
                "strengths": person.strengths,
                "pr_count": person.activity.pull_requests,
                "commit_count": person.activity.commits,
                "last_seen_pr": person.activity.last_pull_request,
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({
        "repo": repo.as_str(),
        "contributor_count": total,
        "page": page,
        "per_page": per_page,
        "total_pages": total.div_ceil(per),
        "contributors": shown,
    })))
}
