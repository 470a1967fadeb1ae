//! Tenancy: a user sees and changes only what belongs to the repositories they have connected.
//!
//! Every route and query that reads or changes a repository's data asks [`Tenancy`] first. A
//! repository the user has not connected is answered exactly like one that does not exist
//! ([`TenancyError::NotConnected`], which the API turns into 404, never 403), so that the names
//! and ids of other users' repositories do not leak.

use std::sync::Arc;

use crate::{
    Installation, InstallationRepository, InstallationRepositoryError, RepoFullName, UserId,
};

/// The repositories one user has connected (active installations).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ConnectedRepositories {
    /// The user's active installations, newest first.
    pub installations: Vec<Installation>,
}

impl ConnectedRepositories {
    /// The installation of `repo` (compared the way GitHub does, ignoring case), when connected.
    pub fn find(&self, repo: &RepoFullName) -> Option<&Installation> {
        self.installations.iter().find(|installation| installation.repo.eq_ignore_case(repo))
    }

    /// Whether `repo` is connected.
    pub fn contains(&self, repo: &RepoFullName) -> bool {
        self.find(repo).is_some()
    }

    /// Whether the repository with this GitHub id is connected.
    pub fn contains_github_id(&self, github_repo_id: i64) -> bool {
        self.installations
            .iter()
            .any(|installation| installation.github_repo_id == Some(github_repo_id))
    }

    /// The connected repositories' names, without duplicates, in installation order.
    pub fn names(&self) -> Vec<RepoFullName> {
        let mut names: Vec<RepoFullName> = Vec::new();
        for installation in &self.installations {
            if !names.iter().any(|name| name.eq_ignore_case(&installation.repo)) {
                names.push(installation.repo.clone());
            }
        }
        names
    }

    /// How many repositories are connected.
    pub fn len(&self) -> usize {
        self.names().len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.installations.is_empty()
    }
}

/// Why a tenancy check failed.
#[derive(Debug, thiserror::Error)]
pub enum TenancyError {
    /// The user has not connected this repository (or it does not exist): answer 404.
    #[error("repository {0} is not connected")]
    NotConnected(RepoFullName),
    /// The store failed.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<InstallationRepositoryError> for TenancyError {
    fn from(error: InstallationRepositoryError) -> Self {
        Self::Unexpected(anyhow::Error::new(error))
    }
}

/// Answers which repositories a user may see and change.
#[derive(Clone)]
pub struct Tenancy {
    installations: Arc<dyn InstallationRepository>,
}

impl Tenancy {
    /// Tenancy over the stored installations.
    pub fn new(installations: Arc<dyn InstallationRepository>) -> Self {
        Self { installations }
    }

    /// Every repository the user has connected.
    ///
    /// # Errors
    /// [`TenancyError::Unexpected`] when the store fails.
    pub async fn connected(&self, user: UserId) -> Result<ConnectedRepositories, TenancyError> {
        let installations = self.installations.list_active_for_user(user).await?;
        Ok(ConnectedRepositories { installations })
    }

    /// The user's installation of `repo`, or [`TenancyError::NotConnected`].
    ///
    /// # Errors
    /// [`TenancyError::NotConnected`] when the user has not connected it;
    /// [`TenancyError::Unexpected`] when the store fails.
    pub async fn require_connected(
        &self,
        user: UserId,
        repo: &RepoFullName,
    ) -> Result<Installation, TenancyError> {
        self.connected(user)
            .await?
            .find(repo)
            .cloned()
            .ok_or_else(|| TenancyError::NotConnected(repo.clone()))
    }

    /// Whether the user has connected `repo`.
    ///
    /// # Errors
    /// [`TenancyError::Unexpected`] when the store fails.
    pub async fn is_connected(
        &self,
        user: UserId,
        repo: &RepoFullName,
    ) -> Result<bool, TenancyError> {
        Ok(self.connected(user).await?.contains(repo))
    }
}
