//! Review and event history as the dashboard lists it: one review per pull request (the one with
//! the highest status priority), and the deliveries received; always limited to the repositories
//! the asking user has connected.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::pull_request::PullRequestState;
use crate::review::Verdict;
use crate::{EventId, EventStatus, RepoFullName, ReviewRunId, UserId};

/// The most rows one list returns.
pub const MAX_LIMIT: u32 = 100;

/// The original's status priority when one pull request has several reviews: `completed` 3 >
/// `failed` 2 > `processing` 1 > `pending` 0; every other status (superseded, cancelled, …) comes
/// after those.
pub const fn review_priority(status: EventStatus) -> i32 {
    match status {
        EventStatus::Completed => 3,
        EventStatus::Failed => 2,
        EventStatus::Processing => 1,
        EventStatus::Pending => 0,
        EventStatus::Ignored
        | EventStatus::Rejected
        | EventStatus::Superseded
        | EventStatus::Cancelled => -1,
    }
}

/// What the `status` parameter of the review list filters on: the original takes `open`,
/// `merged` and `closed` as the pull request's state, anything else as the review's status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReviewFilter {
    /// Reviews with this status (after de-duplication).
    Status(EventStatus),
    /// Reviews of pull requests in this state.
    PullRequest(PullRequestState),
}

impl ReviewFilter {
    /// Parses the `status` parameter; `None` for a name that is neither.
    pub fn parse(text: &str) -> Option<Self> {
        match (text.parse::<PullRequestState>(), text.parse::<EventStatus>()) {
            (Ok(state), _) => Some(Self::PullRequest(state)),
            (_, Ok(status)) => Some(Self::Status(status)),
            (Err(_), Err(_)) => None,
        }
    }
}

/// Which reviews to list. Filters and the limit apply after de-duplication, so a page is full
/// whenever enough pull requests match.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReviewQuery {
    /// At most this many (1 to [`MAX_LIMIT`]).
    pub limit: u32,
    /// The `status` filter.
    pub filter: Option<ReviewFilter>,
    /// Case-insensitive part of the title or the repository's name, or the start of the pull
    /// request's number.
    pub search: Option<String>,
    /// Only this repository (compared ignoring case).
    pub repo: Option<RepoFullName>,
    /// Only the pull request with this number.
    pub pull_request: Option<u64>,
}

impl Default for ReviewQuery {
    fn default() -> Self {
        Self { limit: 20, filter: None, search: None, repo: None, pull_request: None }
    }
}

/// The pull request a review is about, as last seen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReviewedPullRequest {
    /// Its number.
    pub number: u64,
    /// Its title.
    pub title: String,
    /// `owner/name`.
    pub repo: String,
    /// Its head branch.
    pub branch: String,
    /// Its author's login.
    pub author: String,
    /// Its page on GitHub.
    pub url: String,
    /// Open, merged or closed, as the latest delivery said.
    pub state: PullRequestState,
}

/// One review in the list: the delivery that asked for it, its status and what it said.
#[derive(Clone, Debug, PartialEq)]
pub struct ReviewListing {
    /// The delivery's event id (the review's id in the API).
    pub id: EventId,
    /// The event's type, in the original's naming.
    pub event_type: String,
    /// `github`.
    pub source: String,
    /// The review's status (its event's).
    pub status: EventStatus,
    /// When the delivery arrived.
    pub created_at: DateTime<Utc>,
    /// When its work ended.
    pub processed_at: Option<DateTime<Utc>>,
    /// The pull request.
    pub pull_request: ReviewedPullRequest,
    /// The review's markdown body, once posted.
    pub ai_summary: Option<String>,
    /// Files the review covered.
    pub files_analyzed: Option<u64>,
    /// The review run of its job, once one started.
    pub run_id: Option<ReviewRunId>,
    /// The verdict its run recorded, once recorded.
    pub verdict: Option<Verdict>,
}

/// One delivery in the event list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventListing {
    /// Its id.
    pub id: EventId,
    /// Its type, in the original's naming.
    pub event_type: String,
    /// `github`.
    pub source: String,
    /// Where it is in its life.
    pub status: EventStatus,
    /// When it arrived.
    pub created_at: DateTime<Utc>,
}

/// Which events to list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EventQuery {
    /// At most this many (1 to [`MAX_LIMIT`]).
    pub limit: u32,
    /// Only events with this status.
    pub status: Option<EventStatus>,
}

impl Default for EventQuery {
    fn default() -> Self {
        Self { limit: 20, status: None }
    }
}

/// Why a [`ReviewHistory`] call failed.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// The store failed.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// Reads review and event history, scoped to one user's connected repositories.
///
/// Contract for every implementation:
/// - Only rows of repositories `user` has connected (active installations, matched by GitHub
///   repository id or by name ignoring case) are ever returned; anything else is as if it did
///   not exist (`None`, or absent from a list).
/// - `reviews` lists, for each pull request with a queued review, the review whose status has
///   the highest [`review_priority`] (the newest among equals), newest first; the filter, the
///   search, the repository and pull-request filters and then the limit apply to that
///   de-duplicated list. `pr_status` comes from the stored pull-request state; `verdict` from
///   the record of the job's review run.
/// - `review` returns the review of one delivery (no de-duplication).
/// - `events` lists deliveries newest first (by arrival, then id), filtered by status.
#[async_trait]
pub trait ReviewHistory: Send + Sync {
    /// The user's reviews, de-duplicated per pull request.
    ///
    /// # Errors
    /// [`HistoryError::Unexpected`] when the store fails.
    async fn reviews(
        &self,
        user: UserId,
        query: &ReviewQuery,
    ) -> Result<Vec<ReviewListing>, HistoryError>;

    /// The review asked for by delivery `id`, when it is one of the user's.
    ///
    /// # Errors
    /// [`HistoryError::Unexpected`] when the store fails.
    async fn review(
        &self,
        user: UserId,
        id: EventId,
    ) -> Result<Option<ReviewListing>, HistoryError>;

    /// The user's deliveries, newest first.
    ///
    /// # Errors
    /// [`HistoryError::Unexpected`] when the store fails.
    async fn events(
        &self,
        user: UserId,
        query: &EventQuery,
    ) -> Result<Vec<EventListing>, HistoryError>;

    /// Delivery `id`, when it is one of the user's.
    ///
    /// # Errors
    /// [`HistoryError::Unexpected`] when the store fails.
    async fn event(&self, user: UserId, id: EventId) -> Result<Option<EventListing>, HistoryError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_status_parameter_is_a_state_or_a_status() {
        assert_eq!(
            ReviewFilter::parse("merged"),
            Some(ReviewFilter::PullRequest(PullRequestState::Merged))
        );
        assert_eq!(
            ReviewFilter::parse("completed"),
            Some(ReviewFilter::Status(EventStatus::Completed))
        );
        assert_eq!(ReviewFilter::parse("done"), None);
    }

    #[test]
    fn priority_is_the_originals() {
        let order = [
            EventStatus::Completed,
            EventStatus::Failed,
            EventStatus::Processing,
            EventStatus::Pending,
            EventStatus::Superseded,
        ];
        assert!(order.windows(2).all(|pair| review_priority(pair[0]) > review_priority(pair[1])));
    }
}
