//! `ApiKeyStore` on sea-orm: the `api_keys` table.
//!
//! A secret is [`KEY_PREFIX`] and 64 lowercase hexadecimal characters: 32 bytes from the
//! operating system's random generator. The table keeps the SHA-256 of the whole secret (hex)
//! under a unique index, and the prefix with the first [`HINT_CHARS`] characters after it as
//! the key's hint; a presented secret is looked up by its hash. A use is written at most once
//! per [`LAST_USE_RESOLUTION_SECONDS`] per key, so a busy script costs one write a minute.

use async_trait::async_trait;
use chrono::{DateTime, SubsecRound, Utc};
use nectr_domain::UserId;
use nectr_domain::api_keys::{
    ApiKey, ApiKeyError, ApiKeyStore, CreatedApiKey, KEY_PREFIX, LAST_USE_RESOLUTION_SECONDS,
    valid_name,
};
use sea_orm::{ActiveModelTrait, ColumnTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, Set};
use secrecy::SecretString;
use sha2::{Digest, Sha256};

use crate::SeaOrmStore;
use crate::entities::api_keys::{self, Column, Entity};
use crate::store::db_error;

/// Random bytes in a secret.
const SECRET_BYTES: usize = 32;

/// Characters of the secret after the prefix that its hint shows.
const HINT_CHARS: usize = 6;

fn unexpected(doing: &'static str) -> impl Fn(DbErr) -> ApiKeyError {
    move |error| ApiKeyError::Unexpected(db_error(doing)(error))
}

/// A new secret: the prefix and 64 hexadecimal characters of fresh randomness.
fn new_secret() -> Result<String, ApiKeyError> {
    let mut bytes = [0_u8; SECRET_BYTES];
    getrandom::fill(&mut bytes).map_err(|error| {
        ApiKeyError::Unexpected(anyhow::anyhow!("the system's random generator failed: {error}"))
    })?;
    let mut secret = String::with_capacity(KEY_PREFIX.len() + 2 * SECRET_BYTES);
    secret.push_str(KEY_PREFIX);
    for byte in bytes {
        secret.push_str(&format!("{byte:02x}"));
    }
    Ok(secret)
}

/// Whether `secret` has the shape of a key this store makes; nothing else is looked up.
fn well_formed(secret: &str) -> bool {
    secret.strip_prefix(KEY_PREFIX).is_some_and(|random| {
        random.len() == 2 * SECRET_BYTES
            && random.bytes().all(|byte| matches!(byte, b'0'..=b'9' | b'a'..=b'f'))
    })
}

/// The SHA-256 of a secret, in lowercase hexadecimal: what the table stores.
fn hash(secret: &str) -> String {
    Sha256::digest(secret.as_bytes()).iter().map(|byte| format!("{byte:02x}")).collect()
}

/// The prefix and the first characters after it.
fn hint(secret: &str) -> String {
    secret.chars().take(KEY_PREFIX.len() + HINT_CHARS).collect()
}

/// A time as both engines store it: to the microsecond.
fn stored_time(at: DateTime<Utc>) -> DateTime<Utc> {
    at.trunc_subsecs(6)
}

fn raw_user(user: UserId) -> Option<i32> {
    i32::try_from(user.get()).ok()
}

fn key_from_row(row: api_keys::Model) -> ApiKey {
    ApiKey {
        id: row.id,
        user_id: UserId::new(i64::from(row.user_id)),
        name: row.name,
        hint: row.hint,
        created_at: row.created_at,
        last_used_at: row.last_used_at,
    }
}

/// Whether a use at `now` is to be written over the recorded `last_used_at`.
fn use_is_news(last_used_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    match last_used_at {
        None => true,
        Some(recorded) => now - recorded >= chrono::Duration::seconds(LAST_USE_RESOLUTION_SECONDS),
    }
}

