//! Dashboard analytics over one user's connected repositories: the figures a store aggregates
//! (counts, sums, means over typed columns) and the original's formulas that turn them into what
//! the dashboard shows (rates, rounding, one timeline entry per day).
//!
//! A "review" here is a pull request with at least one queued review; its status is the one with
//! the highest [`crate::history::review_priority`], and its first review is when it was first
//! seen. Merge times count merged pull requests whose merge took more than 0 and less than 720
//! hours; processing times count completed reviews that took more than 0 and less than 300
//! seconds, as the original did.

use async_trait::async_trait;
use chrono::{DateTime, Duration, NaiveDate, Utc};

use crate::UserId;
use crate::pull_request::PullRequestState;
use crate::review::Verdict;

/// The shortest and longest periods the timeline and insights take, in days.
pub const PERIOD_DAYS: std::ops::RangeInclusive<u32> = 7..=90;
/// The most pull requests `last_week_activity` lists (the newest first seen).
pub const MAX_ACTIVITY: u32 = 100;

/// `part` of `whole` in percent, to one decimal; 0 when `whole` is 0.
pub fn percent(part: u64, whole: u64) -> f64 {
    match whole {
        0 => 0.0,
        whole => round1(part as f64 * 100.0 / whole as f64),
    }
}

/// Rounded to one decimal.
pub fn round1(value: f64) -> f64 {
    (value * 10.0).round() / 10.0
}

/// The start (00:00 UTC) of the first day of a period of `days` days ending today.
pub fn period_start(now: DateTime<Utc>, days: u32) -> DateTime<Utc> {
    let today = now.date_naive();
    let first = today - Duration::days(i64::from(days.max(1)) - 1);
    first.and_time(chrono::NaiveTime::MIN).and_utc()
}

/// A pull request first reviewed in the last week.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PullRequestActivity {
    /// Its number.
    pub pr_number: u64,
    /// Its title.
    pub title: String,
    /// Its author.
    pub author: String,
    /// `owner/name`.
    pub repo_name: String,
    /// Open, merged or closed.
    pub state: PullRequestState,
    /// Lines added.
    pub additions: u64,
    /// Lines deleted.
    pub deletions: u64,
    /// Files changed.
    pub changed_files: u64,
}

/// What a store aggregates for the summary.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SummaryFigures {
    /// Pull requests with a review.
    pub reviews: u64,
    /// Of those, the ones whose review completed.
    pub completed: u64,
    /// First reviewed since today 00:00 UTC.
    pub reviews_today: u64,
    /// First reviewed in the last seven days.
    pub reviews_this_week: u64,
    /// Active connected repositories.
    pub connected_repos: u64,
    /// Mean processing time of completed reviews, in seconds.
    pub mean_processing_seconds: Option<f64>,
    /// Mean time to merge, in hours.
    pub mean_merge_hours: Option<f64>,
    /// Mean of additions + deletions.
    pub mean_pr_size: Option<f64>,
    /// Pull requests first reviewed in the last seven days, newest first.
    pub last_week_activity: Vec<PullRequestActivity>,
}

/// The dashboard's summary.
#[derive(Clone, Debug, PartialEq)]
pub struct Summary {
    /// Pull requests with a review.
    pub total_reviews: u64,
    /// Completed of all, in percent (1 decimal).
    pub success_rate: f64,
    /// Mean processing time in seconds (1 decimal; 0 without a sample).
    pub avg_processing_seconds: f64,
    /// Active connected repositories.
    pub connected_repos: u64,
    /// First reviewed today.
    pub reviews_today: u64,
    /// First reviewed in the last seven days.
    pub reviews_this_week: u64,
    /// Mean time to merge in hours (1 decimal; 0 without a sample).
    pub avg_merge_hours: f64,
    /// Mean additions + deletions, rounded.
    pub avg_pr_size: u64,
    /// Pull requests first reviewed in the last seven days.
    pub last_week_activity: Vec<PullRequestActivity>,
}

impl From<SummaryFigures> for Summary {
    fn from(figures: SummaryFigures) -> Self {
        Self {
            total_reviews: figures.reviews,
            success_rate: percent(figures.completed, figures.reviews),
            avg_processing_seconds: figures.mean_processing_seconds.map_or(0.0, round1),
            connected_repos: figures.connected_repos,
            reviews_today: figures.reviews_today,
            reviews_this_week: figures.reviews_this_week,
            avg_merge_hours: figures.mean_merge_hours.map_or(0.0, round1),
            avg_pr_size: rounded(figures.mean_pr_size),
            last_week_activity: figures.last_week_activity,
        }
    }
}

fn rounded(value: Option<f64>) -> u64 {
    value.map_or(0, |value| value.round().max(0.0) as u64)
}

/// One day of the timeline: pull requests with review activity that day, and how many of those
/// had (by that day's best status) a completed or a failed review.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Day {
    /// The day (UTC).
    pub date: NaiveDate,
    /// Pull requests with a review that day.
    pub total: u64,
    /// Of those, completed.
    pub completed: u64,
    /// Of those, failed.
    pub failed: u64,
}

/// Every day of a period of `days` days ending on `now`'s day, oldest first, with the days a
/// store found (`active`) and zeros for the others.
pub fn timeline(now: DateTime<Utc>, days: u32, active: &[Day]) -> Vec<Day> {
    let first = period_start(now, days).date_naive();
    (0..i64::from(days.max(1)))
        .map(|offset| first + Duration::days(offset))
        .map(|date| {
            active.iter().copied().find(|day| day.date == date).unwrap_or(Day {
                date,
                total: 0,
                completed: 0,
                failed: 0,
            })
        })
        .collect()
}

