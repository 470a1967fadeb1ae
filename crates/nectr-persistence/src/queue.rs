//! `ReviewQueue` on sea-orm: the durable review queue in the `review_jobs` table.
//!
//! Claiming is one `UPDATE … WHERE id = (SELECT … FOR UPDATE SKIP LOCKED) RETURNING *` on
//! PostgreSQL, so many workers in many processes share one queue; SQLite runs the same statement
//! without the locking clause, its single writer giving the same guarantee in one process. A
//! partial unique index allows one running job per pull request whatever races happen.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use nectr_domain::queue::{
    Accepted, IntakeEffect, JobStatus, NewReviewJob, QueueError, ReviewJob, ReviewQueue, StopReason,
};
use nectr_domain::{
    EventId, EventStatus, InstallationId, JobId, NewEvent, RepoFullName, ReviewRunId,
    ReviewRunStatus,
};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, DbBackend, DbErr,
    EntityTrait, FromQueryResult, QueryFilter, QueryOrder, Set, SqlErr, Statement,
    TransactionTrait, TryInsertResult, Value,
};

use crate::SeaOrmStore;
use crate::entities::{events, installations, review_jobs, workflow_runs};
use crate::events::{new_event_row, stored_delivery, stored_event};
use crate::store::db_error;

pub(crate) fn unexpected(doing: &'static str) -> impl Fn(DbErr) -> QueueError {
    move |error| QueueError::Unexpected(db_error(doing)(error))
}

fn job_from_row(row: review_jobs::Model) -> Result<ReviewJob, QueueError> {
    let id = JobId::new(row.id);
    let status =
        row.status.parse::<JobStatus>().map_err(|error| anyhow::anyhow!("job {id} has {error}"))?;
    let repo = RepoFullName::parse(&row.repo_full_name)
        .map_err(|error| anyhow::anyhow!("job {id} has an invalid repository name: {error}"))?;
    Ok(ReviewJob {
        id,
        event_id: EventId::new(i64::from(row.event_id)),
        repo_id: row.repo_id,
        repo,
        pr_number: u64::try_from(row.pr_number).unwrap_or_default(),
        head_sha: row.head_sha,
        installation_id: row.installation_id,
        status,
        attempts: u32::try_from(row.attempts).unwrap_or_default(),
        max_attempts: u32::try_from(row.max_attempts).unwrap_or_default(),
        review_run_id: row.review_run_id.map(|id| ReviewRunId::new(i64::from(id))),
        last_error: row.last_error,
        created_at: row.created_at,
    })
}

/// `$1`-style placeholders as each engine wants them.
pub(crate) fn statement(backend: DbBackend, sql: &str, values: Vec<Value>) -> Statement {
    let sql = match backend {
        DbBackend::Sqlite => sql.replace('$', "?"),
        _ => sql.to_owned(),
    };
    Statement::from_sql_and_values(backend, sql, values)
}

fn lease_until(now: DateTime<Utc>, lease: Duration) -> DateTime<Utc> {
    now + chrono::Duration::from_std(lease).unwrap_or_else(|_| chrono::Duration::minutes(5))
}

fn pr_number(number: u64) -> i64 {
    i64::try_from(number).unwrap_or(i64::MAX)
}

/// The stop a job was asked for, from its `stop_requested` column.
fn requested_stop(stop_requested: Option<&str>) -> Option<StopReason> {
    match stop_requested {
        Some("superseded") => Some(StopReason::Superseded),
        Some("cancelled") => Some(StopReason::Cancelled),
        _ => None,
    }
}

/// The final status a job that stops for `reason` ends with; `None` for a lost lease, which
/// ends nothing.
const fn stopped_status(reason: StopReason) -> Option<JobStatus> {
    match reason {
        StopReason::Superseded => Some(JobStatus::Superseded),
        StopReason::Cancelled => Some(JobStatus::Cancelled),
        StopReason::LeaseLost => None,
    }
}

