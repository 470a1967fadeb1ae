//! The repository knowledge graph: files of the default branch and the imports between them,
//! the pull requests Nectr reviewed with their authors, touched files and closed issues, and the
//! queries the review and the dashboard ask of it, behind the [`CodeGraph`] port.
//!
//! Developers are scoped per repository: every node and relation belongs to one repository, so
//! the same login in two tenants' repositories is two developers.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::RepoFullName;

pub mod imports;
pub mod language;
pub mod review;
pub mod scan;

pub use language::{Language, is_ignored_path};
pub use review::{GraphContext, ReviewGraph};
pub use scan::{GraphScanner, ScanError, ScanOutcome, ScanPhase, ScanProgress, ScanScheduler};

/// Files written per call while scanning, so a 100,000-file tree is written in bounded memory.
pub const FILE_CHUNK: usize = 1_000;
/// Import edges written per call.
pub const EDGE_CHUNK: usize = 2_000;
/// At most this many paths are asked about in one query; the rest are ignored.
pub const MAX_QUERY_PATHS: usize = 200;

/// A file of the default branch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileNode {
    /// Path from the repository root.
    pub path: String,
    /// Language, from the extension.
    pub language: Language,
    /// Size in bytes.
    pub size: u64,
}

/// `source` imports `target` (both paths of the repository).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ImportEdge {
    /// The importing file.
    pub source: String,
    /// The imported file.
    pub target: String,
}

/// The last completed scan of a repository.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScanRecord {
    /// The commit scanned.
    pub commit: String,
    /// Increases by one with every completed scan; rows of older scans are stale.
    pub generation: i64,
    /// Files indexed.
    pub files_indexed: u64,
    /// Import edges indexed.
    pub edges_indexed: u64,
    /// When it completed.
    pub scanned_at: DateTime<Utc>,
}

/// The verdict a review gave a pull request, as the graph stores it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GraphVerdict {
    /// Approve.
    Approve,
    /// Request changes.
    RequestChanges,
    /// Needs discussion.
    NeedsDiscussion,
}

impl GraphVerdict {
    /// Every verdict.
    pub const ALL: [Self; 3] = [Self::Approve, Self::RequestChanges, Self::NeedsDiscussion];

    /// The original's name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Approve => "APPROVE",
            Self::RequestChanges => "REQUEST_CHANGES",
            Self::NeedsDiscussion => "NEEDS_DISCUSSION",
        }
    }

    /// The verdict named `text`, if any.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|verdict| verdict.as_str() == text)
    }
}

/// A reviewed pull request, with what it touched: written after each review. A re-review of the
/// same pull request replaces the earlier one's touches and issues instead of adding to them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PullRequestNode {
    /// Its number.
    pub number: u64,
    /// Title.
    pub title: String,
    /// The author's login (a developer of this repository).
    pub author: String,
    /// The review's verdict.
    pub verdict: Option<GraphVerdict>,
    /// The head commit reviewed.
    pub head_sha: String,
    /// When it was reviewed.
    pub reviewed_at: DateTime<Utc>,
    /// Files it changed.
    pub files: Vec<String>,
    /// Issues it closes.
    pub closes: Vec<u64>,
}

/// A past pull request sharing files with the current change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RelatedPullRequest {
    /// Its number.
    pub number: u64,
    /// Title.
    pub title: String,
    /// Author.
    pub author: String,
    /// Its verdict.
    pub verdict: Option<GraphVerdict>,
    /// Files in common.
    pub overlap: u64,
}

/// A developer who touched the files in question.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileExpert {
    /// Login.
    pub login: String,
    /// Touches of those files by their pull requests.
    pub touches: u64,
}

/// The files that depend on a change: its blast radius.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BlastRadius {
    /// Files importing a changed file (one hop), by path.
    pub direct: Vec<String>,
    /// Files importing those (two hops), neither changed nor direct, by path.
    pub transitive: Vec<String>,
}

impl BlastRadius {
    /// Whether nothing depends on the change.
    pub fn is_empty(&self) -> bool {
        self.direct.is_empty() && self.transitive.is_empty()
    }

