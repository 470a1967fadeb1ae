//! Repositories over HTTP, against the fake GitHub, on SQLite and on PostgreSQL: listing every
//! page of a user's repositories, connecting one (its webhook created on GitHub, and a delivery
//! signed with the new secret queues a review, which the workers run and the user's review list
//! shows in the contract's shape), disconnecting it (the webhook removed), two users sharing one
//! webhook, and neither user reaching the other's repositories (404).

use std::time::Duration;

use nectr_domain::queue::{JobStatus, ReviewJob, ReviewQueue as _};
use nectr_testkit::fake_github::{FakeFile, FakePull};
use nectr_testkit::{TestDatabase, fixtures};
use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::dashboard::CONTRACT_FIELDS;
use crate::sign_in::{
    FRONTEND, SignInWorld, get_as, reviewing_world_with, send_as, sign_in, stored_text, user_id_of,
    world, world_with,
};

async fn json(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    (status, response.json().await.unwrap())
}

async fn install(
    world: &SignInWorld,
    session: &str,
    repo: &str,
    method: Method,
) -> (StatusCode, Value) {
    json(
        send_as(
            &world.app,
            method,
            session,
            &format!("/api/v1/repos/{repo}/install"),
            Some(FRONTEND),
        )
        .await,
    )
    .await
}

fn hooks(world: &SignInWorld, repo: &str) -> Vec<Value> {
    world
        .github
        .state()
        .repos
        .get(repo)
        .map(|repo| repo.hooks.iter().map(|hook| hook.request.clone()).collect())
        .unwrap_or_default()
}

fn hook_ids(world: &SignInWorld, repo: &str) -> Vec<i64> {
    world
        .github
        .state()
        .repos
        .get(repo)
        .map(|repo| repo.hooks.iter().map(|hook| hook.id).collect())
        .unwrap_or_default()
}

