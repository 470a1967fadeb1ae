//! Tenancy over every route: bob, signed in with a repository of his own, calls every route
//! the OpenAPI document lists with alice's repository and ids. He reads nothing of hers (a 404,
//! or a list without her data) and changes nothing of hers (every write is a 404, and her
//! review, memory, key and webhook are still there afterwards). A route added to the document
//! is walked too; one whose parameters this test does not know fails it.

use nectr_testkit::fake_github::{FakeFile, FakeGitHub, FakePull};
use nectr_testkit::{TestApp, TestDatabase, spawn_app_reviewing_on};
use reqwest::Method;
use serde_json::{Value, json};

use crate::tenants::{TOKEN, Tenant, configure};

/// Routes outside a session's reach, or that act on the caller's own session: public ones,
/// GitHub's signed deliveries, the sign-in flow, logout (bob signing himself out) and MCP
/// (API keys only; its tenancy is tested in `mcp`).
const NOT_TENANT_ROUTES: [&str; 6] =
    ["/health", "/api/openapi.json", "/api/v1/webhooks/", "/auth/github", "/auth/logout", "/mcp"];

/// Connecting a repository is GitHub's to allow: whoever administers it on GitHub may connect
/// it, and shares its webhook (tested in `repositories`).
const CONNECT: (Method, &str) = (Method::POST, "/api/v1/repos/{owner}/{repo}/install");

/// Alice's data, as the routes name it.
struct Hers {
    owner: String,
    name: String,
    review: i64,
    memory: String,
    key: i64,
}

impl Hers {
    /// The concrete path of a documented one, with alice's values in its parameters.
    fn path(&self, template: &str) -> String {
        let id = |segment: &str| match segment {
            "reviews" | "events" => self.review.to_string(),
            "memory" => self.memory.clone(),
            "api-keys" => self.key.to_string(),
            other => panic!("{template}: no id of alice's for {other}"),
        };
        let parts: Vec<&str> = template.split('/').collect();
        let concrete: Vec<String> = parts
            .iter()
            .enumerate()
            .map(|(index, part)| match *part {
                "{owner}" => self.owner.clone(),
                "{repo}" => self.name.clone(),
                "{id}" => id(parts[index - 1]),
                other if other.starts_with('{') => panic!("{template}: unknown parameter {other}"),
                other => other.to_owned(),
            })
            .collect();
        format!("{}?repo={}/{}", concrete.join("/"), self.owner, self.name)
    }
}

/// Alice's repository with one review, one memory and one API key; bob with a repository of
/// his own.
async fn two_tenants(database: TestDatabase) -> (TestApp, FakeGitHub, Tenant, Tenant, Hers) {
    let github = FakeGitHub::start(TOKEN).await;
    let fake_url = github.url.clone();
    let app =
        spawn_app_reviewing_on(database, move |settings| configure(settings, &fake_url)).await;
    let alice = Tenant::connected(&app, "alice", "alice-org/secret-app", 3003).await;
    let bob = Tenant::connected(&app, "bob", "bob-org/tool", 4004).await;
    let files = vec![FakeFile::added_lines("src/secret_sauce.py", 3)];
    let mut pull = FakePull::new(1, files);
    "a1".clone_into(&mut pull.head_sha);
    github.state().repo(&alice.repo).pulls.insert(1, pull);
    let delivered = alice.deliver(&app, "alice-only", &alice.opened(1, "alice", "a1")).await;
    alice.settle(&app, 1).await;
    let (status, memory) = alice
        .call(
            &app,
            Method::POST,
            "/api/v1/memory",
            Some(json!({"repo": alice.repo, "content": "Alice's private rule."})),
        )
        .await;
    assert_eq!(status, 200, "{memory}");
    let (status, key) = alice
        .call(&app, Method::POST, "/api/v1/api-keys", Some(json!({"name": "alice-laptop"})))
        .await;
    assert_eq!(status, 201, "{key}");
    let (owner, name) = alice.repo.split_once('/').unwrap();
    let hers = Hers {
        owner: owner.to_owned(),
        name: name.to_owned(),
        review: delivered["event_id"].as_i64().unwrap(),
        memory: memory["id"].as_str().unwrap().to_owned(),
        key: key["id"].as_i64().unwrap(),
    };
    (app, github, alice, bob, hers)
}

