//! The dashboard's reviews, events and analytics over HTTP, on SQLite and on PostgreSQL: two
//! users each connect a repository; signed deliveries queue reviews that the real pipeline (the
//! offline reviewer against the fake GitHub) runs; then every route answers in the contract's
//! shape, with the same JSON on both engines, and neither user sees the other's data. A pull
//! request with several reviews shows the one of the highest status priority; one closed and
//! reopened shows `closed`, then `open`.

use chrono::Utc;
use nectr_domain::queue::{JobStatus, ReviewQueue};
use nectr_testkit::fake_github::{FakeFile, FakeGitHub, FakePull};
use nectr_testkit::{TestApp, TestDatabase, spawn_app_on, spawn_app_reviewing_on};
use serde_json::{Value, json};

use crate::tenants::{TOKEN, Tenant, configure};

struct Dashboard {
    app: TestApp,
    github: FakeGitHub,
    alice: Tenant,
    bob: Tenant,
}

async fn start(database: TestDatabase) -> Dashboard {
    let github = FakeGitHub::start(TOKEN).await;
    let fake_url = github.url.clone();
    let app =
        spawn_app_reviewing_on(database, move |settings| configure(settings, &fake_url)).await;
    let alice = Tenant::connected(&app, "alice", "alice-org/service", 1001).await;
    let bob = Tenant::connected(&app, "bob", "bob-org/tool", 2002).await;
    Dashboard { app, github, alice, bob }
}

/// A `pull_request` delivery from the published `opened` fixture, reshaped.
struct Pull<'a> {
    action: &'a str,
    number: u64,
    title: &'a str,
    author: &'a str,
    head: &'a str,
    merged_at: Option<&'a str>,
    updated_at: &'a str,
}

/// Carol's `opened` delivery of pull request `number` at `head`, titled "Add a cache".
fn opened(number: u64, head: &str) -> Pull<'_> {
    Pull {
        action: "opened",
        number,
        title: "Add a cache",
        author: "carol",
        head,
        merged_at: None,
        updated_at: "2026-11-01T10:00:00Z",
    }
}

fn payload(tenant: &Tenant, pull: &Pull<'_>) -> Value {
    let mut payload = tenant.opened(pull.number, pull.author, pull.head);
    payload["action"] = pull.action.into();
    let pr = &mut payload["pull_request"];
    pr["title"] = pull.title.into();
    pr["head"]["ref"] = format!("feature/{}", pull.number).into();
    pr["html_url"] = format!("https://github.com/{}/pull/{}", tenant.repo, pull.number).into();
    pr["created_at"] = "2026-11-01T10:00:00Z".into();
    pr["updated_at"] = pull.updated_at.into();
    pr["additions"] = (pull.number * 10).into();
    pr["deletions"] = pull.number.into();
    pr["changed_files"] = 2.into();
    if let Some(merged_at) = pull.merged_at {
        pr["state"] = "closed".into();
        pr["merged"] = true.into();
        pr["merged_at"] = merged_at.into();
    }
    payload
}

impl Dashboard {
    /// Puts a pull request on the fake GitHub so that its review can run.
    fn host(&self, tenant: &Tenant, number: u64, head: &str) {
        let files = vec![
            FakeFile {
                filename: "src/cache.py".to_owned(),
                status: "modified".to_owned(),
                patch: "@@ -1,1 +1,2 @@\n x = 1\n+AWS_ACCESS_KEY_ID = 'AKIAIOSFODNN7EXAMPLF'"
                    .to_owned(),
            },
            FakeFile::added_lines("tests/test_cache.py", 2),
        ];
        let mut pull = FakePull::new(number, files);
        head.clone_into(&mut pull.head_sha);
        self.github.state().repo(&tenant.repo).pulls.insert(number, pull);
    }

    async fn deliver(&self, tenant: &Tenant, delivery: &str, pull: &Pull<'_>) -> Value {
        tenant.deliver(&self.app, delivery, &payload(tenant, pull)).await
    }

    /// Waits until every job of the pull request has ended.
    async fn settle(&self, tenant: &Tenant, number: u64) {
        tenant.settle(&self.app, number).await;
    }

