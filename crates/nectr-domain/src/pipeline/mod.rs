//! The review pipeline: the `ReviewRunner` that turns a queued job into a posted review. It
//! resolves who to act as, fetches the pull request and all its files, decides what is reviewed
//! and what is skipped (and says so), asks the `ReviewModel`, anchors every finding on the diff,
//! records the review with the intent to post it, and posts it at most once (`posting`).

mod exclusions;
mod model;
mod posting;
mod steps;
mod tools;
mod toolset;

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::Utc;

pub use exclusions::{Exclusions, glob_match, skip_reason};
pub use model::{FileSummary, ModelError, ModelReview, ReviewModel, ReviewRequest};
pub use posting::marker;
pub use steps::{ask, compose, gather, plan};
pub use tools::{HostTools, RepositoryLookups, ReviewTools};
pub use toolset::Toolset;

use crate::code_host::{CodeHost, Identity, PostedReview, State};
use crate::memory::review::{MemoryFailure, MemoryStep, memory_document};
use crate::queue::{ReviewJob, ReviewRunner, RunError, RunOutcome, StopSignal};
use crate::review::{Anchored, Coverage, CoverageEntry, Severity, comment_for};
use crate::review_run::{
    Posted, Posting, RecordedFinding, ReviewRecord, ReviewRunRepository, StepTimings,
};
use crate::{InstallationRepository, ReviewRunId, UserRepository};
use steps::classify;

/// Pipeline settings.
#[derive(Clone, Debug, Default)]
pub struct PipelineConfig {
    /// Which review events may be posted.
    pub policy: crate::review::PostingPolicy,
    /// A GitHub App is configured, so App installations can be acted as.
    pub app_configured: bool,
    /// Files not reviewed line by line.
    pub exclusions: Exclusions,
    /// The identity for repositories with no token of their own (`GITHUB_PAT`).
    pub fallback: Option<Identity>,
    /// How long after an attempt began posting its post may still reach the code host (its
    /// request timeout and write pacing, with margin). A retried job looks for that post only
    /// after this.
    pub post_settle: Duration,
}

/// The review pipeline.
pub struct ReviewPipeline {
    code_host: Arc<dyn CodeHost>,
    installations: Arc<dyn InstallationRepository>,
    users: Arc<dyn UserRepository>,
    runs: Arc<dyn ReviewRunRepository>,
    model: Arc<dyn ReviewModel>,
    config: PipelineConfig,
    memory: Option<crate::memory::review::ReviewMemory>,
    graph: Option<crate::graph::ReviewGraph>,
    context: Option<crate::context::ReviewContext>,
}

fn transient(error: impl std::fmt::Display) -> RunError {
    RunError::Transient(error.to_string())
}

fn stopped(stop: &dyn StopSignal) -> Option<RunOutcome> {
    stop.stop_requested().map(RunOutcome::Stopped)
}

fn millis(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX)
}

fn count(items: usize) -> u32 {
    u32::try_from(items).unwrap_or(u32::MAX)
}

impl ReviewPipeline {
    /// The pipeline over its ports.
    pub fn new(
        code_host: Arc<dyn CodeHost>,
        installations: Arc<dyn InstallationRepository>,
        users: Arc<dyn UserRepository>,
        runs: Arc<dyn ReviewRunRepository>,
        model: Arc<dyn ReviewModel>,
        config: PipelineConfig,
    ) -> Self {
        Self {
            code_host,
            installations,
            users,
            runs,
            model,
            config,
            memory: None,
            graph: None,
            context: None,
        }
    }

    /// The pipeline with project memory: rules and relevant memories go into each request, hits
    /// are counted once the review is posted, and the model learns from it.
    #[must_use]
    pub fn with_memory(mut self, memory: crate::memory::review::ReviewMemory) -> Self {
        self.memory = Some(memory);
        self
    }

    /// The pipeline with the code graph: related pull requests, experts and the blast radius go
    /// into each request, graph lookups into its tools, and each posted review into the graph.
    #[must_use]
    pub fn with_graph(mut self, graph: crate::graph::ReviewGraph) -> Self {
        self.graph = Some(graph);
        self
    }

    /// The pipeline with context providers: the tickets, production errors and discussions
    /// they hold about the change go into each request (while memory and the graph are read),
    /// and a ticket search into its tools. The coverage table reports each provider.
    #[must_use]
    pub fn with_context(mut self, context: crate::context::ReviewContext) -> Self {
        self.context = Some(context);
        self
    }

