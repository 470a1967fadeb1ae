//! `Neo4jGraph`: the `CodeGraph` port in Cypher. Typed records become [`Statement`]s of the
//! texts in [`crate::cypher`]; rows come back as [`Record`]s and become domain types. Scans write
//! in [`Chunks`] of rows, one transaction each; a reviewed pull request is written in one
//! transaction; stale rows are removed in bounded chunks, so that every write can be repeated.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use nectr_domain::graph::{
    BlastRadius, CodeGraph, Expertise, FileActivity, FileExpert, FileNode, GraphError,
    GraphVerdict, ImportEdge, IndexedFile, Language, Ownership, PullRequestNode,
    RelatedPullRequest, RepositoryGraph, ScanRecord, UntouchedFiles, expertise_from_touches,
    merge_links, ownership_from_counts, query_paths,
};
use nectr_domain::{HealthProbe, ProbeError, RepoFullName};

use crate::bolt::BoltSession;
use crate::config::{Chunks, Neo4jConfig};
use crate::cypher;
use crate::session::CypherSession;
use crate::statement::{Record, Statement, Value, map};

/// The code graph on Neo4j (or on any [`CypherSession`]).
#[derive(Clone)]
pub struct Neo4jGraph {
    session: Arc<dyn CypherSession>,
    chunks: Chunks,
}

impl Neo4jGraph {
    /// The graph on the Neo4j that `config` names. Connects lazily: the first call connects, and
    /// the first call after a failure connects again.
    ///
    /// # Errors
    /// [`GraphError::Unexpected`] when the URI is not a Bolt or Neo4j URI.
    pub async fn connect(config: Neo4jConfig) -> Result<Self, GraphError> {
        let chunks = config.chunks;
        let session = BoltSession::connect(config).await?;
        Ok(Self::on_session(Arc::new(session), chunks))
    }

    /// The graph over another Cypher engine's session.
    pub fn on_session(session: Arc<dyn CypherSession>, chunks: Chunks) -> Self {
        Self { session, chunks }
    }

    /// Creates the constraints and indexes (idempotent), after dropping the original service's
    /// constraints that would refuse Nectr's nodes. Nectr runs this at start-up.
    ///
    /// # Errors
    /// [`GraphError::Unavailable`] when Neo4j cannot be reached, [`GraphError::Unexpected`]
    /// naming the statement Neo4j refused.
    pub async fn ensure_schema(&self) -> Result<(), GraphError> {
        let statements = cypher::DROP_LEGACY_CONSTRAINTS
            .iter()
            .chain(&cypher::CREATE_CONSTRAINTS)
            .chain(&cypher::CREATE_INDEXES);
        for text in statements {
            self.session.run(Statement::new(text)).await.map_err(|error| match error {
                GraphError::Unexpected(cause) => {
                    GraphError::Unexpected(cause.context(format!("creating the schema: {text}")))
                }
                unavailable => unavailable,
            })?;
        }
        Ok(())
    }

    async fn read<T>(
        &self,
        statement: Statement,
        decode: impl Fn(&Record) -> Result<T, GraphError>,
    ) -> Result<Vec<T>, GraphError> {
        let rows = self.session.rows(statement).await?;
        rows.iter().map(decode).collect()
    }

    fn removal_chunk(&self) -> i64 {
        self.chunks.removal.max(1)
    }

    /// Runs a removal statement until it removes less than a chunk; answers the rows removed.
    async fn remove_all(&self, statement: Statement) -> Result<u64, GraphError> {
        let mut removed = 0;
        loop {
            let rows = self.session.rows(statement.clone()).await?;
            let count = match rows.first() {
                Some(row) => row.count("removed")?,
                None => 0,
            };
            removed += count;
            if count < u64::try_from(self.removal_chunk()).unwrap_or(u64::MAX) {
                return Ok(removed);
            }
        }
    }
}

/// The key of a repository: its name, lower-cased (GitHub compares names ignoring case).
fn key(repo: &RepoFullName) -> String {
    repo.as_str().to_lowercase()
}

fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn parse_timestamp(text: &str) -> Result<DateTime<Utc>, GraphError> {
    DateTime::parse_from_rfc3339(text).map(|at| at.with_timezone(&Utc)).map_err(|error| {
        GraphError::Unexpected(anyhow::anyhow!("the graph holds a bad scan time {text:?}: {error}"))
    })
}

fn indexed_file(row: &Record) -> Result<IndexedFile, GraphError> {
    Ok(IndexedFile {
        path: row.text("path")?,
        language: Language::parse(&row.text("language")?),
        size: row.count("size")?,
        pr_count: row.count("pr_count")?,
    })
}

