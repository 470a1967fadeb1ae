//! Project memory: what Nectr has learned about a repository and its developers (rules, the
//! project map, patterns, decisions, risky modules, contributor profiles), the `MemoryStore` port
//! that keeps it, the rule that picks a review's memories (`retrieval`) and the use case that
//! learns from a finished review (`extraction`); `exclusive` runs the writes that must leave one
//! of something one at a time.
//!
//! Tenancy: a memory belongs to exactly one repository, and every port method takes that
//! repository; a memory of another repository is answered as if it did not exist.

pub mod contributors;
pub mod exclusive;
pub mod extraction;
pub mod project_map;
pub mod retrieval;
pub mod review;

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::{RepoFullName, UserId};

/// The most memories one list or search returns.
pub const MAX_PAGE: u32 = 200;

/// The most characters one memory holds.
pub const MAX_CONTENT_CHARS: usize = 4_000;

/// A memory's id: Mem0's UUID, or the embedded store's.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MemoryId(String);

impl MemoryId {
    /// Wraps an id as the store gave it.
    pub fn new(raw: impl Into<String>) -> Self {
        Self(raw.into())
    }

    /// The id's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for MemoryId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}

/// The original service's eight memory types.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MemoryType {
    /// A rule the team wrote; always placed in the review prompt.
    ProjectRule,
    /// One section of the project map (stack, structure, commands, …), from a scan.
    ProjectMap,
    /// A recurring pattern of the code base, learned from reviews.
    ProjectPattern,
    /// A design decision, learned from reviews.
    Decision,
    /// A module that needs extra care, learned from reviews.
    RiskModule,
    /// A developer's recurring pattern.
    DeveloperPattern,
    /// A developer's strength.
    DeveloperStrength,
    /// The one profile of a developer, updated after each of their reviews.
    ContributorProfile,
}

impl MemoryType {
    /// Every type, in the original's order.
    pub const ALL: [Self; 8] = [
        Self::ProjectRule,
        Self::ProjectMap,
        Self::ProjectPattern,
        Self::Decision,
        Self::RiskModule,
        Self::DeveloperPattern,
        Self::DeveloperStrength,
        Self::ContributorProfile,
    ];

    /// The original's name (`project_rule`, …), used in the API and in storage.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::ProjectRule => "project_rule",
            Self::ProjectMap => "project_map",
            Self::ProjectPattern => "project_pattern",
            Self::Decision => "decision",
            Self::RiskModule => "risk_module",
            Self::DeveloperPattern => "developer_pattern",
            Self::DeveloperStrength => "developer_strength",
            Self::ContributorProfile => "contributor_profile",
        }
    }

    /// Whether memories of this type are about one developer (else about the project).
    pub const fn is_developer_scoped(self) -> bool {
        matches!(self, Self::DeveloperPattern | Self::DeveloperStrength | Self::ContributorProfile)
    }
}

impl fmt::Display for MemoryType {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// A memory type name that is not one of the eight.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown memory type {0:?}")]
pub struct UnknownMemoryType(pub String);

impl FromStr for MemoryType {
    type Err = UnknownMemoryType;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.as_str() == text)
            .ok_or_else(|| UnknownMemoryType(text.to_owned()))
    }
}

/// Whom a memory is about.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MemoryScope {
    /// The project as a whole (the original's `user_id = "project"`).
    Project,
    /// One developer, by GitHub login (stored in lower case, as GitHub compares logins).
    Developer(String),
}

impl MemoryScope {
    /// The scope of developer `login`, normalised to lower case.
    pub fn developer(login: &str) -> Self {
        Self::Developer(login.to_ascii_lowercase())
    }

    /// The original's `user_id`: `project`, or the developer's login.
    pub fn user_id(&self) -> &str {
        match self {
            Self::Project => "project",
            Self::Developer(login) => login,
        }
    }

    /// Reads the original's `user_id` back.
    pub fn from_user_id(user_id: &str) -> Self {
        match user_id {
            "project" => Self::Project,
            login => Self::developer(login),
        }
    }
}

/// Where a memory came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Provenance {
    /// Learned from the review of this pull request.
    PullRequest {
        /// The pull request's number.
        number: u64,
    },
    /// Written or last edited by this user (the dashboard).
    User {
        /// The user's id.
        id: UserId,
    },
    /// Built by a scan of the repository's default branch.
    Scan,
}

