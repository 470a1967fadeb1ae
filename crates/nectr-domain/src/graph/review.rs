//! The code graph in a review: what it tells the reviewer before it starts (related past pull
//! requests, the changed files' experts and their blast radius: deterministic context), the
//! lookups an agent may make (`get_file_history`, `get_dependents`), and what a finished review
//! adds to the graph (the pull request, its author, touched files and closed issues).

use std::fmt::Write as _;
use std::sync::Arc;

use chrono::Utc;

use super::{
    BlastRadius, CodeGraph, FileExpert, GraphError, GraphVerdict, PullRequestNode,
    RelatedPullRequest,
};
use crate::RepoFullName;
use crate::code_host::PullRequest;
use crate::review::Verdict;

/// Related pull requests and experts given to a review.
pub const CONTEXT_TOP: u32 = 5;
/// Dependents listed per hop.
pub const DEPENDENTS_TOP: u32 = 15;
/// Changed files whose own dependents are counted (for the offline reviewer's rule).
pub const PER_FILE_PATHS: usize = 20;

/// What the graph knows about a change.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GraphContext {
    /// Past reviewed pull requests touching the same files (never the current one).
    pub related: Vec<RelatedPullRequest>,
    /// Developers who touched these files most.
    pub experts: Vec<FileExpert>,
    /// Files that depend on the changed ones.
    pub blast_radius: BlastRadius,
    /// Each changed file (up to [`PER_FILE_PATHS`]) with its dependents, one and two hops.
    pub dependents_per_file: Vec<(String, u64)>,
}

impl GraphContext {
    /// Whether the graph had nothing to say.
    pub fn is_empty(&self) -> bool {
        self.related.is_empty() && self.experts.is_empty() && self.blast_radius.is_empty()
    }

    /// The context as prompt text; empty when there is none, so a review without a graph reads
    /// exactly as before.
    pub fn render(&self) -> String {
        if self.is_empty() {
            return String::new();
        }
        let mut text = String::from("## Repository knowledge graph\n");
        if !self.related.is_empty() {
            text.push_str("Related past pull requests (files in common):\n");
            for pr in &self.related {
                let verdict = pr.verdict.map_or("no verdict", GraphVerdict::as_str);
                let _ = writeln!(
                    text,
                    "- PR #{} [{verdict}] by @{}: {} ({} shared)",
                    pr.number, pr.author, pr.title, pr.overlap
                );
            }
        }
        if !self.experts.is_empty() {
            let experts: Vec<String> = self
                .experts
                .iter()
                .map(|e| format!("@{} ({} touches)", e.login, e.touches))
                .collect();
            let _ = writeln!(text, "File experts: {}", experts.join(", "));
        }
        if !self.blast_radius.is_empty() {
            let _ = writeln!(
                text,
                "Blast radius: {} files import the changed ones directly{}, {} more through them{}",
                self.blast_radius.direct.len(),
                listed(&self.blast_radius.direct),
                self.blast_radius.transitive.len(),
                listed(&self.blast_radius.transitive),
            );
        }
        text
    }
}

fn listed(paths: &[String]) -> String {
    match paths.is_empty() {
        true => String::new(),
        false => format!(" ({})", paths.join(", ")),
    }
}

/// The verdict as the graph stores it.
pub fn graph_verdict(verdict: Verdict) -> GraphVerdict {
    match verdict {
        Verdict::Approve => GraphVerdict::Approve,
        Verdict::RequestChanges => GraphVerdict::RequestChanges,
        Verdict::NeedsDiscussion => GraphVerdict::NeedsDiscussion,
    }
}

/// Issues a pull request's body says it closes (`closes #12`, `fixes #3`, `resolved #7`, …),
/// in order, without duplicates.
pub fn closing_issues(body: &str) -> Vec<u64> {
    const KEYWORDS: &[&str] =
        &["close", "closes", "closed", "fix", "fixes", "fixed", "resolve", "resolves", "resolved"];
    let words: Vec<&str> = body.split_whitespace().collect();
    let mut issues = Vec::new();
    for pair in words.windows(2) {
        let keyword = pair[0].trim_end_matches(':').to_ascii_lowercase();
        if !KEYWORDS.contains(&keyword.as_str()) {
            continue;
        }
        let number = pair[1]
            .strip_prefix('#')
            .map(|rest| rest.chars().take_while(char::is_ascii_digit).collect::<String>());
        if let Some(number) = number.and_then(|digits| digits.parse::<u64>().ok())
            && !issues.contains(&number)
        {
            issues.push(number);
        }
    }
    issues
}