/// Ends a job that was asked to stop with the status it was asked for, instead of returning it
/// to the queue; answers that status, or `None` (and does nothing) when no stop was asked for.
/// A job superseded or cancelled while it ran never runs again, whatever became of its lease.
async fn end_if_stop_requested(
    txn: &DatabaseTransaction,
    job: &review_jobs::Model,
) -> Result<Option<JobStatus>, QueueError> {
    let Some(status) = requested_stop(job.stop_requested.as_deref()).and_then(stopped_status)
    else {
        return Ok(None);
    };
    finish(txn, job.clone(), status, None, None).await?;
    Ok(Some(status))
}

/// Ends a job's event and review run with the job's final status.
async fn settle(
    txn: &DatabaseTransaction,
    job: &review_jobs::Model,
    status: JobStatus,
    result: Option<serde_json::Value>,
    error: Option<&str>,
) -> Result<(), QueueError> {
    let now = Utc::now();
    events::Entity::update_many()
        .col_expr(events::Column::Status, Expr::value(status.event_status().as_str()))
        .col_expr(events::Column::ProcessedAt, Expr::value(Some(now)))
        .filter(events::Column::Id.eq(job.event_id))
        .exec(txn)
        .await
        .map_err(unexpected("settling an event"))?;
    if let Some(run_id) = job.review_run_id {
        workflow_runs::Entity::update_many()
            .col_expr(workflow_runs::Column::Status, Expr::value(status.run_status().as_str()))
            .col_expr(
                workflow_runs::Column::Result,
                Expr::value(result.map(|value| value.to_string())),
            )
            .col_expr(workflow_runs::Column::Error, Expr::value(error.map(str::to_owned)))
            .col_expr(workflow_runs::Column::CompletedAt, Expr::value(Some(now)))
            .filter(workflow_runs::Column::Id.eq(run_id))
            .exec(txn)
            .await
            .map_err(unexpected("settling a review run"))?;
    }
    Ok(())
}

/// Moves a job to a final status with its event and run.
async fn finish(
    txn: &DatabaseTransaction,
    job: review_jobs::Model,
    status: JobStatus,
    result: Option<serde_json::Value>,
    error: Option<&str>,
) -> Result<(), QueueError> {
    settle(txn, &job, status, result, error).await?;
    let mut active = review_jobs::ActiveModel::from(job);
    active.status = Set(status.as_str().to_owned());
    active.lease_owner = Set(None);
    active.lease_expires_at = Set(None);
    active.updated_at = Set(Utc::now());
    if let Some(error) = error {
        active.last_error = Set(Some(error.to_owned()));
    }
    active.update(txn).await.map_err(unexpected("finishing a job"))?;
    Ok(())
}

/// Replaces the queued jobs of a pull request's older commits and asks running ones to stop.
async fn supersede_older(
    txn: &DatabaseTransaction,
    job: &NewReviewJob,
    number: i64,
) -> Result<(), QueueError> {
    let stale = review_jobs::Entity::find()
        .filter(review_jobs::Column::RepoId.eq(job.repo_id))
        .filter(review_jobs::Column::PrNumber.eq(number))
        .filter(review_jobs::Column::HeadSha.ne(job.head_sha.as_str()))
        .filter(
            review_jobs::Column::Status
                .is_in([JobStatus::Queued.as_str(), JobStatus::Running.as_str()]),
        )
        .all(txn)
        .await
        .map_err(unexpected("finding older jobs"))?;
    for old in stale {
        if old.status == JobStatus::Queued.as_str() {
            finish(txn, old, JobStatus::Superseded, None, None).await?;
        } else {
            let mut active = review_jobs::ActiveModel::from(old);
            active.stop_requested = Set(Some("superseded".to_owned()));
            active.update(txn).await.map_err(unexpected("asking a job to stop"))?;
        }
    }
    Ok(())
}

