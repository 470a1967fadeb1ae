//! `ReviewAnalytics` on SQL: every figure is an aggregate the database computes over typed
//! columns (`review_jobs`, `events`, `pull_requests`, `review_records`,
//! `reviewed_pull_requests`), within the user's
//! repositories; only the aggregates (and at most [`MAX_ACTIVITY`] recent pull requests) leave
//! it.

use async_trait::async_trait;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use nectr_domain::UserId;
use nectr_domain::analytics::{
    AnalyticsError, AuthorFigures, Day, InsightFigures, MAX_ACTIVITY, PullRequestActivity,
    RepoFigures, ReviewAnalytics, SummaryFigures,
};
use nectr_domain::review::Verdict;
use sea_orm::{ConnectionTrait, DbBackend, DbErr, QueryResult, Value};

use crate::SeaOrmStore;
use crate::queue::statement;
use crate::scope::{COMPLETED, FAILED, MINE, hours_between, priority, utc_day};
use crate::store::db_error;

/// Merge times counted, in hours (exclusive bounds), as the original did.
const MERGE_HOURS: (f64, f64) = (0.0, 720.0);
/// Processing times counted, in milliseconds (exclusive bounds): the original's 0 to 300 s.
const PROCESSING_MS: (i64, i64) = (0, 300_000);

fn unexpected(doing: &'static str) -> impl Fn(DbErr) -> AnalyticsError {
    move |error| AnalyticsError::Unexpected(db_error(doing)(error))
}

fn count(row: &QueryResult, column: &str) -> Result<u64, DbErr> {
    let value: Option<i64> = row.try_get("", column)?;
    Ok(value.map_or(0, |value| u64::try_from(value).unwrap_or_default()))
}

fn number(row: &QueryResult, column: &str) -> Result<Option<f64>, DbErr> {
    row.try_get("", column)
}

/// `reviews(repo_id, pr_number, status, created_at, run_id)`: every queued review of the user's
/// repositories, since `$2` when `since` is set.
fn reviews_cte(since: bool) -> String {
    let window = if since { " AND e.created_at >= $2" } else { "" };
    format!(
        "{MINE}, reviews AS ( \
           SELECT j.repo_id, j.pr_number, e.status, e.created_at, j.review_run_id AS run_id \
           FROM review_jobs j JOIN events e ON e.id = j.event_id \
           WHERE j.repo_id IN (SELECT repo_id FROM mine){window})"
    )
}

/// `prs(repo_id, pr_number, best, first_seen)`: each reviewed pull request, its best status
/// priority and its first review.
fn prs_cte() -> String {
    format!(
        "prs AS (SELECT repo_id, pr_number, MAX({}) AS best, MIN(created_at) AS first_seen \
         FROM reviews GROUP BY repo_id, pr_number)",
        priority("status")
    )
}

fn summary_sql(backend: DbBackend) -> String {
    let hours = hours_between(backend, "p.opened_at", "p.merged_at");
    let (low, high) = MERGE_HOURS;
    format!(
        "WITH {}, {} SELECT CAST(COUNT(*) AS BIGINT) AS reviews, \
           CAST(SUM(CASE WHEN prs.best = {COMPLETED} THEN 1 ELSE 0 END) AS BIGINT) AS completed, \
           CAST(SUM(CASE WHEN prs.first_seen >= $2 THEN 1 ELSE 0 END) AS BIGINT) AS today, \
           CAST(SUM(CASE WHEN prs.first_seen >= $3 THEN 1 ELSE 0 END) AS BIGINT) AS week, \
           CAST(AVG(CASE WHEN p.merged_at IS NOT NULL AND {hours} > {low} AND {hours} < {high} \
             THEN {hours} END) AS DOUBLE PRECISION) AS merge_hours, \
           CAST(AVG(p.additions + p.deletions) AS DOUBLE PRECISION) AS pr_size \
         FROM prs LEFT JOIN pull_requests p ON p.repo_id = prs.repo_id \
           AND p.pr_number = prs.pr_number",
        reviews_cte(false),
        prs_cte()
    )
}

fn processing_sql() -> String {
    let (low, high) = PROCESSING_MS;
    format!(
        "WITH {MINE} SELECT CAST(AVG(r.total_ms / 1000.0) AS DOUBLE PRECISION) AS seconds \
         FROM review_records r JOIN review_jobs j ON j.review_run_id = r.run_id \
         JOIN workflow_runs w ON w.id = r.run_id \
         WHERE j.repo_id IN (SELECT repo_id FROM mine) AND w.status = 'completed' \
           AND r.total_ms > {low} AND r.total_ms < {high}"
    )
}

