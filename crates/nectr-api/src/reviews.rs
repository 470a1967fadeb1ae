//! `GET /api/v1/reviews` and `GET /api/v1/reviews/{id}`: the signed-in user's reviews, one per
//! pull request, in the shape the original dashboard reads.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use nectr_domain::EventId;
use nectr_domain::history::{ReviewFilter, ReviewListing, ReviewQuery};
use nectr_domain::pull_request::PullRequestState;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::CurrentUser;
use crate::openapi::ErrorDoc;
use crate::{ApiError, ApiState, get_only, params};

pub(crate) fn routes(config: &mut web::ServiceConfig) {
    config.service(get_only("/api/v1/reviews", list));
    config.service(get_only("/api/v1/reviews/{id}", one));
}

/// The review list's query.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ReviewParams {
    /// 1 to 100 (default 20), applied after de-duplication.
    limit: Option<u32>,
    /// A review status (`completed`, `processing`, `pending`, `failed`, …) or a pull-request
    /// state (`open`, `merged`, `closed`).
    status: Option<String>,
    /// Part of the title or repository name, or the start of the pull request's number.
    search: Option<String>,
}

/// A pull request's state.
#[derive(Clone, Copy, Debug, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum PrStatus {
    /// Open.
    Open,
    /// Merged.
    Merged,
    /// Closed without merging.
    Closed,
}

impl From<PullRequestState> for PrStatus {
    fn from(state: PullRequestState) -> Self {
        match state {
            PullRequestState::Open => Self::Open,
            PullRequestState::Merged => Self::Merged,
            PullRequestState::Closed => Self::Closed,
        }
    }
}

/// One review, as the dashboard reads it.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ReviewBody {
    /// The id of the delivery that asked for the review.
    id: i64,
    /// `<action>_pull_request`.
    event_type: String,
    /// `github`.
    source: String,
    /// `pending`, `processing`, `completed`, `failed`, `superseded` or `cancelled`.
    status: String,
    /// The pull request's state as the latest delivery said.
    pr_status: PrStatus,
    /// When the delivery arrived.
    created_at: DateTime<Utc>,
    /// When the review ended.
    processed_at: Option<DateTime<Utc>>,
    /// The pull request's title.
    pr_title: String,
    /// Its number.
    pr_number: u64,
    /// `owner/name`.
    repo_name: String,
    /// Its head branch.
    branch: String,
    /// Its author's login.
    author: String,
    /// Its page on GitHub.
    pr_url: String,
    /// The review's markdown body (its verdict is `**APPROVE**`, `**REQUEST_CHANGES**` or
    /// `**NEEDS_DISCUSSION**`).
    ai_summary: Option<String>,
    /// Files the review covered.
    files_analyzed: Option<u64>,
}

impl From<ReviewListing> for ReviewBody {
    fn from(review: ReviewListing) -> Self {
        let pull = review.pull_request;
        Self {
            id: review.id.get(),
            event_type: review.event_type,
            source: review.source,
            status: review.status.as_str().to_owned(),
            pr_status: pull.state.into(),
            created_at: review.created_at,
            processed_at: review.processed_at,
            pr_title: pull.title,
            pr_number: pull.number,
            repo_name: pull.repo,
            branch: pull.branch,
            author: pull.author,
            pr_url: pull.url,
            ai_summary: review.ai_summary,
            files_analyzed: review.files_analyzed,
        }
    }
}

/// The user's reviews, one per pull request (the one with the highest status priority:
/// completed, failed, processing, pending), newest first.
#[utoipa::path(
    get,
    path = "/api/v1/reviews",
    tag = "reviews",
    params(ReviewParams),
    responses(
        (status = 200, description = "The reviews", body = [ReviewBody]),
        (status = 400, description = "A bad parameter", body = ErrorDoc),
        (status = 401, description = "Not signed in", body = ErrorDoc),
    ),
    security(("session_cookie" = []), ("bearer" = []))
)]
pub(crate) async fn list(
    state: web::Data<ApiState>,
    user: CurrentUser,
    query: web::Query<ReviewParams>,
) -> Result<HttpResponse, ApiError> {
    let query = ReviewQuery {
        limit: params::limit(query.limit)?,
        filter: params::named("status", query.status.as_deref(), ReviewFilter::parse)?,
        search: query.search.clone(),
        ..ReviewQuery::default()
    };
    let reviews = state.history.reviews(user.id, &query).await.map_err(internal)?;
    let bodies: Vec<ReviewBody> = reviews.into_iter().map(ReviewBody::from).collect();
    Ok(HttpResponse::Ok().json(bodies))
}

/// One of the user's reviews, by the id of the delivery that asked for it; 404 for any other.
#[utoipa::path(
    get,
    path = "/api/v1/reviews/{id}",
    tag = "reviews",
    params(("id" = i64, Path, description = "The review's id")),
    responses(
        (status = 200, description = "The review", body = ReviewBody),
        (status = 401, description = "Not signed in", body = ErrorDoc),
        (status = 404, description = "No such review of this user's", body = ErrorDoc),
    ),
    security(("session_cookie" = []), ("bearer" = []))
)]
pub(crate) async fn one(
    state: web::Data<ApiState>,
    user: CurrentUser,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let review = state.history.review(user.id, EventId::new(*id)).await.map_err(internal)?;
    match review {
        Some(review) => Ok(HttpResponse::Ok().json(ReviewBody::from(review))),
        None => Err(ApiError::NotFound("Review not found".to_owned())),
    }
}

fn internal(error: impl std::error::Error + Send + Sync + 'static) -> ApiError {
    ApiError::Internal(anyhow::Error::new(error))
}
