//! The shared contract suites of the storage ports. Each runs against the in-memory fakes and
//! against every real adapter (SQLite always, PostgreSQL when `TEST_DATABASE_URL` is set), so a
//! fake never drifts from the real thing.

use std::sync::Arc;

use chrono::{Duration, Utc};
use nectr_domain::llm::Usage;
use nectr_domain::queue::{
    IntakeEffect, JobStatus, NewReviewJob, QueueError, ReviewQueue, StopReason,
};
use nectr_domain::review::{Finding, Severity, Verdict};
use nectr_domain::{
    AccessToken, EventFilter, EventId, EventRepository, EventRepositoryError, EventStatus,
    InstallationId, InstallationRepository, InstallationRepositoryError, NewEvent, NewInstallation,
    NewReviewRun, OAuthStateRepository, OAuthStateRepositoryError, RepoFullName, ReviewRunId,
    ReviewRunRepository, ReviewRunRepositoryError, ReviewRunStatus, UserId, UserRepository,
    UserUpsert, WebhookSecret,
};
use nectr_domain::{Posted, Posting, RecordedFinding, ReviewRecord, StepTimings};

/// One implementation of every storage port.
pub struct Stores {
    /// Users.
    pub users: Arc<dyn UserRepository>,
    /// Connected repositories.
    pub installations: Arc<dyn InstallationRepository>,
    /// Webhook deliveries.
    pub events: Arc<dyn EventRepository>,
    /// Review runs.
    pub review_runs: Arc<dyn ReviewRunRepository>,
    /// OAuth states.
    pub oauth_states: Arc<dyn OAuthStateRepository>,
    /// The review queue.
    pub queue: Arc<dyn ReviewQueue>,
}

impl Stores {
    /// Every port served by one value.
    pub fn of<T>(store: Arc<T>) -> Self
    where
        T: UserRepository
            + InstallationRepository
            + EventRepository
            + ReviewRunRepository
            + OAuthStateRepository
            + ReviewQueue
            + 'static,
    {
        Self {
            users: store.clone(),
            installations: store.clone(),
            events: store.clone(),
            review_runs: store.clone(),
            oauth_states: store.clone(),
            queue: store,
        }
    }
}

/// Runs every suite, each on the same (empty) stores.
pub async fn run_all(stores: &Stores) {
    users(stores).await;
    installations(stores).await;
    events(stores).await;
    review_runs(stores).await;
    oauth_states(stores).await;
    review_queue(stores).await;
    reopened_reviews(stores).await;
    stop_requests_outlive_leases(stores).await;
    concurrent_deliveries(stores).await;
    intake_effects(stores).await;
}

fn upsert(github_id: i64, login: &str, token: &str) -> UserUpsert {
    UserUpsert {
        github_id,
        github_username: login.to_owned(),
        github_access_token: AccessToken::new(token),
        email: Some(format!("{login}@example.com")),
        avatar_url: None,
        name: Some(login.to_uppercase()),
    }
}

fn assert_recent(time: chrono::DateTime<Utc>, what: &str) {
    let age = Utc::now() - time;
    assert!(age >= Duration::seconds(-5) && age <= Duration::seconds(60), "{what} is {time}");
}

/// The `UserRepository` contract.
pub async fn users(stores: &Stores) {
    let repo = &stores.users;
    assert!(repo.find_by_github_id(424_242).await.unwrap().is_none());
    assert!(repo.find_by_id(UserId::new(987_654)).await.unwrap().is_none());

    let created = repo.upsert_by_github_id(upsert(424_242, "mona", "gho_first")).await.unwrap();
    assert_eq!(created.github_id, 424_242);
    assert_eq!(created.github_username, "mona");
    assert_eq!(created.github_access_token.expose(), "gho_first");
    assert_eq!(created.email.as_deref(), Some("mona@example.com"));
    assert_eq!(created.avatar_url, None);
    assert_recent(created.created_at, "created_at");
    assert_eq!(repo.find_by_id(created.id).await.unwrap().as_ref(), Some(&created));
    assert_eq!(repo.find_by_github_id(424_242).await.unwrap().as_ref(), Some(&created));

    let mut refreshed_input = upsert(424_242, "mona-renamed", "gho_second");
    refreshed_input.avatar_url = Some("https://avatars.example/mona".to_owned());
    let refreshed = repo.upsert_by_github_id(refreshed_input).await.unwrap();
    assert_eq!(refreshed.id, created.id);
    assert_eq!(refreshed.created_at, created.created_at);
    assert!(refreshed.updated_at >= created.updated_at);
    assert_eq!(refreshed.github_username, "mona-renamed");
    assert_eq!(refreshed.github_access_token.expose(), "gho_second");
    assert_eq!(refreshed.avatar_url.as_deref(), Some("https://avatars.example/mona"));
    assert_eq!(repo.find_by_id(created.id).await.unwrap().as_ref(), Some(&refreshed));

    let other = repo.upsert_by_github_id(upsert(7, "hubot", "ghp_other")).await.unwrap();
    assert_ne!(other.id, created.id);
    assert_eq!(repo.find_by_github_id(7).await.unwrap().unwrap().github_username, "hubot");

    // Sessions: a new user starts at version 0; ending sessions raises it for that user only,
    // and a later sign-in (upsert) keeps it.
    assert_eq!(created.session_version, 0);
    assert_eq!(repo.end_sessions(created.id).await.unwrap(), Some(1));
    assert_eq!(repo.end_sessions(created.id).await.unwrap(), Some(2));
    assert_eq!(repo.find_by_id(created.id).await.unwrap().unwrap().session_version, 2);
    assert_eq!(repo.find_by_id(other.id).await.unwrap().unwrap().session_version, 0);
    let signed_in_again =
        repo.upsert_by_github_id(upsert(424_242, "mona", "gho_third")).await.unwrap();
    assert_eq!(signed_in_again.session_version, 2);
    assert_eq!(repo.end_sessions(UserId::new(987_654)).await.unwrap(), None);
}

fn repo(name: &str) -> RepoFullName {
    RepoFullName::parse(name).unwrap()
}

fn installation(user_id: UserId, name: &str, webhook_id: i64, repo_id: i64) -> NewInstallation {
    NewInstallation {
        user_id,
        repo: repo(name),
        github_repo_id: Some(repo_id),
        webhook_id: Some(webhook_id),
        webhook_secret: Some(WebhookSecret::new(format!("secret-for-{name}"))),
        installation_id: None,
        access_token: None,
    }
}

