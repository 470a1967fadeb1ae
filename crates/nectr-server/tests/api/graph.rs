//! The code graph over HTTP, against the fake GitHub, on SQLite and on PostgreSQL: a connect
//! scans the default branch from its tarball (vendored folders ignored, imports resolved), the
//! files and graph routes answer in the dashboard's shapes, a rescan is asynchronous with a
//! status to poll, a rescan of an unchanged commit downloads nothing, a changed branch removes
//! stale files, repository intelligence carries GitHub's contributor statistics and the
//! reviewed pull requests' expertise in the contract's fields, and a user who has not connected
//! the repository gets 404 everywhere.

use std::time::Duration;

use nectr_domain::RepoFullName;
use nectr_domain::graph::{CodeGraph, GraphVerdict, PullRequestNode};
use nectr_testkit::TestDatabase;
use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::sign_in::{FRONTEND, SignInWorld, get_as, send_as, sign_in, world};

const REPO: &str = "mona/shop";

fn project() -> Vec<(&'static str, &'static str)> {
    vec![
        ("Cargo.toml", "[package]\nname = \"shop\"\n"),
        ("src/lib.rs", "//! Shop.\npub mod cart;\nmod money;\npub use cart::Cart;\n"),
        ("src/cart.rs", "use crate::money::Money;\npub struct Cart { total: Money }\n"),
        ("src/money.rs", "pub struct Money(u64);\n"),
        (
            "web/tsconfig.json",
            "{ \"compilerOptions\": { \"baseUrl\": \".\", \"paths\": { \"@/*\": [\"src/*\"] } } }",
        ),
        ("web/src/app.ts", "import { api } from '@/api';\nimport './style.css';\n"),
        ("web/src/api.ts", "export const api = 1;\n"),
        ("web/src/style.css", "body {}\n"),
        ("web/node_modules/left-pad/index.js", "module.exports = 1;\n"),
        ("tools/report.py", "from .helpers import fmt\n"),
        ("tools/helpers.py", "def fmt(x): return x\n"),
    ]
}

async fn json(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    (status, response.json().await.unwrap())
}

async fn post(world: &SignInWorld, session: &str, path: &str) -> (StatusCode, Value) {
    json(send_as(&world.app, Method::POST, session, path, Some(FRONTEND)).await).await
}

