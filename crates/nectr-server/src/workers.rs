//! The worker pool: workers claim review jobs with a lease, run the `ReviewRunner` while a
//! heartbeat renews the lease and relays stop requests, and record how each run ended. Failures
//! and panics retry with exponential backoff; a run that exceeds its time is abandoned and
//! retried. Shutdown stops claiming, lets running jobs finish within a grace period, and releases
//! the rest to the queue.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use chrono::Utc;
use nectr_domain::queue::{
    ReviewJob, ReviewQueue, ReviewRunner, RunError, RunOutcome, StopReason, StopSignal,
};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use tokio::task::JoinSet;

/// How the workers behave.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct WorkerSettings {
    /// Concurrent reviews in this process; 0 disables the workers.
    pub workers: usize,
    /// How long a claimed job stays leased without a heartbeat, in seconds.
    pub lease_seconds: u64,
    /// How often an idle worker looks for work, in milliseconds.
    pub poll_interval_ms: u64,
    /// The longest a review may run before it is abandoned and retried, in seconds.
    pub job_timeout_seconds: u64,
    /// Attempts per job.
    pub max_attempts: u32,
    /// Wait before the first retry, in seconds; doubles per attempt.
    pub retry_base_seconds: u64,
    /// On shutdown, running reviews get this long to finish, in seconds.
    pub shutdown_grace_seconds: u64,
    /// Review draft pull requests too.
    pub review_drafts: bool,
    /// How long a repository's webhook secrets are reused by the intake before they are read
    /// again, in seconds; 0 reads them for every delivery.
    pub webhook_secret_cache_seconds: u64,
}

impl Default for WorkerSettings {
    fn default() -> Self {
        Self {
            workers: 2,
            lease_seconds: 60,
            poll_interval_ms: 500,
            job_timeout_seconds: 900,
            max_attempts: 3,
            retry_base_seconds: 30,
            shutdown_grace_seconds: 30,
            review_drafts: false,
            webhook_secret_cache_seconds: 10,
        }
    }
}

/// The pool's phase, broadcast to its workers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Phase {
    /// Claim and run jobs.
    Working,
    /// Claim nothing new; finish what runs.
    Draining,
    /// Abandon what runs and release it to the queue.
    Abandoning,
}

/// A running pool.
pub struct WorkerPool {
    shutdown: watch::Sender<Phase>,
    workers: JoinSet<()>,
    grace: Duration,
}

/// The stop request of one run, set by its heartbeat.
#[derive(Default)]
struct StopFlag(AtomicU8);

impl StopFlag {
    fn set(&self, reason: StopReason) {
        let code = match reason {
            StopReason::Superseded => 1,
            StopReason::Cancelled => 2,
            StopReason::LeaseLost => 3,
        };
        self.0.store(code, Ordering::SeqCst);
    }
}

impl StopSignal for StopFlag {
    fn stop_requested(&self) -> Option<StopReason> {
        match self.0.load(Ordering::SeqCst) {
            1 => Some(StopReason::Superseded),
            2 => Some(StopReason::Cancelled),
            3 => Some(StopReason::LeaseLost),
            _ => None,
        }
    }
}

impl WorkerPool {
    /// Starts `settings.workers` workers named `{name}-{n}`.
    pub fn start(
        queue: Arc<dyn ReviewQueue>,
        runner: Arc<dyn ReviewRunner>,
        settings: &WorkerSettings,
        name: &str,
    ) -> Self {
        let (shutdown, _) = watch::channel(Phase::Working);
        let mut workers = JoinSet::new();
        for index in 0..settings.workers {
            let worker = Worker {
                id: format!("{name}-{index}"),
                queue: queue.clone(),
                runner: runner.clone(),
                settings: settings.clone(),
                shutdown: shutdown.subscribe(),
            };
            workers.spawn(worker.run());
        }
        Self { shutdown, workers, grace: Duration::from_secs(settings.shutdown_grace_seconds) }
    }

    /// Stops claiming, waits up to the grace period for running jobs, then abandons the rest,
    /// which workers release to the queue.
    pub async fn shutdown(mut self) {
        self.shutdown.send_replace(Phase::Draining);
        let drained = tokio::time::timeout(self.grace, async {
            while self.workers.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            tracing::warn!(
                "the shutdown grace period ended with reviews still running; returning them to the queue"
            );
            self.shutdown.send_replace(Phase::Abandoning);
            while self.workers.join_next().await.is_some() {}
        }
    }
}

struct Worker {
    id: String,
    queue: Arc<dyn ReviewQueue>,
    runner: Arc<dyn ReviewRunner>,
    settings: WorkerSettings,
    shutdown: watch::Receiver<Phase>,
}

impl Worker {
    fn lease(&self) -> Duration {
        Duration::from_secs(self.settings.lease_seconds.max(1))
    }

    async fn run(mut self) {
        let poll = Duration::from_millis(self.settings.poll_interval_ms.max(10));
        loop {
            if *self.shutdown.borrow() != Phase::Working {
                return;
            }
            match self.queue.claim(&self.id, self.lease()).await {
                Ok(Some(job)) => self.work(job).await,
                Ok(None) => {
                    tokio::select! {
                        () = tokio::time::sleep(poll) => {}
                        _ = self.shutdown.changed() => {}
                    }
                }
                Err(error) => {
                    tracing::error!(worker = %self.id, error = %error, "cannot claim review jobs");
                    tokio::select! {
                        () = tokio::time::sleep(poll * 4) => {}
                        _ = self.shutdown.changed() => {}
                    }
                }
            }
        }
    }