    /// What the providers say about `pull`, which changes `paths` (nothing without providers).
    async fn team_context(
        &self,
        repo: &crate::RepoFullName,
        pull: &crate::code_host::PullRequest,
        paths: Vec<String>,
    ) -> crate::context::ContextReport {
        match &self.context {
            Some(context) => {
                let query = crate::context::ContextQuery::new(repo, pull, paths);
                context.gather(&query).await
            }
            None => crate::context::ContextReport::default(),
        }
    }

    /// `tools` with this pipeline's parts for `job`: memory, the graph and the ticket search,
    /// each where it is configured.
    fn with_parts(&self, tools: Toolset, job: &ReviewJob) -> Toolset {
        let memory = self.memory.as_ref().map(|memory| memory.lookups(&job.repo));
        let graph = self.graph.as_ref().map(|graph| graph.lookups(&job.repo, job.pr_number));
        let tickets = self.context.as_ref().and_then(crate::context::ReviewContext::ticket_search);
        tools.with_memory(memory).with_graph(graph).with_tickets(tickets)
    }

    /// Who to act as: the repository's own token, else the App installation, else the token of
    /// the user who connected it, else the fallback.
    async fn identity(&self, job: &ReviewJob) -> Result<Identity, RunError> {
        let installations = self
            .installations
            .find_active_by_github_repo_id(job.repo_id)
            .await
            .map_err(transient)?;
        if let Some(token) =
            installations.iter().find_map(|installation| installation.access_token.clone())
        {
            return Ok(Identity::Token(token));
        }
        if self.config.app_configured
            && let Some(id) = job.installation_id.or_else(|| {
                installations.iter().find_map(|installation| installation.installation_id)
            })
        {
            return Ok(Identity::Installation(id));
        }
        for installation in &installations {
            if let Ok(Some(user)) = self.users.find_by_id(installation.user_id).await
                && !user.github_access_token.expose().is_empty()
            {
                return Ok(Identity::Token(user.github_access_token));
            }
        }
        self.config.fallback.clone().ok_or_else(|| {
            RunError::Permanent(format!(
                "no GitHub credentials for {}: connect it, add a token, or set GITHUB_PAT",
                job.repo
            ))
        })
    }

    /// What an earlier attempt of this job left: a review posted and recorded, or one it may
    /// have posted, found by its marker and adopted. `None` when this attempt must review.
    async fn resume(
        &self,
        job: &ReviewJob,
        run_id: ReviewRunId,
        who: &Identity,
    ) -> Result<Option<ReviewRecord>, RunError> {
        let Some(mut record) = self.runs.record(run_id).await.map_err(transient)? else {
            return Ok(None);
        };
        let at = match &record.posting {
            Posting::Posted(_) => return Ok(Some(record)),
            Posting::Intended { head_sha, at, .. } if *head_sha == job.head_sha => *at,
            Posting::Intended { .. } => return Ok(None),
        };
        let settled = posting::settled_at(at, self.config.post_settle);
        let now = Utc::now();
        if now < settled {
            return Err(RunError::RetryLater {
                message: "an earlier attempt's review may still reach GitHub".to_owned(),
                after: (settled - now).to_std().unwrap_or_default(),
            });
        }
        let marker = marker(job.id, &job.head_sha);
        let found = posting::find(
            self.code_host.as_ref(),
            who,
            &job.repo,
            job.pr_number,
            &marker,
            record.planned_inline,
        )
        .await
        .map_err(classify)?;
        let Some(posted) = found else { return Ok(None) };
        self.runs.mark_posted(run_id, &posted).await.map_err(transient)?;
        record.posting = Posting::Posted(posted);
        Ok(Some(record))
    }
}

