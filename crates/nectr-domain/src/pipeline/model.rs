//! What a reviewer is asked and answers: the `ReviewModel` port, its request and its errors.

use async_trait::async_trait;

use crate::RepoFullName;
use crate::code_host::PullRequest;
use crate::diff::FileDiff;
use crate::llm::Usage;
use crate::review::StructuredReview;

use super::Toolset;

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
    pub tools: Option<Toolset>,
    /// The text of changed files at the head commit, by path, where the caller already has it
    /// (`nectr review --git` reads it from the repository); empty otherwise. Rules that need to
    /// know what surrounds a hunk (is it inside a test module?) read it instead of guessing.
    pub sources: std::collections::BTreeMap<String, String>,
    /// What memory tells this review: every project rule, and the relevant memories about the
    /// project and the author (empty without memory, as for a local diff).
    pub memories: crate::memory::retrieval::ReviewMemories,
    /// What the code graph knows about the change: related pull requests, experts, blast
    /// radius (empty without a graph, as for a local diff).
    pub graph: crate::graph::GraphContext,
    /// What the team's other tools say about the change: tickets it names, production errors
    /// in its files, discussions about it, or why a provider had nothing (empty without
    /// providers, as for a local diff).
    pub context: crate::context::ContextReport,
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
            .field("memories", &self.memories.ids().len())
            .field("context", &self.context.providers.len())
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
