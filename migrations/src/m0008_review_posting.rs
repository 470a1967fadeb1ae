//! What a review run posted, and what it was about to post: the intent recorded before a review
//! goes to GitHub (attempt, head commit, time) and, once posted, the review or comment id with
//! its inline and moved-to-body counts; the body as composed and the issues it links (numbers,
//! comma-separated), so that the run's result document can be rebuilt from the record. A retried job that finds an intent looks for its own
//! marker on the pull request before it posts again. Rows recorded before this migration were
//! saved after their post, so they read as posted (ids unknown).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

use crate::run_all;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

const COLUMNS: &[&str] = &[
    "ALTER TABLE review_records ADD COLUMN post_state VARCHAR(10) NOT NULL DEFAULT 'posted'",
    "ALTER TABLE review_records ADD COLUMN post_attempt INTEGER",
    "ALTER TABLE review_records ADD COLUMN post_head_sha VARCHAR(64)",
    "ALTER TABLE review_records ADD COLUMN post_started_at {time}",
    "ALTER TABLE review_records ADD COLUMN planned_inline INTEGER",
    "ALTER TABLE review_records ADD COLUMN files_reviewed INTEGER",
    "ALTER TABLE review_records ADD COLUMN body TEXT",
    "ALTER TABLE review_records ADD COLUMN linked_issues VARCHAR",
    "ALTER TABLE review_records ADD COLUMN posted_as VARCHAR(10)",
    "ALTER TABLE review_records ADD COLUMN posted_id {bigint}",
    "ALTER TABLE review_records ADD COLUMN inline_count INTEGER",
    "ALTER TABLE review_records ADD COLUMN moved_to_body_count INTEGER",
    "ALTER TABLE review_records ADD COLUMN post_adopted BOOLEAN",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let (bigint, time) = match manager.get_database_backend() {
            DbBackend::Postgres => ("BIGINT", "TIMESTAMPTZ"),
            DbBackend::Sqlite => ("INTEGER", "DATETIME"),
            other => {
                return Err(DbErr::Migration(format!("unsupported database backend {other:?}")));
            }
        };
        let statements: Vec<String> = COLUMNS
            .iter()
            .map(|statement| statement.replace("{bigint}", bigint).replace("{time}", time))
            .collect();
        let borrowed: Vec<&str> = statements.iter().map(String::as_str).collect();
        run_all(manager, &borrowed).await
    }
}
