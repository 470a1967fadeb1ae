//! Connecting repositories to Nectr: listing what a user can connect, connecting one (its
//! webhook, with a fresh secret, or the webhook another user's connection made already), and
//! disconnecting it (the webhook goes when nobody else still has the repository connected).
//!
//! A GitHub App's `installation` and `installation_repositories` deliveries connect and
//! disconnect the repositories they name ([`AppInstallationChange`]), for the Nectr user whose
//! GitHub id is the installer's; such repositories need no webhook of their own, since the App's
//! deliveries reach Nectr.

use std::sync::Arc;

use serde::Deserialize;

use crate::code_host::{CodeHost, CodeHostError, Identity, Repository};
use crate::tenancy::Tenancy;
use crate::{
    Installation, InstallationId, InstallationRepository, InstallationRepositoryError,
    NewInstallation, RepoFullName, User, UserRepository, WebhookSecret,
};

/// A repository the user can see on GitHub, and whether they connected it.
#[derive(Clone, Debug, PartialEq)]
pub struct RepositoryListing {
    /// The repository as GitHub describes it.
    pub repository: Repository,
    /// The user's installation of it, when connected.
    pub installation: Option<InstallationId>,
}

/// What a disconnect did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WebhookOutcome {
    /// The webhook was deleted on GitHub (or was gone already).
    Removed,
    /// Another user still has the repository connected: the webhook stays.
    Shared,
    /// There was no per-repository webhook (GitHub App, or registered by hand without one).
    None,
    /// GitHub refused to delete it, for this reason (never a secret); the connection is gone,
    /// the webhook may stay.
    Failed(String),
}

/// Why connecting or disconnecting failed.
#[derive(Debug, thiserror::Error)]
pub enum ConnectionError {
    /// The user has connected this repository already.
    #[error("repository {0} is connected already")]
    AlreadyConnected(RepoFullName),
    /// The user has not connected this repository (404, as for any repository of others).
    #[error("repository {0} is not connected")]
    NotConnected(RepoFullName),
    /// GitHub does not show the repository to the user: it does not exist, or they cannot see it.
    #[error("repository {0} was not found on GitHub")]
    RepositoryNotFound(RepoFullName),
    /// The user may not create webhooks on the repository (GitHub wants admin rights).
    #[error("creating the webhook of {0} needs admin rights on the repository")]
    NotAdmin(RepoFullName),
    /// GitHub refused the user's token: they have to sign in again.
    #[error("GitHub refused the user's token; sign in again")]
    TokenRefused,
    /// GitHub refused the request for another reason.
    #[error(transparent)]
    CodeHost(CodeHostError),
    /// The store failed.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<InstallationRepositoryError> for ConnectionError {
    fn from(error: InstallationRepositoryError) -> Self {
        Self::Unexpected(anyhow::Error::new(error))
    }
}

impl From<crate::tenancy::TenancyError> for ConnectionError {
    fn from(error: crate::tenancy::TenancyError) -> Self {
        match error {
            crate::tenancy::TenancyError::NotConnected(repo) => Self::NotConnected(repo),
            crate::tenancy::TenancyError::Unexpected(error) => Self::Unexpected(error),
        }
    }
}

/// Reads a code-host error met while acting on `repo` as the user.
fn code_host_error(repo: &RepoFullName, error: CodeHostError) -> ConnectionError {
    match error {
        CodeHostError::NotFound => ConnectionError::RepositoryNotFound(repo.clone()),
        CodeHostError::Forbidden { .. } => ConnectionError::NotAdmin(repo.clone()),
        CodeHostError::Unauthorized => ConnectionError::TokenRefused,
        other => ConnectionError::CodeHost(other),
    }
}

/// The connect and disconnect use case.
#[derive(Clone)]
pub struct RepositoryConnections {
    installations: Arc<dyn InstallationRepository>,
    users: Arc<dyn UserRepository>,
    code_host: Arc<dyn CodeHost>,
    tenancy: Tenancy,
    webhook_url: String,
}

