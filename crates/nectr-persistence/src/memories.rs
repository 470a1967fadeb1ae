//! `MemoryStore` on SQL, the embedded memory used when Mem0 is not configured: the `memories`
//! table, searched with SQLite's FTS5 or PostgreSQL's `tsvector`, one repository at a time
//! (repositories are compared ignoring case, as GitHub does). On SQLite the repository, scope and
//! types a search narrows to are matched in the full-text index itself, through search tags.

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use nectr_domain::memory::contributors::{ActivityError, AuthorActivity, ContributorActivity};
use nectr_domain::memory::{
    MAX_PAGE, Memory, MemoryFilter, MemoryId, MemoryPage, MemoryScope, MemorySearch, MemoryStore,
    MemoryStoreError, MemoryType, NewMemory, Provenance, search_words, validate_content,
};
use nectr_domain::{RepoFullName, UserId};
use sea_orm::{ConnectionTrait, DbBackend, DbErr, QueryResult, Value};

use crate::SeaOrmStore;
use crate::queue::statement;
use crate::store::db_error;

/// The columns a memory is read from.
const COLUMNS: &str = "m.id, m.repo_full_name, m.scope, m.memory_type, m.content, m.source_kind, \
    m.source_pr, m.source_user_id, m.created_at, m.updated_at, m.hits, m.last_hit_at";

/// The most words of a query a search matches on.
const QUERY_WORDS: usize = 32;

fn unexpected(doing: &'static str) -> impl Fn(DbErr) -> MemoryStoreError {
    move |error| MemoryStoreError::Unexpected(db_error(doing)(error))
}

fn repo_key(repo: &RepoFullName) -> String {
    repo.as_str().to_ascii_lowercase()
}

/// The row id of a memory id, or `None` for one no row can have.
fn row_id(id: &MemoryId) -> Option<i64> {
    id.as_str().parse().ok()
}

fn page_size(limit: u32) -> i64 {
    i64::from(limit.clamp(1, MAX_PAGE))
}

/// The columns of a provenance: kind, pull request, user.
fn provenance_values(provenance: &Provenance) -> (&'static str, Option<i64>, Option<i64>) {
    match provenance {
        Provenance::PullRequest { number } => {
            ("pull_request", Some(i64::try_from(*number).unwrap_or(i64::MAX)), None)
        }
        Provenance::User { id } => ("user", None, Some(id.get())),
        Provenance::Scan => ("scan", None, None),
    }
}

fn provenance_from_row(row: &QueryResult) -> Result<Provenance, DbErr> {
    let kind: String = row.try_get("", "source_kind")?;
    let number: Option<i64> = row.try_get("", "source_pr")?;
    let user: Option<i64> = row.try_get("", "source_user_id")?;
    match (kind.as_str(), number, user) {
        ("pull_request", Some(number), _) => {
            Ok(Provenance::PullRequest { number: u64::try_from(number).unwrap_or_default() })
        }
        ("user", _, Some(user)) => Ok(Provenance::User { id: UserId::new(user) }),
        ("scan", _, _) => Ok(Provenance::Scan),
        (other, _, _) => Err(DbErr::Custom(format!("a memory has provenance {other:?}"))),
    }
}

fn memory_from_row(row: &QueryResult) -> Result<Memory, DbErr> {
    let repo: String = row.try_get("", "repo_full_name")?;
    let memory_type: String = row.try_get("", "memory_type")?;
    let scope: String = row.try_get("", "scope")?;
    let hits: i64 = row.try_get("", "hits")?;
    Ok(Memory {
        id: MemoryId::new(row.try_get::<i64>("", "id")?.to_string()),
        repo: RepoFullName::parse(&repo).map_err(|error| DbErr::Custom(error.to_string()))?,
        scope: MemoryScope::from_user_id(&scope),
        memory_type: memory_type.parse().map_err(|error| DbErr::Custom(format!("{error}")))?,
        content: row.try_get("", "content")?,
        provenance: provenance_from_row(row)?,
        created_at: row.try_get::<DateTime<Utc>>("", "created_at")?,
        updated_at: row.try_get::<DateTime<Utc>>("", "updated_at")?,
        hits: u64::try_from(hits).unwrap_or_default(),
        last_hit_at: row.try_get("", "last_hit_at")?,
    })
}