fn activity(row: &Record) -> Result<FileActivity, GraphError> {
    let path = row.text("path")?;
    let language = match row.optional_text("language")? {
        Some(language) => Language::parse(&language),
        None => Language::of_path(&path),
    };
    Ok(FileActivity { path, language, count: row.count("n")? })
}

fn related(row: &Record) -> Result<RelatedPullRequest, GraphError> {
    Ok(RelatedPullRequest {
        number: row.count("number")?,
        title: row.text("title")?,
        author: row.text("author")?,
        verdict: row.optional_text("verdict")?.as_deref().and_then(GraphVerdict::parse),
        overlap: row.count("overlap")?,
    })
}

fn scan_record(row: &Record) -> Result<ScanRecord, GraphError> {
    Ok(ScanRecord {
        commit: row.text("commit")?,
        generation: row.int("generation")?,
        files_indexed: row.count("files_indexed")?,
        edges_indexed: row.count("edges_indexed")?,
        scanned_at: parse_timestamp(&row.text("scanned_at")?)?,
    })
}

fn file_row(file: &FileNode) -> Value {
    map([
        ("path", file.path.clone().into()),
        ("language", file.language.as_str().into()),
        ("size", file.size.into()),
    ])
}

fn edge_row(edge: &ImportEdge) -> Value {
    map([("source", edge.source.clone().into()), ("target", edge.target.clone().into())])
}

fn touch_row(path: &str) -> Value {
    map([("path", path.into()), ("language", Language::of_path(path).as_str().into())])
}

/// The statements that record a pull request, in the order of one transaction.
fn pull_request_statements(
    repo: &str,
    pull_request: &PullRequestNode,
    chunk: usize,
) -> Vec<Statement> {
    let on_pull_request = |text: &'static str| {
        Statement::new(text).param("repo", repo).param("number", pull_request.number)
    };
    let mut statements = vec![
        on_pull_request(cypher::UPSERT_PULL_REQUEST)
            .param("title", pull_request.title.clone())
            .param("author", pull_request.author.clone())
            .param("verdict", pull_request.verdict.map(GraphVerdict::as_str))
            .param("head_sha", pull_request.head_sha.clone())
            .param("reviewed_at", timestamp(pull_request.reviewed_at)),
    ];
    if !pull_request.author.is_empty() {
        statements
            .push(on_pull_request(cypher::LINK_AUTHOR).param("login", pull_request.author.clone()));
    }
    let mut files = pull_request.files.clone();
    files.sort();
    files.dedup();
    for paths in files.chunks(chunk.max(1)) {
        let rows: Vec<Value> = paths.iter().map(|path| touch_row(path)).collect();
        statements.push(on_pull_request(cypher::LINK_TOUCHES).param("files", rows));
    }
    let mut issues = pull_request.closes.clone();
    issues.sort_unstable();
    issues.dedup();
    if !issues.is_empty() {
        statements.push(on_pull_request(cypher::LINK_ISSUES).param("issues", issues));
    }
    statements
}

#[async_trait]
impl CodeGraph for Neo4jGraph {
    async fn scan_record(&self, repo: &RepoFullName) -> Result<Option<ScanRecord>, GraphError> {
        let statement = Statement::new(cypher::SCAN_RECORD).param("repo", key(repo));
        Ok(self.read(statement, scan_record).await?.into_iter().next())
    }

    async fn upsert_files(
        &self,
        repo: &RepoFullName,
        generation: i64,
        files: &[FileNode],
    ) -> Result<(), GraphError> {
        let repo = key(repo);
        for chunk in files.chunks(self.chunks.write.max(1)) {
            let statement = Statement::new(cypher::UPSERT_FILES)
                .param("repo", repo.clone())
                .param("generation", generation)
                .param("rows", chunk.iter().map(file_row).collect::<Vec<_>>());
            self.session.run(statement).await?;
        }
        Ok(())
    }

    async fn upsert_imports(
        &self,
        repo: &RepoFullName,
        generation: i64,
        edges: &[ImportEdge],
    ) -> Result<(), GraphError> {
        let repo = key(repo);
        for chunk in edges.chunks(self.chunks.write.max(1)) {
            let statement = Statement::new(cypher::UPSERT_IMPORTS)
                .param("repo", repo.clone())
                .param("generation", generation)
                .param("rows", chunk.iter().map(edge_row).collect::<Vec<_>>());
            self.session.run(statement).await?;
        }
        Ok(())
    }