/// The `InstallationRepository` contract.
pub async fn installations(stores: &Stores) {
    let repo_store = &stores.installations;
    let owner = stores.users.upsert_by_github_id(upsert(1001, "owner", "gho_owner")).await.unwrap();
    let unknown = UserId::new(99_999);
    match repo_store.create(installation(unknown, "a/b", 1, 1)).await {
        Err(InstallationRepositoryError::UnknownUser(id)) => assert_eq!(id, unknown),
        other => panic!("expected UnknownUser, got {other:?}"),
    }

    let first = repo_store
        .create(installation(owner.id, "octo/first", 5_000_000_001, 3_000_000_001))
        .await
        .unwrap();
    assert!(first.is_active);
    assert_eq!(first.repo, repo("octo/first"));
    assert_eq!(first.webhook_id, Some(5_000_000_001), "hook ids need 64 bits");
    assert_eq!(first.github_repo_id, Some(3_000_000_001));
    assert_eq!(first.webhook_secret.as_ref().unwrap().expose(), "secret-for-octo/first");
    assert_recent(first.installed_at, "installed_at");
    let second = repo_store.create(installation(owner.id, "octo/second", 2, 20)).await.unwrap();
    let without_secret =
        NewInstallation { webhook_secret: None, ..installation(owner.id, "octo/third", 3, 30) };
    let third = repo_store.create(without_secret).await.unwrap();
    assert_eq!(third.webhook_secret, None);

    assert_eq!(repo_store.find_by_id(first.id).await.unwrap().as_ref(), Some(&first));
    assert!(repo_store.find_by_id(InstallationId::new(424_242)).await.unwrap().is_none());
    assert_eq!(
        repo_store.find_active_for_user(owner.id, &repo("octo/second")).await.unwrap().as_ref(),
        Some(&second)
    );
    assert!(repo_store.find_active_for_user(owner.id, &repo("octo/none")).await.unwrap().is_none());
    let listed: Vec<_> = repo_store
        .list_active_for_user(owner.id)
        .await
        .unwrap()
        .into_iter()
        .map(|found| found.id)
        .collect();
    assert_eq!(listed, vec![third.id, second.id, first.id], "newest first");
    assert_eq!(
        repo_store.find_active_by_webhook_id(5_000_000_001).await.unwrap(),
        vec![first.clone()]
    );
    assert_eq!(repo_store.find_active_by_github_repo_id(20).await.unwrap(), vec![second.clone()]);
    assert!(repo_store.find_active_by_webhook_id(777).await.unwrap().is_empty());

    repo_store.deactivate(second.id).await.unwrap();
    assert!(repo_store.find_active_by_github_repo_id(20).await.unwrap().is_empty());
    assert!(
        repo_store.find_active_for_user(owner.id, &repo("octo/second")).await.unwrap().is_none()
    );
    let kept = repo_store.find_by_id(second.id).await.unwrap().unwrap();
    assert!(!kept.is_active, "deactivation keeps the row");
    assert_eq!(repo_store.list_active_for_user(owner.id).await.unwrap().len(), 2);
    let everyone: Vec<_> =
        repo_store.list_active().await.unwrap().into_iter().map(|found| found.id).collect();
    assert_eq!(everyone, vec![third.id, first.id]);
    match repo_store.deactivate(InstallationId::new(424_242)).await {
        Err(InstallationRepositoryError::NotFound(_)) => {}
        other => panic!("expected NotFound, got {other:?}"),
    }
}

fn new_event(event_type: &str, status: EventStatus) -> NewEvent {
    NewEvent {
        event_type: event_type.to_owned(),
        source: "github".to_owned(),
        payload: format!("{{\"kind\":\"{event_type}\"}}"),
        status,
        delivery_id: None,
        github_event: None,
    }
}

/// The `EventRepository` contract.
pub async fn events(stores: &Stores) {
    let repo = &stores.events;
    let opened = repo.create(new_event("opened_pull_request", EventStatus::Pending)).await.unwrap();
    assert_eq!(opened.status, EventStatus::Pending);
    assert_eq!(opened.payload, "{\"kind\":\"opened_pull_request\"}");
    assert_eq!(opened.processed_at, None);
    assert_recent(opened.created_at, "created_at");
    let push = repo.create(new_event("push", EventStatus::Ignored)).await.unwrap();
    let synced =
        repo.create(new_event("synchronize_pull_request", EventStatus::Pending)).await.unwrap();
    assert_eq!(repo.find_by_id(push.id).await.unwrap().as_ref(), Some(&push));
    assert!(repo.find_by_id(EventId::new(424_242)).await.unwrap().is_none());

    let ids = |events: Vec<nectr_domain::Event>| {
        events.into_iter().map(|event| event.id).collect::<Vec<_>>()
    };
    assert_eq!(
        ids(repo.list(&EventFilter::default()).await.unwrap()),
        vec![synced.id, push.id, opened.id]
    );
    let pending = EventFilter { status: Some(EventStatus::Pending), ..EventFilter::default() };
    assert_eq!(ids(repo.list(&pending).await.unwrap()), vec![synced.id, opened.id]);
    let pushes = EventFilter { event_type: Some("push".to_owned()), ..EventFilter::default() };
    assert_eq!(ids(repo.list(&pushes).await.unwrap()), vec![push.id]);
    let page = EventFilter { limit: 1, offset: 1, ..EventFilter::default() };
    assert_eq!(ids(repo.list(&page).await.unwrap()), vec![push.id]);

    let done_at = Utc::now();
    repo.set_status(opened.id, EventStatus::Completed, Some(done_at)).await.unwrap();
    let done = repo.find_by_id(opened.id).await.unwrap().unwrap();
    assert_eq!(done.status, EventStatus::Completed);
    let stored_at = done.processed_at.unwrap();
    assert!((stored_at - done_at).num_milliseconds().abs() < 1, "{stored_at} != {done_at}");
    for &status in EventStatus::ALL {
        repo.set_status(synced.id, status, None).await.unwrap();
        assert_eq!(repo.find_by_id(synced.id).await.unwrap().unwrap().status, status);
    }
    match repo.set_status(EventId::new(424_242), EventStatus::Failed, None).await {
        Err(EventRepositoryError::NotFound(_)) => {}
        other => panic!("expected NotFound, got {other:?}"),
    }
    let delivered = NewEvent {
        delivery_id: Some("72d3162e-cc78-11e3-81ab-4c9367dc0958".to_owned()),
        github_event: Some("pull_request".to_owned()),
        ..new_event("opened_pull_request", EventStatus::Pending)
    };
    let first = repo.create(delivered.clone()).await.unwrap();
    assert_eq!(first.delivery_id.as_deref(), Some("72d3162e-cc78-11e3-81ab-4c9367dc0958"));
    assert_eq!(first.github_event.as_deref(), Some("pull_request"));
    match repo.create(delivered).await {
        Err(EventRepositoryError::DuplicateDelivery(id)) => assert_eq!(id, first.id),
        other => panic!("expected DuplicateDelivery, got {other:?}"),
    }
}