/// Pull requests first reviewed since `$2`, newest first: those with a review since then and
/// none before (reading only the window's reviews, then one index probe per pull request).
fn activity_sql() -> String {
    format!(
        "WITH {MINE}, recent AS (SELECT j.repo_id, j.pr_number, MIN(e.created_at) AS first_seen \
           FROM review_jobs j JOIN events e ON e.id = j.event_id \
           WHERE j.repo_id IN (SELECT repo_id FROM mine) AND e.created_at >= $2 \
           GROUP BY j.repo_id, j.pr_number) \
         SELECT recent.pr_number, p.title, p.author, p.repo_full_name, p.state, \
           p.additions, p.deletions, p.changed_files \
         FROM recent JOIN pull_requests p ON p.repo_id = recent.repo_id \
           AND p.pr_number = recent.pr_number \
         WHERE NOT EXISTS (SELECT 1 FROM review_jobs o JOIN events oe ON oe.id = o.event_id \
           WHERE o.repo_id = recent.repo_id AND o.pr_number = recent.pr_number \
             AND oe.created_at < $2) \
         ORDER BY recent.first_seen DESC LIMIT {MAX_ACTIVITY}"
    )
}

fn timeline_sql(backend: DbBackend) -> String {
    format!(
        "WITH {}, daily AS (SELECT {} AS day, repo_id, pr_number, MAX({}) AS best \
           FROM reviews GROUP BY {}, repo_id, pr_number) \
         SELECT day, CAST(COUNT(*) AS BIGINT) AS total, \
           CAST(SUM(CASE WHEN best = {COMPLETED} THEN 1 ELSE 0 END) AS BIGINT) AS completed, \
           CAST(SUM(CASE WHEN best = {FAILED} THEN 1 ELSE 0 END) AS BIGINT) AS failed \
         FROM daily GROUP BY day ORDER BY day",
        reviews_cte(true),
        utc_day(backend, "created_at"),
        priority("status"),
        utc_day(backend, "created_at"),
    )
}

/// One statement for all the insights: `facts` holds one row per pull request reviewed in the
/// period (queued since `$2`) with its latest recorded review, both kept per pull request in
/// `reviewed_pull_requests`, and each part of the answer is one aggregate over it, tagged by
/// `kind` (`total`, `verdict`, `confidence`, `author`, `repo`, `merge`, `median`).
fn insights_sql(backend: DbBackend) -> String {
    let hours = hours_between(backend, "p.opened_at", "p.merged_at");
    let (low, high) = MERGE_HOURS;
    let issues = "coalesce(f.critical, 0) + coalesce(f.moderate, 0) + coalesce(f.minor, 0)";
    let merged = "CASE WHEN f.state = 'merged' THEN 1 ELSE 0 END";
    format!(
        "WITH {MINE}, \
         facts AS (SELECT coalesce(p.author, '') AS author, \
             coalesce(p.repo_full_name, '') AS repo, coalesce(p.state, 'open') AS state, \
             p.additions + p.deletions AS size, \
             CASE WHEN p.merged_at IS NOT NULL THEN {hours} END AS merge_hours, \
             v.verdict, v.confidence, v.critical_count AS critical, \
             v.moderate_count AS moderate, v.minor_count AS minor \
           FROM reviewed_pull_requests v LEFT JOIN pull_requests p ON p.repo_id = v.repo_id \
             AND p.pr_number = v.pr_number \
           WHERE v.repo_id IN (SELECT repo_id FROM mine) AND v.last_queued_at >= $2), \
         merges AS (SELECT merge_hours AS hours FROM facts \
           WHERE merge_hours > {low} AND merge_hours < {high}), \
         ordered AS (SELECT hours, ROW_NUMBER() OVER (ORDER BY hours) AS n, \
           COUNT(*) OVER () AS total FROM merges) \
         SELECT 'total' AS kind, '' AS label, CAST(COUNT(*) AS BIGINT) AS a, \
           CAST(SUM(coalesce(f.critical, 0)) AS BIGINT) AS b, \
           CAST(SUM(coalesce(f.moderate, 0)) AS BIGINT) AS c, \
           CAST(SUM(coalesce(f.minor, 0)) AS BIGINT) AS d, \
           CAST(AVG(f.size) AS DOUBLE PRECISION) AS x FROM facts f \
         UNION ALL SELECT 'verdict', f.verdict, CAST(COUNT(*) AS BIGINT), 0, 0, 0, \
           CAST(NULL AS DOUBLE PRECISION) FROM facts f WHERE f.verdict IS NOT NULL \
           GROUP BY f.verdict \
         UNION ALL SELECT 'confidence', CAST(f.confidence AS VARCHAR), CAST(COUNT(*) AS BIGINT), \
           0, 0, 0, CAST(NULL AS DOUBLE PRECISION) FROM facts f \
           WHERE f.confidence IS NOT NULL GROUP BY f.confidence \
         UNION ALL SELECT 'author', f.author, CAST(COUNT(*) AS BIGINT), \
           CAST(SUM({merged}) AS BIGINT), CAST(SUM({issues}) AS BIGINT), 0, \
           CAST(AVG(f.confidence) AS DOUBLE PRECISION) FROM facts f GROUP BY f.author \
         UNION ALL SELECT 'repo', f.repo, CAST(COUNT(*) AS BIGINT), \
           CAST(SUM({merged}) AS BIGINT), CAST(SUM({issues}) AS BIGINT), 0, \
           CAST(NULL AS DOUBLE PRECISION) FROM facts f GROUP BY f.repo \
         UNION ALL SELECT 'merge', 'avg', CAST(COUNT(*) AS BIGINT), 0, 0, 0, \
           CAST(AVG(hours) AS DOUBLE PRECISION) FROM merges \
         UNION ALL SELECT 'merge', 'min', 0, 0, 0, 0, CAST(MIN(hours) AS DOUBLE PRECISION) \
           FROM merges \
         UNION ALL SELECT 'merge', 'max', 0, 0, 0, 0, CAST(MAX(hours) AS DOUBLE PRECISION) \
           FROM merges \
         UNION ALL SELECT 'median', '', 0, 0, 0, 0, CAST(AVG(hours) AS DOUBLE PRECISION) \
           FROM ordered WHERE n IN ((total + 1) / 2, (total + 2) / 2)"
    )
}

