//! PostgreSQL's intake: deliveries that arrive together are stored together.
//!
//! Every delivery goes to one of a few writer lanes, chosen by its pull request (or, for other
//! events, by its delivery id), so that the deliveries of one pull request are stored one after
//! another in the order they arrived. A lane takes what is waiting for it, up to [`MAX_BATCH`],
//! and stores it in one autocommitted statement: the events, their jobs, and the superseding of
//! older jobs, atomically. Under load that turns many statements and commits into few; alone, a
//! delivery waits for nothing. A batch never holds two deliveries of one pull request or two of
//! one delivery id (the statement's parts share one snapshot and could not see each other), and
//! a batch that fails is stored again delivery by delivery, so one bad delivery fails alone.

use std::collections::HashSet;
use std::hash::{DefaultHasher, Hash, Hasher};

use chrono::{DateTime, Utc};
use nectr_domain::queue::{Accepted, JobStatus, NewReviewJob, QueueError};
use nectr_domain::{Event, EventId, EventStatus, JobId, NewEvent};
use sea_orm::DatabaseConnection;
use sea_orm::sqlx::{self, PgPool, Row};
use tokio::sync::{mpsc, oneshot};

use crate::events::stored_delivery;

/// The most deliveries one statement stores.
pub(crate) const MAX_BATCH: usize = 64;
/// Writer lanes; each stores one batch at a time.
const LANES: usize = 2;
/// Deliveries waiting per lane before senders wait too.
const LANE_CAPACITY: usize = 1024;

/// The intake statement. Parameters: twelve arrays, one element per delivery (the event's type,
/// source, payload, status, delivery id and GitHub event name; the job's repository id, name,
/// pull request, head sha, installation and attempts, null when the delivery queues no job),
/// then the time, and the status names for an ignored event, a superseded event and a
/// superseded run.
///
/// Event ids are drawn before the insert so that every result row can be matched to its
/// delivery. Each table is reached through an index whatever plan PostgreSQL caches for the
/// statement (after five runs it keeps a generic plan, which on a new, empty database would
/// otherwise choose sequential scans that grow with the tables): lookups are correlated to one
/// delivery, and the updates join the few superseded rows.
pub(crate) const ACCEPT_BATCH: &str = "\
WITH input AS MATERIALIZED ( \
  SELECT nextval(q.seq) AS event_id, u.* \
  FROM (SELECT pg_get_serial_sequence('events', 'id')::regclass AS seq) q, \
    unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], \
      $7::int8[], $8::text[], $9::int8[], $10::text[], $11::int8[], $12::int4[]) \
    WITH ORDINALITY AS u(event_type, source, payload, status, delivery_id, github_event, \
      repo_id, repo_full_name, pr_number, head_sha, installation_id, max_attempts, ord) \
), ev AS ( \
  INSERT INTO events (id, event_type, source, payload, status, created_at, processed_at, \
    delivery_id, github_event) \
  SELECT i.event_id, i.event_type, i.source, i.payload, s.status, $13, \
    CASE WHEN s.status = $14 THEN $13 END, i.delivery_id, i.github_event \
  FROM input i LEFT JOIN LATERAL (SELECT $14 AS status FROM review_jobs k \
      WHERE k.repo_id = i.repo_id AND k.pr_number = i.pr_number AND k.head_sha = i.head_sha \
      LIMIT 1) queued ON true \
    CROSS JOIN LATERAL (SELECT coalesce(queued.status, i.status) AS status) s \
  ORDER BY i.ord \
  ON CONFLICT (delivery_id) DO NOTHING \
  RETURNING id, status, created_at, processed_at \
), job AS ( \
  INSERT INTO review_jobs (event_id, repo_id, repo_full_name, pr_number, head_sha, \
    installation_id, status, attempts, max_attempts, available_at, created_at, updated_at) \
  SELECT ev.id, i.repo_id, i.repo_full_name, i.pr_number, i.head_sha, i.installation_id, \
    'queued', 0, i.max_attempts, $13, $13, $13 \
  FROM ev JOIN input i ON i.event_id = ev.id WHERE i.repo_id IS NOT NULL \
  ORDER BY i.ord \
  ON CONFLICT (repo_id, pr_number, head_sha) DO NOTHING \
  RETURNING id, event_id \
), older AS ( \
  SELECT o.id, o.status FROM input i CROSS JOIN LATERAL ( \
    SELECT o.id, o.status FROM review_jobs o \
    WHERE o.repo_id = i.repo_id AND o.pr_number = i.pr_number AND o.head_sha <> i.head_sha \
      AND o.status IN ('queued', 'running') \
    FOR UPDATE) o \
  WHERE i.repo_id IS NOT NULL AND EXISTS (SELECT 1 FROM ev WHERE ev.id = i.event_id) \
), superseded AS ( \
  UPDATE review_jobs j SET status = 'superseded', lease_owner = NULL, lease_expires_at = NULL, \
    updated_at = $13 \
  FROM older WHERE j.id = older.id AND older.status = 'queued' \
  RETURNING j.event_id, j.review_run_id \
), superseded_events AS ( \
  UPDATE events e SET status = $15, processed_at = $13 \
  FROM superseded s WHERE e.id = s.event_id \
), superseded_runs AS ( \
  UPDATE workflow_runs r SET status = $16, result = NULL, error = NULL, completed_at = $13 \
  FROM superseded s WHERE r.id = s.review_run_id \
), stopped AS ( \
  UPDATE review_jobs j SET stop_requested = 'superseded' \
  FROM older WHERE j.id = older.id AND older.status = 'running' \
) \
SELECT i.ord, ev.id AS stored_id, ev.status, ev.created_at, ev.processed_at, job.id AS job_id \
FROM input i LEFT JOIN ev ON ev.id = i.event_id LEFT JOIN job ON job.event_id = ev.id \
ORDER BY i.ord";