    /// The blast radius from each dependent's distance (`(path, hops)`, in the order they
    /// should be listed): the changed files left out, one hop direct, more transitive, each
    /// list capped at `limit`.
    pub fn from_distances(
        rows: impl IntoIterator<Item = (String, i64)>,
        changed: &[String],
        limit: u32,
    ) -> Self {
        let mut radius = Self::default();
        for (path, hops) in rows {
            if changed.contains(&path) {
                continue;
            }
            match hops {
                1 => radius.direct.push(path),
                _ => radius.transitive.push(path),
            }
        }
        radius.direct.truncate(limit as usize);
        radius.transitive.truncate(limit as usize);
        radius
    }
}

/// A file and how many reviewed pull requests touched it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileActivity {
    /// Path.
    pub path: String,
    /// Language.
    pub language: Language,
    /// Pull requests (for high-risk files: those with `REQUEST_CHANGES`).
    pub count: u64,
}

/// Files no reviewed pull request touched.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UntouchedFiles {
    /// How many.
    pub count: u64,
    /// The first ones by path.
    pub sample: Vec<(String, Language)>,
}

/// Who touched a file most.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ownership {
    /// Path.
    pub path: String,
    /// The developer with most touches (ties: the smaller login).
    pub owner: String,
    /// Their touches.
    pub owner_touches: u64,
    /// Every touch of the file.
    pub total_touches: u64,
}

/// Where a developer works: touches per top-level directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expertise {
    /// Login.
    pub login: String,
    /// Up to four directories (`(root)` for files at the root), most touched first.
    pub top_dirs: Vec<(String, u64)>,
    /// Every touch.
    pub total_touches: u64,
}

/// An indexed file, with the reviewed pull requests that touched it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexedFile {
    /// Path.
    pub path: String,
    /// Language.
    pub language: Language,
    /// Size in bytes.
    pub size: u64,
    /// Distinct pull requests touching it.
    pub pr_count: u64,
}

/// Why two files are linked in the repository graph.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkKind {
    /// One imports the other.
    Import,
    /// Pull requests changed both.
    CoChange,
}

impl LinkKind {
    /// The original's name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Import => "import",
            Self::CoChange => "co_change",
        }
    }
}

/// A link of the repository graph.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GraphLink {
    /// A path.
    pub source: String,
    /// A path.
    pub target: String,
    /// 1 for an import; pull requests in common for a co-change.
    pub weight: u64,
    /// Why.
    pub kind: LinkKind,
}

/// The repository graph for visualisation: the most touched files, and links only between them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RepositoryGraph {
    /// Files, most touched first, then by path.
    pub nodes: Vec<IndexedFile>,
    /// Links between returned nodes; a co-change replaces an import between the same two files.
    pub links: Vec<GraphLink>,
}

/// Why a graph call failed.
#[derive(Debug, thiserror::Error)]
pub enum GraphError {
    /// The graph store is unreachable (for Neo4j: down or restarting).
    #[error("the code graph is unavailable: {0}")]
    Unavailable(String),
    /// Anything else.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// The repository knowledge graph.
///
/// Contract for every implementation (checked by the shared contract suite):
/// - Everything is per repository, names compared ignoring case; no query sees another
///   repository's files, pull requests or developers.
/// - `upsert_files` and `upsert_imports` stamp rows with the scan's generation; `finish_scan`
///   removes files and imports of older generations and records the scan.
/// - `record_pull_request` replaces the pull request's touches and closed issues.
/// - Lists are ordered as each method says, ties by path or login, and capped by `limit`.
#[async_trait]
pub trait CodeGraph: Send + Sync {
    /// The last completed scan, if any.
    ///
    /// # Errors
    /// [`GraphError`].
    async fn scan_record(&self, repo: &RepoFullName) -> Result<Option<ScanRecord>, GraphError>;

    /// Writes (or updates) files of the scan `generation`.
    ///
    /// # Errors
    /// [`GraphError`].
    async fn upsert_files(
        &self,
        repo: &RepoFullName,
        generation: i64,
        files: &[FileNode],
    ) -> Result<(), GraphError>;

