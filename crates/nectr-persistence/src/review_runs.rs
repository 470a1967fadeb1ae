//! `ReviewRunRepository` on sea-orm, over the original's `workflow_runs` table.

use async_trait::async_trait;
use chrono::Utc;
use nectr_domain::{
    EventId, NewReviewRun, Posted, ReviewRecord, ReviewRun, ReviewRunId, ReviewRunRepository,
    ReviewRunRepositoryError, ReviewRunStatus,
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

    async fn save_record(
        &self,
        id: ReviewRunId,
        record: &ReviewRecord,
    ) -> Result<(), ReviewRunRepositoryError> {
        self.save_review_record(id, record).await
    }

    async fn record(
        &self,
        id: ReviewRunId,
    ) -> Result<Option<ReviewRecord>, ReviewRunRepositoryError> {
        self.review_record(id).await
    }

    async fn mark_posted(
        &self,
        id: ReviewRunId,
        posted: &Posted,
    ) -> Result<(), ReviewRunRepositoryError> {
        self.mark_review_posted(id, posted).await
    }
}

mod records {
    //! `review_records` and `review_findings`: what each review did, in typed columns.

    use chrono::{DateTime, Utc};
    use nectr_domain::llm::Usage;
    use nectr_domain::review::{Finding, Severity, Verdict};
    use nectr_domain::{
        Posted, Posting, RecordedFinding, ReviewRecord, ReviewRunId, ReviewRunRepositoryError,
        StepTimings,
    };
    use sea_orm::{ConnectionTrait, DbErr, QueryResult, TransactionTrait, Value};

    use crate::SeaOrmStore;
    use crate::queue::statement;
    use crate::store::db_error;

    fn unexpected(doing: &'static str) -> impl Fn(DbErr) -> ReviewRunRepositoryError {
        move |error| ReviewRunRepositoryError::Unexpected(db_error(doing)(error))
    }

    fn to_i64(value: u64) -> i64 {
        i64::try_from(value).unwrap_or(i64::MAX)
    }

    fn to_u64(value: i64) -> u64 {
        u64::try_from(value).unwrap_or_default()
    }

    const INSERT_RECORD: &str = "INSERT INTO review_records (run_id, verdict, confidence, \
        posted_event, critical_count, moderate_count, minor_count, model, input_tokens, \
        output_tokens, cache_read_tokens, cache_write_tokens, cost_usd, fetch_ms, model_ms, \
        post_ms, total_ms, recorded_at, body, linked_issues, files_reviewed, planned_inline, post_state, post_attempt, \
        post_head_sha, post_started_at, posted_as, posted_id, inline_count, moved_to_body_count, \
        post_adopted, related_prs) \
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, \
        $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30, $31, $32)";

    const MARK_POSTED: &str = "UPDATE review_records SET post_state = 'posted', posted_as = $2, \
        posted_id = $3, inline_count = $4, moved_to_body_count = $5, post_adopted = $6 \
        WHERE run_id = $1";

    /// Issue numbers as stored: comma-separated.
    fn linked_issues_text(numbers: &[u64]) -> String {
        numbers.iter().map(u64::to_string).collect::<Vec<_>>().join(",")
    }

    fn linked_issues_from(text: &str) -> Vec<u64> {
        text.split(',').filter_map(|number| number.trim().parse().ok()).collect()
    }

    fn to_i32(value: u32) -> i32 {
        i32::try_from(value).unwrap_or(i32::MAX)
    }

    /// The posting columns (`post_state` to `post_adopted`) of a record.
    fn posting_values(posting: &Posting) -> Vec<Value> {
        let (attempt, head, at) = match posting {
            Posting::Intended { attempt, head_sha, at } => {
                (Some(to_i32(*attempt)), Some(head_sha.clone()), Some(*at))
            }
            Posting::Posted(_) => (None, None, None),
        };
        let state = if posting.reached_github() { "posted" } else { "intended" };
        let mut values: Vec<Value> = vec![state.into(), attempt.into(), head.into(), at.into()];
        values.extend(match posting {
            Posting::Posted(posted) => posted_values(posted),
            Posting::Intended { .. } => posted_values(&Posted::Unrecorded),
        });
        values
    }

    /// `posted_as`, `posted_id`, `inline_count`, `moved_to_body_count`, `post_adopted`.
    fn posted_values(posted: &Posted) -> Vec<Value> {
        let (kind, id, inline, moved, adopted) = match posted {
            Posted::Review { id, inline, moved_to_body, adopted } => (
                Some("review"),
                Some(*id),
                Some(to_i32(*inline)),
                Some(to_i32(*moved_to_body)),
                Some(*adopted),
            ),
            Posted::Comment { id, adopted } => {
                (Some("comment"), Some(*id), None, None, Some(*adopted))
            }
            Posted::Unrecorded => (None, None, None, None, None),
        };
        vec![kind.into(), id.into(), inline.into(), moved.into(), adopted.into()]
    }

