//! Pull requests as Nectr last saw them: title, author, branch, size and whether they are open,
//! merged or closed, read from each `pull_request` delivery and kept in one row per pull request,
//! so that the dashboard never asks GitHub for the state of every row it shows.

use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::RepoFullName;

crate::event::status_enum!(
    /// Whether a pull request is open, merged or closed without merging (the dashboard's
    /// `pr_status`).
    PullRequestState {
        /// Open (also a draft).
        Open => "open",
        /// Merged.
        Merged => "merged",
        /// Closed without merging.
        Closed => "closed",
    }
);

/// A pull request as one delivery described it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PullRequestSnapshot {
    /// GitHub's numeric repository id.
    pub repo_id: i64,
    /// The repository's name at that moment.
    pub repo: RepoFullName,
    /// The pull request's number.
    pub number: u64,
    /// Its title.
    pub title: String,
    /// Its author's login.
    pub author: String,
    /// Its head branch.
    pub branch: String,
    /// Its page on GitHub.
    pub url: String,
    /// Open, merged or closed.
    pub state: PullRequestState,
    /// Lines added.
    pub additions: u64,
    /// Lines deleted.
    pub deletions: u64,
    /// Files changed.
    pub changed_files: u64,
    /// When it was opened.
    pub opened_at: DateTime<Utc>,
    /// When it was merged.
    pub merged_at: Option<DateTime<Utc>>,
    /// GitHub's `updated_at`: a stored snapshot is only replaced by one at least as new, so a
    /// late or repeated delivery never takes a pull request back to an older state.
    pub updated_at: DateTime<Utc>,
}

/// The part of a webhook's `pull_request` object that Nectr reads. Every field but the head is
/// optional and read leniently: a field of an unexpected shape is treated as absent, never as a
/// malformed delivery.
#[derive(Clone, Debug, Deserialize)]
pub struct PullRequestPayload {
    /// The number (the delivery's top-level `number` is used when absent).
    pub number: Option<u64>,
    /// A draft.
    #[serde(default)]
    pub draft: bool,
    /// The head commit and branch.
    pub head: PayloadHead,
    #[serde(default)]
    title: Lenient<String>,
    #[serde(default)]
    user: Lenient<PayloadUser>,
    #[serde(default)]
    html_url: Lenient<String>,
    #[serde(default)]
    state: Lenient<String>,
    #[serde(default)]
    merged: Lenient<bool>,
    #[serde(default)]
    merged_at: Lenient<DateTime<Utc>>,
    #[serde(default)]
    created_at: Lenient<DateTime<Utc>>,
    #[serde(default)]
    updated_at: Lenient<DateTime<Utc>>,
    #[serde(default)]
    additions: Lenient<u64>,
    #[serde(default)]
    deletions: Lenient<u64>,
    #[serde(default)]
    changed_files: Lenient<u64>,
}

/// A value that is absent when the JSON holds anything else (null, another type, a bad date).
#[derive(Clone, Debug)]
struct Lenient<T>(Option<T>);

impl<T> Default for Lenient<T> {
    fn default() -> Self {
        Self(None)
    }
}

impl<'de, T: serde::de::DeserializeOwned> Deserialize<'de> for Lenient<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(deserializer)?;
        Ok(Self(serde_json::from_value(value).ok()))
    }
}

/// A pull request's head.
#[derive(Clone, Debug, Deserialize)]
pub struct PayloadHead {
    /// The head commit.
    pub sha: String,
    #[serde(default, rename = "ref")]
    branch: Lenient<String>,
}

#[derive(Clone, Debug, Deserialize)]
struct PayloadUser {
    login: String,
}

impl PullRequestPayload {
    /// Open, merged or closed: merged when GitHub says so (or gives a merge time).
    pub fn state(&self) -> PullRequestState {
        let merged = self.merged.0.unwrap_or(false) || self.merged_at.0.is_some();
        match (merged, self.state.0.as_deref()) {
            (true, _) => PullRequestState::Merged,
            (false, Some("closed")) => PullRequestState::Closed,
            (false, _) => PullRequestState::Open,
        }
    }