    /// Writes (or re-stamps) import edges of the scan `generation`.
    ///
    /// # Errors
    /// [`GraphError`].
    async fn upsert_imports(
        &self,
        repo: &RepoFullName,
        generation: i64,
        edges: &[ImportEdge],
    ) -> Result<(), GraphError>;

    /// Removes what older scans wrote and records this one; answers the stale files removed.
    ///
    /// # Errors
    /// [`GraphError`].
    async fn finish_scan(&self, repo: &RepoFullName, scan: &ScanRecord) -> Result<u64, GraphError>;

    /// Records a reviewed pull request, its author, touched files and closed issues.
    ///
    /// # Errors
    /// [`GraphError`].
    async fn record_pull_request(
        &self,
        repo: &RepoFullName,
        pull_request: &PullRequestNode,
    ) -> Result<(), GraphError>;

    /// Reviewed pull requests (with a verdict) touching `paths`, most overlap first, then newest;
    /// never `exclude`.
    ///
    /// # Errors
    /// [`GraphError`].
    async fn related_pull_requests(
        &self,
        repo: &RepoFullName,
        paths: &[String],
        exclude: Option<u64>,
        limit: u32,
    ) -> Result<Vec<RelatedPullRequest>, GraphError>;

    /// Authors of pull requests touching `paths`, most touches first.
    ///
    /// # Errors
    /// [`GraphError`].
    async fn file_experts(
        &self,
        repo: &RepoFullName,
        paths: &[String],
        limit: u32,
    ) -> Result<Vec<FileExpert>, GraphError>;

    /// Files importing `paths` (one hop) and importing those (two hops), each list by path and
    /// capped at `limit`.
    ///
    /// # Errors
    /// [`GraphError`].
    async fn dependents(
        &self,
        repo: &RepoFullName,
        paths: &[String],
        limit: u32,
    ) -> Result<BlastRadius, GraphError>;

    /// Files by the pull requests touching them, most first.
    ///
    /// # Errors
    /// [`GraphError`].
    async fn hotspots(
        &self,
        repo: &RepoFullName,
        limit: u32,
    ) -> Result<Vec<FileActivity>, GraphError>;

    /// Files by the `REQUEST_CHANGES` pull requests touching them, most first.
    ///
    /// # Errors
    /// [`GraphError`].
    async fn high_risk_files(
        &self,
        repo: &RepoFullName,
        limit: u32,
    ) -> Result<Vec<FileActivity>, GraphError>;

    /// Indexed files no reviewed pull request touched.
    ///
    /// # Errors
    /// [`GraphError`].
    async fn untouched_files(
        &self,
        repo: &RepoFullName,
        limit: u32,
    ) -> Result<UntouchedFiles, GraphError>;

    /// Each file's top developer, for files touched at least twice, most touched first.
    ///
    /// # Errors
    /// [`GraphError`].
    async fn code_ownership(
        &self,
        repo: &RepoFullName,
        limit: u32,
    ) -> Result<Vec<Ownership>, GraphError>;

    /// Each developer's top directories, most active developer first.
    ///
    /// # Errors
    /// [`GraphError`].
    async fn developer_expertise(
        &self,
        repo: &RepoFullName,
        limit: u32,
    ) -> Result<Vec<Expertise>, GraphError>;

    /// The repository graph, at most `node_limit` nodes and `link_limit` links.
    ///
    /// # Errors
    /// [`GraphError`].
    async fn repository_graph(
        &self,
        repo: &RepoFullName,
        node_limit: u32,
        link_limit: u32,
    ) -> Result<RepositoryGraph, GraphError>;

