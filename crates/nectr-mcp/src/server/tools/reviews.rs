//! The review tools: `get_recent_reviews` (a repository's latest reviews, one per pull request),
//! `get_review` (one review with its findings), `get_pr_verdict` (the verdict on one pull
//! request) and `get_repo_health` (a repository's recent figures). They read the same
//! de-duplicated history as the dashboard's `/api/v1/reviews`, the records of review runs and
//! the analytics' aggregates, never another user's repositories.

use chrono::{DateTime, Utc};
use nectr_domain::analytics::{self, RepoFigures, period_start, round1};
use nectr_domain::graph::FileActivity;
use nectr_domain::history::{MAX_LIMIT, ReviewListing, ReviewQuery};
use nectr_domain::review::{Severity, Verdict};
use nectr_domain::{EventId, EventStatus, RecordedFinding, RepoFullName, ReviewRecord};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, Json, RoleServer, tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::arguments::Parameters;
use super::{failed, invalid, unknown, within};
use crate::server::auth::Caller;
use crate::server::handler::NectrMcp;

/// The most reviews `get_recent_reviews` lists.
const MAX_RECENT: u32 = 50;
/// How many hotspots and high-risk files `get_repo_health` names.
const HEALTH_FILES: u32 = 5;

fn default_recent() -> u32 {
    10
}

fn default_days() -> u32 {
    30
}

/// Arguments of `get_recent_reviews`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RecentReviewsArgs {
    /// The repository, `owner/name`: one you have connected to Nectr.
    repo: String,
    /// How many reviews, newest first: 1 to 50 (default 10).
    #[serde(default = "default_recent")]
    #[schemars(range(min = 1, max = 50))]
    limit: u32,
}

/// Arguments of `get_review`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReviewArgs {
    /// The review's id, as `get_recent_reviews` lists it.
    #[schemars(range(min = 1))]
    review_id: i64,
}

/// Arguments of `get_pr_verdict`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct VerdictArgs {
    /// The repository, `owner/name`: one you have connected to Nectr.
    repo: String,
    /// The pull request's number.
    #[schemars(range(min = 1))]
    pr_number: u64,
}

/// Arguments of `get_repo_health`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct HealthArgs {
    /// The repository, `owner/name`: one you have connected to Nectr.
    repo: String,
    /// The period, in days ending today: 7 to 90 (default 30).
    #[serde(default = "default_days")]
    #[schemars(range(min = 7, max = 90))]
    days: u32,
}

/// A verdict, as the reviews print it.
#[derive(Clone, Copy, Debug, Serialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub(crate) enum VerdictName {
    /// Ready to merge.
    Approve,
    /// Must change before merging.
    RequestChanges,
    /// A human should look.
    NeedsDiscussion,
}

impl From<Verdict> for VerdictName {
    fn from(verdict: Verdict) -> Self {
        match verdict {
            Verdict::Approve => Self::Approve,
            Verdict::RequestChanges => Self::RequestChanges,
            Verdict::NeedsDiscussion => Self::NeedsDiscussion,
        }
    }
}

/// How bad a finding is.
#[derive(Clone, Copy, Debug, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum SeverityName {
    /// Must be fixed.
    Critical,
    /// Should be fixed.
    Moderate,
    /// Worth a thought.
    Minor,
}

impl From<Severity> for SeverityName {
    fn from(severity: Severity) -> Self {
        match severity {
            Severity::Critical => Self::Critical,
            Severity::Moderate => Self::Moderate,
            Severity::Minor => Self::Minor,
        }
    }
}

/// One review, one per pull request (the best by status: completed, failed, processing,
/// pending; the newest among equals).
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct ReviewSummary {
    /// The review's id (for `get_review`; the dashboard's review id).
    id: i64,
    /// `owner/name`.
    repo: String,
    /// The pull request's number.
    pr_number: u64,
    /// Its title.
    title: String,
    /// Its author's login.
    author: String,
    /// Its head branch.
    branch: String,
    /// Its page on GitHub.
    url: String,
    /// The review's status: pending, processing, completed, failed, superseded or cancelled.
    status: String,
    /// The pull request's state: open, merged or closed.
    pr_state: String,
    /// The verdict, once the review recorded one.
    verdict: Option<VerdictName>,
    /// The review's markdown body, once posted.
    summary: Option<String>,
    /// Files the review covered.
    files_analyzed: Option<u64>,
    /// When the review was asked for (RFC 3339).
    created_at: String,
    /// When its work ended (RFC 3339).
    processed_at: Option<String>,
}

fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339()
}