/// Cancels the queued jobs of a pull request and asks its running one to stop, inside `txn`;
/// answers how many jobs it touched.
async fn cancel_open_jobs(
    txn: &DatabaseTransaction,
    repo_id: i64,
    number: u64,
) -> Result<u64, QueueError> {
    let open = review_jobs::Entity::find()
        .filter(review_jobs::Column::RepoId.eq(repo_id))
        .filter(review_jobs::Column::PrNumber.eq(pr_number(number)))
        .filter(
            review_jobs::Column::Status
                .is_in([JobStatus::Queued.as_str(), JobStatus::Running.as_str()]),
        )
        .all(txn)
        .await
        .map_err(unexpected("finding a pull request's jobs"))?;
    let touched = open.len() as u64;
    for job in open {
        if job.status == JobStatus::Queued.as_str() {
            finish(txn, job, JobStatus::Cancelled, None, None).await?;
        } else {
            let mut active = review_jobs::ActiveModel::from(job);
            active.stop_requested = Set(Some("cancelled".to_owned()));
            active.update(txn).await.map_err(unexpected("asking a job to stop"))?;
        }
    }
    Ok(touched)
}

impl SeaOrmStore {
    /// The running job this worker holds, locked for update on PostgreSQL.
    async fn held(
        &self,
        txn: &DatabaseTransaction,
        id: JobId,
        worker: &str,
    ) -> Result<review_jobs::Model, QueueError> {
        let backend = txn.get_database_backend();
        let lock = if backend == DbBackend::Postgres { " FOR UPDATE" } else { "" };
        let sql = format!(
            "SELECT * FROM review_jobs WHERE id = $1 AND lease_owner = $2 AND status = 'running'{lock}"
        );
        let row = txn
            .query_one_raw(statement(backend, &sql, vec![id.get().into(), worker.into()]))
            .await
            .map_err(unexpected("reading a held job"))?;
        match row {
            Some(row) => review_jobs::Model::from_query_result(&row, "")
                .map_err(unexpected("reading a held job")),
            None => Err(QueueError::NotHeld(id)),
        }
    }

    /// Returns jobs whose worker stopped renewing its lease to the queue, or fails them when they
    /// are out of attempts.
    async fn reap_expired_leases(&self, now: DateTime<Utc>) -> Result<(), QueueError> {
        let backend = self.connection.get_database_backend();
        let lock = if backend == DbBackend::Postgres { " FOR UPDATE SKIP LOCKED" } else { "" };
        let sql = format!(
            "SELECT * FROM review_jobs WHERE status = 'running' AND lease_expires_at < $1 ORDER BY id LIMIT 100{lock}"
        );
        let _turn = self.write_turn().await;
        let txn = self.connection.begin().await.map_err(unexpected("starting a transaction"))?;
        let rows = txn
            .query_all_raw(statement(backend, &sql, vec![now.into()]))
            .await
            .map_err(unexpected("finding expired leases"))?;
        for row in rows {
            let job = review_jobs::Model::from_query_result(&row, "")
                .map_err(unexpected("reading an expired job"))?;
            tracing::warn!(
                job = job.id,
                worker = job.lease_owner.as_deref().unwrap_or(""),
                "a job's lease expired"
            );
            if end_if_stop_requested(&txn, &job).await?.is_some() {
                continue;
            }
            if job.attempts >= job.max_attempts {
                finish(
                    &txn,
                    job,
                    JobStatus::Failed,
                    None,
                    Some("the worker stopped renewing its lease on the last attempt"),
                )
                .await?;
                continue;
            }
            let mut active = review_jobs::ActiveModel::from(job);
            active.status = Set(JobStatus::Queued.as_str().to_owned());
            active.lease_owner = Set(None);
            active.lease_expires_at = Set(None);
            active.available_at = Set(now);
            active.last_error = Set(Some("the worker stopped renewing its lease".to_owned()));
            active.updated_at = Set(now);
            active.update(&txn).await.map_err(unexpected("requeueing an expired job"))?;
        }
        txn.commit().await.map_err(unexpected("committing expired leases"))
    }
}

