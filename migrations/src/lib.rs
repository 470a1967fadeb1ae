//! Nectr's database migrations, for PostgreSQL and SQLite.
//!
//! They build a new database, or adopt one that the original Python service left behind: its
//! tables keep their names, columns and rows; what Nectr needs is added around them, and no step
//! fails because a table or an index exists already. Each migration runs once per database, as
//! recorded in `seaql_migrations`.

use sea_orm_migration::prelude::*;

mod m0001_base_tables;
mod m0002_adopt_original;
mod m0003_indexes;
mod m0004_webhooks_and_queue;
mod m0005_payload_compression;
mod m0006_review_records;
mod m0007_inline_payloads;
mod m0008_review_posting;
mod m0009_session_versions;
mod m0010_pull_requests;
mod m0011_memories;
mod m0012_code_graph;
mod m0013_graph_covering_indexes;
mod m0014_api_keys;
mod m0015_related_pull_requests;
mod m0016_reviewed_pull_requests;
mod m0017_revoked_sessions;
mod m0018_unplaced_events;
mod m0019_memory_search_tags;

/// The ordered list of Nectr's migrations.
#[derive(Debug, Clone, Copy, Default)]
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m0001_base_tables::Migration),
            Box::new(m0002_adopt_original::Migration),
            Box::new(m0003_indexes::Migration),
            Box::new(m0004_webhooks_and_queue::Migration),
            Box::new(m0005_payload_compression::Migration),
            Box::new(m0006_review_records::Migration),
            Box::new(m0007_inline_payloads::Migration),
            Box::new(m0008_review_posting::Migration),
            Box::new(m0009_session_versions::Migration),
            Box::new(m0010_pull_requests::Migration),
            Box::new(m0011_memories::Migration),
            Box::new(m0012_code_graph::Migration),
            Box::new(m0013_graph_covering_indexes::Migration),
            Box::new(m0014_api_keys::Migration),
            Box::new(m0015_related_pull_requests::Migration),
            Box::new(m0016_reviewed_pull_requests::Migration),
            Box::new(m0017_revoked_sessions::Migration),
            Box::new(m0018_unplaced_events::Migration),
            Box::new(m0019_memory_search_tags::Migration),
        ]
    }
}

/// Runs every statement of a script, one by one, on the migration's connection.
async fn run_all(manager: &SchemaManager<'_>, statements: &[&str]) -> Result<(), DbErr> {
    let connection = manager.get_connection();
    for statement in statements {
        connection.execute_unprepared(statement).await?;
    }
    Ok(())
}

/// Runs every statement of a script with `{time}` spelled as the engine's timestamp-with-zone
/// type (`TIMESTAMPTZ` on PostgreSQL, `DATETIME` on SQLite).
async fn run_timed(manager: &SchemaManager<'_>, statements: &[&str]) -> Result<(), DbErr> {
    let time = match manager.get_database_backend() {
        sea_orm_migration::sea_orm::DbBackend::Postgres => "TIMESTAMPTZ",
        sea_orm_migration::sea_orm::DbBackend::Sqlite => "DATETIME",
        other => return Err(DbErr::Migration(format!("unsupported database backend {other:?}"))),
    };
    let spelled: Vec<String> =
        statements.iter().map(|statement| statement.replace("{time}", time)).collect();
    let borrowed: Vec<&str> = spelled.iter().map(String::as_str).collect();
    run_all(manager, &borrowed).await
}

/// Runs a script on PostgreSQL only; on SQLite the migration does nothing.
async fn on_postgres(manager: &SchemaManager<'_>, statements: &[&str]) -> Result<(), DbErr> {
    match manager.get_database_backend() {
        sea_orm_migration::sea_orm::DbBackend::Postgres => run_all(manager, statements).await,
        _ => Ok(()),
    }
}

/// Applies every pending migration.
///
/// # Errors
/// The driver's error when a migration fails.
pub async fn run(connection: &sea_orm_migration::sea_orm::DatabaseConnection) -> Result<(), DbErr> {
    Migrator::up(connection, None).await
}

/// Applies only the first `count` pending migrations: the schema a later migration upgrades, as
/// a test of that migration's backfill builds it.
///
/// # Errors
/// The driver's error when a migration fails.
pub async fn run_first(
    connection: &sea_orm_migration::sea_orm::DatabaseConnection,
    count: u32,
) -> Result<(), DbErr> {
    Migrator::up(connection, Some(count)).await
}

/// The names of the migrations not applied yet, in order.
///
/// # Errors
/// The driver's error when the database cannot be read.
pub async fn pending(
    connection: &sea_orm_migration::sea_orm::DatabaseConnection,
) -> Result<Vec<String>, DbErr> {
    let pending = Migrator::get_pending_migrations(connection).await?;
    Ok(pending.iter().map(|migration| migration.name().to_owned()).collect())
}
