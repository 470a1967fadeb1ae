//! Signing in with GitHub: the OAuth flow's two halves (start, finish) and the end of sessions,
//! on the OAuth-state store, the user store, the store of revoked sessions ([`RevokedSessions`])
//! and the code host.
//!
//! The state is single-use and expires; the edge binds it to the browser that started the flow
//! (a short-lived cookie), so that a callback carrying someone else's state is refused (login
//! CSRF). Tokens are stored through the user store, which encrypts them.
//!
//! A session ends in one of two ways: alone (logout in one browser), by recording its id as
//! revoked until its token expires; or with every other session of its user ("log out
//! everywhere"), by raising the user's session version.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};

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

impl From<RevokedSessionsError> for SignInError {
    fn from(error: RevokedSessionsError) -> Self {
        Self::Unexpected(anyhow::Error::new(error))
    }
}

/// Why a [`RevokedSessions`] call failed.
#[derive(Debug, thiserror::Error)]
pub enum RevokedSessionsError {
    /// The store failed.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// The sessions that were ended one at a time, by session id (the random id each session token
/// carries).
///
/// Contract for every implementation:
/// - `revoke` records `session_id` as revoked until `expires_at` (its token's expiry, after
///   which the token is refused anyway). Revoking an id again changes nothing and is not an
///   error, also when two callers do it at once.
/// - `revoke` also deletes every record whose `expires_at` is at or before `now`.
/// - `is_revoked` answers whether a record of `session_id` exists (a record past its expiry may
///   remain until the next purge: its token is expired already).
#[async_trait]
pub trait RevokedSessions: Send + Sync {
    /// Records a session as revoked, and purges the records that expired.
    ///
    /// # Errors
    /// [`RevokedSessionsError::Unexpected`] when the store fails.
    async fn revoke(
        &self,
        session_id: &str,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), RevokedSessionsError>;

    /// Whether the session with this id was revoked.
    ///
    /// # Errors
    /// [`RevokedSessionsError::Unexpected`] when the store fails.
    async fn is_revoked(&self, session_id: &str) -> Result<bool, RevokedSessionsError>;
}

/// The sign-in use case.
#[derive(Clone)]
pub struct SignIn {
    states: Arc<dyn OAuthStateRepository>,
    users: Arc<dyn UserRepository>,
    revoked: Arc<dyn RevokedSessions>,
    code_host: Arc<dyn CodeHost>,
}

impl SignIn {
    /// Sign-in on these stores and this code host.
    pub fn new(
        states: Arc<dyn OAuthStateRepository>,
        users: Arc<dyn UserRepository>,
        revoked: Arc<dyn RevokedSessions>,
        code_host: Arc<dyn CodeHost>,
    ) -> Self {
        Self { states, users, revoked, code_host }
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

    /// Ends every session of the user ("log out everywhere"): their session version rises, so
    /// every token issued before is refused.
    ///
    /// # Errors
    /// [`SignInError::Unexpected`] when the store fails.
    pub async fn end_sessions(&self, user: &User) -> Result<(), SignInError> {
        self.users.end_sessions(user.id).await?;
        Ok(())
    }

    /// Ends one session of the user (logout): the one whose token carries `session_id` and
    /// expires at `expires_at`; their other sessions go on.
    ///
    /// A token issued before sessions had ids (`None`) cannot be told apart from the user's
    /// other tokens, so the only way to refuse it is to end every session of the user, as
    /// logout did before.
    ///
    /// # Errors
    /// [`SignInError::Unexpected`] when a store fails.
    pub async fn end_session(
        &self,
        user: &User,
        session_id: Option<&str>,
        expires_at: DateTime<Utc>,
    ) -> Result<(), SignInError> {
        match session_id {
            Some(session_id) => self.revoked.revoke(session_id, expires_at, Utc::now()).await?,
            None => self.end_sessions(user).await?,
        }
        Ok(())
    }

    /// Whether the session with this id was ended on its own.
    ///
    /// # Errors
    /// [`SignInError::Unexpected`] when the store fails.
    pub async fn session_ended(&self, session_id: &str) -> Result<bool, SignInError> {
        Ok(self.revoked.is_revoked(session_id).await?)
    }
}