/// The `ReviewRunRepository` contract.
pub async fn review_runs(stores: &Stores) {
    let repo = &stores.review_runs;
    let unknown = EventId::new(424_242);
    let start = |event_id| NewReviewRun { event_id, workflow_type: "pr_review".to_owned() };
    match repo.start(start(unknown)).await {
        Err(ReviewRunRepositoryError::UnknownEvent(id)) => assert_eq!(id, unknown),
        other => panic!("expected UnknownEvent, got {other:?}"),
    }
    let event = stores
        .events
        .create(new_event("opened_pull_request", EventStatus::Processing))
        .await
        .unwrap();
    let first = repo.start(start(event.id)).await.unwrap();
    assert_eq!(first.status, ReviewRunStatus::Running);
    assert_eq!(first.workflow_type, "pr_review");
    assert_eq!(
        (first.result.as_ref(), first.error.as_ref(), first.completed_at),
        (None, None, None)
    );
    assert_recent(first.started_at, "started_at");
    let second = repo.start(start(event.id)).await.unwrap();

    let result = serde_json::json!({
        "ai_summary": "## Summary\nFine.", "files_analyzed": 3, "comment_posted": true,
        "verdict": "APPROVE", "inline_suggestions": 0, "linked_issues": [12],
    });
    let finished = repo
        .finish(first.id, ReviewRunStatus::Completed, Some(result.clone()), None)
        .await
        .unwrap();
    assert_eq!(finished.status, ReviewRunStatus::Completed);
    assert_eq!(finished.result.as_ref(), Some(&result));
    assert_recent(finished.completed_at.unwrap(), "completed_at");
    assert_eq!(repo.find_by_id(first.id).await.unwrap().as_ref(), Some(&finished));
    match repo.finish(first.id, ReviewRunStatus::Failed, None, None).await {
        Err(ReviewRunRepositoryError::AlreadyFinished(id)) => assert_eq!(id, first.id),
        other => panic!("expected AlreadyFinished, got {other:?}"),
    }
    match repo.finish(ReviewRunId::new(424_242), ReviewRunStatus::Failed, None, None).await {
        Err(ReviewRunRepositoryError::NotFound(_)) => {}
        other => panic!("expected NotFound, got {other:?}"),
    }
    assert!(repo.finish(second.id, ReviewRunStatus::Running, None, None).await.is_err());
    let failed = repo
        .finish(second.id, ReviewRunStatus::Failed, None, Some("GitHub said 502".to_owned()))
        .await
        .unwrap();
    assert_eq!(failed.error.as_deref(), Some("GitHub said 502"));
    let listed: Vec<_> =
        repo.list_for_event(event.id).await.unwrap().into_iter().map(|run| run.id).collect();
    assert_eq!(listed, vec![first.id, second.id], "oldest first");
    assert!(repo.find_by_id(ReviewRunId::new(424_242)).await.unwrap().is_none());

    let finding = |severity, line, suggestion: Option<&str>| Finding {
        path: "src/lib.rs".to_owned(),
        line,
        end_line: suggestion.map(|_| line + 2),
        severity,
        category: "sql-injection".to_owned(),
        title: "SQL built from input".to_owned(),
        explanation: "Bind the value.".to_owned(),
        suggestion: suggestion.map(str::to_owned),
    };
    let record = ReviewRecord {
        verdict: Verdict::RequestChanges,
        confidence: 4,
        posted_event: "COMMENT".to_owned(),
        critical: 1,
        moderate: 0,
        minor: 1,
        findings: vec![
            RecordedFinding {
                finding: finding(Severity::Critical, 12, Some("query(\"?\", id)")),
                inline: true,
            },
            RecordedFinding { finding: finding(Severity::Minor, 40, None), inline: false },
        ],
        model: "claude-sonnet-4-5".to_owned(),
        usage: Usage {
            input_tokens: 12_345,
            output_tokens: 678,
            cache_read_tokens: 9_000,
            cache_write_tokens: 1_500,
        },
        cost_usd: 0.0532,
        timings: StepTimings { fetch_ms: 120, model_ms: 8_400, post_ms: 310, total_ms: 8_900 },
        body: "## Summary\n\n**REQUEST_CHANGES**".to_owned(),
        linked_issues: vec![12, 7],
        files_reviewed: 3,
        planned_inline: 2,
        related_prs: Some(3),
        posting: Posting::Intended {
            attempt: 2,
            head_sha: "6dcb09b5b57875f334f61aebed695e2e4193db5e".to_owned(),
            at: chrono::DateTime::from_timestamp(1_764_633_600, 0).unwrap(),
        },
    };
    assert!(repo.record(first.id).await.unwrap().is_none());
    match repo.mark_posted(first.id, &Posted::Comment { id: 1, adopted: false }).await {
        Err(ReviewRunRepositoryError::NotFound(_)) => {}
        other => panic!("marking a run without a record: expected NotFound, got {other:?}"),
    }
    repo.save_record(first.id, &record).await.unwrap();
    assert_eq!(repo.record(first.id).await.unwrap().as_ref(), Some(&record));
    let retried = ReviewRecord { findings: Vec::new(), critical: 0, minor: 0, ..record.clone() };
    repo.save_record(first.id, &retried).await.unwrap();
    assert_eq!(
        repo.record(first.id).await.unwrap(),
        Some(retried.clone()),
        "a second save replaces"
    );
    let posted = Posted::Review { id: 3_000_000_001, inline: 1, moved_to_body: 1, adopted: true };
    repo.mark_posted(first.id, &posted).await.unwrap();
    assert_eq!(
        repo.record(first.id).await.unwrap(),
        Some(ReviewRecord { posting: Posting::Posted(posted), ..retried.clone() }),
        "marking posted keeps the rest of the record"
    );
    let comment = Posted::Comment { id: 77, adopted: false };
    repo.mark_posted(first.id, &comment).await.unwrap();
    assert_eq!(
        repo.record(first.id).await.unwrap().map(|record| record.posting),
        Some(Posting::Posted(comment))
    );
    match repo.save_record(ReviewRunId::new(424_242), &record).await {
        Err(ReviewRunRepositoryError::NotFound(_)) => {}
        other => panic!("expected NotFound, got {other:?}"),
    }
}

