//! The indexes the original lacked, for the dashboard's filters and joins.

use sea_orm_migration::prelude::*;

use crate::run_all;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

const INDEXES: &[&str] = &[
    "CREATE INDEX IF NOT EXISTS ix_events_created_at ON events (created_at)",
    "CREATE INDEX IF NOT EXISTS ix_events_status ON events (status)",
    "CREATE INDEX IF NOT EXISTS ix_events_event_type ON events (event_type)",
    "CREATE INDEX IF NOT EXISTS ix_workflow_runs_event_id ON workflow_runs (event_id)",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_all(manager, INDEXES).await
    }
}
