//! Query parameters shared by the dashboard's routes, validated into domain values: a bad value
//! answers 400 `{"code": "invalid_query"}`, never a 500 or a silently different page.

use nectr_domain::analytics::PERIOD_DAYS;
use nectr_domain::history::MAX_LIMIT;

use crate::ApiError;

/// The default page size of the lists, as the original had it.
pub(crate) const DEFAULT_LIMIT: u32 = 20;
/// The default period of the timeline and insights, in days.
pub(crate) const DEFAULT_DAYS: u32 = 30;

fn invalid(detail: String) -> ApiError {
    ApiError::BadRequest { code: "invalid_query", detail }
}

/// `limit`: 1 to [`MAX_LIMIT`], [`DEFAULT_LIMIT`] when absent.
pub(crate) fn limit(value: Option<u32>) -> Result<u32, ApiError> {
    match value.unwrap_or(DEFAULT_LIMIT) {
        limit @ 1..=MAX_LIMIT => Ok(limit),
        other => Err(invalid(format!("limit must be between 1 and {MAX_LIMIT}, not {other}"))),
    }
}

/// `days`: within [`PERIOD_DAYS`], [`DEFAULT_DAYS`] when absent.
pub(crate) fn days(value: Option<u32>) -> Result<u32, ApiError> {
    let days = value.unwrap_or(DEFAULT_DAYS);
    match PERIOD_DAYS.contains(&days) {
        true => Ok(days),
        false => Err(invalid(format!(
            "days must be between {} and {}, not {days}",
            PERIOD_DAYS.start(),
            PERIOD_DAYS.end()
        ))),
    }
}

/// A parameter that names one of a set of values, or is absent.
pub(crate) fn named<T>(
    name: &str,
    value: Option<&str>,
    parse: impl Fn(&str) -> Option<T>,
) -> Result<Option<T>, ApiError> {
    match value.map(str::trim).filter(|text| !text.is_empty()) {
        None => Ok(None),
        Some(text) => parse(text)
            .map(Some)
            .ok_or_else(|| invalid(format!("{name} {text:?} is not one Nectr knows"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_and_periods_are_bounded() {
        assert_eq!(limit(None).ok(), Some(20));
        assert_eq!(limit(Some(100)).ok(), Some(100));
        assert_eq!(limit(Some(0)).err().map(|error| error.code()), Some("invalid_query"));
        assert_eq!(limit(Some(101)).err().map(|error| error.code()), Some("invalid_query"));
        assert_eq!(days(Some(7)).ok(), Some(7));
        assert_eq!(days(Some(91)).err().map(|error| error.code()), Some("invalid_query"));
        assert_eq!(named("status", Some(""), |_| Some(1)).ok(), Some(None));
        assert!(named("status", Some("x"), |_| None::<u8>).is_err());
    }
}
