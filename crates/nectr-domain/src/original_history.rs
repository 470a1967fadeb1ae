//! The original service's review history, adopted: its `events` rows carry the webhook payload
//! (raw, or wrapped as `{"original": <payload>, ...}` once processed) and its `workflow_runs`
//! the review, but none of the typed columns Nectr's dashboard reads (the repository id of each
//! event, the queued review, the pull request's state). [`adopt`] reads what one stored payload
//! says, so that the start-up adoption can fill them in, and the reviews made before the
//! migration show in the dashboard beside the new ones.

use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::RepoFullName;
use crate::pull_request::{PullRequestPayload, PullRequestSnapshot};

/// What one stored payload says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdoptedEvent {
    /// GitHub's numeric id of the delivery's repository, when the payload names it.
    pub repo_id: Option<i64>,
    /// The repository's name, when the payload names it.
    pub repo: Option<RepoFullName>,
    /// The pull request the delivery was about, when it was one.
    pub pull_request: Option<AdoptedPullRequest>,
}

/// A pull request as an adopted delivery described it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdoptedPullRequest {
    /// Its number.
    pub number: u64,
    /// The head commit the delivery was about.
    pub head_sha: String,
    /// Its state then; `None` without a repository id to key it by.
    pub snapshot: Option<PullRequestSnapshot>,
}

#[derive(Deserialize)]
struct Wrapped {
    original: serde_json::Value,
}

#[derive(Deserialize)]
struct StoredPayload {
    repository: Option<StoredRepository>,
    pull_request: Option<PullRequestPayload>,
    number: Option<u64>,
}

#[derive(Deserialize)]
struct StoredRepository {
    id: Option<i64>,
    full_name: Option<String>,
}

/// Reads a stored payload. `known_repo_id` is the repository's id from elsewhere (the
/// installation of that name) for payloads that do not carry it; `received_at` orders a pull
/// request's snapshot when the payload carries no time. `None` when the text is not a JSON
/// object of a webhook delivery.
pub fn adopt(
    payload: &str,
    known_repo_id: impl Fn(&RepoFullName) -> Option<i64>,
    received_at: DateTime<Utc>,
) -> Option<AdoptedEvent> {
    let value: serde_json::Value = serde_json::from_str(payload).ok()?;
    let value = match serde_json::from_value::<Wrapped>(value.clone()) {
        Ok(wrapped) => wrapped.original,
        Err(_) => value,
    };
    let stored: StoredPayload = serde_json::from_value(value).ok()?;
    let repository = stored.repository;
    let repo = repository
        .as_ref()
        .and_then(|repository| repository.full_name.as_deref())
        .and_then(|name| RepoFullName::parse(name).ok());
    let repo_id = repository
        .and_then(|repository| repository.id)
        .or_else(|| repo.as_ref().and_then(&known_repo_id));
    let pull_request = stored.pull_request.and_then(|pull| {
        let number = pull.number.or(stored.number).filter(|n| i64::try_from(*n).is_ok())?;
        let snapshot = match (repo_id, &repo) {
            (Some(id), Some(repo)) => {
                Some(pull.snapshot_or_at(id, repo.clone(), number, received_at))
            }
            _ => None,
        };
        Some(AdoptedPullRequest { number, head_sha: pull.head.sha.clone(), snapshot })
    });
    Some(AdoptedEvent { repo_id, repo, pull_request })
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::pull_request::PullRequestState;

    fn at() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 1, 10, 0, 5).single().unwrap_or_default()
    }

    #[test]
    fn a_processed_payload_is_read_through_its_wrapper() {
        let payload = r#"{"original": {"action": "opened", "number": 1347,
            "pull_request": {"number": 1347, "title": "Amazing new feature",
              "user": {"login": "octocat"}, "head": {"ref": "new-topic", "sha": "6dcb09b"},
              "html_url": "https://github.com/octocat/Hello-World/pull/1347", "state": "open"},
            "repository": {"full_name": "octocat/Hello-World"}},
          "status": "completed", "summary": "Fine."}"#;
        let adopted = adopt(payload, |_| Some(1_296_269), at()).unwrap_or_else(|| panic!());
        assert_eq!(adopted.repo_id, Some(1_296_269), "from the installation of that name");
        let pull = adopted.pull_request.unwrap_or_else(|| panic!());
        assert_eq!((pull.number, pull.head_sha.as_str()), (1347, "6dcb09b"));
        let snapshot = pull.snapshot.unwrap_or_else(|| panic!());
        assert_eq!(snapshot.title, "Amazing new feature");
        assert_eq!(snapshot.state, PullRequestState::Open);
        assert_eq!(snapshot.updated_at, at(), "no time in the payload: when it was received");
    }

    #[test]
    fn a_raw_payload_names_its_repository_and_other_text_is_none() {
        let payload = r#"{"action": "closed", "repository": {"id": 7, "full_name": "o/r"},
            "pull_request": {"number": 3, "head": {"sha": "abc"}, "merged": true,
              "updated_at": "2026-03-02T00:00:00Z"}}"#;
        let adopted = adopt(payload, |_| None, at()).unwrap_or_else(|| panic!());
        assert_eq!(adopted.repo_id, Some(7));
        let snapshot = adopted.pull_request.and_then(|pull| pull.snapshot);
        assert_eq!(snapshot.map(|s| s.state), Some(PullRequestState::Merged));
        let push = adopt(
            r#"{"ref": "main", "repository": {"id": 7, "full_name": "o/r"}}"#,
            |_| None,
            at(),
        );
        assert_eq!(push.and_then(|event| event.pull_request), None);
        assert_eq!(adopt("not json", |_| None, at()), None);
        assert_eq!(adopt("[1, 2]", |_| None, at()), None);
        let unnamed =
            adopt(r#"{"pull_request": {"number": 1, "head": {"sha": "a"}}}"#, |_| None, at());
        assert_eq!(unnamed.and_then(|event| event.pull_request).and_then(|p| p.snapshot), None);
    }
}
