//! Encryption of secrets at rest (users' GitHub tokens, webhook secrets) with Fernet.
//!
//! Keys come from `TOKEN_ENCRYPTION_KEYS`: the first encrypts, all decrypt, so keys can rotate.
//! Without it, the key is derived from `SECRET_KEY` as the original service did (URL-safe base64
//! of SHA-256 of the secret), so an adopted database's tokens still decrypt. When both are given,
//! the derived key is kept as the last decrypting key, so tokens written before the switch still
//! read and are re-encrypted on their next write.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE;
use fernet::Fernet;
use sha2::{Digest, Sha256};

/// Prefixes of GitHub tokens that the original stored as plaintext.
const LEGACY_TOKEN_PREFIXES: [&str; 5] = ["ghp_", "gho_", "ghs_", "ghu_", "github_pat_"];

/// Every Fernet token starts with the version byte 0x80 and a timestamp: this text in base64.
const FERNET_PREFIX: &str = "gAAAAA";

/// Where the keys come from.
#[derive(Clone, Default)]
pub struct CipherConfig {
    /// Fernet keys (URL-safe base64 of 32 bytes), the encrypting one first.
    pub encryption_keys: Vec<String>,
    /// The application's secret key, from which the original derived its key.
    pub secret_key: Option<String>,
}

/// A key that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CipherError {
    /// A `TOKEN_ENCRYPTION_KEYS` entry is not URL-safe base64 of 32 bytes.
    #[error(
        "TOKEN_ENCRYPTION_KEYS entry {position} is not a Fernet key (URL-safe base64 of 32 bytes)"
    )]
    InvalidKey {
        /// 1-based position of the entry.
        position: usize,
    },
    /// Neither keys nor a secret key were given.
    #[error("no encryption key: set TOKEN_ENCRYPTION_KEYS or SECRET_KEY")]
    NoKey,
}

/// Encrypts and decrypts secrets at rest.
#[derive(Clone)]
pub struct TokenCipher {
    keys: Vec<Fernet>,
}

impl std::fmt::Debug for TokenCipher {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "TokenCipher({} keys)", self.keys.len())
    }
}

/// The original service's Fernet key for a secret key: URL-safe base64 of its SHA-256.
pub fn derive_legacy_key(secret_key: &str) -> String {
    URL_SAFE.encode(Sha256::digest(secret_key.as_bytes()))
}

/// A stored value that none of the keys decrypts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the stored secret cannot be decrypted with the configured keys")]
pub(crate) struct Undecryptable;

/// What reading a stored secret found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Stored {
    /// Ciphertext, decrypted.
    Encrypted(String),
    /// Plaintext left by the original service, read as it is.
    LegacyPlaintext(String),
}

impl Stored {
    pub(crate) fn into_plaintext(self) -> String {
        match self {
            Self::Encrypted(text) | Self::LegacyPlaintext(text) => text,
        }
    }
}

impl TokenCipher {
    /// Builds the cipher from configuration.
    ///
    /// # Errors
    /// [`CipherError::InvalidKey`] for a malformed key, [`CipherError::NoKey`] when there is none.
    pub fn new(config: &CipherConfig) -> Result<Self, CipherError> {
        let mut keys = Vec::new();
        for (index, key) in config.encryption_keys.iter().enumerate() {
            let key =
                Fernet::new(key.trim()).ok_or(CipherError::InvalidKey { position: index + 1 })?;
            keys.push(key);
        }
        if let Some(secret_key) = &config.secret_key
            && let Some(key) = Fernet::new(&derive_legacy_key(secret_key))
        {
            keys.push(key);
        }
        if keys.is_empty() {
            return Err(CipherError::NoKey);
        }
        Ok(Self { keys })
    }

    /// Encrypts with the first key.
    pub fn encrypt(&self, plaintext: &str) -> String {
        self.keys[0].encrypt(plaintext.as_bytes())
    }

    /// Decrypts a stored GitHub token; a legacy plaintext token is returned as it is.
    pub(crate) fn read_token(&self, stored: &str) -> Result<Stored, Undecryptable> {
        if LEGACY_TOKEN_PREFIXES.iter().any(|prefix| stored.starts_with(prefix)) {
            return Ok(Stored::LegacyPlaintext(stored.to_owned()));
        }
        self.decrypt(stored).map(Stored::Encrypted)
    }