    /// Every indexed file, by path.
    ///
    /// # Errors
    /// [`GraphError`].
    async fn files(&self, repo: &RepoFullName) -> Result<Vec<IndexedFile>, GraphError>;
}

/// The first path segment, or `(root)` for a file at the root (developer expertise).
pub fn top_directory(path: &str) -> &str {
    match path.split_once('/') {
        Some((directory, _)) => directory,
        None => "(root)",
    }
}

/// Paths for a query: without duplicates, at most [`MAX_QUERY_PATHS`].
pub fn query_paths(paths: &[String]) -> Vec<String> {
    let mut unique: Vec<String> = Vec::with_capacity(paths.len().min(MAX_QUERY_PATHS));
    for path in paths {
        if unique.len() == MAX_QUERY_PATHS {
            break;
        }
        if !unique.contains(path) {
            unique.push(path.clone());
        }
    }
    unique
}

/// Ownership from `(path, login, touches)` rows: each file's top developer, files with at least
/// two touches, most touched first, then by path. Shared by adapters that count in SQL.
pub fn ownership_from_counts(rows: Vec<(String, String, u64)>, limit: u32) -> Vec<Ownership> {
    let mut by_file: std::collections::BTreeMap<String, Ownership> = Default::default();
    for (path, login, touches) in rows {
        let entry = by_file.entry(path.clone()).or_insert_with(|| Ownership {
            path,
            owner: login.clone(),
            owner_touches: 0,
            total_touches: 0,
        });
        entry.total_touches += touches;
        let better = touches > entry.owner_touches
            || (touches == entry.owner_touches && login < entry.owner);
        if better {
            entry.owner = login;
            entry.owner_touches = touches;
        }
    }
    let mut owned: Vec<Ownership> =
        by_file.into_values().filter(|ownership| ownership.total_touches >= 2).collect();
    owned.sort_by(|a, b| b.total_touches.cmp(&a.total_touches).then_with(|| a.path.cmp(&b.path)));
    owned.truncate(limit as usize);
    owned
}

/// Expertise from `(login, path)` touches: top four directories per developer, most touches
/// first, then by login. Shared by adapters.
pub fn expertise_from_touches(rows: Vec<(String, String)>, limit: u32) -> Vec<Expertise> {
    let mut by_login: std::collections::BTreeMap<String, std::collections::BTreeMap<String, u64>> =
        Default::default();
    for (login, path) in rows {
        *by_login.entry(login).or_default().entry(top_directory(&path).to_owned()).or_default() +=
            1;
    }
    let mut experts: Vec<Expertise> = by_login
        .into_iter()
        .map(|(login, directories)| {
            let total_touches = directories.values().sum();
            let mut top_dirs: Vec<(String, u64)> = directories.into_iter().collect();
            top_dirs.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            top_dirs.truncate(4);
            Expertise { login, top_dirs, total_touches }
        })
        .collect();
    experts
        .sort_by(|a, b| b.total_touches.cmp(&a.total_touches).then_with(|| a.login.cmp(&b.login)));
    experts.truncate(limit as usize);
    experts
}

/// Links between `nodes` from imports and co-change pairs: a co-change replaces an import of the
/// same pair; strongest first, then by source and target; at most `limit`.
pub fn merge_links(
    imports: Vec<(String, String)>,
    co_changes: Vec<(String, String, u64)>,
    limit: u32,
) -> Vec<GraphLink> {
    let mut links: std::collections::BTreeMap<(String, String), GraphLink> = Default::default();
    for (source, target) in imports {
        let link = GraphLink {
            source: source.clone(),
            target: target.clone(),
            weight: 1,
            kind: LinkKind::Import,
        };
        links.insert((source, target), link);
    }
    for (source, target, weight) in co_changes {
        links.remove(&(target.clone(), source.clone()));
        let link = GraphLink {
            source: source.clone(),
            target: target.clone(),
            weight,
            kind: LinkKind::CoChange,
        };
        links.insert((source, target), link);
    }
    let mut links: Vec<GraphLink> = links.into_values().collect();
    links.sort_by(|a, b| {
        b.weight
            .cmp(&a.weight)
            .then_with(|| a.source.cmp(&b.source))
            .then_with(|| a.target.cmp(&b.target))
    });
    links.truncate(limit as usize);
    links
}

#[cfg(test)]
mod tests;