    async fn get(&self, tenant: &Tenant, path: &str) -> (u16, Value) {
        tenant.call(&self.app, reqwest::Method::GET, path, None).await
    }

    async fn ok(&self, tenant: &Tenant, path: &str) -> Value {
        tenant.get(&self.app, path).await
    }
}

/// Alice: pull request 1 reviewed twice (two head commits), 2 failed (GitHub does not have
/// it), 3 reviewed then merged five hours after it opened. Bob: pull request 7 reviewed.
async fn seeded(database: TestDatabase) -> Dashboard {
    let dashboard = start(database).await;
    let (alice, bob) = (&dashboard.alice, &dashboard.bob);
    dashboard.host(alice, 1, "a1");
    dashboard.deliver(alice, "alice-1", &opened(1, "a1")).await;
    dashboard.settle(alice, 1).await;
    dashboard.host(alice, 1, "a2");
    let pushed =
        Pull { action: "synchronize", updated_at: "2026-11-01T11:00:00Z", ..opened(1, "a2") };
    dashboard.deliver(alice, "alice-2", &pushed).await;
    dashboard
        .deliver(
            alice,
            "alice-3",
            &Pull { title: "Fix the parser", author: "dave", ..opened(2, "b1") },
        )
        .await;
    dashboard.host(alice, 3, "c1");
    dashboard
        .deliver(alice, "alice-4", &Pull { title: "Speed up start-up", ..opened(3, "c1") })
        .await;
    dashboard.host(bob, 7, "d1");
    dashboard
        .deliver(bob, "bob-1", &Pull { title: "Bob's change", author: "bob", ..opened(7, "d1") })
        .await;
    for (tenant, number) in [(alice, 1), (alice, 2), (alice, 3), (bob, 7)] {
        dashboard.settle(tenant, number).await;
    }
    let merged = Pull {
        action: "closed",
        merged_at: Some("2026-11-01T15:00:00Z"),
        updated_at: "2026-11-01T15:00:01Z",
        title: "Speed up start-up",
        ..opened(3, "c1")
    };
    dashboard.deliver(alice, "alice-5", &merged).await;
    dashboard
}

