//! A review is posted at most once per job, whatever fails when: the record is saved with the
//! intent before the post, the post carries the job's marker, and a retried attempt adopts what
//! it finds. Each failure point is forced against the fake GitHub over HTTP, with the real
//! GitHub adapter and the real store (SQLite, and PostgreSQL when `TEST_DATABASE_URL` is set),
//! and the fake ends with exactly one review (or one comment carrying it) every time.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use nectr_agents::OfflineReviewer;
use nectr_domain::code_host::{CodeHost, Identity};
use nectr_domain::pipeline::{PipelineConfig, ReviewPipeline, marker};
use nectr_domain::queue::{
    IntakeEffect, NewReviewJob, ReviewJob, ReviewQueue, ReviewRunner, RunError, RunOutcome,
    StopReason, StopSignal,
};
use nectr_domain::{
    AccessToken, EventId, EventStatus, NewEvent, NewReviewRun, Posted, Posting, RepoFullName,
    ReviewRecord, ReviewRun, ReviewRunId, ReviewRunRepository, ReviewRunRepositoryError,
    ReviewRunStatus,
};
use nectr_github::{GitHubConfig, OctocrabHost};
use nectr_persistence::SeaOrmStore;
use nectr_testkit::TestDatabase;
use nectr_testkit::fake_github::{FakeFile, FakeGitHub, FakePull, Fault};

const TOKEN: &str = "ghp_postingtesttoken000000000000000000000";
const REPO: &str = "octo-org/posting";
const NUMBER: u64 = 7;
const HEAD: &str = "9f2c1e4b7a6d5c3b2a1908f7e6d5c4b3a2918070";

/// Never asks a run to stop.
struct Running;

impl StopSignal for Running {
    fn stop_requested(&self) -> Option<StopReason> {
        None
    }
}

/// The store's review runs, except that saving a record that says "posted" fails: the post
/// went up, and what it did could not be written down.
struct FailingSaveAfterPost(Arc<SeaOrmStore>);

#[async_trait]
impl ReviewRunRepository for FailingSaveAfterPost {
    async fn start(&self, run: NewReviewRun) -> Result<ReviewRun, ReviewRunRepositoryError> {
        self.0.start(run).await
    }

    async fn finish(
        &self,
        id: ReviewRunId,
        status: ReviewRunStatus,
        result: Option<serde_json::Value>,
        error: Option<String>,
    ) -> Result<ReviewRun, ReviewRunRepositoryError> {
        self.0.finish(id, status, result, error).await
    }

    async fn find_by_id(
        &self,
        id: ReviewRunId,
    ) -> Result<Option<ReviewRun>, ReviewRunRepositoryError> {
        self.0.find_by_id(id).await
    }

    async fn list_for_event(
        &self,
        event_id: EventId,
    ) -> Result<Vec<ReviewRun>, ReviewRunRepositoryError> {
        self.0.list_for_event(event_id).await
    }

    async fn save_record(
        &self,
        id: ReviewRunId,
        record: &ReviewRecord,
    ) -> Result<(), ReviewRunRepositoryError> {
        if record.posting.reached_github() {
            return Err(anyhow::anyhow!("the database went away").into());
        }
        self.0.save_record(id, record).await
    }

    async fn record(
        &self,
        id: ReviewRunId,
    ) -> Result<Option<ReviewRecord>, ReviewRunRepositoryError> {
        self.0.record(id).await
    }

    async fn mark_posted(
        &self,
        id: ReviewRunId,
        posted: &Posted,
    ) -> Result<(), ReviewRunRepositoryError> {
        self.0.mark_posted(id, posted).await
    }
}

/// A fake GitHub with one pull request, a store with its job claimed, and a GitHub adapter.
struct Rig {
    fake: FakeGitHub,
    store: Arc<SeaOrmStore>,
    job: ReviewJob,
    _database: TestDatabase,
}

impl Rig {
    async fn new(database: TestDatabase) -> Self {
        let fake = FakeGitHub::start(TOKEN).await;
        let mut pull = FakePull::new(
            NUMBER,
            vec![FakeFile {
                filename: "src/config.py".to_owned(),
                status: "modified".to_owned(),
                patch: "@@ -1,2 +1,3 @@\n REGION = 'eu-west-1'\n+AWS_ACCESS_KEY_ID = 'AKIAIOSFODNN7EXAMPLF'\n TIMEOUT = 30".to_owned(),
            }],
        );
        pull.head_sha = HEAD.to_owned();
        fake.state().repo(REPO).pulls.insert(NUMBER, pull);
        let repo_id = fake.state().repo(REPO).id;
        let store = Arc::new(database.migrated_store().await);
        let job = NewReviewJob {
            repo_id,
            repo: RepoFullName::parse(REPO).unwrap(),
            pr_number: NUMBER,
            head_sha: HEAD.to_owned(),
            installation_id: None,
            max_attempts: 10,
            pull_request: None,
        };
        let event = NewEvent {
            event_type: "opened_pull_request".to_owned(),
            source: "github".to_owned(),
            payload: "{}".to_owned(),
            status: EventStatus::Pending,
            delivery_id: Some(uuid::Uuid::new_v4().to_string()),
            github_event: Some("pull_request".to_owned()),
        };
        store.accept(event, IntakeEffect::QueueReview(job)).await.unwrap();
        let job = store.claim("posting-test", Duration::from_secs(60)).await.unwrap().unwrap();
        assert!(job.review_run_id.is_some(), "the claim started a review run");
        Self { fake, store, job, _database: database }
    }