/// One delivery to store, and where its outcome goes.
struct Pending {
    event: NewEvent,
    job: Option<NewReviewJob>,
    reply: oneshot::Sender<Result<Accepted, QueueError>>,
}

impl Pending {
    /// Deliveries with the same key never share a batch and always share a lane.
    fn pull_request(&self) -> Option<(i64, u64)> {
        self.job.as_ref().map(|job| (job.repo_id, job.pr_number))
    }

    fn lane(&self) -> usize {
        let mut hasher = DefaultHasher::new();
        match self.pull_request() {
            Some(key) => key.hash(&mut hasher),
            None => self.event.delivery_id.hash(&mut hasher),
        }
        usize::try_from(hasher.finish() % LANES as u64).unwrap_or_default()
    }
}

/// The writer lanes of one store.
#[derive(Debug)]
pub(crate) struct IntakeWriter {
    lanes: Vec<mpsc::Sender<Pending>>,
    pool: PgPool,
}

impl IntakeWriter {
    /// Starts the lanes on the current Tokio runtime (`None` outside one), with connections of
    /// their own on which the planner never chooses a sequential scan: every table the intake
    /// statement touches is reached by a primary or unique key, and PostgreSQL caches a generic
    /// plan after five runs, which on a new, still empty database would scan tables that grow.
    pub(crate) fn start(connection: &DatabaseConnection) -> Option<Self> {
        let runtime = tokio::runtime::Handle::try_current().ok()?;
        let shared = connection.get_postgres_connection_pool();
        let options = shared
            .connect_options()
            .as_ref()
            .clone()
            .options([("enable_seqscan", "off"), ("plan_cache_mode", "force_generic_plan")]);
        // The store's pool settings (acquire timeout, health checks, lifetimes), fewer connections.
        let pool = shared
            .options()
            .clone()
            .min_connections(0)
            .max_connections(u32::try_from(LANES).unwrap_or(1))
            .connect_lazy_with(options);
        let lanes = (0..LANES)
            .map(|_| {
                let (sender, receiver) = mpsc::channel(LANE_CAPACITY);
                let lane = Lane { pool: pool.clone(), connection: connection.clone() };
                runtime.spawn(lane.run(receiver));
                sender
            })
            .collect();
        Some(Self { lanes, pool })
    }

    /// Stores one delivery with the others waiting in its lane.
    pub(crate) async fn accept(
        &self,
        event: NewEvent,
        job: Option<NewReviewJob>,
    ) -> Result<Accepted, QueueError> {
        let (reply, outcome) = oneshot::channel();
        let pending = Pending { event, job, reply };
        let stopped = || QueueError::Unexpected(anyhow::anyhow!("the intake writer has stopped"));
        let lane = self.lanes.get(pending.lane()).ok_or_else(stopped)?;
        lane.send(pending).await.map_err(|_| stopped())?;
        outcome.await.map_err(|_| stopped())?
    }

