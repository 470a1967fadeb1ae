//! Memory around one review: what the pipeline puts into the request before asking the model,
//! the hits it records once the review is posted, and the learning afterwards. Memory is
//! advice: when the store fails, the review goes on without it.

use std::fmt::Write as _;
use std::sync::Arc;

use async_trait::async_trait;

use crate::RepoFullName;
use crate::pipeline::{ReviewRequest, ReviewTools};

use super::extraction::{FinishedReview, MemoryExtractor};
use super::retrieval::{MemoryRetrieval, ReviewMemories};
use super::{MemoryScope, MemorySearch, MemoryStore, MemoryStoreError};

/// The most memories one memory tool call answers with.
const TOOL_RESULTS: u32 = 8;

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

    /// `tools` with the memory tools added, answering from `repo`'s memories.
    pub fn tools(&self, tools: Arc<dyn ReviewTools>, repo: &RepoFullName) -> Arc<dyn ReviewTools> {
        Arc::new(MemoryTools { inner: tools, store: self.store.clone(), repo: repo.clone() })
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

/// Lookup tools with `search_project_memory` and `search_developer_memory` answered from one
/// repository's memories; every other tool is the inner one's.
struct MemoryTools {
    inner: Arc<dyn ReviewTools>,
    store: Arc<dyn MemoryStore>,
    repo: RepoFullName,
}

impl MemoryTools {
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
}

#[async_trait]
impl ReviewTools for MemoryTools {
    async fn read_file(&self, path: &str) -> Result<String, String> {
        self.inner.read_file(path).await
    }

    async fn file_history(&self, path: &str) -> Result<String, String> {
        self.inner.file_history(path).await
    }

    async fn issue(&self, number: u64) -> Result<String, String> {
        self.inner.issue(number).await
    }

    async fn search_open_issues(&self, query: &str) -> Result<String, String> {
        self.inner.search_open_issues(query).await
    }

    fn searches_tickets(&self) -> bool {
        self.inner.searches_tickets()
    }

    async fn search_tickets(&self, query: &str) -> Result<String, String> {
        self.inner.search_tickets(query).await
    }

    async fn search_project_memory(&self, query: &str) -> Result<String, String> {
        let found = self.search(query, MemoryScope::Project).await?;
        match found.is_empty() {
            true => Ok("No relevant project memories found.".to_owned()),
            false => Ok(found),
        }
    }

    async fn search_developer_memory(
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