/// Whether `body` shows anything of alice's.
fn shows_hers(body: &Value) -> bool {
    let text = body.to_string();
    ["alice-org", "secret_sauce", "Alice's private rule", "alice-laptop"]
        .iter()
        .any(|mark| text.contains(mark))
}

/// The documented operations in reach of a session: (method, path template).
async fn session_operations(app: &TestApp) -> Vec<(Method, String)> {
    let document: Value = app.get("/api/openapi.json").await.json().await.unwrap();
    let mut operations = Vec::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        if NOT_TENANT_ROUTES.iter().any(|prefix| path.starts_with(prefix)) {
            continue;
        }
        for method in item.as_object().unwrap().keys() {
            operations.push((method.to_uppercase().parse().unwrap(), path.clone()));
        }
    }
    operations
}

/// Bob's call of one operation with alice's values must read and change nothing of hers.
async fn bob_is_refused(app: &TestApp, bob: &Tenant, hers: &Hers, method: &Method, path: &str) {
    let url = hers.path(path);
    let body = match *method {
        Method::POST if path == "/api/v1/api-keys" => Some(json!({"name": "bob"})),
        Method::PATCH => Some(json!({"content": "Bob's."})),
        Method::POST => {
            Some(json!({"repo": format!("{}/{}", hers.owner, hers.name), "content": "Bob's."}))
        }
        _ => None,
    };
    let (status, answer) = bob.call(app, method.clone(), &url, body).await;
    match (method, path, status) {
        // The answer for a repository or id that does not exist, or is not his.
        (_, _, 404) => assert!(
            ["not_found", "repo_not_connected"].contains(&answer["code"].as_str().unwrap_or("")),
            "{method} {url}: {answer}"
        ),
        // GitHub lists the repositories bob can see; none of alice's is connected for him.
        (&Method::GET, "/api/v1/repos", 200) => {
            let listed = answer.as_array().unwrap();
            let theirs = listed.iter().filter(|repo| {
                repo["full_name"].as_str().is_some_and(|name| name.starts_with("alice-org/"))
            });
            assert!(theirs.clone().all(|repo| repo["is_connected"] == false), "{answer}");
        }
        // His own lists and figures, and a key of his own: none of hers in them.
        (&Method::GET, _, 200) | (&Method::POST, "/api/v1/api-keys", 201) => {
            assert!(!shows_hers(&answer), "{method} {url} shows alice's data to bob: {answer}");
        }
        _ => panic!("{method} {url}: bob got {status} {answer}"),
    }
}

#[tokio::test]
async fn a_stranger_reads_and_changes_nothing_on_any_route() {
    for database in TestDatabase::every_engine().await {
        let engine = database.engine;
        let (app, github, alice, bob, hers) = two_tenants(database).await;
        let operations = session_operations(&app).await;
        assert!(operations.len() >= 20, "{engine:?}: the document lists the dashboard's routes");
        for (method, path) in &operations {
            if (method, path.as_str()) != (&CONNECT.0, CONNECT.1) {
                bob_is_refused(&app, &bob, &hers, method, path).await;
            }
        }
        let reviews = alice.get(&app, "/api/v1/reviews").await;
        assert_eq!(reviews.as_array().unwrap().len(), 1, "{engine:?}: alice's review stays");
        let memories = alice.get(&app, &format!("/api/v1/memory?repo={}", alice.repo)).await;
        assert!(shows_hers(&memories), "{engine:?}: alice's memory stays: {memories}");
        let keys = alice.get(&app, "/api/v1/api-keys").await;
        assert!(shows_hers(&keys), "{engine:?}: alice's key stays: {keys}");
        let figures = alice.get(&app, "/api/v1/analytics/summary").await;
        assert_eq!(figures["connected_repos"], 1, "{engine:?}: still connected: {figures}");
        drop(github);
        app.stop().await;
    }
}
