//! The worker pool over the real queue: retries, panics, hangs, shutdown, and a process that
//! dies in the middle of a job. Each runs on SQLite, and on PostgreSQL when configured.

use std::sync::Arc;
use std::time::Duration;

use nectr_domain::queue::{
    IntakeEffect, JobStatus, NewReviewJob, QueueError, ReviewJob, ReviewQueue, StopReason,
};
use nectr_domain::{
    EventRepository, EventStatus, JobId, NewEvent, RepoFullName, ReviewRunRepository,
    ReviewRunStatus,
};
use nectr_persistence::SeaOrmStore;
use nectr_server::workers::{WorkerPool, WorkerSettings};
use nectr_testkit::TestDatabase;
use nectr_testkit::runners::{Behaviour, ScriptedRunner};

fn settings(max_attempts: u32) -> WorkerSettings {
    WorkerSettings {
        workers: 1,
        lease_seconds: 1,
        poll_interval_ms: 20,
        job_timeout_seconds: 30,
        max_attempts,
        retry_base_seconds: 0,
        shutdown_grace_seconds: 2,
        review_drafts: false,
        webhook_secret_cache_seconds: 0,
    }
}

async fn one_job(store: &SeaOrmStore, max_attempts: u32) -> JobId {
    let event = NewEvent {
        event_type: "opened_pull_request".to_owned(),
        source: "github".to_owned(),
        payload: "{}".to_owned(),
        status: EventStatus::Pending,
        delivery_id: Some(uuid_like()),
        github_event: Some("pull_request".to_owned()),
    };
    let job = NewReviewJob {
        repo_id: 1,
        repo: RepoFullName::parse("octocat/Hello-World").unwrap(),
        pr_number: 1,
        head_sha: "a".repeat(40),
        installation_id: None,
        max_attempts,
        pull_request: None,
    };
    store.accept(event, IntakeEffect::QueueReview(job)).await.unwrap().job.unwrap()
}

fn uuid_like() -> String {
    format!("{:?}-{}", std::time::SystemTime::now(), std::process::id())
}

