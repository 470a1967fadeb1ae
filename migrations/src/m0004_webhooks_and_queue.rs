//! What webhook intake and the durable review queue need: delivery ids (unique) and GitHub event
//! names on `events`; verification time and a per-repository token on `installations`; lookups
//! by hook id and repository id; and the `review_jobs` table.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

use crate::run_all;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

const COMMON: &[&str] = &[
    "ALTER TABLE events ADD COLUMN delivery_id VARCHAR(64)",
    "ALTER TABLE events ADD COLUMN github_event VARCHAR(50)",
    "CREATE UNIQUE INDEX IF NOT EXISTS ux_events_delivery_id ON events (delivery_id)",
    "ALTER TABLE installations ADD COLUMN access_token VARCHAR",
    "CREATE INDEX IF NOT EXISTS ix_installations_webhook_id ON installations (webhook_id)",
    "CREATE INDEX IF NOT EXISTS ix_installations_github_repo_id ON installations (github_repo_id)",
];

const POSTGRES: &[&str] = &[
    "ALTER TABLE installations ADD COLUMN verified_at TIMESTAMPTZ",
    "CREATE TABLE review_jobs (
        id BIGSERIAL PRIMARY KEY,
        event_id INTEGER NOT NULL REFERENCES events (id),
        repo_id BIGINT NOT NULL,
        repo_full_name VARCHAR NOT NULL,
        pr_number BIGINT NOT NULL,
        head_sha VARCHAR(64) NOT NULL,
        installation_id BIGINT,
        status VARCHAR(20) NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        max_attempts INTEGER NOT NULL,
        available_at TIMESTAMPTZ NOT NULL,
        lease_owner VARCHAR(128),
        lease_expires_at TIMESTAMPTZ,
        stop_requested VARCHAR(20),
        review_run_id INTEGER REFERENCES workflow_runs (id),
        last_error TEXT,
        created_at TIMESTAMPTZ NOT NULL,
        updated_at TIMESTAMPTZ NOT NULL
    )",
];

const SQLITE: &[&str] = &[
    "ALTER TABLE installations ADD COLUMN verified_at DATETIME",
    "CREATE TABLE review_jobs (
        id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
        event_id INTEGER NOT NULL REFERENCES events (id),
        repo_id INTEGER NOT NULL,
        repo_full_name VARCHAR NOT NULL,
        pr_number INTEGER NOT NULL,
        head_sha VARCHAR(64) NOT NULL,
        installation_id INTEGER,
        status VARCHAR(20) NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        max_attempts INTEGER NOT NULL,
        available_at DATETIME NOT NULL,
        lease_owner VARCHAR(128),
        lease_expires_at DATETIME,
        stop_requested VARCHAR(20),
        review_run_id INTEGER REFERENCES workflow_runs (id),
        last_error TEXT,
        created_at DATETIME NOT NULL,
        updated_at DATETIME NOT NULL
    )",
];

/// Shared by both engines; partial indexes work on PostgreSQL and SQLite alike.
const JOB_INDEXES: &[&str] = &[
    // One job per commit of a pull request.
    "CREATE UNIQUE INDEX ux_review_jobs_commit ON review_jobs (repo_id, pr_number, head_sha)",
    // At most one running job per pull request, enforced by the database itself.
    "CREATE UNIQUE INDEX ux_review_jobs_one_running ON review_jobs (repo_id, pr_number) WHERE status = 'running'",
    "CREATE INDEX ix_review_jobs_claim ON review_jobs (status, available_at, id)",
    "CREATE INDEX ix_review_jobs_lease ON review_jobs (status, lease_expires_at)",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let engine_specific = match manager.get_database_backend() {
            DbBackend::Postgres => POSTGRES,
            DbBackend::Sqlite => SQLITE,
            other => {
                return Err(DbErr::Migration(format!("unsupported database backend {other:?}")));
            }
        };
        run_all(manager, COMMON).await?;
        run_all(manager, engine_specific).await?;
        run_all(manager, JOB_INDEXES).await
    }
}
