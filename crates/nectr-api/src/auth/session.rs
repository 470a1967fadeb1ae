//! Sessions: HS256 JWTs carrying `sub` (the user id), `iat`, `exp`, `ver` (the user's session
//! version when it was issued) and `sid` (the session's own random id, which logout revokes),
//! signed with a key of their own, and the `access_token` cookie that holds them.

use std::fmt;

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use nectr_domain::{User, UserId};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// The session cookie's name, as the original service and its dashboard use it.
pub const SESSION_COOKIE: &str = "access_token";

/// Random bytes in a session id: 128 bits from the operating system's generator.
const SESSION_ID_BYTES: usize = 16;

/// The label that separates the session key derived from `SECRET_KEY` from every other key
/// derived from it (the Fernet key is SHA-256 of `SECRET_KEY` itself).
const SESSION_KEY_LABEL: &[u8] = b"nectr session v1";

/// The key sessions are signed with.
#[derive(Clone)]
pub struct SessionKey(Vec<u8>);

impl SessionKey {
    /// `JWT_SECRET` as given.
    pub fn from_jwt_secret(secret: &str) -> Self {
        Self(secret.as_bytes().to_vec())
    }

    /// A key of its own derived from `SECRET_KEY`: HMAC-SHA256(SECRET_KEY, "nectr session v1").
    #[expect(clippy::expect_used, reason = "HMAC accepts keys of any length")]
    pub fn derived_from_secret_key(secret_key: &str) -> Self {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret_key.as_bytes())
            .expect("HMAC takes a key of any length");
        mac.update(SESSION_KEY_LABEL);
        Self(mac.finalize().into_bytes().to_vec())
    }
}

impl fmt::Debug for SessionKey {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("SessionKey([redacted])")
    }
}

/// The `SameSite` attribute of Nectr's cookies.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SameSite {
    /// Sent on same-site requests and top-level navigations (the default).
    #[default]
    Lax,
    /// Sent on same-site requests only.
    Strict,
    /// Sent everywhere; browsers require `Secure` with it.
    None,
}

impl SameSite {
    /// The attribute's value.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Lax => "Lax",
            Self::Strict => "Strict",
            Self::None => "None",
        }
    }
}

/// How sessions are signed and kept.
#[derive(Clone, Debug)]
pub struct SessionConfig {
    /// The signing key.
    pub key: SessionKey,
    /// A session's lifetime (`ACCESS_TOKEN_EXPIRE_MINUTES`), also the cookie's `Max-Age`.
    pub lifetime_minutes: u64,
    /// Mark cookies `Secure` (production).
    pub secure_cookies: bool,
    /// The cookies' `SameSite`.
    pub same_site: SameSite,
}

/// A session token's claims.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The user's id, as a string (as the original's tokens carried it).
    pub sub: String,
    /// Issued at, in seconds since the epoch.
    pub iat: i64,
    /// Expires at, in seconds since the epoch.
    pub exp: i64,
    /// The user's session version when issued.
    pub ver: i64,
    /// The session's id: 16 random bytes (128 bits) in lowercase hexadecimal. Tokens
    /// issued before sessions had ids carry none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
}

impl Claims {
    /// The user the session belongs to.
    pub fn user_id(&self) -> Option<UserId> {
        self.sub.parse::<i64>().ok().map(UserId::new)
    }

    /// When the token expires (`exp`).
    pub fn expires_at(&self) -> DateTime<Utc> {
        DateTime::from_timestamp(self.exp, 0).unwrap_or(DateTime::<Utc>::MAX_UTC)
    }
}

/// A fresh session id: [`SESSION_ID_BYTES`] random bytes in lowercase hexadecimal (URL-safe).
fn new_session_id() -> Result<String, SessionError> {
    let mut bytes = [0_u8; SESSION_ID_BYTES];
    getrandom::fill(&mut bytes).map_err(|error| {
        SessionError::Signing(format!("the system's random generator failed: {error}"))
    })?;
    Ok(bytes.iter().map(|byte| format!("{byte:02x}")).collect())
}

