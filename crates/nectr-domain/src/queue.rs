//! The durable review queue: jobs keyed by repository, pull request and head commit; the port
//! that stores and leases them; and the port of the work a job runs.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::pull_request::PullRequestSnapshot;
use crate::{
    Event, EventId, EventStatus, InstallationId, JobId, NewEvent, RepoFullName, ReviewRunId,
    ReviewRunStatus,
};

crate::event::status_enum!(
    /// Where a job is in its life. Stored as the lower-case name.
    JobStatus {
        /// Waiting for a worker (also between retries).
        Queued => "queued",
        /// Leased by a worker.
        Running => "running",
        /// Done.
        Completed => "completed",
        /// Failed for good after its attempts.
        Failed => "failed",
        /// A newer head commit of the same pull request replaced it.
        Superseded => "superseded",
        /// Cancelled (the pull request closed).
        Cancelled => "cancelled",
    }
);

impl JobStatus {
    /// True once the job can no longer change.
    pub const fn is_final(self) -> bool {
        !matches!(self, Self::Queued | Self::Running)
    }

    /// The status its event shows.
    pub const fn event_status(self) -> EventStatus {
        match self {
            Self::Queued => EventStatus::Pending,
            Self::Running => EventStatus::Processing,
            Self::Completed => EventStatus::Completed,
            Self::Failed => EventStatus::Failed,
            Self::Superseded => EventStatus::Superseded,
            Self::Cancelled => EventStatus::Cancelled,
        }
    }

    /// The status its review run shows.
    pub const fn run_status(self) -> ReviewRunStatus {
        match self {
            Self::Queued => ReviewRunStatus::Pending,
            Self::Running => ReviewRunStatus::Running,
            Self::Completed => ReviewRunStatus::Completed,
            Self::Failed => ReviewRunStatus::Failed,
            Self::Superseded => ReviewRunStatus::Superseded,
            Self::Cancelled => ReviewRunStatus::Cancelled,
        }
    }
}

/// A review to queue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewReviewJob {
    /// GitHub's numeric repository id.
    pub repo_id: i64,
    /// The repository's name when the delivery arrived.
    pub repo: RepoFullName,
    /// The pull request.
    pub pr_number: u64,
    /// The head commit to review.
    pub head_sha: String,
    /// The GitHub App installation that delivered it, when any.
    pub installation_id: Option<i64>,
    /// Attempts before the job fails for good.
    pub max_attempts: u32,
    /// The pull request as the delivery described it, recorded with the delivery.
    pub pull_request: Option<PullRequestSnapshot>,
}

/// Everything a delivery does beyond storing its event, applied only when its delivery id is
/// new, in the same transaction (or statement) that stores it: a redelivery changes nothing.
///
/// Each variant is the whole of what one kind of delivery does; a later fact (for example a pull
/// request's open, closed or merged state) is added as data of the variants that carry it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum IntakeEffect {
    /// Nothing beyond the event.
    #[default]
    None,
    /// Queue this review (a pull request opened, pushed to, reopened or ready for review).
    QueueReview(NewReviewJob),
    /// Cancel the queued work of a pull request and ask its running job to stop (it closed).
    CancelPullRequest {
        /// GitHub's numeric repository id.
        repo_id: i64,
        /// The pull request.
        pr_number: u64,
        /// The pull request as the delivery described it (closed or merged), recorded with the
        /// delivery.
        pull_request: Option<PullRequestSnapshot>,
    },
    /// Record that GitHub's `ping` reached Nectr through these installations' webhook.
    MarkVerified(Vec<InstallationId>),
    /// Record the pull request's state only (an action that queues nothing: edited, labeled,
    /// converted to draft, …), so the dashboard's title and state stay current.
    RecordPullRequest(PullRequestSnapshot),
}

impl IntakeEffect {
    /// The review it queues, when it queues one.
    pub const fn review(&self) -> Option<&NewReviewJob> {
        match self {
            Self::QueueReview(job) => Some(job),
            Self::None
            | Self::CancelPullRequest { .. }
            | Self::MarkVerified(_)
            | Self::RecordPullRequest(_) => None,
        }
    }

    /// The pull request whose jobs it changes (queues or cancels), as (repository id, number).
    pub fn pull_request(&self) -> Option<(i64, u64)> {
        match self {
            Self::QueueReview(job) => Some((job.repo_id, job.pr_number)),
            Self::CancelPullRequest { repo_id, pr_number, .. } => Some((*repo_id, *pr_number)),
            Self::RecordPullRequest(snapshot) => Some((snapshot.repo_id, snapshot.number)),
            Self::None | Self::MarkVerified(_) => None,
        }
    }

