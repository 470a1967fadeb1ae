//! `OAuthStateRepository` on sea-orm.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use nectr_domain::{OAuthState, OAuthStateRepository, OAuthStateRepositoryError};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set, SqlErr};

use crate::SeaOrmStore;
use crate::entities::oauth_states::{self, Column};
use crate::store::db_error;

#[async_trait]
impl OAuthStateRepository for SeaOrmStore {
    async fn create(
        &self,
        state: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<OAuthState, OAuthStateRepositoryError> {
        let row = oauth_states::ActiveModel {
            state: Set(state.to_owned()),
            created_at: Set(Some(Utc::now())),
            expires_at: Set(expires_at),
            ..Default::default()
        };
        let saved = row.insert(&self.connection).await.map_err(|error| match error.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(_)) => OAuthStateRepositoryError::Duplicate,
            _ => db_error("storing an OAuth state")(error).into(),
        })?;
        Ok(OAuthState {
            state: saved.state,
            created_at: saved.created_at.unwrap_or_default(),
            expires_at: saved.expires_at,
        })
    }

    async fn consume(
        &self,
        state: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, OAuthStateRepositoryError> {
        // One statement decides, so two concurrent callers cannot both succeed.
        let accepted = oauth_states::Entity::delete_many()
            .filter(Column::State.eq(state))
            .filter(Column::ExpiresAt.gt(now))
            .exec(&self.connection)
            .await
            .map_err(db_error("consuming an OAuth state"))?;
        if accepted.rows_affected > 0 {
            return Ok(true);
        }
        oauth_states::Entity::delete_many()
            .filter(Column::State.eq(state))
            .exec(&self.connection)
            .await
            .map_err(db_error("deleting an expired OAuth state"))?;
        Ok(false)
    }

    async fn purge_expired(&self, now: DateTime<Utc>) -> Result<u64, OAuthStateRepositoryError> {
        let result = oauth_states::Entity::delete_many()
            .filter(Column::ExpiresAt.lte(now))
            .exec(&self.connection)
            .await
            .map_err(db_error("purging OAuth states"))?;
        Ok(result.rows_affected)
    }
}