/// A signed `pull_request` delivery for `repo`, as its webhook would send it.
async fn deliver_opened(world: &SignInWorld, repo: &str, hook_id: i64, secret: &str) -> Value {
    let mut payload = opened_fixture();
    let repo_id = world.github.state().repos[repo].id;
    payload["repository"]["id"] = repo_id.into();
    payload["repository"]["full_name"] = repo.into();
    payload["pull_request"]["draft"] = false.into();
    payload["number"] = 1.into();
    payload["pull_request"]["number"] = 1.into();
    let body = serde_json::to_vec(&payload).unwrap();
    let response = world
        .app
        .client
        .post(world.app.url("/api/v1/webhooks/github"))
        .header("X-GitHub-Event", "pull_request")
        .header("X-GitHub-Delivery", format!("delivery-{hook_id}"))
        .header("X-GitHub-Hook-ID", hook_id.to_string())
        .header("X-Hub-Signature-256", nectr_github::sign(secret.as_bytes(), &body))
        .header("Content-Type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

/// Waits until the one job of pull request `number` has ended, and answers it.
async fn until_ended(world: &SignInWorld, repo_id: i64, number: u64) -> ReviewJob {
    for _ in 0..1_500 {
        let mut jobs = world.app.store.jobs_of_pull_request(repo_id, number).await.unwrap();
        assert_eq!(jobs.len(), 1, "one job: {jobs:?}");
        if jobs[0].status.is_final() {
            return jobs.remove(0);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the review of pull request {number} did not end");
}

/// The published `opened` fixture, which [`deliver_opened`] sends.
fn opened_fixture() -> Value {
    let opened =
        std::fs::read(fixtures().join("github-webhooks/pull_request/00-opened.json")).unwrap();
    serde_json::from_slice(&opened).unwrap()
}

#[tokio::test]
async fn connecting_creates_the_webhook_its_deliveries_queue_reviews_and_disconnecting_removes_it()
{
    for database in TestDatabase::every_engine().await {
        let engine = format!("{:?}", database.engine);
        // Workers run the real pipeline (the offline reviewer), each review tried once.
        let world = reviewing_world_with(database, |settings| {
            settings.github.writes_per_minute = 60_000;
            settings.github.retry_base_delay_ms = 10;
            settings.workers.max_attempts = 1;
        })
        .await;
        let fixture = opened_fixture();
        let head = fixture["pull_request"]["head"]["sha"].as_str().unwrap().to_owned();
        {
            let mut state = world.github.state();
            // More than one page of repositories (the client asks for 100 a page).
            for index in 0..105 {
                state.repo(&format!("mona/project-{index:03}"));
            }
            let widgets = state.repo("mona/widgets");
            let mut pull = FakePull::new(1, vec![FakeFile::added_lines("src/lib.rs", 3)]);
            pull.head_sha.clone_from(&head);
            widgets.pulls.insert(1, pull);
        }
        let session = sign_in(&world, "mona").await;

        let (status, listed) = json(get_as(&world.app, &session, "/api/v1/repos").await).await;
        assert_eq!(status, StatusCode::OK);
        let listed = listed.as_array().unwrap().clone();
        assert_eq!(listed.len(), 106, "every page");
        let widgets = listed.iter().find(|repo| repo["full_name"] == "mona/widgets").unwrap();
        insta::assert_json_snapshot!("repos_listed_before_connecting", widgets);

        let (status, connected) = install(&world, &session, "mona/widgets", Method::POST).await;
        assert_eq!(status, StatusCode::OK, "{connected}");
        let installation_id = connected["installation_id"].as_i64().unwrap();
        let mut snapshot = connected.clone();
        snapshot["installation_id"] = "[id]".into();
        insta::assert_json_snapshot!("repo_connected", snapshot);

        // The webhook on GitHub: Nectr's URL, JSON, a fresh 64-character secret.
        let created = hooks(&world, "mona/widgets");
        assert_eq!(created.len(), 1);
        assert_eq!(created[0]["config"]["url"], "http://nectr.test:8000/api/v1/webhooks/github");
        assert_eq!(created[0]["config"]["content_type"], "json");
        let secret = created[0]["config"]["secret"].as_str().unwrap().to_owned();
        assert!(secret.len() == 64 && secret.bytes().all(|byte| byte.is_ascii_hexdigit()));
        let hook_id = hook_ids(&world, "mona/widgets")[0];
        let at_rest =
            stored_text(&world.app, "SELECT webhook_secret AS value FROM installations").await;
        assert!(!at_rest.contains(&secret), "the secret is encrypted at rest");

        let (_, listed) = json(get_as(&world.app, &session, "/api/v1/repos").await).await;
        let widgets = listed
            .as_array()
            .unwrap()
            .iter()
            .find(|repo| repo["full_name"] == "mona/widgets")
            .unwrap()
            .clone();
        assert_eq!(
            (widgets["is_connected"].as_bool(), widgets["installation_id"].as_i64()),
            (Some(true), Some(installation_id))
        );

        let (status, again) = install(&world, &session, "mona/widgets", Method::POST).await;
        assert_eq!(
            (status, again["code"].as_str()),
            (StatusCode::CONFLICT, Some("repo_already_connected"))
        );
        assert_eq!(hooks(&world, "mona/widgets").len(), 1);

        // A delivery signed with the webhook's secret is accepted and queues a review.
        let answer = deliver_opened(&world, "mona/widgets", hook_id, &secret).await;
        assert_eq!(answer["status"], "received", "{answer}");
        assert_eq!(answer["review_queued"], true, "{answer}");
        let repo_id = world.github.state().repos["mona/widgets"].id;
        let jobs = world.app.store.jobs_of_pull_request(repo_id, 1).await.unwrap();
        assert_eq!(jobs.len(), 1, "one review queued");

        // The workers run it: one review posted on GitHub at the delivered head.
        let job = until_ended(&world, repo_id, 1).await;
        assert_eq!(job.status, JobStatus::Completed, "{engine}: {:?}", job.last_error);
        let posted = world.github.state().repos["mona/widgets"].reviews[&1].clone();
        assert_eq!(posted.len(), 1, "{engine}: one review posted: {posted:?}");
        assert_eq!(posted[0].commit_id, head, "{engine}");

        // The user's review list shows it, with the contract's fields.
        let (status, reviews) = json(get_as(&world.app, &session, "/api/v1/reviews").await).await;
        assert_eq!(status, StatusCode::OK, "{engine}: {reviews}");
        let reviews = reviews.as_array().unwrap().clone();
        assert_eq!(reviews.len(), 1, "{engine}: {reviews:?}");
        let review = &reviews[0];
        let mut keys: Vec<&str> = review.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        let mut expected = CONTRACT_FIELDS.to_vec();
        expected.sort_unstable();
        assert_eq!(keys, expected, "{engine}: {review}");
        let pull = &fixture["pull_request"];
        assert_eq!(review["id"], job.review_run_id.unwrap().get(), "{engine}: the job's run");
        assert_eq!(
            [&review["status"], &review["pr_status"], &review["event_type"], &review["source"]],
            ["completed", "open", "opened_pull_request", "github"],
            "{engine}"
        );
        assert_eq!(
            (review["repo_name"].as_str(), review["pr_number"].as_u64()),
            (Some("mona/widgets"), Some(1)),
            "{engine}"
        );
        assert_eq!(review["files_analyzed"], 1, "{engine}");
        assert_eq!(
            [&review["pr_title"], &review["branch"], &review["author"], &review["pr_url"]],
            [&pull["title"], &pull["head"]["ref"], &pull["user"]["login"], &pull["html_url"]],
            "{engine}"
        );
        for time in ["created_at", "processed_at"] {
            let at = review[time].as_str().unwrap_or_default();
            assert!(chrono::DateTime::parse_from_rfc3339(at).is_ok(), "{engine}: {time} {at}");
        }
        let summary = review["ai_summary"].as_str().unwrap();
        assert!(summary.contains("## Review Verdict\n**"), "{engine}: the verdict: {summary}");
        let id = review["id"].as_i64().unwrap();
        let (status, one) =
            json(get_as(&world.app, &session, &format!("/api/v1/reviews/{id}")).await).await;
        assert_eq!((status, &one), (StatusCode::OK, review), "{engine}");

        let (status, disconnected) =
            install(&world, &session, "mona/widgets", Method::DELETE).await;
        assert_eq!(status, StatusCode::OK);
        insta::assert_json_snapshot!("repo_disconnected", disconnected);
        assert!(hooks(&world, "mona/widgets").is_empty(), "the webhook is removed on GitHub");
        // A disconnected repository's reviews are no longer the user's to see.
        let (status, reviews) = json(get_as(&world.app, &session, "/api/v1/reviews").await).await;
        assert_eq!((status, reviews), (StatusCode::OK, Value::Array(vec![])), "{engine}");
        let (status, _) =
            json(get_as(&world.app, &session, &format!("/api/v1/reviews/{id}")).await).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{engine}");
        let (status, gone) = install(&world, &session, "mona/widgets", Method::DELETE).await;
        assert_eq!(
            (status, gone["code"].as_str()),
            (StatusCode::NOT_FOUND, Some("repo_not_connected"))
        );
        world.app.stop().await;
    }
}

#[tokio::test]
async fn two_users_share_a_webhook_and_neither_reaches_the_others_repositories() {
    for database in TestDatabase::every_engine().await {
        let world = world(database).await;
        {
            let mut state = world.github.state();
            state.repo("mona/widgets");
            state.repo("hubot/secret").visible_to = vec!["hubot".to_owned()];
            let readonly = state.repo("octo-org/readonly");
            readonly.admins = vec!["hubot".to_owned()];
        }
        let mona = sign_in(&world, "mona").await;
        let hubot = sign_in(&world, "hubot").await;

        let (status, _) = install(&world, &mona, "mona/widgets", Method::POST).await;
        assert_eq!(status, StatusCode::OK);
        let (status, _) = install(&world, &hubot, "mona/widgets", Method::POST).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            hooks(&world, "mona/widgets").len(),
            1,
            "the second connection shares the webhook"
        );
        let (status, _) = install(&world, &hubot, "hubot/secret", Method::POST).await;
        assert_eq!(status, StatusCode::OK);

        // Mona cannot see, connect or disconnect hubot's private repository: 404, not 403.
        let (_, listed) = json(get_as(&world.app, &mona, "/api/v1/repos").await).await;
        let names: Vec<&str> = listed
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|repo| repo["full_name"].as_str())
            .collect();
        assert!(!names.contains(&"hubot/secret"), "{names:?}");
        let (status, body) = install(&world, &mona, "hubot/secret", Method::DELETE).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (StatusCode::NOT_FOUND, Some("repo_not_connected"))
        );
        let (status, body) = install(&world, &mona, "hubot/secret", Method::POST).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (StatusCode::NOT_FOUND, Some("repo_not_found"))
        );
        assert_eq!(hooks(&world, "hubot/secret").len(), 1, "hubot's webhook is untouched");

        // GitHub's refusals are clear 4xx: no admin right, repository gone, bad name.
        let (status, body) = install(&world, &mona, "octo-org/readonly", Method::POST).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("repo_admin_required"))
        );
        let (status, body) = install(&world, &mona, "mona/gone", Method::POST).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (StatusCode::NOT_FOUND, Some("repo_not_found"))
        );
        let (status, body) = install(&world, &mona, "mona/..", Method::POST).await;
        assert!(status.is_client_error(), "{status} {body}");

        // The shared webhook stays until its last user disconnects.
        let (status, body) = install(&world, &mona, "mona/widgets", Method::DELETE).await;
        assert_eq!((status, body["webhook_removed"].as_bool()), (StatusCode::OK, Some(false)));
        assert_eq!(hooks(&world, "mona/widgets").len(), 1);
        let (_, listed) = json(get_as(&world.app, &hubot, "/api/v1/repos").await).await;
        let widgets = listed
            .as_array()
            .unwrap()
            .iter()
            .find(|repo| repo["full_name"] == "mona/widgets")
            .unwrap()
            .clone();
        assert_eq!(widgets["is_connected"], true, "hubot's connection is his own");
        let (status, body) = install(&world, &hubot, "mona/widgets", Method::DELETE).await;
        assert_eq!((status, body["webhook_removed"].as_bool()), (StatusCode::OK, Some(true)));
        assert!(hooks(&world, "mona/widgets").is_empty());

        // Without a session, every repository route is 401.
        for (method, path) in [
            (Method::GET, "/api/v1/repos"),
            (Method::POST, "/api/v1/repos/mona/widgets/install"),
            (Method::DELETE, "/api/v1/repos/mona/widgets/install"),
        ] {
            let (status, body) =
                json(world.app.client.request(method, world.app.url(path)).send().await.unwrap())
                    .await;
            assert_eq!(
                (status, body["code"].as_str()),
                (StatusCode::UNAUTHORIZED, Some("unauthenticated")),
                "{path}"
            );
        }
        world.app.stop().await;
    }
}