/// The record of a review about to be posted.
fn intended_record(
    job: &ReviewJob,
    answer: &ModelReview,
    anchored: &Anchored,
    new_review: &crate::code_host::NewReview,
    coverage: &[CoverageEntry],
    timings: StepTimings,
) -> ReviewRecord {
    let review = &answer.review;
    let severity = |severity: Severity| {
        count(review.findings.iter().filter(|f| f.severity == severity).count())
    };
    ReviewRecord {
        verdict: review.verdict,
        confidence: review.confidence,
        posted_event: new_review.event.as_str().to_owned(),
        critical: severity(Severity::Critical),
        moderate: severity(Severity::Moderate),
        minor: severity(Severity::Minor),
        findings: review
            .findings
            .iter()
            .map(|finding| RecordedFinding {
                finding: finding.clone(),
                inline: anchored.inline.contains(finding),
            })
            .collect(),
        model: answer.model.clone(),
        usage: answer.usage,
        cost_usd: answer.cost_usd,
        timings,
        body: new_review.body.clone(),
        linked_issues: review.semantic_issues.clone(),
        files_reviewed: count(
            coverage.iter().filter(|entry| entry.coverage == Coverage::Reviewed).count(),
        ),
        planned_inline: count(new_review.comments.len()),
        related_prs: None,
        posting: Posting::Intended {
            attempt: job.attempts,
            head_sha: job.head_sha.clone(),
            at: Utc::now(),
        },
    }
}

/// Which findings ended up inline: a comment carries every finding in its text, and GitHub may
/// have moved some of a review's comments into its body.
fn mark_inline(findings: &mut [RecordedFinding], post: &PostedReview) {
    for recorded in findings {
        recorded.inline = recorded.inline
            && match post {
                PostedReview::Review { moved_to_body, .. } => {
                    !moved_to_body.contains(&comment_for(&recorded.finding))
                }
                PostedReview::IssueComment { .. } => false,
            };
    }
}

/// The run's result document, with the original's keys, built from what was recorded: only
/// what happened (the run adds memory's part, `memory`, where memory is configured).
pub fn result_document(record: &ReviewRecord) -> serde_json::Value {
    let (posted_as, inline, moved, adopted) = match &record.posting {
        Posting::Posted(Posted::Review { inline, moved_to_body, adopted, .. }) => {
            ("review", Some(*inline), Some(*moved_to_body), Some(*adopted))
        }
        Posting::Posted(Posted::Comment { adopted, .. }) => {
            ("comment", Some(0), None, Some(*adopted))
        }
        Posting::Posted(Posted::Unrecorded) | Posting::Intended { .. } => {
            ("unknown", None, None, None)
        }
    };
    let mut severities = serde_json::Map::new();
    for (name, value) in
        [("critical", record.critical), ("moderate", record.moderate), ("minor", record.minor)]
    {
        if value > 0 {
            severities.insert(name.to_owned(), value.into());
        }
    }
    let mut document = serde_json::json!({
        "ai_summary": record.body,
        "files_analyzed": record.files_reviewed,
        "comment_posted": record.posting.reached_github(),
        "verdict": record.verdict.as_str(),
        "linked_issues": record.linked_issues,
        "confidence": record.confidence,
        "findings": severities,
        "model": record.model,
        "posted_as": posted_as,
        "event": record.posted_event,
        "tokens": {
            "input": record.usage.input_tokens,
            "output": record.usage.output_tokens,
            "cache_read": record.usage.cache_read_tokens,
            "cache_write": record.usage.cache_write_tokens,
        },
        "cost_usd": record.cost_usd,
    });
    let optional = [
        ("inline_suggestions", inline.map(serde_json::Value::from)),
        ("moved_to_body", moved.map(serde_json::Value::from)),
        ("adopted", adopted.map(serde_json::Value::from)),
        ("related_prs", record.related_prs.map(serde_json::Value::from)),
    ];
    for (key, value) in optional {
        if let Some(value) = value {
            document[key] = value;
        }
    }
    if let Posting::Posted(Posted::Review { id, .. } | Posted::Comment { id, .. }) = &record.posting
    {
        document["posted_id"] = (*id).into();
    }
    document
}

