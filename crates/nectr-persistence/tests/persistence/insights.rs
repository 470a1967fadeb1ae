//! The insights read each pull request's latest recorded review from `reviewed_pull_requests`:
//! kept by the intake and the record writes, and filled by its migration from the reviews
//! stored before it.

use chrono::{Duration, Utc};
use nectr_domain::analytics::ReviewAnalytics;
use nectr_domain::llm::Usage;
use nectr_domain::queue::{IntakeEffect, NewReviewJob, ReviewQueue};
use nectr_domain::review::Verdict;
use nectr_domain::{
    AccessToken, EventStatus, InstallationRepository, NewEvent, NewInstallation, Posting,
    RepoFullName, ReviewRecord, ReviewRunRepository, StepTimings, UserId, UserRepository,
    UserUpsert,
};
use nectr_persistence::SeaOrmStore;
use nectr_testkit::TestDatabase;
use sea_orm::{ConnectionTrait, Database, Statement, Value};

const REPO_ID: i64 = 31;

fn delivery(id: &str) -> NewEvent {
    NewEvent {
        event_type: "opened_pull_request".to_owned(),
        source: "github".to_owned(),
        payload: "{}".to_owned(),
        status: EventStatus::Pending,
        delivery_id: Some(id.to_owned()),
        github_event: Some("pull_request".to_owned()),
    }
}

fn job(pr_number: u64, head: &str) -> IntakeEffect {
    IntakeEffect::QueueReview(NewReviewJob {
        repo_id: REPO_ID,
        repo: RepoFullName::parse("acme/api").unwrap(),
        pr_number,
        head_sha: head.to_owned(),
        installation_id: None,
        max_attempts: 3,
        pull_request: None,
    })
}

fn record(verdict: Verdict, critical: u32) -> ReviewRecord {
    ReviewRecord {
        verdict,
        confidence: 4,
        posted_event: "COMMENT".to_owned(),
        critical,
        moderate: 0,
        minor: 0,
        findings: Vec::new(),
        model: "offline".to_owned(),
        usage: Usage::default(),
        cost_usd: 0.0,
        timings: StepTimings::default(),
        body: String::new(),
        linked_issues: Vec::new(),
        files_reviewed: 1,
        planned_inline: 0,
        related_prs: None,
        posting: Posting::Intended { attempt: 1, head_sha: "a".to_owned(), at: Utc::now() },
    }
}

/// A user with `acme/api` connected.
async fn tenant(store: &SeaOrmStore) -> UserId {
    let user = store
        .upsert_by_github_id(UserUpsert {
            github_id: 5,
            github_username: "ada".to_owned(),
            github_access_token: AccessToken::new("ghp_insights000000000000000000000000000000"),
            email: None,
            avatar_url: None,
            name: None,
        })
        .await
        .unwrap();
    store
        .create(NewInstallation {
            user_id: user.id,
            repo: RepoFullName::parse("acme/api").unwrap(),
            github_repo_id: Some(REPO_ID),
            webhook_id: Some(1),
            webhook_secret: None,
            installation_id: None,
            access_token: None,
        })
        .await
        .unwrap();
    user.id
}

/// Queues a review of `head` and, when `verdict` is set, records it.
async fn review(
    store: &SeaOrmStore,
    delivery_id: &str,
    pr: u64,
    head: &str,
    verdict: Option<Verdict>,
) {
    store.accept(delivery(delivery_id), job(pr, head)).await.unwrap();
    let Some(verdict) = verdict else { return };
    let claimed = store.claim("worker", std::time::Duration::from_secs(60)).await.unwrap().unwrap();
    let run = claimed.review_run_id.unwrap();
    store.save_record(run, &record(verdict, 1)).await.unwrap();
    store.complete(claimed.id, "worker", None).await.unwrap();
}

