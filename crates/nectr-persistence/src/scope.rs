//! SQL shared by the dashboard's queries: the repositories one user may see (tenancy), the
//! original's status priority, and the few expressions PostgreSQL and SQLite spell differently.

use nectr_domain::EventStatus;
use nectr_domain::history::review_priority;
use sea_orm::DbBackend;

/// A `WITH` clause naming `mine(repo_id)`: the GitHub repository ids of the repositories user
/// `$1` has connected (active installations), by id, or by name for installations without one.
pub(crate) const MINE: &str = "mine(repo_id) AS ( \
    SELECT i.github_repo_id FROM installations i \
    WHERE i.user_id = $1 AND i.is_active = true AND i.github_repo_id IS NOT NULL \
    UNION \
    SELECT p.repo_id FROM installations i \
    JOIN pull_requests p ON lower(p.repo_full_name) = lower(i.repo_full_name) \
    WHERE i.user_id = $1 AND i.is_active = true AND i.github_repo_id IS NULL)";

/// `CASE` giving the review priority of the status in `column`.
pub(crate) fn priority(column: &str) -> String {
    let arms: String = EventStatus::ALL
        .iter()
        .map(|status| format!("WHEN '{}' THEN {} ", status.as_str(), review_priority(*status)))
        .collect();
    format!("(CASE {column} {arms}ELSE -1 END)")
}

/// The priority of a completed review, and of a failed one.
pub(crate) const COMPLETED: i32 = review_priority(EventStatus::Completed);
/// See [`COMPLETED`].
pub(crate) const FAILED: i32 = review_priority(EventStatus::Failed);

/// Hours from `from` to `to` (two timestamp columns), as a floating-point number.
pub(crate) fn hours_between(backend: DbBackend, from: &str, to: &str) -> String {
    match backend {
        DbBackend::Sqlite => format!("((julianday({to}) - julianday({from})) * 24.0)"),
        // `date_part` answers a double; `EXTRACT` a numeric, several times slower to add up.
        _ => format!("(date_part('epoch', {to} - {from}) / 3600.0)"),
    }
}

/// The UTC day of a timestamp column, as `YYYY-MM-DD` text.
pub(crate) fn utc_day(backend: DbBackend, column: &str) -> String {
    match backend {
        DbBackend::Sqlite => format!("date({column})"),
        _ => format!("to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD')"),
    }
}

/// `text` as a `LIKE` pattern matching it literally (escape character `\`), lower-cased.
pub(crate) fn like_literal(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    for character in text.to_lowercase().chars() {
        if matches!(character, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(character);
    }
    pattern
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priorities_follow_the_domain() {
        let case = priority("e.status");
        assert!(case.contains("WHEN 'completed' THEN 3"), "{case}");
        assert!(case.contains("WHEN 'pending' THEN 0"), "{case}");
        assert_eq!(like_literal("50%_A\\"), "50\\%\\_a\\\\");
    }
}