#[async_trait]
impl ApiKeyStore for SeaOrmStore {
    async fn create(&self, user: UserId, name: &str) -> Result<CreatedApiKey, ApiKeyError> {
        let name = valid_name(name)?;
        let user_id = raw_user(user)
            .ok_or_else(|| ApiKeyError::Unexpected(anyhow::anyhow!("no user has id {user}")))?;
        let secret = new_secret()?;
        let row = api_keys::ActiveModel {
            user_id: Set(user_id),
            name: Set(name.to_owned()),
            hint: Set(hint(&secret)),
            key_hash: Set(hash(&secret)),
            created_at: Set(stored_time(Utc::now())),
            last_used_at: Set(None),
            ..Default::default()
        };
        let _turn = self.write_turn().await;
        let saved = row.insert(&self.connection).await.map_err(unexpected("storing an API key"))?;
        Ok(CreatedApiKey { key: key_from_row(saved), secret: SecretString::from(secret) })
    }

    async fn list(&self, user: UserId) -> Result<Vec<ApiKey>, ApiKeyError> {
        let Some(user_id) = raw_user(user) else { return Ok(Vec::new()) };
        let rows = Entity::find()
            .filter(Column::UserId.eq(user_id))
            .order_by_desc(Column::Id)
            .all(&self.connection)
            .await
            .map_err(unexpected("listing API keys"))?;
        Ok(rows.into_iter().map(key_from_row).collect())
    }

    async fn revoke(&self, user: UserId, id: i64) -> Result<bool, ApiKeyError> {
        let Some(user_id) = raw_user(user) else { return Ok(false) };
        let _turn = self.write_turn().await;
        // The owner is part of the condition: another user's key is not touched.
        let deleted = Entity::delete_many()
            .filter(Column::Id.eq(id))
            .filter(Column::UserId.eq(user_id))
            .exec(&self.connection)
            .await
            .map_err(unexpected("revoking an API key"))?;
        Ok(deleted.rows_affected > 0)
    }

    async fn authenticate(
        &self,
        secret: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<ApiKey>, ApiKeyError> {
        if !well_formed(secret) {
            return Ok(None);
        }
        let found = Entity::find()
            .filter(Column::KeyHash.eq(hash(secret)))
            .one(&self.connection)
            .await
            .map_err(unexpected("looking up an API key"))?;
        let Some(row) = found else { return Ok(None) };
        let mut key = key_from_row(row);
        let now = stored_time(now);
        if use_is_news(key.last_used_at, now) {
            let _turn = self.write_turn().await;
            Entity::update_many()
                .col_expr(Column::LastUsedAt, sea_orm::sea_query::Expr::value(now))
                .filter(Column::Id.eq(key.id))
                .exec(&self.connection)
                .await
                .map_err(unexpected("recording an API key's use"))?;
            key.last_used_at = Some(now);
        }
        Ok(Some(key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_prefixed_random_hex_and_differ() {
        let first = new_secret().unwrap();
        let second = new_secret().unwrap();
        assert!(well_formed(&first), "{}", first.len());
        assert_eq!(first.len(), KEY_PREFIX.len() + 64);
        assert_ne!(first, second);
        assert_eq!(hint(&first), first[..KEY_PREFIX.len() + HINT_CHARS]);
    }

    #[test]
    fn only_the_exact_shape_is_well_formed() {
        let good = format!("{KEY_PREFIX}{}", "ab".repeat(32));
        assert!(well_formed(&good));
        assert!(!well_formed(&good[..good.len() - 1]), "too short");
        assert!(!well_formed(&format!("{good}0")), "too long");
        assert!(!well_formed(&good.to_uppercase()), "upper case");
        assert!(!well_formed(&good.replacen("ab", "zz", 1)), "not hex");
        assert!(!well_formed(&"ab".repeat(35)), "no prefix");
        assert!(!well_formed("eyJhbGciOiJIUzI1NiJ9.e30.sig"), "a JWT");
    }

    #[test]
    fn the_hash_is_sha256_hex() {
        // The SHA-256 of "abc" (FIPS 180-2, appendix B.1).
        assert_eq!(hash("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    #[test]
    fn a_use_is_written_once_per_resolution() {
        let at = Utc::now();
        let resolution = chrono::Duration::seconds(LAST_USE_RESOLUTION_SECONDS);
        assert!(use_is_news(None, at));
        assert!(!use_is_news(Some(at), at + resolution - chrono::Duration::seconds(1)));
        assert!(use_is_news(Some(at), at + resolution));
        assert!(!use_is_news(Some(at), at - resolution), "a clock going back writes nothing");
    }
}
