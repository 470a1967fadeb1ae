//! Sessions ended one at a time: `revoked_sessions`, one row per session id (the `sid` claim
//! of a session token) that logout revoked, kept until the token expires (`expires_at`), after
//! which the token is refused anyway and the row is purged. Ending every session of a user
//! still goes through `users.session_version` (m0009).

use sea_orm_migration::prelude::*;

use crate::run_timed;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

const TABLE: &str = "CREATE TABLE revoked_sessions (sid VARCHAR(64) NOT NULL PRIMARY KEY, \
    expires_at {time} NOT NULL)";

/// Purging finds the expired rows by their expiry.
const EXPIRY_INDEX: &str =
    "CREATE INDEX ix_revoked_sessions_expires_at ON revoked_sessions (expires_at)";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_timed(manager, &[TABLE, EXPIRY_INDEX]).await
    }
}
