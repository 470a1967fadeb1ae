//! The repository knowledge graph over HTTP, in the original dashboard's shapes:
//! `GET /api/v1/repos/{owner}/{repo}/files` (the indexed files), `…/graph` (nodes and links for
//! the force graph), `POST …/rescan` (starts a scan in the background; `GET …/rescan` polls it;
//! both carry `files_indexed`, the last completed scan's count) and
//! `GET /api/v1/analytics/graph?repo=owner/name` (languages, hotspots, high-risk and untouched
//! files, ownership, expertise, contributors). A repository the user has not connected is 404.

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use nectr_domain::RepoFullName;
use nectr_domain::code_host::{CodeHost, ContributorStats, Identity};
use nectr_domain::graph::{
    CodeGraph, Expertise, FileActivity, GraphError, IndexedFile, Ownership, RepositoryGraph,
    ScanProgress, ScanScheduler, UntouchedFiles,
};
use nectr_domain::tenancy::TenancyError;
use serde::{Deserialize, Serialize};

use crate::error::{ApiError, method_not_allowed};
use crate::{ApiState, CurrentUser, get_only};

/// Nodes the repository graph returns at most.
const NODE_LIMIT: u32 = 700;
/// Links it returns at most.
const LINK_LIMIT: u32 = 2000;

/// What the graph routes need.
#[derive(Clone)]
pub struct GraphState {
    /// The code graph.
    pub graph: Arc<dyn CodeGraph>,
    /// Background scans.
    pub scans: Arc<dyn ScanScheduler>,
    /// GitHub, for languages and contributor statistics (as the signed-in user).
    pub host: Arc<dyn CodeHost>,
}

pub(crate) fn routes(config: &mut web::ServiceConfig) {
    config
        .service(get_only("/api/v1/repos/{owner}/{repo}/files", files))
        .service(get_only("/api/v1/repos/{owner}/{repo}/graph", graph))
        .service(
            web::resource("/api/v1/repos/{owner}/{repo}/rescan")
                .route(web::post().to(rescan))
                .route(web::get().to(scan_status))
                .default_service(web::to(method_not_allowed)),
        )
        .service(get_only("/api/v1/analytics/graph", analytics_graph));
}

fn not_connected(repo: &RepoFullName) -> ApiError {
    ApiError::Client {
        status: StatusCode::NOT_FOUND,
        code: "repo_not_connected",
        detail: format!("Repo {repo} is not connected"),
    }
}

fn invalid_repository(detail: String) -> ApiError {
    ApiError::BadRequest { code: "invalid_repository", detail }
}

fn graph_error(error: GraphError) -> ApiError {
    match error {
        GraphError::Unavailable(detail) => ApiError::Client {
            status: StatusCode::SERVICE_UNAVAILABLE,
            code: "graph_unavailable",
            detail,
        },
        GraphError::Unexpected(error) => ApiError::Internal(error),
    }
}

/// The repository named by the path, when the user has connected it.
async fn connected(
    state: &ApiState,
    current: &CurrentUser,
    owner: &str,
    name: &str,
) -> Result<RepoFullName, ApiError> {
    let repo = RepoFullName::parse(&format!("{owner}/{name}"))
        .map_err(|error| invalid_repository(error.to_string()))?;
    match state.tenancy.require_connected(current.id, &repo).await {
        Ok(installation) => Ok(installation.repo),
        Err(TenancyError::NotConnected(_)) => Err(not_connected(&repo)),
        Err(TenancyError::Unexpected(error)) => Err(ApiError::Internal(error)),
    }
}

#[derive(Serialize)]
struct FileBody<'a> {
    path: &'a str,
    language: &'static str,
    size: u64,
    pr_count: u64,
}

impl<'a> From<&'a IndexedFile> for FileBody<'a> {
    fn from(file: &'a IndexedFile) -> Self {
        Self {
            path: &file.path,
            language: file.language.as_str(),
            size: file.size,
            pr_count: file.pr_count,
        }
    }
}

async fn files(
    state: web::Data<ApiState>,
    current: CurrentUser,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let repo = connected(&state, &current, &path.0, &path.1).await?;
    let files = state.graph.graph.files(&repo).await.map_err(graph_error)?;
    let bodies: Vec<FileBody<'_>> = files.iter().map(FileBody::from).collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "repo": repo.as_str(),
        "count": bodies.len(),
        "files": bodies,
    })))
}