/// The `OAuthStateRepository` contract.
pub async fn oauth_states(stores: &Stores) {
    let repo = &stores.oauth_states;
    let now = Utc::now();
    let later = now + Duration::minutes(10);
    let stored = repo.create("state-one", later).await.unwrap();
    assert_eq!(stored.state, "state-one");
    assert_eq!(stored.expires_at.timestamp_millis(), later.timestamp_millis());
    assert!(matches!(
        repo.create("state-one", later).await,
        Err(OAuthStateRepositoryError::Duplicate)
    ));

    assert!(repo.consume("state-one", now).await.unwrap(), "a fresh state is accepted");
    assert!(!repo.consume("state-one", now).await.unwrap(), "but only once");
    assert!(!repo.consume("never-issued", now).await.unwrap());

    repo.create("state-expired", now - Duration::minutes(1)).await.unwrap();
    assert!(!repo.consume("state-expired", now).await.unwrap(), "an expired state is refused");
    repo.create("state-expired", now + Duration::minutes(1)).await.unwrap();

    repo.create("old-1", now - Duration::minutes(5)).await.unwrap();
    repo.create("old-2", now - Duration::seconds(1)).await.unwrap();
    assert_eq!(repo.purge_expired(now).await.unwrap(), 2);
    assert!(repo.consume("state-expired", now).await.unwrap(), "unexpired states survive a purge");
}

/// A pull request delivery whose payload names it, so that a payload stored on another
/// delivery's event is seen.
fn delivery(id: &str) -> NewEvent {
    NewEvent {
        payload: format!("{{\"kind\":\"opened_pull_request\",\"delivery\":\"{id}\"}}"),
        delivery_id: Some(id.to_owned()),
        github_event: Some("pull_request".to_owned()),
        ..new_event("opened_pull_request", EventStatus::Pending)
    }
}

fn review_job(pr_number: u64, head_sha: &str, max_attempts: u32) -> NewReviewJob {
    NewReviewJob {
        repo_id: 1_296_269,
        repo: repo("octocat/Hello-World"),
        pr_number,
        head_sha: head_sha.to_owned(),
        installation_id: Some(7),
        max_attempts,
        pull_request: None,
    }
}

const LEASE: std::time::Duration = std::time::Duration::from_secs(60);

