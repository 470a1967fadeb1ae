//! The review pipeline: the `ReviewRunner` that turns a queued job into a posted review. It
//! resolves who to act as, fetches the pull request and all its files, decides what is reviewed
//! and what is skipped (and says so), asks the `ReviewModel`, anchors every finding on the diff,
//! and posts one review under the posting policy.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;

use crate::code_host::{
    CodeHost, CodeHostError, Identity, NewReview, PostedReview, PullRequest, State,
};
use crate::diff::{FileDiff, parse_patch};
use crate::queue::{ReviewJob, ReviewRunner, RunError, RunOutcome, StopReason, StopSignal};
use crate::review::{
    Coverage, CoverageEntry, PostingPolicy, StructuredReview, anchor, comment_for, render_body,
};
use crate::{InstallationRepository, RepoFullName, UserRepository};

/// What a model is asked to review.
#[derive(Clone, Debug)]
pub struct ReviewRequest {
    /// The repository.
    pub repo: RepoFullName,
    /// The pull request (its title and body are untrusted text).
    pub pull: PullRequest,
    /// The files to review, parsed.
    pub files: Vec<FileDiff>,
}

/// Why a model failed.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// Worth retrying later (rate limit, overload, network).
    #[error("the model is unavailable: {0}")]
    Unavailable(String),
    /// The model's answer could not be used, even after repair.
    #[error("the model's answer is unusable: {0}")]
    Malformed(String),
    /// Anything else.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// A reviewer: a language model, parallel agents, or the offline rules.
#[async_trait]
pub trait ReviewModel: Send + Sync {
    /// A short name recorded with each review (`offline`, a model id).
    fn name(&self) -> &str;

    /// Reviews the request.
    ///
    /// # Errors
    /// [`ModelError`].
    async fn review(&self, request: &ReviewRequest) -> Result<StructuredReview, ModelError>;
}

/// Pipeline settings.
#[derive(Clone, Debug, Default)]
pub struct PipelineConfig {
    /// Which review events may be posted.
    pub policy: PostingPolicy,
    /// A GitHub App is configured, so App installations can be acted as.
    pub app_configured: bool,
    /// The identity for repositories with no token of their own (`GITHUB_PAT`).
    pub fallback: Option<Identity>,
}

/// Files nobody reviews line by line, and why.
fn skip_reason(path: &str) -> Option<&'static str> {
    let name = path.rsplit('/').next().unwrap_or(path);
    const LOCKFILES: [&str; 9] = [
        "Cargo.lock",
        "package-lock.json",
        "yarn.lock",
        "pnpm-lock.yaml",
        "poetry.lock",
        "Gemfile.lock",
        "go.sum",
        "composer.lock",
        "Pipfile.lock",
    ];
    if LOCKFILES.contains(&name) {
        return Some("lockfile");
    }
    let lower = path.to_ascii_lowercase();
    if lower.starts_with("vendor/")
        || lower.contains("/vendor/")
        || lower.contains("node_modules/")
        || lower.starts_with("third_party/")
    {
        return Some("vendored code");
    }
    if name.ends_with(".min.js") || name.ends_with(".min.css") || name.ends_with(".map") {
        return Some("minified");
    }
    if lower.contains("/generated/")
        || lower.starts_with("generated/")
        || name.ends_with(".pb.go")
        || name.ends_with("_pb2.py")
        || name.ends_with(".g.dart")
    {
        return Some("generated");
    }
    None
}

fn classify(error: CodeHostError) -> RunError {
    match error {
        CodeHostError::RateLimited { .. }
        | CodeHostError::Unavailable(_)
        | CodeHostError::Unexpected(_) => RunError::Transient(error.to_string()),
        other => RunError::Permanent(other.to_string()),
    }
}

/// The review pipeline.
pub struct ReviewPipeline {
    code_host: Arc<dyn CodeHost>,
    installations: Arc<dyn InstallationRepository>,
    users: Arc<dyn UserRepository>,
    model: Arc<dyn ReviewModel>,
    config: PipelineConfig,
}

impl ReviewPipeline {
    /// The pipeline over its ports.
    pub fn new(
        code_host: Arc<dyn CodeHost>,
        installations: Arc<dyn InstallationRepository>,
        users: Arc<dyn UserRepository>,
        model: Arc<dyn ReviewModel>,
        config: PipelineConfig,
    ) -> Self {
        Self { code_host, installations, users, model, config }
    }

