//! Memory that fails is never silent: with memory on a fake Mem0 that answers 500, a review
//! still completes and is posted, and its recorded result says which parts memory could not
//! play (retrieval, learning); with Mem0 healthy, the result says memory was available. On
//! SQLite and PostgreSQL.

use std::time::Duration;

use nectr_domain::queue::{JobStatus, ReviewQueue};
use nectr_domain::review_run::ReviewRunRepository;
use nectr_testkit::fake_github::{FakeFile, FakeGitHub, FakePull};
use nectr_testkit::fake_mem0::FakeMem0;
use nectr_testkit::fake_model::{FakeModel, FakeReply, ModelRequest, review_json};
use nectr_testkit::{TestApp, TestDatabase, spawn_app_reviewing_on};
use secrecy::SecretString;
use serde_json::{Value, json};

use crate::tenants::{TOKEN, Tenant, configure};

const MEM0_KEY: &str = "m0-outage-key";

/// Reviews hand in a review at once; the learning call (no tools) answers one learning.
fn model_reply(request: &ModelRequest) -> FakeReply {
    match request.body.get("tools").and_then(Value::as_array).is_some_and(|tools| !tools.is_empty()) {
        true => FakeReply::review(review_json("comment", "src/db.py", 2)),
        false => FakeReply::Text(
            json!({"memory_type": "risk_module", "title": "src/db.py", "content": "Queries live here."})
                .to_string(),
        ),
    }
}

/// Delivers `opened` for pull request `number` and answers the result its review recorded.
async fn review(app: &TestApp, github: &FakeGitHub, tenant: &Tenant, number: u64) -> Value {
    let head = format!("outage{number}");
    let files = vec![FakeFile {
        filename: "src/db.py".to_owned(),
        status: "modified".to_owned(),
        patch: "@@ -1,1 +1,2 @@\n x = 1\n+y = 2".to_owned(),
    }];
    let mut pull = FakePull::new(number, files);
    head.clone_into(&mut pull.head_sha);
    github.state().repo(&tenant.repo).pulls.insert(number, pull);
    let opened = tenant.opened(number, "dave", &head);
    tenant.deliver(app, &format!("outage-{number}"), &opened).await;
    for _ in 0..1_500 {
        let jobs = app.store.jobs_of_pull_request(tenant.repo_id, number).await.unwrap();
        if let Some(job) = jobs.iter().find(|job| job.status.is_final()) {
            assert_eq!(job.status, JobStatus::Completed, "{:?}", job.last_error);
            let run_id = job.review_run_id.unwrap();
            let run = ReviewRunRepository::find_by_id(app.store.as_ref(), run_id).await.unwrap();
            return run.unwrap().result.unwrap();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the review of pull request {number} did not end");
}

fn failed_steps(result: &Value) -> Vec<&str> {
    result["memory"]["failures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|failure| failure["step"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn a_failing_memory_store_is_reported_and_the_review_completes_on_every_engine() {
    for database in TestDatabase::every_engine().await {
        let github = FakeGitHub::start(TOKEN).await;
        let model = FakeModel::anthropic(model_reply).await;
        let mem0 = FakeMem0::start(MEM0_KEY);
        let (github_url, model_url, mem0_url) =
            (github.url.clone(), model.base_url.clone(), mem0.base_url.clone());
        let app = spawn_app_reviewing_on(database, move |settings| {
            configure(settings, &github_url);
            settings.review.anthropic.api_key = Some(SecretString::from("sk-ant-outage"));
            settings.review.anthropic.base_url = model_url;
            settings.review.retry_base_ms = 10;
            settings.memory.mem0_api_key = Some(SecretString::from(MEM0_KEY));
            settings.memory.mem0_base_url = mem0_url;
            settings.memory.mem0_retries = 0;
        })
        .await;
        let tenant = Tenant::connected(&app, "erin", "erin-org/ledger", 7007).await;

        let healthy = review(&app, &github, &tenant, 1).await;
        assert_eq!(healthy["memory"], json!({"status": "available", "failures": []}), "{healthy}");
        assert!(!mem0.memories().is_empty(), "the healthy review learned");

        // Every Mem0 request from now on answers 500.
        for _ in 0..200 {
            mem0.fail_next(500);
        }
        let degraded = review(&app, &github, &tenant, 2).await;
        assert_eq!(degraded["comment_posted"], true, "the review was posted: {degraded}");
        assert_eq!(degraded["memory"]["status"], "unavailable", "{degraded}");
        let steps = failed_steps(&degraded);
        assert!(steps.contains(&"retrieval") && steps.contains(&"learning"), "{degraded}");
        for failure in degraded["memory"]["failures"].as_array().unwrap() {
            let error = failure["error"].as_str().unwrap();
            assert!(error.contains("500"), "the store's error is kept: {error}");
            assert!(!error.contains(MEM0_KEY), "no secret in the result: {error}");
        }
        let reviews = github.state().repos[&tenant.repo].reviews.get(&2).cloned();
        assert_eq!(reviews.map(|posted| posted.len()), Some(1), "one review posted");
        app.stop().await;
    }
}
