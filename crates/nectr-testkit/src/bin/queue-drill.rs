//! `queue-drill DATABASE_URL NAME WORKERS`: a worker pool in its own process for the
//! multi-process queue test. Its runner records every run it starts in `drill_runs`, so the test
//! can prove no job ran twice and none was lost. Runs until killed.

#![expect(clippy::expect_used, reason = "a test helper process: it fails loudly or not at all")]

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use nectr_domain::queue::{ReviewJob, ReviewRunner, RunError, RunOutcome, StopSignal};
use nectr_persistence::{CipherConfig, DatabaseConfig, SeaOrmStore, TokenCipher};
use nectr_server::workers::{WorkerPool, WorkerSettings};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement};

struct RecordingRunner {
    connection: DatabaseConnection,
    name: String,
}

#[async_trait]
impl ReviewRunner for RecordingRunner {
    async fn run(&self, job: &ReviewJob, _stop: &dyn StopSignal) -> Result<RunOutcome, RunError> {
        let statement = Statement::from_sql_and_values(
            DbBackend::Postgres,
            "INSERT INTO drill_runs (job_id, worker) VALUES ($1, $2)",
            [job.id.get().into(), self.name.clone().into()],
        );
        self.connection
            .execute_raw(statement)
            .await
            .map_err(|error| RunError::Transient(error.to_string()))?;
        tokio::time::sleep(Duration::from_millis(2)).await;
        Ok(RunOutcome::Completed(None))
    }
}

#[tokio::main]
async fn main() {
    let arguments: Vec<String> = std::env::args().collect();
    let [_, url, name, workers] = arguments.as_slice() else {
        eprintln!("usage: queue-drill DATABASE_URL NAME WORKERS");
        std::process::exit(2);
    };
    let cipher = TokenCipher::new(&CipherConfig {
        encryption_keys: Vec::new(),
        secret_key: Some("drill".to_owned()),
    })
    .expect("a key");
    let store = Arc::new(
        SeaOrmStore::connect(&DatabaseConfig::new(url.clone()), cipher)
            .await
            .expect("the database"),
    );
    let connection = Database::connect(url.as_str()).await.expect("the database");
    let runner = Arc::new(RecordingRunner { connection, name: name.clone() });
    let settings = WorkerSettings {
        workers: workers.parse().expect("a worker count"),
        lease_seconds: 30,
        poll_interval_ms: 10,
        ..WorkerSettings::default()
    };
    let _pool = WorkerPool::start(store, runner, &settings, name);
    std::future::pending::<()>().await;
}