/// `WHERE` conditions on type and scope, after the values already bound.
fn narrowing(types: &[MemoryType], scope: Option<&MemoryScope>, values: &mut Vec<Value>) -> String {
    let mut sql = String::new();
    if !types.is_empty() {
        let mut placeholders = Vec::new();
        for kind in types {
            values.push(kind.as_str().into());
            placeholders.push(format!("${}", values.len()));
        }
        sql.push_str(&format!(" AND m.memory_type IN ({})", placeholders.join(", ")));
    }
    if let Some(scope) = scope {
        values.push(scope.user_id().into());
        sql.push_str(&format!(" AND m.scope = ${}", values.len()));
    }
    sql
}

/// The full-text part of a search, per engine: where its rows come from (up to a `WHERE` that
/// the caller's conditions extend) and their order.
fn full_text(
    backend: DbBackend,
    repo: &RepoFullName,
    search: &MemorySearch,
    words: &[String],
    values: &mut Vec<Value>,
) -> (String, String) {
    match backend {
        DbBackend::Postgres => {
            // The query is parsed once, in FROM. Written in WHERE and ORDER BY, a prepared
            // statement's generic plan (which PostgreSQL may pick after five runs) calls
            // `to_tsquery` on its parameter again for every row it visits: about 0.4 s over the
            // 5,700 rows of a repository's scope when the table has no statistics yet.
            values.push(words.join(" | ").into());
            (
                format!(
                    "FROM to_tsquery('simple', ${}) q CROSS JOIN memories m WHERE m.search @@ q",
                    values.len()
                ),
                "ts_rank(m.search, q) DESC, m.id DESC".to_owned(),
            )
        }
        _ => {
            // The repository, scope and types are part of the match, so FTS5 intersects their
            // rows with the words' and ranks only those: a search neither walks nor ranks the
            // matches of other repositories (or scopes and types). The tags weigh nothing in
            // `bm25`, so the content alone ranks. Only the best rows are looked up in `memories`;
            // CROSS JOIN keeps that order (the planner may otherwise walk `memories` and
            // evaluate MATCH once per row). The caller's conditions repeat what the tags say.
            values.push(sqlite_match(repo, search, words).into());
            let matched = values.len();
            values.push(page_size(search.limit).into());
            (
                format!(
                    "FROM (SELECT rowid, bm25(memories_fts, 1.0, 0.0) AS score FROM memories_fts \
                     WHERE memories_fts MATCH ${matched} ORDER BY score, rowid DESC LIMIT ${}) f \
                     CROSS JOIN memories m WHERE m.id = f.rowid",
                    values.len()
                ),
                "f.score, m.id DESC".to_owned(),
            )
        }
    }
}

/// SQLite's full-text query for a search: the search tags of what it narrows to, and any of its
/// words in the content (never in the tags).
fn sqlite_match(repo: &RepoFullName, search: &MemorySearch, words: &[String]) -> String {
    let repo = repo_key(repo);
    let tags: Vec<String> = match (search.scope.as_ref(), search.types.as_slice()) {
        (None, []) => vec![search_tag('r', &[&repo])],
        (Some(scope), []) => vec![search_tag('s', &[&repo, scope.user_id()])],
        (None, types) => {
            types.iter().map(|kind| search_tag('t', &[&repo, kind.as_str()])).collect()
        }
        (Some(scope), types) => types
            .iter()
            .map(|kind| search_tag('k', &[&repo, scope.user_id(), kind.as_str()]))
            .collect(),
    };
    format!("search_tags : ({}) AND content : ({})", any_of(&tags), any_of(words))
}

/// An FTS5 query matching any of `tokens` (letters and digits only, so quoting is enough).
fn any_of(tokens: &[String]) -> String {
    let quoted: Vec<String> = tokens.iter().map(|token| format!("\"{token}\"")).collect();
    quoted.join(" OR ")
}