    fn host(&self, request_timeout_seconds: u64) -> Arc<dyn CodeHost> {
        let config = GitHubConfig {
            api_url: self.fake.url.clone(),
            web_url: self.fake.url.clone(),
            writes_per_minute: 60_000,
            retry_base_delay_ms: 10,
            request_timeout_seconds,
            ..GitHubConfig::default()
        };
        Arc::new(OctocrabHost::new(config).unwrap())
    }

    fn pipeline(
        &self,
        runs: Arc<dyn ReviewRunRepository>,
        request_timeout_seconds: u64,
        post_settle: Duration,
    ) -> Arc<ReviewPipeline> {
        Arc::new(
            ReviewPipeline::new(
                self.host(request_timeout_seconds),
                self.store.clone(),
                self.store.clone(),
                runs,
                Arc::new(OfflineReviewer::default()),
                PipelineConfig {
                    fallback: Some(Identity::Token(AccessToken::new(TOKEN))),
                    post_settle,
                    ..PipelineConfig::default()
                },
            )
            .with_graph(nectr_domain::graph::ReviewGraph::new(self.store.clone())),
        )
    }

    /// The job as a retry would see it: the same job, one attempt later.
    fn retried(&self) -> ReviewJob {
        ReviewJob { attempts: self.job.attempts + 1, ..self.job.clone() }
    }

    /// Reviews and comments carrying the job's marker on the pull request.
    fn posts(&self) -> (usize, usize) {
        let marker = marker(self.job.id, HEAD);
        let state = self.fake.state();
        let repo = &state.repos[REPO];
        let reviews = repo.reviews.get(&NUMBER).map_or(0, |reviews| {
            reviews.iter().filter(|review| review.body.contains(&marker)).count()
        });
        let comments =
            repo.issue_comments.iter().filter(|comment| comment.body.contains(&marker)).count();
        (reviews, comments)
    }

    async fn posting(&self) -> Posting {
        let run_id = self.job.review_run_id.unwrap();
        self.store.record(run_id).await.unwrap().unwrap().posting
    }
}

fn completed(outcome: Result<RunOutcome, RunError>) -> serde_json::Value {
    match outcome {
        Ok(RunOutcome::Completed(Some(result))) => result,
        other => panic!("expected a completed review, got {other:?}"),
    }
}

