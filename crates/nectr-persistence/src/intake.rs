//! The intake: deliveries that arrive together are stored together.
//!
//! Deliveries wait in one queue for a free writer; a writer takes what is waiting, up to
//! [`MAX_BATCH`], and stores it with one commit. Under load that turns many statements and
//! commits into few; alone, a delivery waits for nothing. Deliveries of one pull request (or of
//! one delivery id) are never stored at the same time, and they are stored in the order they
//! arrived. A batch that fails is stored again delivery by delivery, so one bad delivery fails
//! alone; no delivery is answered before what it stored is committed.
//!
//! - PostgreSQL: one writer, with a connection of its own, stores a batch in one
//!   autocommitted statement: the events, their jobs (and when each pull request's newest was
//!   queued, in `reviewed_pull_requests`), the superseding of older jobs, and the
//!   effects of the deliveries that were new (cancellations, verified installations, pull
//!   requests' states). The
//!   statement's parts share one snapshot and could not see each other, hence the rule above.
//!   The writer commits without waiting for the WAL to reach the disk (`synchronous_commit =
//!   off`) and goes on to the next batch; a flusher answers what it stored once a commit of its
//!   own, which waits for the flush, has covered it (group commit: one WAL flush answers every
//!   batch committed before it started). No answer goes out before what it reports is durable.
//! - SQLite (one writer at a time): one transaction per batch, in the store's turn to write.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use nectr_domain::pull_request::PullRequestSnapshot;
use nectr_domain::queue::{Accepted, IntakeEffect, JobStatus, NewReviewJob, QueueError};
use nectr_domain::{EventId, EventStatus, JobId, NewEvent};
use sea_orm::sqlx::{self, PgPool, Row};
use sea_orm::{DatabaseConnection, DbBackend, TransactionTrait};
use tokio::sync::{mpsc, oneshot};

use crate::events::{stored_delivery, stored_event};
use crate::queue::{self, accept_sqlite};

/// The most deliveries one batch holds.
const MAX_BATCH: usize = 64;
/// PostgreSQL's writers; each stores one batch at a time on a connection of its own. One is
/// enough: it does not wait for the WAL flush (the flusher does), and it takes larger batches
/// than several would, while a statement's fixed cost is most of a small batch's. Measured in
/// alternating runs at 12 and 16 connections: one writer with the flusher stored 10–20 % more
/// deliveries per second, with a lower p99, than two writers that each waited for their own
/// flush (which in turn used 8–10 % less CPU per delivery than three).
const WRITERS: usize = 1;
/// Deliveries waiting before senders wait too.
const QUEUE_CAPACITY: usize = 1024;

