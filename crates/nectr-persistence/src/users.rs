//! `UserRepository` on sea-orm. Tokens are encrypted on every write.

use async_trait::async_trait;
use chrono::Utc;
use nectr_domain::{AccessToken, User, UserId, UserRepository, UserRepositoryError, UserUpsert};
use sea_orm::sea_query::{Expr, ExprTrait, Func};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};

use crate::SeaOrmStore;
use crate::entities::users;
use crate::store::db_error;

impl SeaOrmStore {
    fn user_from_row(&self, row: users::Model) -> Result<User, UserRepositoryError> {
        let id = UserId::new(i64::from(row.id));
        let token = self
            .cipher
            .read_token(&row.github_access_token)
            .map_err(|_| UserRepositoryError::Undecryptable(id))?
            .into_plaintext();
        let created_at = row.created_at.unwrap_or_default();
        Ok(User {
            id,
            github_id: row.github_id,
            github_username: row.github_username,
            github_access_token: AccessToken::new(token),
            email: row.email,
            avatar_url: row.avatar_url,
            name: row.name,
            created_at,
            updated_at: row.updated_at.unwrap_or(created_at),
            session_version: row.session_version,
        })
    }

    /// The users whose GitHub login is `login`, ignoring ASCII case as GitHub does (more than
    /// one when a login moved from one GitHub account to another), oldest first. For the
    /// command line, which names users by login.
    ///
    /// # Errors
    /// [`UserRepositoryError::Unexpected`] when the database fails,
    /// [`UserRepositoryError::Undecryptable`] when a user's token cannot be read.
    pub async fn users_by_login(&self, login: &str) -> Result<Vec<User>, UserRepositoryError> {
        let rows = users::Entity::find()
            .filter(
                Expr::expr(Func::lower(Expr::col(users::Column::GithubUsername)))
                    .eq(login.to_ascii_lowercase()),
            )
            .order_by_asc(users::Column::Id)
            .all(&self.connection)
            .await
            .map_err(db_error("reading users by login"))?;
        rows.into_iter().map(|row| self.user_from_row(row)).collect()
    }

    async fn user_row_by_github_id(
        &self,
        github_id: i64,
    ) -> Result<Option<users::Model>, UserRepositoryError> {
        Ok(users::Entity::find()
            .filter(users::Column::GithubId.eq(github_id))
            .one(&self.connection)
            .await
            .map_err(db_error("reading a user"))?)
    }
}

#[async_trait]
impl UserRepository for SeaOrmStore {
    async fn upsert_by_github_id(&self, user: UserUpsert) -> Result<User, UserRepositoryError> {
        let now = Utc::now();
        let encrypted = self.cipher.encrypt(user.github_access_token.expose());
        let existing = self.user_row_by_github_id(user.github_id).await?;
        let is_new = existing.is_none();
        let mut row = match existing {
            Some(existing) => users::ActiveModel::from(existing),
            None => users::ActiveModel {
                github_id: Set(user.github_id),
                created_at: Set(Some(now)),
                session_version: Set(0),
                ..Default::default()
            },
        };
        row.github_username = Set(user.github_username);
        row.github_access_token = Set(encrypted);
        row.email = Set(user.email);
        row.avatar_url = Set(user.avatar_url);
        row.name = Set(user.name);
        row.updated_at = Set(Some(now));
        let saved = if is_new {
            row.insert(&self.connection).await
        } else {
            row.update(&self.connection).await
        };
        self.user_from_row(saved.map_err(db_error("saving a user"))?)
    }

    async fn find_by_id(&self, id: UserId) -> Result<Option<User>, UserRepositoryError> {
        let Ok(raw) = i32::try_from(id.get()) else { return Ok(None) };
        let row = users::Entity::find_by_id(raw)
            .one(&self.connection)
            .await
            .map_err(db_error("reading a user"))?;
        row.map(|row| self.user_from_row(row)).transpose()
    }

    async fn find_by_github_id(&self, github_id: i64) -> Result<Option<User>, UserRepositoryError> {
        let row = self.user_row_by_github_id(github_id).await?;
        row.map(|row| self.user_from_row(row)).transpose()
    }

    async fn end_sessions(&self, id: UserId) -> Result<Option<i64>, UserRepositoryError> {
        let Ok(raw) = i32::try_from(id.get()) else { return Ok(None) };
        // One statement raises the version, so concurrent logouts each move it forward.
        let result = users::Entity::update_many()
            .col_expr(
                users::Column::SessionVersion,
                Expr::col(users::Column::SessionVersion).add(1),
            )
            .filter(users::Column::Id.eq(raw))
            .exec(&self.connection)
            .await
            .map_err(db_error("ending a user's sessions"))?;
        if result.rows_affected == 0 {
            return Ok(None);
        }
        let row = users::Entity::find_by_id(raw)
            .one(&self.connection)
            .await
            .map_err(db_error("reading a user"))?;
        Ok(row.map(|row| row.session_version))
    }
}
