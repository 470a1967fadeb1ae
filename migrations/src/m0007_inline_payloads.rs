//! A webhook payload, once compressed (20 KB of JSON becomes 3 to 6 KB), stays in its event's row
//! instead of being cut into 2 KB chunks in the TOAST table with an index entry each: one heap
//! insert per delivery instead of three to five, and one read per event. Rows whose compressed
//! payload exceeds a page still go to TOAST. New rows only. SQLite: nothing.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

use crate::run_all;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

const POSTGRES: &[&str] = &["ALTER TABLE events SET (toast_tuple_target = 8160)"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        match manager.get_database_backend() {
            DbBackend::Postgres => run_all(manager, POSTGRES).await,
            _ => Ok(()),
        }
    }
}