/// The JSON with what changes from run to run (times, ids, durations, dates, review bodies)
/// replaced by placeholders, for snapshots that hold on both engines.
fn normalized(mut value: Value) -> Value {
    fn walk(value: &mut Value) {
        match value {
            Value::Object(map) => {
                for (key, field) in map.iter_mut() {
                    let placeholder = match key.as_str() {
                        "created_at" | "processed_at" if !field.is_null() => Some("[time]"),
                        "id" => Some("[id]"),
                        "date" => Some("[date]"),
                        "avg_processing_seconds" => Some("[seconds]"),
                        "ai_summary" if !field.is_null() => Some("[review markdown]"),
                        _ => None,
                    };
                    match placeholder {
                        Some(text) => *field = text.into(),
                        None => walk(field),
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(walk),
            _ => {}
        }
    }
    walk(&mut value);
    value
}

/// The fields of a review in the contract's `GET /api/v1/reviews`.
pub(crate) const CONTRACT_FIELDS: [&str; 15] = [
    "id",
    "status",
    "pr_status",
    "created_at",
    "processed_at",
    "pr_title",
    "pr_number",
    "repo_name",
    "branch",
    "author",
    "pr_url",
    "ai_summary",
    "files_analyzed",
    "event_type",
    "source",
];

async fn reviews_follow_the_contract(dashboard: &Dashboard) {
    let alice = &dashboard.alice;
    let reviews = dashboard.ok(alice, "/api/v1/reviews?limit=20").await;
    let list = reviews.as_array().unwrap();
    for review in list {
        let object = review.as_object().unwrap();
        let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
        keys.sort_unstable();
        let mut expected = CONTRACT_FIELDS.to_vec();
        expected.sort_unstable();
        assert_eq!(keys, expected, "{review}");
    }
    let numbers: Vec<u64> =
        list.iter().map(|review| review["pr_number"].as_u64().unwrap()).collect();
    assert_eq!(numbers, [3, 2, 1], "one review per pull request, newest first");
    let by_number = |number: u64| list.iter().find(|review| review["pr_number"] == number).unwrap();
    assert_eq!(
        (by_number(1)["status"].as_str(), by_number(1)["event_type"].as_str()),
        (Some("completed"), Some("synchronize_pull_request"))
    );
    assert_eq!(by_number(2)["status"], "failed");
    assert_eq!(
        (by_number(3)["status"].as_str(), by_number(3)["pr_status"].as_str()),
        (Some("completed"), Some("merged"))
    );
    let summary = by_number(1)["ai_summary"].as_str().unwrap();
    assert!(
        summary.contains("## Review Verdict\n**"),
        "the verdict the dashboard parses: {summary}"
    );
    assert_eq!(by_number(1)["files_analyzed"], 2);
    insta::assert_json_snapshot!("reviews", normalized(reviews.clone()));

    // Filters and the limit apply after de-duplication, so pages are full.
    let page = dashboard.ok(alice, "/api/v1/reviews?limit=2").await;
    assert_eq!(page.as_array().unwrap().len(), 2);
    let failed = dashboard.ok(alice, "/api/v1/reviews?status=failed").await;
    assert_eq!(
        failed.as_array().unwrap().iter().map(|r| r["pr_number"].as_u64()).collect::<Vec<_>>(),
        [Some(2)]
    );
    let completed = dashboard.ok(alice, "/api/v1/reviews?status=completed&limit=1").await;
    assert_eq!(completed.as_array().unwrap().len(), 1);
    let merged = dashboard.ok(alice, "/api/v1/reviews?status=merged").await;
    assert_eq!(
        merged.as_array().unwrap().iter().map(|r| r["pr_number"].as_u64()).collect::<Vec<_>>(),
        [Some(3)]
    );
    let open = dashboard.ok(alice, "/api/v1/reviews?status=open").await;
    assert_eq!(open.as_array().unwrap().len(), 2);
    let searched = dashboard.ok(alice, "/api/v1/reviews?search=PARSER").await;
    assert_eq!(
        searched.as_array().unwrap().iter().map(|r| r["pr_number"].as_u64()).collect::<Vec<_>>(),
        [Some(2)]
    );
    let by_repo = dashboard.ok(alice, "/api/v1/reviews?search=alice-org").await;
    assert_eq!(by_repo.as_array().unwrap().len(), 3);
    let by_number_prefix = dashboard.ok(alice, "/api/v1/reviews?search=3").await;
    assert_eq!(by_number_prefix.as_array().unwrap().len(), 1);
    let wildcard = dashboard.ok(alice, "/api/v1/reviews?search=%25").await;
    assert_eq!(wildcard.as_array().unwrap().len(), 0, "% is matched literally");

    let id = by_number(1)["id"].as_i64().unwrap();
    let one = dashboard.ok(alice, &format!("/api/v1/reviews/{id}")).await;
    assert_eq!(one["pr_number"], 1);
    insta::assert_json_snapshot!("review", normalized(one));
}

async fn events_are_the_users(dashboard: &Dashboard) {
    let alice = &dashboard.alice;
    let events = dashboard.ok(alice, "/api/v1/events").await;
    let list = events.as_array().unwrap();
    assert_eq!(list.len(), 5, "alice's five deliveries: {events}");
    for event in list {
        let mut keys: Vec<&str> = event.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["created_at", "event_type", "id", "source", "status"]);
    }
    insta::assert_json_snapshot!("events", normalized(events.clone()));
    let failed = dashboard.ok(alice, "/api/v1/events?status=failed&limit=5").await;
    assert_eq!(failed.as_array().unwrap().len(), 1);
    let id = list[0]["id"].as_i64().unwrap();
    let one = dashboard.ok(alice, &format!("/api/v1/events/{id}")).await;
    assert_eq!(one, list[0]);
}

async fn analytics_follow_the_formulas(dashboard: &Dashboard) {
    let alice = &dashboard.alice;
    let summary = dashboard.ok(alice, "/api/v1/analytics/summary").await;
    assert_eq!(summary["total_reviews"], 3);
    assert_eq!(summary["success_rate"], 66.7);
    assert_eq!(summary["connected_repos"], 1);
    assert_eq!(
        (summary["reviews_today"].as_u64(), summary["reviews_this_week"].as_u64()),
        (Some(3), Some(3))
    );
    assert_eq!(summary["avg_merge_hours"], 5.0, "opened at 10:00, merged at 15:00");
    assert_eq!(summary["avg_pr_size"], 22, "mean of 11, 22 and 33 lines");
    assert!(summary["avg_processing_seconds"].is_number());
    assert_eq!(summary["last_week_activity"].as_array().unwrap().len(), 3);
    insta::assert_json_snapshot!("analytics_summary", normalized(summary));

    let timeline = dashboard.ok(alice, "/api/v1/analytics/timeline?days=14").await;
    let days = timeline.as_array().unwrap();
    assert_eq!(days.len(), 14);
    let today = Utc::now().date_naive().to_string();
    assert_eq!(days[13]["date"], today.as_str());
    assert_eq!(
        (days[13]["total"].as_u64(), days[13]["completed"].as_u64(), days[13]["failed"].as_u64()),
        (Some(3), Some(2), Some(1))
    );
    assert!(days[..13].iter().all(|day| day["total"] == 0));
    insta::assert_json_snapshot!("analytics_timeline", normalized(timeline));

    let insights = dashboard.ok(alice, "/api/v1/analytics/insights?days=30").await;
    assert_eq!(
        (insights["period_days"].as_u64(), insights["total_prs"].as_u64()),
        (Some(30), Some(3))
    );
    let verdicts = &insights["verdicts"];
    let recorded = ["APPROVE", "REQUEST_CHANGES", "NEEDS_DISCUSSION"]
        .iter()
        .map(|verdict| verdicts[verdict].as_u64().unwrap())
        .sum::<u64>();
    assert_eq!(recorded, 2, "the latest recorded review of pull requests 1 and 3");
    let confidence = insights["confidence_distribution"].as_object().unwrap();
    assert_eq!(confidence.keys().collect::<Vec<_>>(), ["1", "2", "3", "4", "5"]);
    assert_eq!(confidence.values().map(|count| count.as_u64().unwrap()).sum::<u64>(), 2);
    let issues = &insights["issue_categories"];
    assert!(issues["critical"].as_u64().unwrap() >= 2, "a committed key in each review: {issues}");
    assert_eq!(
        issues["total"].as_u64(),
        Some(
            ["critical", "moderate", "minor"].iter().map(|key| issues[key].as_u64().unwrap()).sum()
        )
    );
    assert_eq!(insights["merge_time"]["sample_size"], 1);
    assert_eq!(insights["merge_time"]["median_hours"], 5.0);
    assert_eq!(insights["per_repo"][0]["merge_rate"], 33.3);
    assert_eq!(insights["per_author"][0]["author"], "carol");
    insta::assert_json_snapshot!("analytics_insights", normalized(insights));
}

async fn neither_user_sees_the_others(dashboard: &Dashboard) {
    let (alice, bob) = (&dashboard.alice, &dashboard.bob);
    let bobs = dashboard.ok(bob, "/api/v1/reviews").await;
    assert_eq!(bobs.as_array().unwrap().len(), 1);
    let bob_review = bobs[0]["id"].as_i64().unwrap();
    let alices = dashboard.ok(alice, "/api/v1/reviews").await;
    let alice_review = alices[0]["id"].as_i64().unwrap();
    for (reader, path) in [
        (alice, format!("/api/v1/reviews/{bob_review}")),
        (alice, format!("/api/v1/events/{bob_review}")),
        (bob, format!("/api/v1/reviews/{alice_review}")),
        (bob, format!("/api/v1/events/{alice_review}")),
        (bob, "/api/v1/reviews/999999".to_owned()),
    ] {
        let (status, body) = dashboard.get(reader, &path).await;
        assert_eq!((status, body["code"].as_str()), (404, Some("not_found")), "{path}");
    }
    let bob_events = dashboard.ok(bob, "/api/v1/events").await;
    assert_eq!(bob_events.as_array().unwrap().len(), 1);
    let summary = dashboard.ok(bob, "/api/v1/analytics/summary").await;
    assert_eq!(
        (summary["total_reviews"].as_u64(), summary["connected_repos"].as_u64()),
        (Some(1), Some(1))
    );
    let insights = dashboard.ok(bob, "/api/v1/analytics/insights").await;
    assert_eq!(insights["total_prs"], 1);
    assert_eq!(insights["per_repo"][0]["repo"], "bob-org/tool");
    let timeline = dashboard.ok(bob, "/api/v1/analytics/timeline?days=7").await;
    assert_eq!(
        timeline.as_array().unwrap().iter().map(|day| day["total"].as_u64().unwrap()).sum::<u64>(),
        1
    );
    assert_ne!(alice.id, bob.id);
}

async fn bad_input_is_a_clear_400(dashboard: &Dashboard) {
    let alice = &dashboard.alice;
    for path in [
        "/api/v1/reviews?limit=0",
        "/api/v1/reviews?limit=101",
        "/api/v1/reviews?limit=many",
        "/api/v1/reviews?status=done",
        "/api/v1/events?status=done",
        "/api/v1/events?limit=-1",
        "/api/v1/analytics/timeline?days=3",
        "/api/v1/analytics/insights?days=365",
        "/api/v1/reviews/not-a-number",
    ] {
        let (status, body) = dashboard.get(alice, path).await;
        assert_eq!(status, 400, "{path}: {body}");
        assert!(
            body["code"].as_str().is_some_and(|code| code.starts_with("invalid_")),
            "{path}: {body}"
        );
    }
    for path in ["/api/v1/reviews", "/api/v1/events/1", "/api/v1/analytics/summary"] {
        let response = dashboard.app.get(path).await;
        assert_eq!(response.status(), 401, "{path}");
    }
}

#[tokio::test]
async fn the_dashboard_routes_answer_in_the_contract_on_every_engine() {
    for database in TestDatabase::every_engine().await {
        let engine = database.engine;
        let dashboard = seeded(database).await;
        let statuses: Vec<JobStatus> = dashboard
            .app
            .store
            .jobs_of_pull_request(dashboard.alice.repo_id, 2)
            .await
            .unwrap()
            .iter()
            .map(|job| job.status)
            .collect();
        assert_eq!(statuses, [JobStatus::Failed], "{engine:?}");
        reviews_follow_the_contract(&dashboard).await;
        events_are_the_users(&dashboard).await;
        analytics_follow_the_formulas(&dashboard).await;
        neither_user_sees_the_others(&dashboard).await;
        bad_input_is_a_clear_400(&dashboard).await;
        dashboard.app.stop().await;
    }
}

#[tokio::test]
async fn a_user_without_repositories_sees_empty_figures_with_every_field() {
    let database = TestDatabase::fresh().await;
    let dashboard = start(database).await;
    let erin = Tenant::sign_in(&dashboard.app, "erin", 99).await;
    assert_eq!(dashboard.ok(&erin, "/api/v1/reviews").await, json!([]));
    assert_eq!(dashboard.ok(&erin, "/api/v1/events").await, json!([]));
    let insights = dashboard.ok(&erin, "/api/v1/analytics/insights").await;
    insta::assert_json_snapshot!("analytics_insights_empty", insights);
    let summary = dashboard.ok(&erin, "/api/v1/analytics/summary").await;
    insta::assert_json_snapshot!("analytics_summary_empty", summary);
    dashboard.app.stop().await;
}

#[tokio::test]
async fn an_action_that_queues_nothing_still_keeps_the_pull_requests_title_and_state() {
    for database in TestDatabase::every_engine().await {
        let engine = database.engine;
        let dashboard = start(database).await;
        let alice = &dashboard.alice;
        let opened = opened(4, "e1");
        dashboard.host(alice, 4, "e1");
        dashboard.deliver(alice, "edit-1", &opened).await;
        dashboard.settle(alice, 4).await;
        let edited = Pull {
            action: "edited",
            title: "Add a cache, bounded",
            updated_at: "2026-11-01T12:00:00Z",
            ..opened
        };
        let answer = dashboard.deliver(alice, "edit-2", &edited).await;
        assert_eq!(answer["status"], "received", "{engine:?}: {answer}");
        // A late redelivery of an older state changes nothing.
        let older = Pull { action: "labeled", title: "Add a cache", ..opened };
        dashboard.deliver(alice, "edit-3", &older).await;
        let reviews = dashboard.ok(alice, "/api/v1/reviews").await;
        let review = &reviews.as_array().unwrap()[0];
        assert_eq!(
            (review["pr_title"].as_str(), review["status"].as_str()),
            (Some("Add a cache, bounded"), Some("completed")),
            "{engine:?}: {reviews}"
        );
        let jobs = dashboard.app.store.jobs_of_pull_request(alice.repo_id, 4).await.unwrap();
        assert_eq!(jobs.len(), 1, "{engine:?}: an edit queues no review");
    }
}

/// The pull request numbers a review list shows, in its order, and their events' ids.
fn shown(reviews: &Value) -> Vec<(u64, i64)> {
    let list = reviews.as_array().unwrap();
    list.iter()
        .map(|review| (review["pr_number"].as_u64().unwrap(), review["id"].as_i64().unwrap()))
        .collect()
}

#[tokio::test]
async fn the_review_list_shows_each_pull_requests_review_of_the_highest_status_priority() {
    for database in TestDatabase::every_engine().await {
        let engine = database.engine;
        let dashboard = start(database).await;
        let alice = &dashboard.alice;
        let pushed = |number, head| Pull {
            action: "synchronize",
            updated_at: "2026-11-01T11:00:00Z",
            ..opened(number, head)
        };
        // 1: completed. 2: completed, then a newer review fails (GitHub lost the pull request).
        // 3: fails (GitHub never had it).
        dashboard.host(alice, 1, "a1");
        let first = dashboard.deliver(alice, "prio-1", &opened(1, "a1")).await;
        dashboard.host(alice, 2, "b1");
        let second = dashboard.deliver(alice, "prio-2", &opened(2, "b1")).await;
        dashboard.settle(alice, 2).await;
        dashboard.github.state().repo(&alice.repo).pulls.remove(&2);
        dashboard.deliver(alice, "prio-3", &pushed(2, "b2")).await;
        let third = dashboard.deliver(alice, "prio-4", &opened(3, "c1")).await;
        for number in [1, 2, 3] {
            dashboard.settle(alice, number).await;
        }
        let Dashboard { app, github, alice, .. } = dashboard;
        app.stop().await;

        // Newer reviews that stay pending: no worker runs in this process.
        let github_url = github.url.clone();
        let intake_only = spawn_app_on(app.database, move |settings| {
            configure(settings, &github_url);
            settings.workers.workers = 0;
        })
        .await;
        for (delivery, number, head) in [("prio-5", 1, "a2"), ("prio-6", 3, "c2")] {
            let answer = alice
                .deliver(&intake_only, delivery, &payload(&alice, &pushed(number, head)))
                .await;
            assert_eq!(answer["review_queued"], true, "{engine:?}: {answer}");
        }
        let statuses = |number| {
            let store = intake_only.store.clone();
            let repo_id = alice.repo_id;
            async move {
                let jobs = store.jobs_of_pull_request(repo_id, number).await.unwrap();
                jobs.iter().map(|job| job.status).collect::<Vec<_>>()
            }
        };
        assert_eq!(statuses(1).await, [JobStatus::Completed, JobStatus::Queued], "{engine:?}");
        assert_eq!(statuses(2).await, [JobStatus::Completed, JobStatus::Failed], "{engine:?}");
        assert_eq!(statuses(3).await, [JobStatus::Failed, JobStatus::Queued], "{engine:?}");

        // Each pull request shows its older review of the higher priority: completed over a
        // newer pending or failed one, failed over a newer pending one; newest shown first.
        let event = |answer: &Value| answer["event_id"].as_i64().unwrap();
        let reviews = alice.get(&intake_only, "/api/v1/reviews").await;
        assert_eq!(
            shown(&reviews),
            [(3, event(&third)), (2, event(&second)), (1, event(&first))],
            "{engine:?}: {reviews}"
        );
        let statuses: Vec<&str> =
            reviews.as_array().unwrap().iter().map(|r| r["status"].as_str().unwrap()).collect();
        assert_eq!(statuses, ["failed", "completed", "completed"], "{engine:?}");
        for review in reviews.as_array().unwrap() {
            assert_eq!(review["event_type"], "opened_pull_request", "{engine:?}: {review}");
        }

        // The status filter applies to the review shown, after de-duplication.
        let pending = alice.get(&intake_only, "/api/v1/reviews?status=pending").await;
        assert_eq!(pending, json!([]), "{engine:?}: no pull request shows a pending review");
        let failed = alice.get(&intake_only, "/api/v1/reviews?status=failed").await;
        assert_eq!(shown(&failed), [(3, event(&third))], "{engine:?}");
        let completed = alice.get(&intake_only, "/api/v1/reviews?status=completed").await;
        assert_eq!(shown(&completed), [(2, event(&second)), (1, event(&first))], "{engine:?}");
        intake_only.stop().await;
    }
}

#[tokio::test]
async fn a_reviewed_pull_request_closed_then_reopened_shows_closed_then_open() {
    for database in TestDatabase::every_engine().await {
        let engine = database.engine;
        let dashboard = start(database).await;
        let alice = &dashboard.alice;
        let opened = opened(5, "f1");
        dashboard.host(alice, 5, "f1");
        dashboard.deliver(alice, "state-1", &opened).await;
        dashboard.settle(alice, 5).await;
        // The state a delivery carries: closed without a merge, then open again.
        let delivery = |action, state, updated_at| {
            let mut delivery = payload(alice, &Pull { action, updated_at, ..opened });
            delivery["pull_request"]["state"] = Value::from(state);
            delivery["pull_request"]["merged"] = false.into();
            delivery
        };
        let shown_state = |reviews: &Value| {
            let list = reviews.as_array().unwrap();
            assert_eq!(list.len(), 1, "{engine:?}: {reviews}");
            assert_eq!(list[0]["status"], "completed", "{engine:?}: the review stays");
            list[0]["pr_status"].as_str().unwrap().to_owned()
        };
        assert_eq!(shown_state(&dashboard.ok(alice, "/api/v1/reviews").await), "open");

        let closed = delivery("closed", "closed", "2026-11-01T12:00:00Z");
        let answer = alice.deliver(&dashboard.app, "state-2", &closed).await;
        assert_eq!(answer["status"], "received", "{engine:?}: {answer}");
        let reviews = dashboard.ok(alice, "/api/v1/reviews").await;
        assert_eq!(shown_state(&reviews), "closed", "{engine:?}");
        let filtered = dashboard.ok(alice, "/api/v1/reviews?status=closed").await;
        assert_eq!(shown_state(&filtered), "closed", "{engine:?}");
        let open = dashboard.ok(alice, "/api/v1/reviews?status=open").await;
        assert_eq!(open, json!([]), "{engine:?}");
        let merged = dashboard.ok(alice, "/api/v1/reviews?status=merged").await;
        assert_eq!(merged, json!([]), "{engine:?}: closed without a merge");

        let reopened = delivery("reopened", "open", "2026-11-01T13:00:00Z");
        let answer = alice.deliver(&dashboard.app, "state-3", &reopened).await;
        assert_eq!(answer["review_queued"], false, "{engine:?}: reviewed already: {answer}");
        let reviews = dashboard.ok(alice, "/api/v1/reviews").await;
        assert_eq!(shown_state(&reviews), "open", "{engine:?}");
        let open = dashboard.ok(alice, "/api/v1/reviews?status=open").await;
        assert_eq!(shown_state(&open), "open", "{engine:?}");
        let closed = dashboard.ok(alice, "/api/v1/reviews?status=closed").await;
        assert_eq!(closed, json!([]), "{engine:?}");
        let jobs = dashboard.app.store.jobs_of_pull_request(alice.repo_id, 5).await.unwrap();
        assert_eq!(jobs.len(), 1, "{engine:?}: one review for one head");
        dashboard.app.stop().await;
    }
}
