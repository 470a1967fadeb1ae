//! Webhook payloads (20 KB of JSON is typical) are compressed with LZ4 instead of PostgreSQL's
//! default pglz, which cost more CPU than anything else on the intake path. New rows only; old
//! ones stay readable as they are. A server built without LZ4 keeps pglz. SQLite: nothing.

use sea_orm_migration::prelude::*;

use crate::on_postgres;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

const POSTGRES: &[&str] = &["DO $$ BEGIN \
       ALTER TABLE events ALTER COLUMN payload SET COMPRESSION lz4; \
     EXCEPTION WHEN feature_not_supported OR invalid_parameter_value THEN \
       RAISE NOTICE 'LZ4 is not available; webhook payloads keep pglz compression'; \
     END $$"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        on_postgres(manager, POSTGRES).await
    }
}