impl From<ReviewListing> for ReviewSummary {
    fn from(review: ReviewListing) -> Self {
        let pull = review.pull_request;
        Self {
            id: review.id.get(),
            repo: pull.repo,
            pr_number: pull.number,
            title: pull.title,
            author: pull.author,
            branch: pull.branch,
            url: pull.url,
            status: review.status.as_str().to_owned(),
            pr_state: pull.state.as_str().to_owned(),
            verdict: review.verdict.map(VerdictName::from),
            summary: review.ai_summary,
            files_analyzed: review.files_analyzed,
            created_at: timestamp(review.created_at),
            processed_at: review.processed_at.map(timestamp),
        }
    }
}

/// A repository's latest reviews.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct RecentReviews {
    /// `owner/name`.
    repo: String,
    /// Newest first.
    reviews: Vec<ReviewSummary>,
}

impl RecentReviews {
    /// The reviews of `repo`.
    pub(crate) fn new(repo: &RepoFullName, reviews: Vec<ReviewListing>) -> Self {
        Self {
            repo: repo.as_str().to_owned(),
            reviews: reviews.into_iter().map(ReviewSummary::from).collect(),
        }
    }
}

/// Findings per severity.
#[derive(Debug, Default, Serialize, JsonSchema)]
pub(crate) struct FindingCounts {
    critical: u32,
    moderate: u32,
    minor: u32,
}

/// One finding of a review.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct FindingBody {
    /// The file, from the repository's root.
    path: String,
    /// Its line in the new file.
    line: u64,
    /// The last line, for a finding over several lines.
    end_line: Option<u64>,
    /// How bad it is.
    severity: SeverityName,
    /// A short slug (`secret`, `sql-injection`, …).
    category: String,
    /// One line.
    title: String,
    /// Why it matters.
    explanation: String,
    /// Replacement text for the lines, when there is one.
    suggestion: Option<String>,
    /// Posted as an inline comment (else in the review's body).
    inline: bool,
}

impl From<RecordedFinding> for FindingBody {
    fn from(recorded: RecordedFinding) -> Self {
        let finding = recorded.finding;
        Self {
            path: finding.path,
            line: finding.line,
            end_line: finding.end_line,
            severity: finding.severity.into(),
            category: finding.category,
            title: finding.title,
            explanation: finding.explanation,
            suggestion: finding.suggestion,
            inline: recorded.inline,
        }
    }
}

/// What a review's record says, when it has one.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct RecordBody {
    /// The model's verdict (whatever was posted).
    verdict: VerdictName,
    /// 1 to 5.
    confidence: u8,
    /// The review event posted on GitHub: COMMENT, APPROVE or REQUEST_CHANGES.
    posted_event: String,
    /// Findings per severity.
    counts: FindingCounts,
    /// Issues the change may resolve.
    linked_issues: Vec<u64>,
    /// The reviewer (`offline`, or a model's id).
    model: String,
}

impl RecordBody {
    fn new(record: &ReviewRecord) -> Self {
        Self {
            verdict: record.verdict.into(),
            confidence: record.confidence,
            posted_event: record.posted_event.clone(),
            counts: FindingCounts {
                critical: record.critical,
                moderate: record.moderate,
                minor: record.minor,
            },
            linked_issues: record.linked_issues.clone(),
            model: record.model.clone(),
        }
    }
}

/// One review with its findings.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct ReviewDetail {
    /// The review.
    review: ReviewSummary,
    /// What it recorded; absent while the review has not finished.
    record: Option<RecordBody>,
    /// Every finding, in the review's order.
    findings: Vec<FindingBody>,
}

/// The verdict on one pull request.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct PrVerdict {
    /// `owner/name`.
    repo: String,
    /// The pull request's number.
    pr_number: u64,
    /// The review the verdict comes from.
    review: ReviewSummary,
    /// The verdict, once recorded.
    verdict: Option<VerdictName>,
    /// 1 to 5, once recorded.
    confidence: Option<u8>,
    /// Findings per severity, once recorded.
    counts: Option<FindingCounts>,
}

/// A file and how many reviewed pull requests touched it.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct FileCount {
    /// The file.
    path: String,
    /// Pull requests (for high-risk files: those whose verdict was REQUEST_CHANGES).
    pull_requests: u64,
}

impl From<FileActivity> for FileCount {
    fn from(file: FileActivity) -> Self {
        Self { path: file.path, pull_requests: file.count }
    }
}

/// Pull requests reviewed in the period.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct PeriodBody {
    /// Pull requests first reviewed in the period.
    pull_requests: u64,
    /// Of those, merged.
    merged: u64,
    /// Merged, in percent (1 decimal).
    merge_rate: f64,
    /// Findings of their latest reviews.
    findings: u64,
    /// Findings per pull request (1 decimal).
    findings_per_pull_request: f64,
}

