//! A webhook payload, once compressed (20 KB of JSON becomes 3 to 6 KB), stays in its event's row
//! instead of being cut into 2 KB chunks in the TOAST table with an index entry each: one heap
//! insert per delivery instead of three to five, and one read per event. Rows whose compressed
//! payload exceeds a page still go to TOAST. New rows only. SQLite: nothing.

use sea_orm_migration::prelude::*;

use crate::on_postgres;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

const POSTGRES: &[&str] = &["ALTER TABLE events SET (toast_tuple_target = 8160)"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        on_postgres(manager, POSTGRES).await
    }
}