/// Stores one delivery on SQLite inside `txn` (the intake's batch): its event and, when its
/// delivery id is new, its effect: its job with the superseding of older ones, a cancellation,
/// or verified installations, and the pull request's state it carries.
pub(crate) async fn accept_sqlite(
    txn: &DatabaseTransaction,
    event: &NewEvent,
    effect: &IntakeEffect,
) -> Result<Accepted, QueueError> {
    let now = Utc::now();
    let inserted = events::Entity::insert(new_event_row(event.clone(), now))
        .on_conflict_do_nothing_on([events::Column::DeliveryId])
        .exec(txn)
        .await
        .map_err(unexpected("storing an event"))?;
    let event_id = match inserted {
        TryInsertResult::Inserted(result) => result.last_insert_id,
        TryInsertResult::Conflicted | TryInsertResult::Empty => {
            let first = stored_delivery(txn, event.delivery_id.clone()).await?;
            return Err(QueueError::DuplicateDelivery(first));
        }
    };
    let id = EventId::new(i64::from(event_id));
    let stored = stored_event(event.clone(), id, event.status, now, None);
    if let Some(snapshot) = effect.snapshot() {
        crate::pull_requests::record(txn, id, snapshot).await?;
    }
    match effect {
        IntakeEffect::None | IntakeEffect::RecordPullRequest(_) => {}
        IntakeEffect::QueueReview(job) => return queue_job(txn, stored, event_id, job, now).await,
        IntakeEffect::CancelPullRequest { repo_id, pr_number, .. } => {
            cancel_open_jobs(txn, *repo_id, *pr_number).await?;
        }
        IntakeEffect::MarkVerified(ids) => mark_verified(txn, ids, now).await?,
    }
    Ok(Accepted { event: stored, job: None })
}

/// Records that a `ping` reached these installations (ids that do not exist are skipped).
async fn mark_verified(
    txn: &DatabaseTransaction,
    ids: &[InstallationId],
    now: DateTime<Utc>,
) -> Result<(), QueueError> {
    let ids: Vec<i32> = ids.iter().filter_map(|id| i32::try_from(id.get()).ok()).collect();
    if ids.is_empty() {
        return Ok(());
    }
    installations::Entity::update_many()
        .col_expr(installations::Column::VerifiedAt, Expr::value(Some(now)))
        .filter(installations::Column::Id.is_in(ids))
        .exec(txn)
        .await
        .map_err(unexpected("marking installations verified"))?;
    Ok(())
}

/// Queues a cancelled job of this commit again, in place, as the delivery `event_id`'s: no
/// attempt counted and no review run, so that its next claim starts a new run. `None` when the
/// commit's job is not cancelled (it is queued, running or done).
async fn requeue_cancelled(
    txn: &DatabaseTransaction,
    event_id: i32,
    job: &NewReviewJob,
    now: DateTime<Utc>,
) -> Result<Option<JobId>, QueueError> {
    let sql = "UPDATE review_jobs SET event_id = $1, repo_full_name = $2, installation_id = $3, \
               status = 'queued', attempts = 0, max_attempts = $4, available_at = $5, \
               lease_owner = NULL, lease_expires_at = NULL, stop_requested = NULL, \
               review_run_id = NULL, last_error = NULL, updated_at = $5 \
               WHERE repo_id = $6 AND pr_number = $7 AND head_sha = $8 AND status = 'cancelled' \
               RETURNING id";
    let values = vec![
        event_id.into(),
        job.repo.to_string().into(),
        job.installation_id.into(),
        i32::try_from(job.max_attempts.max(1)).unwrap_or(i32::MAX).into(),
        now.into(),
        job.repo_id.into(),
        pr_number(job.pr_number).into(),
        job.head_sha.as_str().into(),
    ];
    let row = txn
        .query_one_raw(statement(txn.get_database_backend(), sql, values))
        .await
        .map_err(unexpected("queueing a cancelled job again"))?;
    row.map(|row| row.try_get::<i64>("", "id").map(JobId::new))
        .transpose()
        .map_err(unexpected("reading a job queued again"))
}

