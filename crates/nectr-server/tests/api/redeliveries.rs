//! Redeliveries change nothing, on SQLite and on PostgreSQL: a stale `closed` delivered again
//! after the pull request was reopened does not cancel the new review, and a `ping` delivered
//! again does not mark its installation again.

use std::time::Duration;

use nectr_domain::queue::{JobStatus, ReviewQueue};
use nectr_domain::{
    AccessToken, EventId, EventRepository, EventStatus, InstallationRepository, NewInstallation,
    RepoFullName, UserRepository, UserUpsert, WebhookSecret,
};
use nectr_testkit::{TestApp, TestDatabase, spawn_app_on};
use secrecy::SecretString;
use serde_json::{Value, json};

const SECRET: &str = "redelivery-webhook-secret";
const REPO_ID: i64 = 7_700_001;
const PR_NUMBER: u64 = 42;

/// Sends a signed delivery and answers its status and JSON body.
async fn deliver(
    app: &TestApp,
    event: &str,
    delivery_id: &str,
    body: &Value,
    secret: &str,
    hook_id: Option<i64>,
) -> (u16, Value) {
    let body = serde_json::to_vec(body).unwrap();
    let mut request = app
        .client
        .post(app.url("/api/v1/webhooks/github"))
        .header("X-GitHub-Event", event)
        .header("X-GitHub-Delivery", delivery_id)
        .header("X-Hub-Signature-256", nectr_github::sign(secret.as_bytes(), &body))
        .header("Content-Type", "application/json")
        .body(body);
    if let Some(hook_id) = hook_id {
        request = request.header("X-GitHub-Hook-ID", hook_id.to_string());
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

fn pull_request(action: &str, head_sha: &str) -> Value {
    json!({
        "action": action,
        "number": PR_NUMBER,
        "pull_request": {"number": PR_NUMBER, "draft": false, "head": {"sha": head_sha}},
        "repository": {"id": REPO_ID, "full_name": "octo-org/redelivered"},
    })
}

async fn event_status(app: &TestApp, answer: &Value) -> EventStatus {
    let id = EventId::new(answer["event_id"].as_i64().unwrap());
    EventRepository::find_by_id(app.store.as_ref(), id).await.unwrap().unwrap().status
}

#[tokio::test]
async fn a_redelivered_close_after_a_reopen_leaves_the_new_review_queued_on_every_engine() {
    let databases = TestDatabase::every_engine().await;
    for database in databases {
        let engine = database.engine;
        let app = spawn_app_on(database, |settings| {
            settings.github.webhook_secret = Some(SecretString::from(SECRET));
        })
        .await;
        let send = |id: &'static str, body: Value| {
            let app = &app;
            async move { deliver(app, "pull_request", id, &body, SECRET, None).await }
        };
        let first_head = "1".repeat(40);
        // Pushed while the pull request was closed: the reopened head is a new commit.
        let reopened_head = "2".repeat(40);
        let (status, opened) = send("rd-open", pull_request("opened", &first_head)).await;
        assert_eq!((status, opened["review_queued"].as_bool()), (200, Some(true)), "{engine:?}");
        let closed_body = pull_request("closed", &first_head);
        let (status, closed) = send("rd-close", closed_body.clone()).await;
        assert_eq!((status, closed["status"].as_str()), (200, Some("received")), "{engine:?}");
        let jobs = app.store.jobs_of_pull_request(REPO_ID, PR_NUMBER).await.unwrap();
        assert_eq!(jobs.len(), 1, "{engine:?}");
        assert_eq!(jobs[0].status, JobStatus::Cancelled, "{engine:?}: closing cancels");

        let (status, reopened) = send("rd-reopen", pull_request("reopened", &reopened_head)).await;
        assert_eq!((status, reopened["review_queued"].as_bool()), (200, Some(true)), "{engine:?}");

        // GitHub delivers the stale `closed` again, with its original delivery id.
        let (status, again) = send("rd-close", closed_body).await;
        assert_eq!(
            (status, again["status"].as_str(), &again["event_id"]),
            (200, Some("duplicate_skipped"), &closed["event_id"]),
            "{engine:?}"
        );
        let jobs = app.store.jobs_of_pull_request(REPO_ID, PR_NUMBER).await.unwrap();
        let statuses: Vec<_> = jobs.iter().map(|job| (job.head_sha.as_str(), job.status)).collect();
        assert_eq!(
            statuses,
            [
                (first_head.as_str(), JobStatus::Cancelled),
                (reopened_head.as_str(), JobStatus::Queued)
            ],
            "{engine:?}: the reopened review is still queued"
        );
        assert_eq!(event_status(&app, &reopened).await, EventStatus::Pending, "{engine:?}");
        app.stop().await;
    }
}

/// One connected repository whose webhook has `hook_id`, signed with `secret`.
async fn connect(app: &TestApp, hook_id: i64, secret: &str) -> nectr_domain::InstallationId {
    let user = app
        .store
        .upsert_by_github_id(UserUpsert {
            github_id: 77,
            github_username: "pinger".to_owned(),
            github_access_token: AccessToken::new("gho_pinger"),
            email: None,
            avatar_url: None,
            name: None,
        })
        .await
        .unwrap();
    let installation = NewInstallation {
        user_id: user.id,
        repo: RepoFullName::parse("octo-org/pinged").unwrap(),
        github_repo_id: Some(REPO_ID + 1),
        webhook_id: Some(hook_id),
        webhook_secret: Some(WebhookSecret::new(secret)),
        installation_id: None,
        access_token: None,
    };
    InstallationRepository::create(app.store.as_ref(), installation).await.unwrap().id
}

#[tokio::test]
async fn a_redelivered_ping_does_not_mark_its_installation_again_on_every_engine() {
    const HOOK_ID: i64 = 7_700_002;
    for database in TestDatabase::every_engine().await {
        let engine = database.engine;
        let app = spawn_app_on(database, |_| {}).await;
        let installation = connect(&app, HOOK_ID, "ping-secret").await;
        let verified_at = || async {
            let found = InstallationRepository::find_by_id(app.store.as_ref(), installation);
            found.await.unwrap().unwrap().verified_at
        };
        assert_eq!(verified_at().await, None, "{engine:?}");
        let ping = json!({"zen": "Keep it logically awesome.", "hook_id": HOOK_ID});
        let (status, first) =
            deliver(&app, "ping", "rd-ping", &ping, "ping-secret", Some(HOOK_ID)).await;
        assert_eq!((status, first["status"].as_str()), (200, Some("received")), "{engine:?}");
        let marked = verified_at().await.unwrap();

        // Later than the first mark by more than either engine's clock resolution.
        tokio::time::sleep(Duration::from_millis(50)).await;
        let (status, again) =
            deliver(&app, "ping", "rd-ping", &ping, "ping-secret", Some(HOOK_ID)).await;
        assert_eq!(
            (status, again["status"].as_str()),
            (200, Some("duplicate_skipped")),
            "{engine:?}"
        );
        assert_eq!(verified_at().await, Some(marked), "{engine:?}: the redelivery marks nothing");

        // A new ping does mark again: the check above could have seen a change.
        let (status, _) =
            deliver(&app, "ping", "rd-ping-2", &ping, "ping-secret", Some(HOOK_ID)).await;
        assert_eq!(status, 200, "{engine:?}");
        assert!(verified_at().await.unwrap() > marked, "{engine:?}: a new ping marks again");
        app.stop().await;
    }
}