/// The intake statement. Parameters: twelve arrays, one element per delivery (the event's type,
/// source, payload, status, delivery id and GitHub event name; the job's repository id, name,
/// pull request, head sha, installation and attempts, null when the delivery queues no job),
/// then the time, and the status names for an ignored event, a superseded event and a
/// superseded run; then two more arrays per delivery (the repository id and pull request it
/// cancels, null when it cancels nothing), the status names for a cancelled event and a
/// cancelled run, and two arrays of (delivery's position, installation id) pairs that it marks
/// verified; then fourteen arrays per delivery, the pull request's state it records
/// (`pull_requests`, replaced only by a snapshot at least as new; its repository id is also the
/// event's `repo_id`), null when it records none.
///
/// A delivery's effects are applied only when its event was inserted (it is in `ev`): a
/// redelivery conflicts on its delivery id and changes nothing. A job for the same commit that
/// was cancelled (the pull request closed) is queued again in place (`job`'s `DO UPDATE`): the
/// new delivery's, with no attempt counted and no review run, so its next claim starts a new
/// run; any other job for the commit leaves the event ignored. Cancelling and superseding both
/// update `review_jobs`, which one statement may not do twice to a row; they never meet, since
/// a batch never holds two deliveries of one pull request.
///
/// Event ids are drawn before the insert so that every result row can be matched to its
/// delivery. The payloads (the bulk of a batch's bytes) stay out of `input`: the event insert
/// takes each one from its array by position, so that they are not copied into the materialized
/// `input` and through the joins over it (a third of the statement's instructions, measured
/// with callgrind). Each table is reached through an index whatever plan PostgreSQL caches for the
/// statement (after five runs it keeps a generic plan, which on a new, empty database would
/// otherwise choose sequential scans that grow with the tables): lookups are correlated to one
/// delivery, and the updates join the few superseded rows. The inserts need no `ORDER BY`: ids
/// are drawn in arrival order, and a batch never holds two deliveries of one pull request or
/// one delivery id.
const ACCEPT_BATCH: &str = "\
WITH input AS MATERIALIZED ( \
  SELECT nextval(q.seq) AS event_id, u.* \
  FROM (SELECT pg_get_serial_sequence('events', 'id')::regclass AS seq) q, \
    unnest($1::text[], $2::text[], $4::text[], $5::text[], $6::text[], $7::int8[], \
      $8::text[], $9::int8[], $10::text[], $11::int8[], $12::int4[], $17::int8[], \
      $18::int8[], $23::int8[], $24::int8[], $25::text[], $26::text[], $27::text[], \
      $28::text[], $29::text[], $30::text[], $31::int8[], $32::int8[], $33::int8[], \
      $34::timestamptz[], $35::timestamptz[], $36::timestamptz[]) \
    WITH ORDINALITY AS u(event_type, source, status, delivery_id, github_event, \
      repo_id, repo_full_name, pr_number, head_sha, installation_id, max_attempts, \
      cancel_repo_id, cancel_pr_number, pr_repo_id, pr_pr_number, pr_repo_full_name, \
      pr_title, pr_author, pr_branch, pr_url, pr_state, pr_additions, pr_deletions, \
      pr_changed_files, pr_opened_at, pr_merged_at, pr_updated_at, ord) \
), ev AS ( \
  INSERT INTO events (id, event_type, source, payload, status, created_at, processed_at, \
    delivery_id, github_event, repo_id) \
  SELECT i.event_id, i.event_type, i.source, ($3::text[])[i.ord], s.status, $13, \
    CASE WHEN s.status = $14 THEN $13 END, i.delivery_id, i.github_event, i.pr_repo_id \
  FROM input i LEFT JOIN LATERAL (SELECT $14 AS status FROM review_jobs k \
      WHERE k.repo_id = i.repo_id AND k.pr_number = i.pr_number AND k.head_sha = i.head_sha \
        AND k.status <> 'cancelled' \
      LIMIT 1) queued ON true \
    CROSS JOIN LATERAL (SELECT coalesce(queued.status, i.status) AS status) s \
  ON CONFLICT (delivery_id) DO NOTHING \
  RETURNING id, status, created_at, processed_at \
), job AS ( \
  INSERT INTO review_jobs (event_id, repo_id, repo_full_name, pr_number, head_sha, \
    installation_id, status, attempts, max_attempts, available_at, created_at, updated_at) \
  SELECT ev.id, i.repo_id, i.repo_full_name, i.pr_number, i.head_sha, i.installation_id, \
    'queued', 0, i.max_attempts, $13, $13, $13 \
  FROM ev JOIN input i ON i.event_id = ev.id WHERE i.repo_id IS NOT NULL \
  ON CONFLICT (repo_id, pr_number, head_sha) DO UPDATE SET event_id = excluded.event_id, \
    repo_full_name = excluded.repo_full_name, installation_id = excluded.installation_id, \
    status = 'queued', attempts = 0, max_attempts = excluded.max_attempts, \
    available_at = excluded.available_at, lease_owner = NULL, lease_expires_at = NULL, \
    stop_requested = NULL, review_run_id = NULL, last_error = NULL, \
    updated_at = excluded.updated_at \
  WHERE review_jobs.status = 'cancelled' \
  RETURNING id, event_id \
), reviewed AS ( \
  INSERT INTO reviewed_pull_requests (repo_id, pr_number, last_queued_at) \
  SELECT i.repo_id, i.pr_number, $13 FROM job JOIN input i ON i.event_id = job.event_id \
  ON CONFLICT (repo_id, pr_number) DO UPDATE SET last_queued_at = excluded.last_queued_at \
  WHERE excluded.last_queued_at > reviewed_pull_requests.last_queued_at \
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
), closing AS ( \
  SELECT o.id, o.status FROM input i CROSS JOIN LATERAL ( \
    SELECT o.id, o.status FROM review_jobs o \
    WHERE o.repo_id = i.cancel_repo_id AND o.pr_number = i.cancel_pr_number \
      AND o.status IN ('queued', 'running') \
    FOR UPDATE) o \
  WHERE i.cancel_repo_id IS NOT NULL AND EXISTS (SELECT 1 FROM ev WHERE ev.id = i.event_id) \
), cancelled AS ( \
  UPDATE review_jobs j SET status = 'cancelled', lease_owner = NULL, lease_expires_at = NULL, \
    updated_at = $13 \
  FROM closing WHERE j.id = closing.id AND closing.status = 'queued' \
  RETURNING j.event_id, j.review_run_id \
), cancelled_events AS ( \
  UPDATE events e SET status = $19, processed_at = $13 \
  FROM cancelled c WHERE e.id = c.event_id \
), cancelled_runs AS ( \
  UPDATE workflow_runs r SET status = $20, result = NULL, error = NULL, completed_at = $13 \
  FROM cancelled c WHERE r.id = c.review_run_id \
), cancel_requested AS ( \
  UPDATE review_jobs j SET stop_requested = 'cancelled' \
  FROM closing WHERE j.id = closing.id AND closing.status = 'running' \
), verified AS ( \
  UPDATE installations n SET verified_at = $13 \
  FROM unnest($21::int8[], $22::int4[]) AS v(ord, installation_id) \
    JOIN input i ON i.ord = v.ord \
  WHERE n.id = v.installation_id AND EXISTS (SELECT 1 FROM ev WHERE ev.id = i.event_id) \
), pulls AS ( \
  INSERT INTO pull_requests (repo_id, pr_number, repo_full_name, title, author, branch, \
    html_url, state, additions, deletions, changed_files, opened_at, merged_at, updated_at) \
  SELECT i.pr_repo_id, i.pr_pr_number, i.pr_repo_full_name, i.pr_title, i.pr_author, \
    i.pr_branch, i.pr_url, i.pr_state, i.pr_additions, i.pr_deletions, i.pr_changed_files, \
    i.pr_opened_at, i.pr_merged_at, i.pr_updated_at \
  FROM input i \
  WHERE i.pr_repo_id IS NOT NULL AND EXISTS (SELECT 1 FROM ev WHERE ev.id = i.event_id) \
  ON CONFLICT (repo_id, pr_number) DO UPDATE SET repo_full_name = excluded.repo_full_name, \
    title = excluded.title, author = excluded.author, branch = excluded.branch, \
    html_url = excluded.html_url, state = excluded.state, additions = excluded.additions, \
    deletions = excluded.deletions, changed_files = excluded.changed_files, \
    opened_at = excluded.opened_at, merged_at = excluded.merged_at, \
    updated_at = excluded.updated_at \
  WHERE pull_requests.updated_at <= excluded.updated_at \
) \
SELECT i.ord, ev.id AS stored_id, ev.status, ev.created_at, ev.processed_at, job.id AS job_id \
FROM input i LEFT JOIN ev ON ev.id = i.event_id LEFT JOIN job ON job.event_id = ev.id \
ORDER BY i.ord";

