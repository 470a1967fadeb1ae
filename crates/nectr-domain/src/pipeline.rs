//! The review pipeline: the `ReviewRunner` that turns a queued job into a posted review. It
//! resolves who to act as, fetches the pull request and all its files, decides what is reviewed
//! and what is skipped (and says so), asks the `ReviewModel`, anchors every finding on the diff,
//! and posts one review under the posting policy.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;

use crate::budget::fit;
use crate::code_host::{
    CodeHost, CodeHostError, FileContent, Identity, NewReview, PostedReview, PullRequest, State,
};
use crate::diff::{FileDiff, parse_patch};
use crate::llm::Usage;
use crate::queue::{ReviewJob, ReviewRunner, RunError, RunOutcome, StopReason, StopSignal};
use crate::review::{
    Anchored, Coverage, CoverageEntry, PostingPolicy, Severity, StructuredReview, anchor,
    comment_for, render_body,
};
use crate::review_run::{RecordedFinding, ReviewRecord, ReviewRunRepository, StepTimings};
use crate::{InstallationRepository, RepoFullName, UserRepository};

/// A file cut to fit the model's context.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileSummary {
    /// Path.
    pub path: String,
    /// Added plus deleted lines.
    pub changed_lines: usize,
    /// Its first hunks are in the request; else only its name and size.
    pub clipped: bool,
}

/// What a model is asked to review.
#[derive(Clone)]
pub struct ReviewRequest {
    /// The repository.
    pub repo: RepoFullName,
    /// The pull request (its title and body are untrusted text).
    pub pull: PullRequest,
    /// The files to review, parsed (clipped ones hold their first hunks only).
    pub files: Vec<FileDiff>,
    /// Files over the budget, named with their size.
    pub summarised: Vec<FileSummary>,
    /// Tools a model may call to look further (none for a local diff).
    pub tools: Option<Arc<dyn ReviewTools>>,
}

impl std::fmt::Debug for ReviewRequest {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("ReviewRequest")
            .field("repo", &self.repo)
            .field("pull", &self.pull.number)
            .field("files", &self.files.len())
            .field("summarised", &self.summarised.len())
            .field("tools", &self.tools.is_some())
            .finish()
    }
}

/// What a reviewer answered, with what it cost.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelReview {
    /// The review.
    pub review: StructuredReview,
    /// Tokens used by every call.
    pub usage: Usage,
    /// Estimated cost in US dollars.
    pub cost_usd: f64,
    /// The model that answered (the fallback's, when it stood in).
    pub model: String,
}

/// Read-only lookups a model may make while reviewing, answered as text for the prompt.
/// Failures are answers too (`Err` text goes back to the model as a failed tool call).
#[async_trait]
pub trait ReviewTools: Send + Sync {
    /// A file at the pull request's head commit.
    async fn read_file(&self, path: &str) -> Result<String, String>;
    /// The latest commits that touched a file.
    async fn file_history(&self, path: &str) -> Result<String, String>;
    /// An issue's title, state, labels and body.
    async fn issue(&self, number: u64) -> Result<String, String>;
    /// Open issues whose title or body mention every word of `query`.
    async fn search_open_issues(&self, query: &str) -> Result<String, String>;
}

/// [`ReviewTools`] on the code host, at the pull request's head.
pub struct HostTools {
    code_host: Arc<dyn CodeHost>,
    who: Identity,
    repo: RepoFullName,
    head_sha: String,
}

impl HostTools {
    /// Tools acting as `who` on `repo` at `head_sha`.
    pub fn new(
        code_host: Arc<dyn CodeHost>,
        who: Identity,
        repo: RepoFullName,
        head_sha: String,
    ) -> Self {
        Self { code_host, who, repo, head_sha }
    }
}

