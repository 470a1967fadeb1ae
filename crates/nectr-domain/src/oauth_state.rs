//! OAuth states: one-time values that tie a GitHub sign-in callback to the sign-in that started it.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// A stored OAuth state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OAuthState {
    /// The random value sent to GitHub.
    pub state: String,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When it stops being accepted.
    pub expires_at: DateTime<Utc>,
}

/// Why an [`OAuthStateRepository`] call failed.
#[derive(Debug, thiserror::Error)]
pub enum OAuthStateRepositoryError {
    /// The same state value exists already.
    #[error("the OAuth state exists already")]
    Duplicate,
    /// Anything else.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// Stores OAuth states.
///
/// Contract for every implementation:
/// - `create` stores a state; storing the same value twice is `Duplicate`.
/// - `consume` deletes the state and answers whether it existed and had not expired at `now`:
///   a state is accepted at most once, even by concurrent callers.
/// - `purge_expired` deletes states that expired before `now` and answers how many.
#[async_trait]
pub trait OAuthStateRepository: Send + Sync {
    /// Stores a new state.
    ///
    /// # Errors
    /// [`OAuthStateRepositoryError::Duplicate`], [`OAuthStateRepositoryError::Unexpected`].
    async fn create(
        &self,
        state: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<OAuthState, OAuthStateRepositoryError>;

    /// Uses up a state.
    ///
    /// # Errors
    /// [`OAuthStateRepositoryError::Unexpected`] when the store fails.
    async fn consume(
        &self,
        state: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, OAuthStateRepositoryError>;

    /// Deletes expired states.
    ///
    /// # Errors
    /// [`OAuthStateRepositoryError::Unexpected`] when the store fails.
    async fn purge_expired(&self, now: DateTime<Utc>) -> Result<u64, OAuthStateRepositoryError>;
}
