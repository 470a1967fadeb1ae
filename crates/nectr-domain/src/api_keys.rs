//! Personal API keys: long-lived credentials a user creates for scripts and agents (the API with
//! `Authorization: Bearer`, the MCP server), each acting with the rights of its user.
//!
//! A key's secret is shown once, when it is created, and stored only as a hash; the store finds a
//! key by the hash of what a caller presents. A key has a name, a creation time and the time it
//! was last used. Revoking removes it at once: the next request that presents it is refused.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use secrecy::SecretString;

use crate::UserId;

/// The longest name a key may have, in characters.
pub const MAX_NAME_CHARS: usize = 100;

/// The prefix every Nectr API key starts with, so that a key is recognisable in a secret scanner
/// and cannot be mistaken for a session JWT.
pub const KEY_PREFIX: &str = "nectr_";

/// How fresh a key's recorded last use is: a store may skip the write while the recorded time is
/// less than this many seconds old, so that a busy script does not write on every request.
pub const LAST_USE_RESOLUTION_SECONDS: i64 = 60;

/// One API key as its owner sees it; never its secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiKey {
    /// The key's id, unique.
    pub id: i64,
    /// The user the key acts for.
    pub user_id: UserId,
    /// The name its owner gave it.
    pub name: String,
    /// The first characters of the secret (the prefix and a few more), to tell keys apart.
    pub hint: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When a request last presented it, if ever.
    pub last_used_at: Option<DateTime<Utc>>,
}

/// A key just created: the only moment its secret is known.
#[derive(Debug)]
pub struct CreatedApiKey {
    /// The stored key.
    pub key: ApiKey,
    /// The secret to hand to the user, once.
    pub secret: SecretString,
}

/// Why an [`ApiKeyStore`] call failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiKeyError {
    /// The name is empty or longer than [`MAX_NAME_CHARS`].
    #[error("an API key needs a name of 1 to {MAX_NAME_CHARS} characters")]
    InvalidName,
    /// The store failed.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// Checks a key's name: trimmed, 1 to [`MAX_NAME_CHARS`] characters.
///
/// # Errors
/// [`ApiKeyError::InvalidName`] otherwise.
pub fn valid_name(name: &str) -> Result<&str, ApiKeyError> {
    let name = name.trim();
    match name.chars().count() {
        0 => Err(ApiKeyError::InvalidName),
        count if count > MAX_NAME_CHARS => Err(ApiKeyError::InvalidName),
        _ => Ok(name),
    }
}

/// Stores API keys, hashed.
///
/// Contract for every implementation:
/// - `create` makes a new random secret starting with [`KEY_PREFIX`] (at least 128 bits of
///   entropy after it), stores only its hash with the name (checked by [`valid_name`]) and returns
///   the secret once;
/// - `list` answers the user's keys, newest first, and never another user's;
/// - `revoke` deletes the user's key and answers whether there was one; another user's key is
///   `false` and stays;
/// - `authenticate` answers the key whose secret this is, and records the time as its last use
///   (to within [`LAST_USE_RESOLUTION_SECONDS`]: a recorded use younger than that is kept, and
///   the key answered carries the time recorded); an unknown, revoked or malformed secret is
///   `Ok(None)`. It compares hashes, never secrets.
#[async_trait]
pub trait ApiKeyStore: Send + Sync {
    /// Creates a key for `user`.
    ///
    /// # Errors
    /// [`ApiKeyError::InvalidName`] for a bad name; [`ApiKeyError::Unexpected`] when the store
    /// fails.
    async fn create(&self, user: UserId, name: &str) -> Result<CreatedApiKey, ApiKeyError>;

    /// The user's keys, newest first.
    ///
    /// # Errors
    /// [`ApiKeyError::Unexpected`] when the store fails.
    async fn list(&self, user: UserId) -> Result<Vec<ApiKey>, ApiKeyError>;

    /// Deletes the user's key `id`; `false` when the user has no such key.
    ///
    /// # Errors
    /// [`ApiKeyError::Unexpected`] when the store fails.
    async fn revoke(&self, user: UserId, id: i64) -> Result<bool, ApiKeyError>;

    /// The key whose secret `secret` is, with its last use set to `now`.
    ///
    /// # Errors
    /// [`ApiKeyError::Unexpected`] when the store fails.
    async fn authenticate(
        &self,
        secret: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<ApiKey>, ApiKeyError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(valid_name("  ci bot ").ok(), Some("ci bot"));
        assert!(matches!(valid_name("   "), Err(ApiKeyError::InvalidName)));
        assert!(valid_name(&"x".repeat(MAX_NAME_CHARS)).is_ok());
        assert!(matches!(
            valid_name(&"x".repeat(MAX_NAME_CHARS + 1)),
            Err(ApiKeyError::InvalidName)
        ));
    }
}