#[async_trait]
impl ReviewTools for HostTools {
    async fn read_file(&self, path: &str) -> Result<String, String> {
        match self.code_host.file_content(&self.who, &self.repo, path, &self.head_sha).await {
            Ok(Some(FileContent::Text(text))) => Ok(text),
            Ok(Some(FileContent::Binary { size })) => {
                Err(format!("{path} is binary ({size} bytes)"))
            }
            Ok(Some(FileContent::TooLarge { size })) => {
                Err(format!("{path} is too large to read ({size} bytes)"))
            }
            Ok(None) => Err(format!("{path} does not exist at {}", self.head_sha)),
            Err(error) => Err(error.to_string()),
        }
    }

    async fn file_history(&self, path: &str) -> Result<String, String> {
        let commits = self
            .code_host
            .file_history(&self.who, &self.repo, path, &self.head_sha, 10)
            .await
            .map_err(|error| error.to_string())?;
        if commits.is_empty() {
            return Ok(format!("no commits touched {path} before this pull request"));
        }
        let mut text = String::new();
        for commit in commits {
            let date = commit.date.map(|date| date.format("%Y-%m-%d").to_string());
            let short = commit.sha.get(..7).unwrap_or(&commit.sha);
            let _ = writeln!(
                text,
                "{short} {} {}: {}",
                date.unwrap_or_default(),
                commit.author,
                commit.title
            );
        }
        Ok(text)
    }

    async fn issue(&self, number: u64) -> Result<String, String> {
        let issue = self
            .code_host
            .issue(&self.who, &self.repo, number)
            .await
            .map_err(|error| error.to_string())?
            .ok_or_else(|| format!("issue #{number} does not exist"))?;
        Ok(format!(
            "#{} [{:?}] {}\nlabels: {}\n\n{}",
            issue.number,
            issue.state,
            issue.title,
            issue.labels.join(", "),
            issue.body.unwrap_or_default()
        ))
    }

    async fn search_open_issues(&self, query: &str) -> Result<String, String> {
        let issues = self
            .code_host
            .open_issues(&self.who, &self.repo)
            .await
            .map_err(|error| error.to_string())?;
        let words: Vec<String> =
            query.split_whitespace().map(str::to_lowercase).filter(|word| word.len() > 1).collect();
        let mut text = String::new();
        for issue in issues {
            let haystack = format!("{} {}", issue.title, issue.body.as_deref().unwrap_or_default())
                .to_lowercase();
            if words.iter().all(|word| haystack.contains(word.as_str())) {
                let _ = writeln!(text, "#{} {}", issue.number, issue.title);
            }
        }
        if text.is_empty() {
            text = format!("no open issue mentions {query:?}");
        }
        Ok(text)
    }
}

/// Why a model failed.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// Worth retrying later (rate limit, overload, network).
    #[error("the model is unavailable: {message}")]
    Unavailable {
        /// What happened.
        message: String,
        /// When the provider said to try again.
        retry_after: Option<std::time::Duration>,
    },
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

    /// Tokens of diff the reviewer can take in one review; files beyond it are clipped or
    /// summarised.
    fn diff_budget_tokens(&self) -> usize;

    /// Reviews the request.
    ///
    /// # Errors
    /// [`ModelError`].
    async fn review(&self, request: &ReviewRequest) -> Result<ModelReview, ModelError>;
}

/// Pipeline settings.
#[derive(Clone, Debug, Default)]
pub struct PipelineConfig {
    /// Which review events may be posted.
    pub policy: PostingPolicy,
    /// A GitHub App is configured, so App installations can be acted as.
    pub app_configured: bool,
    /// Files not reviewed line by line.
    pub exclusions: Exclusions,
    /// The identity for repositories with no token of their own (`GITHUB_PAT`).
    pub fallback: Option<Identity>,
}