fn graph_body(repo: &RepoFullName, drawn: &RepositoryGraph) -> serde_json::Value {
    let nodes: Vec<serde_json::Value> = drawn
        .nodes
        .iter()
        .map(|node| {
            serde_json::json!({"id": node.path, "language": node.language.as_str(), "pr_count": node.pr_count})
        })
        .collect();
    let links: Vec<serde_json::Value> = drawn
        .links
        .iter()
        .map(|link| {
            serde_json::json!({
                "source": link.source,
                "target": link.target,
                "weight": link.weight,
                "type": link.kind.as_str(),
            })
        })
        .collect();
    serde_json::json!({"repo": repo.as_str(), "nodes": nodes, "links": links})
}

async fn graph(
    state: web::Data<ApiState>,
    current: CurrentUser,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let repo = connected(&state, &current, &path.0, &path.1).await?;
    let drawn = state
        .graph
        .graph
        .repository_graph(&repo, NODE_LIMIT, LINK_LIMIT)
        .await
        .map_err(graph_error)?;
    Ok(HttpResponse::Ok().json(graph_body(&repo, &drawn)))
}

#[derive(Serialize)]
struct ScanBody<'a> {
    phase: &'static str,
    files_seen: u64,
    files_written: u64,
    edges: u64,
    commit: Option<&'a str>,
    error: Option<&'a str>,
}

impl<'a> From<&'a ScanProgress> for ScanBody<'a> {
    fn from(progress: &'a ScanProgress) -> Self {
        Self {
            phase: progress.phase.as_str(),
            files_seen: progress.files_seen,
            files_written: progress.files_written,
            edges: progress.edges,
            commit: progress.commit.as_deref(),
            error: progress.error.as_deref(),
        }
    }
}

/// The rescan answer: the scan's status and the last completed scan's counts.
async fn scan_answer(
    state: &ApiState,
    repo: &RepoFullName,
    status: &'static str,
    progress: Option<&ScanProgress>,
) -> Result<HttpResponse, ApiError> {
    let record = state.graph.graph.scan_record(repo).await.map_err(graph_error)?;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "status": status,
        "repo": repo.as_str(),
        "files_indexed": record.as_ref().map_or(0, |record| record.files_indexed),
        "scanned_commit": record.as_ref().map(|record| record.commit.as_str()),
        "scanned_at": record.as_ref().map(|record| record.scanned_at.to_rfc3339()),
        "scan": progress.map(ScanBody::from),
    })))
}

async fn rescan(
    state: web::Data<ApiState>,
    current: CurrentUser,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let repo = connected(&state, &current, &path.0, &path.1).await?;
    let who = Identity::Token(current.user.github_access_token.clone());
    let progress = state.graph.scans.request(&repo, who);
    tracing::info!(user_id = current.id.get(), repo = %repo, phase = progress.phase.as_str(), "rescan requested");
    scan_answer(&state, &repo, "scan_started", Some(&progress)).await
}

async fn scan_status(
    state: web::Data<ApiState>,
    current: CurrentUser,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let repo = connected(&state, &current, &path.0, &path.1).await?;
    let progress = state.graph.scans.progress(&repo);
    let status = match progress.as_ref().map(|progress| progress.phase.is_active()) {
        Some(true) => "scanning",
        Some(false) | None => "idle",
    };
    scan_answer(&state, &repo, status, progress.as_ref()).await
}

#[derive(Deserialize)]
struct RepoParams {
    repo: Option<String>,
}

fn activity_bodies(files: &[FileActivity], count_name: &str) -> Vec<serde_json::Value> {
    files
        .iter()
        .map(|file| {
            let mut body =
                serde_json::json!({"path": file.path, "language": file.language.as_str()});
            body[count_name] = serde_json::json!(file.count);
            body
        })
        .collect()
}

fn untouched_body(untouched: &UntouchedFiles) -> serde_json::Value {
    let sample: Vec<serde_json::Value> = untouched
        .sample
        .iter()
        .map(|(path, language)| serde_json::json!({"path": path, "language": language.as_str()}))
        .collect();
    serde_json::json!({"count": untouched.count, "sample": sample})
}

