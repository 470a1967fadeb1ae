//! The code graph over HTTP, against the fake GitHub, on SQLite and on PostgreSQL: a connect
//! scans the default branch from its tarball (vendored folders ignored, imports resolved), the
//! files and graph routes answer in the dashboard's shapes, a rescan is asynchronous with a
//! status to poll, a rescan of an unchanged commit downloads nothing, a changed branch removes
//! stale files, and a user who has not connected the repository gets 404 everywhere.

use std::time::Duration;

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
            }
            repo.contents
                .insert("assets/logo.png".to_owned(), vec![0x89, b'P', b'N', b'G', 0, 0xff]);
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