/// `*` (any characters but `/`), `**` (any characters), `?` (one character but `/`); a pattern
/// without `/` matches a file name in any folder, as in `.gitignore`.
pub fn glob_match(pattern: &str, path: &str) -> bool {
    fn matches(pattern: &[u8], text: &[u8]) -> bool {
        match pattern.split_first() {
            None => text.is_empty(),
            Some((b'*', rest)) if rest.first() == Some(&b'*') => {
                let rest = rest.get(1..).unwrap_or_default();
                match rest.strip_prefix(b"/") {
                    // `**/x`: x at the start or just after a `/`, never inside a name.
                    Some(after) => (0..=text.len())
                        .filter(|skip| *skip == 0 || text[skip - 1] == b'/')
                        .any(|skip| matches(after, &text[skip..])),
                    None => (0..=text.len()).any(|skip| matches(rest, &text[skip..])),
                }
            }
            Some((b'*', rest)) => {
                let limit = text.iter().position(|byte| *byte == b'/').unwrap_or(text.len());
                (0..=limit).any(|skip| matches(rest, &text[skip..]))
            }
            Some((b'?', rest)) => {
                text.first().is_some_and(|byte| *byte != b'/') && matches(rest, &text[1..])
            }
            Some((byte, rest)) => text.first() == Some(byte) && matches(rest, &text[1..]),
        }
    }
    if let Some(folder) = pattern.strip_suffix('/') {
        // `vendor/`: everything below a folder of that name.
        let folder = folder.trim_start_matches('/');
        let anywhere = if folder.contains('/') { String::new() } else { "**/".to_owned() };
        return glob_match(&format!("{anywhere}{folder}/**"), path);
    }
    if pattern.contains('/') {
        matches(pattern.trim_start_matches('/').as_bytes(), path.as_bytes())
    } else {
        let name = path.rsplit('/').next().unwrap_or(path);
        matches(pattern.as_bytes(), name.as_bytes())
    }
}

/// Which files are not reviewed line by line.
#[derive(Clone, Debug)]
pub struct Exclusions {
    /// Skip lockfiles, vendored, generated and minified files.
    pub defaults: bool,
    /// More patterns to skip ([`glob_match`]).
    pub globs: Vec<String>,
}

impl Default for Exclusions {
    fn default() -> Self {
        Self { defaults: true, globs: Vec::new() }
    }
}

impl Exclusions {
    /// Why `path` is skipped, when it is.
    pub fn reason(&self, path: &str) -> Option<String> {
        if self.defaults
            && let Some(reason) = skip_reason(path)
        {
            return Some(reason.to_owned());
        }
        self.globs
            .iter()
            .find(|glob| glob_match(glob, path))
            .map(|glob| format!("excluded by the pattern `{glob}`"))
    }
}

/// Files nobody reviews line by line, and why.
pub fn skip_reason(path: &str) -> Option<&'static str> {
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
        CodeHostError::RateLimited { reset_at: Some(reset_at) } => RunError::RetryLater {
            message: error.to_string(),
            after: (reset_at - chrono::Utc::now()).to_std().unwrap_or_default(),
        },
        CodeHostError::RateLimited { reset_at: None }
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
    runs: Arc<dyn ReviewRunRepository>,
    model: Arc<dyn ReviewModel>,
    config: PipelineConfig,
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
        Self { code_host, installations, users, runs, model, config }
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

/// Parsed files fitted to `budget_tokens`: those sent, those named only, and the coverage of
/// every file (the `skipped` entries last).
pub fn plan(
    candidates: Vec<FileDiff>,
    skipped: Vec<CoverageEntry>,
    budget_tokens: usize,
) -> (Vec<FileDiff>, Vec<FileSummary>, Vec<CoverageEntry>) {
    let sizes: BTreeMap<String, usize> = candidates
        .iter()
        .map(|file| (file.path.clone(), file.additions() + file.deletions()))
        .collect();
    let (files, mut coverage) = fit(candidates, budget_tokens);
    let sent: std::collections::BTreeSet<&str> =
        files.iter().map(|file| file.path.as_str()).collect();
    let summarised = coverage
        .iter()
        .filter(|entry| matches!(entry.coverage, Coverage::Summarised(_)))
        .map(|entry| FileSummary {
            path: entry.path.clone(),
            changed_lines: sizes.get(&entry.path).copied().unwrap_or_default(),
            clipped: sent.contains(entry.path.as_str()),
        })
        .collect();
    coverage.extend(skipped);
    (files, summarised, coverage)
}