impl RepositoryConnections {
    /// Connections on this store and code host; GitHub delivers to `webhook_url`
    /// (`{BACKEND_URL}/api/v1/webhooks/github`).
    pub fn new(
        installations: Arc<dyn InstallationRepository>,
        users: Arc<dyn UserRepository>,
        code_host: Arc<dyn CodeHost>,
        webhook_url: String,
    ) -> Self {
        let tenancy = Tenancy::new(installations.clone());
        Self { installations, users, code_host, tenancy, webhook_url }
    }

    /// Every repository the user can see on GitHub (all pages), each with their installation of
    /// it when connected.
    ///
    /// # Errors
    /// [`ConnectionError::TokenRefused`], [`ConnectionError::CodeHost`],
    /// [`ConnectionError::Unexpected`].
    pub async fn list(&self, user: &User) -> Result<Vec<RepositoryListing>, ConnectionError> {
        let who = Identity::Token(user.github_access_token.clone());
        let repositories = match self.code_host.my_repositories(&who).await {
            Ok(repositories) => repositories,
            Err(CodeHostError::Unauthorized) => return Err(ConnectionError::TokenRefused),
            Err(other) => return Err(ConnectionError::CodeHost(other)),
        };
        let connected = self.tenancy.connected(user.id).await?;
        Ok(repositories
            .into_iter()
            .map(|repository| {
                let installation = connected
                    .installations
                    .iter()
                    .find(|installation| {
                        installation.github_repo_id == Some(repository.id)
                            || RepoFullName::parse(&repository.full_name)
                                .is_ok_and(|name| installation.repo.eq_ignore_case(&name))
                    })
                    .map(|installation| installation.id);
                RepositoryListing { repository, installation }
            })
            .collect())
    }

    /// Connects `repo` for the user: shares the webhook another user's connection made, or
    /// creates one signed with `fresh_secret` (a random value the caller made).
    ///
    /// # Errors
    /// [`ConnectionError::AlreadyConnected`], [`ConnectionError::RepositoryNotFound`],
    /// [`ConnectionError::NotAdmin`], [`ConnectionError::TokenRefused`],
    /// [`ConnectionError::CodeHost`], [`ConnectionError::Unexpected`].
    pub async fn connect(
        &self,
        user: &User,
        repo: &RepoFullName,
        fresh_secret: WebhookSecret,
    ) -> Result<Installation, ConnectionError> {
        if self.tenancy.is_connected(user.id, repo).await? {
            return Err(ConnectionError::AlreadyConnected(repo.clone()));
        }
        let who = Identity::Token(user.github_access_token.clone());
        let repository = self
            .code_host
            .repository(&who, repo)
            .await
            .map_err(|error| code_host_error(repo, error))?;
        // GitHub's spelling of the name, whatever the caller typed.
        let canonical = RepoFullName::parse(&repository.full_name).unwrap_or_else(|_| repo.clone());
        let shared = self
            .installations
            .find_active_by_github_repo_id(repository.id)
            .await?
            .into_iter()
            .find(|installation| {
                installation.webhook_id.is_some() && installation.webhook_secret.is_some()
            });
        let (webhook_id, webhook_secret) = match shared {
            Some(existing) => (existing.webhook_id, existing.webhook_secret),
            None => {
                if !repository.can_admin {
                    return Err(ConnectionError::NotAdmin(canonical));
                }
                let id = self
                    .code_host
                    .create_webhook(&who, &canonical, &self.webhook_url, &fresh_secret)
                    .await
                    .map_err(|error| code_host_error(&canonical, error))?;
                (Some(id), Some(fresh_secret))
            }
        };
        let installation = self
            .installations
            .create(NewInstallation {
                user_id: user.id,
                repo: canonical,
                github_repo_id: Some(repository.id),
                webhook_id,
                webhook_secret,
                installation_id: None,
                access_token: None,
            })
            .await?;
        Ok(installation)
    }

