//! A review records how many related past pull requests the code graph gave it, so the run's
//! result reports the figure even when a retried job adopts a post it finds on GitHub instead of
//! reviewing again. `NULL` for reviews made without a graph.

use sea_orm_migration::prelude::*;

use crate::run_all;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

const BOTH: &[&str] = &["ALTER TABLE review_records ADD COLUMN related_prs INTEGER"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_all(manager, BOTH).await
    }
}
