//! `GET /api/v1/analytics/summary`, `/timeline?days=` and `/insights?days=`: the dashboard's
//! figures for the signed-in user's repositories, in the original's shapes. The store
//! aggregates; the domain applies the original's formulas; this module only shapes the JSON.
//! Every field is always present and every figure is a JSON number.

use std::collections::BTreeMap;

use actix_web::{HttpResponse, web};
use chrono::{NaiveDate, Utc};
use nectr_domain::analytics::{
    self, Day, InsightFigures, PullRequestActivity, Summary, period_start, round1,
};
use nectr_domain::review::Verdict;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::CurrentUser;
use crate::openapi::ErrorDoc;
use crate::reviews::PrStatus;
use crate::{ApiError, ApiState, get_only, params};

pub(crate) fn routes(config: &mut web::ServiceConfig) {
    config.service(get_only("/api/v1/analytics/summary", summary));
    config.service(get_only("/api/v1/analytics/timeline", timeline));
    config.service(get_only("/api/v1/analytics/insights", insights));
}

/// The period of the timeline and insights.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct PeriodParams {
    /// 7 to 90 days ending today (default 30).
    days: Option<u32>,
}

/// A pull request first reviewed this week.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ActivityBody {
    pr_number: u64,
    title: String,
    author: String,
    repo_name: String,
    state: PrStatus,
    additions: u64,
    deletions: u64,
    changed_files: u64,
}

impl From<PullRequestActivity> for ActivityBody {
    fn from(activity: PullRequestActivity) -> Self {
        Self {
            pr_number: activity.pr_number,
            title: activity.title,
            author: activity.author,
            repo_name: activity.repo_name,
            state: activity.state.into(),
            additions: activity.additions,
            deletions: activity.deletions,
            changed_files: activity.changed_files,
        }
    }
}

/// The dashboard's key figures.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SummaryBody {
    /// Pull requests with a review.
    total_reviews: u64,
    /// Completed, in percent of all (1 decimal).
    success_rate: f64,
    /// Mean review time of completed reviews, in seconds.
    avg_processing_seconds: f64,
    /// Repositories connected.
    connected_repos: u64,
    /// First reviewed today (UTC).
    reviews_today: u64,
    /// First reviewed in the last seven days.
    reviews_this_week: u64,
    /// Mean time from opening to merging, in hours.
    avg_merge_hours: f64,
    /// Mean additions + deletions.
    avg_pr_size: u64,
    /// Pull requests first reviewed in the last seven days (at most 100, newest first).
    last_week_activity: Vec<ActivityBody>,
}

impl From<Summary> for SummaryBody {
    fn from(summary: Summary) -> Self {
        Self {
            total_reviews: summary.total_reviews,
            success_rate: summary.success_rate,
            avg_processing_seconds: summary.avg_processing_seconds,
            connected_repos: summary.connected_repos,
            reviews_today: summary.reviews_today,
            reviews_this_week: summary.reviews_this_week,
            avg_merge_hours: summary.avg_merge_hours,
            avg_pr_size: summary.avg_pr_size,
            last_week_activity: summary.last_week_activity.into_iter().map(Into::into).collect(),
        }
    }
}

/// One day of the timeline.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct DayBody {
    /// `YYYY-MM-DD` (UTC).
    #[schema(value_type = String, example = "2026-12-01")]
    date: NaiveDate,
    /// Pull requests with review activity that day.
    total: u64,
    /// Of those, completed (by that day's best status).
    completed: u64,
    /// Of those, failed.
    failed: u64,
}

impl From<Day> for DayBody {
    fn from(day: Day) -> Self {
        Self { date: day.date, total: day.total, completed: day.completed, failed: day.failed }
    }
}

/// Merge times of the period's merged pull requests, in hours (0 without a sample).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct MergeTimeBody {
    avg_hours: f64,
    median_hours: f64,
    fastest_hours: f64,
    slowest_hours: f64,
    sample_size: u64,
}

/// Latest verdict per pull request, counted.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct VerdictsBody {
    #[serde(rename = "APPROVE")]
    approve: u64,
    #[serde(rename = "REQUEST_CHANGES")]
    request_changes: u64,
    #[serde(rename = "NEEDS_DISCUSSION")]
    needs_discussion: u64,
}

/// Findings of the latest reviews, per severity.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct IssuesBody {
    critical: u64,
    moderate: u64,
    minor: u64,
    total: u64,
}

/// One author's pull requests.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AuthorBody {
    author: String,
    prs: u64,
    merged: u64,
    issues_flagged: u64,
    /// Mean confidence (1 to 5) of their latest reviews; 0 without one.
    avg_confidence: f64,
}

/// One repository's pull requests.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RepoBody {
    repo: String,
    prs: u64,
    merged: u64,
    /// Merged, in percent of the repository's pull requests (1 decimal).
    merge_rate: f64,
    issues: u64,
}

