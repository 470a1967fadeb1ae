//! End to end: a signed `pull_request` `opened` delivery becomes one review on the (fake) GitHub,
//! posted by the worker pool with the offline reviewer, recorded on the review run.

use std::time::Duration;

use nectr_domain::queue::{JobStatus, ReviewQueue};
use nectr_domain::{EventRepository, EventStatus, ReviewRunRepository};
use nectr_testkit::fake_github::{FakeFile, FakeGitHub, FakePull};
use nectr_testkit::{shared_fixtures, spawn_app_reviewing};
use secrecy::SecretString;
use serde_json::Value;

const TOKEN: &str = "ghp_e2etesttoken00000000000000000000000000";
const SECRET: &str = "e2e-webhook-secret";

#[tokio::test]
async fn an_opened_pull_request_gets_one_review_with_valid_inline_comments() {
    let fixture =
        std::fs::read(shared_fixtures().join("github-webhooks/pull_request/00-opened.json"))
            .unwrap();
    let mut payload: Value = serde_json::from_slice(&fixture).unwrap();
    payload["pull_request"]["draft"] = false.into();
    let body = serde_json::to_vec(&payload).unwrap();
    let repo = payload["repository"]["full_name"].as_str().unwrap().to_owned();
    let number = payload["number"].as_u64().unwrap();
    let head = payload["pull_request"]["head"]["sha"].as_str().unwrap().to_owned();

    let fake = FakeGitHub::start(TOKEN).await;
    {
        let mut state = fake.state();
        let mut pull = FakePull::new(
            number,
            vec![
                FakeFile {
                    filename: "config/settings.py".to_owned(),
                    status: "modified".to_owned(),
                    patch: "@@ -10,2 +10,3 @@\n REGION = 'eu-west-1'\n+AWS_ACCESS_KEY_ID = 'AKIAIOSFODNN7EXAMPLF'\n TIMEOUT = 30".to_owned(),
                },
                FakeFile::added_lines("tests/test_settings.py", 2),
                FakeFile { filename: "Cargo.lock".to_owned(), status: "modified".to_owned(), patch: "@@ -1,1 +1,1 @@\n-a\n+b".to_owned() },
            ],
        );
        pull.head_sha.clone_from(&head);
        state.repo(&repo).pulls.insert(number, pull);
    }
    let fake_url = fake.url.clone();
    let app = spawn_app_reviewing(move |settings| {
        settings.github.api_url.clone_from(&fake_url);
        settings.github.web_url = fake_url;
        settings.github.pat = Some(SecretString::from(TOKEN));
        settings.github.webhook_secret = Some(SecretString::from(SECRET));
        settings.github.writes_per_minute = 60_000;
        settings.github.retry_base_delay_ms = 10;
    })
    .await;

    let response = app
        .client
        .post(app.url("/api/v1/webhooks/github"))
        .header("X-GitHub-Event", "pull_request")
        .header("X-GitHub-Delivery", "e2e-1")
        .header("X-Hub-Signature-256", nectr_github::sign(SECRET.as_bytes(), &body))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let answer: Value = response.json().await.unwrap();

    let mut posted = None;
    for _ in 0..500 {
        posted = fake.state().repos[&repo]
            .reviews
            .get(&number)
            .and_then(|reviews| reviews.first().cloned());
        if posted.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let review = posted.expect("a review was posted");
    assert_eq!(review.event, "COMMENT", "the verdict asks for changes; the policy posts a comment");
    assert_eq!(review.commit_id, head);
    for part in [
        "## Summary",
        "## Key Changes",
        "## Issues",
        "🔴 **Critical:**",
        "**Confidence: 3/5**",
        "## Important Files Changed",
        "## Review Verdict\n**REQUEST_CHANGES**",
        "| `Cargo.lock` | skipped: lockfile |",
    ] {
        assert!(review.body.contains(part), "{part} in:\n{}", review.body);
    }
    assert_eq!(review.comments.len(), 1, "{:?}", review.comments);
    assert_eq!(
        (review.comments[0]["path"].as_str(), review.comments[0]["line"].as_u64()),
        (Some("config/settings.py"), Some(11))
    );
    assert_eq!(fake.state().repos[&repo].reviews[&number].len(), 1, "one review");

    let event_id = nectr_domain::EventId::new(answer["event_id"].as_i64().unwrap());
    let mut settled = None;
    for _ in 0..200 {
        let jobs = app
            .store
            .jobs_of_pull_request(payload["repository"]["id"].as_i64().unwrap(), number)
            .await
            .unwrap();
        if jobs.first().is_some_and(|job| job.status == JobStatus::Completed) {
            settled = jobs.into_iter().next();
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let job = settled.expect("the job completed");
    assert_eq!(
        EventRepository::find_by_id(app.store.as_ref(), event_id).await.unwrap().unwrap().status,
        EventStatus::Completed
    );
    let run = ReviewRunRepository::find_by_id(app.store.as_ref(), job.review_run_id.unwrap())
        .await
        .unwrap()
        .unwrap();
    let result = run.result.unwrap();
    assert_eq!(result["verdict"], "REQUEST_CHANGES");
    assert_eq!(result["comment_posted"], true);
    assert_eq!(result["inline_suggestions"], 1);
    assert_eq!(result["files_analyzed"], 2);
    assert_eq!(result["model"], "offline");
    assert_eq!(result["event"], "COMMENT");
    assert!(result["ai_summary"].as_str().unwrap().starts_with("## Summary"));
    app.stop().await;
}
