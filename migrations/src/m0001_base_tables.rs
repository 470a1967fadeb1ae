//! The five tables of the original service (`users`, `installations`, `events`, `workflow_runs`,
//! `oauth_states`), created only where they do not exist yet.
//!
//! A new database gets them in Nectr's form: UTC timestamps and 64-bit GitHub ids. An adopted
//! database keeps its own tables untouched here; `m0002_adopt_original` brings them to that form.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

use crate::run_all;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

const POSTGRES: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS users (
        id SERIAL PRIMARY KEY,
        github_id BIGINT NOT NULL UNIQUE,
        github_username VARCHAR NOT NULL,
        github_access_token VARCHAR NOT NULL,
        email VARCHAR,
        avatar_url VARCHAR,
        name VARCHAR,
        created_at TIMESTAMPTZ DEFAULT now(),
        updated_at TIMESTAMPTZ DEFAULT now()
    )",
    "CREATE INDEX IF NOT EXISTS ix_users_github_id ON users (github_id)",
    "CREATE TABLE IF NOT EXISTS installations (
        id SERIAL PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users (id),
        repo_full_name VARCHAR NOT NULL,
        github_repo_id BIGINT,
        webhook_id BIGINT,
        webhook_secret VARCHAR,
        installation_id BIGINT,
        is_active BOOLEAN NOT NULL DEFAULT true,
        installed_at TIMESTAMPTZ DEFAULT now()
    )",
    "CREATE INDEX IF NOT EXISTS ix_installations_user_id ON installations (user_id)",
    "CREATE INDEX IF NOT EXISTS ix_installations_repo_full_name ON installations (repo_full_name)",
    "CREATE TABLE IF NOT EXISTS events (
        id SERIAL PRIMARY KEY,
        event_type VARCHAR(50) NOT NULL,
        source VARCHAR(50) NOT NULL,
        payload TEXT NOT NULL,
        status VARCHAR(20) NOT NULL,
        created_at TIMESTAMPTZ DEFAULT now(),
        processed_at TIMESTAMPTZ
    )",
    "CREATE TABLE IF NOT EXISTS workflow_runs (
        id SERIAL PRIMARY KEY,
        event_id INTEGER NOT NULL REFERENCES events (id),
        workflow_type VARCHAR(50) NOT NULL,
        status VARCHAR(20) DEFAULT 'running',
        result TEXT,
        error TEXT,
        started_at TIMESTAMPTZ DEFAULT now(),
        completed_at TIMESTAMPTZ
    )",
    "CREATE TABLE IF NOT EXISTS oauth_states (
        id SERIAL PRIMARY KEY,
        state VARCHAR NOT NULL UNIQUE,
        created_at TIMESTAMPTZ DEFAULT now(),
        expires_at TIMESTAMPTZ NOT NULL
    )",
];

const SQLITE: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS users (
        id INTEGER NOT NULL PRIMARY KEY,
        github_id INTEGER NOT NULL UNIQUE,
        github_username VARCHAR NOT NULL,
        github_access_token VARCHAR NOT NULL,
        email VARCHAR,
        avatar_url VARCHAR,
        name VARCHAR,
        created_at DATETIME DEFAULT (strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now')),
        updated_at DATETIME DEFAULT (strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now'))
    )",
    "CREATE INDEX IF NOT EXISTS ix_users_github_id ON users (github_id)",
    "CREATE TABLE IF NOT EXISTS installations (
        id INTEGER NOT NULL PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users (id),
        repo_full_name VARCHAR NOT NULL,
        github_repo_id INTEGER,
        webhook_id INTEGER,
        webhook_secret VARCHAR,
        installation_id INTEGER,
        is_active BOOLEAN NOT NULL DEFAULT 1,
        installed_at DATETIME DEFAULT (strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now'))
    )",
    "CREATE INDEX IF NOT EXISTS ix_installations_user_id ON installations (user_id)",
    "CREATE INDEX IF NOT EXISTS ix_installations_repo_full_name ON installations (repo_full_name)",
    "CREATE TABLE IF NOT EXISTS events (
        id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
        event_type VARCHAR(50) NOT NULL,
        source VARCHAR(50) NOT NULL,
        payload TEXT NOT NULL,
        status VARCHAR(20) NOT NULL,
        created_at DATETIME DEFAULT (strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now')),
        processed_at DATETIME
    )",
    "CREATE TABLE IF NOT EXISTS workflow_runs (
        id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
        event_id INTEGER NOT NULL REFERENCES events (id),
        workflow_type VARCHAR(50) NOT NULL,
        status VARCHAR(20) DEFAULT 'running',
        result TEXT,
        error TEXT,
        started_at DATETIME DEFAULT (strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now')),
        completed_at DATETIME
    )",
    "CREATE TABLE IF NOT EXISTS oauth_states (
        id INTEGER NOT NULL PRIMARY KEY,
        state VARCHAR NOT NULL UNIQUE,
        created_at DATETIME DEFAULT (strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now')),
        expires_at DATETIME NOT NULL
    )",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        match manager.get_database_backend() {
            DbBackend::Postgres => run_all(manager, POSTGRES).await,
            DbBackend::Sqlite => run_all(manager, SQLITE).await,
            other => Err(DbErr::Migration(format!("unsupported database backend {other:?}"))),
        }
    }
}