#[async_trait]
impl ReviewRunner for ReviewPipeline {
    async fn run(&self, job: &ReviewJob, stop: &dyn StopSignal) -> Result<RunOutcome, RunError> {
        let started = Instant::now();
        let who = self.identity(job).await?;
        if let Some(run_id) = job.review_run_id
            && let Some(record) = self.resume(job, run_id, &who).await?
        {
            return Ok(RunOutcome::Completed(Some(result_document(&record))));
        }
        let pull =
            self.code_host.pull_request(&who, &job.repo, job.pr_number).await.map_err(classify)?;
        if pull.state == State::Closed {
            return Ok(RunOutcome::Stopped(crate::queue::StopReason::Cancelled));
        }
        if pull.head_sha != job.head_sha {
            // The pull request moved on; the delivery for its new head queues that review.
            return Ok(RunOutcome::Stopped(crate::queue::StopReason::Superseded));
        }
        if let Some(outcome) = stopped(stop) {
            return Ok(outcome);
        }
        let (mut request, coverage) = gather(
            &self.code_host,
            &who,
            &job.repo,
            pull.clone(),
            &self.config.exclusions,
            self.model.diff_budget_tokens(),
        )
        .await?;
        let paths: Vec<String> = coverage.iter().map(|entry| entry.path.clone()).collect();
        // The team's tools answer while memory and the graph are read.
        let mut memory_failures = Vec::new();
        let (context, ()) =
            futures_util::join!(self.team_context(&job.repo, &pull, paths.clone()), async {
                if let Some(memory) = &self.memory {
                    // Memory is advice: a failing store leaves the review without it, and the
                    // result says so.
                    match memory.for_request(&request).await {
                        Ok(memories) => request.memories = memories,
                        Err(error) => {
                            memory_failures.push(MemoryFailure::new(MemoryStep::Retrieval, &error))
                        }
                    }
                }
                if let Some(graph) = &self.graph {
                    // The graph is advice too: a failing graph leaves the review without it.
                    request.graph =
                        graph.context(&job.repo, job.pr_number, &paths).await.unwrap_or_default();
                }
            });
        // Context is advice too: an unavailable provider is reported, never fatal.
        request.context = context;
        request.tools = request.tools.take().map(|tools| self.with_parts(tools, job));
        let fetch_ms = millis(started);
        if let Some(outcome) = stopped(stop) {
            return Ok(outcome);
        }
        let model_started = Instant::now();
        let answer = ask(self.model.as_ref(), &request).await?;
        let model_ms = millis(model_started);
        if let Some(outcome) = stopped(stop) {
            return Ok(outcome);
        }
        let (anchored, mut new_review) =
            compose(self.config.policy, &pull, &request, &answer.review, &coverage);
        new_review.marker = Some(marker(job.id, &job.head_sha));
        let timings = StepTimings { fetch_ms, model_ms, post_ms: 0, total_ms: millis(started) };
        let mut record = intended_record(job, &answer, &anchored, &new_review, &coverage, timings);
        record.related_prs = self.graph.as_ref().map(|_| count(request.graph.related.len()));
        if let Some(run_id) = job.review_run_id {
            self.runs.save_record(run_id, &record).await.map_err(transient)?;
        }
        let post_started = Instant::now();
        let post = self
            .code_host
            .post_review(&who, &job.repo, job.pr_number, &new_review)
            .await
            .map_err(classify)?;
        record.posting = Posting::Posted(posting::posted(&post));
        mark_inline(&mut record.findings, &post);
        record.timings.post_ms = millis(post_started);
        record.timings.total_ms = millis(started);
        if let Some(run_id) = job.review_run_id {
            // Should this fail, the retried job finds the review by its marker.
            self.runs.save_record(run_id, &record).await.map_err(transient)?;
        }
        if let Some(memory) = &self.memory {
            // The review is posted and recorded; what memory does now cannot undo that.
            if let Err(error) = memory.record_hits(&job.repo, &request.memories).await {
                memory_failures.push(MemoryFailure::new(MemoryStep::Hits, &error));
            }
            if let Err(error) = memory.learn(&request, &record.body).await {
                memory_failures.push(MemoryFailure::new(MemoryStep::Learning, &error));
            }
        }
        if let Some(graph) = &self.graph {
            let files: Vec<String> = coverage.iter().map(|entry| entry.path.clone()).collect();
            // The review is posted; a graph that cannot take it only loses history.
            let _recorded = graph.record(&job.repo, &pull, record.verdict, files).await;
        }
        let mut result = result_document(&record);
        if self.memory.is_some() {
            result["memory"] = memory_document(&memory_failures);
        }
        Ok(match memory_failures.is_empty() {
            true => RunOutcome::Completed(Some(result)),
            false => RunOutcome::Degraded {
                result,
                failures: memory_failures.iter().map(MemoryFailure::to_string).collect(),
            },
        })
    }
}
