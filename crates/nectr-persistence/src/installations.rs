//! `InstallationRepository` on sea-orm. Webhook secrets are encrypted at rest.

use async_trait::async_trait;
use chrono::DateTime;
use chrono::Utc;
use nectr_domain::{
    AccessToken, Installation, InstallationId, InstallationRepository, InstallationRepositoryError,
    NewInstallation, RepoFullName, UserId, WebhookSecret,
};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Select, Set, SqlErr,
};

use crate::SeaOrmStore;
use crate::entities::installations::{self, Column};
use crate::store::db_error;

impl SeaOrmStore {
    fn installation_from_row(
        &self,
        row: installations::Model,
    ) -> Result<Installation, InstallationRepositoryError> {
        let id = InstallationId::new(i64::from(row.id));
        let webhook_secret = match &row.webhook_secret {
            Some(stored) => Some(WebhookSecret::new(
                self.cipher
                    .read_secret(stored)
                    .map_err(|_| InstallationRepositoryError::Undecryptable(id))?
                    .into_plaintext(),
            )),
            None => None,
        };
        let repo = RepoFullName::parse(&row.repo_full_name).map_err(|error| {
            anyhow::anyhow!("installation {id} has an invalid repository name: {error}")
        })?;
        let access_token = match &row.access_token {
            Some(stored) => Some(AccessToken::new(
                self.cipher
                    .read_token(stored)
                    .map_err(|_| InstallationRepositoryError::Undecryptable(id))?
                    .into_plaintext(),
            )),
            None => None,
        };
        Ok(Installation {
            id,
            user_id: UserId::new(i64::from(row.user_id)),
            repo,
            github_repo_id: row.github_repo_id,
            webhook_id: row.webhook_id,
            webhook_secret,
            installation_id: row.installation_id,
            is_active: row.is_active,
            installed_at: row.installed_at.unwrap_or_default(),
            verified_at: row.verified_at,
            access_token,
        })
    }

    async fn installations_where(
        &self,
        query: Select<installations::Entity>,
    ) -> Result<Vec<Installation>, InstallationRepositoryError> {
        query
            .order_by_desc(Column::InstalledAt)
            .order_by_desc(Column::Id)
            .all(&self.connection)
            .await
            .map_err(db_error("reading installations"))?
            .into_iter()
            .map(|row| self.installation_from_row(row))
            .collect()
    }
}

fn active() -> Select<installations::Entity> {
    installations::Entity::find().filter(Column::IsActive.eq(true))
}

fn raw_id(id: i64) -> Option<i32> {
    i32::try_from(id).ok()
}

#[async_trait]
impl InstallationRepository for SeaOrmStore {
    async fn create(
        &self,
        installation: NewInstallation,
    ) -> Result<Installation, InstallationRepositoryError> {
        let user_id = installation.user_id;
        let Some(raw_user_id) = raw_id(user_id.get()) else {
            return Err(InstallationRepositoryError::UnknownUser(user_id));
        };
        let row = installations::ActiveModel {
            user_id: Set(raw_user_id),
            repo_full_name: Set(installation.repo.to_string()),
            github_repo_id: Set(installation.github_repo_id),
            webhook_id: Set(installation.webhook_id),
            webhook_secret: Set(installation
                .webhook_secret
                .map(|secret| self.cipher.encrypt(secret.expose()))),
            installation_id: Set(installation.installation_id),
            access_token: Set(installation
                .access_token
                .map(|token| self.cipher.encrypt(token.expose()))),
            verified_at: Set(None),
            is_active: Set(true),
            installed_at: Set(Some(Utc::now())),
            ..Default::default()
        };
        let saved = row.insert(&self.connection).await.map_err(|error| match error.sql_err() {
            Some(SqlErr::ForeignKeyConstraintViolation(_)) => {
                InstallationRepositoryError::UnknownUser(user_id)
            }
            _ => db_error("connecting a repository")(error).into(),
        })?;
        self.installation_from_row(saved)
    }

    async fn find_by_id(
        &self,
        id: InstallationId,
    ) -> Result<Option<Installation>, InstallationRepositoryError> {
        let Some(raw) = raw_id(id.get()) else { return Ok(None) };
        let row = installations::Entity::find_by_id(raw)
            .one(&self.connection)
            .await
            .map_err(db_error("reading an installation"))?;
        row.map(|row| self.installation_from_row(row)).transpose()
    }

    async fn find_active_for_user(
        &self,
        user_id: UserId,
        repo: &RepoFullName,
    ) -> Result<Option<Installation>, InstallationRepositoryError> {
        let Some(raw_user_id) = raw_id(user_id.get()) else { return Ok(None) };
        let query = active()
            .filter(Column::UserId.eq(raw_user_id))
            .filter(Column::RepoFullName.eq(repo.as_str()));
        Ok(self.installations_where(query).await?.into_iter().next())
    }

    async fn list_active_for_user(
        &self,
        user_id: UserId,
    ) -> Result<Vec<Installation>, InstallationRepositoryError> {
        let Some(raw_user_id) = raw_id(user_id.get()) else { return Ok(Vec::new()) };
        self.installations_where(active().filter(Column::UserId.eq(raw_user_id))).await
    }

    async fn find_active_by_webhook_id(
        &self,
        webhook_id: i64,
    ) -> Result<Vec<Installation>, InstallationRepositoryError> {
        self.installations_where(active().filter(Column::WebhookId.eq(webhook_id))).await
    }

    async fn find_active_by_github_repo_id(
        &self,
        github_repo_id: i64,
    ) -> Result<Vec<Installation>, InstallationRepositoryError> {
        self.installations_where(active().filter(Column::GithubRepoId.eq(github_repo_id))).await
    }

    async fn deactivate(&self, id: InstallationId) -> Result<(), InstallationRepositoryError> {
        let Some(raw) = raw_id(id.get()) else {
            return Err(InstallationRepositoryError::NotFound(id));
        };
        let result = installations::Entity::update_many()
            .col_expr(Column::IsActive, Expr::value(false))
            .filter(Column::Id.eq(raw))
            .exec(&self.connection)
            .await
            .map_err(db_error("disconnecting a repository"))?;
        if result.rows_affected == 0 {
            return Err(InstallationRepositoryError::NotFound(id));
        }
        Ok(())
    }

    async fn list_active(&self) -> Result<Vec<Installation>, InstallationRepositoryError> {
        self.installations_where(active()).await
    }

    async fn mark_verified(
        &self,
        id: InstallationId,
        at: DateTime<Utc>,
    ) -> Result<(), InstallationRepositoryError> {
        let Some(raw) = raw_id(id.get()) else {
            return Err(InstallationRepositoryError::NotFound(id));
        };
        let result = installations::Entity::update_many()
            .col_expr(Column::VerifiedAt, Expr::value(Some(at)))
            .filter(Column::Id.eq(raw))
            .exec(&self.connection)
            .await
            .map_err(db_error("marking an installation verified"))?;
        if result.rows_affected == 0 {
            return Err(InstallationRepositoryError::NotFound(id));
        }
        Ok(())
    }
}