    /// The plan PostgreSQL keeps for the intake statement on the lanes' connections, as
    /// `EXPLAIN` prints it.
    pub(crate) async fn plan(&self) -> Result<String, sqlx::Error> {
        let mut connection = self.pool.acquire().await?;
        let prepare = format!(
            "PREPARE nectr_intake_plan (text[], text[], text[], text[], text[], text[], int8[], \
             text[], int8[], text[], int8[], int4[], timestamptz, text, text, text) AS {ACCEPT_BATCH}"
        );
        sqlx::raw_sql(sqlx::AssertSqlSafe(prepare)).execute(&mut *connection).await?;
        let nulls = vec!["NULL"; 16].join(", ");
        let explain = format!("EXPLAIN EXECUTE nectr_intake_plan ({nulls})");
        let rows = sqlx::query(sqlx::AssertSqlSafe(explain)).fetch_all(&mut *connection).await;
        sqlx::raw_sql("DEALLOCATE nectr_intake_plan").execute(&mut *connection).await?;
        let lines =
            rows?.iter().map(|row| row.try_get::<String, _>(0)).collect::<Result<Vec<_>, _>>()?;
        Ok(lines.join("\n"))
    }

    /// Closes the lanes' connections; later deliveries fail.
    pub(crate) async fn close(&self) {
        self.pool.close().await;
    }
}

/// One writer lane: its connections, and the store's for the rare follow-up reads.
struct Lane {
    pool: PgPool,
    connection: DatabaseConnection,
}

impl Lane {
    async fn run(self, mut receiver: mpsc::Receiver<Pending>) {
        let mut held_back: Option<Pending> = None;
        loop {
            let first = match held_back.take() {
                Some(pending) => pending,
                None => match receiver.recv().await {
                    Some(pending) => pending,
                    None => return,
                },
            };
            let mut pull_requests = HashSet::new();
            let mut deliveries = HashSet::new();
            let mut batch = Vec::new();
            let mut admit = |pending: Pending, batch: &mut Vec<Pending>| -> Option<Pending> {
                let repeated = pending.pull_request().is_some_and(|key| !pull_requests.insert(key))
                    || pending
                        .event
                        .delivery_id
                        .as_ref()
                        .is_some_and(|id| !deliveries.insert(id.clone()));
                if repeated {
                    return Some(pending);
                }
                batch.push(pending);
                None
            };
            held_back = admit(first, &mut batch);
            while held_back.is_none() && batch.len() < MAX_BATCH {
                let Ok(pending) = receiver.try_recv() else { break };
                held_back = admit(pending, &mut batch);
            }
            self.store(batch).await;
        }
    }

    /// Stores a batch and answers each delivery; a failed batch is stored again one delivery at
    /// a time, so that each delivery gets its own outcome.
    async fn store(&self, batch: Vec<Pending>) {
        let now = Utc::now();
        let error = match execute(&self.pool, &batch, now).await {
            Ok(rows) => return self.answer(batch, rows, now).await,
            Err(error) => error,
        };
        if batch.len() > 1 {
            tracing::warn!(
                deliveries = batch.len(),
                error = %error,
                "a batch of deliveries failed; storing them one by one"
            );
        }
        for pending in batch {
            let now = Utc::now();
            match execute(&self.pool, std::slice::from_ref(&pending), now).await {
                Ok(rows) => self.answer(vec![pending], rows, now).await,
                Err(error) => drop(pending.reply.send(Err(unexpected(error)))),
            }
        }
    }

    async fn answer(&self, batch: Vec<Pending>, rows: Vec<Option<Stored>>, now: DateTime<Utc>) {
        for (pending, row) in batch.into_iter().zip(rows) {
            let Pending { event, job, reply } = pending;
            drop(reply.send(self.settle(event, job, row, now).await));
        }
    }