    /// The pull request's state it records (in `pull_requests`), when it carries one.
    pub const fn snapshot(&self) -> Option<&PullRequestSnapshot> {
        match self {
            Self::QueueReview(NewReviewJob { pull_request: Some(snapshot), .. })
            | Self::CancelPullRequest { pull_request: Some(snapshot), .. }
            | Self::RecordPullRequest(snapshot) => Some(snapshot),
            Self::QueueReview(_)
            | Self::CancelPullRequest { pull_request: None, .. }
            | Self::None
            | Self::MarkVerified(_) => None,
        }
    }
}

/// A queued review.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReviewJob {
    /// Id.
    pub id: JobId,
    /// The delivery that queued it.
    pub event_id: EventId,
    /// GitHub's numeric repository id.
    pub repo_id: i64,
    /// The repository.
    pub repo: RepoFullName,
    /// The pull request.
    pub pr_number: u64,
    /// The head commit.
    pub head_sha: String,
    /// The App installation, when any.
    pub installation_id: Option<i64>,
    /// Where it is.
    pub status: JobStatus,
    /// Attempts started so far.
    pub attempts: u32,
    /// Attempts allowed.
    pub max_attempts: u32,
    /// The review run that records it (`workflow_runs`), once claimed.
    pub review_run_id: Option<ReviewRunId>,
    /// The last failure.
    pub last_error: Option<String>,
    /// Queued at.
    pub created_at: DateTime<Utc>,
}

/// What the intake stored.
#[derive(Clone, Debug, PartialEq)]
pub struct Accepted {
    /// The stored event.
    pub event: Event,
    /// The job queued for it, when it asked for one and no job for the same commit existed (or
    /// the one that existed was cancelled and is queued again).
    pub job: Option<JobId>,
}

/// Why a job stops before it finishes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopReason {
    /// A newer head commit replaced it.
    Superseded,
    /// The pull request closed.
    Cancelled,
    /// The worker lost its lease (another worker may run the job now).
    LeaseLost,
}

/// Why a queue call failed.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// The delivery was stored before.
    #[error("delivery was received already as event {0}")]
    DuplicateDelivery(EventId),
    /// The job does not exist, or this worker no longer holds it.
    #[error("job {0} is not held by this worker")]
    NotHeld(JobId),
    /// Anything else.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// Stores review jobs and leases them to workers.
///
/// Contract for every implementation:
/// - `accept` first finds out whether the delivery id is new. A delivery id seen before is
///   `DuplicateDelivery`: nothing is stored and its [`IntakeEffect`] is not applied (a
///   redelivered `closed` cancels nothing, a redelivered `ping` marks nothing). A new delivery's
///   event and its effect are stored in one transaction: `QueueReview` queues the job, except
///   that a job for a (repository id, pull request, head commit) that exists already is not
///   queued again (`job` is `None`, and the event is stored `ignored` rather than left
///   `pending`), unless that job is `cancelled` (the pull request closed before it was
///   reviewed): then the same job goes back to the queue as the new delivery's, with no attempt
///   counted and no review run (its next claim starts a new one); a completed or failed review
///   is never repeated. Queuing a job marks queued jobs of the same pull request with another head
///   `superseded` (their events too) and asks running ones to stop. `CancelPullRequest` does
///   what `cancel_pull_request` does; `MarkVerified` sets `verified_at` of each installation
///   (unknown ids are skipped); `RecordPullRequest` only records the pull request's state. Deliveries accepted concurrently take effect in the order they
///   were accepted when they concern the same pull request.
/// - A job asked to stop (a newer head superseded it, or its pull request closed) never runs
///   again: whenever it would go back to the queue (its lease expired, a failed attempt to
///   retry, a release) it ends `superseded` or `cancelled` instead, with its event and run.
/// - `claim` first returns expired leases to the queue (or fails them when out of attempts), then
///   leases the oldest available queued job of a pull request that has no running job, counts the
///   attempt, creates its review run on the first attempt and marks its event `processing`. Many
///   workers in many processes may claim at once; no job is leased twice.
/// - `heartbeat` extends the lease and says whether the job should stop.
/// - `complete`, `fail`, `stop` and `release` need the lease; without it they are `NotHeld`.
///   `complete` ends job, event and review run `completed`. `fail` with `retry_at` queues the
///   job again when attempts remain; otherwise job, event and run end `failed` with the error.
///   `stop` ends them `superseded` or `cancelled`. `release` returns the job to the queue without
///   counting the attempt (shutdown).
/// - `cancel_pull_request` cancels queued jobs of a pull request and asks running ones to stop.
#[async_trait]
pub trait ReviewQueue: Send + Sync {
    /// Stores a delivery and, when its delivery id is new, applies its effect.
    ///
    /// # Errors
    /// [`QueueError::DuplicateDelivery`] for a delivery id seen before (nothing is applied),
    /// [`QueueError::Unexpected`].
    async fn accept(&self, event: NewEvent, effect: IntakeEffect) -> Result<Accepted, QueueError>;