/// Queues a new delivery's job inside `txn`, superseding older commits' jobs; a cancelled job of
/// the same commit is queued again; a commit queued or reviewed before leaves the event
/// `ignored`.
async fn queue_job(
    txn: &DatabaseTransaction,
    stored: nectr_domain::Event,
    event_id: i32,
    job: &NewReviewJob,
    now: DateTime<Utc>,
) -> Result<Accepted, QueueError> {
    let number = pr_number(job.pr_number);
    supersede_older(txn, job, number).await?;
    let row = review_jobs::ActiveModel {
        event_id: Set(event_id),
        repo_id: Set(job.repo_id),
        repo_full_name: Set(job.repo.to_string()),
        pr_number: Set(number),
        head_sha: Set(job.head_sha.clone()),
        installation_id: Set(job.installation_id),
        status: Set(JobStatus::Queued.as_str().to_owned()),
        attempts: Set(0),
        max_attempts: Set(i32::try_from(job.max_attempts.max(1)).unwrap_or(i32::MAX)),
        available_at: Set(now),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    let inserted = review_jobs::Entity::insert(row)
        .on_conflict_do_nothing_on([
            review_jobs::Column::RepoId,
            review_jobs::Column::PrNumber,
            review_jobs::Column::HeadSha,
        ])
        .exec(txn)
        .await
        .map_err(unexpected("queueing a job"))?;
    let job_id = match inserted {
        TryInsertResult::Inserted(result) => JobId::new(result.last_insert_id),
        TryInsertResult::Conflicted | TryInsertResult::Empty => {
            match requeue_cancelled(txn, event_id, job, now).await? {
                Some(id) => id,
                None => return ignore_repeated(txn, stored, event_id, now).await,
            }
        }
    };
    crate::reviewed::queued(txn, job.repo_id, number, now)
        .await
        .map_err(unexpected("recording a queued review"))?;
    Ok(Accepted { event: stored, job: Some(job_id) })
}

/// Records a delivery whose commit is queued or reviewed already: its event is `ignored`, and
/// nothing is queued.
async fn ignore_repeated(
    txn: &DatabaseTransaction,
    mut stored: nectr_domain::Event,
    event_id: i32,
    now: DateTime<Utc>,
) -> Result<Accepted, QueueError> {
    events::Entity::update_many()
        .col_expr(events::Column::Status, Expr::value(EventStatus::Ignored.as_str()))
        .col_expr(events::Column::ProcessedAt, Expr::value(Some(now)))
        .filter(events::Column::Id.eq(event_id))
        .exec(txn)
        .await
        .map_err(unexpected("ignoring a repeated commit"))?;
    stored.status = EventStatus::Ignored;
    stored.processed_at = Some(now);
    Ok(Accepted { event: stored, job: None })
}

#[async_trait]
impl ReviewQueue for SeaOrmStore {
    async fn accept(&self, event: NewEvent, effect: IntakeEffect) -> Result<Accepted, QueueError> {
        self.intake.accept(event, effect).await
    }

    async fn claim(&self, worker: &str, lease: Duration) -> Result<Option<ReviewJob>, QueueError> {
        let now = Utc::now();
        self.reap_expired_leases(now).await?;
        let backend = self.connection.get_database_backend();
        let lock = if backend == DbBackend::Postgres { " FOR UPDATE SKIP LOCKED" } else { "" };
        let sql = format!(
            "UPDATE review_jobs SET status = 'running', lease_owner = $1, lease_expires_at = $2, \
             attempts = attempts + 1, updated_at = $3 \
             WHERE id = (SELECT j.id FROM review_jobs j WHERE j.status = 'queued' AND j.available_at <= $3 \
               AND NOT EXISTS (SELECT 1 FROM review_jobs r WHERE r.repo_id = j.repo_id \
                 AND r.pr_number = j.pr_number AND r.status = 'running') \
               ORDER BY j.available_at, j.id LIMIT 1{lock}) \
             RETURNING *"
        );
        let _turn = self.write_turn().await;
        let txn = self.connection.begin().await.map_err(unexpected("starting a transaction"))?;
        let values = vec![worker.into(), lease_until(now, lease).into(), now.into()];
        let row = match txn.query_one_raw(statement(backend, &sql, values)).await {
            Ok(row) => row,
            // Another worker started a job of the same pull request at the same moment.
            Err(error) if matches!(error.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
                return Ok(None);
            }
            Err(error) => return Err(unexpected("claiming a job")(error)),
        };
        let Some(row) = row else { return Ok(None) };
        let mut job = review_jobs::Model::from_query_result(&row, "")
            .map_err(unexpected("reading a claimed job"))?;
        if job.review_run_id.is_none() {
            let run = workflow_runs::ActiveModel {
                event_id: Set(job.event_id),
                workflow_type: Set("pr_review".to_owned()),
                status: Set(Some(ReviewRunStatus::Running.as_str().to_owned())),
                started_at: Set(Some(now)),
                ..Default::default()
            }
            .insert(&txn)
            .await
            .map_err(unexpected("starting a review run"))?;
            let mut active = review_jobs::ActiveModel::from(job);
            active.review_run_id = Set(Some(run.id));
            job = active.update(&txn).await.map_err(unexpected("recording a review run"))?;
        }
        events::Entity::update_many()
            .col_expr(events::Column::Status, Expr::value(EventStatus::Processing.as_str()))
            .filter(events::Column::Id.eq(job.event_id))
            .exec(&txn)
            .await
            .map_err(unexpected("marking an event processing"))?;
        txn.commit().await.map_err(unexpected("committing a claim"))?;
        job_from_row(job).map(Some)
    }

    async fn heartbeat(
        &self,
        id: JobId,
        worker: &str,
        lease: Duration,
    ) -> Result<Option<StopReason>, QueueError> {
        let now = Utc::now();
        let backend = self.connection.get_database_backend();
        let sql = "UPDATE review_jobs SET lease_expires_at = $1, updated_at = $2 \
                   WHERE id = $3 AND lease_owner = $4 AND status = 'running' RETURNING stop_requested";
        let values =
            vec![lease_until(now, lease).into(), now.into(), id.get().into(), worker.into()];
        let row = self
            .connection
            .query_one_raw(statement(backend, sql, values))
            .await
            .map_err(unexpected("renewing a lease"))?;
        let Some(row) = row else { return Ok(Some(StopReason::LeaseLost)) };
        let requested: Option<String> =
            row.try_get("", "stop_requested").map_err(unexpected("reading a lease"))?;
        Ok(requested_stop(requested.as_deref()))
    }

    async fn complete(
        &self,
        id: JobId,
        worker: &str,
        result: Option<serde_json::Value>,
    ) -> Result<(), QueueError> {
        let _turn = self.write_turn().await;
        let txn = self.connection.begin().await.map_err(unexpected("starting a transaction"))?;
        let job = self.held(&txn, id, worker).await?;
        finish(&txn, job, JobStatus::Completed, result, None).await?;
        txn.commit().await.map_err(unexpected("committing a completion"))
    }

    async fn fail(
        &self,
        id: JobId,
        worker: &str,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
    ) -> Result<JobStatus, QueueError> {
        let _turn = self.write_turn().await;
        let txn = self.connection.begin().await.map_err(unexpected("starting a transaction"))?;
        let job = self.held(&txn, id, worker).await?;
        if let Some(stopped) = end_if_stop_requested(&txn, &job).await? {
            txn.commit().await.map_err(unexpected("committing a stop"))?;
            return Ok(stopped);
        }
        let status = match retry_at {
            Some(at) if job.attempts < job.max_attempts => {
                let mut active = review_jobs::ActiveModel::from(job);
                active.status = Set(JobStatus::Queued.as_str().to_owned());
                active.lease_owner = Set(None);
                active.lease_expires_at = Set(None);
                active.available_at = Set(at);
                active.last_error = Set(Some(error.to_owned()));
                active.updated_at = Set(Utc::now());
                active.update(&txn).await.map_err(unexpected("queueing a retry"))?;
                JobStatus::Queued
            }
            _ => {
                finish(&txn, job, JobStatus::Failed, None, Some(error)).await?;
                JobStatus::Failed
            }
        };
        txn.commit().await.map_err(unexpected("committing a failure"))?;
        Ok(status)
    }

    async fn stop(&self, id: JobId, worker: &str, reason: StopReason) -> Result<(), QueueError> {
        let Some(status) = stopped_status(reason) else { return Ok(()) };
        let _turn = self.write_turn().await;
        let txn = self.connection.begin().await.map_err(unexpected("starting a transaction"))?;
        let job = self.held(&txn, id, worker).await?;
        finish(&txn, job, status, None, None).await?;
        txn.commit().await.map_err(unexpected("committing a stop"))
    }

    async fn release(&self, id: JobId, worker: &str) -> Result<(), QueueError> {
        let _turn = self.write_turn().await;
        let txn = self.connection.begin().await.map_err(unexpected("starting a transaction"))?;
        let job = self.held(&txn, id, worker).await?;
        if end_if_stop_requested(&txn, &job).await?.is_some() {
            return txn.commit().await.map_err(unexpected("committing a stop"));
        }
        let attempts = job.attempts;
        let event_id = job.event_id;
        let mut active = review_jobs::ActiveModel::from(job);
        active.status = Set(JobStatus::Queued.as_str().to_owned());
        active.attempts = Set((attempts - 1).max(0));
        active.lease_owner = Set(None);
        active.lease_expires_at = Set(None);
        active.available_at = Set(Utc::now());
        active.updated_at = Set(Utc::now());
        active.update(&txn).await.map_err(unexpected("releasing a job"))?;
        events::Entity::update_many()
            .col_expr(events::Column::Status, Expr::value(EventStatus::Pending.as_str()))
            .filter(events::Column::Id.eq(event_id))
            .exec(&txn)
            .await
            .map_err(unexpected("returning an event to pending"))?;
        txn.commit().await.map_err(unexpected("committing a release"))
    }

    async fn cancel_pull_request(&self, repo_id: i64, number: u64) -> Result<u64, QueueError> {
        let _turn = self.write_turn().await;
        let txn = self.connection.begin().await.map_err(unexpected("starting a transaction"))?;
        let touched = cancel_open_jobs(&txn, repo_id, number).await?;
        txn.commit().await.map_err(unexpected("committing a cancellation"))?;
        Ok(touched)
    }

    async fn find(&self, id: JobId) -> Result<Option<ReviewJob>, QueueError> {
        review_jobs::Entity::find_by_id(id.get())
            .one(&self.connection)
            .await
            .map_err(unexpected("reading a job"))?
            .map(job_from_row)
            .transpose()
    }

    async fn jobs_of_pull_request(
        &self,
        repo_id: i64,
        number: u64,
    ) -> Result<Vec<ReviewJob>, QueueError> {
        review_jobs::Entity::find()
            .filter(review_jobs::Column::RepoId.eq(repo_id))
            .filter(review_jobs::Column::PrNumber.eq(pr_number(number)))
            .order_by_asc(review_jobs::Column::Id)
            .all(&self.connection)
            .await
            .map_err(unexpected("listing a pull request's jobs"))?
            .into_iter()
            .map(job_from_row)
            .collect()
    }
}