    /// Decrypts a stored webhook secret; anything that is not a Fernet token is a legacy
    /// plaintext secret.
    pub(crate) fn read_secret(&self, stored: &str) -> Result<Stored, Undecryptable> {
        if !stored.starts_with(FERNET_PREFIX) {
            return Ok(Stored::LegacyPlaintext(stored.to_owned()));
        }
        self.decrypt(stored).map(Stored::Encrypted)
    }

    fn decrypt(&self, token: &str) -> Result<String, Undecryptable> {
        self.keys
            .iter()
            .find_map(|key| key.decrypt(token).ok())
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .ok_or(Undecryptable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEEDED_TOKEN: &str = "gAAAAABrCjK8KY11kwpMM92CBAz6ZLPZE4_cGOX1YqVQzrulAYIDAQOPVxV7fMf72d9DVgVYMlgrTzl6oPOPRehjcCWx0a9eBk_TqERuvNu36W6GKUO7v-Lp3Kx56BhzSo9utbAhsz1D";

    fn cipher(keys: &[&str], secret_key: Option<&str>) -> TokenCipher {
        TokenCipher::new(&CipherConfig {
            encryption_keys: keys.iter().map(|key| (*key).to_owned()).collect(),
            secret_key: secret_key.map(str::to_owned),
        })
        .unwrap()
    }

    #[test]
    fn decrypts_the_original_services_tokens() {
        let original = cipher(&[], Some("adoption-test-secret"));
        assert_eq!(
            original.read_token(SEEDED_TOKEN),
            Ok(Stored::Encrypted("gho_adoptiontesttoken0000000000000000000".to_owned()))
        );
        assert_eq!(cipher(&[], Some("another")).read_token(SEEDED_TOKEN), Err(Undecryptable));
    }

    #[test]
    fn reads_legacy_plaintext_as_it_is() {
        let legacy = cipher(&[], Some("k"));
        for token in ["ghp_x", "gho_x", "ghs_x", "ghu_x", "github_pat_x"] {
            assert_eq!(legacy.read_token(token), Ok(Stored::LegacyPlaintext(token.to_owned())));
        }
        assert_eq!(legacy.read_token("not-a-token"), Err(Undecryptable));
        assert_eq!(
            legacy.read_secret("6f1c0b2d"),
            Ok(Stored::LegacyPlaintext("6f1c0b2d".to_owned()))
        );
    }

    #[test]
    fn rotates_keys_first_encrypts_all_decrypt() {
        let old_key = Fernet::generate_key();
        let new_key = Fernet::generate_key();
        let before = cipher(&[&old_key], None);
        let written_before = before.encrypt("gho_rotating");
        let after = cipher(&[&new_key, &old_key], None);
        assert_eq!(after.read_token(&written_before).unwrap().into_plaintext(), "gho_rotating");
        let written_after = after.encrypt("gho_rotating");
        assert!(written_after.starts_with(FERNET_PREFIX));
        assert_eq!(before.read_token(&written_after), Err(Undecryptable));
        assert_eq!(
            cipher(&[&new_key], None).read_token(&written_after).unwrap().into_plaintext(),
            "gho_rotating"
        );
    }

    #[test]
    fn keeps_the_secret_key_derived_key_for_decryption() {
        let key = Fernet::generate_key();
        let both = cipher(&[&key], Some("adoption-test-secret"));
        assert_eq!(
            both.read_token(SEEDED_TOKEN).unwrap().into_plaintext(),
            "gho_adoptiontesttoken0000000000000000000"
        );
        let fresh = both.encrypt("gho_new");
        assert_eq!(cipher_with_only(&key).read_token(&fresh).unwrap().into_plaintext(), "gho_new");
    }

    fn cipher_with_only(key: &str) -> TokenCipher {
        cipher(&[key], None)
    }

    #[test]
    fn rejects_malformed_keys() {
        let error = TokenCipher::new(&CipherConfig {
            encryption_keys: vec![Fernet::generate_key(), "short".to_owned()],
            secret_key: None,
        })
        .unwrap_err();
        assert_eq!(error, CipherError::InvalidKey { position: 2 });
        assert_eq!(TokenCipher::new(&CipherConfig::default()).unwrap_err(), CipherError::NoKey);
    }
}