/// A stored memory.
#[derive(Clone, Debug, PartialEq)]
pub struct Memory {
    /// Its id.
    pub id: MemoryId,
    /// The repository it belongs to.
    pub repo: RepoFullName,
    /// Whom it is about.
    pub scope: MemoryScope,
    /// What kind of memory it is.
    pub memory_type: MemoryType,
    /// Its text (for project-map sections `"<title>: <content>"`).
    pub content: String,
    /// Where it came from.
    pub provenance: Provenance,
    /// When it was stored.
    pub created_at: DateTime<Utc>,
    /// When its content last changed.
    pub updated_at: DateTime<Utc>,
    /// How many reviews it was put into.
    pub hits: u64,
    /// When it was last put into a review.
    pub last_hit_at: Option<DateTime<Utc>>,
}

/// A memory to store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewMemory {
    /// The repository it belongs to.
    pub repo: RepoFullName,
    /// Whom it is about.
    pub scope: MemoryScope,
    /// Its type.
    pub memory_type: MemoryType,
    /// Its text (1 to [`MAX_CONTENT_CHARS`] characters, not only white space).
    pub content: String,
    /// Where it came from.
    pub provenance: Provenance,
}

/// Which memories of one repository to list, newest first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemoryFilter {
    /// Only these types (all when empty).
    pub types: Vec<MemoryType>,
    /// Only this scope.
    pub scope: Option<MemoryScope>,
    /// Skip this many.
    pub offset: u32,
    /// At most this many (capped at [`MAX_PAGE`]).
    pub limit: u32,
}

impl Default for MemoryFilter {
    fn default() -> Self {
        Self { types: Vec::new(), scope: None, offset: 0, limit: 100 }
    }
}

/// A page of a list, with how many match in all.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MemoryPage {
    /// The page, newest first.
    pub memories: Vec<Memory>,
    /// How many memories match the filter in all.
    pub total: u64,
}

/// A relevance search within one repository.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemorySearch {
    /// Free text; memories sharing more of its words rank first.
    pub query: String,
    /// Only these types (all when empty).
    pub types: Vec<MemoryType>,
    /// Only this scope.
    pub scope: Option<MemoryScope>,
    /// At most this many (capped at [`MAX_PAGE`]).
    pub limit: u32,
}

/// Why a [`MemoryStore`] call failed.
#[derive(Debug, thiserror::Error)]
pub enum MemoryStoreError {
    /// The content is empty or longer than [`MAX_CONTENT_CHARS`].
    #[error("invalid memory content: {0}")]
    InvalidContent(String),
    /// The memory service is unreachable or overloaded, after retries.
    #[error("the memory service is unavailable: {0}")]
    Unavailable(String),
    /// Anything else.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// Checks a memory's content the way every store does.
///
/// # Errors
/// [`MemoryStoreError::InvalidContent`] when it is blank or longer than [`MAX_CONTENT_CHARS`].
pub fn validate_content(content: &str) -> Result<(), MemoryStoreError> {
    match (content.trim().is_empty(), content.chars().count() > MAX_CONTENT_CHARS) {
        (true, _) => Err(MemoryStoreError::InvalidContent("the content is empty".to_owned())),
        (false, true) => Err(MemoryStoreError::InvalidContent(format!(
            "the content is longer than {MAX_CONTENT_CHARS} characters"
        ))),
        (false, false) => Ok(()),
    }
}

/// Keeps memories: Mem0, or the embedded SQL tables.
///
/// Contract for every implementation:
/// - Every call names a repository, and only that repository's memories are ever returned,
///   changed or deleted; an id of another repository's memory is `None` / `false`.
/// - `add` validates the content ([`validate_content`]) and stores it verbatim.
/// - `list` filters by type and scope for real, newest first, and pages with `offset`/`limit`;
///   `total` counts every match.
/// - `search` returns only memories sharing at least one word with the query, best first.
/// - `update` replaces the content (and the provenance) and sets `updated_at`.
/// - `record_hits` adds one to the hit counter of each listed memory of the repository.
/// - `count_by_type` counts the repository's memories per type (types without any absent).
#[async_trait]
pub trait MemoryStore: Send + Sync {
    /// A short name for health and logs (`embedded`, `mem0`).
    fn name(&self) -> &str;

    /// Stores a memory.
    ///
    /// # Errors
    /// [`MemoryStoreError::InvalidContent`], [`MemoryStoreError::Unavailable`],
    /// [`MemoryStoreError::Unexpected`].
    async fn add(&self, memory: &NewMemory) -> Result<Memory, MemoryStoreError>;

    /// One memory of `repo`.
    ///
    /// # Errors
    /// [`MemoryStoreError::Unavailable`], [`MemoryStoreError::Unexpected`].
    async fn get(
        &self,
        repo: &RepoFullName,
        id: &MemoryId,
    ) -> Result<Option<Memory>, MemoryStoreError>;

    /// Memories of `repo`, filtered and paged.
    ///
    /// # Errors
    /// [`MemoryStoreError::Unavailable`], [`MemoryStoreError::Unexpected`].
    async fn list(
        &self,
        repo: &RepoFullName,
        filter: &MemoryFilter,
    ) -> Result<MemoryPage, MemoryStoreError>;