/// The `ReviewQueue` contract.
#[expect(clippy::too_many_lines, reason = "one scenario, told in order")]
pub async fn review_queue(stores: &Stores) {
    let queue = &stores.queue;
    let events = &stores.events;
    let runs = &stores.review_runs;
    let event_status = |id| async move { events.find_by_id(id).await.unwrap().unwrap().status };

    // Deliveries are stored once.
    let ping = queue
        .accept(
            NewEvent { status: EventStatus::Completed, ..delivery("d-ping") },
            IntakeEffect::None,
        )
        .await
        .unwrap();
    assert_eq!((ping.job, ping.event.status), (None, EventStatus::Completed));
    match queue.accept(delivery("d-ping"), IntakeEffect::QueueReview(review_job(1, "aaa", 3))).await
    {
        Err(QueueError::DuplicateDelivery(id)) => assert_eq!(id, ping.event.id),
        other => panic!("expected DuplicateDelivery, got {other:?}"),
    }
    assert!(
        queue.jobs_of_pull_request(1_296_269, 1).await.unwrap().is_empty(),
        "a duplicate queues nothing"
    );

    // A review is queued once per commit.
    let first = queue
        .accept(delivery("d-1"), IntakeEffect::QueueReview(review_job(1, "aaa", 3)))
        .await
        .unwrap();
    let first_job = first.job.unwrap();
    assert_eq!(first.event.status, EventStatus::Pending);
    let again = queue
        .accept(delivery("d-1-again"), IntakeEffect::QueueReview(review_job(1, "aaa", 3)))
        .await
        .unwrap();
    assert_eq!(again.job, None);
    assert_eq!(again.event.status, EventStatus::Ignored, "not left pending");

    // Claiming leases the job, counts the attempt, starts its run, marks its event.
    let claimed = queue.claim("worker-a", LEASE).await.unwrap().unwrap();
    assert_eq!((claimed.id, claimed.status, claimed.attempts), (first_job, JobStatus::Running, 1));
    assert_eq!(
        (claimed.repo.as_str(), claimed.pr_number, claimed.head_sha.as_str()),
        ("octocat/Hello-World", 1, "aaa")
    );
    let run_id = claimed.review_run_id.unwrap();
    assert_eq!(runs.find_by_id(run_id).await.unwrap().unwrap().status, ReviewRunStatus::Running);
    assert_eq!(event_status(first.event.id).await, EventStatus::Processing);
    assert!(queue.claim("worker-b", LEASE).await.unwrap().is_none(), "nothing else to do");
    assert_eq!(queue.heartbeat(first_job, "worker-a", LEASE).await.unwrap(), None);
    assert!(matches!(
        queue.complete(first_job, "worker-b", None).await,
        Err(QueueError::NotHeld(_))
    ));

    // A newer head supersedes: it waits while the old job runs, which is asked to stop.
    let newer = queue
        .accept(delivery("d-2"), IntakeEffect::QueueReview(review_job(1, "bbb", 3)))
        .await
        .unwrap();
    let newer_job = newer.job.unwrap();
    let other_pr = queue
        .accept(delivery("d-3"), IntakeEffect::QueueReview(review_job(2, "ccc", 3)))
        .await
        .unwrap()
        .job
        .unwrap();
    let parallel = queue.claim("worker-b", LEASE).await.unwrap().unwrap();
    assert_eq!(parallel.id, other_pr, "another pull request runs in parallel, this one waits");
    assert!(
        queue.claim("worker-c", LEASE).await.unwrap().is_none(),
        "one running job per pull request"
    );
    assert_eq!(
        queue.heartbeat(first_job, "worker-a", LEASE).await.unwrap(),
        Some(StopReason::Superseded)
    );
    queue.stop(first_job, "worker-a", StopReason::Superseded).await.unwrap();
    assert_eq!(queue.find(first_job).await.unwrap().unwrap().status, JobStatus::Superseded);
    assert_eq!(event_status(first.event.id).await, EventStatus::Superseded);
    assert_eq!(runs.find_by_id(run_id).await.unwrap().unwrap().status, ReviewRunStatus::Superseded);

    // Completing records the result on the run and ends the event.
    let second = queue.claim("worker-a", LEASE).await.unwrap().unwrap();
    assert_eq!(second.id, newer_job);
    let result = serde_json::json!({"verdict": "APPROVE", "files_analyzed": 2});
    queue.complete(newer_job, "worker-a", Some(result.clone())).await.unwrap();
    let done = queue.find(newer_job).await.unwrap().unwrap();
    assert_eq!(done.status, JobStatus::Completed);
    let event = events.find_by_id(newer.event.id).await.unwrap().unwrap();
    assert_eq!(event.status, EventStatus::Completed);
    assert!(event.processed_at.is_some());
    let run = runs.find_by_id(done.review_run_id.unwrap()).await.unwrap().unwrap();
    assert_eq!((run.status, run.result.as_ref()), (ReviewRunStatus::Completed, Some(&result)));
    assert!(
        matches!(queue.complete(newer_job, "worker-a", None).await, Err(QueueError::NotHeld(_))),
        "once"
    );

    // A queued job of an older commit is superseded at once.
    let third = queue
        .accept(delivery("d-4"), IntakeEffect::QueueReview(review_job(3, "ddd", 3)))
        .await
        .unwrap();
    let fourth = queue
        .accept(delivery("d-5"), IntakeEffect::QueueReview(review_job(3, "eee", 3)))
        .await
        .unwrap();
    assert_eq!(
        queue.find(third.job.unwrap()).await.unwrap().unwrap().status,
        JobStatus::Superseded
    );
    assert_eq!(event_status(third.event.id).await, EventStatus::Superseded);

    // Closing cancels queued work and stops running work.
    assert_eq!(queue.cancel_pull_request(1_296_269, 3).await.unwrap(), 1);
    assert_eq!(
        queue.find(fourth.job.unwrap()).await.unwrap().unwrap().status,
        JobStatus::Cancelled
    );
    assert_eq!(event_status(fourth.event.id).await, EventStatus::Cancelled);
    assert_eq!(queue.cancel_pull_request(1_296_269, 2).await.unwrap(), 1);
    assert_eq!(
        queue.heartbeat(other_pr, "worker-b", LEASE).await.unwrap(),
        Some(StopReason::Cancelled)
    );
    queue.stop(other_pr, "worker-b", StopReason::Cancelled).await.unwrap();
    assert_eq!(queue.find(other_pr).await.unwrap().unwrap().status, JobStatus::Cancelled);

    // Failures retry until the attempts run out, then fail job, event and run with the error.
    let flaky = queue
        .accept(delivery("d-6"), IntakeEffect::QueueReview(review_job(4, "fff", 2)))
        .await
        .unwrap();
    let flaky_job = flaky.job.unwrap();
    queue.claim("worker-a", LEASE).await.unwrap().unwrap();
    let later = Utc::now() + Duration::hours(1);
    assert_eq!(
        queue.fail(flaky_job, "worker-a", "GitHub 502", Some(later)).await.unwrap(),
        JobStatus::Queued
    );
    assert!(queue.claim("worker-a", LEASE).await.unwrap().is_none(), "not before its retry time");
    let flaky_row = queue.find(flaky_job).await.unwrap().unwrap();
    assert_eq!(
        (flaky_row.status, flaky_row.last_error.as_deref()),
        (JobStatus::Queued, Some("GitHub 502"))
    );
    let soon = queue
        .accept(delivery("d-7"), IntakeEffect::QueueReview(review_job(5, "ggg", 2)))
        .await
        .unwrap()
        .job
        .unwrap();
    let claimed = queue.claim("worker-a", LEASE).await.unwrap().unwrap();
    assert_eq!(claimed.id, soon);
    assert_eq!(
        queue
            .fail(soon, "worker-a", "retry now", Some(Utc::now() - Duration::seconds(1)))
            .await
            .unwrap(),
        JobStatus::Queued
    );
    let retried = queue.claim("worker-b", LEASE).await.unwrap().unwrap();
    assert_eq!((retried.id, retried.attempts), (soon, 2));
    assert_eq!(
        queue.fail(soon, "worker-b", "model unavailable", Some(Utc::now())).await.unwrap(),
        JobStatus::Failed,
        "out of attempts"
    );
    let failed = queue.find(soon).await.unwrap().unwrap();
    assert_eq!(
        (failed.status, failed.last_error.as_deref()),
        (JobStatus::Failed, Some("model unavailable"))
    );
    let failed_run = runs.find_by_id(failed.review_run_id.unwrap()).await.unwrap().unwrap();
    assert_eq!(
        (failed_run.status, failed_run.error.as_deref()),
        (ReviewRunStatus::Failed, Some("model unavailable"))
    );

    // A lease that is not renewed expires; the job is claimed again and the old worker lost it.
    let orphan = queue
        .accept(delivery("d-8"), IntakeEffect::QueueReview(review_job(6, "hhh", 3)))
        .await
        .unwrap();
    let orphan_job = orphan.job.unwrap();
    let first_lease = queue.claim("worker-dead", std::time::Duration::ZERO).await.unwrap().unwrap();
    assert_eq!(first_lease.id, orphan_job);
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let reclaimed = queue.claim("worker-alive", LEASE).await.unwrap().unwrap();
    assert_eq!((reclaimed.id, reclaimed.attempts), (orphan_job, 2));
    assert_eq!(reclaimed.review_run_id, first_lease.review_run_id, "one run per job");
    assert_eq!(
        queue.heartbeat(orphan_job, "worker-dead", LEASE).await.unwrap(),
        Some(StopReason::LeaseLost)
    );
    assert!(matches!(
        queue.complete(orphan_job, "worker-dead", None).await,
        Err(QueueError::NotHeld(_))
    ));

    // Releasing (shutdown) returns the job without counting the attempt.
    queue.release(orphan_job, "worker-alive").await.unwrap();
    let released = queue.find(orphan_job).await.unwrap().unwrap();
    assert_eq!((released.status, released.attempts), (JobStatus::Queued, 1));
    assert_eq!(event_status(orphan.event.id).await, EventStatus::Pending);
    let resumed = queue.claim("worker-alive", LEASE).await.unwrap().unwrap();
    assert_eq!(resumed.id, orphan_job);
    queue.complete(orphan_job, "worker-alive", None).await.unwrap();
}