    /// Disconnects `repo` for the user; deletes its webhook on GitHub when no other active
    /// installation still uses it.
    ///
    /// # Errors
    /// [`ConnectionError::NotConnected`], [`ConnectionError::Unexpected`].
    pub async fn disconnect(
        &self,
        user: &User,
        repo: &RepoFullName,
    ) -> Result<WebhookOutcome, ConnectionError> {
        let installation = self.tenancy.require_connected(user.id, repo).await?;
        self.installations.deactivate(installation.id).await?;
        let Some(webhook_id) = installation.webhook_id else { return Ok(WebhookOutcome::None) };
        let still_used =
            !self.installations.find_active_by_webhook_id(webhook_id).await?.is_empty();
        if still_used {
            return Ok(WebhookOutcome::Shared);
        }
        let who = Identity::Token(user.github_access_token.clone());
        match self.code_host.delete_webhook(&who, &installation.repo, webhook_id).await {
            Ok(()) => Ok(WebhookOutcome::Removed),
            Err(error) => Ok(WebhookOutcome::Failed(error.to_string())),
        }
    }

    /// Applies a GitHub App installation change: connects the named repositories for the Nectr
    /// user whose GitHub id is the installer's (none when no such user has signed in; ones they
    /// have connected already are skipped), or disconnects the repositories made through the
    /// installation (every user's). Applying the same change twice changes nothing more.
    ///
    /// # Errors
    /// [`ConnectionError::Unexpected`] when the store fails.
    pub async fn apply_app_change(
        &self,
        change: &AppInstallationChange,
    ) -> Result<AppChangeOutcome, ConnectionError> {
        match change {
            AppInstallationChange::Connect {
                installation_id,
                installer_github_id,
                repositories,
            } => {
                let user = self
                    .users
                    .find_by_github_id(*installer_github_id)
                    .await
                    .map_err(|error| ConnectionError::Unexpected(anyhow::Error::new(error)))?;
                let Some(user) = user else { return Ok(AppChangeOutcome::NoSuchUser) };
                let connected = self.tenancy.connected(user.id).await?;
                let mut made = 0;
                for (github_repo_id, repo) in repositories {
                    if connected.contains(repo) || connected.contains_github_id(*github_repo_id) {
                        continue;
                    }
                    self.installations
                        .create(NewInstallation {
                            user_id: user.id,
                            repo: repo.clone(),
                            github_repo_id: Some(*github_repo_id),
                            webhook_id: None,
                            webhook_secret: None,
                            installation_id: Some(*installation_id),
                            access_token: None,
                        })
                        .await?;
                    made += 1;
                }
                Ok(AppChangeOutcome::Connected(made))
            }
            AppInstallationChange::Disconnect { installation_id, github_repo_ids } => {
                let mut disconnected = 0;
                for installation in self.installations.list_active().await? {
                    let through_app = installation.installation_id == Some(*installation_id)
                        && installation.webhook_id.is_none();
                    let named = github_repo_ids.as_ref().is_none_or(|ids| {
                        installation.github_repo_id.is_some_and(|id| ids.contains(&id))
                    });
                    if through_app && named {
                        self.installations.deactivate(installation.id).await?;
                        disconnected += 1;
                    }
                }
                Ok(AppChangeOutcome::Disconnected(disconnected))
            }
        }
    }
}

/// What an App installation change did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppChangeOutcome {
    /// This many repositories were connected.
    Connected(usize),
    /// This many connections were ended.
    Disconnected(usize),
    /// No Nectr user has the installer's GitHub id: nothing was connected.
    NoSuchUser,
}

/// A change to a GitHub App installation, read from its delivery.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AppInstallationChange {
    /// Repositories to connect: an installation created, or repositories added to it.
    Connect {
        /// GitHub's installation id.
        installation_id: i64,
        /// The GitHub id of who installed the App or added the repositories (`sender`).
        installer_github_id: i64,
        /// The repositories, as (GitHub id, name).
        repositories: Vec<(i64, RepoFullName)>,
    },
    /// Connections to end: an installation deleted or suspended (`None`: every repository of
    /// it), or repositories removed from it.
    Disconnect {
        /// GitHub's installation id.
        installation_id: i64,
        /// The repositories' GitHub ids, or `None` for all.
        github_repo_ids: Option<Vec<i64>>,
    },
}

