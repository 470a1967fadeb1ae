//! `POST /api/v1/webhooks/github` end to end: every published payload, signatures, duplicates,
//! superseding, cancelling, pings and malformed bodies.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use nectr_domain::queue::{JobStatus, ReviewQueue};
use nectr_domain::webhook::REVIEW_ACTIONS;
use nectr_domain::{
    AccessToken, EventFilter, EventRepository, EventStatus, InstallationRepository,
    NewInstallation, RepoFullName, UserRepository, UserUpsert, WebhookSecret,
};
use nectr_testkit::runners::{Behaviour, ScriptedRunner};
use nectr_testkit::{TestApp, fixtures, spawn_app_with, spawn_app_with_runner};
use secrecy::SecretString;
use serde_json::Value;

const SECRET: &str = "fixture-webhook-secret";

/// Every fixture delivery: (event name, file name, body).
fn every_delivery() -> Vec<(String, String, Vec<u8>)> {
    let root = fixtures().join("github-webhooks");
    let mut deliveries = Vec::new();
    for folder in std::fs::read_dir(&root).unwrap() {
        let folder = folder.unwrap().path();
        let event = folder.file_name().unwrap().to_string_lossy().into_owned();
        for file in std::fs::read_dir(&folder).unwrap() {
            let path = file.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            deliveries.push((event.clone(), name, std::fs::read(&path).unwrap()));
        }
    }
    deliveries.sort();
    assert!(deliveries.len() >= 60, "the fixtures are there: {}", deliveries.len());
    deliveries
}

async fn deliver(
    app: &TestApp,
    event: &str,
    delivery_id: &str,
    body: &[u8],
    signature: Option<&str>,
    hook_id: Option<i64>,
) -> reqwest::Response {
    let mut request = app
        .client
        .post(app.url("/api/v1/webhooks/github"))
        .header("X-GitHub-Event", event)
        .header("X-GitHub-Delivery", delivery_id)
        .header("Content-Type", "application/json")
        .body(body.to_vec());
    if let Some(signature) = signature {
        request = request.header("X-Hub-Signature-256", signature);
    }
    if let Some(hook_id) = hook_id {
        request = request.header("X-GitHub-Hook-ID", hook_id.to_string());
    }
    request.send().await.unwrap()
}

fn with_fallback_secret(settings: &mut nectr_server::Settings) {
    settings.github.webhook_secret = Some(SecretString::from(SECRET));
}

/// (repository id, pull request, head) of a payload that asks for a review.
fn review_key(event: &str, body: &[u8]) -> Option<(i64, u64, String)> {
    let payload: Value = serde_json::from_slice(body).ok()?;
    let action = payload["action"].as_str()?;
    let pull = &payload["pull_request"];
    let wanted = event == "pull_request"
        && REVIEW_ACTIONS.contains(&action)
        && !pull["draft"].as_bool().unwrap_or(false);
    wanted.then(|| {
        (
            payload["repository"]["id"].as_i64().unwrap(),
            pull["number"].as_u64().unwrap(),
            pull["head"]["sha"].as_str().unwrap().to_owned(),
        )
    })
}

