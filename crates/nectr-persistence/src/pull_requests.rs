//! The `pull_requests` table: each pull request as the newest delivery described it (title,
//! author, branch, size, open, merged or closed), written by the intake in the transaction (on
//! PostgreSQL, the statement) that stores the delivery, and only for a new delivery. A snapshot
//! replaces the stored one only when GitHub's `updated_at` is at least as new, so deliveries
//! stored out of order, or redelivered, never take a pull request back to an older state.

use nectr_domain::EventId;
use nectr_domain::pull_request::PullRequestSnapshot;
use nectr_domain::queue::QueueError;
use sea_orm::{ConnectionTrait, DatabaseTransaction, Value};

use crate::queue::{statement, unexpected};

/// The columns `SET` from the new row, shared by both engines' upserts.
pub(crate) const ON_CONFLICT: &str = "ON CONFLICT (repo_id, pr_number) DO UPDATE SET \
    repo_full_name = excluded.repo_full_name, title = excluded.title, \
    author = excluded.author, branch = excluded.branch, html_url = excluded.html_url, \
    state = excluded.state, additions = excluded.additions, deletions = excluded.deletions, \
    changed_files = excluded.changed_files, opened_at = excluded.opened_at, \
    merged_at = excluded.merged_at, updated_at = excluded.updated_at \
    WHERE pull_requests.updated_at <= excluded.updated_at";

/// The table's columns in insertion order.
pub(crate) const COLUMNS: &str = "repo_id, pr_number, repo_full_name, title, author, branch, \
    html_url, state, additions, deletions, changed_files, opened_at, merged_at, updated_at";

fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// The row's values, in [`COLUMNS`] order.
fn values(snapshot: &PullRequestSnapshot) -> Vec<Value> {
    vec![
        snapshot.repo_id.into(),
        to_i64(snapshot.number).into(),
        snapshot.repo.to_string().into(),
        snapshot.title.as_str().into(),
        snapshot.author.as_str().into(),
        snapshot.branch.as_str().into(),
        snapshot.url.as_str().into(),
        snapshot.state.as_str().into(),
        to_i64(snapshot.additions).into(),
        to_i64(snapshot.deletions).into(),
        to_i64(snapshot.changed_files).into(),
        snapshot.opened_at.into(),
        snapshot.merged_at.into(),
        snapshot.updated_at.into(),
    ]
}

/// Stores `snapshot` unless a newer one of the same pull request is stored.
pub(crate) async fn upsert(
    connection: &impl ConnectionTrait,
    snapshot: &PullRequestSnapshot,
) -> Result<(), sea_orm::DbErr> {
    let backend = connection.get_database_backend();
    let placeholders: Vec<String> = (1..=14).map(|index| format!("${index}")).collect();
    let upsert = format!(
        "INSERT INTO pull_requests ({COLUMNS}) VALUES ({}) {ON_CONFLICT}",
        placeholders.join(", ")
    );
    connection.execute_raw(statement(backend, &upsert, values(snapshot))).await?;
    Ok(())
}

/// Records `snapshot` for the new event `event_id` inside the intake's transaction (SQLite):
/// the event's repository, and the pull request's state when it is the newest.
pub(crate) async fn record(
    txn: &DatabaseTransaction,
    event_id: EventId,
    snapshot: &PullRequestSnapshot,
) -> Result<(), QueueError> {
    upsert(txn, snapshot).await.map_err(unexpected("recording a pull request"))?;
    let Ok(event_id) = i32::try_from(event_id.get()) else { return Ok(()) };
    locate_event(txn, event_id, snapshot.repo_id)
        .await
        .map_err(unexpected("recording an event's repository"))
}

/// Records the repository (GitHub's id) the event `event_id` came from.
pub(crate) async fn locate_event(
    connection: &impl ConnectionTrait,
    event_id: i32,
    repo_id: i64,
) -> Result<(), sea_orm::DbErr> {
    let backend = connection.get_database_backend();
    connection
        .execute_raw(statement(
            backend,
            "UPDATE events SET repo_id = $1 WHERE id = $2",
            vec![repo_id.into(), event_id.into()],
        ))
        .await?;
    Ok(())
}