#[derive(Deserialize)]
struct AppPayload {
    action: String,
    installation: IdOnly,
    sender: Option<IdOnly>,
    #[serde(default)]
    repositories: Vec<PayloadRepository>,
    #[serde(default)]
    repositories_added: Vec<PayloadRepository>,
    #[serde(default)]
    repositories_removed: Vec<PayloadRepository>,
}

#[derive(Deserialize)]
struct IdOnly {
    id: i64,
}

#[derive(Deserialize)]
struct PayloadRepository {
    id: i64,
    full_name: String,
}

fn named(repositories: Vec<PayloadRepository>) -> Vec<(i64, RepoFullName)> {
    repositories
        .into_iter()
        .filter_map(|repository| {
            RepoFullName::parse(&repository.full_name).ok().map(|name| (repository.id, name))
        })
        .collect()
}

impl AppInstallationChange {
    /// The App installation it changes.
    pub const fn installation_id(&self) -> i64 {
        match self {
            Self::Connect { installation_id, .. } | Self::Disconnect { installation_id, .. } => {
                *installation_id
            }
        }
    }

    /// The change an `installation` or `installation_repositories` delivery describes; `None`
    /// for other events, actions that change no repositories (`new_permissions_accepted`,
    /// `unsuspend`), and payloads that are not GitHub's.
    pub fn from_delivery(event: &str, body: &[u8]) -> Option<Self> {
        let payload: AppPayload = match event {
            "installation" | "installation_repositories" => serde_json::from_slice(body).ok()?,
            _ => return None,
        };
        let installation_id = payload.installation.id;
        let connect = |repositories| {
            let installer_github_id = payload.sender.as_ref()?.id;
            Some(Self::Connect { installation_id, installer_github_id, repositories })
        };
        match (event, payload.action.as_str()) {
            ("installation", "created") => connect(named(payload.repositories)),
            ("installation", "deleted" | "suspend") => {
                Some(Self::Disconnect { installation_id, github_repo_ids: None })
            }
            ("installation_repositories", "added") => connect(named(payload.repositories_added)),
            ("installation_repositories", "removed") => Some(Self::Disconnect {
                installation_id,
                github_repo_ids: Some(
                    payload.repositories_removed.iter().map(|repository| repository.id).collect(),
                ),
            }),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_githubs_installation_deliveries() {
        let created =
            br#"{"action":"created","installation":{"id":7,"account":{"login":"octo-org","id":9}},
            "repositories":[{"id":1,"name":"a","full_name":"octo-org/a","private":false}],
            "sender":{"login":"mona","id":42}}"#;
        assert_eq!(
            AppInstallationChange::from_delivery("installation", created),
            Some(AppInstallationChange::Connect {
                installation_id: 7,
                installer_github_id: 42,
                repositories: vec![(1, RepoFullName::parse("octo-org/a").unwrap())],
            })
        );
        let removed =
            br#"{"action":"removed","installation":{"id":7},"repository_selection":"selected",
            "repositories_added":[],"repositories_removed":[{"id":1,"full_name":"octo-org/a"}],
            "sender":{"login":"mona","id":42}}"#;
        assert_eq!(
            AppInstallationChange::from_delivery("installation_repositories", removed),
            Some(AppInstallationChange::Disconnect {
                installation_id: 7,
                github_repo_ids: Some(vec![1])
            })
        );
        let deleted = br#"{"action":"deleted","installation":{"id":7},"sender":{"id":42}}"#;
        assert_eq!(
            AppInstallationChange::from_delivery("installation", deleted),
            Some(AppInstallationChange::Disconnect { installation_id: 7, github_repo_ids: None })
        );
        let accepted =
            br#"{"action":"new_permissions_accepted","installation":{"id":7},"sender":{"id":42}}"#;
        assert_eq!(AppInstallationChange::from_delivery("installation", accepted), None);
        assert_eq!(AppInstallationChange::from_delivery("pull_request", created), None);
        assert_eq!(AppInstallationChange::from_delivery("installation", b"not json"), None);
    }
}
