//! What each review did, in typed columns: verdict, confidence, counts per severity, model,
//! tokens, cost and step durations (`review_records`, one row per run) and every finding
//! (`review_findings`). `workflow_runs.result` keeps the original's JSON for its dashboard.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

use crate::run_all;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

/// The schema, with `{id}`, `{bigint}`, `{real}` and `{time}` spelled per engine.
const SCHEMA: &[&str] = &[
    "CREATE TABLE review_records (
        run_id INTEGER NOT NULL PRIMARY KEY REFERENCES workflow_runs (id),
        verdict VARCHAR(20) NOT NULL,
        confidence INTEGER NOT NULL,
        posted_event VARCHAR(20) NOT NULL,
        critical_count INTEGER NOT NULL,
        moderate_count INTEGER NOT NULL,
        minor_count INTEGER NOT NULL,
        model VARCHAR NOT NULL,
        input_tokens {bigint} NOT NULL,
        output_tokens {bigint} NOT NULL,
        cache_read_tokens {bigint} NOT NULL,
        cache_write_tokens {bigint} NOT NULL,
        cost_usd {real} NOT NULL,
        fetch_ms {bigint} NOT NULL,
        model_ms {bigint} NOT NULL,
        post_ms {bigint} NOT NULL,
        total_ms {bigint} NOT NULL,
        recorded_at {time} NOT NULL
    )",
    "CREATE TABLE review_findings (
        id {id},
        run_id INTEGER NOT NULL REFERENCES workflow_runs (id),
        position INTEGER NOT NULL,
        path VARCHAR NOT NULL,
        line {bigint} NOT NULL,
        end_line {bigint},
        severity VARCHAR(10) NOT NULL,
        category VARCHAR NOT NULL,
        title VARCHAR NOT NULL,
        explanation TEXT NOT NULL,
        suggestion TEXT,
        inline BOOLEAN NOT NULL
    )",
    "CREATE INDEX ix_review_findings_run ON review_findings (run_id, position)",
    "CREATE INDEX ix_review_findings_severity ON review_findings (severity)",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let (id, bigint, real, time) = match manager.get_database_backend() {
            DbBackend::Postgres => {
                ("BIGSERIAL PRIMARY KEY", "BIGINT", "DOUBLE PRECISION", "TIMESTAMPTZ")
            }
            DbBackend::Sqlite => {
                ("INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT", "INTEGER", "REAL", "DATETIME")
            }
            other => {
                return Err(DbErr::Migration(format!("unsupported database backend {other:?}")));
            }
        };
        let statements: Vec<String> = SCHEMA
            .iter()
            .map(|statement| {
                statement
                    .replace("{id}", id)
                    .replace("{bigint}", bigint)
                    .replace("{real}", real)
                    .replace("{time}", time)
            })
            .collect();
        let borrowed: Vec<&str> = statements.iter().map(String::as_str).collect();
        run_all(manager, &borrowed).await
    }
}