/// The files of a pull request, and how each will be treated.
fn select_files(
    listed: &crate::code_host::FileList,
    exclusions: &Exclusions,
    budget_tokens: usize,
) -> (Vec<FileDiff>, Vec<FileSummary>, Vec<CoverageEntry>) {
    let mut candidates = Vec::new();
    let mut skipped = Vec::new();
    for file in &listed.files {
        let skip = match (exclusions.reason(&file.path), &file.patch) {
            (Some(reason), _) => Some(reason),
            (None, None) => {
                Some("no textual diff (binary, or too large for GitHub to show)".to_owned())
            }
            (None, Some(patch)) => match parse_patch(&file.path, patch) {
                Ok(parsed) => {
                    candidates.push(parsed);
                    None
                }
                Err(error) => Some(format!("unreadable patch: {error}")),
            },
        };
        if let Some(reason) = skip {
            skipped.push(CoverageEntry {
                path: file.path.clone(),
                coverage: Coverage::Skipped(reason),
            });
        }
    }
    let (files, summarised, mut coverage) = plan(candidates, skipped, budget_tokens);
    if listed.capped {
        coverage.push(CoverageEntry {
            path: "(further files)".to_owned(),
            coverage: Coverage::Skipped(
                "GitHub lists only the first 3,000 files of a pull request".to_owned(),
            ),
        });
    }
    (files, summarised, coverage)
}

/// The review request for a pull request: its files fetched, skipped or fitted to `budget`
/// tokens, and lookup tools at its head; with the coverage of every file.
///
/// # Errors
/// When the code host fails.
pub async fn gather(
    code_host: &Arc<dyn CodeHost>,
    who: &Identity,
    repo: &RepoFullName,
    pull: PullRequest,
    exclusions: &Exclusions,
    budget: usize,
) -> Result<(ReviewRequest, Vec<CoverageEntry>), RunError> {
    let listed = code_host.pull_request_files(who, repo, pull.number).await.map_err(classify)?;
    let (files, summarised, coverage) = select_files(&listed, exclusions, budget);
    let tools: Arc<dyn ReviewTools> = Arc::new(HostTools::new(
        code_host.clone(),
        who.clone(),
        repo.clone(),
        pull.head_sha.clone(),
    ));
    let request = ReviewRequest { repo: repo.clone(), pull, files, summarised, tools: Some(tools) };
    Ok((request, coverage))
}

/// Asks the reviewer; an unavailable model is worth retrying later, anything else is not.
///
/// # Errors
/// [`RunError`].
pub async fn ask(
    model: &dyn ReviewModel,
    request: &ReviewRequest,
) -> Result<ModelReview, RunError> {
    model.review(request).await.map_err(|error| match error {
        ModelError::Unavailable { message, retry_after: Some(after) } => {
            RunError::RetryLater { message, after }
        }
        ModelError::Unavailable { message, retry_after: None } => RunError::Transient(message),
        other => RunError::Permanent(other.to_string()),
    })
}

/// The review to post: findings anchored on the diff (the rest go into the body), the body in
/// the original's markdown contract with the coverage table, and the event the policy allows.
pub fn compose(
    policy: PostingPolicy,
    pull: &PullRequest,
    request: &ReviewRequest,
    review: &StructuredReview,
    coverage: &[CoverageEntry],
) -> (Anchored, NewReview) {
    let anchored = anchor(&review.findings, &request.files);
    let mut by_size: Vec<&FileDiff> = request.files.iter().collect();
    by_size.sort_by_key(|file| std::cmp::Reverse(file.additions() + file.deletions()));
    let important: Vec<String> = by_size.iter().take(5).map(|file| file.path.clone()).collect();
    let body = render_body(review, &anchored, &important, coverage);
    let new_review = NewReview {
        commit_id: pull.head_sha.clone(),
        event: policy.event_for(review.verdict),
        body,
        comments: anchored.inline.iter().map(comment_for).collect(),
    };
    (anchored, new_review)
}

fn millis(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX)
}

