//! Scanning a repository into the graph: the files of the default branch from one archive
//! (streamed; contents are read for import extraction and dropped), written in chunks with the
//! scan's generation, then the resolved import edges, then the stale files removed. A commit
//! that was scanned already is not scanned again.

use std::sync::Arc;

use chrono::Utc;
use futures_util::StreamExt;

use super::imports::{self, ImportRef, ProjectFact, TreeIndex};
use super::{
    CodeGraph, EDGE_CHUNK, FILE_CHUNK, FileNode, GraphError, ImportEdge, Language, ScanRecord,
    is_ignored_path,
};
use crate::RepoFullName;
use crate::code_host::{CodeHost, CodeHostError, Identity};

/// Files larger than this are indexed without reading their contents.
pub const MAX_TEXT_BYTES: u64 = 512 * 1024;

/// Where a scan is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScanPhase {
    /// Waiting for a free scanner.
    Queued,
    /// Reading the archive and writing files.
    Running,
    /// Writing import edges.
    Linking,
    /// Done.
    Completed,
    /// Failed; see the error.
    Failed,
}

impl ScanPhase {
    /// Its name in the API.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Linking => "linking",
            Self::Completed => "completed",
            Self::Failed => "failed",
        }
    }

    /// Whether the scan is still going.
    pub const fn is_active(self) -> bool {
        matches!(self, Self::Queued | Self::Running | Self::Linking)
    }
}

/// A scan's progress, for the API to show.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScanProgress {
    /// Where it is.
    pub phase: ScanPhase,
    /// Archive entries read.
    pub files_seen: u64,
    /// Files written.
    pub files_written: u64,
    /// Import edges written.
    pub edges: u64,
    /// The commit being scanned, once known.
    pub commit: Option<String>,
    /// Why it failed.
    pub error: Option<String>,
}

impl ScanProgress {
    /// A scan waiting to start.
    pub fn queued() -> Self {
        Self {
            phase: ScanPhase::Queued,
            files_seen: 0,
            files_written: 0,
            edges: 0,
            commit: None,
            error: None,
        }
    }
}

/// What a scan did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScanOutcome {
    /// The commit was scanned already; nothing was written.
    Unchanged(ScanRecord),
    /// Scanned.
    Scanned {
        /// The recorded scan.
        record: ScanRecord,
        /// Stale files removed.
        removed: u64,
    },
}

impl ScanOutcome {
    /// The scan now recorded.
    pub fn record(&self) -> &ScanRecord {
        match self {
            Self::Unchanged(record) | Self::Scanned { record, .. } => record,
        }
    }
}