    /// Runs one job to its end, whatever that end is.
    async fn work(&mut self, job: ReviewJob) {
        let id = job.id;
        let attempts = job.attempts;
        tracing::info!(worker = %self.id, job = %id, repo = %job.repo, pr = job.pr_number, attempt = job.attempts, "review started");
        let stop = Arc::new(StopFlag::default());
        let mut run = {
            let runner = self.runner.clone();
            let stop = stop.clone();
            tokio::spawn(async move { runner.run(&job, stop.as_ref()).await })
        };
        let lease = self.lease();
        let mut heartbeat = tokio::time::interval(lease / 3);
        heartbeat.tick().await;
        let mut renewed = tokio::time::Instant::now();
        let deadline =
            tokio::time::sleep(Duration::from_secs(self.settings.job_timeout_seconds.max(1)));
        tokio::pin!(deadline);
        let outcome = loop {
            tokio::select! {
                joined = &mut run => break Some(joined),
                _ = heartbeat.tick() => {
                    let asked = tokio::time::Instant::now();
                    match self.queue.heartbeat(id, &self.id, lease).await {
                        Ok(reason) => {
                            renewed = asked;
                            if let Some(reason) = reason {
                                stop.set(reason);
                            }
                        }
                        Err(error) => tracing::warn!(job = %id, error = %error, "cannot renew the lease"),
                    }
                    if renewed.elapsed() + lease / 3 >= lease {
                        // The lease lapses before the next heartbeat: another worker may claim
                        // the job, so this run must not go on writing (a review it posts after
                        // now could be posted twice).
                        run.abort();
                        tracing::warn!(job = %id, "could not renew the lease in time; abandoning the run");
                        return;
                    }
                    if stop.stop_requested() == Some(StopReason::LeaseLost) {
                        run.abort();
                        tracing::warn!(job = %id, "lost the lease; another worker owns the job now");
                        return;
                    }
                }
                () = &mut deadline => {
                    run.abort();
                    break None;
                }
                changed = self.shutdown.changed() => {
                    if changed.is_err() || *self.shutdown.borrow() == Phase::Abandoning {
                        run.abort();
                        if let Err(error) = self.queue.release(id, &self.id).await {
                            tracing::error!(job = %id, error = %error, "cannot release a job on shutdown");
                        }
                        tracing::info!(job = %id, "returned a running review to the queue on shutdown");
                        return;
                    }
                }
            }
        };
        let attempt_error = match outcome {
            Some(Ok(Ok(RunOutcome::Degraded { result, failures }))) => {
                for failure in &failures {
                    tracing::warn!(job = %id, failure = %failure, "the review went without part of its advice");
                }
                if let Err(error) = self.queue.complete(id, &self.id, Some(result)).await {
                    tracing::error!(job = %id, error = %error, "cannot record a completed review");
                }
                tracing::info!(job = %id, "review completed");
                return;
            }
            Some(Ok(Ok(RunOutcome::Completed(result)))) => {
                if let Err(error) = self.queue.complete(id, &self.id, result).await {
                    tracing::error!(job = %id, error = %error, "cannot record a completed review");
                }
                tracing::info!(job = %id, "review completed");
                return;
            }
            Some(Ok(Ok(RunOutcome::Stopped(reason)))) => {
                if let Err(error) = self.queue.stop(id, &self.id, reason).await {
                    tracing::error!(job = %id, error = %error, "cannot record a stopped review");
                }
                tracing::info!(job = %id, reason = ?reason, "review stopped");
                return;
            }
            Some(Ok(Err(RunError::Permanent(message)))) => (message, None),
            Some(Ok(Err(RunError::Transient(message)))) => (message, Some(Duration::ZERO)),
            Some(Ok(Err(RunError::RetryLater { message, after }))) => (message, Some(after)),
            Some(Err(joined)) if joined.is_panic() => {
                ("the review panicked".to_owned(), Some(Duration::ZERO))
            }
            Some(Err(_)) => ("the review was aborted".to_owned(), Some(Duration::ZERO)),
            None => (
                format!("the review exceeded {} s", self.settings.job_timeout_seconds),
                Some(Duration::ZERO),
            ),
        };
        let (message, least_wait) = attempt_error;
        // Exponential backoff: base, 2·base, 4·base, …; never sooner than a rate limit allows.
        let retry_at = least_wait.map(|least| {
            let factor = 1_u64 << attempts.saturating_sub(1).min(16);
            let backoff =
                Duration::from_secs(self.settings.retry_base_seconds.saturating_mul(factor));
            Utc::now() + chrono::Duration::from_std(backoff.max(least)).unwrap_or_default()
        });
        match self.queue.fail(id, &self.id, &message, retry_at).await {
            Ok(status) => {
                tracing::warn!(job = %id, error = %message, next = %status, "review attempt failed")
            }
            Err(error) => {
                tracing::error!(job = %id, error = %error, "cannot record a failed review")
            }
        }
    }
}