    fn posting_from_row(row: &QueryResult) -> Result<Posting, DbErr> {
        let state: String = row.try_get("", "post_state")?;
        if state == "intended" {
            let attempt: Option<i32> = row.try_get("", "post_attempt")?;
            return Ok(Posting::Intended {
                attempt: attempt.and_then(|attempt| u32::try_from(attempt).ok()).unwrap_or(1),
                head_sha: row.try_get::<Option<String>>("", "post_head_sha")?.unwrap_or_default(),
                at: row
                    .try_get::<Option<DateTime<Utc>>>("", "post_started_at")?
                    .unwrap_or_default(),
            });
        }
        let kind: Option<String> = row.try_get("", "posted_as")?;
        let id: Option<i64> = row.try_get("", "posted_id")?;
        let adopted = row.try_get::<Option<bool>>("", "post_adopted")?.unwrap_or_default();
        let count = |column: &str| -> Result<u32, DbErr> {
            let value: Option<i32> = row.try_get("", column)?;
            Ok(value.and_then(|value| u32::try_from(value).ok()).unwrap_or_default())
        };
        Ok(Posting::Posted(match (kind.as_deref(), id) {
            (Some("review"), Some(id)) => Posted::Review {
                id,
                inline: count("inline_count")?,
                moved_to_body: count("moved_to_body_count")?,
                adopted,
            },
            (Some("comment"), Some(id)) => Posted::Comment { id, adopted },
            _ => Posted::Unrecorded,
        }))
    }

    const INSERT_FINDING: &str = "INSERT INTO review_findings (run_id, position, path, line, \
        end_line, severity, category, title, explanation, suggestion, inline) \
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)";

    fn finding_from_row(row: &QueryResult) -> Result<RecordedFinding, DbErr> {
        let severity: String = row.try_get("", "severity")?;
        let end_line: Option<i64> = row.try_get("", "end_line")?;
        Ok(RecordedFinding {
            finding: Finding {
                path: row.try_get("", "path")?,
                line: to_u64(row.try_get("", "line")?),
                end_line: end_line.map(to_u64),
                severity: Severity::parse(&severity)
                    .ok_or_else(|| DbErr::Custom(format!("unknown severity {severity:?}")))?,
                category: row.try_get("", "category")?,
                title: row.try_get("", "title")?,
                explanation: row.try_get("", "explanation")?,
                suggestion: row.try_get("", "suggestion")?,
            },
            inline: row.try_get("", "inline")?,
        })
    }

    fn record_from_row(
        row: &QueryResult,
        findings: Vec<RecordedFinding>,
    ) -> Result<ReviewRecord, DbErr> {
        let verdict: String = row.try_get("", "verdict")?;
        let confidence: i32 = row.try_get("", "confidence")?;
        let count = |column: &str| -> Result<u32, DbErr> {
            Ok(u32::try_from(row.try_get::<i32>("", column)?).unwrap_or_default())
        };
        let number = |column: &str| -> Result<u64, DbErr> { Ok(to_u64(row.try_get("", column)?)) };
        let optional_count = |column: &str| -> Result<u32, DbErr> {
            let value: Option<i32> = row.try_get("", column)?;
            Ok(value.and_then(|value| u32::try_from(value).ok()).unwrap_or_default())
        };
        Ok(ReviewRecord {
            verdict: Verdict::parse(&verdict)
                .ok_or_else(|| DbErr::Custom(format!("unknown verdict {verdict:?}")))?,
            confidence: u8::try_from(confidence).unwrap_or_default(),
            posted_event: row.try_get("", "posted_event")?,
            critical: count("critical_count")?,
            moderate: count("moderate_count")?,
            minor: count("minor_count")?,
            findings,
            model: row.try_get("", "model")?,
            usage: Usage {
                input_tokens: number("input_tokens")?,
                output_tokens: number("output_tokens")?,
                cache_read_tokens: number("cache_read_tokens")?,
                cache_write_tokens: number("cache_write_tokens")?,
            },
            cost_usd: row.try_get("", "cost_usd")?,
            timings: StepTimings {
                fetch_ms: number("fetch_ms")?,
                model_ms: number("model_ms")?,
                post_ms: number("post_ms")?,
                total_ms: number("total_ms")?,
            },
            body: row.try_get::<Option<String>>("", "body")?.unwrap_or_default(),
            linked_issues: row
                .try_get::<Option<String>>("", "linked_issues")?
                .as_deref()
                .map(linked_issues_from)
                .unwrap_or_default(),
            files_reviewed: optional_count("files_reviewed")?,
            planned_inline: optional_count("planned_inline")?,
            related_prs: row
                .try_get::<Option<i32>>("", "related_prs")?
                .map(|related| u32::try_from(related).unwrap_or_default()),
            posting: posting_from_row(row)?,
        })
    }

