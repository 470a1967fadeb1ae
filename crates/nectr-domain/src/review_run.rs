//! Review runs: one per processed pull-request event (the original's `workflow_runs`), and the
//! port that stores them.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::llm::Usage;
use crate::review::{Finding, Verdict};
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

/// How long each step of a review took, in milliseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StepTimings {
    /// Reading the pull request and its files from the code host.
    pub fetch_ms: u64,
    /// The model (every call, tools included).
    pub model_ms: u64,
    /// Posting the review.
    pub post_ms: u64,
    /// The whole run.
    pub total_ms: u64,
}

/// One finding as recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedFinding {
    /// The finding.
    pub finding: Finding,
    /// Posted as an inline comment (else it went into the review body).
    pub inline: bool,
}

/// What went up on the pull request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Posted {
    /// A review.
    Review {
        /// GitHub's review id.
        id: i64,
        /// Comments placed inline.
        inline: u32,
        /// Comments GitHub would not place, listed in the body instead.
        moved_to_body: u32,
        /// Found on the pull request by its marker after an interrupted attempt, not posted by
        /// the attempt that recorded it.
        adopted: bool,
    },
    /// An issue comment carrying the review (GitHub refused the review itself).
    Comment {
        /// GitHub's comment id.
        id: i64,
        /// Found by its marker, as for a review.
        adopted: bool,
    },
    /// Posted before Nectr recorded what it posted (rows adopted from earlier versions).
    Unrecorded,
}

/// Where a review's post stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Posting {
    /// About to be posted. Recorded before the post, so that a retried job looks on the pull
    /// request for the review this attempt may have posted before it posts one itself.
    Intended {
        /// The job's attempt that is posting.
        attempt: u32,
        /// The head commit reviewed.
        head_sha: String,
        /// When the post began.
        at: DateTime<Utc>,
    },
    /// On the pull request.
    Posted(Posted),
}

impl Posting {
    /// Whether a post reached GitHub.
    pub const fn reached_github(&self) -> bool {
        matches!(self, Self::Posted(_))
    }
}

/// What a completed review did, in typed columns (`review_records`, `review_findings`).
#[derive(Clone, Debug, PartialEq)]
pub struct ReviewRecord {
    /// The model's verdict, whatever was posted.
    pub verdict: Verdict,
    /// 1 to 5.
    pub confidence: u8,
    /// The review event posted (`COMMENT`, `APPROVE`, `REQUEST_CHANGES`).
    pub posted_event: String,
    /// Findings per severity.
    pub critical: u32,
    /// Findings per severity.
    pub moderate: u32,
    /// Findings per severity.
    pub minor: u32,
    /// Every finding.
    pub findings: Vec<RecordedFinding>,
    /// The reviewer (`offline`, a model id).
    pub model: String,
    /// Tokens used.
    pub usage: Usage,
    /// Estimated cost in US dollars (0 when the model has no price configured).
    pub cost_usd: f64,
    /// Step durations.
    pub timings: StepTimings,
    /// The review's body as composed (without the marker or comments GitHub moved into it).
    pub body: String,
    /// Open issues the change may resolve, as the reviewer named them.
    pub linked_issues: Vec<u64>,
    /// Files reviewed line by line.
    pub files_reviewed: u32,
    /// Inline comments the review was composed with (GitHub may move some into the body).
    pub planned_inline: u32,
    /// Related past pull requests the code graph gave the review; `None` without a graph.
    pub related_prs: Option<u32>,
    /// Whether, and how, the review was posted.
    pub posting: Posting,
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
/// - `save_record` then `record` returns the record as saved (findings in order); saving again
///   replaces it; saving for an unknown run is `NotFound`.
/// - `mark_posted` sets the record's posting to `Posted`, keeping everything else; for a run
///   without a record it is `NotFound`.
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

    /// Stores what a review did; a second save for the same run replaces the first (a retried
    /// run records its last attempt).
    ///
    /// # Errors
    /// [`ReviewRunRepositoryError::NotFound`], [`ReviewRunRepositoryError::Unexpected`].
    async fn save_record(
        &self,
        id: ReviewRunId,
        record: &ReviewRecord,
    ) -> Result<(), ReviewRunRepositoryError>;

    /// What a review did, when it was recorded.
    ///
    /// # Errors
    /// [`ReviewRunRepositoryError::Unexpected`] when the store fails.
    async fn record(
        &self,
        id: ReviewRunId,
    ) -> Result<Option<ReviewRecord>, ReviewRunRepositoryError>;

    /// Records what a review's post put on the pull request.
    ///
    /// # Errors
    /// [`ReviewRunRepositoryError::NotFound`] when the run has no record,
    /// [`ReviewRunRepositoryError::Unexpected`].
    async fn mark_posted(
        &self,
        id: ReviewRunId,
        posted: &Posted,
    ) -> Result<(), ReviewRunRepositoryError>;
}
