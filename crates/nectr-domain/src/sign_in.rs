//! Signing in with GitHub: the OAuth flow's two halves (start, finish) and the end of a user's
//! sessions, on the OAuth-state store, the user store and the code host.
//!
//! The state is single-use and expires; the edge binds it to the browser that started the flow
//! (a short-lived cookie), so that a callback carrying someone else's state is refused (login
//! CSRF). Tokens are stored through the user store, which encrypts them.

use std::sync::Arc;

use chrono::{Duration, Utc};

use crate::code_host::{CodeHost, CodeHostError};
use crate::{
    OAuthStateRepository, OAuthStateRepositoryError, User, UserRepository, UserRepositoryError,
    UserUpsert,
};

/// How long a sign-in may take between start and callback.
pub const STATE_LIFETIME_MINUTES: i64 = 10;

/// Why a sign-in step failed. Each has a stable reason the frontend is told.
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    /// The state is unknown, expired or used already.
    #[error("invalid or expired OAuth state")]
    InvalidState,
    /// GitHub refused the code (bad, expired or used already).
    #[error("GitHub refused the sign-in code: {0}")]
    CodeRefused(String),
    /// GitHub did not say who the token belongs to.
    #[error("cannot read the GitHub user: {0}")]
    UserUnavailable(CodeHostError),
    /// OAuth is not configured (no client id or secret).
    #[error("GitHub sign-in is not configured: {0}")]
    NotConfigured(String),
    /// The store or GitHub failed unexpectedly.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl SignInError {
    /// The stable reason handed to the frontend.
    pub const fn reason(&self) -> &'static str {
        match self {
            Self::InvalidState => "invalid_state",
            Self::CodeRefused(_) => "code_refused",
            Self::UserUnavailable(_) => "github_user_unavailable",
            Self::NotConfigured(_) => "oauth_not_configured",
            Self::Unexpected(_) => "sign_in_failed",
        }
    }
}

impl From<OAuthStateRepositoryError> for SignInError {
    fn from(error: OAuthStateRepositoryError) -> Self {
        Self::Unexpected(anyhow::Error::new(error))
    }
}

impl From<UserRepositoryError> for SignInError {
    fn from(error: UserRepositoryError) -> Self {
        Self::Unexpected(anyhow::Error::new(error))
    }
}

/// The sign-in use case.
#[derive(Clone)]
pub struct SignIn {
    states: Arc<dyn OAuthStateRepository>,
    users: Arc<dyn UserRepository>,
    code_host: Arc<dyn CodeHost>,
}

impl SignIn {
    /// Sign-in on these stores and this code host.
    pub fn new(
        states: Arc<dyn OAuthStateRepository>,
        users: Arc<dyn UserRepository>,
        code_host: Arc<dyn CodeHost>,
    ) -> Self {
        Self { states, users, code_host }
    }

    /// Starts a sign-in: forgets expired states and stores `state` (a fresh random value the
    /// edge made) for [`STATE_LIFETIME_MINUTES`].
    ///
    /// # Errors
    /// [`SignInError::Unexpected`] when the store fails (also for a duplicate value).
    pub async fn start(&self, state: &str) -> Result<(), SignInError> {
        let now = Utc::now();
        self.states.purge_expired(now).await?;
        self.states.create(state, now + Duration::minutes(STATE_LIFETIME_MINUTES)).await?;
        Ok(())
    }

    /// Uses up a state without finishing a sign-in (the user denied access).
    ///
    /// # Errors
    /// [`SignInError::Unexpected`] when the store fails.
    pub async fn abandon(&self, state: &str) -> Result<(), SignInError> {
        self.states.consume(state, Utc::now()).await?;
        Ok(())
    }

    /// Finishes a sign-in: uses up the state, exchanges the code, reads the GitHub user and
    /// stores them with the new token. Answers the stored user.
    ///
    /// # Errors
    /// [`SignInError::InvalidState`], [`SignInError::CodeRefused`],
    /// [`SignInError::UserUnavailable`], [`SignInError::NotConfigured`],
    /// [`SignInError::Unexpected`].
    pub async fn finish(&self, code: &str, state: &str) -> Result<User, SignInError> {
        if !self.states.consume(state, Utc::now()).await? {
            return Err(SignInError::InvalidState);
        }
        let grant = match self.code_host.exchange_oauth_code(code).await {
            Ok(grant) => grant,
            Err(CodeHostError::ValidationFailed(reason)) => {
                return Err(SignInError::CodeRefused(reason));
            }
            Err(CodeHostError::NotConfigured(reason)) => {
                return Err(SignInError::NotConfigured(reason));
            }
            Err(other) => return Err(SignInError::Unexpected(anyhow::Error::new(other))),
        };
        let github_user = self
            .code_host
            .authenticated_user(&grant.token)
            .await
            .map_err(SignInError::UserUnavailable)?;
        let user = self
            .users
            .upsert_by_github_id(UserUpsert {
                github_id: github_user.id,
                github_username: github_user.login,
                github_access_token: grant.token,
                email: github_user.email,
                avatar_url: github_user.avatar_url,
                name: github_user.name,
            })
            .await?;
        Ok(user)
    }

    /// Revokes the user's OAuth grant on GitHub, so that the next sign-in asks again (for
    /// example to grant an organisation). A failure is logged by the caller, not fatal: the
    /// sign-in that follows replaces the token either way.
    ///
    /// # Errors
    /// [`CodeHostError`] from GitHub.
    pub async fn revoke_grant(&self, user: &User) -> Result<(), CodeHostError> {
        self.code_host.revoke_grant(&user.github_access_token).await
    }

    /// Ends every session of the user (logout).
    ///
    /// # Errors
    /// [`SignInError::Unexpected`] when the store fails.
    pub async fn end_sessions(&self, user: &User) -> Result<(), SignInError> {
        self.users.end_sessions(user.id).await?;
        Ok(())
    }
}