#[tokio::test]
async fn every_published_payload_is_accepted_and_reviews_are_queued_exactly_for_review_actions() {
    let app = spawn_app_with(with_fallback_secret).await;
    let deliveries = every_delivery();
    let mut expected = BTreeSet::new();
    let mut pull_requests = BTreeSet::new();
    for (index, (event, name, body)) in deliveries.iter().enumerate() {
        let signature = nectr_github::sign(SECRET.as_bytes(), body);
        let response =
            deliver(&app, event, &format!("delivery-{index}"), body, Some(&signature), None).await;
        assert_eq!(response.status(), 200, "{event}/{name}");
        let answer: Value = response.json().await.unwrap();
        assert_eq!(answer["status"], "received", "{event}/{name}");
        if let Some(key) = review_key(event, body) {
            expected.insert(key);
        }
        if event == "pull_request" {
            let payload: Value = serde_json::from_slice(body).unwrap();
            pull_requests.insert((
                payload["repository"]["id"].as_i64().unwrap(),
                payload["number"].as_u64().unwrap(),
            ));
        }
    }
    assert!(!expected.is_empty());
    let mut queued = BTreeSet::new();
    for (repo_id, number) in pull_requests {
        for job in app.store.jobs_of_pull_request(repo_id, number).await.unwrap() {
            queued.insert((job.repo_id, job.pr_number, job.head_sha));
        }
    }
    assert_eq!(queued, expected, "a job exists exactly for the review actions");
    let events =
        app.store.list(&EventFilter { limit: 1000, ..EventFilter::default() }).await.unwrap();
    assert_eq!(events.len(), deliveries.len(), "every delivery is stored once");
    assert!(
        events.iter().all(|event| event.status != EventStatus::Pending
            || event.event_type.ends_with("_pull_request")),
        "nothing else is left pending"
    );
    let push = events.iter().find(|event| event.github_event.as_deref() == Some("push")).unwrap();
    assert_eq!((push.event_type.as_str(), push.status), ("push", EventStatus::Ignored));
    let labeled = events.iter().find(|event| event.event_type == "labeled_pull_request").unwrap();
    assert_eq!(labeled.status, EventStatus::Ignored);
    let closed = events.iter().find(|event| event.event_type == "closed_pull_request").unwrap();
    assert_eq!(closed.status, EventStatus::Completed);
}

/// Two connected repositories with their own secrets, and no fallback secret.
async fn two_installations(app: &TestApp) -> (i64, i64) {
    let user = app
        .store
        .upsert_by_github_id(UserUpsert {
            github_id: 1,
            github_username: "owner".to_owned(),
            github_access_token: AccessToken::new("gho_owner"),
            email: None,
            avatar_url: None,
            name: None,
        })
        .await
        .unwrap();
    let connect = |name: &str, repo_id: i64, hook_id: i64, secret: &str| NewInstallation {
        user_id: user.id,
        repo: RepoFullName::parse(name).unwrap(),
        github_repo_id: Some(repo_id),
        webhook_id: Some(hook_id),
        webhook_secret: Some(WebhookSecret::new(secret)),
        installation_id: None,
        access_token: None,
    };
    InstallationRepository::create(
        app.store.as_ref(),
        connect("owner/first", 1_296_269, 111, "secret-a"),
    )
    .await
    .unwrap();
    InstallationRepository::create(
        app.store.as_ref(),
        connect("owner/second", 424_242, 222, "secret-b"),
    )
    .await
    .unwrap();
    (111, 222)
}

#[tokio::test]
async fn unsigned_wrongly_signed_and_foreign_deliveries_are_refused_and_nothing_is_stored() {
    let app = spawn_app_with(|_| {}).await;
    let (hook_a, _hook_b) = two_installations(&app).await;
    for (index, (event, name, body)) in every_delivery().iter().enumerate() {
        let id = format!("refused-{index}");
        let unsigned = deliver(&app, event, &id, body, None, Some(hook_a)).await;
        assert_eq!(unsigned.status(), 401, "{event}/{name} unsigned");
        assert_eq!(unsigned.json::<Value>().await.unwrap()["code"], "missing_signature");
        let wrong = deliver(
            &app,
            event,
            &id,
            body,
            Some(&nectr_github::sign(b"guess", body)),
            Some(hook_a),
        )
        .await;
        assert_eq!(wrong.status(), 401, "{event}/{name} wrongly signed");
        assert_eq!(wrong.json::<Value>().await.unwrap()["code"], "invalid_signature");
        let foreign = deliver(
            &app,
            event,
            &id,
            body,
            Some(&nectr_github::sign(b"secret-b", body)),
            Some(hook_a),
        )
        .await;
        assert_eq!(
            foreign.status(),
            401,
            "{event}/{name} signed with another installation's secret"
        );
        let unknown = deliver(
            &app,
            event,
            &id,
            body,
            Some(&nectr_github::sign(b"secret-a", body)),
            Some(999),
        )
        .await;
        assert_eq!(unknown.status(), 401, "{event}/{name}: hook 999 is unknown");
    }
    let stored =
        app.store.list(&EventFilter { limit: 10, ..EventFilter::default() }).await.unwrap();
    assert!(stored.is_empty(), "nothing stored: {stored:?}");
}