    /// Turns a delivery's row into its outcome: a duplicate, or the stored event and its job.
    async fn settle(
        &self,
        event: NewEvent,
        job: Option<NewReviewJob>,
        row: Option<Stored>,
        now: DateTime<Utc>,
    ) -> Result<Accepted, QueueError> {
        let Some(mut stored) = row else {
            let first = stored_delivery(&self.connection, event.delivery_id).await?;
            return Err(QueueError::DuplicateDelivery(first));
        };
        if job.is_some() && stored.job.is_none() && stored.status != EventStatus::Ignored.as_str() {
            // Another process queued this commit a moment ago: record the delivery, do nothing.
            sqlx::query("UPDATE events SET status = $1, processed_at = $2 WHERE id = $3")
                .bind(EventStatus::Ignored.as_str())
                .bind(now)
                .bind(stored.id)
                .execute(&self.pool)
                .await
                .map_err(unexpected)?;
            EventStatus::Ignored.as_str().clone_into(&mut stored.status);
            stored.processed_at = Some(now);
        }
        let id = EventId::new(i64::from(stored.id));
        let status = stored
            .status
            .parse::<EventStatus>()
            .map_err(|error| anyhow::anyhow!("event {id} has {error}"))?;
        Ok(Accepted {
            event: Event {
                id,
                event_type: event.event_type,
                source: event.source,
                payload: event.payload,
                status,
                created_at: stored.created_at,
                processed_at: stored.processed_at,
                delivery_id: event.delivery_id,
                github_event: event.github_event,
            },
            job: stored.job.map(JobId::new),
        })
    }
}

fn unexpected(error: sqlx::Error) -> QueueError {
    QueueError::Unexpected(anyhow::Error::new(error).context("storing a delivery"))
}

/// What the statement answered for one delivery: `None` when its delivery id was stored before.
struct Stored {
    id: i32,
    status: String,
    created_at: DateTime<Utc>,
    processed_at: Option<DateTime<Utc>>,
    job: Option<i64>,
}

async fn execute(
    pool: &PgPool,
    batch: &[Pending],
    now: DateTime<Utc>,
) -> Result<Vec<Option<Stored>>, sqlx::Error> {
    let column = |get: &dyn Fn(&Pending) -> Option<&str>| batch.iter().map(get).collect::<Vec<_>>();
    let job = |get: &dyn Fn(&NewReviewJob) -> Option<i64>| {
        batch.iter().map(|pending| pending.job.as_ref().and_then(get)).collect::<Vec<_>>()
    };
    let rows = sqlx::query(ACCEPT_BATCH)
        .bind(column(&|pending| Some(&pending.event.event_type)))
        .bind(column(&|pending| Some(&pending.event.source)))
        .bind(column(&|pending| Some(&pending.event.payload)))
        .bind(column(&|pending| Some(pending.event.status.as_str())))
        .bind(column(&|pending| pending.event.delivery_id.as_deref()))
        .bind(column(&|pending| pending.event.github_event.as_deref()))
        .bind(job(&|job| Some(job.repo_id)))
        .bind(
            batch
                .iter()
                .map(|pending| pending.job.as_ref().map(|job| job.repo.to_string()))
                .collect::<Vec<_>>(),
        )
        .bind(job(&|job| Some(i64::try_from(job.pr_number).unwrap_or(i64::MAX))))
        .bind(column(&|pending| pending.job.as_ref().map(|job| job.head_sha.as_str())))
        .bind(job(&|job| job.installation_id))
        .bind(
            batch
                .iter()
                .map(|pending| {
                    pending
                        .job
                        .as_ref()
                        .map(|job| i32::try_from(job.max_attempts.max(1)).unwrap_or(i32::MAX))
                })
                .collect::<Vec<_>>(),
        )
        .bind(now)
        .bind(EventStatus::Ignored.as_str())
        .bind(JobStatus::Superseded.event_status().as_str())
        .bind(JobStatus::Superseded.run_status().as_str())
        .fetch_all(pool)
        .await?;
    if rows.len() != batch.len() {
        return Err(sqlx::Error::Protocol(format!(
            "the intake statement answered {} rows for {} deliveries",
            rows.len(),
            batch.len()
        )));
    }
    rows.iter()
        .map(|row| {
            let id: Option<i32> = row.try_get("stored_id")?;
            let Some(id) = id else { return Ok(None) };
            Ok(Some(Stored {
                id,
                status: row.try_get("status")?,
                created_at: row.try_get("created_at")?,
                processed_at: row.try_get("processed_at")?,
                job: row.try_get("job_id")?,
            }))
        })
        .collect()
}
