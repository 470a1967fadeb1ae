//! What the dashboard reads without parsing payloads or asking GitHub: each pull request as the
//! latest delivery described it (`pull_requests`: title, author, branch, size, open, merged or
//! closed), the repository each delivery came from (`events.repo_id`), and the indexes its lists
//! and aggregates walk.

use sea_orm_migration::prelude::*;

use crate::run_timed;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

/// The schema, with `{time}` spelled per engine.
const SCHEMA: &[&str] = &[
    "CREATE TABLE pull_requests (
        repo_id BIGINT NOT NULL,
        pr_number BIGINT NOT NULL,
        repo_full_name VARCHAR NOT NULL,
        title VARCHAR NOT NULL,
        author VARCHAR NOT NULL,
        branch VARCHAR NOT NULL,
        html_url VARCHAR NOT NULL,
        state VARCHAR(10) NOT NULL,
        additions BIGINT NOT NULL,
        deletions BIGINT NOT NULL,
        changed_files BIGINT NOT NULL,
        opened_at {time} NOT NULL,
        merged_at {time},
        updated_at {time} NOT NULL,
        PRIMARY KEY (repo_id, pr_number)
    )",
    // Tenancy by name, for installations that predate GitHub repository ids.
    "CREATE INDEX ix_pull_requests_name ON pull_requests (lower(repo_full_name))",
    "ALTER TABLE events ADD COLUMN repo_id BIGINT",
    // The event list: one user's repositories, newest first.
    "CREATE INDEX ix_events_repo_created ON events (repo_id, created_at)",
    // From an event to the review it queued.
    "CREATE INDEX IF NOT EXISTS ix_review_jobs_event ON review_jobs (event_id)",
    // From a review run to its job.
    "CREATE INDEX IF NOT EXISTS ix_review_jobs_run ON review_jobs (review_run_id)",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_timed(manager, SCHEMA).await
    }
}