    /// Memories of `repo` relevant to a query, best first.
    ///
    /// # Errors
    /// [`MemoryStoreError::Unavailable`], [`MemoryStoreError::Unexpected`].
    async fn search(
        &self,
        repo: &RepoFullName,
        search: &MemorySearch,
    ) -> Result<Vec<Memory>, MemoryStoreError>;

    /// Replaces a memory's content; `None` when `repo` has no such memory.
    ///
    /// # Errors
    /// [`MemoryStoreError::InvalidContent`], [`MemoryStoreError::Unavailable`],
    /// [`MemoryStoreError::Unexpected`].
    async fn update(
        &self,
        repo: &RepoFullName,
        id: &MemoryId,
        content: &str,
        provenance: &Provenance,
    ) -> Result<Option<Memory>, MemoryStoreError>;

    /// Deletes a memory; `false` when `repo` has no such memory.
    ///
    /// # Errors
    /// [`MemoryStoreError::Unavailable`], [`MemoryStoreError::Unexpected`].
    async fn delete(&self, repo: &RepoFullName, id: &MemoryId) -> Result<bool, MemoryStoreError>;

    /// Counts one more review for each memory.
    ///
    /// # Errors
    /// [`MemoryStoreError::Unavailable`], [`MemoryStoreError::Unexpected`].
    async fn record_hits(
        &self,
        repo: &RepoFullName,
        ids: &[MemoryId],
    ) -> Result<(), MemoryStoreError>;

    /// The repository's memories counted per type.
    ///
    /// # Errors
    /// [`MemoryStoreError::Unavailable`], [`MemoryStoreError::Unexpected`].
    async fn count_by_type(
        &self,
        repo: &RepoFullName,
    ) -> Result<BTreeMap<MemoryType, u64>, MemoryStoreError>;
}

/// Every memory of `repo` of `types` (all when empty) in `scope` (any when `None`), newest
/// first, read page by page ([`MAX_PAGE`] at a time) until the store's total is reached, so that
/// nothing past one page is silently dropped.
///
/// # Errors
/// The store's [`MemoryStoreError`].
pub async fn list_all(
    store: &dyn MemoryStore,
    repo: &RepoFullName,
    types: &[MemoryType],
    scope: Option<&MemoryScope>,
) -> Result<Vec<Memory>, MemoryStoreError> {
    let mut all: Vec<Memory> = Vec::new();
    loop {
        let filter = MemoryFilter {
            types: types.to_vec(),
            scope: scope.cloned(),
            offset: u32::try_from(all.len()).unwrap_or(u32::MAX),
            limit: MAX_PAGE,
        };
        let page = store.list(repo, &filter).await?;
        let last = page.memories.is_empty();
        all.extend(page.memories);
        if last || u64::try_from(all.len()).unwrap_or(u64::MAX) >= page.total {
            return Ok(all);
        }
    }
}

/// The words of a text that a search matches on: lower-case runs of letters and digits of two
/// characters or more, without duplicates, at most `limit` of them. Every store tokenises queries
/// with it, so that they agree on what "sharing a word" means.
pub fn search_words(text: &str, limit: usize) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    for word in text.split(|character: char| !character.is_alphanumeric()) {
        let word = word.to_lowercase();
        if word.chars().count() >= 2 && !words.contains(&word) {
            words.push(word);
        }
        if words.len() >= limit {
            break;
        }
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_types_round_trip_through_their_names() {
        for kind in MemoryType::ALL {
            assert_eq!(kind.as_str().parse::<MemoryType>(), Ok(kind));
        }
        assert_eq!("pr_history".parse::<MemoryType>(), Err(UnknownMemoryType("pr_history".into())));
    }

    #[test]
    fn scopes_use_the_original_user_ids() {
        assert_eq!(MemoryScope::from_user_id("project"), MemoryScope::Project);
        assert_eq!(MemoryScope::from_user_id("Octo"), MemoryScope::Developer("octo".into()));
        assert_eq!(MemoryScope::developer("Octo").user_id(), "octo");
    }

    #[test]
    fn content_must_be_present_and_bounded() {
        assert!(validate_content("  ").is_err());
        assert!(validate_content(&"x".repeat(MAX_CONTENT_CHARS + 1)).is_err());
        assert!(validate_content("Use sqlx offline mode.").is_ok());
    }

    #[test]
    fn search_words_are_lower_case_unique_and_bounded() {
        assert_eq!(
            search_words("Fix src/Auth/session.rs: auth a", 10),
            vec!["fix", "src", "auth", "session", "rs"]
        );
        assert_eq!(search_words("one two three", 2), vec!["one", "two"]);
    }
}