async fn wait_until_final(store: &SeaOrmStore, id: JobId) -> nectr_domain::queue::ReviewJob {
    for _ in 0..1000 {
        let job = store.find(id).await.unwrap().unwrap();
        if job.status.is_final() {
            return job;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("job {id} did not finish: {:?}", store.find(id).await.unwrap());
}

async fn run_until_final(
    behaviour: Behaviour,
    worker_settings: WorkerSettings,
) -> (Vec<nectr_domain::queue::ReviewJob>, Vec<usize>) {
    let mut jobs = Vec::new();
    let mut starts = Vec::new();
    for database in TestDatabase::every_engine().await {
        let store = Arc::new(database.migrated_store().await);
        let id = one_job(&store, worker_settings.max_attempts).await;
        let runner = Arc::new(ScriptedRunner::new(behaviour));
        let pool = WorkerPool::start(store.clone(), runner.clone(), &worker_settings, "test");
        let job = wait_until_final(&store, id).await;
        pool.shutdown().await;
        let event =
            EventRepository::find_by_id(store.as_ref(), job.event_id).await.unwrap().unwrap();
        let run = ReviewRunRepository::find_by_id(store.as_ref(), job.review_run_id.unwrap())
            .await
            .unwrap()
            .unwrap();
        if job.status == JobStatus::Failed {
            assert_eq!(event.status, EventStatus::Failed, "{:?}", database.engine);
            assert_eq!(run.status, ReviewRunStatus::Failed);
            assert_eq!(run.error, job.last_error);
        }
        starts.push(runner.started().len());
        jobs.push(job);
    }
    (jobs, starts)
}

#[tokio::test]
async fn failures_retry_until_the_attempts_run_out_then_fail_with_the_error() {
    let (jobs, starts) = run_until_final(Behaviour::Fail, settings(3)).await;
    for (job, started) in jobs.iter().zip(starts) {
        assert_eq!((job.status, job.attempts, started), (JobStatus::Failed, 3, 3));
        assert_eq!(job.last_error.as_deref(), Some("GitHub answered 502"));
    }
}

#[tokio::test]
async fn a_rate_limited_review_waits_as_long_as_the_limit_says() {
    for database in TestDatabase::every_engine().await {
        let store = Arc::new(database.migrated_store().await);
        let id = one_job(&store, 3).await;
        let runner =
            Arc::new(ScriptedRunner::new(Behaviour::RateLimited(Duration::from_secs(3_600))));
        // No backoff of its own: only the limit keeps the job from running again at once.
        let pool = WorkerPool::start(store.clone(), runner.clone(), &settings(3), "limited");
        runner.wait_for_starts(1).await;
        let mut job = store.find(id).await.unwrap().unwrap();
        for _ in 0..100 {
            if job.status == JobStatus::Queued {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
            job = store.find(id).await.unwrap().unwrap();
        }
        // Workers poll every 20 ms: a job due now would have been claimed again by now.
        tokio::time::sleep(Duration::from_millis(500)).await;
        pool.shutdown().await;
        let job = store.find(id).await.unwrap().unwrap();
        assert_eq!((job.status, job.attempts), (JobStatus::Queued, 1), "{:?}", database.engine);
        assert_eq!(job.last_error.as_deref(), Some("the model answered 429"));
        assert_eq!(runner.started().len(), 1);
    }
}

#[tokio::test]
async fn a_panicking_review_is_a_failed_attempt_not_a_dead_worker() {
    let (jobs, starts) = run_until_final(Behaviour::Panic, settings(2)).await;
    for (job, started) in jobs.iter().zip(starts) {
        assert_eq!((job.status, job.attempts, started), (JobStatus::Failed, 2, 2));
        assert_eq!(job.last_error.as_deref(), Some("the review panicked"));
    }
}

#[tokio::test]
async fn a_hanging_review_is_abandoned_after_its_time_and_retried() {
    let (jobs, starts) =
        run_until_final(Behaviour::Hang, WorkerSettings { job_timeout_seconds: 1, ..settings(2) })
            .await;
    for (job, started) in jobs.iter().zip(starts) {
        assert_eq!((job.status, job.attempts, started), (JobStatus::Failed, 2, 2));
        assert_eq!(job.last_error.as_deref(), Some("the review exceeded 1 s"));
    }
}

#[tokio::test]
async fn shutdown_lets_running_reviews_finish_within_the_grace_period() {
    let database = TestDatabase::fresh().await;
    let store = Arc::new(database.migrated_store().await);
    let id = one_job(&store, 3).await;
    let runner = Arc::new(ScriptedRunner::new(Behaviour::Succeed(Duration::from_millis(400))));
    let pool = WorkerPool::start(store.clone(), runner.clone(), &settings(3), "drain");
    runner.wait_for_starts(1).await;
    pool.shutdown().await;
    assert_eq!(store.find(id).await.unwrap().unwrap().status, JobStatus::Completed);
    assert_eq!(runner.completed(), vec![id]);
}

#[tokio::test]
async fn shutdown_returns_reviews_that_outlive_the_grace_period_to_the_queue() {
    let database = TestDatabase::fresh().await;
    let store = Arc::new(database.migrated_store().await);
    let id = one_job(&store, 3).await;
    let runner = Arc::new(ScriptedRunner::new(Behaviour::Hang));
    let pool = WorkerPool::start(
        store.clone(),
        runner.clone(),
        &WorkerSettings { shutdown_grace_seconds: 1, ..settings(3) },
        "release",
    );
    runner.wait_for_starts(1).await;
    pool.shutdown().await;
    let job = store.find(id).await.unwrap().unwrap();
    assert_eq!(
        (job.status, job.attempts),
        (JobStatus::Queued, 0),
        "released, the attempt not counted"
    );
    let event = EventRepository::find_by_id(store.as_ref(), job.event_id).await.unwrap().unwrap();
    assert_eq!(event.status, EventStatus::Pending);
}

#[tokio::test]
async fn a_job_whose_process_died_is_completed_exactly_once_by_the_next_one() {
    for database in TestDatabase::every_engine().await {
        let url = database.url.clone();
        // The first "process": its own runtime, dropped in the middle of the job.
        let first_runner = Arc::new(ScriptedRunner::new(Behaviour::Hang));
        let job = {
            let runner = first_runner.clone();
            let url = url.clone();
            std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(1)
                    .enable_all()
                    .build()
                    .unwrap();
                let job = runtime.block_on(async {
                    let store = Arc::new(store_at(&url).await);
                    let id = one_job(&store, 3).await;
                    let pool =
                        WorkerPool::start(store.clone(), runner.clone(), &settings(3), "doomed");
                    runner.wait_for_starts(1).await;
                    std::mem::forget(pool);
                    id
                });
                // No shutdown, no release: the lease is simply never renewed again.
                runtime.shutdown_background();
                job
            })
            .join()
            .unwrap()
        };
        // The next "process" on the same database.
        let store = Arc::new(store_at(&url).await);
        let second_runner = Arc::new(ScriptedRunner::new(Behaviour::Succeed(Duration::ZERO)));
        let pool =
            WorkerPool::start(store.clone(), second_runner.clone(), &settings(3), "survivor");
        let finished = wait_until_final(&store, job).await;
        pool.shutdown().await;
        assert_eq!(
            (finished.status, finished.attempts),
            (JobStatus::Completed, 2),
            "{:?}",
            database.engine
        );
        assert_eq!(first_runner.completed(), Vec::<JobId>::new());
        assert_eq!(second_runner.started(), vec![job], "run once by the survivor");
        assert_eq!(second_runner.completed(), vec![job], "completed exactly once");
    }
}

async fn store_at(url: &str) -> SeaOrmStore {
    let cipher = nectr_persistence::TokenCipher::new(&nectr_persistence::CipherConfig {
        encryption_keys: Vec::new(),
        secret_key: Some("worker-tests".to_owned()),
    })
    .unwrap();
    let store =
        SeaOrmStore::connect(&nectr_persistence::DatabaseConfig::new(url), cipher).await.unwrap();
    store.migrate().await.unwrap();
    store
}

/// The real queue, except that heartbeats fail (the database is out of reach for this worker),
/// and that it claims one job only.
struct UnreachableHeartbeats(Arc<SeaOrmStore>, std::sync::atomic::AtomicBool);

#[async_trait::async_trait]
impl ReviewQueue for UnreachableHeartbeats {
    async fn accept(
        &self,
        event: NewEvent,
        effect: IntakeEffect,
    ) -> Result<nectr_domain::queue::Accepted, QueueError> {
        self.0.accept(event, effect).await
    }

    async fn claim(&self, worker: &str, lease: Duration) -> Result<Option<ReviewJob>, QueueError> {
        if self.1.load(std::sync::atomic::Ordering::SeqCst) {
            return Ok(None);
        }
        let claimed = self.0.claim(worker, lease).await?;
        self.1.store(claimed.is_some(), std::sync::atomic::Ordering::SeqCst);
        Ok(claimed)
    }

    async fn heartbeat(
        &self,
        _id: JobId,
        _worker: &str,
        _lease: Duration,
    ) -> Result<Option<StopReason>, QueueError> {
        Err(QueueError::Unexpected(anyhow::anyhow!("connection refused")))
    }

    async fn complete(
        &self,
        id: JobId,
        worker: &str,
        result: Option<serde_json::Value>,
    ) -> Result<(), QueueError> {
        self.0.complete(id, worker, result).await
    }

    async fn fail(
        &self,
        id: JobId,
        worker: &str,
        error: &str,
        retry_at: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<JobStatus, QueueError> {
        self.0.fail(id, worker, error, retry_at).await
    }

    async fn stop(&self, id: JobId, worker: &str, reason: StopReason) -> Result<(), QueueError> {
        self.0.stop(id, worker, reason).await
    }

    async fn release(&self, id: JobId, worker: &str) -> Result<(), QueueError> {
        self.0.release(id, worker).await
    }

    async fn cancel_pull_request(&self, repo_id: i64, pr_number: u64) -> Result<u64, QueueError> {
        self.0.cancel_pull_request(repo_id, pr_number).await
    }

    async fn find(&self, id: JobId) -> Result<Option<ReviewJob>, QueueError> {
        self.0.find(id).await
    }

    async fn jobs_of_pull_request(
        &self,
        repo_id: i64,
        pr_number: u64,
    ) -> Result<Vec<ReviewJob>, QueueError> {
        self.0.jobs_of_pull_request(repo_id, pr_number).await
    }
}

#[tokio::test]
async fn a_worker_that_cannot_renew_its_lease_abandons_the_run_before_another_claims_it() {
    for database in TestDatabase::every_engine().await {
        let store = Arc::new(database.migrated_store().await);
        let id = one_job(&store, 3).await;
        let runner = Arc::new(ScriptedRunner::new(Behaviour::Succeed(Duration::from_secs(3))));
        let cut_off = Arc::new(UnreachableHeartbeats(store.clone(), Default::default()));
        let first = WorkerPool::start(cut_off, runner.clone(), &settings(3), "cut-off");
        runner.wait_for_starts(1).await;
        // Another process takes over once the lease has lapsed.
        let second = WorkerPool::start(store.clone(), runner.clone(), &settings(3), "healthy");
        let finished = wait_until_final(&store, id).await;
        first.shutdown().await;
        second.shutdown().await;
        assert_eq!(finished.status, JobStatus::Completed, "{:?}", database.engine);
        assert_eq!(runner.started(), vec![id, id], "started by each worker");
        assert_eq!(
            runner.completed(),
            vec![id],
            "the worker without a lease stopped its run: only the second one finished"
        );
    }
}
