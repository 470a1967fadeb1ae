//! Two worker pools in two processes drain one PostgreSQL queue: no job runs twice, none is lost.

use std::collections::HashSet;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nectr_domain::queue::{IntakeEffect, NewReviewJob, ReviewQueue};
use nectr_domain::{EventStatus, NewEvent, RepoFullName};
use nectr_testkit::TestDatabase;
use sea_orm::{ConnectionTrait, Database};

const JOBS: usize = 1000;

#[tokio::test]
async fn two_processes_drain_a_thousand_jobs_once_each() {
    let Some(database) = TestDatabase::postgres().await else { return };
    let store = database.migrated_store().await;
    let connection = Database::connect(&database.url).await.unwrap();
    connection
        .execute_unprepared(
            "CREATE TABLE drill_runs (job_id BIGINT NOT NULL, worker TEXT NOT NULL)",
        )
        .await
        .unwrap();
    for index in 0..JOBS {
        let event = NewEvent {
            event_type: "opened_pull_request".to_owned(),
            source: "github".to_owned(),
            payload: "{}".to_owned(),
            status: EventStatus::Pending,
            delivery_id: Some(format!("drill-{index}")),
            github_event: Some("pull_request".to_owned()),
        };
        // Each job is its own pull request, so all of them may run in parallel.
        let job = NewReviewJob {
            repo_id: 7,
            repo: RepoFullName::parse("octocat/drill").unwrap(),
            pr_number: index as u64 + 1,
            head_sha: format!("{index:040}"),
            installation_id: None,
            max_attempts: 3,
            pull_request: None,
        };
        store.accept(event, IntakeEffect::QueueReview(job)).await.unwrap();
    }
    let spawn = |name: &str| {
        Command::new(env!("CARGO_BIN_EXE_queue-drill"))
            .args([database.url.as_str(), name, "4"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    let mut first = spawn("process-a");
    let mut second = spawn("process-b");
    let started = Instant::now();
    let completed = loop {
        let row = connection
            .query_one_raw(sea_orm::Statement::from_string(
                sea_orm::DbBackend::Postgres,
                "SELECT count(*) AS n FROM review_jobs WHERE status = 'completed'",
            ))
            .await
            .unwrap()
            .unwrap();
        let count: i64 = row.try_get("", "n").unwrap();
        if count as usize == JOBS || started.elapsed() > Duration::from_secs(120) {
            break count;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    first.kill().unwrap();
    second.kill().unwrap();
    first.wait().unwrap();
    second.wait().unwrap();
    assert_eq!(completed as usize, JOBS, "none lost");
    let rows = connection
        .query_all_raw(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Postgres,
            "SELECT job_id, worker FROM drill_runs",
        ))
        .await
        .unwrap();
    let runs: Vec<(i64, String)> = rows
        .iter()
        .map(|row| (row.try_get("", "job_id").unwrap(), row.try_get("", "worker").unwrap()))
        .collect();
    let distinct: HashSet<i64> = runs.iter().map(|(job, _)| *job).collect();
    assert_eq!(runs.len(), JOBS, "none ran twice");
    assert_eq!(distinct.len(), JOBS);
    let processes: HashSet<bool> =
        runs.iter().map(|(_, worker)| worker.starts_with("process-a")).collect();
    assert_eq!(processes.len(), 2, "both processes took part");
    connection.close().await.unwrap();
}
