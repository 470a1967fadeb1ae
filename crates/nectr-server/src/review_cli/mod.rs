//! `nectr review`: the configured reviewer (the offline rules by default) on a local unified
//! diff (`--diff FILE`, `-` for standard input), for CI steps and git hooks, on a live pull
//! request (`--repo OWNER/NAME --pr N`), printed, and posted with `--post`, or on each commit of
//! a local repository's history (`--git REV_RANGE`, `--last N`: the `git` module).

mod git;

use std::io::Read as _;
use std::path::PathBuf;

use anyhow::{Context as _, bail};
use nectr_agents::structured::review_to_json;
use nectr_domain::code_host::{CodeHost, Identity, PullRequest, State};
use nectr_domain::diff::{FileDiff, parse_unified_diff};
use nectr_domain::pipeline::{FileSummary, ModelReview, ReviewRequest, ask, compose, gather, plan};
use nectr_domain::review::{Coverage, CoverageEntry, Severity};
use nectr_domain::{AccessToken, RepoFullName};
use nectr_github::OctocrabHost;
use secrecy::ExposeSecret;

pub use self::git::History;
use crate::Settings;
use crate::models::build_reviewer;

/// What to review and how to report it.
#[derive(Clone, Debug)]
pub struct ReviewArgs {
    /// A unified diff file, or `-`.
    pub diff: Option<PathBuf>,
    /// Commits of the local repository, each reviewed on its own.
    pub history: Option<History>,
    /// A repository, with `pr`.
    pub repo: Option<String>,
    /// A pull request number, with `repo`.
    pub pr: Option<u64>,
    /// Post the review on the pull request.
    pub post: bool,
    /// Print the structured review as JSON instead of the markdown body.
    pub json: bool,
    /// Fail (exit status 1) when a finding reaches this severity.
    pub fail_on: Option<String>,
}

fn local_pull(title: &str) -> PullRequest {
    PullRequest {
        number: 0,
        title: title.to_owned(),
        body: None,
        state: State::Open,
        merged: false,
        draft: false,
        author: "local".to_owned(),
        head_sha: String::new(),
        head_ref: "HEAD".to_owned(),
        base_sha: String::new(),
        base_ref: "base".to_owned(),
        html_url: String::new(),
        additions: 0,
        deletions: 0,
        changed_files: 0,
        commits: 0,
        created_at: None,
        merged_at: None,
    }
}

/// The files the reviewer reads, fitted to its budget; excluded files are left out.
fn candidates(
    settings: &Settings,
    files: Vec<FileDiff>,
    budget_tokens: usize,
) -> (Vec<FileDiff>, Vec<FileSummary>) {
    let (files, summarised, _) = fit(settings, files, budget_tokens);
    (files, summarised)
}

/// The files the reviewer reads, the ones summarised, and every file's coverage.
fn fit(
    settings: &Settings,
    files: Vec<FileDiff>,
    budget_tokens: usize,
) -> (Vec<FileDiff>, Vec<FileSummary>, Vec<CoverageEntry>) {
    let exclusions = settings.review.exclusions();
    let mut candidates = Vec::new();
    let mut skipped = Vec::new();
    for file in files {
        match exclusions.reason(&file.path) {
            Some(reason) => {
                skipped.push(CoverageEntry { path: file.path, coverage: Coverage::Skipped(reason) })
            }
            None => candidates.push(file),
        }
    }
    plan(candidates, skipped, budget_tokens)
}

fn read_diff(path: &PathBuf) -> anyhow::Result<String> {
    let mut text = String::new();
    if path.as_os_str() == "-" {
        std::io::stdin()
            .read_to_string(&mut text)
            .context("cannot read the diff from standard input")?;
    } else {
        text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
    }
    Ok(text)
}

fn to_json(answer: &ModelReview, coverage: &[CoverageEntry]) -> serde_json::Value {
    let coverage: Vec<serde_json::Value> = coverage
        .iter()
        .map(|entry| {
            let (status, reason) = match &entry.coverage {
                Coverage::Reviewed => ("reviewed", None),
                Coverage::Summarised(why) => ("summarised", Some(why.as_str())),
                Coverage::Skipped(why) => ("skipped", Some(why.as_str())),
            };
            serde_json::json!({"path": entry.path, "status": status, "reason": reason})
        })
        .collect();
    let mut json = review_to_json(&answer.review);
    json["model"] = serde_json::json!(answer.model);
    json["usage"] = serde_json::json!(answer.usage);
    json["cost_usd"] = serde_json::json!(answer.cost_usd);
    json["coverage"] = serde_json::Value::Array(coverage);
    json
}