/// Why a session token was refused.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// Malformed, wrongly signed, of another algorithm, or expired.
    #[error("invalid or expired session")]
    Invalid,
    /// The token could not be signed.
    #[error("cannot sign the session: {0}")]
    Signing(String),
}

impl SessionConfig {
    /// Signs a new session for `user`, issued `now`, with a fresh session id.
    ///
    /// # Errors
    /// [`SessionError::Signing`] when the system's random generator fails or the key cannot
    /// sign (never with an HMAC key).
    pub fn issue(&self, user: &User, now: DateTime<Utc>) -> Result<String, SessionError> {
        let lifetime = i64::try_from(self.lifetime_minutes.saturating_mul(60)).unwrap_or(i64::MAX);
        let claims = Claims {
            sub: user.id.get().to_string(),
            iat: now.timestamp(),
            exp: now.timestamp().saturating_add(lifetime),
            ver: user.session_version,
            sid: Some(new_session_id()?),
        };
        self.sign(&claims)
    }

    /// Signs these claims.
    fn sign(&self, claims: &Claims) -> Result<String, SessionError> {
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            claims,
            &EncodingKey::from_secret(&self.key.0),
        )
        .map_err(|error| SessionError::Signing(error.to_string()))
    }

    /// Checks a session token's signature, algorithm and expiry, and answers its claims. Whether
    /// the user still exists and the version still holds is the caller's to check.
    ///
    /// # Errors
    /// [`SessionError::Invalid`].
    pub fn verify(&self, token: &str) -> Result<Claims, SessionError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_required_spec_claims(&["exp", "iat", "sub"]);
        validation.leeway = 0;
        jsonwebtoken::decode::<Claims>(token, &DecodingKey::from_secret(&self.key.0), &validation)
            .map(|data| data.claims)
            .map_err(|_| SessionError::Invalid)
    }

    /// The `Set-Cookie` value that stores a session.
    pub fn session_cookie(&self, token: &str) -> String {
        self.cookie(SESSION_COOKIE, token, "/", self.lifetime_minutes.saturating_mul(60))
    }

    /// The `Set-Cookie` value that deletes the session cookie (same flags, `Max-Age=0`).
    pub fn clear_session_cookie(&self) -> String {
        self.cookie(SESSION_COOKIE, "", "/", 0)
    }

    /// A `Set-Cookie` value with Nectr's flags: `HttpOnly`, the configured `SameSite`, and
    /// `Secure` when configured (always with `SameSite=None`).
    pub fn cookie(&self, name: &str, value: &str, path: &str, max_age_seconds: u64) -> String {
        let mut cookie = format!(
            "{name}={value}; Path={path}; Max-Age={max_age_seconds}; HttpOnly; SameSite={}",
            self.same_site.as_str()
        );
        if self.secure_cookies || self.same_site == SameSite::None {
            cookie.push_str("; Secure");
        }
        cookie
    }
}

/// The value of the cookie `name` in a `Cookie` request header.
pub fn cookie_value<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.trim_matches('"'))
        .filter(|value| !value.is_empty())
}

#[cfg(test)]
mod tests {
    use chrono::Duration;
    use nectr_domain::AccessToken;

    use super::*;

    fn config(key: SessionKey) -> SessionConfig {
        SessionConfig { key, lifetime_minutes: 60, secure_cookies: false, same_site: SameSite::Lax }
    }

    fn user(version: i64) -> User {
        User {
            id: UserId::new(42),
            github_id: 1,
            github_username: "mona".to_owned(),
            github_access_token: AccessToken::new("gho_x"),
            email: None,
            avatar_url: None,
            name: None,
            created_at: Utc::now(),
            updated_at: Utc::now(),
            session_version: version,
        }
    }

