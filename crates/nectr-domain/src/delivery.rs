//! What a GitHub delivery carries, validated once at the edge: its delivery id
//! (`X-GitHub-Delivery`), its event name (`X-GitHub-Event`) and its body's text. Each fits the
//! column that stores it and holds only what GitHub sends (the ids and names in the characters
//! GitHub uses; the body UTF-8 without NUL, which PostgreSQL's text refuses), so every engine
//! stores whatever the intake accepts.

use std::fmt;

/// Why a header's value was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    /// The header is absent or blank.
    #[error("is missing")]
    Missing,
    /// Longer than allowed.
    #[error("is {length} bytes long; at most {max} are allowed")]
    TooLong {
        /// Its length in bytes.
        length: usize,
        /// The most allowed.
        max: usize,
    },
    /// Holds a character outside the allowed set.
    #[error("holds {0:?}, which is not allowed")]
    Character(char),
}

/// Checks length and characters: 1 to `max` characters, each accepted by `allowed`.
fn check(text: &str, max: usize, allowed: fn(char) -> bool) -> Result<(), HeaderError> {
    if text.is_empty() {
        return Err(HeaderError::Missing);
    }
    if text.len() > max {
        return Err(HeaderError::TooLong { length: text.len(), max });
    }
    match text.chars().find(|character| !allowed(*character)) {
        Some(character) => Err(HeaderError::Character(character)),
        None => Ok(()),
    }
}

/// A delivery's id, `X-GitHub-Delivery`: 1 to 64 ASCII letters, digits, `-`, `_`, `.` or `:`
/// (GitHub sends a GUID).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DeliveryId(String);

impl DeliveryId {
    /// The most characters a delivery id has (the `events.delivery_id` column).
    pub const MAX_LEN: usize = 64;

    /// Validates a delivery id.
    ///
    /// # Errors
    /// [`HeaderError`] says what is wrong.
    pub fn parse(text: &str) -> Result<Self, HeaderError> {
        let allowed = |character: char| {
            character.is_ascii_alphanumeric() || matches!(character, '-' | '_' | '.' | ':')
        };
        check(text, Self::MAX_LEN, allowed)?;
        Ok(Self(text.to_owned()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The id as an owned string.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for DeliveryId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}

/// A delivery's event name, `X-GitHub-Event`: 1 to 50 ASCII letters, digits, `_`, `-` or `.`
/// (GitHub's are lower-case words joined by `_`, such as `pull_request`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct GitHubEvent(String);

impl GitHubEvent {
    /// The most characters an event name has (the `events.github_event` column).
    pub const MAX_LEN: usize = 50;

    /// Validates an event name.
    ///
    /// # Errors
    /// [`HeaderError`] says what is wrong.
    pub fn parse(text: &str) -> Result<Self, HeaderError> {
        let allowed = |character: char| {
            character.is_ascii_alphanumeric() || matches!(character, '_' | '-' | '.')
        };
        check(text, Self::MAX_LEN, allowed)?;
        Ok(Self(text.to_owned()))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name as an owned string.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for GitHubEvent {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}

/// Why a delivery's body was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    /// Not UTF-8 (GitHub sends UTF-8 JSON).
    #[error("is not UTF-8 (the first invalid byte is at {valid_up_to})")]
    NotUtf8 {
        /// The length of the valid UTF-8 before the first invalid byte.
        valid_up_to: usize,
    },
    /// Holds a NUL byte, which no JSON document holds and PostgreSQL's text cannot store.
    #[error("holds a NUL byte at {0}")]
    Nul(usize),
}

/// A delivery's body as text to store: UTF-8 without NUL bytes, not copied.
///
/// # Errors
/// [`BodyError`] says what is wrong.
pub fn body_text(body: Vec<u8>) -> Result<String, BodyError> {
    if let Some(at) = body.iter().position(|byte| *byte == 0) {
        return Err(BodyError::Nul(at));
    }
    String::from_utf8(body)
        .map_err(|error| BodyError::NotUtf8 { valid_up_to: error.utf8_error().valid_up_to() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_utf8_without_nul() {
        assert_eq!(body_text(b"{}".to_vec()), Ok("{}".to_owned()));
        assert_eq!(body_text("{\"a\":\"ü\"}".as_bytes().to_vec()).map(|text| text.len()), Ok(10));
        assert_eq!(body_text(b"{\"a\":\"\0\"}".to_vec()), Err(BodyError::Nul(6)));
        assert_eq!(body_text(b"ab\xff".to_vec()), Err(BodyError::NotUtf8 { valid_up_to: 2 }));
        // An escaped NUL is six characters of JSON, and stored as they are.
        assert!(body_text(br#"{"a":"\u0000"}"#.to_vec()).is_ok());
    }

    #[test]
    fn delivery_ids_are_githubs_guids_and_fit_their_column() {
        let guid = "72d3162e-cc78-11e3-81ab-4c9367dc0958";
        assert_eq!(DeliveryId::parse(guid).map(|id| id.to_string()), Ok(guid.to_owned()));
        assert!(DeliveryId::parse(&"a".repeat(64)).is_ok());
        assert_eq!(
            DeliveryId::parse(&"a".repeat(65)),
            Err(HeaderError::TooLong { length: 65, max: 64 })
        );
        assert_eq!(DeliveryId::parse(""), Err(HeaderError::Missing));
        assert_eq!(DeliveryId::parse("a b"), Err(HeaderError::Character(' ')));
        assert_eq!(DeliveryId::parse("a\u{0}"), Err(HeaderError::Character('\u{0}')));
        assert_eq!(DeliveryId::parse("ü"), Err(HeaderError::Character('ü')));
    }

    #[test]
    fn event_names_are_githubs_words_and_fit_their_column() {
        for name in ["ping", "pull_request", "pull_request_review_comment", "check_run"] {
            assert_eq!(GitHubEvent::parse(name).map(GitHubEvent::into_string), Ok(name.to_owned()));
        }
        assert!(GitHubEvent::parse(&"e".repeat(50)).is_ok());
        assert_eq!(
            GitHubEvent::parse(&"e".repeat(51)),
            Err(HeaderError::TooLong { length: 51, max: 50 })
        );
        assert_eq!(GitHubEvent::parse("pull request"), Err(HeaderError::Character(' ')));
    }
}