fn ownership_bodies(owners: &[Ownership]) -> Vec<serde_json::Value> {
    owners
        .iter()
        .map(|owner| {
            serde_json::json!({
                "path": owner.path,
                "owner": owner.owner,
                "owner_touches": owner.owner_touches,
                "total_touches": owner.total_touches,
            })
        })
        .collect()
}

fn expertise_bodies(experts: &[Expertise]) -> Vec<serde_json::Value> {
    experts
        .iter()
        .map(|expert| {
            let dirs: Vec<serde_json::Value> = expert
                .top_dirs
                .iter()
                .map(|(directory, touches)| serde_json::json!({"directory": directory, "touches": touches}))
                .collect();
            serde_json::json!({"dev": expert.login, "top_dirs": dirs, "total_touches": expert.total_touches})
        })
        .collect()
}

/// A sub-query's answer, or empty (logged) when it failed: the page shows what it can.
fn or_empty<T: Default>(result: Result<T, impl std::fmt::Display>, what: &'static str) -> T {
    match result {
        Ok(value) => value,
        Err(error) => {
            tracing::warn!(error = %error, what, "a repository-intelligence query failed");
            T::default()
        }
    }
}

async fn languages_body(
    state: &ApiState,
    who: &Identity,
    repo: &RepoFullName,
) -> Vec<serde_json::Value> {
    let languages = or_empty(state.graph.host.languages(who, repo).await, "languages");
    let total: u64 = languages.values().sum();
    let mut entries: Vec<(String, u64)> = languages.into_iter().collect();
    entries.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    entries
        .into_iter()
        .map(|(name, bytes)| {
            let pct = match total {
                0 => 0.0,
                _ => (bytes as f64 * 1000.0 / total as f64).round() / 10.0,
            };
            serde_json::json!({"name": name, "bytes": bytes, "pct": pct})
        })
        .collect()
}

async fn contributors_body(
    state: &ApiState,
    who: &Identity,
    repo: &RepoFullName,
) -> Vec<serde_json::Value> {
    let stats = state.graph.host.contributor_stats(who, repo).await;
    let mut contributors = match or_empty(stats.map(Some), "contributors") {
        Some(ContributorStats::Ready(contributors)) => contributors,
        Some(ContributorStats::NotReady) | None => Vec::new(),
    };
    contributors.retain(|contributor| !contributor.login.ends_with("[bot]"));
    contributors.sort_by(|a, b| b.commits.cmp(&a.commits).then_with(|| a.login.cmp(&b.login)));
    contributors.truncate(10);
    contributors
        .iter()
        .map(|contributor| {
            serde_json::json!({
                "login": contributor.login,
                "total": contributor.commits,
                "additions": contributor.additions,
                "deletions": contributor.deletions,
                "weeks": contributor
                    .weeks
                    .iter()
                    .map(|week| serde_json::json!({"w": week.week, "c": week.commits}))
                    .collect::<Vec<_>>(),
            })
        })
        .collect()
}

async fn analytics_graph(
    state: web::Data<ApiState>,
    current: CurrentUser,
    query: web::Query<RepoParams>,
) -> Result<HttpResponse, ApiError> {
    let name = query.repo.as_deref().unwrap_or_default();
    let Some((owner, repo_name)) = name.split_once('/') else {
        return Err(invalid_repository("repo must be owner/name".to_owned()));
    };
    let repo = connected(&state, &current, owner, repo_name).await?;
    let who = Identity::Token(current.user.github_access_token.clone());
    let graph = &state.graph.graph;
    let (languages, contributors, hotspots, risky, untouched, owners, experts) = futures_util::join!(
        languages_body(&state, &who, &repo),
        contributors_body(&state, &who, &repo),
        graph.hotspots(&repo, 10),
        graph.high_risk_files(&repo, 8),
        graph.untouched_files(&repo, 12),
        graph.code_ownership(&repo, 10),
        graph.developer_expertise(&repo, 8),
    );
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "repo": repo.as_str(),
        "languages": languages,
        "file_hotspots": activity_bodies(&or_empty(hotspots, "hotspots"), "pr_count"),
        "high_risk_files": activity_bodies(&or_empty(risky, "high-risk files"), "risk_count"),
        "dead_files": untouched_body(&or_empty(untouched, "untouched files")),
        "code_ownership": ownership_bodies(&or_empty(owners, "ownership")),
        "developer_expertise": expertise_bodies(&or_empty(experts, "expertise")),
        "contributors": contributors,
    })))
}