/// The `ReviewQueue` contract when many deliveries arrive at once (stores may batch them): the
/// pushes of each pull request, even when they arrive together, leave exactly one queued job and
/// supersede the others; redeliveries and repeated commits are recognised as such.
pub async fn concurrent_deliveries(stores: &Stores) {
    const REPO_ID: i64 = 44_000_000;
    const PULL_REQUESTS: u64 = 40;
    let job = |pr_number: u64, push: u64| NewReviewJob {
        repo_id: REPO_ID,
        head_sha: format!("{pr_number:020}{push:020}"),
        ..review_job(pr_number, "", 3)
    };
    let bursts = (1..=PULL_REQUESTS).map(|pr_number| {
        let queue = stores.queue.clone();
        tokio::spawn(async move {
            let pushes = (1..=3).map(|push| {
                let id = format!("burst-{pr_number}-{push}");
                let queue = queue.clone();
                async move {
                    queue
                        .accept(delivery(&id), IntakeEffect::QueueReview(job(pr_number, push)))
                        .await
                        .unwrap()
                }
            });
            (pr_number, futures_util::future::join_all(pushes).await)
        })
    });
    let outcomes: Vec<_> = futures_util::future::join_all(bursts).await;
    assert_eq!(outcomes.len(), usize::try_from(PULL_REQUESTS).unwrap());
    for outcome in outcomes {
        let (pr_number, accepted) = outcome.unwrap();
        let jobs = stores.queue.jobs_of_pull_request(REPO_ID, pr_number).await.unwrap();
        assert_eq!(jobs.len(), 3, "pull request {pr_number}: one job per commit");
        let queued: Vec<_> = jobs.iter().filter(|job| job.status == JobStatus::Queued).collect();
        assert_eq!(queued.len(), 1, "pull request {pr_number}: {jobs:?}");
        for job in &jobs {
            let event = stores.events.find_by_id(job.event_id).await.unwrap().unwrap();
            let expected = if job.status == JobStatus::Queued {
                EventStatus::Pending
            } else {
                assert_eq!(job.status, JobStatus::Superseded, "pull request {pr_number}");
                EventStatus::Superseded
            };
            assert_eq!(event.status, expected, "pull request {pr_number}");
            let stored = accepted.iter().find(|accepted| accepted.event.id == event.id).unwrap();
            assert_eq!((stored.job, &event.payload), (Some(job.id), &stored.event.payload));
        }
        let first = format!("burst-{pr_number}-1");
        match stores
            .queue
            .accept(delivery(&first), IntakeEffect::QueueReview(job(pr_number, 1)))
            .await
        {
            Err(QueueError::DuplicateDelivery(id)) => assert_eq!(id, accepted[0].event.id),
            other => panic!("pull request {pr_number}: expected a duplicate, got {other:?}"),
        }
        let repeat = NewReviewJob { head_sha: queued[0].head_sha.clone(), ..job(pr_number, 0) };
        let repeated = format!("burst-{pr_number}-repeat");
        let repeat = stores
            .queue
            .accept(delivery(&repeated), IntakeEffect::QueueReview(repeat))
            .await
            .unwrap();
        assert_eq!((repeat.job, repeat.event.status), (None, EventStatus::Ignored));
    }
}

/// The `ReviewQueue` contract of a delivery's effects: they apply only to a first delivery. A
/// redelivered `closed` cancels nothing (not the review queued after the pull request was
/// reopened), a redelivered `ping` marks nothing, and a cancellation accepted right after the
/// review it cancels (even in the same batch) sees it.
pub async fn intake_effects(stores: &Stores) {
    const REPO_ID: i64 = 55_000_000;
    let queue = &stores.queue;
    let job = |pr_number: u64, head_sha: &str| NewReviewJob {
        repo_id: REPO_ID,
        ..review_job(pr_number, head_sha, 3)
    };
    let closing = |id: &str| NewEvent {
        status: EventStatus::Completed,
        ..new_event_named(id, "closed_pull_request")
    };
    let close =
        IntakeEffect::CancelPullRequest { repo_id: REPO_ID, pr_number: 1, pull_request: None };
    let job_status = |id| async move { queue.find(id).await.unwrap().unwrap().status };

    let opened = queue.accept(delivery("fx-open"), IntakeEffect::QueueReview(job(1, "a1"))).await;
    let opened = opened.unwrap().job.unwrap();
    let closed = queue.accept(closing("fx-close"), close.clone()).await.unwrap();
    assert_eq!((closed.job, closed.event.status), (None, EventStatus::Completed));
    assert_eq!(job_status(opened).await, JobStatus::Cancelled, "closing cancels");
    let reopened = queue.accept(delivery("fx-reopen"), IntakeEffect::QueueReview(job(1, "a2")));
    let reopened = reopened.await.unwrap().job.unwrap();
    match queue.accept(closing("fx-close"), close).await {
        Err(QueueError::DuplicateDelivery(id)) => assert_eq!(id, closed.event.id),
        other => panic!("expected DuplicateDelivery, got {other:?}"),
    }
    assert_eq!(
        job_status(reopened).await,
        JobStatus::Queued,
        "a redelivered close cancels nothing"
    );

    // A ping marks the installations it names (unknown ids are skipped), once.
    let user =
        stores.users.upsert_by_github_id(upsert(55_001, "pinger", "gho_ping")).await.unwrap();
    let hooked = stores
        .installations
        .create(installation(user.id, "pinger/hooked", 55_002, REPO_ID))
        .await
        .unwrap();
    let mark = IntakeEffect::MarkVerified(vec![hooked.id, InstallationId::new(987_654)]);
    let ping = NewEvent { status: EventStatus::Completed, ..new_event_named("fx-ping", "unknown") };
    queue.accept(ping.clone(), mark.clone()).await.unwrap();
    let verified = |id| async move {
        stores.installations.find_by_id(id).await.unwrap().unwrap().verified_at.unwrap()
    };
    let first = verified(hooked.id).await;
    assert_recent(first, "verified_at");
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    assert!(matches!(queue.accept(ping, mark).await, Err(QueueError::DuplicateDelivery(_))));
    assert_eq!(verified(hooked.id).await, first, "a redelivered ping marks nothing");

    // Opened and closed arriving together, for many pull requests at once: each close, accepted
    // after its open, cancels the job the open queued.
    let pairs = (100..120).map(|pr_number| {
        let queue = queue.clone();
        tokio::spawn(async move {
            let open = queue.accept(
                delivery(&format!("fx-burst-open-{pr_number}")),
                IntakeEffect::QueueReview(job(pr_number, "b1")),
            );
            let close = queue.accept(
                closing(&format!("fx-burst-close-{pr_number}")),
                IntakeEffect::CancelPullRequest { repo_id: REPO_ID, pr_number, pull_request: None },
            );
            let (open, close) = futures_util::future::join(open, close).await;
            (open.unwrap(), close.unwrap())
        })
    });
    for pair in futures_util::future::join_all(pairs).await {
        let (open, _) = pair.unwrap();
        let open = open.job.unwrap();
        assert_eq!(job_status(open).await, JobStatus::Cancelled, "job {open}");
    }
}

