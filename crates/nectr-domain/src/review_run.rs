//! Review runs: one per processed pull-request event (the original's `workflow_runs`), and the
//! port that stores them.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::{EventId, ReviewRunId};

crate::event::status_enum!(
    /// Where a review run is in its life. Stored as the lower-case name in `workflow_runs.status`.
    ReviewRunStatus {
        /// Created, not started.
        Pending => "pending",
        /// Running (`running` is the original's name, kept for its dashboard).
        Running => "running",
        /// Finished with a review.
        Completed => "completed",
        /// Failed for good.
        Failed => "failed",
        /// Replaced by a run for a newer head commit.
        Superseded => "superseded",
        /// Cancelled.
        Cancelled => "cancelled",
    }
);

impl ReviewRunStatus {
    /// True once the run can no longer change.
    pub const fn is_final(self) -> bool {
        !matches!(self, Self::Pending | Self::Running)
    }
}

/// A stored review run.
#[derive(Clone, Debug, PartialEq)]
pub struct ReviewRun {
    /// Nectr's id.
    pub id: ReviewRunId,
    /// The event that caused it.
    pub event_id: EventId,
    /// `pr_review` for reviews.
    pub workflow_type: String,
    /// Where the run is in its life.
    pub status: ReviewRunStatus,
    /// The result document, with the original's keys (`ai_summary`, `files_analyzed`, …).
    pub result: Option<serde_json::Value>,
    /// Why it failed.
    pub error: Option<String>,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// When it ended.
    pub completed_at: Option<DateTime<Utc>>,
}

/// A run about to start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewReviewRun {
    /// The event that causes it.
    pub event_id: EventId,
    /// `pr_review` for reviews.
    pub workflow_type: String,
}

/// Why a [`ReviewRunRepository`] call failed.
#[derive(Debug, thiserror::Error)]
pub enum ReviewRunRepositoryError {
    /// The run does not exist.
    #[error("review run {0} does not exist")]
    NotFound(ReviewRunId),
    /// The referenced event does not exist.
    #[error("event {0} does not exist")]
    UnknownEvent(EventId),
    /// The run already ended and cannot change.
    #[error("review run {0} already ended")]
    AlreadyFinished(ReviewRunId),
    /// Anything else.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// Stores review runs.
///
/// Contract for every implementation:
/// - `start` stores a `running` run with `started_at` = now (UTC).
/// - `finish` sets a final status, the result or error and `completed_at` = now; finishing a run
///   that already ended is `AlreadyFinished`, an unknown id `NotFound`, and a status that is not
///   final is rejected as `Unexpected`.
/// - `list_for_event` returns the event's runs, oldest first.
#[async_trait]
pub trait ReviewRunRepository: Send + Sync {
    /// Starts a run.
    ///
    /// # Errors
    /// [`ReviewRunRepositoryError::UnknownEvent`], [`ReviewRunRepositoryError::Unexpected`].
    async fn start(&self, run: NewReviewRun) -> Result<ReviewRun, ReviewRunRepositoryError>;

    /// Ends a run.
    ///
    /// # Errors
    /// [`ReviewRunRepositoryError::NotFound`], [`ReviewRunRepositoryError::AlreadyFinished`],
    /// [`ReviewRunRepositoryError::Unexpected`].
    async fn finish(
        &self,
        id: ReviewRunId,
        status: ReviewRunStatus,
        result: Option<serde_json::Value>,
        error: Option<String>,
    ) -> Result<ReviewRun, ReviewRunRepositoryError>;

    /// The run with this id.
    ///
    /// # Errors
    /// [`ReviewRunRepositoryError::Unexpected`] when the store fails.
    async fn find_by_id(
        &self,
        id: ReviewRunId,
    ) -> Result<Option<ReviewRun>, ReviewRunRepositoryError>;

    /// The runs of one event, oldest first.
    ///
    /// # Errors
    /// [`ReviewRunRepositoryError::Unexpected`] when the store fails.
    async fn list_for_event(
        &self,
        event_id: EventId,
    ) -> Result<Vec<ReviewRun>, ReviewRunRepositoryError>;
}
