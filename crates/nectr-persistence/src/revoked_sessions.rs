//! `RevokedSessions` on sea-orm: the `revoked_sessions` table, one row per revoked session id
//! (its primary key) with its token's expiry. Every revocation purges the rows that expired, so
//! the table holds only sessions whose tokens could still be presented.

use async_trait::async_trait;
use chrono::{DateTime, SubsecRound, Utc};
use nectr_domain::sign_in::{RevokedSessions, RevokedSessionsError};
use sea_orm::{ColumnTrait, DbErr, EntityTrait, QueryFilter, Set};

use crate::SeaOrmStore;
use crate::entities::revoked_sessions::{self, Column, Entity};
use crate::store::db_error;

fn unexpected(doing: &'static str) -> impl Fn(DbErr) -> RevokedSessionsError {
    move |error| RevokedSessionsError::Unexpected(db_error(doing)(error))
}

#[async_trait]
impl RevokedSessions for SeaOrmStore {
    async fn revoke(
        &self,
        session_id: &str,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), RevokedSessionsError> {
        let _turn = self.write_turn().await;
        Entity::delete_many()
            .filter(Column::ExpiresAt.lte(now))
            .exec(&self.connection)
            .await
            .map_err(unexpected("purging expired revoked sessions"))?;
        let row = revoked_sessions::ActiveModel {
            sid: Set(session_id.to_owned()),
            expires_at: Set(expires_at.trunc_subsecs(6)),
        };
        // A session revoked already (a repeated logout) keeps its row.
        Entity::insert(row)
            .on_conflict_do_nothing_on([Column::Sid])
            .exec(&self.connection)
            .await
            .map_err(unexpected("revoking a session"))?;
        Ok(())
    }

    async fn is_revoked(&self, session_id: &str) -> Result<bool, RevokedSessionsError> {
        let row = Entity::find_by_id(session_id.to_owned())
            .one(&self.connection)
            .await
            .map_err(unexpected("reading a revoked session"))?;
        Ok(row.is_some())
    }
}