/// Why a scan failed.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    /// The code host failed.
    #[error(transparent)]
    Host(#[from] CodeHostError),
    /// The graph failed.
    #[error(transparent)]
    Graph(#[from] GraphError),
    /// The archive held no file to index (for a private repository: check the token's `repo`
    /// scope).
    #[error("the default branch has no file to index (check the token's 'repo' scope)")]
    EmptyTree,
    /// Anything else.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// Starts scans in the background and tells how they are going; `nectr-server` implements it
/// with bounded concurrency.
pub trait ScanScheduler: Send + Sync {
    /// Queues a scan of `repo` as `who`, unless one is active; answers its progress.
    fn request(&self, repo: &RepoFullName, who: Identity) -> ScanProgress;

    /// The progress of the latest scan of `repo` this process ran, if any.
    fn progress(&self, repo: &RepoFullName) -> Option<ScanProgress>;
}

/// Scans repositories into a [`CodeGraph`].
#[derive(Clone)]
pub struct GraphScanner {
    host: Arc<dyn CodeHost>,
    graph: Arc<dyn CodeGraph>,
}

/// The files and references collected while the archive streams.
#[derive(Default)]
struct Collected {
    paths: Vec<String>,
    refs: Vec<(usize, Vec<ImportRef>)>,
    facts: Vec<(usize, ProjectFact)>,
}

impl GraphScanner {
    /// A scanner reading from `host` and writing to `graph`.
    pub fn new(host: Arc<dyn CodeHost>, graph: Arc<dyn CodeGraph>) -> Self {
        Self { host, graph }
    }

    /// The graph written to.
    pub fn graph(&self) -> &Arc<dyn CodeGraph> {
        &self.graph
    }

    /// Scans the default branch of `repo`, reporting progress through `report`.
    ///
    /// # Errors
    /// [`ScanError::Host`] or [`ScanError::Graph`] when a call fails, [`ScanError::EmptyTree`]
    /// when nothing could be indexed.
    pub async fn scan(
        &self,
        who: &Identity,
        repo: &RepoFullName,
        report: &(dyn Fn(&ScanProgress) + Send + Sync),
    ) -> Result<ScanOutcome, ScanError> {
        let repository = self.host.repository(who, repo).await?;
        let commit = self.host.branch_head(who, repo, &repository.default_branch).await?;
        let previous = self.graph.scan_record(repo).await?;
        if let Some(previous) = previous.as_ref().filter(|previous| previous.commit == commit) {
            return Ok(ScanOutcome::Unchanged(previous.clone()));
        }
        let generation = previous.map_or(1, |previous| previous.generation + 1);
        let mut progress = ScanProgress {
            phase: ScanPhase::Running,
            commit: Some(commit.clone()),
            ..ScanProgress::queued()
        };
        report(&progress);
        let collected =
            self.write_files(who, repo, &commit, generation, &mut progress, report).await?;
        if collected.paths.is_empty() {
            return Err(ScanError::EmptyTree);
        }
        progress.phase = ScanPhase::Linking;
        report(&progress);
        self.write_edges(repo, generation, collected, &mut progress, report).await?;
        let record = ScanRecord {
            commit,
            generation,
            files_indexed: progress.files_written,
            edges_indexed: progress.edges,
            scanned_at: Utc::now(),
        };
        let removed = self.graph.finish_scan(repo, &record).await?;
        Ok(ScanOutcome::Scanned { record, removed })
    }

    async fn write_files(
        &self,
        who: &Identity,
        repo: &RepoFullName,
        commit: &str,
        generation: i64,
        progress: &mut ScanProgress,
        report: &(dyn Fn(&ScanProgress) + Send + Sync),
    ) -> Result<Collected, ScanError> {
        let mut archive =
            self.host.archive(who, repo, commit, imports::wants_content, MAX_TEXT_BYTES).await?;
        let mut collected = Collected::default();
        let mut chunk: Vec<FileNode> = Vec::with_capacity(FILE_CHUNK);
        while let Some(file) = archive.next().await {
            let file = file?;
            progress.files_seen += 1;
            if is_ignored_path(&file.path) {
                continue;
            }
            let index = collected.paths.len();
            if let Some(text) = file.text.as_deref() {
                let extracted = imports::extract(&file.path, text);
                if !extracted.refs.is_empty() {
                    collected.refs.push((index, extracted.refs));
                }
                collected.facts.extend(extracted.fact.map(|fact| (index, fact)));
            }
            chunk.push(FileNode {
                language: Language::of_path(&file.path),
                size: file.size,
                path: file.path.clone(),
            });
            collected.paths.push(file.path);
            if chunk.len() == FILE_CHUNK {
                self.graph.upsert_files(repo, generation, &chunk).await?;
                progress.files_written += chunk.len() as u64;
                chunk.clear();
                report(progress);
            }
        }
        if !chunk.is_empty() {
            self.graph.upsert_files(repo, generation, &chunk).await?;
            progress.files_written += chunk.len() as u64;
            report(progress);
        }
        Ok(collected)
    }

    async fn write_edges(
        &self,
        repo: &RepoFullName,
        generation: i64,
        collected: Collected,
        progress: &mut ScanProgress,
        report: &(dyn Fn(&ScanProgress) + Send + Sync),
    ) -> Result<(), ScanError> {
        let mut index = TreeIndex::new(collected.paths.iter().map(String::as_str));
        for (file, fact) in collected.facts {
            index.add_fact(&collected.paths[file], fact);
        }
        let mut chunk: Vec<ImportEdge> = Vec::with_capacity(EDGE_CHUNK);
        for (file, refs) in &collected.refs {
            let source = &collected.paths[*file];
            for target in index.resolve(source, refs) {
                chunk.push(ImportEdge { source: source.clone(), target });
                if chunk.len() == EDGE_CHUNK {
                    self.graph.upsert_imports(repo, generation, &chunk).await?;
                    progress.edges += chunk.len() as u64;
                    chunk.clear();
                    report(progress);
                }
            }
        }
        if !chunk.is_empty() {
            self.graph.upsert_imports(repo, generation, &chunk).await?;
            progress.edges += chunk.len() as u64;
            report(progress);
        }
        Ok(())
    }
}