    #[test]
    fn a_session_round_trips_and_carries_its_version() {
        let sessions = config(SessionKey::derived_from_secret_key("k"));
        let token = sessions.issue(&user(3), Utc::now()).unwrap();
        let claims = sessions.verify(&token).unwrap();
        assert_eq!((claims.user_id(), claims.ver), (Some(UserId::new(42)), 3));
        assert_eq!(claims.exp - claims.iat, 3600);
        assert_eq!(claims.expires_at().timestamp(), claims.exp);
    }

    #[test]
    fn every_session_has_an_id_of_its_own() {
        let sessions = config(SessionKey::derived_from_secret_key("k"));
        let now = Utc::now();
        let first = sessions.verify(&sessions.issue(&user(0), now).unwrap()).unwrap();
        let second = sessions.verify(&sessions.issue(&user(0), now).unwrap()).unwrap();
        let (first, second) = (first.sid.unwrap(), second.sid.unwrap());
        assert_ne!(first, second);
        assert_eq!(first.len(), 2 * SESSION_ID_BYTES);
        assert!(first.bytes().all(|byte| matches!(byte, b'0'..=b'9' | b'a'..=b'f')), "{first}");
    }

    #[test]
    fn a_token_issued_before_session_ids_is_still_read() {
        let sessions = config(SessionKey::derived_from_secret_key("k"));
        let now = Utc::now().timestamp();
        let legacy = Claims { sub: "42".to_owned(), iat: now, exp: now + 60, ver: 0, sid: None };
        assert!(serde_json::to_value(&legacy).unwrap().get("sid").is_none(), "no sid claim");
        let token = sessions.sign(&legacy).unwrap();
        assert_eq!(sessions.verify(&token).unwrap(), legacy);
    }

    #[test]
    fn expired_foreign_and_tampered_sessions_are_refused() {
        let sessions = config(SessionKey::derived_from_secret_key("k"));
        let expired = sessions.issue(&user(0), Utc::now() - Duration::hours(2)).unwrap();
        assert!(sessions.verify(&expired).is_err());
        // A token signed with SECRET_KEY itself (the original's key) is not a Nectr session.
        let original =
            config(SessionKey::from_jwt_secret("k")).issue(&user(0), Utc::now()).unwrap();
        assert!(sessions.verify(&original).is_err());
        let token = sessions.issue(&user(0), Utc::now()).unwrap();
        let mut tampered = token.clone();
        tampered.pop();
        assert!(sessions.verify(&tampered).is_err());
        assert!(sessions.verify("not a token").is_err());
    }

    #[test]
    fn the_derived_key_differs_from_the_secret_key() {
        let derived = SessionKey::derived_from_secret_key("k");
        assert_ne!(derived.0, b"k".to_vec());
        assert_eq!(derived.0.len(), 32);
        assert_eq!(format!("{derived:?}"), "SessionKey([redacted])");
    }

    #[test]
    fn cookies_carry_the_configured_flags() {
        let mut sessions = config(SessionKey::from_jwt_secret("k"));
        assert_eq!(
            sessions.session_cookie("abc"),
            "access_token=abc; Path=/; Max-Age=3600; HttpOnly; SameSite=Lax"
        );
        sessions.secure_cookies = true;
        sessions.same_site = SameSite::Strict;
        assert_eq!(
            sessions.clear_session_cookie(),
            "access_token=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict; Secure"
        );
        sessions.secure_cookies = false;
        sessions.same_site = SameSite::None;
        assert!(sessions.session_cookie("abc").ends_with("SameSite=None; Secure"));
    }

    #[test]
    fn reads_a_cookie_among_others() {
        let header = "theme=dark; access_token=abc.def; other=1";
        assert_eq!(cookie_value(header, "access_token"), Some("abc.def"));
        assert_eq!(cookie_value(header, "missing"), None);
        assert_eq!(cookie_value("access_token=", "access_token"), None);
    }
}