/// The summary statement's row.
fn totals_of(row: &QueryResult) -> Result<SummaryFigures, DbErr> {
    Ok(SummaryFigures {
        reviews: count(row, "reviews")?,
        completed: count(row, "completed")?,
        reviews_today: count(row, "today")?,
        reviews_this_week: count(row, "week")?,
        mean_merge_hours: number(row, "merge_hours")?,
        mean_pr_size: number(row, "pr_size")?,
        ..SummaryFigures::default()
    })
}

/// One row of the insights statement.
struct Part {
    kind: String,
    label: String,
    counts: [u64; 4],
    value: Option<f64>,
}

fn part(row: &QueryResult) -> Result<Part, DbErr> {
    Ok(Part {
        kind: row.try_get("", "kind")?,
        label: row.try_get::<Option<String>>("", "label")?.unwrap_or_default(),
        counts: [count(row, "a")?, count(row, "b")?, count(row, "c")?, count(row, "d")?],
        value: number(row, "x")?,
    })
}

/// Folds the tagged rows of the insights statement into the figures.
fn insight_figures(parts: Vec<Part>) -> InsightFigures {
    let mut figures = InsightFigures::default();
    for Part { kind, label, counts: [a, b, c, d], value } in parts {
        match (kind.as_str(), label.as_str()) {
            ("total", _) => {
                (figures.prs, figures.critical, figures.moderate, figures.minor) = (a, b, c, d);
                figures.mean_pr_size = value;
            }
            ("verdict", label) => figures.verdicts.extend(Verdict::parse(label).map(|v| (v, a))),
            ("confidence", label) => {
                if let Some(slot) = label
                    .parse::<usize>()
                    .ok()
                    .and_then(|level| figures.confidence.get_mut(level.wrapping_sub(1)))
                {
                    *slot += a;
                }
            }
            ("author", author) => figures.per_author.push(AuthorFigures {
                author: author.to_owned(),
                prs: a,
                merged: b,
                issues_flagged: c,
                mean_confidence: value,
            }),
            ("repo", repo) => figures.per_repo.push(RepoFigures {
                repo: repo.to_owned(),
                prs: a,
                merged: b,
                issues: c,
            }),
            ("merge", "avg") => {
                (figures.merge_times.sample_size, figures.merge_times.mean) = (a, value)
            }
            ("merge", "min") => figures.merge_times.fastest = value,
            ("merge", "max") => figures.merge_times.slowest = value,
            ("median", _) => figures.merge_times.median = value,
            _ => {}
        }
    }
    figures.per_author.sort_by(|x, y| y.prs.cmp(&x.prs).then_with(|| x.author.cmp(&y.author)));
    figures.per_repo.sort_by(|x, y| y.prs.cmp(&x.prs).then_with(|| x.repo.cmp(&y.repo)));
    figures
}