/// A delivery with its own id and event type.
fn new_event_named(id: &str, event_type: &str) -> NewEvent {
    NewEvent {
        payload: format!("{{\"kind\":\"{event_type}\",\"delivery\":\"{id}\"}}"),
        event_type: event_type.to_owned(),
        ..delivery(id)
    }
}

/// The `ReviewQueue` contract of a pull request that comes back with the head whose review its
/// closing cancelled (reopened, ready for review, or a new delivery after the close): the same
/// job is queued again, as the new delivery's, with a fresh attempt count and a new review run,
/// even when many arrive together; a completed or failed review of that head is not repeated.
#[expect(clippy::too_many_lines, reason = "one scenario, told in order")]
pub async fn reopened_reviews(stores: &Stores) {
    const REPO_ID: i64 = 66_000_000;
    let queue = &stores.queue;
    let runs = &stores.review_runs;
    let job = |pr_number: u64, head_sha: &str| {
        IntakeEffect::QueueReview(NewReviewJob {
            repo_id: REPO_ID,
            ..review_job(pr_number, head_sha, 2)
        })
    };
    let close = |id: String, pr_number: u64| async move {
        let event = NewEvent {
            status: EventStatus::Completed,
            ..new_event_named(&id, "closed_pull_request")
        };
        let effect =
            IntakeEffect::CancelPullRequest { repo_id: REPO_ID, pr_number, pull_request: None };
        queue.accept(event, effect).await.unwrap()
    };
    let find = |id| async move { queue.find(id).await.unwrap().unwrap() };
    let event_status =
        |id| async move { stores.events.find_by_id(id).await.unwrap().unwrap().status };

    // Closed while queued, then reopened with the same head: the job is queued again.
    let opened = queue.accept(delivery("ro-open"), job(1, "r1")).await.unwrap();
    let job_id = opened.job.unwrap();
    close("ro-close".to_owned(), 1).await;
    assert_eq!(find(job_id).await.status, JobStatus::Cancelled);
    let reopened = queue.accept(delivery("ro-reopen"), job(1, "r1")).await.unwrap();
    assert_eq!((reopened.job, reopened.event.status), (Some(job_id), EventStatus::Pending));
    let requeued = find(job_id).await;
    assert_eq!(
        (requeued.status, requeued.attempts, requeued.event_id, requeued.review_run_id),
        (JobStatus::Queued, 0, reopened.event.id, None),
        "queued again as the reopen's job"
    );
    assert_eq!(event_status(opened.event.id).await, EventStatus::Cancelled, "history is kept");
    assert_eq!(queue.jobs_of_pull_request(REPO_ID, 1).await.unwrap().len(), 1);
    assert!(matches!(
        queue.accept(delivery("ro-reopen"), job(1, "r1")).await,
        Err(QueueError::DuplicateDelivery(_))
    ));
    let claimed = queue.claim("ro-worker", LEASE).await.unwrap().unwrap();
    assert_eq!((claimed.id, claimed.attempts), (job_id, 1));
    let first_run = claimed.review_run_id.unwrap();
    assert_eq!(runs.find_by_id(first_run).await.unwrap().unwrap().event_id, reopened.event.id);
    assert_eq!(event_status(reopened.event.id).await, EventStatus::Processing);

    // Closed while running: it stops cancelled; back again: fresh attempts, a new run, no stop.
    close("ro-close-2".to_owned(), 1).await;
    let stop = queue.heartbeat(job_id, "ro-worker", LEASE).await.unwrap();
    assert_eq!(stop, Some(StopReason::Cancelled));
    queue.stop(job_id, "ro-worker", StopReason::Cancelled).await.unwrap();
    let ready = queue.accept(delivery("ro-ready"), job(1, "r1")).await.unwrap();
    assert_eq!((ready.job, ready.event.status), (Some(job_id), EventStatus::Pending));
    let reclaimed = queue.claim("ro-worker-2", LEASE).await.unwrap().unwrap();
    assert_eq!((reclaimed.id, reclaimed.attempts, reclaimed.event_id), (job_id, 1, ready.event.id));
    let second_run = reclaimed.review_run_id.unwrap();
    assert_ne!(second_run, first_run, "a new review run");
    let cancelled_run = runs.find_by_id(first_run).await.unwrap().unwrap();
    assert_eq!(cancelled_run.status, ReviewRunStatus::Cancelled, "the cancelled run is kept");
    assert_eq!(queue.heartbeat(job_id, "ro-worker-2", LEASE).await.unwrap(), None);
    queue.complete(job_id, "ro-worker-2", None).await.unwrap();
    let completed_run = runs.find_by_id(second_run).await.unwrap().unwrap();
    assert_eq!(completed_run.status, ReviewRunStatus::Completed);
    assert_eq!(event_status(ready.event.id).await, EventStatus::Completed);

    // A completed review is not repeated.
    close("ro-close-3".to_owned(), 1).await;
    let after_review = queue.accept(delivery("ro-reopen-3"), job(1, "r1")).await.unwrap();
    assert_eq!((after_review.job, after_review.event.status), (None, EventStatus::Ignored));
    let done = find(job_id).await;
    assert_eq!((done.status, done.review_run_id), (JobStatus::Completed, Some(second_run)));

    // Nor a failed one.
    let failing = queue.accept(delivery("ro-fail-open"), job(2, "f1")).await.unwrap();
    let failing = failing.job.unwrap();
    assert_eq!(queue.claim("ro-worker", LEASE).await.unwrap().unwrap().id, failing);
    let failed = queue.fail(failing, "ro-worker", "bad diff", None).await.unwrap();
    assert_eq!(failed, JobStatus::Failed);
    close("ro-fail-close".to_owned(), 2).await;
    let after_failure = queue.accept(delivery("ro-fail-reopen"), job(2, "f1")).await.unwrap();
    assert_eq!((after_failure.job, after_failure.event.status), (None, EventStatus::Ignored));
    assert_eq!(find(failing).await.status, JobStatus::Failed);

    // Many pull requests reopened at once (stores may batch them): each job is queued again.
    let numbers = 10..30_u64;
    let mut cancelled = Vec::new();
    for number in numbers.clone() {
        let opened = queue.accept(delivery(&format!("ro-b-open-{number}")), job(number, "b1"));
        cancelled.push(opened.await.unwrap().job.unwrap());
        close(format!("ro-b-close-{number}"), number).await;
    }
    let reopens = numbers.clone().map(|number| {
        let queue = queue.clone();
        tokio::spawn(async move {
            let reopen = delivery(&format!("ro-b-reopen-{number}"));
            let effect = IntakeEffect::QueueReview(NewReviewJob {
                repo_id: REPO_ID,
                ..review_job(number, "b1", 2)
            });
            queue.accept(reopen, effect).await.unwrap()
        })
    });
    let reopened = futures_util::future::join_all(reopens).await;
    for (accepted, id) in reopened.into_iter().zip(&cancelled) {
        let accepted = accepted.unwrap();
        assert_eq!((accepted.job, accepted.event.status), (Some(*id), EventStatus::Pending));
        let job = find(*id).await;
        assert_eq!((job.status, job.event_id), (JobStatus::Queued, accepted.event.id));
    }
    for number in numbers {
        close(format!("ro-b-close-again-{number}"), number).await;
    }
}