/// A search tag as the generated column `memories.search_tags` spells it (migration
/// `m0019_memory_search_tags`): `letter`, then the hexadecimal of `parts` joined by spaces.
fn search_tag(letter: char, parts: &[&str]) -> String {
    let mut tag = String::from(letter);
    for byte in parts.join(" ").bytes() {
        tag.push_str(&format!("{byte:02x}"));
    }
    tag
}

impl SeaOrmStore {
    async fn memory_rows(
        &self,
        sql: &str,
        values: Vec<Value>,
        doing: &'static str,
    ) -> Result<Vec<QueryResult>, MemoryStoreError> {
        let backend = self.connection.get_database_backend();
        self.connection
            .query_all_raw(statement(backend, sql, values))
            .await
            .map_err(unexpected(doing))
    }

    async fn memories(
        &self,
        sql: &str,
        values: Vec<Value>,
        doing: &'static str,
    ) -> Result<Vec<Memory>, MemoryStoreError> {
        let rows = self.memory_rows(sql, values, doing).await?;
        rows.iter().map(memory_from_row).collect::<Result<_, _>>().map_err(unexpected(doing))
    }

    async fn memory_write(
        &self,
        sql: &str,
        values: Vec<Value>,
        doing: &'static str,
    ) -> Result<Vec<Memory>, MemoryStoreError> {
        let _turn = self.write_turn().await;
        self.memories(sql, values, doing).await
    }
}

#[async_trait]
impl MemoryStore for SeaOrmStore {
    fn name(&self) -> &str {
        "embedded"
    }

    async fn add(&self, memory: &NewMemory) -> Result<Memory, MemoryStoreError> {
        validate_content(&memory.content)?;
        let now = Utc::now();
        let (kind, number, user) = provenance_values(&memory.provenance);
        let sql = format!(
            "INSERT INTO memories (repo_key, repo_full_name, scope, memory_type, content, \
             source_kind, source_pr, source_user_id, created_at, updated_at, hits) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, 0) RETURNING {}",
            COLUMNS.replace("m.", "")
        );
        let values: Vec<Value> = vec![
            repo_key(&memory.repo).into(),
            memory.repo.as_str().into(),
            memory.scope.user_id().into(),
            memory.memory_type.as_str().into(),
            memory.content.clone().into(),
            kind.into(),
            number.into(),
            user.into(),
            now.into(),
        ];
        let stored = self.memory_write(&sql, values, "storing a memory").await?;
        stored.into_iter().next().ok_or_else(|| {
            MemoryStoreError::Unexpected(anyhow::anyhow!("the insert returned no row"))
        })
    }

    async fn get(
        &self,
        repo: &RepoFullName,
        id: &MemoryId,
    ) -> Result<Option<Memory>, MemoryStoreError> {
        let Some(id) = row_id(id) else { return Ok(None) };
        let sql = format!("SELECT {COLUMNS} FROM memories m WHERE m.repo_key = $1 AND m.id = $2");
        let found =
            self.memories(&sql, vec![repo_key(repo).into(), id.into()], "reading a memory").await?;
        Ok(found.into_iter().next())
    }

    async fn list(
        &self,
        repo: &RepoFullName,
        filter: &MemoryFilter,
    ) -> Result<MemoryPage, MemoryStoreError> {
        let mut values: Vec<Value> = vec![repo_key(repo).into()];
        let conditions = narrowing(&filter.types, filter.scope.as_ref(), &mut values);
        let count_sql =
            format!("SELECT COUNT(*) AS total FROM memories m WHERE m.repo_key = $1{conditions}");
        let counted = self.memory_rows(&count_sql, values.clone(), "counting memories").await?;
        let total: i64 = match counted.first() {
            Some(row) => row.try_get("", "total").map_err(unexpected("counting memories"))?,
            None => 0,
        };
        values.push(page_size(filter.limit).into());
        values.push(i64::from(filter.offset).into());
        let sql = format!(
            "SELECT {COLUMNS} FROM memories m WHERE m.repo_key = $1{conditions} \
             ORDER BY m.created_at DESC, m.id DESC LIMIT ${} OFFSET ${}",
            values.len() - 1,
            values.len()
        );
        let memories = self.memories(&sql, values, "listing memories").await?;
        Ok(MemoryPage { memories, total: u64::try_from(total).unwrap_or_default() })
    }

