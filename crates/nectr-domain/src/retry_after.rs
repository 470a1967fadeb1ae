//! `Retry-After` values, as model providers and GitHub send them: a number of seconds (`120`; some
//! providers send fractions, `1.5`) or an HTTP date (`Wed, 21 Oct 2015 07:28:00 GMT`, and the two
//! obsolete forms HTTP still requires recipients to read). Pure text in, a wait out; the adapters
//! read the header.

use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, Utc};

/// What a `retry-after` value asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RetryAfter {
    /// Wait this long from now.
    Delay(Duration),
    /// Wait until this moment.
    At(DateTime<Utc>),
}

impl RetryAfter {
    /// Reads a header value; `None` when it is neither seconds nor an HTTP date.
    pub fn parse(value: &str) -> Option<Self> {
        let value = value.trim();
        match value.parse::<f64>() {
            Ok(seconds) => Duration::try_from_secs_f64(seconds).ok().map(Self::Delay),
            Err(_) => http_date(value).map(Self::At),
        }
    }

    /// How long to wait, counted from `now`; a moment already past means no wait.
    pub fn wait_at(self, now: DateTime<Utc>) -> Duration {
        match self {
            Self::Delay(delay) => delay,
            Self::At(moment) => (moment - now).to_std().unwrap_or(Duration::ZERO),
        }
    }

    /// How long to wait from the present moment.
    pub fn wait(self) -> Duration {
        self.wait_at(Utc::now())
    }
}

/// An HTTP date: the IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), RFC 850's form
/// (`Sunday, 06-Nov-94 08:49:37 GMT`) or asctime's (`Sun Nov  6 08:49:37 1994`), all in UTC.
fn http_date(value: &str) -> Option<DateTime<Utc>> {
    if let Ok(date) = DateTime::parse_from_rfc2822(value) {
        return Some(date.with_timezone(&Utc));
    }
    ["%A, %d-%b-%y %H:%M:%S GMT", "%a %b %e %H:%M:%S %Y"]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(value, format).ok())
        .map(|date| date.and_utc())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use chrono::{TimeZone, Utc};

    use super::RetryAfter;

    #[test]
    fn seconds_are_a_delay_whole_or_fractional() {
        assert_eq!(RetryAfter::parse("120"), Some(RetryAfter::Delay(Duration::from_secs(120))));
        assert_eq!(RetryAfter::parse(" 7 "), Some(RetryAfter::Delay(Duration::from_secs(7))));
        assert_eq!(RetryAfter::parse("1.5"), Some(RetryAfter::Delay(Duration::from_millis(1_500))));
        assert_eq!(RetryAfter::parse("0").map(RetryAfter::wait), Some(Duration::ZERO));
    }

    #[test]
    fn an_http_date_is_waited_for_from_now() {
        let now = Utc.with_ymd_and_hms(2015, 10, 21, 7, 27, 30).unwrap();
        let wait = |value: &str| RetryAfter::parse(value).map(|after| after.wait_at(now));
        assert_eq!(wait("Wed, 21 Oct 2015 07:28:00 GMT"), Some(Duration::from_secs(30)));
        assert_eq!(wait("Wednesday, 21-Oct-15 07:28:00 GMT"), Some(Duration::from_secs(30)));
        assert_eq!(wait("Wed Oct 21 07:28:00 2015"), Some(Duration::from_secs(30)));
    }

    #[test]
    fn a_past_date_means_no_wait() {
        let now = Utc.with_ymd_and_hms(2015, 10, 21, 8, 0, 0).unwrap();
        let after = RetryAfter::parse("Wed, 21 Oct 2015 07:28:00 GMT").unwrap();
        assert_eq!(after.wait_at(now), Duration::ZERO);
        assert_eq!(after.wait(), Duration::ZERO, "long past by the real clock too");
    }

    #[test]
    fn anything_else_is_no_value() {
        for value in ["", "soon", "-5", "NaN", "inf", "Wed, 32 Oct 2015 07:28:00 GMT"] {
            assert_eq!(RetryAfter::parse(value), None, "{value:?}");
        }
    }
}