/// Merge times of a period's merged pull requests, in hours.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct MergeTimes {
    /// Mean.
    pub mean: Option<f64>,
    /// Median (the mean of the two middle values for an even count).
    pub median: Option<f64>,
    /// Shortest.
    pub fastest: Option<f64>,
    /// Longest.
    pub slowest: Option<f64>,
    /// Merged pull requests counted.
    pub sample_size: u64,
}

/// One author's pull requests in a period.
#[derive(Clone, Debug, PartialEq)]
pub struct AuthorFigures {
    /// The author's login.
    pub author: String,
    /// Pull requests reviewed.
    pub prs: u64,
    /// Of those, merged.
    pub merged: u64,
    /// Findings of their latest reviews.
    pub issues_flagged: u64,
    /// Mean confidence of their latest reviews.
    pub mean_confidence: Option<f64>,
}

/// One repository's pull requests in a period.
#[derive(Clone, Debug, PartialEq)]
pub struct RepoFigures {
    /// `owner/name`.
    pub repo: String,
    /// Pull requests reviewed.
    pub prs: u64,
    /// Of those, merged.
    pub merged: u64,
    /// Findings of their latest reviews.
    pub issues: u64,
}

/// What a store aggregates for the insights of a period. Verdicts, confidences and findings are
/// those of each pull request's latest recorded review.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct InsightFigures {
    /// Pull requests reviewed in the period.
    pub prs: u64,
    /// Mean additions + deletions.
    pub mean_pr_size: Option<f64>,
    /// Merge times.
    pub merge_times: MergeTimes,
    /// Latest verdict per pull request, counted.
    pub verdicts: Vec<(Verdict, u64)>,
    /// Latest confidence per pull request, counted (index 0 is confidence 1).
    pub confidence: [u64; 5],
    /// Critical findings.
    pub critical: u64,
    /// Moderate findings.
    pub moderate: u64,
    /// Minor findings.
    pub minor: u64,
    /// Per author, most pull requests first.
    pub per_author: Vec<AuthorFigures>,
    /// Per repository, most pull requests first.
    pub per_repo: Vec<RepoFigures>,
}

impl InsightFigures {
    /// How many pull requests' latest review had this verdict.
    pub fn verdict_count(&self, verdict: Verdict) -> u64 {
        self.verdicts.iter().filter(|(seen, _)| *seen == verdict).map(|(_, count)| count).sum()
    }
}

/// Why a [`ReviewAnalytics`] call failed.
#[derive(Debug, thiserror::Error)]
pub enum AnalyticsError {
    /// The store failed.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// Aggregates review analytics, scoped to one user's connected repositories, in the store
/// itself (never by loading every row).
///
/// Contract for every implementation:
/// - Only pull requests of repositories `user` has connected count (as in
///   [`crate::history::ReviewHistory`]).
/// - `summary` counts every pull request with a review; "today" and "this week" are measured
///   from `now` (00:00 UTC of its day, and seven days before that).
/// - `timeline` returns only days with activity since `since`, each pull request counted once
///   per day with its best status of that day.
/// - `insights` counts pull requests with a review since `since`.
#[async_trait]
pub trait ReviewAnalytics: Send + Sync {
    /// The summary's figures.
    ///
    /// # Errors
    /// [`AnalyticsError::Unexpected`] when the store fails.
    async fn summary(
        &self,
        user: UserId,
        now: DateTime<Utc>,
    ) -> Result<SummaryFigures, AnalyticsError>;

    /// The days with review activity since `since`.
    ///
    /// # Errors
    /// [`AnalyticsError::Unexpected`] when the store fails.
    async fn timeline(
        &self,
        user: UserId,
        since: DateTime<Utc>,
    ) -> Result<Vec<Day>, AnalyticsError>;

    /// The insights' figures for pull requests reviewed since `since`.
    ///
    /// # Errors
    /// [`AnalyticsError::Unexpected`] when the store fails.
    async fn insights(
        &self,
        user: UserId,
        since: DateTime<Utc>,
    ) -> Result<InsightFigures, AnalyticsError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap_or_else(|error| panic!("{error}"))
    }

    #[test]
    fn rates_and_means_are_rounded_as_the_original_did() {
        assert!((percent(2, 3) - 66.7).abs() < 1e-9);
        assert!(percent(1, 0).abs() < 1e-9);
        let summary = Summary::from(SummaryFigures {
            reviews: 3,
            completed: 2,
            mean_processing_seconds: Some(12.345),
            mean_pr_size: Some(10.5),
            ..SummaryFigures::default()
        });
        assert!((summary.success_rate - 66.7).abs() < 1e-9);
        assert!((summary.avg_processing_seconds - 12.3).abs() < 1e-9);
        assert_eq!(summary.avg_pr_size, 11);
        assert!(summary.avg_merge_hours.abs() < 1e-9);
    }

    #[test]
    fn a_timeline_has_every_day_oldest_first() {
        let now = at("2026-12-01T15:00:00Z");
        assert_eq!(period_start(now, 7), at("2026-11-25T00:00:00Z"));
        let active = [Day {
            date: NaiveDate::from_ymd_opt(2026, 11, 30).unwrap_or_default(),
            total: 2,
            completed: 1,
            failed: 1,
        }];
        let days = timeline(now, 7, &active);
        assert_eq!(days.len(), 7);
        assert_eq!(days[0].date, NaiveDate::from_ymd_opt(2026, 11, 25).unwrap_or_default());
        assert_eq!(days[5], active[0]);
        assert_eq!(days[6].total, 0);
    }
}