/// The `ReviewQueue` contract of a stop request and a lease: a job asked to stop (superseded by
/// a newer head, or cancelled) whose worker ignores the request and lets its lease expire ends
/// with the status it was asked for and never runs again; so does one whose failed attempt
/// would be retried, or that is released.
pub async fn stop_requests_outlive_leases(stores: &Stores) {
    const REPO_ID: i64 = 77_000_000;
    let queue = &stores.queue;
    let runs = &stores.review_runs;
    let job = |pr_number: u64, head_sha: &str| {
        IntakeEffect::QueueReview(NewReviewJob {
            repo_id: REPO_ID,
            ..review_job(pr_number, head_sha, 3)
        })
    };
    let find = |id| async move { queue.find(id).await.unwrap().unwrap() };
    let event_status =
        |id| async move { stores.events.find_by_id(id).await.unwrap().unwrap().status };
    let expire = || tokio::time::sleep(std::time::Duration::from_millis(20));

    // Superseded while running; the worker ignores the stop and its lease expires.
    let old = queue.accept(delivery("sl-old"), job(1, "s1")).await.unwrap();
    let old_job = old.job.unwrap();
    let deaf = queue.claim("sl-deaf", std::time::Duration::ZERO).await.unwrap().unwrap();
    assert_eq!(deaf.id, old_job);
    let newer = queue.accept(delivery("sl-new"), job(1, "s2")).await.unwrap().job.unwrap();
    expire().await;
    let next = queue.claim("sl-worker", LEASE).await.unwrap().unwrap();
    assert_eq!(next.id, newer, "the newer head runs");
    let ended = find(old_job).await;
    assert_eq!((ended.status, ended.attempts), (JobStatus::Superseded, 1));
    assert_eq!(event_status(old.event.id).await, EventStatus::Superseded);
    let run = runs.find_by_id(deaf.review_run_id.unwrap()).await.unwrap().unwrap();
    assert_eq!(run.status, ReviewRunStatus::Superseded);
    assert_eq!(
        queue.heartbeat(old_job, "sl-deaf", LEASE).await.unwrap(),
        Some(StopReason::LeaseLost)
    );
    queue.complete(newer, "sl-worker", None).await.unwrap();
    assert!(queue.claim("sl-worker", LEASE).await.unwrap().is_none(), "the old head never again");
    assert_eq!(find(old_job).await.status, JobStatus::Superseded);

    // Cancelled while running, on its last attempt; the lease expires: cancelled, not failed.
    let closing = queue
        .accept(
            delivery("sl-close-open"),
            IntakeEffect::QueueReview(NewReviewJob { repo_id: REPO_ID, ..review_job(2, "c1", 1) }),
        )
        .await
        .unwrap();
    let closing_job = closing.job.unwrap();
    queue.claim("sl-deaf", std::time::Duration::ZERO).await.unwrap().unwrap();
    assert_eq!(queue.cancel_pull_request(REPO_ID, 2).await.unwrap(), 1);
    expire().await;
    assert!(queue.claim("sl-worker", LEASE).await.unwrap().is_none());
    assert_eq!(find(closing_job).await.status, JobStatus::Cancelled);
    assert_eq!(event_status(closing.event.id).await, EventStatus::Cancelled);

    // A failed attempt of a superseded job is not retried.
    let flaky = queue.accept(delivery("sl-fail"), job(3, "f1")).await.unwrap().job.unwrap();
    queue.claim("sl-worker", LEASE).await.unwrap().unwrap();
    let replacement = queue.accept(delivery("sl-fail-new"), job(3, "f2")).await.unwrap();
    let retry_at = Some(Utc::now() - Duration::seconds(1));
    let status = queue.fail(flaky, "sl-worker", "GitHub 502", retry_at).await.unwrap();
    assert_eq!(status, JobStatus::Superseded);
    assert_eq!(find(flaky).await.status, JobStatus::Superseded);
    let next = queue.claim("sl-worker", LEASE).await.unwrap().unwrap();
    assert_eq!(next.id, replacement.job.unwrap());
    queue.complete(next.id, "sl-worker", None).await.unwrap();

    // Nor is a cancelled job that is released on shutdown.
    let released = queue.accept(delivery("sl-release"), job(4, "r1")).await.unwrap();
    let released = released.job.unwrap();
    queue.claim("sl-worker", LEASE).await.unwrap().unwrap();
    queue.cancel_pull_request(REPO_ID, 4).await.unwrap();
    queue.release(released, "sl-worker").await.unwrap();
    assert_eq!(find(released).await.status, JobStatus::Cancelled);
    assert!(queue.claim("sl-worker", LEASE).await.unwrap().is_none());
}
