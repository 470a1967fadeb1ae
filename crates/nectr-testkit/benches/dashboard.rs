//! The dashboard over 10,000 stored reviews on PostgreSQL (`TEST_DATABASE_URL`):
//! - the analytics summary, timeline and insights, each one call of the store's
//!   `ReviewAnalytics` (criterion);
//! - `GET /api/v1/reviews?limit=20` over HTTP with a session, from 64 concurrent keep-alive
//!   connections for `NECTR_BENCH_SECONDS` (default 10): requests per second and latency
//!   percentiles.
//!
//! The reviews are 10,000 queued reviews of 7,500 pull requests of one connected repository,
//! spread over the last 83 days (90 % completed with a record, 6 % failed, the rest pending),
//! written with set-based SQL in the tables and columns the intake and the workers write
//! (`reviewed_pull_requests` as the intake and the record writes keep it).
//! `cargo xtask bench dashboard`.

#![expect(clippy::unwrap_used, reason = "a benchmark's set-up either works or stops")]
#![expect(clippy::print_stdout, reason = "the load figures are this benchmark's output")]

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use criterion::Criterion;
use nectr_api::auth::session::{SameSite, SessionConfig, SessionKey};
use nectr_domain::analytics::{ReviewAnalytics, period_start};
use nectr_domain::{
    AccessToken, InstallationRepository, NewInstallation, RepoFullName, UserId, UserRepository,
    UserUpsert,
};
use nectr_persistence::SeaOrmStore;
use nectr_testkit::{TestDatabase, spawn_app_on};
use secrecy::SecretString;

const REVIEWS: u32 = 10_000;
const PULL_REQUESTS: u32 = 7_500;
const REPO_ID: i64 = 4242;
const CONNECTIONS: usize = 64;
const JWT_SECRET: &str = "dashboard-bench-jwt-secret";

/// Pull requests, their review events, jobs, runs and records, all at once.
fn seed_script() -> String {
    format!(
        "INSERT INTO pull_requests ({columns}) \
         SELECT {REPO_ID}, n, 'bench-org/service', 'Change number ' || n, 'dev' || (n % 25), \
           'feature/' || n, 'https://github.com/bench-org/service/pull/' || n, \
           CASE WHEN n % 3 = 0 THEN 'merged' WHEN n % 7 = 0 THEN 'closed' ELSE 'open' END, \
           n % 400, n % 90, 1 + n % 20, \
           now() - make_interval(mins => n * 16), \
           CASE WHEN n % 3 = 0 THEN now() - make_interval(mins => n * 16) \
             + make_interval(hours => 1 + n % 100) END, \
           now() - make_interval(mins => n * 16) \
         FROM generate_series(1, {PULL_REQUESTS}) n; \
         INSERT INTO events (event_type, source, payload, status, created_at, processed_at, \
           delivery_id, github_event, repo_id) \
         SELECT 'opened_pull_request', 'github', '{{}}', \
           CASE WHEN i % 17 = 0 THEN 'failed' WHEN i % 10 = 0 THEN 'pending' ELSE 'completed' END, \
           now() - make_interval(mins => i * 12), now() - make_interval(mins => i * 12 - 1), \
           'bench-' || i, 'pull_request', {REPO_ID} \
         FROM generate_series(1, {REVIEWS}) i ORDER BY i; \
         INSERT INTO workflow_runs (event_id, workflow_type, status, result, started_at, \
           completed_at) \
         SELECT e.id, 'pr_review', e.status, \
           CASE WHEN e.status = 'completed' THEN '{{\"ai_summary\": \"## Summary\\nFine.\\n\\n## Review Verdict\\n**APPROVE**\", \"files_analyzed\": 3}}' END, \
           e.created_at, e.processed_at FROM events e ORDER BY e.id; \
         INSERT INTO review_jobs (event_id, repo_id, repo_full_name, pr_number, head_sha, \
           status, attempts, max_attempts, available_at, review_run_id, created_at, updated_at) \
         SELECT e.id, {REPO_ID}, 'bench-org/service', 1 + (e.id % {PULL_REQUESTS}), \
           'sha' || e.id, CASE e.status WHEN 'pending' THEN 'queued' ELSE e.status END, 1, 3, \
           e.created_at, w.id, e.created_at, e.created_at \
         FROM events e JOIN workflow_runs w ON w.event_id = e.id; \
         INSERT INTO review_records (run_id, verdict, confidence, posted_event, critical_count, \
           moderate_count, minor_count, model, input_tokens, output_tokens, cache_read_tokens, \
           cache_write_tokens, cost_usd, fetch_ms, model_ms, post_ms, total_ms, recorded_at) \
         SELECT w.id, (ARRAY['APPROVE', 'REQUEST_CHANGES', 'NEEDS_DISCUSSION'])[1 + w.id % 3], \
           1 + w.id % 5, 'COMMENT', w.id % 3, w.id % 4, w.id % 6, 'offline', 1000, 200, 0, 0, \
           0.01, 100, 2000 + w.id % 5000, 150, 2500 + w.id % 5000, w.completed_at \
         FROM workflow_runs w WHERE w.status = 'completed'; \
         INSERT INTO reviewed_pull_requests (repo_id, pr_number, last_queued_at, verdict, \
           confidence, critical_count, moderate_count, minor_count) \
         SELECT DISTINCT ON (j.pr_number) j.repo_id, j.pr_number, \
           MAX(j.created_at) OVER (PARTITION BY j.pr_number), r.verdict, r.confidence, \
           r.critical_count, r.moderate_count, r.minor_count \
         FROM review_jobs j LEFT JOIN review_records r ON r.run_id = j.review_run_id \
         ORDER BY j.pr_number, r.recorded_at DESC NULLS LAST, r.run_id DESC; \
         ANALYZE",
        columns = "repo_id, pr_number, repo_full_name, title, author, branch, html_url, state, \
            additions, deletions, changed_files, opened_at, merged_at, updated_at"
    )
}

