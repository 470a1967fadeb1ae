//! The embedded code graph (used when Neo4j is not configured): each repository's last scan,
//! its files and import edges stamped with the scan's generation, and the reviewed pull requests
//! with the files they touched and the issues they close. Repositories are keyed by their
//! lower-cased `owner/name`, so every row belongs to one repository and developers (pull-request
//! authors) are scoped per repository.

use sea_orm_migration::prelude::*;

use crate::run_timed;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

/// The schema, with `{time}` spelled per engine.
const SCHEMA: &[&str] = &[
    "CREATE TABLE graph_repositories (
        repo VARCHAR NOT NULL PRIMARY KEY,
        commit_sha VARCHAR NOT NULL,
        generation BIGINT NOT NULL,
        files_indexed BIGINT NOT NULL,
        edges_indexed BIGINT NOT NULL,
        scanned_at {time} NOT NULL
    )",
    "CREATE TABLE graph_files (
        repo VARCHAR NOT NULL,
        path VARCHAR NOT NULL,
        language VARCHAR(20) NOT NULL,
        size BIGINT NOT NULL,
        generation BIGINT NOT NULL,
        PRIMARY KEY (repo, path)
    )",
    "CREATE TABLE graph_imports (
        repo VARCHAR NOT NULL,
        source VARCHAR NOT NULL,
        target VARCHAR NOT NULL,
        generation BIGINT NOT NULL,
        PRIMARY KEY (repo, source, target)
    )",
    // Dependents: who imports a file.
    "CREATE INDEX ix_graph_imports_target ON graph_imports (repo, target)",
    "CREATE TABLE graph_pull_requests (
        repo VARCHAR NOT NULL,
        number BIGINT NOT NULL,
        title VARCHAR NOT NULL,
        author VARCHAR NOT NULL,
        verdict VARCHAR(20),
        head_sha VARCHAR NOT NULL,
        reviewed_at {time} NOT NULL,
        PRIMARY KEY (repo, number)
    )",
    "CREATE TABLE graph_touches (
        repo VARCHAR NOT NULL,
        number BIGINT NOT NULL,
        path VARCHAR NOT NULL,
        PRIMARY KEY (repo, number, path)
    )",
    // Related pull requests and experts: who touched a file.
    "CREATE INDEX ix_graph_touches_path ON graph_touches (repo, path)",
    "CREATE TABLE graph_closes (
        repo VARCHAR NOT NULL,
        number BIGINT NOT NULL,
        issue BIGINT NOT NULL,
        PRIMARY KEY (repo, number, issue)
    )",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_timed(manager, SCHEMA).await
    }
}
