//! Repository names in GitHub's `owner/name` form, validated once at the edge.

use std::fmt;
use std::str::FromStr;

/// A repository's full name, `owner/name`, as GitHub spells it.
///
/// The owner is 1 to 39 characters of ASCII letters, digits and single hyphens (not at either
/// end); the name is 1 to 100 characters of ASCII letters, digits, `.`, `-` and `_`, and is
/// neither `.` nor `..`. Comparison is case-sensitive, as stored; use
/// [`RepoFullName::eq_ignore_case`] to compare the way GitHub does.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RepoFullName {
    full: String,
    slash: usize,
}

/// Why a string is not a valid `owner/name`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RepoFullNameError {
    /// The text has no `/`, or more than one.
    #[error("a repository name must have the form owner/name")]
    Shape,
    /// The owner part breaks GitHub's rules for user and organisation names.
    #[error("invalid repository owner {0:?}")]
    Owner(String),
    /// The name part breaks GitHub's rules for repository names.
    #[error("invalid repository name {0:?}")]
    Name(String),
}

impl RepoFullName {
    /// Parses and validates `owner/name`.
    ///
    /// # Errors
    /// [`RepoFullNameError`] says which part is wrong.
    pub fn parse(text: &str) -> Result<Self, RepoFullNameError> {
        let mut parts = text.split('/');
        let (Some(owner), Some(name), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(RepoFullNameError::Shape);
        };
        if !valid_owner(owner) {
            return Err(RepoFullNameError::Owner(owner.to_owned()));
        }
        if !valid_name(name) {
            return Err(RepoFullNameError::Name(name.to_owned()));
        }
        Ok(Self { full: text.to_owned(), slash: owner.len() })
    }

    /// The owner (user or organisation).
    pub fn owner(&self) -> &str {
        &self.full[..self.slash]
    }

    /// The repository name without its owner.
    pub fn name(&self) -> &str {
        &self.full[self.slash + 1..]
    }

    /// The full `owner/name` text.
    pub fn as_str(&self) -> &str {
        &self.full
    }

    /// Compares two names the way GitHub does: without regard to ASCII case.
    pub fn eq_ignore_case(&self, other: &Self) -> bool {
        self.full.eq_ignore_ascii_case(&other.full)
    }
}

fn valid_owner(owner: &str) -> bool {
    (1..=39).contains(&owner.len())
        && owner.bytes().all(|byte| byte.is_ascii_alphanumeric() || byte == b'-')
        && !owner.starts_with('-')
        && !owner.ends_with('-')
        && !owner.contains("--")
}

fn valid_name(name: &str) -> bool {
    (1..=100).contains(&name.len())
        && name.bytes().all(|byte| byte.is_ascii_alphanumeric() || b"._-".contains(&byte))
        && name != "."
        && name != ".."
}

impl FromStr for RepoFullName {
    type Err = RepoFullNameError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

impl fmt::Display for RepoFullName {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.full)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_github_names() {
        let repo = RepoFullName::parse("octocat/Hello-World").unwrap();
        assert_eq!(repo.owner(), "octocat");
        assert_eq!(repo.name(), "Hello-World");
        assert_eq!(repo.to_string(), "octocat/Hello-World");
        assert!(RepoFullName::parse("a-b/.github").is_ok());
        assert!(RepoFullName::parse("x/y_z.rs").is_ok());
    }

    #[test]
    fn rejects_malformed_names() {
        assert_eq!(RepoFullName::parse("octocat"), Err(RepoFullNameError::Shape));
        assert_eq!(RepoFullName::parse("a/b/c"), Err(RepoFullNameError::Shape));
        assert!(matches!(RepoFullName::parse("-bad/x"), Err(RepoFullNameError::Owner(_))));
        assert!(matches!(RepoFullName::parse("a--b/x"), Err(RepoFullNameError::Owner(_))));
        assert!(matches!(RepoFullName::parse("/x"), Err(RepoFullNameError::Owner(_))));
        assert!(matches!(RepoFullName::parse("a/"), Err(RepoFullNameError::Name(_))));
        assert!(matches!(RepoFullName::parse("a/.."), Err(RepoFullNameError::Name(_))));
        assert!(matches!(RepoFullName::parse("a/b c"), Err(RepoFullNameError::Name(_))));
        assert!(matches!(RepoFullName::parse("a/b;drop"), Err(RepoFullNameError::Name(_))));
    }

    #[test]
    fn compares_without_case_like_github() {
        let lower = RepoFullName::parse("octocat/hello").unwrap();
        let upper = RepoFullName::parse("OctoCat/Hello").unwrap();
        assert_ne!(lower, upper);
        assert!(lower.eq_ignore_case(&upper));
    }
}