    async fn finish_scan(&self, repo: &RepoFullName, scan: &ScanRecord) -> Result<u64, GraphError> {
        let repo = key(repo);
        let stale = |text: &'static str| {
            Statement::new(text)
                .param("repo", repo.clone())
                .param("generation", scan.generation)
                .param("chunk", self.removal_chunk())
        };
        self.remove_all(stale(cypher::REMOVE_STALE_IMPORTS)).await?;
        let removed = self.remove_all(stale(cypher::UNINDEX_STALE_FILES)).await?;
        self.remove_all(
            Statement::new(cypher::DELETE_ORPHAN_FILES)
                .param("repo", repo.clone())
                .param("chunk", self.removal_chunk()),
        )
        .await?;
        let record = Statement::new(cypher::RECORD_SCAN)
            .param("repo", repo)
            .param("commit", scan.commit.clone())
            .param("generation", scan.generation)
            .param("files_indexed", scan.files_indexed)
            .param("edges_indexed", scan.edges_indexed)
            .param("scanned_at", timestamp(scan.scanned_at));
        self.session.run(record).await?;
        Ok(removed)
    }

    async fn record_pull_request(
        &self,
        repo: &RepoFullName,
        pull_request: &PullRequestNode,
    ) -> Result<(), GraphError> {
        let statements = pull_request_statements(&key(repo), pull_request, self.chunks.write);
        self.session.transaction(statements).await
    }

    async fn related_pull_requests(
        &self,
        repo: &RepoFullName,
        paths: &[String],
        exclude: Option<u64>,
        limit: u32,
    ) -> Result<Vec<RelatedPullRequest>, GraphError> {
        let paths = query_paths(paths);
        if paths.is_empty() {
            return Ok(Vec::new());
        }
        let statement = Statement::new(cypher::RELATED_PULL_REQUESTS)
            .param("repo", key(repo))
            .param("paths", paths)
            .param("exclude", exclude.map_or(Value::Int(-1), Value::from))
            .param("limit", limit);
        self.read(statement, related).await
    }

    async fn file_experts(
        &self,
        repo: &RepoFullName,
        paths: &[String],
        limit: u32,
    ) -> Result<Vec<FileExpert>, GraphError> {
        let paths = query_paths(paths);
        if paths.is_empty() {
            return Ok(Vec::new());
        }
        let statement = Statement::new(cypher::FILE_EXPERTS)
            .param("repo", key(repo))
            .param("paths", paths)
            .param("limit", limit);
        self.read(statement, |row| {
            Ok(FileExpert { login: row.text("login")?, touches: row.count("touches")? })
        })
        .await
    }

    async fn dependents(
        &self,
        repo: &RepoFullName,
        paths: &[String],
        limit: u32,
    ) -> Result<BlastRadius, GraphError> {
        let paths = query_paths(paths);
        if paths.is_empty() {
            return Ok(BlastRadius::default());
        }
        let statement = Statement::new(cypher::DEPENDENTS)
            .param("repo", key(repo))
            .param("paths", paths.clone());
        let rows = self.read(statement, |row| Ok((row.text("path")?, row.int("depth")?))).await?;
        Ok(BlastRadius::from_distances(rows, &paths, limit))
    }

    async fn hotspots(
        &self,
        repo: &RepoFullName,
        limit: u32,
    ) -> Result<Vec<FileActivity>, GraphError> {
        let statement =
            Statement::new(cypher::HOTSPOTS).param("repo", key(repo)).param("limit", limit);
        self.read(statement, activity).await
    }

    async fn high_risk_files(
        &self,
        repo: &RepoFullName,
        limit: u32,
    ) -> Result<Vec<FileActivity>, GraphError> {
        let statement = Statement::new(cypher::HIGH_RISK_FILES)
            .param("repo", key(repo))
            .param("verdict", GraphVerdict::RequestChanges.as_str())
            .param("limit", limit);
        self.read(statement, activity).await
    }

    async fn untouched_files(
        &self,
        repo: &RepoFullName,
        limit: u32,
    ) -> Result<UntouchedFiles, GraphError> {
        let counted = self
            .read(Statement::new(cypher::UNTOUCHED_COUNT).param("repo", key(repo)), |row| {
                row.count("n")
            })
            .await?;
        let sample =
            Statement::new(cypher::UNTOUCHED_SAMPLE).param("repo", key(repo)).param("limit", limit);
        let sample = self
            .read(sample, |row| Ok((row.text("path")?, Language::parse(&row.text("language")?))))
            .await?;
        Ok(UntouchedFiles { count: counted.into_iter().next().unwrap_or(0), sample })
    }

    async fn code_ownership(
        &self,
        repo: &RepoFullName,
        limit: u32,
    ) -> Result<Vec<Ownership>, GraphError> {
        let statement = Statement::new(cypher::TOUCH_COUNTS).param("repo", key(repo));
        let rows = self
            .read(statement, |row| Ok((row.text("path")?, row.text("login")?, row.count("n")?)))
            .await?;
        Ok(ownership_from_counts(rows, limit))
    }

    async fn developer_expertise(
        &self,
        repo: &RepoFullName,
        limit: u32,
    ) -> Result<Vec<Expertise>, GraphError> {
        let statement = Statement::new(cypher::DEVELOPER_TOUCHES).param("repo", key(repo));
        let rows = self.read(statement, |row| Ok((row.text("login")?, row.text("path")?))).await?;
        Ok(expertise_from_touches(rows, limit))
    }

    async fn repository_graph(
        &self,
        repo: &RepoFullName,
        node_limit: u32,
        link_limit: u32,
    ) -> Result<RepositoryGraph, GraphError> {
        let repo = key(repo);
        let nodes = Statement::new(cypher::GRAPH_NODES)
            .param("repo", repo.clone())
            .param("limit", node_limit);
        let nodes = self.read(nodes, indexed_file).await?;
        if nodes.is_empty() {
            return Ok(RepositoryGraph::default());
        }
        let paths: Vec<String> = nodes.iter().map(|node| node.path.clone()).collect();
        let between = |text: &'static str| {
            Statement::new(text).param("repo", repo.clone()).param("paths", paths.clone())
        };
        let imports = self
            .read(between(cypher::GRAPH_IMPORTS), |row| {
                Ok((row.text("source")?, row.text("target")?))
            })
            .await?;
        let co_changes = self
            .read(between(cypher::GRAPH_CO_CHANGES), |row| {
                Ok((row.text("source")?, row.text("target")?, row.count("n")?))
            })
            .await?;
        Ok(RepositoryGraph { nodes, links: merge_links(imports, co_changes, link_limit) })
    }

    async fn files(&self, repo: &RepoFullName) -> Result<Vec<IndexedFile>, GraphError> {
        self.read(Statement::new(cypher::FILES).param("repo", key(repo)), indexed_file).await
    }
}