const APP_SECRET: &str = "app-webhook-secret";

/// An App delivery, signed with the App's webhook secret.
async fn deliver_app(
    world: &SignInWorld,
    event: &str,
    delivery_id: &str,
    payload: &Value,
) -> Value {
    let body = serde_json::to_vec(payload).unwrap();
    let response = world
        .app
        .client
        .post(world.app.url("/api/v1/webhooks/github"))
        .header("X-GitHub-Event", event)
        .header("X-GitHub-Delivery", delivery_id)
        .header("X-Hub-Signature-256", nectr_github::sign(APP_SECRET.as_bytes(), &body))
        .header("Content-Type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

fn connected_names(listed: &Value) -> Vec<String> {
    listed
        .as_array()
        .unwrap()
        .iter()
        .filter(|repo| repo["is_connected"] == true)
        .map(|repo| repo["full_name"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn github_app_installations_connect_and_disconnect_the_repositories_they_name() {
    for database in TestDatabase::every_engine().await {
        let world = world_with(database, |settings| {
            let (private_key, _) = nectr_testkit::github_app_test_keys();
            settings.github.app = Some(nectr_github::GitHubAppConfig {
                app_id: 4242,
                private_key: secrecy::SecretString::from(private_key.to_owned()),
                webhook_secret: Some(secrecy::SecretString::from(APP_SECRET.to_owned())),
            });
        })
        .await;
        let (first, second) = {
            let mut state = world.github.state();
            (state.repo("octo-org/first").id, state.repo("octo-org/second").id)
        };
        let session = sign_in(&world, "mona").await;
        let repository = |id: i64, name: &str| serde_json::json!({"id": id, "name": name.split('/').nth(1), "full_name": name, "private": false});
        let installation = serde_json::json!({"id": 77, "account": {"login": "octo-org", "id": 9}});
        let sender = serde_json::json!({"login": "mona", "id": user_id_of("mona")});

        let created = serde_json::json!({
            "action": "created", "installation": installation, "sender": sender,
            "repositories": [repository(first, "octo-org/first"), repository(second, "octo-org/second")],
        });
        let answer = deliver_app(&world, "installation", "app-1", &created).await;
        assert_eq!(answer["status"], "received", "{answer}");
        let (_, listed) = json(get_as(&world.app, &session, "/api/v1/repos").await).await;
        assert_eq!(connected_names(&listed), ["octo-org/first", "octo-org/second"]);
        assert!(hooks(&world, "octo-org/first").is_empty(), "no per-repository webhook");

        let removed = serde_json::json!({
            "action": "removed", "installation": installation, "sender": sender,
            "repository_selection": "selected", "repositories_added": [],
            "repositories_removed": [repository(second, "octo-org/second")],
        });
        deliver_app(&world, "installation_repositories", "app-2", &removed).await;
        let (_, listed) = json(get_as(&world.app, &session, "/api/v1/repos").await).await;
        assert_eq!(connected_names(&listed), ["octo-org/first"]);

        // A redelivery changes nothing: the removed repository stays disconnected.
        let again = deliver_app(&world, "installation", "app-1", &created).await;
        assert_eq!(again["status"], "duplicate_skipped", "{again}");
        let (_, listed) = json(get_as(&world.app, &session, "/api/v1/repos").await).await;
        assert_eq!(connected_names(&listed), ["octo-org/first"]);

        // An installer who never signed in to Nectr connects nothing.
        let mut foreign = created.clone();
        foreign["sender"] = serde_json::json!({"login": "stranger", "id": 999_999});
        foreign["installation"]["id"] = 78.into();
        deliver_app(&world, "installation", "app-3", &foreign).await;

        let deleted = serde_json::json!({"action": "deleted", "installation": installation, "sender": sender});
        deliver_app(&world, "installation", "app-4", &deleted).await;
        let (_, listed) = json(get_as(&world.app, &session, "/api/v1/repos").await).await;
        assert!(connected_names(&listed).is_empty());
        world.app.stop().await;
    }
}

/// Stores an App delivery as the intake does, as a process that stopped before applying it
/// would have left it.
async fn stored_app_delivery(
    world: &SignInWorld,
    event: &str,
    delivery_id: &str,
    payload: &Value,
    status: nectr_domain::EventStatus,
) {
    let stored = nectr_domain::NewEvent {
        event_type: "unknown".to_owned(),
        source: "github".to_owned(),
        payload: payload.to_string(),
        status,
        delivery_id: Some(delivery_id.to_owned()),
        github_event: Some(event.to_owned()),
    };
    world.app.store.accept(stored, nectr_domain::queue::IntakeEffect::None).await.unwrap();
}

#[tokio::test]
async fn an_app_change_a_stop_interrupted_is_applied_at_the_next_start_unless_overtaken() {
    let app_mode = |settings: &mut nectr_server::Settings| {
        let (private_key, _) = nectr_testkit::github_app_test_keys();
        settings.github.app = Some(nectr_github::GitHubAppConfig {
            app_id: 4242,
            private_key: secrecy::SecretString::from(private_key.to_owned()),
            webhook_secret: Some(secrecy::SecretString::from(APP_SECRET.to_owned())),
        });
    };
    for database in TestDatabase::every_engine().await {
        let world = world_with(database, app_mode).await;
        let (first, third) = {
            let mut state = world.github.state();
            (state.repo("octo-org/first").id, state.repo("octo-org/third").id)
        };
        sign_in(&world, "mona").await;
        let sender = serde_json::json!({"login": "mona", "id": user_id_of("mona")});
        let created = |installation: i64, id: i64, name: &str| {
            serde_json::json!({
                "action": "created", "installation": {"id": installation}, "sender": sender,
                "repositories": [{"id": id, "name": name.split('/').nth(1), "full_name": name, "private": false}],
            })
        };
        let pending = nectr_domain::EventStatus::Pending;
        // Installation 77: stored, then the process stopped before connecting its repository.
        stored_app_delivery(
            &world,
            "installation",
            "stop-1",
            &created(77, first, "octo-org/first"),
            pending,
        )
        .await;
        // Installation 79: its creation was interrupted too, but its deletion came later and was
        // applied; replaying the creation would connect a repository the App no longer reaches.
        stored_app_delivery(
            &world,
            "installation",
            "stop-2",
            &created(79, third, "octo-org/third"),
            pending,
        )
        .await;
        let deleted =
            serde_json::json!({"action": "deleted", "installation": {"id": 79}, "sender": sender});
        stored_app_delivery(
            &world,
            "installation",
            "stop-3",
            &deleted,
            nectr_domain::EventStatus::Completed,
        )
        .await;
        world.app.stop().await;
        let SignInWorld { app, github } = world;
        drop(github);
        let database = app.database;

        // The next start applies what the stop interrupted.
        let world = world_with(database, app_mode).await;
        let session = sign_in(&world, "mona").await;
        let (_, listed) = json(get_as(&world.app, &session, "/api/v1/repos").await).await;
        assert!(
            connected_names(&listed).is_empty(),
            "the new fake GitHub lists no repositories yet: {listed}"
        );
        {
            let mut state = world.github.state();
            state.repo("octo-org/first");
            state.repo("octo-org/third");
        }
        let (_, listed) = json(get_as(&world.app, &session, "/api/v1/repos").await).await;
        assert_eq!(connected_names(&listed), ["octo-org/first"], "{listed}");
        let events = nectr_domain::EventRepository::list(
            world.app.store.as_ref(),
            &nectr_domain::EventFilter::default(),
        )
        .await
        .unwrap();
        let status_of = |delivery: &str| {
            events
                .iter()
                .find(|event| event.delivery_id.as_deref() == Some(delivery))
                .unwrap()
                .status
        };
        assert_eq!(status_of("stop-1"), nectr_domain::EventStatus::Completed);
        assert_eq!(
            status_of("stop-2"),
            nectr_domain::EventStatus::Ignored,
            "overtaken by its deletion"
        );
        world.app.stop().await;
    }
}