#[tokio::test]
async fn the_insights_count_each_pull_request_once_with_its_latest_recorded_review() {
    for database in TestDatabase::every_engine().await {
        let store = database.migrated_store().await;
        let user = tenant(&store).await;
        review(&store, "d1", 1, "a1", Some(Verdict::Approve)).await;
        review(&store, "d2", 1, "a2", Some(Verdict::RequestChanges)).await;
        review(&store, "d3", 2, "b1", Some(Verdict::Approve)).await;
        review(&store, "d4", 2, "b2", None).await;
        review(&store, "d5", 3, "c1", None).await;

        let insights = store.insights(user, Utc::now() - Duration::days(30)).await.unwrap();
        assert_eq!(insights.prs, 3, "{:?}", database.engine);
        assert_eq!(
            (
                insights.verdict_count(Verdict::RequestChanges),
                insights.verdict_count(Verdict::Approve)
            ),
            (1, 1),
            "pull request 1's latest review asked for changes; 2's pending review has no record yet"
        );
        assert_eq!(insights.critical, 2);
        let later = store.insights(user, Utc::now() + Duration::hours(1)).await.unwrap();
        assert_eq!(later.prs, 0, "nothing was queued in that period");
        store.close().await.unwrap();
    }
}

/// Runs one statement with bound values.
async fn run(connection: &sea_orm::DatabaseConnection, sql: &str, values: Vec<Value>) {
    let backend = connection.get_database_backend();
    let sql = match backend {
        sea_orm::DbBackend::Sqlite => sql.replace('$', "?"),
        _ => sql.to_owned(),
    };
    connection.execute_raw(Statement::from_sql_and_values(backend, sql, values)).await.unwrap();
}

#[tokio::test]
async fn the_migration_fills_the_table_from_the_reviews_stored_before_it() {
    for database in TestDatabase::every_engine().await {
        let connection = Database::connect(&database.url).await.unwrap();
        nectr_migrations::run_first(&connection, 15).await.unwrap();
        let (old, new) = (Utc::now() - Duration::days(3), Utc::now() - Duration::days(1));
        for (event, created, head, recorded) in
            [(1, old, "a1", Some(old)), (2, new, "a2", Some(new)), (3, new, "b1", None)]
        {
            run(
                &connection,
                "INSERT INTO events (id, event_type, source, payload, status, created_at, \
                   delivery_id, github_event, repo_id) \
                 VALUES ($1, 'opened_pull_request', 'github', '{}', 'completed', $2, $3, \
                   'pull_request', $4)",
                vec![event.into(), created.into(), format!("m{event}").into(), REPO_ID.into()],
            )
            .await;
            run(
                &connection,
                "INSERT INTO workflow_runs (id, event_id, workflow_type, status, started_at) \
                 VALUES ($1, $1, 'pr_review', 'completed', $2)",
                vec![event.into(), created.into()],
            )
            .await;
            let pr: i64 = if head.starts_with('a') { 1 } else { 2 };
            run(
                &connection,
                "INSERT INTO review_jobs (event_id, repo_id, repo_full_name, pr_number, head_sha, \
                   status, attempts, max_attempts, available_at, review_run_id, created_at, \
                   updated_at) \
                 VALUES ($1, $2, 'acme/api', $3, $4, 'completed', 1, 3, $5, $1, $5, $5)",
                vec![event.into(), REPO_ID.into(), pr.into(), head.into(), created.into()],
            )
            .await;
            let Some(recorded) = recorded else { continue };
            let verdict = if event == 1 { "APPROVE" } else { "REQUEST_CHANGES" };
            run(
                &connection,
                "INSERT INTO review_records (run_id, verdict, confidence, posted_event, \
                   critical_count, moderate_count, minor_count, model, input_tokens, \
                   output_tokens, cache_read_tokens, cache_write_tokens, cost_usd, fetch_ms, \
                   model_ms, post_ms, total_ms, recorded_at) \
                 VALUES ($1, $2, 3, 'COMMENT', 0, 2, 0, 'offline', 0, 0, 0, 0, 0, 0, 0, 0, 0, $3)",
                vec![event.into(), verdict.into(), recorded.into()],
            )
            .await;
        }
        connection.close().await.unwrap();
        let store = database.migrated_store().await;
        let user = tenant(&store).await;
        let insights = store.insights(user, Utc::now() - Duration::days(2)).await.unwrap();
        assert_eq!(
            insights.prs, 2,
            "both pull requests were queued in the period: {:?}",
            database.engine
        );
        assert_eq!(insights.verdict_count(Verdict::RequestChanges), 1, "pull request 1's latest");
        assert_eq!(insights.verdict_count(Verdict::Approve), 0);
        assert_eq!(insights.moderate, 2);
        let earlier = store.insights(user, Utc::now() - Duration::days(30)).await.unwrap();
        assert_eq!(earlier.prs, 2);
        store.close().await.unwrap();
    }
}