#[tokio::test]
async fn the_secret_is_found_by_hook_id_then_repository_id_and_ping_verifies_the_installation() {
    let app = spawn_app_with(|_| {}).await;
    let (hook_a, _) = two_installations(&app).await;
    let ping = std::fs::read(fixtures().join("github-webhooks/ping/00-none.json")).unwrap();
    let response = deliver(
        &app,
        "ping",
        "ping-1",
        &ping,
        Some(&nectr_github::sign(b"secret-a", &ping)),
        Some(hook_a),
    )
    .await;
    assert_eq!(response.status(), 200);
    let first = app.store.find_active_by_webhook_id(hook_a).await.unwrap().remove(0);
    assert!(first.verified_at.is_some(), "ping marks the installation verified");
    // Without a hook id, the repository id in the payload finds the secret.
    let opened =
        std::fs::read(fixtures().join("github-webhooks/pull_request/00-opened.json")).unwrap();
    let mut payload: Value = serde_json::from_slice(&opened).unwrap();
    payload["repository"]["id"] = 424_242.into();
    let body = serde_json::to_vec(&payload).unwrap();
    let response = deliver(
        &app,
        "pull_request",
        "by-repo",
        &body,
        Some(&nectr_github::sign(b"secret-b", &body)),
        None,
    )
    .await;
    assert_eq!(response.status(), 200);
    let response = deliver(
        &app,
        "pull_request",
        "by-repo-wrong",
        &body,
        Some(&nectr_github::sign(b"secret-a", &body)),
        None,
    )
    .await;
    assert_eq!(response.status(), 401, "the payload's repository decides, not a guess");
}

#[tokio::test]
async fn a_deactivated_repositorys_secret_is_refused_once_the_cached_lookup_expires() {
    let app = spawn_app_with(|settings| settings.workers.webhook_secret_cache_seconds = 1).await;
    let (hook_a, _) = two_installations(&app).await;
    let body = opened_payload("opened", "cafe01");
    let signature = nectr_github::sign(b"secret-a", &body);
    let send = |id| deliver(&app, "pull_request", id, &body, Some(&signature), Some(hook_a));
    assert_eq!(send("cached-1").await.status(), 200);
    let installation = app.store.find_active_by_webhook_id(hook_a).await.unwrap().remove(0);
    app.store.deactivate(installation.id).await.unwrap();
    assert_eq!(send("cached-2").await.status(), 200, "the lookup is reused within its lifetime");
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    assert_eq!(send("cached-3").await.status(), 401, "then read again: the repository is gone");
}

#[tokio::test]
async fn a_repository_connected_after_a_cached_lookup_is_verified_at_once() {
    let app = spawn_app_with(|settings| {
        with_fallback_secret(settings);
        settings.workers.webhook_secret_cache_seconds = 3_600;
    })
    .await;
    let mut payload: Value = serde_json::from_slice(&opened_payload("opened", "cafe02")).unwrap();
    payload["repository"]["id"] = 1_296_269.into(); // owner/first, connected below
    let body = serde_json::to_vec(&payload).unwrap();
    let app = &app;
    let send = |id, secret: &str| {
        let signature = nectr_github::sign(secret.as_bytes(), &body);
        let body = body.clone();
        async move { deliver(app, "pull_request", id, &body, Some(&signature), None).await }
    };
    assert_eq!(send("before", SECRET).await.status(), 200, "no installation: the fallback");
    assert_eq!(send("unknown", "secret-a").await.status(), 401);
    two_installations(app).await;
    // The lookup that found nothing is cached for an hour; a delivery it would refuse is
    // checked against a fresh one.
    assert_eq!(send("after", "secret-a").await.status(), 200, "the new secret, at once");
    assert_eq!(send("forged", "secret-b").await.status(), 401, "another repository's secret");
    let stored = app.store.list(&EventFilter::default()).await.unwrap();
    let mut ids: Vec<_> = stored.iter().filter_map(|event| event.delivery_id.clone()).collect();
    ids.sort();
    assert_eq!(ids, ["after", "before"]);
}

