//! The `reviewed_pull_requests` table: one row per pull request with a queued review, holding
//! what the insights aggregate per pull request, so that they read one row each instead of
//! ranking every review of the period's pull requests:
//! - `last_queued_at`: when its newest review was queued (its event's `created_at`), written
//!   where a job is queued (the intake on either engine, the adoption of the original's
//!   history);
//! - the verdict, confidence and issue counts of its latest review record (newest
//!   `recorded_at`, then highest run id), refreshed where a record is written.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbErr};

use crate::queue::statement;

/// Records that a review of pull request `$2` of repository `$1` was queued at `$3`; an older
/// time never replaces a newer one.
pub(crate) const QUEUED: &str = "INSERT INTO reviewed_pull_requests \
    (repo_id, pr_number, last_queued_at) VALUES ($1, $2, $3) \
    ON CONFLICT (repo_id, pr_number) DO UPDATE SET last_queued_at = excluded.last_queued_at \
    WHERE excluded.last_queued_at > reviewed_pull_requests.last_queued_at";

/// Sets the latest review record's figures of the rows matching `{rows}` (a condition on
/// `reviewed_pull_requests`): the one rule of which record is a pull request's latest.
const REFRESH: &str = "UPDATE reviewed_pull_requests SET \
    (verdict, confidence, critical_count, moderate_count, minor_count) = ( \
      SELECT r.verdict, r.confidence, r.critical_count, r.moderate_count, r.minor_count \
      FROM review_jobs j JOIN review_records r ON r.run_id = j.review_run_id \
      WHERE j.repo_id = reviewed_pull_requests.repo_id \
        AND j.pr_number = reviewed_pull_requests.pr_number \
      ORDER BY r.recorded_at DESC, r.run_id DESC LIMIT 1) \
    WHERE {rows}";

/// Records that a review of the pull request was queued at `at`.
pub(crate) async fn queued(
    connection: &impl ConnectionTrait,
    repo_id: i64,
    pr_number: i64,
    at: DateTime<Utc>,
) -> Result<(), DbErr> {
    let backend = connection.get_database_backend();
    let values = vec![repo_id.into(), pr_number.into(), at.into()];
    connection.execute_raw(statement(backend, QUEUED, values)).await?;
    Ok(())
}

/// Refreshes the latest review record of the pull request reviewed by run `run_id`.
pub(crate) async fn refresh_for_run(
    connection: &impl ConnectionTrait,
    run_id: i32,
) -> Result<(), DbErr> {
    let rows = "EXISTS (SELECT 1 FROM review_jobs k WHERE k.review_run_id = $1 \
        AND k.repo_id = reviewed_pull_requests.repo_id \
        AND k.pr_number = reviewed_pull_requests.pr_number)";
    refresh(connection, rows, vec![run_id.into()]).await
}

/// Refreshes the latest review record of one pull request.
pub(crate) async fn refresh_pull_request(
    connection: &impl ConnectionTrait,
    repo_id: i64,
    pr_number: i64,
) -> Result<(), DbErr> {
    let rows = "repo_id = $1 AND pr_number = $2";
    refresh(connection, rows, vec![repo_id.into(), pr_number.into()]).await
}

async fn refresh(
    connection: &impl ConnectionTrait,
    rows: &str,
    values: Vec<sea_orm::Value>,
) -> Result<(), DbErr> {
    let backend = connection.get_database_backend();
    let sql = REFRESH.replace("{rows}", rows);
    connection.execute_raw(statement(backend, &sql, values)).await?;
    Ok(())
}
