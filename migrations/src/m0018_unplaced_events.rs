//! The adoption of the original's history runs at every start and reads the events it has not
//! placed yet (no repository, no GitHub event name). Without an index that read walked all of
//! `events` at each start; this partial index holds only those rows, which on a database
//! Nectr has run for a while are the few original events it could not place.

use sea_orm_migration::prelude::*;

use crate::run_all;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

const BOTH: &[&str] = &["CREATE INDEX ix_events_unplaced ON events (id) \
     WHERE repo_id IS NULL AND github_event IS NULL"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_all(manager, BOTH).await
    }
}