/// Waits until the fake holds the job's review (stored, its answer perhaps still held back).
async fn until_stored(rig: &Rig) {
    for _ in 0..500 {
        if rig.posts().0 > 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the review never reached the fake GitHub");
}

#[tokio::test]
async fn a_failed_save_after_the_post_is_adopted_not_posted_again() {
    for database in TestDatabase::every_engine().await {
        let rig = Rig::new(database).await;
        let failing =
            rig.pipeline(Arc::new(FailingSaveAfterPost(rig.store.clone())), 30, Duration::ZERO);
        match failing.run(&rig.job, &Running).await {
            Err(RunError::Transient(message)) => assert!(message.contains("went away")),
            other => panic!("the failed save fails the attempt, got {other:?}"),
        }
        assert_eq!(rig.posts(), (1, 0));
        assert!(matches!(rig.posting().await, Posting::Intended { attempt: 1, .. }));

        let result = completed(
            rig.pipeline(rig.store.clone(), 30, Duration::ZERO).run(&rig.retried(), &Running).await,
        );
        assert_eq!(rig.posts(), (1, 0), "the retry adopted the review");
        assert_eq!(result["adopted"], true);
        assert_eq!(result["comment_posted"], true);
        assert_eq!(result["inline_suggestions"], 1);
        assert_eq!(result["related_prs"], 0, "what the graph told the first attempt, recorded");
        let review_id = rig.fake.state().repos[REPO].reviews[&NUMBER][0].id;
        assert_eq!(result["posted_id"], review_id);
        assert_eq!(
            rig.posting().await,
            Posting::Posted(Posted::Review {
                id: review_id,
                inline: 1,
                moved_to_body: 0,
                adopted: true
            })
        );
        // A third attempt (the job could not be completed, say) finds the record and posts nothing.
        completed(
            rig.pipeline(rig.store.clone(), 30, Duration::ZERO).run(&rig.retried(), &Running).await,
        );
        assert_eq!(rig.posts(), (1, 0));
    }
}

#[tokio::test]
async fn a_process_that_stops_after_the_post_leaves_one_review() {
    for database in TestDatabase::every_engine().await {
        let rig = Rig::new(database).await;
        rig.fake.state().write_delay = Some(Duration::from_secs(30));
        let pipeline = rig.pipeline(rig.store.clone(), 60, Duration::ZERO);
        let job = rig.job.clone();
        let running = tokio::spawn(async move { pipeline.run(&job, &Running).await });
        until_stored(&rig).await;
        // The process dies: GitHub has the review, Nectr never heard back.
        running.abort();
        assert!(running.await.unwrap_err().is_cancelled());
        rig.fake.state().write_delay = None;
        assert!(matches!(rig.posting().await, Posting::Intended { .. }));

        let result = completed(
            rig.pipeline(rig.store.clone(), 60, Duration::ZERO).run(&rig.retried(), &Running).await,
        );
        assert_eq!(rig.posts(), (1, 0));
        assert_eq!(result["adopted"], true);
    }
}

#[tokio::test]
async fn a_post_that_times_out_after_github_stored_it_is_neither_repeated_nor_commented() {
    for database in TestDatabase::every_engine().await {
        let rig = Rig::new(database).await;
        rig.fake.state().write_delay = Some(Duration::from_secs(3));
        match rig.pipeline(rig.store.clone(), 1, Duration::ZERO).run(&rig.job, &Running).await {
            Err(RunError::Transient(_)) => {}
            other => panic!("a timed-out post fails the attempt, got {other:?}"),
        }
        assert_eq!(rig.posts(), (1, 0), "no comment stands in for a review that may exist");
        rig.fake.state().write_delay = None;

        let result = completed(
            rig.pipeline(rig.store.clone(), 30, Duration::ZERO).run(&rig.retried(), &Running).await,
        );
        assert_eq!(rig.posts(), (1, 0));
        assert_eq!(result["adopted"], true);
    }
}

#[tokio::test]
async fn a_job_whose_lease_expired_mid_post_waits_and_adopts() {
    for database in TestDatabase::every_engine().await {
        let rig = Rig::new(database).await;
        rig.fake.state().write_delay = Some(Duration::from_millis(1_500));
        let settle = Duration::from_secs(1);
        let first = rig.pipeline(rig.store.clone(), 30, settle);
        let job = rig.job.clone();
        let posting = tokio::spawn(async move { first.run(&job, &Running).await });
        until_stored(&rig).await;

        // The lease lapsed; a second worker claims the job while the first one's post is in flight.
        let second = rig.pipeline(rig.store.clone(), 30, settle);
        match second.run(&rig.retried(), &Running).await {
            Err(RunError::RetryLater { after, .. }) => assert!(after <= settle),
            other => panic!("the second worker must wait for the first post, got {other:?}"),
        }
        assert_eq!(rig.posts(), (1, 0));
        completed(posting.await.unwrap());
        tokio::time::sleep(settle).await;
        completed(second.run(&rig.retried(), &Running).await);
        assert_eq!(rig.posts(), (1, 0));
        assert_eq!(rig.fake.state().repos[REPO].reviews[&NUMBER].len(), 1);
    }
}

#[tokio::test]
async fn a_refused_review_becomes_one_comment_even_when_retried() {
    for database in TestDatabase::every_engine().await {
        let rig = Rig::new(database).await;
        // GitHub refuses every review here (for example, a locked conversation).
        rig.fake.state().faults.push(Fault {
            method: Some("POST".to_owned()),
            status: 422,
            body: r#"{"message": "Unprocessable Entity"}"#.to_owned(),
            times: 100,
            ..Fault::server_error(&format!("/repos/{REPO}/pulls/{NUMBER}/reviews"), 422, 0)
        });
        let failing =
            rig.pipeline(Arc::new(FailingSaveAfterPost(rig.store.clone())), 30, Duration::ZERO);
        assert!(failing.run(&rig.job, &Running).await.is_err());
        assert_eq!(rig.posts(), (0, 1), "the comment carries the review");

        let result = completed(
            rig.pipeline(rig.store.clone(), 30, Duration::ZERO).run(&rig.retried(), &Running).await,
        );
        assert_eq!(rig.posts(), (0, 1), "found by its marker, not posted again");
        assert_eq!(result["posted_as"], "comment");
        assert_eq!(result["adopted"], true);
    }
}
