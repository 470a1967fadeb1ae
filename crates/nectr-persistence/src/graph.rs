//! `CodeGraph` on SQL: the embedded code graph, the default when Neo4j is not configured.
//! Files, imports, reviewed pull requests and their touches live in `graph_*` tables of the main
//! database (PostgreSQL or SQLite); the blast radius is a recursive query over the imports.
//! Writes are multi-row statements of at most one chunk each; a scan's rows carry its
//! generation, and finishing the scan removes older generations in one transaction.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use nectr_domain::RepoFullName;
use nectr_domain::graph::{
    BlastRadius, CodeGraph, Expertise, FileActivity, FileExpert, FileNode, GraphError,
    GraphVerdict, ImportEdge, IndexedFile, Language, Ownership, PullRequestNode,
    RelatedPullRequest, RepositoryGraph, ScanRecord, UntouchedFiles, expertise_from_touches,
    merge_links, ownership_from_counts, query_paths,
};
use sea_orm::{ConnectionTrait, DbBackend, DbErr, QueryResult, TransactionTrait, Value};

use crate::SeaOrmStore;
use crate::queue::statement;
use crate::store::db_error;

/// Rows per insert statement when recording a pull request's touches.
const TOUCH_CHUNK: usize = 500;

/// Files, language and size, with the pull requests touching each (`{where}`, `{order}` and
/// `{limit}` filled in by the caller).
const FILE_ROWS: &str = "SELECT f.path, f.language, f.size, COUNT(DISTINCT t.number) AS pr_count \
    FROM graph_files f \
    LEFT JOIN graph_touches t ON t.repo = f.repo AND t.path = f.path \
    WHERE f.repo = $1 GROUP BY f.path, f.language, f.size";

/// The repository graph's nodes, as a `WITH` clause (`$1` the repository, `$2` the cap).
const NODES: &str = "nodes AS (SELECT f.path, COUNT(DISTINCT t.number) AS pr_count \
    FROM graph_files f \
    LEFT JOIN graph_touches t ON t.repo = f.repo AND t.path = f.path \
    WHERE f.repo = $1 GROUP BY f.path ORDER BY pr_count DESC, f.path LIMIT $2)";

fn unexpected(doing: &'static str) -> impl Fn(DbErr) -> GraphError {
    move |error| GraphError::Unexpected(db_error(doing)(error))
}

/// The key of a repository: its name, lower-cased (GitHub compares names ignoring case).
fn key(repo: &RepoFullName) -> String {
    repo.as_str().to_lowercase()
}

