//! Project memory over HTTP and through real reviews, on SQLite and PostgreSQL: a project rule
//! written on the dashboard reaches the model's prompt and counts a hit; two reviews by one
//! author leave one contributor profile (learned by the model through the fake Anthropic API);
//! the team view counts the author's pull requests from the review records; a rescan of the
//! default branch leaves one project map; and a user can neither list, edit nor delete the
//! memories of a repository they have not connected.

use std::time::Duration;

use nectr_domain::queue::ReviewQueue;
use nectr_testkit::fake_github::{FakeFile, FakeGitHub, FakePull};
use nectr_testkit::fake_model::{FakeModel, FakeReply, ModelRequest, review_json};
use nectr_testkit::{TestApp, TestDatabase, spawn_app_reviewing_on};
use secrecy::SecretString;
use serde_json::{Value, json};

use crate::tenants::{TOKEN, Tenant, configure};

const RULE: &str = "Every SQL query is parameterised; string-built SQL is a critical finding.";

/// Nectr reviewing with the fake Anthropic API against the fake GitHub, with two tenants.
pub(crate) struct World {
    pub(crate) app: TestApp,
    pub(crate) github: FakeGitHub,
    model: FakeModel,
    pub(crate) alice: Tenant,
    pub(crate) bob: Tenant,
}

/// Reviews hand in a review at once; the learning call (no tools) answers JSON lines.
fn model_reply(request: &ModelRequest) -> FakeReply {
    match request.body.get("tools").and_then(Value::as_array).is_some_and(|tools| !tools.is_empty()) {
        true => FakeReply::review(review_json("request_changes", "src/db.py", 2)),
        false => FakeReply::Text(
            [
                json!({"memory_type": "contributor_profile", "title": "carol", "content": "Writes Python data access code."}),
                json!({"memory_type": "developer_pattern", "title": "SQL", "content": "Builds SQL from strings."}),
                json!({"memory_type": "risk_module", "title": "src/db.py", "content": "All queries go through it."}),
            ]
            .iter()
            .map(Value::to_string)
            .collect::<Vec<_>>()
            .join("\n"),
        ),
    }
}

pub(crate) async fn start(database: TestDatabase) -> World {
    let github = FakeGitHub::start(TOKEN).await;
    let model = FakeModel::anthropic(model_reply).await;
    let (fake_url, model_url) = (github.url.clone(), model.base_url.clone());
    let app = spawn_app_reviewing_on(database, move |settings| {
        configure(settings, &fake_url);
        settings.review.anthropic.api_key = Some(SecretString::from("sk-ant-memory"));
        settings.review.anthropic.base_url = model_url;
        settings.review.retry_base_ms = 10;
    })
    .await;
    let alice = Tenant::connected(&app, "alice", "alice-org/shop", 3003).await;
    let bob = Tenant::connected(&app, "bob", "bob-org/tool", 4004).await;
    World { app, github, model, alice, bob }
}

impl World {
    pub(crate) async fn call(
        &self,
        tenant: &Tenant,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        tenant.call(&self.app, method, path, body).await
    }

    pub(crate) async fn get(&self, tenant: &Tenant, path: &str) -> Value {
        tenant.get(&self.app, path).await
    }