#[async_trait]
impl ReviewRunner for ReviewPipeline {
    async fn run(&self, job: &ReviewJob, stop: &dyn StopSignal) -> Result<RunOutcome, RunError> {
        let started = Instant::now();
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
        let (request, coverage) = gather(
            &self.code_host,
            &who,
            &job.repo,
            pull.clone(),
            &self.config.exclusions,
            self.model.diff_budget_tokens(),
        )
        .await?;
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
        let review = &answer.review;
        let (anchored, new_review) =
            compose(self.config.policy, &pull, &request, review, &coverage);
        let body = new_review.body.clone();
        let post_started = Instant::now();
        let posted = self
            .code_host
            .post_review(&who, &job.repo, job.pr_number, &new_review)
            .await
            .map_err(classify)?;
        let post_ms = millis(post_started);
        let (posted_as, inline) = match &posted {
            PostedReview::Review { inline, .. } => ("review", inline.len()),
            PostedReview::IssueComment { .. } => ("comment", 0),
        };
        let count = |severity: Severity| {
            u32::try_from(review.findings.iter().filter(|f| f.severity == severity).count())
                .unwrap_or(u32::MAX)
        };
        let record = ReviewRecord {
            verdict: review.verdict,
            confidence: review.confidence,
            posted_event: new_review.event.as_str().to_owned(),
            critical: count(Severity::Critical),
            moderate: count(Severity::Moderate),
            minor: count(Severity::Minor),
            findings: review
                .findings
                .iter()
                .map(|finding| RecordedFinding {
                    finding: finding.clone(),
                    inline: posted_as == "review" && anchored.inline.contains(finding),
                })
                .collect(),
            model: answer.model.clone(),
            usage: answer.usage,
            cost_usd: answer.cost_usd,
            timings: StepTimings { fetch_ms, model_ms, post_ms, total_ms: millis(started) },
        };
        if let Some(run_id) = job.review_run_id {
            self.runs
                .save_record(run_id, &record)
                .await
                .map_err(|error| RunError::Transient(error.to_string()))?;
        }
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
            "model": answer.model,
            "posted_as": posted_as,
            "event": new_review.event.as_str(),
            "tokens": {
                "input": answer.usage.input_tokens,
                "output": answer.usage.output_tokens,
                "cache_read": answer.usage.cache_read_tokens,
                "cache_write": answer.usage.cache_write_tokens,
            },
            "cost_usd": answer.cost_usd,
        }))))
    }
}

#[cfg(test)]
mod tests {
    use super::{Exclusions, glob_match, skip_reason};

    #[test]
    fn globs_match_like_gitignore() {
        assert!(glob_match("*.snap", "tests/snapshots/a.snap"));
        assert!(glob_match("docs/**", "docs/guide/intro.md"));
        assert!(glob_match("**/fixtures/*.json", "crates/x/fixtures/a.json"));
        assert!(!glob_match("**/fixtures/*.json", "crates/x/fixtures/deep/a.json"));
        assert!(glob_match("src/?.rs", "src/a.rs"));
        assert!(!glob_match("src/*.rs", "src/a/b.rs"));
        assert!(!glob_match("*.snap", "src/snap.rs"));
        assert!(!glob_match("**/fixtures/*.json", "myfixtures/a.json"));
        assert!(!glob_match("a/**/b", "a/xb"));
        assert!(glob_match("a/**/b", "a/b"));
        assert!(glob_match("vendor/", "third/vendor/lib.go"));
        assert!(glob_match("vendor/", "vendor/lib.go"));
        assert!(!glob_match("vendor/", "vendors/lib.go"));
        let exclusions = Exclusions { defaults: true, globs: vec!["*.snap".to_owned()] };
        assert_eq!(
            exclusions.reason("a/b.snap").as_deref(),
            Some("excluded by the pattern `*.snap`")
        );
        assert_eq!(exclusions.reason("Cargo.lock").as_deref(), Some("lockfile"));
        let none = Exclusions { defaults: false, globs: Vec::new() };
        assert_eq!(none.reason("Cargo.lock"), None);
    }

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