    /// Leases the next job.
    ///
    /// # Errors
    /// [`QueueError::Unexpected`].
    async fn claim(&self, worker: &str, lease: Duration) -> Result<Option<ReviewJob>, QueueError>;

    /// Extends a lease; `Some` when the job should stop.
    ///
    /// # Errors
    /// [`QueueError::Unexpected`].
    async fn heartbeat(
        &self,
        id: JobId,
        worker: &str,
        lease: Duration,
    ) -> Result<Option<StopReason>, QueueError>;

    /// Ends a job successfully, with the review run's result document.
    ///
    /// # Errors
    /// [`QueueError::NotHeld`], [`QueueError::Unexpected`].
    async fn complete(
        &self,
        id: JobId,
        worker: &str,
        result: Option<serde_json::Value>,
    ) -> Result<(), QueueError>;

    /// Records a failed attempt; answers the job's new status (`Queued` or `Failed`, or
    /// `Superseded` / `Cancelled` for a job that was asked to stop).
    ///
    /// # Errors
    /// [`QueueError::NotHeld`], [`QueueError::Unexpected`].
    async fn fail(
        &self,
        id: JobId,
        worker: &str,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
    ) -> Result<JobStatus, QueueError>;

    /// Ends a job that stopped on request.
    ///
    /// # Errors
    /// [`QueueError::NotHeld`], [`QueueError::Unexpected`].
    async fn stop(&self, id: JobId, worker: &str, reason: StopReason) -> Result<(), QueueError>;

    /// Returns a leased job to the queue without counting the attempt (a job that was asked to
    /// stop ends `superseded` or `cancelled` instead).
    ///
    /// # Errors
    /// [`QueueError::NotHeld`], [`QueueError::Unexpected`].
    async fn release(&self, id: JobId, worker: &str) -> Result<(), QueueError>;

    /// Cancels the queued work of a pull request and asks its running job to stop; answers how
    /// many jobs it touched.
    ///
    /// # Errors
    /// [`QueueError::Unexpected`].
    async fn cancel_pull_request(&self, repo_id: i64, pr_number: u64) -> Result<u64, QueueError>;

    /// A job.
    ///
    /// # Errors
    /// [`QueueError::Unexpected`].
    async fn find(&self, id: JobId) -> Result<Option<ReviewJob>, QueueError>;

    /// The jobs of a pull request, oldest first.
    ///
    /// # Errors
    /// [`QueueError::Unexpected`].
    async fn jobs_of_pull_request(
        &self,
        repo_id: i64,
        pr_number: u64,
    ) -> Result<Vec<ReviewJob>, QueueError>;
}

/// Tells a running review whether to stop.
pub trait StopSignal: Send + Sync {
    /// `Some` once the job should stop at its next step.
    fn stop_requested(&self) -> Option<StopReason>;
}

/// How a run ended.
#[derive(Clone, Debug, PartialEq)]
pub enum RunOutcome {
    /// Finished; the review run's result document.
    Completed(Option<serde_json::Value>),
    /// Finished without some of its advice (memory that failed): the result document, which
    /// says what is missing, and each failure for the caller to log.
    Degraded {
        /// The result document.
        result: serde_json::Value,
        /// What failed, one line each.
        failures: Vec<String>,
    },
    /// Stopped on request.
    Stopped(StopReason),
}

/// Why a run failed.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Worth another attempt (GitHub or the model was unavailable).
    #[error("{0}")]
    Transient(String),
    /// Worth another attempt, not before `after` has passed (a rate limit said when).
    #[error("{message}")]
    RetryLater {
        /// What happened.
        message: String,
        /// The least wait before the next attempt.
        after: std::time::Duration,
    },
    /// Another attempt would fail the same way.
    #[error("{0}")]
    Permanent(String),
}

/// The work a job runs: the review pipeline.
///
/// Contract: checks `stop` between its steps and returns `Stopped` when asked; it may be
/// abandoned (dropped) at any await point when it exceeds its time or the process stops, so it
/// must leave nothing half-written that a retry would duplicate.
#[async_trait]
pub trait ReviewRunner: Send + Sync {
    /// Runs the review of one job.
    ///
    /// # Errors
    /// [`RunError`].
    async fn run(&self, job: &ReviewJob, stop: &dyn StopSignal) -> Result<RunOutcome, RunError>;
}
