//! SQLite's memory search narrows to the repository inside the full-text index. `memories_fts`
//! indexed the content alone, so a search walked (and joined) every repository's matches before
//! keeping one repository's; it now indexes a second column, `search_tags`, generated from each
//! memory's repository, scope and type, and a search matches the tag of what it wants along with
//! its words, so that FTS5 intersects the two before anything is ranked. The index is rebuilt
//! from `memories`, so existing memories are found as before. PostgreSQL is unchanged.
//!
//! Each memory carries four tags, one per way a search narrows: `r` the repository, `s` the
//! repository and scope, `t` the repository and type, `k` all three. A tag is its letter and the
//! hexadecimal of its parts joined by spaces (the repository key, then `scope`, then
//! `memory_type`; none but the scope can hold a space, so the parts are unambiguous), one token
//! that FTS5's tokenizer keeps whole (it folds the hexadecimal to lower case).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

use crate::run_all;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

const SQLITE: &[&str] = &[
    "DROP TRIGGER memories_fts_insert",
    "DROP TRIGGER memories_fts_delete",
    "DROP TRIGGER memories_fts_update",
    "DROP TABLE memories_fts",
    "ALTER TABLE memories ADD COLUMN search_tags TEXT GENERATED ALWAYS AS (
        'r' || hex(repo_key)
        || ' s' || hex(repo_key || ' ' || scope)
        || ' t' || hex(repo_key || ' ' || memory_type)
        || ' k' || hex(repo_key || ' ' || scope || ' ' || memory_type)) VIRTUAL",
    "CREATE VIRTUAL TABLE memories_fts USING fts5(content, search_tags, content='memories', \
     content_rowid='id')",
    "INSERT INTO memories_fts (memories_fts) VALUES ('rebuild')",
    "CREATE TRIGGER memories_fts_insert AFTER INSERT ON memories BEGIN
        INSERT INTO memories_fts (rowid, content, search_tags)
            VALUES (new.id, new.content, new.search_tags);
    END",
    "CREATE TRIGGER memories_fts_delete AFTER DELETE ON memories BEGIN
        INSERT INTO memories_fts (memories_fts, rowid, content, search_tags)
            VALUES ('delete', old.id, old.content, old.search_tags);
    END",
    "CREATE TRIGGER memories_fts_update
        AFTER UPDATE OF content, repo_key, scope, memory_type ON memories BEGIN
        INSERT INTO memories_fts (memories_fts, rowid, content, search_tags)
            VALUES ('delete', old.id, old.content, old.search_tags);
        INSERT INTO memories_fts (rowid, content, search_tags)
            VALUES (new.id, new.content, new.search_tags);
    END",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        match manager.get_database_backend() {
            DbBackend::Sqlite => run_all(manager, SQLITE).await,
            _ => Ok(()),
        }
    }
}
