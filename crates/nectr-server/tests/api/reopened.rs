//! A pull request closed before its review ran and reopened with the same head is reviewed,
//! once, on SQLite and on PostgreSQL: the close cancels the queued job, the reopen queues that
//! job again (a new review run, a fresh attempt count), and the real pipeline posts one review
//! on the (fake) GitHub. A reopen after the review changes nothing.

use std::time::Duration;

use nectr_domain::queue::{JobStatus, ReviewJob, ReviewQueue};
use nectr_domain::{EventId, EventRepository, EventStatus};
use nectr_server::Settings;
use nectr_testkit::fake_github::{FakeFile, FakeGitHub, FakePull};
use nectr_testkit::{TestApp, TestDatabase, fixtures, spawn_app_on, spawn_app_reviewing_on};
use secrecy::SecretString;
use serde_json::Value;

const TOKEN: &str = "ghp_reopenedtoken000000000000000000000000";
const SECRET: &str = "reopened-webhook-secret";

/// The published `opened` fixture, as `action`.
fn payload(action: &str) -> Value {
    let fixture =
        std::fs::read(fixtures().join("github-webhooks/pull_request/00-opened.json")).unwrap();
    let mut payload: Value = serde_json::from_slice(&fixture).unwrap();
    payload["action"] = action.into();
    payload["pull_request"]["draft"] = false.into();
    if action == "closed" {
        payload["pull_request"]["state"] = "closed".into();
    }
    payload
}

/// Sends a signed `pull_request` delivery; answers its status and JSON body.
async fn deliver(app: &TestApp, delivery_id: &str, payload: &Value) -> (u16, Value) {
    let body = serde_json::to_vec(payload).unwrap();
    let response = app
        .client
        .post(app.url("/api/v1/webhooks/github"))
        .header("X-GitHub-Event", "pull_request")
        .header("X-GitHub-Delivery", delivery_id)
        .header("X-Hub-Signature-256", nectr_github::sign(SECRET.as_bytes(), &body))
        .header("Content-Type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

async fn event_status(app: &TestApp, answer: &Value) -> EventStatus {
    let id = EventId::new(answer["event_id"].as_i64().unwrap());
    EventRepository::find_by_id(app.store.as_ref(), id).await.unwrap().unwrap().status
}

/// Points Nectr at the fake GitHub, as `GITHUB_PAT`, with the webhook secret.
fn settings_for(fake_url: String) -> impl FnOnce(&mut Settings) + Send + 'static {
    move |settings| {
        settings.github.api_url.clone_from(&fake_url);
        settings.github.web_url = fake_url;
        settings.github.pat = Some(SecretString::from(TOKEN));
        settings.github.webhook_secret = Some(SecretString::from(SECRET));
        settings.github.writes_per_minute = 60_000;
        settings.github.retry_base_delay_ms = 10;
        settings.review.retry_base_ms = 10;
    }
}

async fn the_job(app: &TestApp, repo_id: i64, number: u64) -> ReviewJob {
    let mut jobs = app.store.jobs_of_pull_request(repo_id, number).await.unwrap();
    assert_eq!(jobs.len(), 1, "one job for one head: {jobs:?}");
    jobs.remove(0)
}

async fn until_final(app: &TestApp, repo_id: i64, number: u64) -> ReviewJob {
    for _ in 0..1_000 {
        let job = the_job(app, repo_id, number).await;
        if job.status.is_final() {
            return job;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the job did not end: {:?}", the_job(app, repo_id, number).await);
}

#[tokio::test]
async fn a_pull_request_reopened_with_the_head_whose_review_was_cancelled_is_reviewed_once() {
    for database in TestDatabase::every_engine().await {
        let engine = database.engine;
        let opened = payload("opened");
        let repo = opened["repository"]["full_name"].as_str().unwrap().to_owned();
        let repo_id = opened["repository"]["id"].as_i64().unwrap();
        let number = opened["number"].as_u64().unwrap();
        let head = opened["pull_request"]["head"]["sha"].as_str().unwrap().to_owned();
        let fake = FakeGitHub::start(TOKEN).await;
        {
            let mut state = fake.state();
            let mut pull = FakePull::new(number, vec![FakeFile::added_lines("src/lib.rs", 3)]);
            pull.head_sha.clone_from(&head);
            state.repo(&repo).pulls.insert(number, pull);
        }

        // Opened, then closed before any worker ran it (this process has none): cancelled.
        let intake_only = spawn_app_on(database, |settings| {
            settings_for(fake.url.clone())(settings);
            settings.workers.workers = 0;
        })
        .await;
        let (status, first) = deliver(&intake_only, "ro-http-open", &opened).await;
        assert_eq!((status, &first["review_queued"]), (200, &Value::Bool(true)), "{engine:?}");
        let (status, _) = deliver(&intake_only, "ro-http-close", &payload("closed")).await;
        assert_eq!(status, 200, "{engine:?}");
        let cancelled = the_job(&intake_only, repo_id, number).await;
        assert_eq!(cancelled.status, JobStatus::Cancelled, "{engine:?}: closing cancels");
        assert_eq!(cancelled.review_run_id, None, "{engine:?}: it never ran");
        intake_only.stop().await;
        let database = intake_only.database;

        // Reopened with the same head, with workers running the real pipeline.
        let app = spawn_app_reviewing_on(database, settings_for(fake.url.clone())).await;
        let (status, reopened) = deliver(&app, "ro-http-reopen", &payload("reopened")).await;
        assert_eq!((status, &reopened["review_queued"]), (200, &Value::Bool(true)), "{engine:?}");
        let job = until_final(&app, repo_id, number).await;
        assert_eq!(job.status, JobStatus::Completed, "{engine:?}: {:?}", job.last_error);
        assert_eq!((job.id, job.attempts), (cancelled.id, 1), "{engine:?}: the same job, anew");
        assert_eq!(job.event_id.get(), reopened["event_id"].as_i64().unwrap(), "{engine:?}");
        assert!(job.review_run_id.is_some(), "{engine:?}");
        assert_eq!(event_status(&app, &reopened).await, EventStatus::Completed, "{engine:?}");
        assert_eq!(event_status(&app, &first).await, EventStatus::Cancelled, "{engine:?}");
        let reviews =
            || fake.state().repos[&repo].reviews.get(&number).cloned().unwrap_or_default();
        let posted = reviews();
        assert_eq!(posted.len(), 1, "{engine:?}: exactly one review: {posted:?}");
        assert_eq!(posted[0].commit_id, head, "{engine:?}");

        // Closed and reopened again after the review: nothing is reviewed twice.
        deliver(&app, "ro-http-close-2", &payload("closed")).await;
        let (status, again) = deliver(&app, "ro-http-reopen-2", &payload("reopened")).await;
        assert_eq!((status, &again["review_queued"]), (200, &Value::Bool(false)), "{engine:?}");
        assert_eq!(event_status(&app, &again).await, EventStatus::Ignored, "{engine:?}");
        let (status, duplicate) = deliver(&app, "ro-http-reopen", &payload("reopened")).await;
        assert_eq!((status, &duplicate["status"]), (200, &Value::from("duplicate_skipped")));
        // Time for a worker to take anything that had been queued by mistake.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let done = the_job(&app, repo_id, number).await;
        assert_eq!((done.status, done.review_run_id), (JobStatus::Completed, job.review_run_id));
        assert_eq!(reviews().len(), 1, "{engine:?}: still one review");
        app.stop().await;
    }
}
