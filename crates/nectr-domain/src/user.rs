//! Users: people who signed in with GitHub, and the port that stores them.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::{AccessToken, UserId};

/// A person who signed in to Nectr with GitHub.
#[derive(Clone, Debug, PartialEq)]
pub struct User {
    /// Nectr's id.
    pub id: UserId,
    /// GitHub's numeric user id, unique.
    pub github_id: i64,
    /// GitHub login.
    pub github_username: String,
    /// The user's GitHub OAuth token, decrypted.
    pub github_access_token: AccessToken,
    /// Primary e-mail address, when GitHub shared one.
    pub email: Option<String>,
    /// Avatar image URL.
    pub avatar_url: Option<String>,
    /// Display name.
    pub name: Option<String>,
    /// When the user first signed in.
    pub created_at: DateTime<Utc>,
    /// When the record last changed.
    pub updated_at: DateTime<Utc>,
    /// The generation of the user's sessions: a session carries the version it was issued
    /// under and is accepted only while it still matches, so raising it ends every session.
    pub session_version: i64,
}

/// What a sign-in learns about a user; stored by [`UserRepository::upsert_by_github_id`].
#[derive(Clone, Debug, PartialEq)]
pub struct UserUpsert {
    /// GitHub's numeric user id: the key of the upsert.
    pub github_id: i64,
    /// GitHub login.
    pub github_username: String,
    /// The fresh OAuth token.
    pub github_access_token: AccessToken,
    /// Primary e-mail address.
    pub email: Option<String>,
    /// Avatar image URL.
    pub avatar_url: Option<String>,
    /// Display name.
    pub name: Option<String>,
}

/// Why a [`UserRepository`] call failed.
#[derive(Debug, thiserror::Error)]
pub enum UserRepositoryError {
    /// The user's stored token is ciphertext that none of the configured keys decrypts (for
    /// example after `SECRET_KEY` changed). The user has to sign in again.
    #[error("the stored GitHub token of user {0} cannot be decrypted with the configured keys")]
    Undecryptable(UserId),
    /// Anything else: the database is unreachable, a row is malformed.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// Stores users.
///
/// Contract for every implementation:
/// - `upsert_by_github_id` creates the user when no row has that `github_id`, and otherwise
///   replaces username, token, e-mail, avatar and name, keeps `id` and `created_at`, and moves
///   `updated_at` forward. It returns the stored user. A new user's `session_version` is 0; an
///   upsert keeps it.
/// - `end_sessions` raises `session_version` by one and answers the new value; an unknown user is
///   `Ok(None)`.
/// - Tokens MUST be stored so that they can be read back exactly; the SQL adapter encrypts them.
///   A legacy plaintext token (`ghp_`, `gho_`, `ghs_`, `ghu_`, `github_pat_`) MUST be read as it is.
/// - Lookups of unknown users return `Ok(None)`.
#[async_trait]
pub trait UserRepository: Send + Sync {
    /// Creates or refreshes the user with this GitHub id.
    ///
    /// # Errors
    /// [`UserRepositoryError::Unexpected`] when the store fails.
    async fn upsert_by_github_id(&self, user: UserUpsert) -> Result<User, UserRepositoryError>;

    /// The user with this id.
    ///
    /// # Errors
    /// [`UserRepositoryError::Undecryptable`] when the stored token cannot be decrypted;
    /// [`UserRepositoryError::Unexpected`] when the store fails.
    async fn find_by_id(&self, id: UserId) -> Result<Option<User>, UserRepositoryError>;

    /// The user with this GitHub id.
    ///
    /// # Errors
    /// As [`UserRepository::find_by_id`].
    async fn find_by_github_id(&self, github_id: i64) -> Result<Option<User>, UserRepositoryError>;

    /// Ends every session of the user (logout, "log out everywhere") by raising their session
    /// version; answers the new version, or `None` for an unknown user.
    ///
    /// # Errors
    /// [`UserRepositoryError::Unexpected`] when the store fails.
    async fn end_sessions(&self, id: UserId) -> Result<Option<i64>, UserRepositoryError>;
}
