//! Sessions that the server can end: each user has a session version, every session (a signed
//! token) carries the version it was issued under, and logout raises the version, so older
//! sessions are refused. Existing users start at 0; the original's rows are kept as they are.

use sea_orm_migration::prelude::*;

use crate::run_all;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

const BOTH: &[&str] = &["ALTER TABLE users ADD COLUMN session_version BIGINT NOT NULL DEFAULT 0"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_all(manager, BOTH).await
    }
}