#[tokio::test]
async fn githubs_test_vector_verifies_over_http_and_malformed_json_is_rejected_and_kept() {
    let app = spawn_app_with(|settings| {
        settings.github.webhook_secret = Some(SecretString::from("It's a Secret to Everybody"));
    })
    .await;
    let vector = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
    let response = deliver(&app, "ping", "vector", b"Hello, World!", Some(vector), None).await;
    assert_eq!(response.status(), 400, "the signature verifies; the body is not JSON");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], "invalid_json");
    let stored = app.store.list(&EventFilter::default()).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(
        (stored[0].status, stored[0].payload.as_str()),
        (EventStatus::Rejected, "Hello, World!")
    );
    let tampered = deliver(&app, "ping", "vector-2", b"Hello, World?", Some(vector), None).await;
    assert_eq!(tampered.status(), 401);
}

#[tokio::test]
async fn oversized_deliveries_are_refused_with_413() {
    let app = spawn_app_with(with_fallback_secret).await;
    let body = vec![b' '; 25 * 1024 * 1024 + 1];
    let response = deliver(
        &app,
        "push",
        "huge",
        &body,
        Some(&nectr_github::sign(SECRET.as_bytes(), &body)),
        None,
    )
    .await;
    assert_eq!(response.status(), 413);
    assert_eq!(response.json::<Value>().await.unwrap()["code"], "payload_too_large");
}

fn opened_payload(action: &str, head: &str) -> Vec<u8> {
    let opened =
        std::fs::read(fixtures().join("github-webhooks/pull_request/00-opened.json")).unwrap();
    let mut payload: Value = serde_json::from_slice(&opened).unwrap();
    payload["action"] = action.into();
    payload["pull_request"]["head"]["sha"] = head.into();
    payload["pull_request"]["draft"] = false.into();
    serde_json::to_vec(&payload).unwrap()
}

#[tokio::test]
async fn a_redelivery_runs_nothing_twice_and_a_newer_head_supersedes_the_running_review() {
    let old_head = "1111111111111111111111111111111111111111";
    let new_head = "2222222222222222222222222222222222222222";
    let runner = Arc::new(
        ScriptedRunner::new(Behaviour::Succeed(Duration::ZERO))
            .for_head(old_head, Behaviour::UntilStopped)
            .for_head(new_head, Behaviour::Succeed(Duration::from_millis(50))),
    );
    let app = spawn_app_with_runner(runner.clone(), with_fallback_secret).await;
    let sign = |body: &[u8]| nectr_github::sign(SECRET.as_bytes(), body);
    let opened = opened_payload("opened", old_head);
    let first: Value =
        deliver(&app, "pull_request", "delivery-1", &opened, Some(&sign(&opened)), None)
            .await
            .json()
            .await
            .unwrap();
    assert_eq!(first["status"], "received");
    let again: Value =
        deliver(&app, "pull_request", "delivery-1", &opened, Some(&sign(&opened)), None)
            .await
            .json()
            .await
            .unwrap();
    assert_eq!(again["status"], "duplicate_skipped");
    assert_eq!(again["event_id"], first["event_id"]);
    runner.wait_for_starts(1).await;

    let synchronize = opened_payload("synchronize", new_head);
    let second: Value =
        deliver(&app, "pull_request", "delivery-2", &synchronize, Some(&sign(&synchronize)), None)
            .await
            .json()
            .await
            .unwrap();
    assert_eq!(second["review_queued"], true);
    runner.wait_for_starts(2).await;
    let payload: Value = serde_json::from_slice(&opened).unwrap();
    let (repo_id, number) =
        (payload["repository"]["id"].as_i64().unwrap(), payload["number"].as_u64().unwrap());
    let jobs = wait_for_final_jobs(&app, repo_id, number, 2).await;
    assert_eq!(jobs[0].head_sha, old_head);
    assert_eq!(jobs[0].status, JobStatus::Superseded);
    assert_eq!(jobs[1].head_sha, new_head);
    assert_eq!(jobs[1].status, JobStatus::Completed);
    assert_eq!(runner.started(), vec![jobs[0].id, jobs[1].id], "each ran once");
    assert_eq!(runner.completed(), vec![jobs[1].id], "one review completed, for the new head");
    let first_event = event_of(&app, &first).await;
    assert_eq!(first_event.status, EventStatus::Superseded);
    let completed = event_of(&app, &second).await;
    assert_eq!(completed.status, EventStatus::Completed);
    assert!(completed.processed_at.is_some());
    app.stop().await;
}