    impl SeaOrmStore {
        pub(crate) async fn save_review_record(
            &self,
            id: ReviewRunId,
            record: &ReviewRecord,
        ) -> Result<(), ReviewRunRepositoryError> {
            let backend = self.connection.get_database_backend();
            let Ok(run_id) = i32::try_from(id.get()) else {
                return Err(ReviewRunRepositoryError::NotFound(id));
            };
            let _turn = self.write_turn().await;
            let txn =
                self.connection.begin().await.map_err(unexpected("starting a transaction"))?;
            let exists = txn
                .query_one_raw(statement(
                    backend,
                    "SELECT id FROM workflow_runs WHERE id = $1",
                    vec![run_id.into()],
                ))
                .await
                .map_err(unexpected("finding a review run"))?;
            if exists.is_none() {
                return Err(ReviewRunRepositoryError::NotFound(id));
            }
            for table in ["review_findings", "review_records"] {
                txn.execute_raw(statement(
                    backend,
                    &format!("DELETE FROM {table} WHERE run_id = $1"),
                    vec![run_id.into()],
                ))
                .await
                .map_err(unexpected("replacing a review record"))?;
            }
            let mut values: Vec<Value> = vec![
                run_id.into(),
                record.verdict.as_str().into(),
                i32::from(record.confidence).into(),
                record.posted_event.as_str().into(),
                i32::try_from(record.critical).unwrap_or(i32::MAX).into(),
                i32::try_from(record.moderate).unwrap_or(i32::MAX).into(),
                i32::try_from(record.minor).unwrap_or(i32::MAX).into(),
                record.model.as_str().into(),
                to_i64(record.usage.input_tokens).into(),
                to_i64(record.usage.output_tokens).into(),
                to_i64(record.usage.cache_read_tokens).into(),
                to_i64(record.usage.cache_write_tokens).into(),
                record.cost_usd.into(),
                to_i64(record.timings.fetch_ms).into(),
                to_i64(record.timings.model_ms).into(),
                to_i64(record.timings.post_ms).into(),
                to_i64(record.timings.total_ms).into(),
                Utc::now().into(),
                record.body.as_str().into(),
                linked_issues_text(&record.linked_issues).into(),
                to_i32(record.files_reviewed).into(),
                to_i32(record.planned_inline).into(),
            ];
            values.extend(posting_values(&record.posting));
            values.push(record.related_prs.map(to_i32).into());
            txn.execute_raw(statement(backend, INSERT_RECORD, values))
                .await
                .map_err(unexpected("storing a review record"))?;
            crate::reviewed::refresh_for_run(&txn, run_id)
                .await
                .map_err(unexpected("recording a pull request's latest review"))?;
            for (position, recorded) in record.findings.iter().enumerate() {
                let finding = &recorded.finding;
                let values: Vec<Value> = vec![
                    run_id.into(),
                    i32::try_from(position).unwrap_or(i32::MAX).into(),
                    finding.path.as_str().into(),
                    to_i64(finding.line).into(),
                    finding.end_line.map(to_i64).into(),
                    finding.severity.as_str().into(),
                    finding.category.as_str().into(),
                    finding.title.as_str().into(),
                    finding.explanation.as_str().into(),
                    finding.suggestion.clone().into(),
                    recorded.inline.into(),
                ];
                txn.execute_raw(statement(backend, INSERT_FINDING, values))
                    .await
                    .map_err(unexpected("storing a finding"))?;
            }
            txn.commit().await.map_err(unexpected("committing a review record"))
        }

        pub(crate) async fn review_record(
            &self,
            id: ReviewRunId,
        ) -> Result<Option<ReviewRecord>, ReviewRunRepositoryError> {
            let backend = self.connection.get_database_backend();
            let Ok(run_id) = i32::try_from(id.get()) else { return Ok(None) };
            let Some(row) = self
                .connection
                .query_one_raw(statement(
                    backend,
                    "SELECT * FROM review_records WHERE run_id = $1",
                    vec![run_id.into()],
                ))
                .await
                .map_err(unexpected("reading a review record"))?
            else {
                return Ok(None);
            };
            let findings = self
                .connection
                .query_all_raw(statement(
                    backend,
                    "SELECT * FROM review_findings WHERE run_id = $1 ORDER BY position",
                    vec![run_id.into()],
                ))
                .await
                .map_err(unexpected("reading findings"))?
                .iter()
                .map(finding_from_row)
                .collect::<Result<Vec<_>, _>>()
                .map_err(unexpected("reading a finding"))?;
            record_from_row(&row, findings).map(Some).map_err(unexpected("reading a review record"))
        }

        pub(crate) async fn mark_review_posted(
            &self,
            id: ReviewRunId,
            posted: &Posted,
        ) -> Result<(), ReviewRunRepositoryError> {
            let backend = self.connection.get_database_backend();
            let Ok(run_id) = i32::try_from(id.get()) else {
                return Err(ReviewRunRepositoryError::NotFound(id));
            };
            let mut values: Vec<Value> = vec![run_id.into()];
            values.extend(posted_values(posted));
            let _turn = self.write_turn().await;
            let updated = self
                .connection
                .execute_raw(statement(backend, MARK_POSTED, values))
                .await
                .map_err(unexpected("recording a post"))?;
            if updated.rows_affected() == 0 {
                return Err(ReviewRunRepositoryError::NotFound(id));
            }
            Ok(())
        }
    }
}