    async fn search(
        &self,
        repo: &RepoFullName,
        search: &MemorySearch,
    ) -> Result<Vec<Memory>, MemoryStoreError> {
        let words = search_words(&search.query, QUERY_WORDS);
        if words.is_empty() {
            return Ok(Vec::new());
        }
        let backend = self.connection.get_database_backend();
        let mut values: Vec<Value> = Vec::new();
        let (from, order) = full_text(backend, repo, search, &words, &mut values);
        values.push(repo_key(repo).into());
        let repo_condition = format!(" AND m.repo_key = ${}", values.len());
        let conditions = narrowing(&search.types, search.scope.as_ref(), &mut values);
        values.push(page_size(search.limit).into());
        let sql = format!(
            "SELECT {COLUMNS} {from}{repo_condition}{conditions} ORDER BY {order} LIMIT ${}",
            values.len()
        );
        self.memories(&sql, values, "searching memories").await
    }

    async fn update(
        &self,
        repo: &RepoFullName,
        id: &MemoryId,
        content: &str,
        provenance: &Provenance,
    ) -> Result<Option<Memory>, MemoryStoreError> {
        validate_content(content)?;
        let Some(id) = row_id(id) else { return Ok(None) };
        let (kind, number, user) = provenance_values(provenance);
        let sql = format!(
            "UPDATE memories SET content = $3, source_kind = $4, source_pr = $5, \
             source_user_id = $6, updated_at = $7 WHERE repo_key = $1 AND id = $2 RETURNING {}",
            COLUMNS.replace("m.", "")
        );
        let values: Vec<Value> = vec![
            repo_key(repo).into(),
            id.into(),
            content.to_owned().into(),
            kind.into(),
            number.into(),
            user.into(),
            Utc::now().into(),
        ];
        let updated = self.memory_write(&sql, values, "updating a memory").await?;
        Ok(updated.into_iter().next())
    }

    async fn delete(&self, repo: &RepoFullName, id: &MemoryId) -> Result<bool, MemoryStoreError> {
        let Some(id) = row_id(id) else { return Ok(false) };
        let sql = format!(
            "DELETE FROM memories WHERE repo_key = $1 AND id = $2 RETURNING {}",
            COLUMNS.replace("m.", "")
        );
        let deleted = self
            .memory_write(&sql, vec![repo_key(repo).into(), id.into()], "deleting a memory")
            .await?;
        Ok(!deleted.is_empty())
    }

    async fn record_hits(
        &self,
        repo: &RepoFullName,
        ids: &[MemoryId],
    ) -> Result<(), MemoryStoreError> {
        let rows: Vec<i64> = ids.iter().filter_map(row_id).collect();
        if rows.is_empty() {
            return Ok(());
        }
        let mut values: Vec<Value> = vec![repo_key(repo).into(), Utc::now().into()];
        let mut placeholders = Vec::new();
        for row in rows {
            values.push(row.into());
            placeholders.push(format!("${}", values.len()));
        }
        let sql = format!(
            "UPDATE memories SET hits = hits + 1, last_hit_at = $2 \
             WHERE repo_key = $1 AND id IN ({})",
            placeholders.join(", ")
        );
        let backend = self.connection.get_database_backend();
        let _turn = self.write_turn().await;
        self.connection
            .execute_raw(statement(backend, &sql, values))
            .await
            .map_err(unexpected("counting memory hits"))?;
        Ok(())
    }

    async fn count_by_type(
        &self,
        repo: &RepoFullName,
    ) -> Result<BTreeMap<MemoryType, u64>, MemoryStoreError> {
        let sql = "SELECT memory_type, COUNT(*) AS total FROM memories \
                   WHERE repo_key = $1 GROUP BY memory_type";
        let rows = self.memory_rows(sql, vec![repo_key(repo).into()], "counting memories").await?;
        let mut counts = BTreeMap::new();
        for row in rows {
            let kind: String =
                row.try_get("", "memory_type").map_err(unexpected("counting memories"))?;
            let total: i64 = row.try_get("", "total").map_err(unexpected("counting memories"))?;
            let Ok(kind) = kind.parse::<MemoryType>() else { continue };
            counts.insert(kind, u64::try_from(total).unwrap_or_default());
        }
        Ok(counts)
    }
}