async fn event_of(app: &TestApp, answer: &Value) -> nectr_domain::Event {
    let id = nectr_domain::EventId::new(answer["event_id"].as_i64().unwrap());
    EventRepository::find_by_id(app.store.as_ref(), id).await.unwrap().unwrap()
}

async fn wait_for_final_jobs(
    app: &TestApp,
    repo_id: i64,
    number: u64,
    count: usize,
) -> Vec<nectr_domain::queue::ReviewJob> {
    for _ in 0..500 {
        let jobs = app.store.jobs_of_pull_request(repo_id, number).await.unwrap();
        if jobs.len() == count && jobs.iter().all(|job| job.status.is_final()) {
            return jobs;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!(
        "jobs did not finish: {:?}",
        app.store.jobs_of_pull_request(repo_id, number).await.unwrap()
    );
}

#[tokio::test]
async fn closing_a_pull_request_cancels_its_queued_review() {
    let app = spawn_app_with(with_fallback_secret).await;
    let sign = |body: &[u8]| nectr_github::sign(SECRET.as_bytes(), body);
    let opened = opened_payload("opened", "3333333333333333333333333333333333333333");
    deliver(&app, "pull_request", "open-1", &opened, Some(&sign(&opened)), None).await;
    let closed = opened_payload("closed", "3333333333333333333333333333333333333333");
    let answer: Value =
        deliver(&app, "pull_request", "close-1", &closed, Some(&sign(&closed)), None)
            .await
            .json()
            .await
            .unwrap();
    assert_eq!(answer["event_type"], "closed_pull_request");
    let payload: Value = serde_json::from_slice(&opened).unwrap();
    let jobs = app
        .store
        .jobs_of_pull_request(
            payload["repository"]["id"].as_i64().unwrap(),
            payload["number"].as_u64().unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].status, JobStatus::Cancelled);
}

#[tokio::test]
async fn app_deliveries_are_verified_with_the_apps_webhook_secret() {
    let (private_key, _) = nectr_testkit::github_app_test_keys();
    let app = spawn_app_with(|settings| {
        settings.github.webhook_secret = Some(SecretString::from(SECRET));
        settings.github.app = Some(nectr_github::GitHubAppConfig {
            app_id: 1,
            private_key: SecretString::from(private_key),
            webhook_secret: Some(SecretString::from("app-webhook-secret")),
        });
    })
    .await;
    let body =
        std::fs::read(fixtures().join("github-webhooks/installation/01-created.json")).unwrap();
    assert!(serde_json::from_slice::<Value>(&body).unwrap()["installation"]["id"].is_number());
    let signed = deliver(
        &app,
        "installation",
        "app-1",
        &body,
        Some(&nectr_github::sign(b"app-webhook-secret", &body)),
        None,
    )
    .await;
    assert_eq!(signed.status(), 200);
    let fallback = deliver(
        &app,
        "installation",
        "app-2",
        &body,
        Some(&nectr_github::sign(SECRET.as_bytes(), &body)),
        None,
    )
    .await;
    assert_eq!(fallback.status(), 401, "the App's secret is the more specific one");
}