/// The graph as the review pipeline uses it.
#[derive(Clone)]
pub struct ReviewGraph {
    graph: Arc<dyn CodeGraph>,
}

impl ReviewGraph {
    /// Over `graph`.
    pub fn new(graph: Arc<dyn CodeGraph>) -> Self {
        Self { graph }
    }

    /// What the graph knows about changing `paths` in pull request `number`.
    ///
    /// # Errors
    /// [`GraphError`].
    pub async fn context(
        &self,
        repo: &RepoFullName,
        number: u64,
        paths: &[String],
    ) -> Result<GraphContext, GraphError> {
        let related =
            self.graph.related_pull_requests(repo, paths, Some(number), CONTEXT_TOP).await?;
        let experts = self.graph.file_experts(repo, paths, CONTEXT_TOP).await?;
        let blast_radius = self.graph.dependents(repo, paths, DEPENDENTS_TOP).await?;
        let mut dependents_per_file = Vec::new();
        for path in paths.iter().take(PER_FILE_PATHS) {
            let own = self.graph.dependents(repo, std::slice::from_ref(path), 100).await?;
            dependents_per_file
                .push((path.clone(), (own.direct.len() + own.transitive.len()) as u64));
        }
        Ok(GraphContext { related, experts, blast_radius, dependents_per_file })
    }

    /// Records a finished review: the pull request, its author, the files it changed and the
    /// issues it closes. A re-review replaces what the last one recorded.
    ///
    /// # Errors
    /// [`GraphError`].
    pub async fn record(
        &self,
        repo: &RepoFullName,
        pull: &PullRequest,
        verdict: Verdict,
        files: Vec<String>,
    ) -> Result<(), GraphError> {
        let node = PullRequestNode {
            number: pull.number,
            title: pull.title.clone(),
            author: pull.author.clone(),
            verdict: Some(graph_verdict(verdict)),
            head_sha: pull.head_sha.clone(),
            reviewed_at: Utc::now(),
            files,
            closes: closing_issues(pull.body.as_deref().unwrap_or_default()),
        };
        self.graph.record_pull_request(repo, &node).await
    }

    /// The graph's lookups for pull request `number` of `repo`.
    pub fn lookups(&self, repo: &RepoFullName, number: u64) -> GraphLookups {
        GraphLookups { graph: self.graph.clone(), repo: repo.clone(), number }
    }
}

/// The graph's lookups (`get_file_history`, `get_dependents`) for one pull request.
#[derive(Clone)]
pub struct GraphLookups {
    graph: Arc<dyn CodeGraph>,
    repo: RepoFullName,
    number: u64,
}

impl GraphLookups {
    /// The developers who touched `paths` (the first ten) and past pull requests touching them.
    ///
    /// # Errors
    /// The graph's failure, as text for the model.
    pub async fn file_history(&self, paths: &[String]) -> Result<String, String> {
        let paths: Vec<String> = paths.iter().take(10).cloned().collect();
        let experts = self.graph.file_experts(&self.repo, &paths, CONTEXT_TOP).await;
        let related = self
            .graph
            .related_pull_requests(&self.repo, &paths, Some(self.number), CONTEXT_TOP)
            .await;
        let context = GraphContext {
            experts: experts.map_err(|error| error.to_string())?,
            related: related.map_err(|error| error.to_string())?,
            ..GraphContext::default()
        };
        match context.is_empty() {
            true => Ok("No history found for these files.".to_owned()),
            false => Ok(context.render()),
        }
    }

    /// The files importing `paths`, one and two hops away.
    ///
    /// # Errors
    /// The graph's failure, as text for the model.
    pub async fn dependents(&self, paths: &[String]) -> Result<String, String> {
        let radius = self
            .graph
            .dependents(&self.repo, paths, DEPENDENTS_TOP)
            .await
            .map_err(|error| error.to_string())?;
        match radius.is_empty() {
            true => Ok("No indexed file imports these files.".to_owned()),
            false => Ok(GraphContext { blast_radius: radius, ..GraphContext::default() }.render()),
        }
    }
}
