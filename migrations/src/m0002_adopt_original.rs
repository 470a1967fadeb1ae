//! Brings the original service's tables to Nectr's form, keeping every row.
//!
//! - PostgreSQL: GitHub ids become `BIGINT` (repository and hook ids outgrow 32 bits), and the
//!   naive `TIMESTAMP` columns of `events` and `workflow_runs` become `TIMESTAMPTZ`, reading the
//!   stored values as UTC. Columns already in that form are left alone.
//! - SQLite: timestamps stored as naive text are rewritten as RFC 3339 UTC text, so that every row
//!   sorts and parses the same way.
//!
//! Webhook secrets, plaintext in the original, are encrypted by the application at start-up
//! (`nectr-persistence`), because only it holds the keys.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

use crate::run_all;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

const BIGINT_COLUMNS: &[(&str, &str)] = &[
    ("users", "github_id"),
    ("installations", "github_repo_id"),
    ("installations", "webhook_id"),
    ("installations", "installation_id"),
];

const TIMESTAMP_COLUMNS: &[(&str, &str)] = &[
    ("users", "created_at"),
    ("users", "updated_at"),
    ("installations", "installed_at"),
    ("events", "created_at"),
    ("events", "processed_at"),
    ("workflow_runs", "started_at"),
    ("workflow_runs", "completed_at"),
    ("oauth_states", "created_at"),
    ("oauth_states", "expires_at"),
];

fn postgres_statements() -> Vec<String> {
    let mut statements = Vec::new();
    for (table, column) in BIGINT_COLUMNS {
        statements.push(format!(
            "DO $$ BEGIN
               IF (SELECT data_type FROM information_schema.columns
                   WHERE table_schema = current_schema() AND table_name = '{table}'
                     AND column_name = '{column}') = 'integer' THEN
                 ALTER TABLE {table} ALTER COLUMN {column} TYPE BIGINT;
               END IF;
             END $$"
        ));
    }
    for (table, column) in TIMESTAMP_COLUMNS {
        statements.push(format!(
            "DO $$ BEGIN
               IF (SELECT data_type FROM information_schema.columns
                   WHERE table_schema = current_schema() AND table_name = '{table}'
                     AND column_name = '{column}') = 'timestamp without time zone' THEN
                 ALTER TABLE {table} ALTER COLUMN {column} TYPE TIMESTAMPTZ
                   USING {column} AT TIME ZONE 'UTC';
               END IF;
             END $$"
        ));
    }
    statements
}

fn sqlite_statements() -> Vec<String> {
    TIMESTAMP_COLUMNS
        .iter()
        .map(|(table, column)| {
            format!(
                "UPDATE {table} SET {column} = strftime('%Y-%m-%dT%H:%M:%f+00:00', {column})
                 WHERE {column} IS NOT NULL AND typeof({column}) = 'text'
                   AND {column} NOT LIKE '%+__:__' AND {column} NOT LIKE '%Z'
                   AND strftime('%Y-%m-%dT%H:%M:%f+00:00', {column}) IS NOT NULL"
            )
        })
        .collect()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let statements = match manager.get_database_backend() {
            DbBackend::Postgres => postgres_statements(),
            DbBackend::Sqlite => sqlite_statements(),
            other => {
                return Err(DbErr::Migration(format!("unsupported database backend {other:?}")));
            }
        };
        let statements: Vec<&str> = statements.iter().map(String::as_str).collect();
        run_all(manager, &statements).await
    }
}
