//! `ReviewRunRepository` on sea-orm, over the original's `workflow_runs` table.

use async_trait::async_trait;
use chrono::Utc;
use nectr_domain::{
    EventId, NewReviewRun, ReviewRun, ReviewRunId, ReviewRunRepository, ReviewRunRepositoryError,
    ReviewRunStatus,
};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set, SqlErr};

use crate::SeaOrmStore;
use crate::entities::workflow_runs::{self, Column};
use crate::store::db_error;

fn run_from_row(row: workflow_runs::Model) -> Result<ReviewRun, ReviewRunRepositoryError> {
    let id = ReviewRunId::new(i64::from(row.id));
    let status = row
        .status
        .as_deref()
        .unwrap_or("running")
        .parse::<ReviewRunStatus>()
        .map_err(|error| anyhow::anyhow!("review run {id} has {error}"))?;
    let result =
        match row.result.as_deref() {
            Some(text) => Some(serde_json::from_str(text).map_err(|error| {
                anyhow::anyhow!("review run {id} has a malformed result: {error}")
            })?),
            None => None,
        };
    Ok(ReviewRun {
        id,
        event_id: EventId::new(i64::from(row.event_id)),
        workflow_type: row.workflow_type,
        status,
        result,
        error: row.error,
        started_at: row.started_at.unwrap_or_default(),
        completed_at: row.completed_at,
    })
}

#[async_trait]
impl ReviewRunRepository for SeaOrmStore {
    async fn start(&self, run: NewReviewRun) -> Result<ReviewRun, ReviewRunRepositoryError> {
        let event_id = run.event_id;
        let Ok(raw_event_id) = i32::try_from(event_id.get()) else {
            return Err(ReviewRunRepositoryError::UnknownEvent(event_id));
        };
        let row = workflow_runs::ActiveModel {
            event_id: Set(raw_event_id),
            workflow_type: Set(run.workflow_type),
            status: Set(Some(ReviewRunStatus::Running.as_str().to_owned())),
            result: Set(None),
            error: Set(None),
            started_at: Set(Some(Utc::now())),
            completed_at: Set(None),
            ..Default::default()
        };
        let saved = row.insert(&self.connection).await.map_err(|error| match error.sql_err() {
            Some(SqlErr::ForeignKeyConstraintViolation(_)) => {
                ReviewRunRepositoryError::UnknownEvent(event_id)
            }
            _ => db_error("starting a review run")(error).into(),
        })?;
        run_from_row(saved)
    }

    async fn finish(
        &self,
        id: ReviewRunId,
        status: ReviewRunStatus,
        result: Option<serde_json::Value>,
        error: Option<String>,
    ) -> Result<ReviewRun, ReviewRunRepositoryError> {
        if !status.is_final() {
            return Err(anyhow::anyhow!("cannot finish review run {id} as {status}").into());
        }
        let Ok(raw) = i32::try_from(id.get()) else {
            return Err(ReviewRunRepositoryError::NotFound(id));
        };
        let row = workflow_runs::Entity::find_by_id(raw)
            .one(&self.connection)
            .await
            .map_err(db_error("reading a review run"))?
            .ok_or(ReviewRunRepositoryError::NotFound(id))?;
        if run_from_row(row.clone())?.status.is_final() {
            return Err(ReviewRunRepositoryError::AlreadyFinished(id));
        }
        let mut active = workflow_runs::ActiveModel::from(row);
        active.status = Set(Some(status.as_str().to_owned()));
        active.result = Set(result.map(|value| value.to_string()));
        active.error = Set(error);
        active.completed_at = Set(Some(Utc::now()));
        run_from_row(
            active.update(&self.connection).await.map_err(db_error("ending a review run"))?,
        )
    }

    async fn find_by_id(
        &self,
        id: ReviewRunId,
    ) -> Result<Option<ReviewRun>, ReviewRunRepositoryError> {
        let Ok(raw) = i32::try_from(id.get()) else { return Ok(None) };
        workflow_runs::Entity::find_by_id(raw)
            .one(&self.connection)
            .await
            .map_err(db_error("reading a review run"))?
            .map(run_from_row)
            .transpose()
    }

    async fn list_for_event(
        &self,
        event_id: EventId,
    ) -> Result<Vec<ReviewRun>, ReviewRunRepositoryError> {
        let Ok(raw) = i32::try_from(event_id.get()) else { return Ok(Vec::new()) };
        workflow_runs::Entity::find()
            .filter(Column::EventId.eq(raw))
            .order_by_asc(Column::StartedAt)
            .order_by_asc(Column::Id)
            .all(&self.connection)
            .await
            .map_err(db_error("listing review runs"))?
            .into_iter()
            .map(run_from_row)
            .collect()
    }
}