impl PeriodBody {
    fn new(figures: Option<&RepoFigures>) -> Self {
        let (prs, merged, findings) =
            figures.map_or((0, 0, 0), |figures| (figures.prs, figures.merged, figures.issues));
        let per_pull_request = match prs {
            0 => 0.0,
            prs => round1(findings as f64 / prs as f64),
        };
        Self {
            pull_requests: prs,
            merged,
            merge_rate: analytics::percent(merged, prs),
            findings,
            findings_per_pull_request: per_pull_request,
        }
    }
}

/// The latest reviews' outcomes (up to 100 pull requests).
#[derive(Debug, Default, Serialize, JsonSchema)]
pub(crate) struct OutcomesBody {
    /// Pull requests counted.
    pull_requests: u64,
    /// Reviewed.
    completed: u64,
    /// Failed for good.
    failed: u64,
    /// Queued or running.
    in_progress: u64,
    /// Completed, in percent of those counted (1 decimal).
    success_rate: f64,
}

impl OutcomesBody {
    fn new(reviews: &[ReviewListing]) -> Self {
        let mut outcomes = Self::default();
        for review in reviews {
            outcomes.pull_requests += 1;
            match review.status {
                EventStatus::Completed => outcomes.completed += 1,
                EventStatus::Failed => outcomes.failed += 1,
                EventStatus::Pending | EventStatus::Processing => outcomes.in_progress += 1,
                EventStatus::Ignored
                | EventStatus::Rejected
                | EventStatus::Superseded
                | EventStatus::Cancelled => {}
            }
        }
        outcomes.success_rate = analytics::percent(outcomes.completed, outcomes.pull_requests);
        outcomes
    }
}

/// What the code graph knows of the repository.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct GraphHealth {
    /// The default branch's commit last scanned, if any.
    scanned_commit: Option<String>,
    /// When (RFC 3339).
    scanned_at: Option<String>,
    /// Files indexed by that scan.
    files_indexed: u64,
    /// The files most reviewed pull requests touched.
    hotspots: Vec<FileCount>,
    /// The files most pull requests with REQUEST_CHANGES touched.
    high_risk_files: Vec<FileCount>,
}

/// A repository's recent figures.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct RepoHealth {
    /// `owner/name`.
    repo: String,
    /// The period, in days ending today.
    period_days: u32,
    /// Pull requests first reviewed in the period.
    period: PeriodBody,
    /// The outcomes of the latest reviews.
    latest_reviews: OutcomesBody,
    /// The code graph.
    graph: GraphHealth,
}

impl NectrMcp {
    /// The record of a review, when its run recorded one.
    async fn record_of(&self, review: &ReviewListing) -> Result<Option<ReviewRecord>, ErrorData> {
        let Some(run) = review.run_id else { return Ok(None) };
        self.knowledge.runs.record(run).await.map_err(|error| failed("the review's record", error))
    }

    async fn graph_health(&self, repo: &RepoFullName) -> Result<GraphHealth, ErrorData> {
        let graph = &self.knowledge.graph;
        let record =
            graph.scan_record(repo).await.map_err(|error| failed("the code graph", error))?;
        let hotspots = graph
            .hotspots(repo, HEALTH_FILES)
            .await
            .map_err(|error| failed("the code graph", error))?;
        let risky = graph
            .high_risk_files(repo, HEALTH_FILES)
            .await
            .map_err(|error| failed("the code graph", error))?;
        Ok(GraphHealth {
            scanned_commit: record.as_ref().map(|record| record.commit.clone()),
            scanned_at: record.as_ref().map(|record| timestamp(record.scanned_at)),
            files_indexed: record.as_ref().map_or(0, |record| record.files_indexed),
            hotspots: hotspots.into_iter().map(FileCount::from).collect(),
            high_risk_files: risky.into_iter().map(FileCount::from).collect(),
        })
    }
}

#[tool_router(router = review_tools, vis = "pub(crate)")]
impl NectrMcp {
    /// The latest reviews of a repository, newest first, one per pull request (the best review
    /// of each: completed before failed before running), with status, verdict and summary.
    #[tool(annotations(read_only_hint = true, open_world_hint = false))]
    async fn get_recent_reviews(
        &self,
        context: RequestContext<RoleServer>,
        Parameters(args): Parameters<RecentReviewsArgs>,
    ) -> Result<Json<RecentReviews>, ErrorData> {
        let caller = Caller::of(&context.extensions)?;
        let limit = within("limit", args.limit, 1..=MAX_RECENT)?;
        let repo = self.caller_repo(caller, &args.repo).await?;
        let query = ReviewQuery { limit, repo: Some(repo.clone()), ..ReviewQuery::default() };
        let reviews = self
            .knowledge
            .history
            .reviews(caller.user, &query)
            .await
            .map_err(|error| failed("the reviews", error))?;
        Ok(Json(RecentReviews::new(&repo, reviews)))
    }

