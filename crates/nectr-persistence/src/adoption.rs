//! The original service's review history, adopted at start-up: each of its `events` rows gets
//! the repository id its payload names (or the installation of that name has), each pull request
//! it describes a `pull_requests` row, and each review it ran (a completed or failed pull-request
//! event with its workflow run) the `review_jobs` row that Nectr's review list, analytics and
//! tenancy read. Nectr's own deliveries (`github_event` set) are never touched, a row is adopted
//! once (the next start finds its `repo_id` set), and the pull request's state is only replaced
//! by a newer one.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use nectr_domain::RepoFullName;
use nectr_domain::event::EventStatus;
use nectr_domain::original_history::{AdoptedEvent, adopt};
use nectr_domain::queue::JobStatus;
use sea_orm::{ConnectionTrait, DbErr, QueryResult, TransactionTrait};

use crate::queue::statement;
use crate::store::{SeaOrmStore, StoreError, db_error};
use crate::{pull_requests, reviewed};

/// Rows read and adopted per transaction.
const PAGE: i64 = 500;

/// What the adoption of the original's history did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HistoryAdoption {
    /// Events that now carry their repository's id.
    pub events_located: u64,
    /// Reviews of the original that now show in the review list and analytics.
    pub reviews_adopted: u64,
    /// Events whose payload names no repository Nectr can identify; they stay as they are.
    pub events_unplaced: u64,
}

/// One original event.
struct Original {
    id: i32,
    event_type: String,
    payload: String,
    status: String,
    created_at: DateTime<Utc>,
    run_id: Option<i32>,
}

fn original(row: &QueryResult) -> Result<Original, DbErr> {
    Ok(Original {
        id: row.try_get("", "id")?,
        event_type: row.try_get("", "event_type")?,
        payload: row.try_get("", "payload")?,
        status: row.try_get("", "status")?,
        created_at: row.try_get("", "created_at")?,
        run_id: row.try_get("", "run_id")?,
    })
}

/// The job status of an original review that ended; `None` for one that never did.
fn ended(status: &str) -> Option<JobStatus> {
    match status.parse::<EventStatus>() {
        Ok(EventStatus::Completed) => Some(JobStatus::Completed),
        Ok(EventStatus::Failed) => Some(JobStatus::Failed),
        _ => None,
    }
}

impl SeaOrmStore {
    /// Adopts the original service's review history (see the module's documentation). Safe to
    /// run at every start: adopted rows are not read again.
    ///
    /// # Errors
    /// [`StoreError::Unexpected`] when the database fails.
    pub async fn adopt_original_history(&self) -> Result<HistoryAdoption, StoreError> {
        let repo_ids = self.installed_repo_ids().await?;
        let known = |repo: &RepoFullName| repo_ids.get(&repo.to_string().to_lowercase()).copied();
        let mut report = HistoryAdoption::default();
        let mut after = 0_i32;
        loop {
            let page = self.original_page(after).await?;
            let Some(last) = page.last() else { return Ok(report) };
            after = last.id;
            let _turn = self.write_turn().await;
            let txn = self.connection.begin().await.map_err(db_error("adopting history"))?;
            for event in &page {
                match adopt(&event.payload, known, event.created_at) {
                    Some(adopted @ AdoptedEvent { repo_id: Some(repo_id), .. }) => {
                        let reviewed = adopt_one(&txn, event, repo_id, &adopted)
                            .await
                            .map_err(db_error("adopting an original event"))?;
                        report.events_located += 1;
                        report.reviews_adopted += u64::from(reviewed);
                    }
                    _ => report.events_unplaced += 1,
                }
            }
            txn.commit().await.map_err(db_error("adopting history"))?;
        }
    }

    /// Lower-cased repository names of installations with a GitHub id, with that id.
    async fn installed_repo_ids(&self) -> Result<HashMap<String, i64>, StoreError> {
        let backend = self.connection.get_database_backend();
        let sql = "SELECT lower(repo_full_name) AS name, MAX(github_repo_id) AS id \
                   FROM installations WHERE github_repo_id IS NOT NULL GROUP BY lower(repo_full_name)";
        let rows = self
            .connection
            .query_all_raw(statement(backend, sql, Vec::new()))
            .await
            .map_err(db_error("reading installed repositories"))?;
        rows.iter()
            .map(|row| Ok((row.try_get("", "name")?, row.try_get("", "id")?)))
            .collect::<Result<_, DbErr>>()
            .map_err(|error| StoreError::from(db_error("reading installed repositories")(error)))
    }

    /// The next original events not adopted yet, after `after`, oldest first.
    async fn original_page(&self, after: i32) -> Result<Vec<Original>, StoreError> {
        let backend = self.connection.get_database_backend();
        let sql = "SELECT e.id, e.event_type, e.payload, e.status, e.created_at, \
                     (SELECT MAX(w.id) FROM workflow_runs w WHERE w.event_id = e.id) AS run_id \
                   FROM events e WHERE e.repo_id IS NULL AND e.github_event IS NULL AND e.id > $1 \
                     AND NOT EXISTS (SELECT 1 FROM review_jobs j WHERE j.event_id = e.id) \
                   ORDER BY e.id LIMIT $2";
        let rows = self
            .connection
            .query_all_raw(statement(backend, sql, vec![after.into(), PAGE.into()]))
            .await
            .map_err(db_error("reading the original's events"))?;
        rows.iter()
            .map(original)
            .collect::<Result<_, _>>()
            .map_err(|error| StoreError::from(db_error("reading the original's events")(error)))
    }
}

/// Adopts one event, from repository `repo_id`; answers whether it was a review.
async fn adopt_one(
    txn: &impl ConnectionTrait,
    event: &Original,
    repo_id: i64,
    adopted: &AdoptedEvent,
) -> Result<bool, DbErr> {
    let backend = txn.get_database_backend();
    pull_requests::locate_event(txn, event.id, repo_id).await?;
    let Some(pull) = &adopted.pull_request else { return Ok(false) };
    if let Some(snapshot) = &pull.snapshot {
        pull_requests::upsert(txn, snapshot).await?;
    }
    let review = (
        event.event_type.ends_with("_pull_request"),
        ended(&event.status),
        event.run_id,
        &adopted.repo,
        i64::try_from(pull.number),
    );
    let (true, Some(status), Some(run_id), Some(repo), Ok(number)) = review else {
        return Ok(false);
    };
    let inserted = txn
        .execute_raw(statement(
            backend,
            "INSERT INTO review_jobs (event_id, repo_id, repo_full_name, pr_number, head_sha, \
               status, attempts, max_attempts, available_at, review_run_id, created_at, \
               updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, 1, 1, $7, $8, $7, $7) ON CONFLICT DO NOTHING",
            vec![
                event.id.into(),
                repo_id.into(),
                repo.to_string().into(),
                number.into(),
                pull.head_sha.as_str().into(),
                status.as_str().into(),
                event.created_at.into(),
                run_id.into(),
            ],
        ))
        .await?;
    if inserted.rows_affected() == 0 {
        return Ok(false);
    }
    reviewed::queued(txn, repo_id, number, event.created_at).await?;
    reviewed::refresh_pull_request(txn, repo_id, number).await?;
    Ok(true)
}