#[async_trait]
impl ContributorActivity for SeaOrmStore {
    async fn activity_by_author(
        &self,
        repo: &RepoFullName,
    ) -> Result<BTreeMap<String, AuthorActivity>, ActivityError> {
        let sql = "SELECT lower(p.author) AS author, COUNT(DISTINCT p.pr_number) AS pulls, \
                   COUNT(DISTINCT j.head_sha) AS commits, MAX(p.pr_number) AS last_pull \
                   FROM pull_requests p \
                   JOIN review_jobs j ON j.repo_id = p.repo_id AND j.pr_number = p.pr_number \
                   WHERE lower(p.repo_full_name) = $1 AND p.author <> '' \
                   GROUP BY lower(p.author)";
        let doing = "reading contributor activity";
        let backend = self.connection.get_database_backend();
        let rows = self
            .connection
            .query_all_raw(statement(backend, sql, vec![repo_key(repo).into()]))
            .await
            .map_err(|error| ActivityError::Unexpected(db_error(doing)(error)))?;
        let mut activity = BTreeMap::new();
        for row in rows {
            let read = |column: &str| -> Result<u64, ActivityError> {
                let value: i64 = row
                    .try_get("", column)
                    .map_err(|error| ActivityError::Unexpected(db_error(doing)(error)))?;
                Ok(u64::try_from(value).unwrap_or_default())
            };
            let author: String = row
                .try_get("", "author")
                .map_err(|error| ActivityError::Unexpected(db_error(doing)(error)))?;
            let figures = AuthorActivity {
                pull_requests: read("pulls")?,
                commits: read("commits")?,
                last_pull_request: read("last_pull")?,
            };
            activity.insert(author, figures);
        }
        Ok(activity)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_tags_are_a_letter_and_the_hexadecimal_of_their_parts() {
        // What SQLite's hex() gives for the same text, folded to lower case as FTS5 does.
        assert_eq!(search_tag('r', &["a/b"]), "r612f62");
        assert_eq!(search_tag('s', &["a/b", "zoë"]), "s612f62207a6fc3ab");
    }

    #[test]
    fn a_search_matches_the_tags_of_what_it_narrows_to_and_its_words_in_the_content() {
        let repo = RepoFullName::parse("Org/App").unwrap();
        let words = vec!["auth".to_owned(), "session".to_owned()];
        let search = |types: Vec<MemoryType>, scope: Option<MemoryScope>| MemorySearch {
            query: String::new(),
            types,
            scope,
            limit: 5,
        };
        let repo_tag = search_tag('r', &["org/app"]);
        assert_eq!(
            sqlite_match(&repo, &search(vec![], None), &words),
            format!("search_tags : (\"{repo_tag}\") AND content : (\"auth\" OR \"session\")")
        );
        let scope_tag = search_tag('s', &["org/app", "octo"]);
        let narrowed =
            sqlite_match(&repo, &search(vec![], Some(MemoryScope::developer("Octo"))), &words);
        assert!(
            narrowed.starts_with(&format!("search_tags : (\"{scope_tag}\") AND")),
            "{narrowed}"
        );
        let types = vec![MemoryType::Decision, MemoryType::RiskModule];
        let typed = sqlite_match(&repo, &search(types.clone(), None), &words);
        let decision = search_tag('t', &["org/app", "decision"]);
        let risk = search_tag('t', &["org/app", "risk_module"]);
        assert!(typed.starts_with(&format!("search_tags : (\"{decision}\" OR \"{risk}\") AND")));
        let both = sqlite_match(&repo, &search(types, Some(MemoryScope::Project)), &words);
        let decision = search_tag('k', &["org/app", "project", "decision"]);
        assert!(both.starts_with(&format!("search_tags : (\"{decision}\" OR ")), "{both}");
    }
}
