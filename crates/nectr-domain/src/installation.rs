//! Installations: repositories connected to Nectr (one row per user and repository), and the port
//! that stores them.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::{AccessToken, InstallationId, RepoFullName, UserId, WebhookSecret};

/// A repository connected to Nectr by a user.
#[derive(Clone, Debug, PartialEq)]
pub struct Installation {
    /// Nectr's id.
    pub id: InstallationId,
    /// The user who connected the repository.
    pub user_id: UserId,
    /// The repository's `owner/name`.
    pub repo: RepoFullName,
    /// GitHub's numeric repository id, when known.
    pub github_repo_id: Option<i64>,
    /// The id of the webhook GitHub delivers with (`X-GitHub-Hook-ID`), when known.
    pub webhook_id: Option<i64>,
    /// The webhook's HMAC secret, decrypted.
    pub webhook_secret: Option<WebhookSecret>,
    /// The GitHub App installation id, when the repository is reached through an App.
    pub installation_id: Option<i64>,
    /// False once the repository was disconnected (rows are kept for history).
    pub is_active: bool,
    /// When the repository was connected.
    pub installed_at: DateTime<Utc>,
    /// When GitHub's `ping` proved the webhook reaches Nectr with the right secret.
    pub verified_at: Option<DateTime<Utc>>,
    /// A token for this repository alone (set up without the dashboard), decrypted.
    pub access_token: Option<AccessToken>,
}

/// A repository about to be connected.
#[derive(Clone, Debug, PartialEq)]
pub struct NewInstallation {
    /// The user who connects it.
    pub user_id: UserId,
    /// The repository's `owner/name`.
    pub repo: RepoFullName,
    /// GitHub's numeric repository id.
    pub github_repo_id: Option<i64>,
    /// The webhook's id.
    pub webhook_id: Option<i64>,
    /// The webhook's HMAC secret.
    pub webhook_secret: Option<WebhookSecret>,
    /// The GitHub App installation id.
    pub installation_id: Option<i64>,
    /// A token for this repository alone.
    pub access_token: Option<AccessToken>,
}

/// Why an [`InstallationRepository`] call failed.
#[derive(Debug, thiserror::Error)]
pub enum InstallationRepositoryError {
    /// The installation does not exist.
    #[error("installation {0} does not exist")]
    NotFound(InstallationId),
    /// The referenced user does not exist.
    #[error("user {0} does not exist")]
    UnknownUser(UserId),
    /// The stored webhook secret cannot be decrypted with the configured keys.
    #[error("the webhook secret of installation {0} cannot be decrypted with the configured keys")]
    Undecryptable(InstallationId),
    /// Anything else.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// Stores connected repositories.
///
/// Contract for every implementation:
/// - `create` stores an active installation and returns it with its new id.
/// - The `find_active_*` lookups see only active rows, newest first.
/// - `deactivate` keeps the row and sets `is_active = false`; an unknown id is `NotFound`.
/// - Webhook secrets and tokens MUST be readable back exactly; the SQL adapter encrypts them.
/// - `mark_verified` sets `verified_at`; an unknown id is `NotFound`.
#[async_trait]
pub trait InstallationRepository: Send + Sync {
    /// Connects a repository.
    ///
    /// # Errors
    /// [`InstallationRepositoryError::UnknownUser`] when the user does not exist;
    /// [`InstallationRepositoryError::Unexpected`] when the store fails.
    async fn create(
        &self,
        installation: NewInstallation,
    ) -> Result<Installation, InstallationRepositoryError>;

    /// The installation with this id, active or not.
    ///
    /// # Errors
    /// [`InstallationRepositoryError::Undecryptable`], [`InstallationRepositoryError::Unexpected`].
    async fn find_by_id(
        &self,
        id: InstallationId,
    ) -> Result<Option<Installation>, InstallationRepositoryError>;

    /// The active installation of this repository for this user.
    ///
    /// # Errors
    /// As [`InstallationRepository::find_by_id`].
    async fn find_active_for_user(
        &self,
        user_id: UserId,
        repo: &RepoFullName,
    ) -> Result<Option<Installation>, InstallationRepositoryError>;

    /// All active installations of one user, newest first.
    ///
    /// # Errors
    /// As [`InstallationRepository::find_by_id`].
    async fn list_active_for_user(
        &self,
        user_id: UserId,
    ) -> Result<Vec<Installation>, InstallationRepositoryError>;

    /// Active installations whose webhook has this id, newest first.
    ///
    /// # Errors
    /// As [`InstallationRepository::find_by_id`].
    async fn find_active_by_webhook_id(
        &self,
        webhook_id: i64,
    ) -> Result<Vec<Installation>, InstallationRepositoryError>;

    /// Active installations of the repository with this GitHub id, newest first.
    ///
    /// # Errors
    /// As [`InstallationRepository::find_by_id`].
    async fn find_active_by_github_repo_id(
        &self,
        github_repo_id: i64,
    ) -> Result<Vec<Installation>, InstallationRepositoryError>;

    /// Disconnects a repository, keeping its row.
    ///
    /// # Errors
    /// [`InstallationRepositoryError::NotFound`], [`InstallationRepositoryError::Unexpected`].
    async fn deactivate(&self, id: InstallationId) -> Result<(), InstallationRepositoryError>;

    /// Every active installation, newest first.
    ///
    /// # Errors
    /// As [`InstallationRepository::find_by_id`].
    async fn list_active(&self) -> Result<Vec<Installation>, InstallationRepositoryError>;

    /// Records that GitHub's `ping` reached Nectr through this installation's webhook.
    ///
    /// # Errors
    /// [`InstallationRepositoryError::NotFound`], [`InstallationRepositoryError::Unexpected`].
    async fn mark_verified(
        &self,
        id: InstallationId,
        at: DateTime<Utc>,
    ) -> Result<(), InstallationRepositoryError>;
}