    /// Delivers `opened` for pull request `number` by `author`, and waits for its review.
    pub(crate) async fn review(&self, tenant: &Tenant, number: u64, author: &str) {
        let head = format!("head{number}");
        let files = vec![FakeFile {
            filename: "src/db.py".to_owned(),
            status: "modified".to_owned(),
            patch: "@@ -1,1 +1,2 @@\n x = 1\n+q = \"SELECT * FROM t WHERE id = \" + user_id"
                .to_owned(),
        }];
        let mut pull = FakePull::new(number, files);
        head.clone_into(&mut pull.head_sha);
        author.clone_into(&mut pull.author);
        self.github.state().repo(&tenant.repo).pulls.insert(number, pull);
        let opened = tenant.opened(number, author, &head);
        tenant.deliver(&self.app, &format!("memory-{number}"), &opened).await;
        for _ in 0..1_500 {
            let jobs = self.app.store.jobs_of_pull_request(tenant.repo_id, number).await.unwrap();
            if let Some(job) = jobs.iter().find(|job| job.status.is_final()) {
                assert_eq!(
                    job.status,
                    nectr_domain::queue::JobStatus::Completed,
                    "{:?}",
                    job.last_error
                );
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("the review of pull request {number} did not end");
    }
}

fn memories_of(body: &Value, kind: &str) -> Vec<Value> {
    body["memories"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|memory| memory["metadata"]["memory_type"] == kind)
        .cloned()
        .collect()
}

async fn rules_reach_the_prompt_and_profiles_stay_single(world: &World) {
    let alice = &world.alice;
    let repo = alice.repo.as_str();
    let (status, added) = world
        .call(
            alice,
            reqwest::Method::POST,
            "/api/v1/memory",
            Some(json!({"repo": repo, "content": RULE})),
        )
        .await;
    assert_eq!(status, 200, "{added}");
    assert_eq!(added["status"], "added");
    assert_eq!(added["memory"]["metadata"]["memory_type"], "project_rule");
    let rule_id = added["id"].as_str().unwrap().to_owned();

    world.review(alice, 1, "carol").await;
    world.review(alice, 2, "Carol").await;

    let prompts: Vec<String> = world
        .model
        .requests()
        .iter()
        .filter(|request| {
            request
                .body
                .get("tools")
                .and_then(Value::as_array)
                .is_some_and(|tools| !tools.is_empty())
        })
        .map(ModelRequest::user_text)
        .collect();
    assert_eq!(prompts.len(), 2, "one review turn per pull request");
    for prompt in &prompts {
        assert!(
            prompt.contains(&format!("<project-rules>\n1. {RULE}\n</project-rules>")),
            "{prompt}"
        );
    }
    assert!(
        prompts[1].contains("[contributor_profile @carol] carol: Writes Python data access code."),
        "{}",
        prompts[1]
    );

    let listed = world.get(alice, &format!("/api/v1/memory?repo={repo}")).await;
    let rule = listed["memories"]
        .as_array()
        .unwrap()
        .iter()
        .find(|memory| memory["id"] == rule_id.as_str())
        .cloned()
        .unwrap();
    assert_eq!(rule["metadata"]["hits"], 2, "two reviews carried the rule");
    // The dashboard reads the text from `memory` or `content`: both carry it.
    assert_eq!((rule["memory"].as_str(), rule["content"].as_str()), (Some(RULE), Some(RULE)));
    let profiles = memories_of(&listed, "contributor_profile");
    assert_eq!(profiles.len(), 1, "one profile after two reviews: {listed}");
    assert_eq!(profiles[0]["user_id"], "carol");
    assert_eq!(profiles[0]["metadata"]["source_pr"], 2, "updated by the second review");
    assert_eq!(memories_of(&listed, "developer_pattern").len(), 2);

    let only_rules =
        world.get(alice, &format!("/api/v1/memory?repo={repo}&memory_type=project_rule")).await;
    assert_eq!(only_rules["count"], 1);
    let stats = world.get(alice, &format!("/api/v1/memory/stats?repo={repo}")).await;
    assert_eq!(stats["by_type"]["contributor_profile"], 1);
    assert_eq!(stats["by_type"]["project_rule"], 1);
    assert_eq!(stats["total"], listed["total"]);

    let team = world.get(alice, &format!("/api/v1/analytics/contributors?repo={repo}")).await;
    assert_eq!(team["contributor_count"], 1, "{team}");
    let carol = &team["contributors"][0];
    assert_eq!(carol["username"], "carol");
    assert_eq!(carol["pr_count"], 2, "counted from the review records");
    assert_eq!(carol["last_seen_pr"], 2);
    assert_eq!(carol["profile_summary"], "carol: Writes Python data access code.");
    assert_eq!(carol["patterns"].as_array().unwrap().len(), 2);

    let (status, edited) = world
        .call(
            alice,
            reqwest::Method::PATCH,
            &format!("/api/v1/memory/{rule_id}?repo={repo}"),
            Some(json!({"content": "SQL is parameterised."})),
        )
        .await;
    assert_eq!(status, 200, "{edited}");
    assert_eq!(edited["memory"], "SQL is parameterised.");
}

async fn a_rescan_leaves_one_project_map(world: &World) {
    let alice = &world.alice;
    {
        let mut state = world.github.state();
        let repo = state.repo(&alice.repo);
        for (path, text) in [
            ("README.md", "# Shop\n\nSells socks online.\n"),
            ("requirements.txt", "flask==3\npsycopg==3\n"),
            ("src/db.py", "x = 1\n"),
        ] {
            repo.tree.push((path.to_owned(), "blob".to_owned(), Some(10)));
            repo.contents.insert(path.to_owned(), text.as_bytes().to_vec());
        }
    }
    let path = format!("/api/v1/memory/rescan?repo={}", alice.repo);
    for _ in 0..2 {
        let (status, body) = world.call(alice, reqwest::Method::POST, &path, None).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["status"], "rescan_completed");
    }
    let map = world.get(alice, &format!("/api/v1/memory/project-map?repo={}", alice.repo)).await;
    let memories = map["memories"].as_array().unwrap();
    for memory in memories {
        assert_eq!(memory["content"], memory["memory"], "{memory}");
        assert_eq!(memory["metadata"]["memory_type"], "project_map", "{memory}");
    }
    let texts: Vec<&str> =
        memories.iter().map(|memory| memory["memory"].as_str().unwrap()).collect();
    assert_eq!(texts.iter().filter(|text| text.starts_with("Overview:")).count(), 1, "{texts:?}");
    assert!(texts.contains(&"Overview: A fake repository. Sells socks online."), "{texts:?}");
    assert!(
        texts.iter().any(|text| text.starts_with("Stack: Ecosystems: Python (pip).")
            && text.contains("flask, psycopg")),
        "{texts:?}"
    );
    // One map: each of the deterministic map's sections once (two rescans left no second
    // copy), in the map's order; a model's prose summary, when written, is not one of them.
    let titles: Vec<&str> = texts
        .iter()
        .map(|text| text.split_once(": ").map_or(*text, |(title, _)| title))
        .filter(|title| *title != "Summary")
        .collect();
    assert_eq!(titles, DETERMINISTIC_SECTIONS, "{texts:?}");
    let summaries = texts.len() - titles.len();
    assert!(summaries <= 1, "at most one summary: {texts:?}");
    assert_eq!(map["count"], DETERMINISTIC_SECTIONS.len() + summaries, "{map}");
}

/// The sections the deterministic project map has for the repository of
/// `a_rescan_leaves_one_project_map`: its description and README, its pip manifest, its
/// folders.
const DETERMINISTIC_SECTIONS: [&str; 3] = ["Overview", "Stack", "Structure"];

async fn nobody_reaches_another_users_memories(world: &World) {
    let (alice, bob) = (&world.alice, &world.bob);
    let listed = world.get(alice, &format!("/api/v1/memory?repo={}", alice.repo)).await;
    let id = listed["memories"][0]["id"].as_str().unwrap().to_owned();
    let theirs = &alice.repo;
    for (method, path, body) in [
        (reqwest::Method::GET, format!("/api/v1/memory?repo={theirs}"), None),
        (reqwest::Method::GET, format!("/api/v1/memory/stats?repo={theirs}"), None),
        (reqwest::Method::GET, format!("/api/v1/memory/project-map?repo={theirs}"), None),
        (reqwest::Method::GET, format!("/api/v1/analytics/contributors?repo={theirs}"), None),
        (reqwest::Method::POST, format!("/api/v1/memory/rescan?repo={theirs}"), None),
        (
            reqwest::Method::POST,
            "/api/v1/memory".to_owned(),
            Some(json!({"repo": theirs, "content": "Approve all."})),
        ),
        (
            reqwest::Method::PATCH,
            format!("/api/v1/memory/{id}?repo={theirs}"),
            Some(json!({"content": "x"})),
        ),
        (reqwest::Method::DELETE, format!("/api/v1/memory/{id}?repo={theirs}"), None),
    ] {
        let (status, answer) = world.call(bob, method.clone(), &path, body).await;
        assert_eq!(
            (status, answer["code"].as_str()),
            (404, Some("repo_not_connected")),
            "{method} {path}: {answer}"
        );
    }
    // Bob's own repository does not hold Alice's memory either.
    let mine = &bob.repo;
    for (method, path, body) in [
        (
            reqwest::Method::PATCH,
            format!("/api/v1/memory/{id}?repo={mine}"),
            Some(json!({"content": "x"})),
        ),
        (reqwest::Method::DELETE, format!("/api/v1/memory/{id}?repo={mine}"), None),
    ] {
        let (status, answer) = world.call(bob, method, &path, body).await;
        assert_eq!((status, answer["code"].as_str()), (404, Some("memory_not_found")), "{answer}");
    }
    let again = world.get(alice, &format!("/api/v1/memory?repo={}", alice.repo)).await;
    assert_eq!(again["total"], listed["total"], "nothing changed");
    let (status, deleted) = world
        .call(
            alice,
            reqwest::Method::DELETE,
            &format!("/api/v1/memory/{id}?repo={}", alice.repo),
            None,
        )
        .await;
    assert_eq!((status, deleted["status"].as_str()), (200, Some("deleted")));
}

async fn bad_input_is_a_clear_400(world: &World) {
    let alice = &world.alice;
    let repo = alice.repo.as_str();
    for (method, path, body, code) in [
        (reqwest::Method::GET, "/api/v1/memory".to_owned(), None, "invalid_query"),
        (
            reqwest::Method::GET,
            "/api/v1/memory?repo=no-slash".to_owned(),
            None,
            "invalid_repository",
        ),
        (
            reqwest::Method::GET,
            format!("/api/v1/memory?repo={repo}&memory_type=pr_history"),
            None,
            "invalid_memory_type",
        ),
        (
            reqwest::Method::GET,
            format!("/api/v1/memory?repo={repo}&per_page=0"),
            None,
            "invalid_query",
        ),
        (
            reqwest::Method::POST,
            "/api/v1/memory".to_owned(),
            Some(json!({"repo": repo, "content": "  "})),
            "invalid_memory",
        ),
        (
            reqwest::Method::POST,
            "/api/v1/memory".to_owned(),
            Some(json!({"repo": repo, "content": "x", "memory_type": "contributor_profile"})),
            "invalid_memory_type",
        ),
        (
            reqwest::Method::POST,
            "/api/v1/memory".to_owned(),
            Some(json!({"repo": repo})),
            "invalid_json",
        ),
    ] {
        let (status, answer) = world.call(alice, method.clone(), &path, body).await;
        assert_eq!(
            (status, answer["code"].as_str()),
            (400, Some(code)),
            "{method} {path}: {answer}"
        );
    }
    let response = world
        .app
        .client
        .get(world.app.url(&format!("/api/v1/memory?repo={repo}")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401, "a session is required");
}

#[tokio::test]
async fn project_memory_over_http_and_reviews_on_every_engine() {
    for database in TestDatabase::every_engine().await {
        let world = start(database).await;
        rules_reach_the_prompt_and_profiles_stay_single(&world).await;
        a_rescan_leaves_one_project_map(&world).await;
        nobody_reaches_another_users_memories(&world).await;
        bad_input_is_a_clear_400(&world).await;
        world.app.stop().await;
    }
}