/// One delivery to store, and where its outcome goes.
struct Pending {
    event: NewEvent,
    effect: IntakeEffect,
    reply: oneshot::Sender<Result<Accepted, QueueError>>,
}

impl Pending {
    /// What two deliveries stored at the same time may not share: the pull request whose jobs
    /// they queue or cancel, and their delivery id.
    fn keys(&self) -> impl Iterator<Item = Key> + '_ {
        let pull_request = self
            .effect
            .pull_request()
            .map(|(repo_id, pr_number)| Key::PullRequest(repo_id, pr_number));
        let delivery = self.event.delivery_id.clone().map(Key::Delivery);
        pull_request.into_iter().chain(delivery)
    }

    /// The review it queues, when any.
    fn job(&self) -> Option<&NewReviewJob> {
        self.effect.review()
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Key {
    PullRequest(i64, u64),
    Delivery(String),
}

/// The advisory lock (`pg_advisory_xact_lock_shared`) the PostgreSQL intake's flusher takes in
/// every flush. Whoever holds it exclusively holds back the intake's answers, never its writes:
/// a test does, to see that a delivery is stored but not answered before a flush.
pub const INTAKE_FLUSH_LOCK: i64 = 0x6e65_6374_7246_6c75;

/// The flusher's statement: its transaction takes an id, so its commit waits for the WAL to be
/// flushed up to its commit record, and with it every commit before.
const FLUSH: &str = "SELECT pg_advisory_xact_lock_shared($1), pg_current_xact_id()";

/// The intake's writers of one store.
#[derive(Debug)]
pub(crate) struct IntakeWriter {
    queue: mpsc::Sender<Pending>,
    /// PostgreSQL's connections (none on SQLite).
    postgres: Option<PostgresPools>,
}

/// The PostgreSQL intake's connections.
#[derive(Debug)]
struct PostgresPools {
    writers: PgPool,
    flusher: PgPool,
}

impl IntakeWriter {
    /// Starts the writers on the current Tokio runtime (`None` outside one, or for an engine
    /// other than PostgreSQL and SQLite). SQLite's writer waits for `turn`, the store's turn to
    /// write.
    pub(crate) fn start(
        connection: &DatabaseConnection,
        turn: Option<Arc<tokio::sync::Mutex<()>>>,
    ) -> Option<Self> {
        let runtime = tokio::runtime::Handle::try_current().ok()?;
        let (writer, postgres) = match connection.get_database_backend() {
            DbBackend::Postgres => {
                let pools = PostgresPools {
                    writers: postgres_pool(connection, WRITERS, ASYNC_COMMIT),
                    flusher: postgres_pool(connection, 1, &[]),
                };
                let (flusher, stored) = mpsc::unbounded_channel();
                runtime.spawn(flush(pools.flusher.clone(), stored));
                let pool = pools.writers.clone();
                let writer = PostgresWriter { pool, connection: connection.clone(), flusher };
                (Writer::Postgres(writer), Some(pools))
            }
            DbBackend::Sqlite => {
                let turn = turn.unwrap_or_default();
                (Writer::Sqlite(SqliteWriter { connection: connection.clone(), turn }), None)
            }
            _ => return None,
        };
        let (queue, receiver) = mpsc::channel(QUEUE_CAPACITY);
        runtime.spawn(dispatch(writer, receiver));
        Some(Self { queue, postgres })
    }

    /// Stores one delivery with the others waiting, and applies its effect if it is new.
    pub(crate) async fn accept(
        &self,
        event: NewEvent,
        effect: IntakeEffect,
    ) -> Result<Accepted, QueueError> {
        let (reply, outcome) = oneshot::channel();
        let stopped = || QueueError::Unexpected(anyhow::anyhow!("the intake writer has stopped"));
        self.queue.send(Pending { event, effect, reply }).await.map_err(|_| stopped())?;
        outcome.await.map_err(|_| stopped())?
    }

    /// The plan PostgreSQL keeps for the intake statement on the writers' connections, as
    /// `EXPLAIN` prints it; `None` on SQLite.
    pub(crate) async fn plan(&self) -> Result<Option<String>, sqlx::Error> {
        let Some(pools) = &self.postgres else { return Ok(None) };
        let mut connection = pools.writers.acquire().await?;
        let prepare = format!(
            "PREPARE nectr_intake_plan (text[], text[], text[], text[], text[], text[], int8[], \
             text[], int8[], text[], int8[], int4[], timestamptz, text, text, text, int8[], \
             int8[], text, text, int8[], int4[], int8[], int8[], text[], text[], text[], \
             text[], text[], text[], int8[], int8[], int8[], timestamptz[], timestamptz[], \
             timestamptz[]) AS {ACCEPT_BATCH}"
        );
        sqlx::raw_sql(sqlx::AssertSqlSafe(prepare)).execute(&mut *connection).await?;
        let nulls = vec!["NULL"; 36].join(", ");
        let explain = format!("EXPLAIN EXECUTE nectr_intake_plan ({nulls})");
        let rows = sqlx::query(sqlx::AssertSqlSafe(explain)).fetch_all(&mut *connection).await;
        sqlx::raw_sql("DEALLOCATE nectr_intake_plan").execute(&mut *connection).await?;
        let lines =
            rows?.iter().map(|row| row.try_get::<String, _>(0)).collect::<Result<Vec<_>, _>>()?;
        Ok(Some(lines.join("\n")))
    }

    /// Closes PostgreSQL's writers' and flusher's connections; later deliveries fail (on
    /// SQLite, once the store's connections are closed).
    pub(crate) async fn close(&self) {
        if let Some(pools) = &self.postgres {
            pools.writers.close().await;
            pools.flusher.close().await;
        }
    }
}

/// The writers' session settings beyond the planner's: their commits do not wait for the WAL
/// flush, which the flusher waits for instead.
const ASYNC_COMMIT: &[(&str, &str)] = &[("synchronous_commit", "off")];

/// Connections for the intake: the store's pool settings (acquire timeout, health checks,
/// lifetimes), `connections` of them, `settings` for their sessions, and a planner that never
/// chooses a sequential scan: every table the intake statement touches is reached by a primary
/// or unique key, and PostgreSQL caches a generic plan after five runs, which on a new, still
/// empty database would scan tables that grow.
fn postgres_pool(
    connection: &DatabaseConnection,
    connections: usize,
    settings: &[(&str, &str)],
) -> PgPool {
    let shared = connection.get_postgres_connection_pool();
    let planner = [("enable_seqscan", "off"), ("plan_cache_mode", "force_generic_plan")];
    let options =
        shared.connect_options().as_ref().clone().options(planner.iter().chain(settings).copied());
    shared
        .options()
        .clone()
        .min_connections(0)
        .max_connections(u32::try_from(connections).unwrap_or(1))
        .connect_lazy_with(options)
}

/// A stored delivery's outcome, waiting for the flush that makes it durable.
struct Settled {
    reply: oneshot::Sender<Result<Accepted, QueueError>>,
    outcome: Result<Accepted, QueueError>,
}

/// The flusher: takes every outcome the writers have handed over, waits for one synchronous
/// commit (which flushes the WAL up to it, so past every commit of theirs before), and answers
/// them; outcomes handed over meanwhile wait for the next flush. A failed flush fails its
/// deliveries (what they stored may be lost, so none is acknowledged; a redelivery is recognised
/// as a duplicate if it was not). Ends once the writers are gone and everything is answered.
async fn flush(pool: PgPool, mut stored: mpsc::UnboundedReceiver<Vec<Settled>>) {
    while let Some(first) = stored.recv().await {
        let mut group = first;
        while let Ok(more) = stored.try_recv() {
            group.extend(more);
        }
        let flushed = sqlx::query(FLUSH).bind(INTAKE_FLUSH_LOCK).execute(&pool).await;
        if let Err(error) = &flushed {
            tracing::warn!(deliveries = group.len(), error = %error, "the intake's WAL flush failed");
        }
        for Settled { reply, outcome } in group {
            let outcome = match &flushed {
                Ok(_) => outcome,
                Err(error) => Err(QueueError::Unexpected(anyhow::anyhow!(
                    "waiting for a stored delivery to reach the disk: {error}"
                ))),
            };
            drop(reply.send(outcome));
        }
    }
}

/// Hands waiting deliveries to free writers, never two of one key at the same time, each key's
/// in the order they arrived; ends when every sender is gone and everything is stored.
async fn dispatch(writer: Writer, mut receiver: mpsc::Receiver<Pending>) {
    let mut waiting = VecDeque::new();
    let mut storing = tokio::task::JoinSet::new();
    let mut held: HashMap<tokio::task::Id, Vec<Key>> = HashMap::new();
    let mut busy: HashSet<Key> = HashSet::new();
    let mut open = true;
    loop {
        while storing.len() < writer.count() {
            let batch = next_batch(&mut waiting, &busy);
            if batch.is_empty() {
                break;
            }
            let keys: Vec<Key> = batch.iter().flat_map(Pending::keys).collect();
            busy.extend(keys.iter().cloned());
            let writer = writer.clone();
            let task = storing.spawn(async move { writer.store(batch).await });
            held.insert(task.id(), keys);
        }
        if !open && waiting.is_empty() && storing.is_empty() {
            return;
        }
        // At least one branch is live: with nothing being stored, every waiting delivery is free,
        // so the loop above has started a batch unless nothing waits, and then the queue is read
        // (or, closed, ended the task just above).
        tokio::select! {
            received = receiver.recv(), if open && waiting.len() < QUEUE_CAPACITY => match received {
                Some(pending) => {
                    waiting.push_back(pending);
                    while waiting.len() < QUEUE_CAPACITY {
                        let Ok(pending) = receiver.try_recv() else { break };
                        waiting.push_back(pending);
                    }
                }
                None => open = false,
            },
            Some(stored) = storing.join_next_with_id() => {
                // A batch that panicked drops its replies: those deliveries fail, not hang.
                let id = match stored {
                    Ok((id, ())) => id,
                    Err(error) => error.id(),
                };
                for key in held.remove(&id).unwrap_or_default() {
                    busy.remove(&key);
                }
            }
        }
    }
}

/// The next batch: waiting deliveries, oldest first, whose keys are not being stored, not in the
/// batch already, and not held by an older delivery that has to wait.
fn next_batch(waiting: &mut VecDeque<Pending>, busy: &HashSet<Key>) -> Vec<Pending> {
    let mut batch = Vec::new();
    let mut taken: HashSet<Key> = HashSet::new();
    let mut left = VecDeque::with_capacity(waiting.len());
    for pending in waiting.drain(..) {
        let free = batch.len() < MAX_BATCH
            && pending.keys().all(|key| !busy.contains(&key) && !taken.contains(&key));
        // Taken or left, its keys now block the younger deliveries that share them.
        taken.extend(pending.keys());
        if free {
            batch.push(pending);
        } else {
            left.push_back(pending);
        }
    }
    *waiting = left;
    batch
}

/// The writers of one engine.
#[derive(Clone)]
enum Writer {
    Postgres(PostgresWriter),
    Sqlite(SqliteWriter),
}

impl Writer {
    /// How many batches may be stored at the same time.
    fn count(&self) -> usize {
        match self {
            Self::Postgres(_) => WRITERS,
            Self::Sqlite(_) => 1,
        }
    }

    async fn store(&self, batch: Vec<Pending>) {
        match self {
            Self::Postgres(writer) => writer.store(batch).await,
            Self::Sqlite(writer) => writer.store(batch).await,
        }
    }
}

/// Logs a batch that failed and is about to be stored again one delivery at a time.
fn report_failed_batch(deliveries: usize, error: &dyn std::fmt::Display) {
    if deliveries > 1 {
        tracing::warn!(deliveries, error = %error, "a batch of deliveries failed; storing them one by one");
    }
}

/// SQLite's writer: the store's connections and its turn to write.
#[derive(Clone)]
struct SqliteWriter {
    connection: DatabaseConnection,
    turn: Arc<tokio::sync::Mutex<()>>,
}

impl SqliteWriter {
    /// Stores a batch in one transaction and answers each delivery once it is committed. When a
    /// delivery fails, the transaction is rolled back and the batch is stored again delivery by
    /// delivery, so that each one gets its own outcome.
    async fn store(&self, batch: Vec<Pending>) {
        let _turn = self.turn.lock().await;
        let error = match self.transaction(&batch).await {
            Ok(outcomes) => {
                for (pending, outcome) in batch.into_iter().zip(outcomes) {
                    drop(pending.reply.send(outcome));
                }
                return;
            }
            Err(error) => error,
        };
        report_failed_batch(batch.len(), &error);
        for pending in batch {
            let outcome = self.store_one(&pending).await;
            drop(pending.reply.send(outcome));
        }
    }

    /// Stores one delivery in a transaction of its own.
    async fn store_one(&self, pending: &Pending) -> Result<Accepted, QueueError> {
        let transaction =
            self.connection.begin().await.map_err(queue::unexpected("starting a delivery"))?;
        let accepted = accept_sqlite(&transaction, &pending.event, &pending.effect).await?;
        transaction.commit().await.map_err(queue::unexpected("committing a delivery"))?;
        Ok(accepted)
    }

    /// Stores the deliveries in one transaction: the outcome of each, or the first failure
    /// (and nothing is kept).
    async fn transaction(
        &self,
        batch: &[Pending],
    ) -> Result<Vec<Result<Accepted, QueueError>>, QueueError> {
        let transaction =
            self.connection.begin().await.map_err(queue::unexpected("starting a batch"))?;
        let mut outcomes = Vec::with_capacity(batch.len());
        for pending in batch {
            // A duplicate stores nothing and is an outcome like any other.
            match accept_sqlite(&transaction, &pending.event, &pending.effect).await {
                Err(error) if !matches!(error, QueueError::DuplicateDelivery(_)) => {
                    return Err(error);
                }
                outcome => outcomes.push(outcome),
            }
        }
        transaction.commit().await.map_err(queue::unexpected("committing a batch"))?;
        Ok(outcomes)
    }
}

/// PostgreSQL's writer: its connections, the store's for the rare follow-up reads, and the
/// flusher that answers what it stored.
#[derive(Clone)]
struct PostgresWriter {
    pool: PgPool,
    connection: DatabaseConnection,
    flusher: mpsc::UnboundedSender<Vec<Settled>>,
}

impl PostgresWriter {
    /// Stores a batch and answers each delivery; a failed batch is stored again one delivery at
    /// a time, so that each delivery gets its own outcome.
    async fn store(&self, batch: Vec<Pending>) {
        let now = Utc::now();
        let error = match execute(&self.pool, &batch, now).await {
            Ok(rows) => return self.answer(batch, rows, now).await,
            Err(error) => error,
        };
        report_failed_batch(batch.len(), &error);
        for pending in batch {
            let now = Utc::now();
            match execute(&self.pool, std::slice::from_ref(&pending), now).await {
                Ok(rows) => self.answer(vec![pending], rows, now).await,
                Err(error) => drop(pending.reply.send(Err(unexpected(error)))),
            }
        }
    }

    /// Settles each delivery of a committed batch and hands the outcomes to the flusher.
    async fn answer(&self, batch: Vec<Pending>, rows: Vec<Option<Stored>>, now: DateTime<Utc>) {
        let mut settled = Vec::with_capacity(batch.len());
        for (pending, row) in batch.into_iter().zip(rows) {
            let queued = pending.job().is_some();
            let Pending { event, reply, .. } = pending;
            settled.push(Settled { reply, outcome: self.settle(event, queued, row, now).await });
        }
        // With the flusher gone, the outcomes are dropped unanswered: those deliveries fail
        // (`IntakeWriter::accept`), as when a writer stops.
        drop(self.flusher.send(settled));
    }

    /// Turns a delivery's row into its outcome: a duplicate, or the stored event and its job
    /// (`queued`: the delivery asked for one).
    async fn settle(
        &self,
        event: NewEvent,
        queued: bool,
        row: Option<Stored>,
        now: DateTime<Utc>,
    ) -> Result<Accepted, QueueError> {
        let Some(mut stored) = row else {
            let first = stored_delivery(&self.connection, event.delivery_id).await?;
            return Err(QueueError::DuplicateDelivery(first));
        };
        if queued && stored.job.is_none() && stored.status != EventStatus::Ignored.as_str() {
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
            event: stored_event(event, id, status, stored.created_at, stored.processed_at),
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
        batch.iter().map(|pending| pending.job().and_then(get)).collect::<Vec<_>>()
    };
    let cancelled = |get: &dyn Fn(i64, u64) -> i64| {
        batch
            .iter()
            .map(|pending| match &pending.effect {
                IntakeEffect::CancelPullRequest { repo_id, pr_number, .. } => {
                    Some(get(*repo_id, *pr_number))
                }
                _ => None,
            })
            .collect::<Vec<_>>()
    };
    let (verified_deliveries, verified_installations) = verified(batch);
    let snapshot = |get: &dyn Fn(&PullRequestSnapshot) -> Option<i64>| {
        batch.iter().map(|pending| pending.effect.snapshot().and_then(get)).collect::<Vec<_>>()
    };
    let snapshot_text = |get: &dyn Fn(&PullRequestSnapshot) -> String| {
        batch.iter().map(|pending| pending.effect.snapshot().map(get)).collect::<Vec<_>>()
    };
    let snapshot_time = |get: &dyn Fn(&PullRequestSnapshot) -> Option<DateTime<Utc>>| {
        batch.iter().map(|pending| pending.effect.snapshot().and_then(get)).collect::<Vec<_>>()
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
                .map(|pending| pending.job().map(|job| job.repo.to_string()))
                .collect::<Vec<_>>(),
        )
        .bind(job(&|job| Some(pr_number(job.pr_number))))
        .bind(column(&|pending| pending.job().map(|job| job.head_sha.as_str())))
        .bind(job(&|job| job.installation_id))
        .bind(
            batch
                .iter()
                .map(|pending| {
                    pending
                        .job()
                        .map(|job| i32::try_from(job.max_attempts.max(1)).unwrap_or(i32::MAX))
                })
                .collect::<Vec<_>>(),
        )
        .bind(now)
        .bind(EventStatus::Ignored.as_str())
        .bind(JobStatus::Superseded.event_status().as_str())
        .bind(JobStatus::Superseded.run_status().as_str())
        .bind(cancelled(&|repo_id, _| repo_id))
        .bind(cancelled(&|_, number| pr_number(number)))
        .bind(JobStatus::Cancelled.event_status().as_str())
        .bind(JobStatus::Cancelled.run_status().as_str())
        .bind(verified_deliveries)
        .bind(verified_installations)
        .bind(snapshot(&|pull| Some(pull.repo_id)))
        .bind(snapshot(&|pull| Some(pr_number(pull.number))))
        .bind(snapshot_text(&|pull| pull.repo.to_string()))
        .bind(snapshot_text(&|pull| pull.title.clone()))
        .bind(snapshot_text(&|pull| pull.author.clone()))
        .bind(snapshot_text(&|pull| pull.branch.clone()))
        .bind(snapshot_text(&|pull| pull.url.clone()))
        .bind(snapshot_text(&|pull| pull.state.as_str().to_owned()))
        .bind(snapshot(&|pull| Some(pr_number(pull.additions))))
        .bind(snapshot(&|pull| Some(pr_number(pull.deletions))))
        .bind(snapshot(&|pull| Some(pr_number(pull.changed_files))))
        .bind(snapshot_time(&|pull| Some(pull.opened_at)))
        .bind(snapshot_time(&|pull| pull.merged_at))
        .bind(snapshot_time(&|pull| Some(pull.updated_at)))
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

fn pr_number(number: u64) -> i64 {
    i64::try_from(number).unwrap_or(i64::MAX)
}

/// The installations a batch marks verified, as (delivery's position from 1, installation id)
/// pairs in two arrays; ids beyond the column's range cannot exist and are left out.
fn verified(batch: &[Pending]) -> (Vec<i64>, Vec<i32>) {
    let mut deliveries = Vec::new();
    let mut installations = Vec::new();
    for (position, pending) in (1_i64..).zip(batch) {
        let IntakeEffect::MarkVerified(ids) = &pending.effect else { continue };
        for id in ids {
            if let Ok(id) = i32::try_from(id.get()) {
                deliveries.push(position);
                installations.push(id);
            }
        }
    }
    (deliveries, installations)
}

#[cfg(test)]
mod tests {
    use nectr_domain::RepoFullName;

    use super::*;

    fn pending(delivery: &str, pr_number: Option<u64>) -> Pending {
        let (reply, _) = oneshot::channel();
        let event = NewEvent {
            event_type: "opened_pull_request".to_owned(),
            source: "github".to_owned(),
            payload: "{}".to_owned(),
            status: EventStatus::Pending,
            delivery_id: Some(delivery.to_owned()),
            github_event: Some("pull_request".to_owned()),
        };
        let job = pr_number.map(|pr_number| NewReviewJob {
            repo_id: 1,
            repo: RepoFullName::parse("octocat/Hello-World")
                .unwrap_or_else(|error| panic!("{error}")),
            pr_number,
            head_sha: delivery.to_owned(),
            installation_id: None,
            max_attempts: 3,
            pull_request: None,
        });
        let effect = job.map_or(IntakeEffect::None, IntakeEffect::QueueReview);
        Pending { event, effect, reply }
    }

    fn ids(deliveries: &[Pending]) -> Vec<&str> {
        deliveries.iter().filter_map(|pending| pending.event.delivery_id.as_deref()).collect()
    }

    #[test]
    fn a_batch_skips_keys_being_stored_and_keeps_each_keys_order() {
        let mut waiting: VecDeque<Pending> = [
            pending("a1", Some(1)),
            pending("b1", Some(2)),
            pending("a2", Some(1)),
            pending("c1", Some(3)),
            pending("b1", None), // a redelivery of b1, with b1 in this batch
            pending("d1", Some(4)),
            pending("e1", None),
        ]
        .into_iter()
        .collect();
        let busy = HashSet::from([Key::PullRequest(1, 3)]);
        let batch = next_batch(&mut waiting, &busy);
        assert_eq!(ids(&batch), ["a1", "b1", "d1", "e1"]);
        assert_eq!(ids(waiting.make_contiguous()), ["a2", "c1", "b1"]);
        // Once a1 is stored, a2 goes; c1 waits while pull request 3 is being stored.
        let next = next_batch(&mut waiting, &busy);
        assert_eq!(ids(&next), ["a2", "b1"]);
        assert_eq!(ids(waiting.make_contiguous()), ["c1"]);
    }

    #[test]
    fn a_batch_holds_at_most_max_batch_deliveries_in_arrival_order() {
        let mut waiting: VecDeque<Pending> =
            (0..MAX_BATCH + 3).map(|n| pending(&format!("d{n}"), Some(n as u64))).collect();
        let batch = next_batch(&mut waiting, &HashSet::new());
        assert_eq!(batch.len(), MAX_BATCH);
        assert_eq!(ids(&batch).first(), Some(&"d0"));
        assert_eq!(ids(waiting.make_contiguous()), ["d64", "d65", "d66"]);
    }
}