/// What the period's reviews found.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct InsightsBody {
    period_days: u32,
    total_prs: u64,
    avg_pr_size: u64,
    merge_time: MergeTimeBody,
    verdicts: VerdictsBody,
    /// Latest confidence per pull request, counted: keys `1` to `5`, always all five.
    #[schema(value_type = BTreeMap<String, u64>)]
    confidence_distribution: BTreeMap<String, u64>,
    issue_categories: IssuesBody,
    per_author: Vec<AuthorBody>,
    per_repo: Vec<RepoBody>,
}

fn zero_or(value: Option<f64>) -> f64 {
    value.map_or(0.0, round1)
}

impl InsightsBody {
    fn new(period_days: u32, figures: InsightFigures) -> Self {
        let merge = figures.merge_times;
        let confidence = (1..=5)
            .zip(figures.confidence)
            .map(|(level, count)| (level.to_string(), count))
            .collect();
        Self {
            period_days,
            total_prs: figures.prs,
            avg_pr_size: figures.mean_pr_size.map_or(0, |size| size.round().max(0.0) as u64),
            merge_time: MergeTimeBody {
                avg_hours: zero_or(merge.mean),
                median_hours: zero_or(merge.median),
                fastest_hours: zero_or(merge.fastest),
                slowest_hours: zero_or(merge.slowest),
                sample_size: merge.sample_size,
            },
            verdicts: VerdictsBody {
                approve: figures.verdict_count(Verdict::Approve),
                request_changes: figures.verdict_count(Verdict::RequestChanges),
                needs_discussion: figures.verdict_count(Verdict::NeedsDiscussion),
            },
            confidence_distribution: confidence,
            issue_categories: IssuesBody {
                critical: figures.critical,
                moderate: figures.moderate,
                minor: figures.minor,
                total: figures.critical + figures.moderate + figures.minor,
            },
            per_author: figures
                .per_author
                .into_iter()
                .map(|author| AuthorBody {
                    author: author.author,
                    prs: author.prs,
                    merged: author.merged,
                    issues_flagged: author.issues_flagged,
                    avg_confidence: zero_or(author.mean_confidence),
                })
                .collect(),
            per_repo: figures
                .per_repo
                .into_iter()
                .map(|repo| RepoBody {
                    merge_rate: analytics::percent(repo.merged, repo.prs),
                    repo: repo.repo,
                    prs: repo.prs,
                    merged: repo.merged,
                    issues: repo.issues,
                })
                .collect(),
        }
    }
}

fn internal(error: impl std::error::Error + Send + Sync + 'static) -> ApiError {
    ApiError::Internal(anyhow::Error::new(error))
}

/// The user's key figures.
#[utoipa::path(
    get,
    path = "/api/v1/analytics/summary",
    tag = "analytics",
    responses(
        (status = 200, description = "The figures", body = SummaryBody),
        (status = 401, description = "Not signed in", body = ErrorDoc),
    ),
    security(("session_cookie" = []), ("bearer" = []))
)]
pub(crate) async fn summary(
    state: web::Data<ApiState>,
    user: CurrentUser,
) -> Result<HttpResponse, ApiError> {
    let figures = state.analytics.summary(user.id, Utc::now()).await.map_err(internal)?;
    Ok(HttpResponse::Ok().json(SummaryBody::from(Summary::from(figures))))
}

/// Reviews per day, oldest first, one entry for every day of the period.
#[utoipa::path(
    get,
    path = "/api/v1/analytics/timeline",
    tag = "analytics",
    params(PeriodParams),
    responses(
        (status = 200, description = "One entry per day", body = [DayBody]),
        (status = 400, description = "A bad period", body = ErrorDoc),
        (status = 401, description = "Not signed in", body = ErrorDoc),
    ),
    security(("session_cookie" = []), ("bearer" = []))
)]
pub(crate) async fn timeline(
    state: web::Data<ApiState>,
    user: CurrentUser,
    query: web::Query<PeriodParams>,
) -> Result<HttpResponse, ApiError> {
    let days = params::days(query.days)?;
    let now = Utc::now();
    let active =
        state.analytics.timeline(user.id, period_start(now, days)).await.map_err(internal)?;
    let bodies: Vec<DayBody> =
        analytics::timeline(now, days, &active).into_iter().map(DayBody::from).collect();
    Ok(HttpResponse::Ok().json(bodies))
}

/// Verdicts, confidence, findings, merge times and per-author and per-repository figures of
/// the pull requests reviewed in the period.
#[utoipa::path(
    get,
    path = "/api/v1/analytics/insights",
    tag = "analytics",
    params(PeriodParams),
    responses(
        (status = 200, description = "The insights", body = InsightsBody),
        (status = 400, description = "A bad period", body = ErrorDoc),
        (status = 401, description = "Not signed in", body = ErrorDoc),
    ),
    security(("session_cookie" = []), ("bearer" = []))
)]
pub(crate) async fn insights(
    state: web::Data<ApiState>,
    user: CurrentUser,
    query: web::Query<PeriodParams>,
) -> Result<HttpResponse, ApiError> {
    let days = params::days(query.days)?;
    let since = period_start(Utc::now(), days);
    let figures = state.analytics.insights(user.id, since).await.map_err(internal)?;
    Ok(HttpResponse::Ok().json(InsightsBody::new(days, figures)))
}