    /// The snapshot of this pull request in `repo` (id `repo_id`), numbered `number`; `None`
    /// when the payload carries no time at all to order it by.
    pub fn snapshot(
        &self,
        repo_id: i64,
        repo: RepoFullName,
        number: u64,
    ) -> Option<PullRequestSnapshot> {
        let updated_at = self.updated_at.0.or(self.created_at.0)?;
        Some(self.snapshot_or_at(repo_id, repo, number, updated_at))
    }

    /// [`PullRequestPayload::snapshot`], ordered by `fallback` when the payload carries no time
    /// (the original service's stored payloads, trimmed, may not).
    pub fn snapshot_or_at(
        &self,
        repo_id: i64,
        repo: RepoFullName,
        number: u64,
        fallback: DateTime<Utc>,
    ) -> PullRequestSnapshot {
        let updated_at = self.updated_at.0.or(self.created_at.0).unwrap_or(fallback);
        let text = |field: &Lenient<String>| field.0.clone().unwrap_or_default();
        PullRequestSnapshot {
            repo_id,
            repo,
            number,
            title: text(&self.title),
            author: self.user.0.as_ref().map(|user| user.login.clone()).unwrap_or_default(),
            branch: self.head.branch.0.clone().unwrap_or_default(),
            url: text(&self.html_url),
            state: self.state(),
            additions: self.additions.0.unwrap_or(0),
            deletions: self.deletions.0.unwrap_or(0),
            changed_files: self.changed_files.0.unwrap_or(0),
            opened_at: self.created_at.0.unwrap_or(updated_at),
            merged_at: self.merged_at.0,
            updated_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload(extra: serde_json::Value) -> PullRequestPayload {
        let mut value = serde_json::json!({
            "number": 7,
            "title": "Add a cache",
            "user": {"login": "octocat"},
            "head": {"sha": "abc", "ref": "feature/cache"},
            "html_url": "https://github.com/o/r/pull/7",
            "state": "open",
            "created_at": "2026-11-01T10:00:00Z",
            "updated_at": "2026-11-02T10:00:00Z",
            "additions": 12,
            "deletions": 3,
            "changed_files": 2
        });
        if let (Some(target), Some(extra)) = (value.as_object_mut(), extra.as_object()) {
            target.extend(extra.clone());
        }
        serde_json::from_value(value).unwrap_or_else(|error| panic!("{error}"))
    }

    #[test]
    fn reads_state_from_merged_and_state() {
        assert_eq!(payload(serde_json::json!({})).state(), PullRequestState::Open);
        let closed = payload(serde_json::json!({"state": "closed", "merged": false}));
        assert_eq!(closed.state(), PullRequestState::Closed);
        let merged = payload(serde_json::json!({"state": "closed", "merged": true}));
        assert_eq!(merged.state(), PullRequestState::Merged);
        let merged_at = payload(serde_json::json!({"merged_at": "2026-11-03T10:00:00Z"}));
        assert_eq!(merged_at.state(), PullRequestState::Merged);
    }

    #[test]
    fn a_snapshot_carries_what_the_dashboard_shows() {
        let repo = RepoFullName::parse("o/r").unwrap_or_else(|error| panic!("{error}"));
        let snapshot = payload(serde_json::json!({}))
            .snapshot(42, repo, 7)
            .unwrap_or_else(|| panic!("a snapshot"));
        assert_eq!(
            (snapshot.title.as_str(), snapshot.author.as_str(), snapshot.branch.as_str()),
            ("Add a cache", "octocat", "feature/cache")
        );
        assert_eq!((snapshot.additions, snapshot.deletions, snapshot.changed_files), (12, 3, 2));
        assert!(snapshot.opened_at < snapshot.updated_at);
        let timeless: PullRequestPayload = serde_json::from_value(
            serde_json::json!({"head": {"sha": "abc"}, "created_at": "yesterday", "title": 5}),
        )
        .unwrap_or_else(|error| panic!("{error}"));
        let repo = RepoFullName::parse("o/r").unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(timeless.snapshot(42, repo, 7), None);
    }
}
