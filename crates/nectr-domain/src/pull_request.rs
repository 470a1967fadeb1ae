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

/// The part of a webhook's `pull_request` object that Nectr reads.
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
    title: String,
    user: Option<PayloadUser>,
    #[serde(default)]
    html_url: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    merged: bool,
    merged_at: Option<DateTime<Utc>>,
    created_at: Option<DateTime<Utc>>,
    updated_at: Option<DateTime<Utc>>,
    #[serde(default)]
    additions: u64,
    #[serde(default)]
    deletions: u64,
    #[serde(default)]
    changed_files: u64,
}

/// A pull request's head.
#[derive(Clone, Debug, Deserialize)]
pub struct PayloadHead {
    /// The head commit.
    pub sha: String,
    /// The head branch.
    #[serde(default, rename = "ref")]
    pub branch: String,
}

#[derive(Clone, Debug, Deserialize)]
struct PayloadUser {
    login: String,
}

impl PullRequestPayload {
    /// Open, merged or closed: merged when GitHub says so (or gives a merge time).
    pub fn state(&self) -> PullRequestState {
        match (self.merged || self.merged_at.is_some(), self.state.as_str()) {
            (true, _) => PullRequestState::Merged,
            (false, "closed") => PullRequestState::Closed,
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
        let updated_at = self.updated_at.or(self.created_at)?;
        Some(PullRequestSnapshot {
            repo_id,
            repo,
            number,
            title: self.title.clone(),
            author: self.user.as_ref().map(|user| user.login.clone()).unwrap_or_default(),
            branch: self.head.branch.clone(),
            url: self.html_url.clone(),
            state: self.state(),
            additions: self.additions,
            deletions: self.deletions,
            changed_files: self.changed_files,
            opened_at: self.created_at.unwrap_or(updated_at),
            merged_at: self.merged_at,
            updated_at,
        })
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
        let timeless: PullRequestPayload =
            serde_json::from_value(serde_json::json!({"head": {"sha": "abc"}}))
                .unwrap_or_else(|error| panic!("{error}"));
        let repo = RepoFullName::parse("o/r").unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(timeless.snapshot(42, repo, 7), None);
    }
}