/// Polls the rescan status until the latest scan is over.
async fn settled(world: &SignInWorld, session: &str) -> Value {
    for _ in 0..400 {
        let (status, body) =
            json(get_as(&world.app, session, &format!("/api/v1/repos/{REPO}/rescan")).await).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        if body["status"] == "idle" && body["scan"]["phase"] != Value::Null {
            return body;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the scan did not finish");
}

fn tarballs(world: &SignInWorld) -> u32 {
    world.github.state().tarballs_served
}

#[tokio::test]
async fn a_connect_scans_the_branch_and_the_graph_routes_answer_in_the_dashboards_shapes() {
    for database in TestDatabase::every_engine().await {
        let world = world(database).await;
        {
            let mut state = world.github.state();
            let repo = state.repo(REPO);
            for (path, text) in project() {
                repo.contents.insert(path.to_owned(), text.as_bytes().to_vec());
                repo.tree.push((path.to_owned(), "blob".to_owned(), Some(text.len() as u64)));
            }
            repo.contents
                .insert("assets/logo.png".to_owned(), vec![0x89, b'P', b'N', b'G', 0, 0xff]);
            // GitHub's contributor statistics: login, commits, additions, deletions.
            repo.contributors = vec![
                ("hubot".to_owned(), 3, 10, 2),
                ("dependabot[bot]".to_owned(), 50, 1, 1),
                ("mona".to_owned(), 12, 300, 40),
            ];
        }
        let session = sign_in(&world, "mona").await;
        let (status, connected) =
            post(&world, &session, &format!("/api/v1/repos/{REPO}/install")).await;
        assert_eq!(status, StatusCode::OK, "{connected}");

        let done = settled(&world, &session).await;
        assert_eq!(done["scan"]["phase"], "completed", "{done}");
        assert_eq!(done["files_indexed"], 11, "{done}");
        assert_eq!(done["scan"]["edges"], 6, "{done}");
        assert_eq!(tarballs(&world), 1);
        // The connect's scan built the project map from the default branch too.
        let (status, map) = json(
            get_as(&world.app, &session, &format!("/api/v1/memory/project-map?repo={REPO}")).await,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{map}");
        let sections: Vec<&str> = map["memories"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|m| m["memory"].as_str())
            .collect();
        assert!(
            sections.iter().any(|text| text.starts_with("Stack:") && text.contains("Rust")),
            "{sections:?}"
        );

        let (status, files) =
            json(get_as(&world.app, &session, &format!("/api/v1/repos/{REPO}/files")).await).await;
        assert_eq!(status, StatusCode::OK);
        insta::assert_json_snapshot!("graph_files", files);

        let (status, graph) =
            json(get_as(&world.app, &session, &format!("/api/v1/repos/{REPO}/graph")).await).await;
        assert_eq!(status, StatusCode::OK);
        insta::assert_json_snapshot!("graph_graph", graph);

        // An unchanged commit: the rescan answers at once with the last count, and downloads
        // nothing.
        let (status, started) =
            post(&world, &session, &format!("/api/v1/repos/{REPO}/rescan")).await;
        assert_eq!(status, StatusCode::OK, "{started}");
        assert_eq!(started["status"], "scan_started");
        assert_eq!(started["files_indexed"], 11);
        let again = settled(&world, &session).await;
        assert_eq!(again["scan"]["phase"], "completed", "{again}");
        assert_eq!(tarballs(&world), 1, "an unchanged commit is not downloaded again");

        // The branch changes: a file goes, one comes; the stale one leaves the graph.
        {
            let mut state = world.github.state();
            let repo = state.repos.get_mut(REPO).unwrap();
            repo.contents.remove("tools/helpers.py");
            repo.contents.insert("src/tax.rs".to_owned(), b"use super::money::Money;\n".to_vec());
        }
        post(&world, &session, &format!("/api/v1/repos/{REPO}/rescan")).await;
        let rescanned = settled(&world, &session).await;
        assert_eq!(rescanned["scan"]["phase"], "completed", "{rescanned}");
        assert_eq!(rescanned["files_indexed"], 11);
        assert_eq!(tarballs(&world), 2);
        let (_, files) =
            json(get_as(&world.app, &session, &format!("/api/v1/repos/{REPO}/files")).await).await;
        let paths: Vec<&str> = files["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["path"].as_str().unwrap())
            .collect();
        assert!(paths.contains(&"src/tax.rs"), "{paths:?}");
        assert!(!paths.contains(&"tools/helpers.py"), "{paths:?}");
        let (_, graph) =
            json(get_as(&world.app, &session, &format!("/api/v1/repos/{REPO}/graph")).await).await;
        let links = graph["links"].as_array().unwrap();
        assert!(links.iter().any(|l| l["source"] == "src/tax.rs" && l["target"] == "src/money.rs"));
        assert!(!links.iter().any(|l| l["target"] == "tools/helpers.py"));

        let (status, intelligence) = json(
            get_as(&world.app, &session, &format!("/api/v1/analytics/graph?repo={REPO}")).await,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{intelligence}");
        for key in [
            "languages",
            "file_hotspots",
            "high_risk_files",
            "code_ownership",
            "developer_expertise",
            "contributors",
        ] {
            assert!(intelligence[key].is_array(), "{key}: {intelligence}");
        }
        assert_eq!(intelligence["dead_files"]["count"], 11, "no reviewed pull request yet");
        // GitHub's statistics, bots left out, most commits first, one week each on the fake.
        assert_eq!(
            intelligence["contributors"],
            serde_json::json!([
                {"login": "mona", "total": 12, "additions": 300, "deletions": 40,
                 "weeks": [{"w": 1_700_000_000, "c": 12}]},
                {"login": "hubot", "total": 3, "additions": 10, "deletions": 2,
                 "weeks": [{"w": 1_700_000_000, "c": 3}]},
            ]),
            "{intelligence}"
        );
        assert_eq!(intelligence["developer_expertise"], serde_json::json!([]), "none reviewed");

        // Expertise comes from reviewed pull requests: touches by first path segment.
        let graph: &dyn CodeGraph = world.app.store.as_ref();
        let repo = RepoFullName::parse(REPO).unwrap();
        for (number, author, files) in [
            (1, "mona", vec!["src/cart.rs", "src/money.rs", "Cargo.toml"]),
            (2, "hubot", vec!["web/src/app.ts"]),
        ] {
            let pull_request = PullRequestNode {
                number,
                title: format!("Change {number}"),
                author: author.to_owned(),
                verdict: Some(GraphVerdict::Approve),
                head_sha: format!("{number:040}"),
                reviewed_at: chrono::Utc::now(),
                files: files.into_iter().map(str::to_owned).collect(),
                closes: Vec::new(),
            };
            graph.record_pull_request(&repo, &pull_request).await.unwrap();
        }
        let (_, intelligence) = json(
            get_as(&world.app, &session, &format!("/api/v1/analytics/graph?repo={REPO}")).await,
        )
        .await;
        assert_eq!(
            intelligence["developer_expertise"],
            serde_json::json!([
                {"dev": "mona", "total_touches": 3,
                 "top_dirs": [{"directory": "src", "touches": 2}, {"directory": "(root)", "touches": 1}]},
                {"dev": "hubot", "total_touches": 1,
                 "top_dirs": [{"directory": "web", "touches": 1}]},
            ]),
            "{intelligence}"
        );
        let (status, bad) =
            json(get_as(&world.app, &session, "/api/v1/analytics/graph?repo=shop").await).await;
        assert_eq!(
            (status, bad["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_repository"))
        );
    }
}

#[tokio::test]
async fn a_user_who_has_not_connected_the_repository_gets_404_from_every_graph_route() {
    for database in TestDatabase::every_engine().await {
        let world = world(database).await;
        world.github.state().repo(REPO).contents.insert("a.rs".to_owned(), b"mod b;\n".to_vec());
        let mona = sign_in(&world, "mona").await;
        let (status, _) = post(&world, &mona, &format!("/api/v1/repos/{REPO}/install")).await;
        assert_eq!(status, StatusCode::OK);
        let hubot = sign_in(&world, "hubot").await;
        for path in ["files", "graph", "rescan"] {
            let (status, body) =
                json(get_as(&world.app, &hubot, &format!("/api/v1/repos/{REPO}/{path}")).await)
                    .await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
            assert_eq!(body["code"], "repo_not_connected");
        }
        let (status, body) = post(&world, &hubot, &format!("/api/v1/repos/{REPO}/rescan")).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (StatusCode::NOT_FOUND, Some("repo_not_connected"))
        );
        let (status, _) =
            json(get_as(&world.app, &hubot, &format!("/api/v1/analytics/graph?repo={REPO}")).await)
                .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let anonymous = world.app.get(&format!("/api/v1/repos/{REPO}/files")).await;
        assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    }
}

mod reviews {
    //! A review adds its pull request to the graph, and the next review of the same files is
    //! told about it (`related_prs` in the run's result).

    use std::time::Duration;

    use nectr_domain::graph::CodeGraph;
    use nectr_domain::queue::{JobStatus, ReviewQueue as _};
    use nectr_domain::{RepoFullName, ReviewRunRepository as _};
    use nectr_testkit::fake_github::{FakeFile, FakeGitHub, FakePull};
    use nectr_testkit::{TestApp, fixtures, spawn_app_reviewing};
    use secrecy::SecretString;
    use serde_json::Value;

    const TOKEN: &str = "ghp_graphtesttoken0000000000000000000000000";
    const SECRET: &str = "graph-webhook-secret";

    /// The repository of the published `opened` delivery.
    fn fixture_repo() -> RepoFullName {
        let fixture =
            std::fs::read(fixtures().join("github-webhooks/pull_request/00-opened.json")).unwrap();
        let payload: Value = serde_json::from_slice(&fixture).unwrap();
        RepoFullName::parse(payload["repository"]["full_name"].as_str().unwrap()).unwrap()
    }

    /// The fake GitHub and a Nectr reviewing its deliveries with the offline reviewer.
    async fn reviewing() -> (FakeGitHub, TestApp) {
        let fake = FakeGitHub::start(TOKEN).await;
        let fake_url = fake.url.clone();
        let app = spawn_app_reviewing(move |settings| {
            settings.github.api_url.clone_from(&fake_url);
            settings.github.web_url = fake_url;
            settings.github.pat = Some(SecretString::from(TOKEN));
            settings.github.webhook_secret = Some(SecretString::from(SECRET));
            settings.github.writes_per_minute = 60_000;
        })
        .await;
        (fake, app)
    }

    /// Delivers `opened` for pull request `number` and answers its run's result once done.
    async fn review(app: &TestApp, fake: &FakeGitHub, number: u64, body: &str) -> Value {
        let fixture =
            std::fs::read(fixtures().join("github-webhooks/pull_request/00-opened.json")).unwrap();
        let mut payload: Value = serde_json::from_slice(&fixture).unwrap();
        let repo = payload["repository"]["full_name"].as_str().unwrap().to_owned();
        let repo_id = payload["repository"]["id"].as_i64().unwrap();
        let head = format!("{:040}", number);
        payload["pull_request"]["draft"] = false.into();
        payload["number"] = number.into();
        payload["pull_request"]["number"] = number.into();
        payload["pull_request"]["head"]["sha"] = head.clone().into();
        {
            let mut state = fake.state();
            let mut pull = FakePull::new(
                number,
                vec![
                    FakeFile::added_lines("src/money.rs", 2),
                    FakeFile::added_lines("README.md", 1),
                ],
            );
            pull.head_sha = head;
            pull.body = body.to_owned();
            state.repo(&repo).pulls.insert(number, pull);
        }
        let delivery = serde_json::to_vec(&payload).unwrap();
        let response = app
            .client
            .post(app.url("/api/v1/webhooks/github"))
            .header("X-GitHub-Event", "pull_request")
            .header("X-GitHub-Delivery", format!("graph-{number}"))
            .header("X-Hub-Signature-256", nectr_github::sign(SECRET.as_bytes(), &delivery))
            .body(delivery)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        for _ in 0..1_000 {
            let jobs = app.store.jobs_of_pull_request(repo_id, number).await.unwrap();
            if let Some(job) = jobs.into_iter().next()
                && matches!(job.status, JobStatus::Completed | JobStatus::Failed)
            {
                assert_eq!(job.status, JobStatus::Completed, "{:?}", job.last_error);
                let run = app.store.find_by_id(job.review_run_id.unwrap()).await.unwrap().unwrap();
                return run.result.unwrap();
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("the job did not end");
    }

    #[tokio::test]
    async fn a_review_enters_the_graph_and_the_next_review_of_its_files_is_told() {
        // The pull request's author as the fake GitHub reports it is `octocat`.
        let (fake, app) = reviewing().await;
        let first = review(&app, &fake, 1, "Fixes #12 and closes #13.").await;
        assert_eq!(first["related_prs"], 0, "{first}");
        let repo = fixture_repo();
        let graph: &dyn CodeGraph = app.store.as_ref();
        let experts = graph.file_experts(&repo, &["src/money.rs".to_owned()], 5).await.unwrap();
        assert_eq!(experts.len(), 1, "{experts:?}");
        assert_eq!((experts[0].login.as_str(), experts[0].touches), ("octocat", 1));

        let second = review(&app, &fake, 2, "").await;
        assert_eq!(second["related_prs"], 1, "{second}");
        let hotspots = graph.hotspots(&repo, 10).await.unwrap();
        let top: Vec<(&str, u64)> = hotspots.iter().map(|f| (f.path.as_str(), f.count)).collect();
        assert_eq!(top, vec![("README.md", 2), ("src/money.rs", 2)]);
    }

    #[tokio::test]
    async fn the_offline_reviewer_names_a_widely_imported_file_changed_without_a_test() {
        use nectr_domain::graph::ImportEdge;

        let (fake, app) = reviewing().await;
        let repo = fixture_repo();
        let graph: &dyn CodeGraph = app.store.as_ref();
        // Four files import money.rs, and two more import the first of them: six dependents.
        let mut edges: Vec<ImportEdge> = (1..=4)
            .map(|n| ImportEdge {
                source: format!("src/user{n}.rs"),
                target: "src/money.rs".into(),
            })
            .collect();
        edges.extend((1..=2).map(|n| ImportEdge {
            source: format!("src/far{n}.rs"),
            target: "src/user1.rs".into(),
        }));
        graph.upsert_imports(&repo, 1, &edges).await.unwrap();

        let result = review(&app, &fake, 3, "").await;
        let summary = result["ai_summary"].as_str().unwrap();
        assert!(
            summary.contains("6 files depend on src/money.rs, and no test changed"),
            "{summary}"
        );
        assert_eq!(result["findings"]["moderate"], 1, "{result}");
    }
}