/// Adds the user and the connection; answers the user and a session token.
async fn connect(store: &SeaOrmStore) -> (UserId, String) {
    let user = store
        .upsert_by_github_id(UserUpsert {
            github_id: 77,
            github_username: "bench".to_owned(),
            github_access_token: AccessToken::new("ghp_bench00000000000000000000000000000000"),
            email: None,
            avatar_url: None,
            name: None,
        })
        .await
        .unwrap();
    store
        .create(NewInstallation {
            user_id: user.id,
            repo: RepoFullName::parse("bench-org/service").unwrap(),
            github_repo_id: Some(REPO_ID),
            webhook_id: Some(1),
            webhook_secret: None,
            installation_id: None,
            access_token: None,
        })
        .await
        .unwrap();
    let sessions = SessionConfig {
        key: SessionKey::from_jwt_secret(JWT_SECRET),
        lifetime_minutes: 600,
        secure_cookies: false,
        same_site: SameSite::Lax,
    };
    (user.id, sessions.issue(&user, Utc::now()).unwrap())
}

fn seconds() -> u64 {
    std::env::var("NECTR_BENCH_SECONDS").ok().and_then(|text| text.parse().ok()).unwrap_or(10)
}

/// `GET /api/v1/reviews?limit=20` from [`CONNECTIONS`] connections; prints the figures.
async fn load(url: String, session: String) {
    let deadline = Instant::now() + Duration::from_secs(seconds());
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..CONNECTIONS {
        let (url, session) = (url.clone(), session.clone());
        tasks.spawn(async move {
            let client = reqwest::Client::builder().pool_max_idle_per_host(1).build().unwrap();
            let mut latencies = Vec::new();
            while Instant::now() < deadline {
                let started = Instant::now();
                let response = client.get(&url).bearer_auth(&session).send().await.unwrap();
                assert_eq!(response.status(), 200);
                let body = response.bytes().await.unwrap();
                assert!(body.len() > 1_000, "a full page");
                latencies.push(started.elapsed());
            }
            latencies
        });
    }
    let started = Instant::now();
    let mut latencies = Vec::new();
    while let Some(done) = tasks.join_next().await {
        latencies.extend(done.unwrap());
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort_unstable();
    let at = |fraction: f64| {
        let index = ((latencies.len() as f64 * fraction) as usize).min(latencies.len() - 1);
        latencies[index].as_secs_f64() * 1000.0
    };
    println!(
        "GET /api/v1/reviews?limit=20, {CONNECTIONS} connections, {REVIEWS} reviews: {} requests \
         in {elapsed:.1} s = {:.0} per second; latency p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, \
         max {:.1} ms",
        latencies.len(),
        latencies.len() as f64 / elapsed,
        at(0.50),
        at(0.90),
        at(0.99),
        at(1.0)
    );
}

fn analytics(
    criterion: &mut Criterion,
    runtime: &tokio::runtime::Runtime,
    store: Arc<SeaOrmStore>,
    user: UserId,
) {
    let mut group = criterion.benchmark_group(format!("analytics over {REVIEWS} reviews"));
    group.sample_size(30).measurement_time(Duration::from_secs(8));
    group.bench_function("summary", |bencher| {
        bencher.to_async(runtime).iter(|| async { store.summary(user, Utc::now()).await.unwrap() });
    });
    for days in [30, 90] {
        group.bench_function(format!("timeline, {days} days"), |bencher| {
            bencher.to_async(runtime).iter(|| async {
                store.timeline(user, period_start(Utc::now(), days)).await.unwrap()
            });
        });
        group.bench_function(format!("insights, {days} days"), |bencher| {
            bencher.to_async(runtime).iter(|| async {
                store.insights(user, period_start(Utc::now(), days)).await.unwrap()
            });
        });
    }
    group.finish();
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let Some(database) = runtime.block_on(TestDatabase::postgres()) else {
        println!("the dashboard benchmark needs TEST_DATABASE_URL (PostgreSQL)");
        return;
    };
    let (app, user, session) = runtime.block_on(async {
        let app = spawn_app_on(database, |settings| {
            settings.security.jwt_secret = Some(SecretString::from(JWT_SECRET));
            settings.application.workers = 2;
            settings.database.max_connections = 16;
        })
        .await;
        let (user, session) = connect(&app.store).await;
        app.database.execute_script(&seed_script()).await;
        (app, user, session)
    });
    let store = app.store.clone();
    let mut criterion = Criterion::default().configure_from_args();
    analytics(&mut criterion, &runtime, store, user);
    runtime.block_on(load(app.url("/api/v1/reviews?limit=20"), session));
    criterion.final_summary();
    runtime.block_on(app.stop());
}