    /// One review with every finding (file, line, severity, explanation, suggestion), its
    /// verdict, confidence and counts.
    #[tool(annotations(read_only_hint = true, open_world_hint = false))]
    async fn get_review(
        &self,
        context: RequestContext<RoleServer>,
        Parameters(args): Parameters<ReviewArgs>,
    ) -> Result<Json<ReviewDetail>, ErrorData> {
        let caller = Caller::of(&context.extensions)?;
        if args.review_id < 1 {
            return Err(invalid("review_id must be a review's id (1 or more)"));
        }
        let review = self
            .knowledge
            .history
            .review(caller.user, EventId::new(args.review_id))
            .await
            .map_err(|error| failed("the review", error))?
            .ok_or_else(|| {
                unknown("unknown_review", format!("unknown review {}", args.review_id))
            })?;
        let record = self.record_of(&review).await?;
        let (record, findings) = match record {
            Some(record) => {
                let body = RecordBody::new(&record);
                (Some(body), record.findings.into_iter().map(FindingBody::from).collect())
            }
            None => (None, Vec::new()),
        };
        Ok(Json(ReviewDetail { review: review.into(), record, findings }))
    }

    /// The verdict Nectr gave a pull request (APPROVE, REQUEST_CHANGES or NEEDS_DISCUSSION),
    /// with its confidence, finding counts and summary.
    #[tool(annotations(read_only_hint = true, open_world_hint = false))]
    async fn get_pr_verdict(
        &self,
        context: RequestContext<RoleServer>,
        Parameters(args): Parameters<VerdictArgs>,
    ) -> Result<Json<PrVerdict>, ErrorData> {
        let caller = Caller::of(&context.extensions)?;
        if args.pr_number < 1 {
            return Err(invalid("pr_number must be a pull request's number (1 or more)"));
        }
        let repo = self.caller_repo(caller, &args.repo).await?;
        let query = ReviewQuery {
            limit: 1,
            repo: Some(repo.clone()),
            pull_request: Some(args.pr_number),
            ..ReviewQuery::default()
        };
        let review = self
            .knowledge
            .history
            .reviews(caller.user, &query)
            .await
            .map_err(|error| failed("the reviews", error))?
            .into_iter()
            .next()
            .ok_or_else(|| {
                unknown(
                    "unknown_pull_request",
                    format!("Nectr has no review of {repo}#{}", args.pr_number),
                )
            })?;
        let record = self.record_of(&review).await?;
        Ok(Json(PrVerdict {
            repo: repo.as_str().to_owned(),
            pr_number: args.pr_number,
            verdict: record.as_ref().map(|record| record.verdict.into()),
            confidence: record.as_ref().map(|record| record.confidence),
            counts: record.as_ref().map(|record| FindingCounts {
                critical: record.critical,
                moderate: record.moderate,
                minor: record.minor,
            }),
            review: review.into(),
        }))
    }

    /// A repository's recent figures: pull requests reviewed and merged in the period with their
    /// findings, the outcomes of its latest reviews, and what the code graph knows (last scan,
    /// hotspots, files that drew REQUEST_CHANGES).
    #[tool(annotations(read_only_hint = true, open_world_hint = false))]
    async fn get_repo_health(
        &self,
        context: RequestContext<RoleServer>,
        Parameters(args): Parameters<HealthArgs>,
    ) -> Result<Json<RepoHealth>, ErrorData> {
        let caller = Caller::of(&context.extensions)?;
        let days = within("days", args.days, analytics::PERIOD_DAYS)?;
        let repo = self.caller_repo(caller, &args.repo).await?;
        let knowledge = &self.knowledge;
        let insights = knowledge
            .analytics
            .insights(caller.user, period_start(Utc::now(), days))
            .await
            .map_err(|error| failed("the analytics", error))?;
        let figures = insights
            .per_repo
            .iter()
            .find(|figures| figures.repo.eq_ignore_ascii_case(repo.as_str()));
        let query =
            ReviewQuery { limit: MAX_LIMIT, repo: Some(repo.clone()), ..ReviewQuery::default() };
        let latest = knowledge
            .history
            .reviews(caller.user, &query)
            .await
            .map_err(|error| failed("the reviews", error))?;
        Ok(Json(RepoHealth {
            repo: repo.as_str().to_owned(),
            period_days: days,
            period: PeriodBody::new(figures),
            latest_reviews: OutcomesBody::new(&latest),
            graph: self.graph_health(&repo).await?,
        }))
    }
}
