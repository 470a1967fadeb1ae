//! The project map's prose summary, over HTTP on SQLite and PostgreSQL: with a model (the fake
//! Anthropic API) a rescan stores one `Summary` section, written from the map and the key
//! files, and a second rescan still leaves one; a model that fails leaves the deterministic map
//! without a summary; the offline reviewer asks no model and stores no summary.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use nectr_testkit::fake_github::FakeGitHub;
use nectr_testkit::fake_model::{FakeModel, FakeReply, ModelRequest};
use nectr_testkit::{TestApp, TestDatabase, spawn_app_reviewing_on};
use secrecy::SecretString;

use crate::tenants::{TOKEN, Tenant, configure};

const SUMMARY: &str = "A web shop for socks, built with Flask on PostgreSQL.";

const README: &str = "# Shop\n\nSells socks online.\n";

/// Puts a README and a manifest on the tenant's default branch.
fn key_files(github: &FakeGitHub, tenant: &Tenant) {
    let mut state = github.state();
    let repo = state.repo(&tenant.repo);
    for (path, text) in [("README.md", README), ("requirements.txt", "flask==3\npsycopg==3\n")] {
        repo.tree.push((path.to_owned(), "blob".to_owned(), Some(10)));
        repo.contents.insert(path.to_owned(), text.as_bytes().to_vec());
    }
}

/// Rescans, and answers the map's texts.
async fn rescan(app: &TestApp, tenant: &Tenant) -> Vec<String> {
    let path = format!("/api/v1/memory/rescan?repo={}", tenant.repo);
    let (status, body) = tenant.call(app, reqwest::Method::POST, &path, None).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("rescan_completed")), "{body}");
    let map = tenant.get(app, &format!("/api/v1/memory/project-map?repo={}", tenant.repo)).await;
    map["memories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|memory| memory["memory"].as_str().unwrap().to_owned())
        .collect()
}

fn summaries(texts: &[String]) -> Vec<&String> {
    texts.iter().filter(|text| text.starts_with("Summary:")).collect()
}

async fn with_a_model_the_map_has_one_summary(database: TestDatabase) {
    let github = FakeGitHub::start(TOKEN).await;
    let failing = Arc::new(AtomicBool::new(false));
    let answers = failing.clone();
    let model =
        FakeModel::anthropic(move |_: &ModelRequest| match answers.load(Ordering::SeqCst) {
            true => FakeReply::error(400, "invalid_request_error", "prompt is too long"),
            false => FakeReply::Text(SUMMARY.to_owned()),
        })
        .await;
    let (github_url, model_url) = (github.url.clone(), model.base_url.clone());
    let app = spawn_app_reviewing_on(database, move |settings| {
        configure(settings, &github_url);
        settings.review.anthropic.api_key = Some(SecretString::from("sk-ant-summary"));
        settings.review.anthropic.base_url = model_url;
        settings.review.retry_base_ms = 10;
    })
    .await;
    let tenant = Tenant::connected(&app, "fran", "fran-org/shop", 8008).await;
    key_files(&github, &tenant);

    rescan(&app, &tenant).await;
    let texts = rescan(&app, &tenant).await;
    assert_eq!(summaries(&texts), [&format!("Summary: {SUMMARY}")], "one summary: {texts:?}");
    assert_eq!(texts.iter().filter(|text| text.starts_with("Overview:")).count(), 1, "{texts:?}");
    let asked = model.requests();
    let prompt = asked.last().unwrap().user_text();
    assert!(prompt.contains("Stack: Ecosystems: Python (pip)."), "the map is shown: {prompt}");
    assert!(prompt.contains(&format!("<file path=\"README.md\">\n{README}")), "{prompt}");

    failing.store(true, Ordering::SeqCst);
    let texts = rescan(&app, &tenant).await;
    assert!(summaries(&texts).is_empty(), "the failed summary is gone: {texts:?}");
    assert!(
        texts.contains(&"Overview: A fake repository. Sells socks online.".to_owned()),
        "the deterministic map stays: {texts:?}"
    );
    app.stop().await;
}

async fn the_offline_reviewer_writes_no_summary(database: TestDatabase) {
    let github = FakeGitHub::start(TOKEN).await;
    let model = FakeModel::anthropic(|_: &ModelRequest| FakeReply::Text(SUMMARY.to_owned())).await;
    let (github_url, model_url) = (github.url.clone(), model.base_url.clone());
    let app = spawn_app_reviewing_on(database, move |settings| {
        configure(settings, &github_url);
        settings.review.provider = nectr_server::settings::Provider::Offline;
        settings.review.anthropic.api_key = Some(SecretString::from("sk-ant-unused"));
        settings.review.anthropic.base_url = model_url;
    })
    .await;
    let tenant = Tenant::connected(&app, "gus", "gus-org/shop", 9009).await;
    key_files(&github, &tenant);

    let texts = rescan(&app, &tenant).await;
    assert!(summaries(&texts).is_empty(), "{texts:?}");
    assert!(texts.iter().any(|text| text.starts_with("Stack:")), "the map is there: {texts:?}");
    assert!(model.requests().is_empty(), "no model call");
    app.stop().await;
}

#[tokio::test]
async fn a_configured_model_summarises_the_project_map_on_every_engine() {
    for database in TestDatabase::every_engine().await {
        with_a_model_the_map_has_one_summary(database).await;
    }
    for database in TestDatabase::every_engine().await {
        the_offline_reviewer_writes_no_summary(database).await;
    }
}