fn number(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

fn count(row: &QueryResult, column: &str) -> Result<u64, DbErr> {
    Ok(u64::try_from(row.try_get::<i64>("", column)?).unwrap_or(0))
}

/// `$from, $from+1, …` for `n` values.
fn placeholders(from: usize, n: usize) -> String {
    (from..from + n).map(|index| format!("${index}")).collect::<Vec<_>>().join(", ")
}

/// `(…), (…)` rows of `width` placeholders each, numbered from 1.
fn value_rows(rows: usize, width: usize) -> String {
    (0..rows)
        .map(|row| format!("({})", placeholders(row * width + 1, width)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn paths_values(repo: &RepoFullName, paths: &[String]) -> Vec<Value> {
    let mut values: Vec<Value> = vec![key(repo).into()];
    values.extend(paths.iter().map(|path| Value::from(path.clone())));
    values
}

fn indexed_file(row: &QueryResult) -> Result<IndexedFile, DbErr> {
    Ok(IndexedFile {
        path: row.try_get("", "path")?,
        language: Language::parse(&row.try_get::<String>("", "language")?),
        size: count(row, "size")?,
        pr_count: count(row, "pr_count")?,
    })
}

fn activity(row: &QueryResult) -> Result<FileActivity, DbErr> {
    let path: String = row.try_get("", "path")?;
    let language = match row.try_get::<Option<String>>("", "language")? {
        Some(language) => Language::parse(&language),
        None => Language::of_path(&path),
    };
    Ok(FileActivity { path, language, count: count(row, "n")? })
}

fn related(row: &QueryResult) -> Result<RelatedPullRequest, DbErr> {
    Ok(RelatedPullRequest {
        number: count(row, "number")?,
        title: row.try_get("", "title")?,
        author: row.try_get("", "author")?,
        verdict: row
            .try_get::<Option<String>>("", "verdict")?
            .as_deref()
            .and_then(GraphVerdict::parse),
        overlap: count(row, "overlap")?,
    })
}

fn scan_record(row: &QueryResult) -> Result<ScanRecord, DbErr> {
    Ok(ScanRecord {
        commit: row.try_get("", "commit_sha")?,
        generation: row.try_get("", "generation")?,
        files_indexed: count(row, "files_indexed")?,
        edges_indexed: count(row, "edges_indexed")?,
        scanned_at: row.try_get::<DateTime<Utc>>("", "scanned_at")?,
    })
}

impl SeaOrmStore {
    async fn graph_rows(
        &self,
        sql: &str,
        values: Vec<Value>,
        doing: &'static str,
    ) -> Result<Vec<QueryResult>, GraphError> {
        let backend = self.connection.get_database_backend();
        self.connection
            .query_all_raw(statement(backend, sql, values))
            .await
            .map_err(unexpected(doing))
    }

    async fn graph_read<T>(
        &self,
        sql: &str,
        values: Vec<Value>,
        doing: &'static str,
        read: fn(&QueryResult) -> Result<T, DbErr>,
    ) -> Result<Vec<T>, GraphError> {
        let rows = self.graph_rows(sql, values, doing).await?;
        rows.iter().map(read).collect::<Result<_, _>>().map_err(unexpected(doing))
    }

    /// Runs write statements in one transaction, in SQLite's turn to write.
    async fn graph_write(
        &self,
        statements: Vec<(String, Vec<Value>)>,
        doing: &'static str,
    ) -> Result<u64, GraphError> {
        let backend = self.connection.get_database_backend();
        let _turn = self.write_turn().await;
        let txn = self.connection.begin().await.map_err(unexpected(doing))?;
        let mut affected = Vec::with_capacity(statements.len());
        for (sql, values) in statements {
            let result = txn
                .execute_raw(statement(backend, &sql, values))
                .await
                .map_err(unexpected(doing))?;
            affected.push(result.rows_affected());
        }
        txn.commit().await.map_err(unexpected(doing))?;
        Ok(affected.first().copied().unwrap_or(0))
    }
}

impl SeaOrmStore {
    /// After a scan, which may have written or removed a hundred thousand rows, PostgreSQL's
    /// statistics are refreshed: without them (autovacuum analyzes later, if at all) its planner
    /// hash-joins every edge of the repository at each step of the blast radius (100 ms instead
    /// of 5 on a 200,000-edge graph). SQLite's plans do not depend on statistics here.
    async fn refresh_statistics(&self) -> Result<(), GraphError> {
        match self.connection.get_database_backend() {
            DbBackend::Postgres => {
                self.connection
                    .execute_unprepared("ANALYZE graph_files, graph_imports")
                    .await
                    .map_err(unexpected("refreshing the graph's statistics"))?;
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

#[async_trait]
impl CodeGraph for SeaOrmStore {
    async fn scan_record(&self, repo: &RepoFullName) -> Result<Option<ScanRecord>, GraphError> {
        let sql = "SELECT commit_sha, generation, files_indexed, edges_indexed, scanned_at \
                   FROM graph_repositories WHERE repo = $1";
        let records =
            self.graph_read(sql, vec![key(repo).into()], "reading a scan", scan_record).await?;
        Ok(records.into_iter().next())
    }

    async fn upsert_files(
        &self,
        repo: &RepoFullName,
        generation: i64,
        files: &[FileNode],
    ) -> Result<(), GraphError> {
        if files.is_empty() {
            return Ok(());
        }
        let sql = format!(
            "INSERT INTO graph_files (repo, path, language, size, generation) VALUES {} \
             ON CONFLICT (repo, path) DO UPDATE SET language = excluded.language, \
             size = excluded.size, generation = excluded.generation",
            value_rows(files.len(), 5)
        );
        let repo = key(repo);
        let mut values: Vec<Value> = Vec::with_capacity(files.len() * 5);
        for file in files {
            values.push(repo.clone().into());
            values.push(file.path.clone().into());
            values.push(file.language.as_str().into());
            values.push(number(file.size).into());
            values.push(generation.into());
        }
        self.graph_write(vec![(sql, values)], "writing files").await.map(|_| ())
    }

    async fn upsert_imports(
        &self,
        repo: &RepoFullName,
        generation: i64,
        edges: &[ImportEdge],
    ) -> Result<(), GraphError> {
        if edges.is_empty() {
            return Ok(());
        }
        let sql = format!(
            "INSERT INTO graph_imports (repo, source, target, generation) VALUES {} \
             ON CONFLICT (repo, source, target) DO UPDATE SET generation = excluded.generation",
            value_rows(edges.len(), 4)
        );
        let repo = key(repo);
        let mut values: Vec<Value> = Vec::with_capacity(edges.len() * 4);
        for edge in edges {
            values.push(repo.clone().into());
            values.push(edge.source.clone().into());
            values.push(edge.target.clone().into());
            values.push(generation.into());
        }
        self.graph_write(vec![(sql, values)], "writing imports").await.map(|_| ())
    }

    async fn finish_scan(&self, repo: &RepoFullName, scan: &ScanRecord) -> Result<u64, GraphError> {
        let repo = key(repo);
        let stale = |table: &str| {
            (
                format!("DELETE FROM {table} WHERE repo = $1 AND generation < $2"),
                vec![Value::from(repo.clone()), scan.generation.into()],
            )
        };
        let record = (
            "INSERT INTO graph_repositories \
             (repo, commit_sha, generation, files_indexed, edges_indexed, scanned_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (repo) DO UPDATE SET \
             commit_sha = excluded.commit_sha, generation = excluded.generation, \
             files_indexed = excluded.files_indexed, edges_indexed = excluded.edges_indexed, \
             scanned_at = excluded.scanned_at"
                .to_owned(),
            vec![
                repo.clone().into(),
                scan.commit.clone().into(),
                scan.generation.into(),
                number(scan.files_indexed).into(),
                number(scan.edges_indexed).into(),
                scan.scanned_at.into(),
            ],
        );
        let statements = vec![stale("graph_files"), stale("graph_imports"), record];
        let removed = self.graph_write(statements, "finishing a scan").await?;
        self.refresh_statistics().await?;
        Ok(removed)
    }

    async fn record_pull_request(
        &self,
        repo: &RepoFullName,
        pull_request: &PullRequestNode,
    ) -> Result<(), GraphError> {
        let repo = key(repo);
        let pr = number(pull_request.number);
        let mut statements: Vec<(String, Vec<Value>)> = vec![
            (
                "INSERT INTO graph_pull_requests \
                 (repo, number, title, author, verdict, head_sha, reviewed_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (repo, number) DO UPDATE SET \
                 title = excluded.title, author = excluded.author, verdict = excluded.verdict, \
                 head_sha = excluded.head_sha, reviewed_at = excluded.reviewed_at"
                    .to_owned(),
                vec![
                    repo.clone().into(),
                    pr.into(),
                    pull_request.title.clone().into(),
                    pull_request.author.clone().into(),
                    pull_request.verdict.map(GraphVerdict::as_str).into(),
                    pull_request.head_sha.clone().into(),
                    pull_request.reviewed_at.into(),
                ],
            ),
            (
                "DELETE FROM graph_touches WHERE repo = $1 AND number = $2".to_owned(),
                vec![repo.clone().into(), pr.into()],
            ),
            (
                "DELETE FROM graph_closes WHERE repo = $1 AND number = $2".to_owned(),
                vec![repo.clone().into(), pr.into()],
            ),
        ];
        let mut files = pull_request.files.clone();
        files.sort();
        files.dedup();
        for chunk in files.chunks(TOUCH_CHUNK) {
            let sql = format!(
                "INSERT INTO graph_touches (repo, number, path) VALUES {}",
                value_rows(chunk.len(), 3)
            );
            let values = chunk
                .iter()
                .flat_map(|path| [repo.clone().into(), pr.into(), path.clone().into()])
                .collect();
            statements.push((sql, values));
        }
        let mut issues = pull_request.closes.clone();
        issues.sort_unstable();
        issues.dedup();
        if !issues.is_empty() {
            let sql = format!(
                "INSERT INTO graph_closes (repo, number, issue) VALUES {}",
                value_rows(issues.len(), 3)
            );
            let values = issues
                .iter()
                .flat_map(|issue| [repo.clone().into(), pr.into(), number(*issue).into()])
                .collect();
            statements.push((sql, values));
        }
        self.graph_write(statements, "recording a pull request").await.map(|_| ())
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
        let n = paths.len();
        let sql = format!(
            "SELECT p.number, p.title, p.author, p.verdict, COUNT(DISTINCT t.path) AS overlap \
             FROM graph_touches t \
             JOIN graph_pull_requests p ON p.repo = t.repo AND p.number = t.number \
             WHERE t.repo = $1 AND t.path IN ({}) AND p.verdict IS NOT NULL AND p.number <> ${} \
             GROUP BY p.number, p.title, p.author, p.verdict \
             ORDER BY overlap DESC, p.number DESC LIMIT ${}",
            placeholders(2, n),
            n + 2,
            n + 3
        );
        let mut values = paths_values(repo, &paths);
        values.push(exclude.map_or(-1, number).into());
        values.push(i64::from(limit).into());
        self.graph_read(&sql, values, "reading related pull requests", related).await
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
        let n = paths.len();
        let sql = format!(
            "SELECT p.author, COUNT(*) AS touches FROM graph_touches t \
             JOIN graph_pull_requests p ON p.repo = t.repo AND p.number = t.number \
             WHERE t.repo = $1 AND t.path IN ({}) AND p.author <> '' \
             GROUP BY p.author ORDER BY touches DESC, p.author LIMIT ${}",
            placeholders(2, n),
            n + 2
        );
        let mut values = paths_values(repo, &paths);
        values.push(i64::from(limit).into());
        self.graph_read(&sql, values, "reading file experts", |row| {
            Ok(FileExpert { login: row.try_get("", "author")?, touches: count(row, "touches")? })
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
        let sql = format!(
            "WITH RECURSIVE reach(path, depth) AS ( \
               SELECT source, 1 FROM graph_imports WHERE repo = $1 AND target IN ({}) \
               UNION \
               SELECT i.source, r.depth + 1 FROM reach r CROSS JOIN graph_imports i \
               WHERE i.repo = $1 AND i.target = r.path AND r.depth < 2) \
             SELECT path, CAST(MIN(depth) AS BIGINT) AS depth FROM reach GROUP BY path ORDER BY path",
            placeholders(2, paths.len())
        );
        let rows = self
            .graph_read(&sql, paths_values(repo, &paths), "reading dependents", |row| {
                Ok((row.try_get::<String>("", "path")?, row.try_get::<i64>("", "depth")?))
            })
            .await?;
        Ok(BlastRadius::from_distances(rows, &paths, limit))
    }

    async fn hotspots(
        &self,
        repo: &RepoFullName,
        limit: u32,
    ) -> Result<Vec<FileActivity>, GraphError> {
        let sql = "SELECT t.path, MAX(f.language) AS language, COUNT(DISTINCT t.number) AS n \
                   FROM graph_touches t \
                   LEFT JOIN graph_files f ON f.repo = t.repo AND f.path = t.path \
                   WHERE t.repo = $1 GROUP BY t.path ORDER BY n DESC, t.path LIMIT $2";
        let values = vec![key(repo).into(), i64::from(limit).into()];
        self.graph_read(sql, values, "reading hotspots", activity).await
    }

    async fn high_risk_files(
        &self,
        repo: &RepoFullName,
        limit: u32,
    ) -> Result<Vec<FileActivity>, GraphError> {
        let sql = "SELECT t.path, MAX(f.language) AS language, COUNT(DISTINCT t.number) AS n \
                   FROM graph_touches t \
                   JOIN graph_pull_requests p ON p.repo = t.repo AND p.number = t.number \
                   LEFT JOIN graph_files f ON f.repo = t.repo AND f.path = t.path \
                   WHERE t.repo = $1 AND p.verdict = $2 \
                   GROUP BY t.path ORDER BY n DESC, t.path LIMIT $3";
        let values = vec![
            key(repo).into(),
            GraphVerdict::RequestChanges.as_str().into(),
            i64::from(limit).into(),
        ];
        self.graph_read(sql, values, "reading high-risk files", activity).await
    }

    async fn untouched_files(
        &self,
        repo: &RepoFullName,
        limit: u32,
    ) -> Result<UntouchedFiles, GraphError> {
        let untouched = "FROM graph_files f WHERE f.repo = $1 AND NOT EXISTS \
            (SELECT 1 FROM graph_touches t WHERE t.repo = f.repo AND t.path = f.path)";
        let counted = self
            .graph_read(
                &format!("SELECT COUNT(*) AS n {untouched}"),
                vec![key(repo).into()],
                "counting untouched files",
                |row| count(row, "n"),
            )
            .await?;
        let sample = self
            .graph_read(
                &format!("SELECT f.path, f.language {untouched} ORDER BY f.path LIMIT $2"),
                vec![key(repo).into(), i64::from(limit).into()],
                "reading untouched files",
                |row| {
                    let language: String = row.try_get("", "language")?;
                    Ok((row.try_get("", "path")?, Language::parse(&language)))
                },
            )
            .await?;
        Ok(UntouchedFiles { count: counted.into_iter().next().unwrap_or(0), sample })
    }

    async fn code_ownership(
        &self,
        repo: &RepoFullName,
        limit: u32,
    ) -> Result<Vec<Ownership>, GraphError> {
        let sql = "SELECT t.path, p.author, COUNT(*) AS n FROM graph_touches t \
                   JOIN graph_pull_requests p ON p.repo = t.repo AND p.number = t.number \
                   WHERE t.repo = $1 AND p.author <> '' GROUP BY t.path, p.author";
        let rows = self
            .graph_read(sql, vec![key(repo).into()], "reading ownership", |row| {
                Ok((row.try_get("", "path")?, row.try_get("", "author")?, count(row, "n")?))
            })
            .await?;
        Ok(ownership_from_counts(rows, limit))
    }

    async fn developer_expertise(
        &self,
        repo: &RepoFullName,
        limit: u32,
    ) -> Result<Vec<Expertise>, GraphError> {
        let sql = "SELECT p.author, t.path FROM graph_touches t \
                   JOIN graph_pull_requests p ON p.repo = t.repo AND p.number = t.number \
                   WHERE t.repo = $1 AND p.author <> ''";
        let rows = self
            .graph_read(sql, vec![key(repo).into()], "reading expertise", |row| {
                Ok((row.try_get("", "author")?, row.try_get("", "path")?))
            })
            .await?;
        Ok(expertise_from_touches(rows, limit))
    }

    async fn repository_graph(
        &self,
        repo: &RepoFullName,
        node_limit: u32,
        link_limit: u32,
    ) -> Result<RepositoryGraph, GraphError> {
        let values = || vec![Value::from(key(repo)), i64::from(node_limit).into()];
        let nodes = self
            .graph_read(
                &format!("{FILE_ROWS} ORDER BY pr_count DESC, f.path LIMIT $2"),
                values(),
                "reading graph nodes",
                indexed_file,
            )
            .await?;
        let imports = self
            .graph_read(
                &format!(
                    "WITH {NODES} SELECT i.source, i.target FROM graph_imports i \
                     JOIN nodes a ON a.path = i.source JOIN nodes b ON b.path = i.target \
                     WHERE i.repo = $1"
                ),
                values(),
                "reading graph imports",
                |row| Ok((row.try_get("", "source")?, row.try_get("", "target")?)),
            )
            .await?;
        let co_changes = self
            .graph_read(
                &format!(
                    "WITH {NODES} SELECT a.path AS source, b.path AS target, \
                     COUNT(DISTINCT a.number) AS n FROM graph_touches a \
                     JOIN graph_touches b ON b.repo = a.repo AND b.number = a.number \
                     AND a.path < b.path \
                     WHERE a.repo = $1 AND a.path IN (SELECT path FROM nodes) \
                     AND b.path IN (SELECT path FROM nodes) GROUP BY a.path, b.path"
                ),
                values(),
                "reading co-changes",
                |row| {
                    Ok((row.try_get("", "source")?, row.try_get("", "target")?, count(row, "n")?))
                },
            )
            .await?;
        Ok(RepositoryGraph { nodes, links: merge_links(imports, co_changes, link_limit) })
    }

    async fn files(&self, repo: &RepoFullName) -> Result<Vec<IndexedFile>, GraphError> {
        let sql = format!("{FILE_ROWS} ORDER BY f.path");
        self.graph_read(&sql, vec![key(repo).into()], "listing files", indexed_file).await
    }
}
