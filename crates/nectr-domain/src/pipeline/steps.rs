//! The steps of a review: the files to review and how each is treated, the request to the
//! reviewer, the answer, and the review to post.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::RepoFullName;
use crate::budget::fit;
use crate::code_host::{CodeHost, CodeHostError, FileList, Identity, NewReview, PullRequest};
use crate::diff::{FileDiff, parse_patch};
use crate::queue::RunError;
use crate::review::{
    Anchored, Coverage, CoverageEntry, PostingPolicy, StructuredReview, anchor, comment_for,
    render_body,
};

use super::{
    Exclusions, FileSummary, HostTools, ModelError, ModelReview, ReviewModel, ReviewRequest,
    Toolset,
};

/// What a code-host failure means for the job: retry later, retry, or give up.
pub(crate) fn classify(error: CodeHostError) -> RunError {
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
    listed: &FileList,
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
    let tools = Toolset::new(Arc::new(HostTools::new(
        code_host.clone(),
        who.clone(),
        repo.clone(),
        pull.head_sha.clone(),
    )));
    let request = ReviewRequest {
        repo: repo.clone(),
        pull,
        files,
        summarised,
        tools: Some(tools),
        sources: std::collections::BTreeMap::new(),
        memories: crate::memory::retrieval::ReviewMemories::default(),
        graph: crate::graph::GraphContext::default(),
        context: crate::context::ContextReport::default(),
    };
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
    let body = render_body(review, &anchored, &important, coverage, &request.context);
    let new_review = NewReview {
        commit_id: pull.head_sha.clone(),
        event: policy.event_for(review.verdict),
        body,
        comments: anchored.inline.iter().map(comment_for).collect(),
        marker: None,
    };
    (anchored, new_review)
}
