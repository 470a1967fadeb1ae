//! Memory around one review: what the pipeline puts into the request before asking the model,
//! the memory tools the agent may call, the hits it records once the review is posted, and the
//! learning afterwards. Memory is
//! advice: when the store fails, the review goes on without it, and says so (`MemoryFailure`).

use std::fmt::Write as _;
use std::sync::Arc;

use crate::RepoFullName;
use crate::pipeline::ReviewRequest;

use super::extraction::{FinishedReview, MemoryExtractor};
use super::retrieval::{MemoryRetrieval, ReviewMemories};
use super::{MemoryScope, MemorySearch, MemoryStore, MemoryStoreError};

/// The most memories one memory tool call answers with.
const TOOL_RESULTS: u32 = 8;

/// A part memory plays in a review.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemoryStep {
    /// Reading the rules and the relevant memories for the request.
    Retrieval,
    /// Counting the hits of the memories the review carried.
    Hits,
    /// Learning from the posted review.
    Learning,
}

impl MemoryStep {
    /// A stable snake_case name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Retrieval => "retrieval",
            Self::Hits => "hits",
            Self::Learning => "learning",
        }
    }
}

/// A part memory could not play in a review, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemoryFailure {
    /// The part.
    pub step: MemoryStep,
    /// The store's or the model's error.
    pub error: String,
}

impl MemoryFailure {
    /// The failure of `step` with `error`.
    pub fn new(step: MemoryStep, error: &impl std::fmt::Display) -> Self {
        Self { step, error: error.to_string() }
    }
}

impl std::fmt::Display for MemoryFailure {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "memory {} failed: {}", self.step.as_str(), self.error)
    }
}

/// The result document's `memory` part: whether memory played every part, and each failure.
pub fn memory_document(failures: &[MemoryFailure]) -> serde_json::Value {
    let failed: Vec<serde_json::Value> = failures
        .iter()
        .map(|failure| serde_json::json!({"step": failure.step.as_str(), "error": failure.error}))
        .collect();
    serde_json::json!({
        "status": match failures.is_empty() {
            true => "available",
            false => "unavailable",
        },
        "failures": failed,
    })
}

/// The pipeline's memory: retrieval, hit counting and learning on one store.
#[derive(Clone)]
pub struct ReviewMemory {
    store: Arc<dyn MemoryStore>,
    retrieval: MemoryRetrieval,
    extractor: MemoryExtractor,
}

impl ReviewMemory {
    /// Memory on `store`, retrieving with `retrieval` and learning with `extractor`.
    pub fn new(
        store: Arc<dyn MemoryStore>,
        retrieval: MemoryRetrieval,
        extractor: MemoryExtractor,
    ) -> Self {
        Self { store, retrieval, extractor }
    }

    /// The memories for `request` (its changed files, its author).
    ///
    /// # Errors
    /// The store's [`MemoryStoreError`].
    pub async fn for_request(
        &self,
        request: &ReviewRequest,
    ) -> Result<ReviewMemories, MemoryStoreError> {
        let mut paths: Vec<String> = request.files.iter().map(|file| file.path.clone()).collect();
        paths.extend(request.summarised.iter().map(|file| file.path.clone()));
        self.retrieval.for_review(&request.repo, &paths, &request.pull.author).await
    }

    /// Counts one review for each memory the request carried.
    ///
    /// # Errors
    /// The store's [`MemoryStoreError`].
    pub async fn record_hits(
        &self,
        repo: &RepoFullName,
        memories: &ReviewMemories,
    ) -> Result<(), MemoryStoreError> {
        self.store.record_hits(repo, &memories.ids()).await
    }

    /// The memory tools, answering from `repo`'s memories.
    pub fn lookups(&self, repo: &RepoFullName) -> MemoryLookups {
        MemoryLookups { store: self.store.clone(), repo: repo.clone() }
    }

    /// Learns from a posted review (nothing with the offline reviewer).
    ///
    /// # Errors
    /// [`super::extraction::ExtractionError`].
    pub async fn learn(
        &self,
        request: &ReviewRequest,
        body: &str,
    ) -> Result<usize, super::extraction::ExtractionError> {
        let review = FinishedReview {
            repo: request.repo.clone(),
            number: request.pull.number,
            author: request.pull.author.clone(),
            title: request.pull.title.clone(),
            files: request.files.iter().map(|file| file.path.clone()).collect(),
            review: body.to_owned(),
        };
        self.extractor.learn(&review).await
    }
}

/// The memory tools (`search_project_memory`, `search_developer_memory`) on one repository's
/// memories.
#[derive(Clone)]
pub struct MemoryLookups {
    store: Arc<dyn MemoryStore>,
    repo: RepoFullName,
}

impl MemoryLookups {
    async fn search(&self, query: &str, scope: MemoryScope) -> Result<String, String> {
        let search = MemorySearch {
            query: query.to_owned(),
            types: Vec::new(),
            scope: Some(scope),
            limit: TOOL_RESULTS,
        };
        let found =
            self.store.search(&self.repo, &search).await.map_err(|error| error.to_string())?;
        let mut text = String::new();
        for memory in &found {
            let _ = writeln!(text, "- [{}] {}", memory.memory_type, memory.content);
        }
        Ok(text)
    }

    /// Project memories relevant to `query`, one line each.
    ///
    /// # Errors
    /// The store's failure, as text for the model.
    pub async fn search_project_memory(&self, query: &str) -> Result<String, String> {
        let found = self.search(query, MemoryScope::Project).await?;
        match found.is_empty() {
            true => Ok("No relevant project memories found.".to_owned()),
            false => Ok(found),
        }
    }

    /// What memory holds about `developer` (with or without its `@`), relevant to `query`.
    ///
    /// # Errors
    /// The store's failure, as text for the model.
    pub async fn search_developer_memory(
        &self,
        developer: &str,
        query: &str,
    ) -> Result<String, String> {
        let login = developer.trim_start_matches('@');
        let found = self.search(query, MemoryScope::developer(login)).await?;
        match found.is_empty() {
            true => Ok(format!("No memories found for @{login}.")),
            false => Ok(format!("@{login} memory:\n{found}")),
        }
    }
}