fn activity(row: &QueryResult) -> Result<PullRequestActivity, DbErr> {
    let state: String = row.try_get("", "state")?;
    Ok(PullRequestActivity {
        pr_number: count(row, "pr_number")?,
        title: row.try_get("", "title")?,
        author: row.try_get("", "author")?,
        repo_name: row.try_get("", "repo_full_name")?,
        state: state.parse().map_err(|error| DbErr::Custom(format!("{error}")))?,
        additions: count(row, "additions")?,
        deletions: count(row, "deletions")?,
        changed_files: count(row, "changed_files")?,
    })
}

fn day(row: &QueryResult) -> Result<Day, DbErr> {
    let text: String = row.try_get("", "day")?;
    let date = NaiveDate::parse_from_str(&text, "%Y-%m-%d")
        .map_err(|error| DbErr::Custom(format!("day {text:?}: {error}")))?;
    Ok(Day {
        date,
        total: count(row, "total")?,
        completed: count(row, "completed")?,
        failed: count(row, "failed")?,
    })
}

impl SeaOrmStore {
    async fn aggregate(
        &self,
        sql: &str,
        values: Vec<Value>,
        doing: &'static str,
    ) -> Result<Vec<QueryResult>, AnalyticsError> {
        let backend = self.connection.get_database_backend();
        self.connection
            .query_all_raw(statement(backend, sql, values))
            .await
            .map_err(unexpected(doing))
    }

    async fn connected_repos(&self, user: i32) -> Result<u64, AnalyticsError> {
        let sql = "SELECT CAST(COUNT(DISTINCT lower(repo_full_name)) AS BIGINT) AS repos \
                   FROM installations WHERE user_id = $1 AND is_active = true";
        let rows = self.aggregate(sql, vec![user.into()], "counting repositories").await?;
        rows.first().map_or(Ok(0), |row| count(row, "repos")).map_err(unexpected("counting"))
    }
}

#[async_trait]
impl ReviewAnalytics for SeaOrmStore {
    async fn summary(
        &self,
        user: UserId,
        now: DateTime<Utc>,
    ) -> Result<SummaryFigures, AnalyticsError> {
        let Ok(user) = i32::try_from(user.get()) else { return Ok(SummaryFigures::default()) };
        let backend = self.connection.get_database_backend();
        let today = now.date_naive().and_time(chrono::NaiveTime::MIN).and_utc();
        let week = today - Duration::days(7);
        // The four parts are independent: each runs on a connection of its own, at once.
        let (summary_sql, processing_sql, activity_sql) =
            (summary_sql(backend), processing_sql(), activity_sql());
        let (totals, processing, connected, recent) = tokio::join!(
            self.aggregate(
                &summary_sql,
                vec![user.into(), today.into(), week.into()],
                "summarising reviews"
            ),
            self.aggregate(&processing_sql, vec![user.into()], "timing reviews"),
            self.connected_repos(user),
            self.aggregate(
                &activity_sql,
                vec![user.into(), week.into()],
                "listing recent activity"
            ),
        );
        let mut figures = match totals?.first() {
            Some(row) => totals_of(row).map_err(unexpected("reading the summary"))?,
            None => SummaryFigures::default(),
        };
        figures.mean_processing_seconds = match processing?.first() {
            Some(row) => number(row, "seconds").map_err(unexpected("reading review times"))?,
            None => None,
        };
        figures.connected_repos = connected?;
        figures.last_week_activity = recent?
            .iter()
            .map(activity)
            .collect::<Result<_, _>>()
            .map_err(unexpected("reading recent activity"))?;
        Ok(figures)
    }

    async fn timeline(
        &self,
        user: UserId,
        since: DateTime<Utc>,
    ) -> Result<Vec<Day>, AnalyticsError> {
        let Ok(user) = i32::try_from(user.get()) else { return Ok(Vec::new()) };
        let backend = self.connection.get_database_backend();
        let values = vec![user.into(), since.into()];
        let rows =
            self.aggregate(&timeline_sql(backend), values, "counting reviews per day").await?;
        rows.iter().map(day).collect::<Result<_, _>>().map_err(unexpected("reading a day"))
    }

    async fn insights(
        &self,
        user: UserId,
        since: DateTime<Utc>,
    ) -> Result<InsightFigures, AnalyticsError> {
        let Ok(user) = i32::try_from(user.get()) else { return Ok(InsightFigures::default()) };
        let backend = self.connection.get_database_backend();
        let values = vec![user.into(), since.into()];
        let rows = self.aggregate(&insights_sql(backend), values, "computing insights").await?;
        let parts = rows
            .iter()
            .map(part)
            .collect::<Result<_, _>>()
            .map_err(unexpected("reading insights"))?;
        Ok(insight_figures(parts))
    }
}
