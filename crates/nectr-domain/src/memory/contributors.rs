//! The team view (`/api/v1/analytics/contributors`): each developer's contributor profile,
//! patterns and strengths from memory, with their real pull-request counts from the review
//! records (the original read counts nobody wrote, so they were always 0).

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;

use crate::RepoFullName;

use super::{Memory, MemoryScope, MemoryStore, MemoryStoreError, MemoryType, Provenance, list_all};

/// One author's reviewed pull requests in one repository.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AuthorActivity {
    /// Distinct pull requests Nectr was asked to review.
    pub pull_requests: u64,
    /// Distinct head commits of those pull requests that were reviewed.
    pub commits: u64,
    /// The highest pull-request number among them.
    pub last_pull_request: u64,
}

/// Why the activity could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ActivityError {
    /// The store failed.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// Reviewed pull requests per author, from the review records.
#[async_trait]
pub trait ContributorActivity: Send + Sync {
    /// Every author of a reviewed pull request of `repo`, by lower-case login.
    ///
    /// # Errors
    /// [`ActivityError::Unexpected`] when the store fails.
    async fn activity_by_author(
        &self,
        repo: &RepoFullName,
    ) -> Result<BTreeMap<String, AuthorActivity>, ActivityError>;
}

/// One developer in the team view.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Contributor {
    /// Lower-case login.
    pub username: String,
    /// Their contributor profile's text (empty without one).
    pub profile_summary: String,
    /// Their patterns.
    pub patterns: Vec<String>,
    /// Their strengths.
    pub strengths: Vec<String>,
    /// Their activity.
    pub activity: AuthorActivity,
}

/// Why the team view failed.
#[derive(Debug, thiserror::Error)]
pub enum ContributorsError {
    /// The memory store failed.
    #[error(transparent)]
    Memory(#[from] MemoryStoreError),
    /// The review records could not be read.
    #[error(transparent)]
    Activity(#[from] ActivityError),
}

/// Every developer of `repo` that memory or the review records know, most pull requests first
/// (then by login).
///
/// # Errors
/// [`ContributorsError`].
pub async fn contributors(
    store: &Arc<dyn MemoryStore>,
    activity: &Arc<dyn ContributorActivity>,
    repo: &RepoFullName,
) -> Result<Vec<Contributor>, ContributorsError> {
    let mut people: BTreeMap<String, Contributor> = BTreeMap::new();
    for (login, figures) in activity.activity_by_author(repo).await? {
        people
            .entry(login.clone())
            .or_insert_with(|| Contributor { username: login, ..Default::default() })
            .activity = figures;
    }
    let types = [
        MemoryType::ContributorProfile,
        MemoryType::DeveloperPattern,
        MemoryType::DeveloperStrength,
    ];
    // Every page: a repository with more developers than one page holds shows them all.
    for memory in list_all(store.as_ref(), repo, &types, None).await? {
        add_memory(&mut people, memory);
    }
    let mut list: Vec<Contributor> = people.into_values().collect();
    list.sort_by(|left, right| {
        right
            .activity
            .pull_requests
            .cmp(&left.activity.pull_requests)
            .then(left.username.cmp(&right.username))
    });
    Ok(list)
}

fn add_memory(people: &mut BTreeMap<String, Contributor>, memory: Memory) {
    let MemoryScope::Developer(login) = &memory.scope else { return };
    let person = people
        .entry(login.clone())
        .or_insert_with(|| Contributor { username: login.clone(), ..Default::default() });
    if let Provenance::PullRequest { number } = memory.provenance {
        person.activity.last_pull_request = person.activity.last_pull_request.max(number);
    }
    match memory.memory_type {
        MemoryType::ContributorProfile => person.profile_summary = memory.content,
        MemoryType::DeveloperPattern => person.patterns.push(memory.content),
        MemoryType::DeveloperStrength => person.strengths.push(memory.content),
        _ => {}
    }
}