#[async_trait]
impl HealthProbe for Neo4jGraph {
    async fn probe(&self) -> Result<(), ProbeError> {
        let rows = self
            .session
            .rows(Statement::new(cypher::HEALTH))
            .await
            .map_err(|error| ProbeError(anyhow::Error::new(error).context("probing Neo4j")))?;
        match rows.first().map(|row| row.int("ok")) {
            Some(Ok(1)) => Ok(()),
            _ => Err(ProbeError(anyhow::anyhow!("Neo4j answered RETURN 1 with {rows:?}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_re_review_writes_touches_sorted_once_and_no_author_link_without_an_author() {
        let pull_request = PullRequestNode {
            number: 7,
            title: "Fix".to_owned(),
            author: String::new(),
            verdict: None,
            head_sha: "abc".to_owned(),
            reviewed_at: DateTime::parse_from_rfc3339("2026-11-02T09:00:00Z")
                .unwrap()
                .with_timezone(&Utc),
            files: vec!["b.rs".to_owned(), "a.rs".to_owned(), "b.rs".to_owned()],
            closes: Vec::new(),
        };
        let statements = pull_request_statements("acme/shop", &pull_request, 500);
        let texts: Vec<&str> = statements.iter().map(|statement| statement.text).collect();
        assert_eq!(texts, vec![cypher::UPSERT_PULL_REQUEST, cypher::LINK_TOUCHES]);
        assert_eq!(statements[0].params["verdict"], Value::Null);
        assert_eq!(statements[0].params["reviewed_at"], Value::from("2026-11-02T09:00:00.000000Z"));
        let Value::List(files) = &statements[1].params["files"] else { panic!("a list") };
        assert_eq!(files.len(), 2);
        assert_eq!(files[0], touch_row("a.rs"));
    }

    #[test]
    fn scan_times_round_trip() {
        let at = parse_timestamp("2026-11-01T12:00:00.123456Z").unwrap();
        assert_eq!(timestamp(at), "2026-11-01T12:00:00.123456Z");
        assert!(parse_timestamp("yesterday").is_err());
    }
}