    /// Who to act as: the repository's own token, else the App installation, else the token of
    /// the user who connected it, else the fallback.
    async fn identity(&self, job: &ReviewJob) -> Result<Identity, RunError> {
        let installations = self
            .installations
            .find_active_by_github_repo_id(job.repo_id)
            .await
            .map_err(|error| RunError::Transient(error.to_string()))?;
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
}

fn stopped(stop: &dyn StopSignal) -> Option<RunOutcome> {
    stop.stop_requested().map(RunOutcome::Stopped)
}

#[async_trait]
impl ReviewRunner for ReviewPipeline {
    async fn run(&self, job: &ReviewJob, stop: &dyn StopSignal) -> Result<RunOutcome, RunError> {
        let who = self.identity(job).await?;
        let pull =
            self.code_host.pull_request(&who, &job.repo, job.pr_number).await.map_err(classify)?;
        if pull.state == State::Closed {
            return Ok(RunOutcome::Stopped(StopReason::Cancelled));
        }
        if pull.head_sha != job.head_sha {
            // The pull request moved on; the delivery for its new head queues that review.
            return Ok(RunOutcome::Stopped(StopReason::Superseded));
        }
        if let Some(outcome) = stopped(stop) {
            return Ok(outcome);
        }
        let listed = self
            .code_host
            .pull_request_files(&who, &job.repo, job.pr_number)
            .await
            .map_err(classify)?;
        let mut files = Vec::new();
        let mut coverage = Vec::new();
        for file in &listed.files {
            let treatment = match (skip_reason(&file.path), &file.patch) {
                (Some(reason), _) => Coverage::Skipped(reason.to_owned()),
                (None, None) => Coverage::Skipped(
                    "no textual diff (binary, or too large for GitHub to show)".to_owned(),
                ),
                (None, Some(patch)) => match parse_patch(&file.path, patch) {
                    Ok(parsed) => {
                        files.push(parsed);
                        Coverage::Reviewed
                    }
                    Err(error) => Coverage::Skipped(format!("unreadable patch: {error}")),
                },
            };
            coverage.push(CoverageEntry { path: file.path.clone(), coverage: treatment });
        }
        if listed.capped {
            coverage.push(CoverageEntry {
                path: "(further files)".to_owned(),
                coverage: Coverage::Skipped(
                    "GitHub lists only the first 3,000 files of a pull request".to_owned(),
                ),
            });
        }
        if let Some(outcome) = stopped(stop) {
            return Ok(outcome);
        }
        let request = ReviewRequest { repo: job.repo.clone(), pull: pull.clone(), files };
        let review = self.model.review(&request).await.map_err(|error| match error {
            crate::pipeline::ModelError::Unavailable(message) => RunError::Transient(message),
            other => RunError::Permanent(other.to_string()),
        })?;
        if let Some(outcome) = stopped(stop) {
            return Ok(outcome);
        }
        let anchored = anchor(&review.findings, &request.files);
        let mut by_size: Vec<&FileDiff> = request.files.iter().collect();
        by_size.sort_by_key(|file| std::cmp::Reverse(file.additions() + file.deletions()));
        let important: Vec<String> = by_size.iter().take(5).map(|file| file.path.clone()).collect();
        let body = render_body(&review, &anchored, &important, &coverage);
        let new_review = NewReview {
            commit_id: pull.head_sha.clone(),
            event: self.config.policy.event_for(review.verdict),
            body: body.clone(),
            comments: anchored.inline.iter().map(comment_for).collect(),
        };
        let posted = self
            .code_host
            .post_review(&who, &job.repo, job.pr_number, &new_review)
            .await
            .map_err(classify)?;
        let (posted_as, inline) = match &posted {
            PostedReview::Review { inline, .. } => ("review", inline.len()),
            PostedReview::IssueComment { .. } => ("comment", 0),
        };
        let mut severities = BTreeMap::new();
        for finding in &review.findings {
            *severities.entry(finding.severity.as_str()).or_insert(0_u64) += 1;
        }
        let reviewed = coverage.iter().filter(|entry| entry.coverage == Coverage::Reviewed).count();
        Ok(RunOutcome::Completed(Some(serde_json::json!({
            "ai_summary": body,
            "files_analyzed": reviewed,
            "comment_posted": true,
            "verdict": review.verdict.as_str(),
            "inline_suggestions": inline,
            "linked_issues": review.semantic_issues,
            "related_prs": 0,
            "open_pr_conflicts": 0,
            "semantic_issue_matches": [],
            "confidence": review.confidence,
            "findings": severities,
            "model": self.model.name(),
            "posted_as": posted_as,
            "event": new_review.event.as_str(),
        }))))
    }
}

#[cfg(test)]
mod tests {
    use super::skip_reason;

    #[test]
    fn lockfiles_vendored_generated_and_minified_files_are_skipped() {
        assert_eq!(skip_reason("Cargo.lock"), Some("lockfile"));
        assert_eq!(skip_reason("web/yarn.lock"), Some("lockfile"));
        assert_eq!(skip_reason("vendor/github.com/x/y.go"), Some("vendored code"));
        assert_eq!(skip_reason("static/app.min.js"), Some("minified"));
        assert_eq!(skip_reason("api/user.pb.go"), Some("generated"));
        assert_eq!(skip_reason("src/main.rs"), None);
    }
}