/// Runs the review; answers what to print and whether a finding reached `fail_on`.
///
/// # Errors
/// When the input cannot be read, the reviewer is misconfigured or unavailable, or GitHub
/// refuses.
pub async fn review(settings: &Settings, args: &ReviewArgs) -> anyhow::Result<(String, bool)> {
    let threshold = args.fail_on.as_deref().and_then(Severity::parse);
    if let Some(history) = &args.history {
        if args.post || args.diff.is_some() || args.repo.is_some() {
            bail!("--git and --last review local history: no --diff, --repo or --post with them");
        }
        return git::review_history(settings, history, args.json, threshold).await;
    }
    let model = build_reviewer(&settings.review)?;
    let policy = settings.review.policy();
    let mut posted = None;
    let (pull, request, coverage) = match (&args.diff, &args.repo, args.pr) {
        (Some(diff), None, None) => {
            if args.post {
                bail!("--post needs --repo and --pr: a local diff has nowhere to be posted");
            }
            let files =
                parse_unified_diff(&read_diff(diff)?).context("the input is not a unified diff")?;
            let (files, summarised, coverage) = fit(settings, files, model.diff_budget_tokens());
            let pull = local_pull(&format!("Local diff {}", diff.display()));
            let request = ReviewRequest {
                repo: RepoFullName::parse("local/diff").context("the local repository name")?,
                pull: pull.clone(),
                files,
                summarised,
                tools: None,
                sources: std::collections::BTreeMap::new(),
                memories: nectr_domain::memory::retrieval::ReviewMemories::default(),
                graph: nectr_domain::graph::GraphContext::default(),
                context: nectr_domain::context::ContextReport::default(),
            };
            (pull, request, coverage)
        }
        (None, Some(repo), Some(number)) => {
            let repo =
                RepoFullName::parse(repo).with_context(|| format!("{repo:?} is not OWNER/NAME"))?;
            let Some(pat) = &settings.github.pat else {
                bail!(
                    "set GITHUB_PAT to a token that can read {repo} (and write reviews, with --post)"
                );
            };
            let who = Identity::Token(AccessToken::new(pat.expose_secret()));
            let host: std::sync::Arc<dyn CodeHost> =
                std::sync::Arc::new(OctocrabHost::new(settings.github.clone())?);
            let pull = host
                .pull_request(&who, &repo, number)
                .await
                .with_context(|| format!("cannot read {repo}#{number}"))?;
            let exclusions = settings.review.exclusions();
            let (request, coverage) =
                gather(&host, &who, &repo, pull.clone(), &exclusions, model.diff_budget_tokens())
                    .await
                    .map_err(|error| anyhow::anyhow!("cannot read {repo}#{number}: {error}"))?;
            posted = Some((host, who, repo, number));
            (pull, request, coverage)
        }
        _ => bail!(
            "review either --diff FILE, --git REV_RANGE, --last N, or --repo OWNER/NAME with --pr N"
        ),
    };
    let answer = ask(model.as_ref(), &request)
        .await
        .map_err(|error| anyhow::anyhow!("the review failed: {error}"))?;
    let (_, new_review) = compose(policy, &pull, &request, &answer.review, &coverage);
    if args.post
        && let Some((host, who, repo, number)) = posted
    {
        host.post_review(&who, &repo, number, &new_review)
            .await
            .with_context(|| format!("cannot post the review on {repo}#{number}"))?;
        eprintln!("posted a {} review on {repo}#{number}", new_review.event.as_str());
    }
    let failed = threshold.is_some_and(|threshold| {
        answer.review.findings.iter().any(|finding| finding.severity >= threshold)
    });
    let output = if args.json {
        serde_json::to_string_pretty(&to_json(&answer, &coverage))? + "\n"
    } else {
        new_review.body
    };
    Ok((output, failed))
}
