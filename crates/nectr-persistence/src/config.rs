//! Database settings, and the translation of the original service's SQLAlchemy URLs.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize, Serializer};

/// How to reach the database. Serializes with the URL's password replaced (`print-config`).
#[derive(Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseConfig {
    /// `postgres://…`, `sqlite://…`, or the original service's SQLAlchemy forms
    /// (`postgresql+asyncpg://…`, `sqlite+aiosqlite:///./file.db`).
    #[serde(serialize_with = "serialize_redacted_url")]
    pub url: SecretString,
    /// Size of the connection pool.
    #[serde(default = "default_max_connections")]
    pub max_connections: u32,
    /// How long a request waits for a pooled connection, and a health probe for an answer.
    #[serde(default = "default_acquire_timeout_seconds")]
    pub acquire_timeout_seconds: u64,
}

/// The URL as [`redact_url`] shows it.
fn serialize_redacted_url<S: Serializer>(
    url: &SecretString,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&redact_url(url.expose_secret()))
}

fn default_max_connections() -> u32 {
    10
}

fn default_acquire_timeout_seconds() -> u64 {
    5
}

impl std::fmt::Debug for DatabaseConfig {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("DatabaseConfig")
            .field("url", &redact_url(self.url.expose_secret()))
            .field("max_connections", &self.max_connections)
            .field("acquire_timeout_seconds", &self.acquire_timeout_seconds)
            .finish()
    }
}

/// A database URL Nectr cannot use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DatabaseUrlError {
    /// Neither PostgreSQL nor SQLite.
    #[error("unsupported database URL scheme {0:?}: use postgres://… or sqlite://…")]
    UnsupportedScheme(String),
}

impl DatabaseConfig {
    /// A configuration for this URL with default pool settings.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: SecretString::from(url.into()),
            max_connections: default_max_connections(),
            acquire_timeout_seconds: default_acquire_timeout_seconds(),
        }
    }

    /// The URL in the form the driver takes.
    ///
    /// # Errors
    /// [`DatabaseUrlError::UnsupportedScheme`] for anything but PostgreSQL and SQLite.
    pub fn driver_url(&self) -> Result<String, DatabaseUrlError> {
        normalize_url(self.url.expose_secret())
    }

    /// The URL with any password replaced, fit for logs and `print-config`.
    pub fn redacted_url(&self) -> String {
        redact_url(self.url.expose_secret())
    }

    /// The pool's acquire timeout.
    pub fn acquire_timeout(&self) -> Duration {
        Duration::from_secs(self.acquire_timeout_seconds.max(1))
    }
}

/// Translates SQLAlchemy URLs into driver URLs; SQLite files are created when missing.
fn normalize_url(url: &str) -> Result<String, DatabaseUrlError> {
    let (scheme, rest) = url.split_once(':').unwrap_or((url, ""));
    let scheme = scheme.to_ascii_lowercase();
    match scheme.as_str() {
        "postgres"
        | "postgresql"
        | "postgresql+asyncpg"
        | "postgresql+psycopg"
        | "postgresql+psycopg2" => Ok(loopback_without_tls(format!("postgres:{rest}"))),
        "sqlite+aiosqlite" | "sqlite+pysqlite" => {
            // SQLAlchemy: `sqlite:///relative.db`, `sqlite:////absolute.db`.
            let path = rest.strip_prefix("///").unwrap_or(rest);
            Ok(sqlite_url(path))
        }
        "sqlite" => {
            // sqlx: `sqlite://relative.db`, `sqlite:///absolute.db`, `sqlite::memory:`.
            let path = rest.strip_prefix("//").unwrap_or(rest);
            Ok(sqlite_url(path))
        }
        _ => Err(DatabaseUrlError::UnsupportedScheme(scheme)),
    }
}

/// TLS to a server on this machine protects nothing, and the driver (sqlx 0.9) does not set
/// `TCP_NODELAY`, so TLS records written in pieces stall ~40 ms per statement on delayed ACKs
/// (measured: 48 ms against 0.9 ms per webhook delivery; see BENCHMARKS.md). A loopback URL that
/// does not choose an `sslmode` therefore gets `sslmode=disable`; any explicit choice is kept.
fn loopback_without_tls(url: String) -> String {
    if url.contains("sslmode=") {
        return url;
    }
    let authority = url.trim_start_matches("postgres://");
    let authority = authority.split(['/', '?']).next().unwrap_or_default();
    let host_and_port = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
    let host = if host_and_port.starts_with('[') {
        host_and_port.split(']').next().unwrap_or_default().trim_start_matches('[')
    } else {
        host_and_port.split(':').next().unwrap_or_default()
    };
    if !matches!(host, "localhost" | "127.0.0.1" | "::1") {
        return url;
    }
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}sslmode=disable")
}

fn sqlite_url(path_and_query: &str) -> String {
    if path_and_query.contains("mode=") {
        return format!("sqlite://{path_and_query}");
    }
    let separator = if path_and_query.contains('?') { '&' } else { '?' };
    format!("sqlite://{path_and_query}{separator}mode=rwc")
}

/// Replaces the password of `scheme://user:password@host/…` with `***`.
fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((credentials, host)) => {
            let user = credentials.split_once(':').map_or(credentials, |(user, _)| user);
            format!("{scheme}://{user}:***@{host}{tail}")
        }
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn translates_the_original_services_urls() {
        let cases = [
            ("sqlite+aiosqlite:///./devcopilot.db", "sqlite://./devcopilot.db?mode=rwc"),
            ("sqlite+aiosqlite:////var/lib/nectr.db", "sqlite:///var/lib/nectr.db?mode=rwc"),
            ("sqlite://nectr.db", "sqlite://nectr.db?mode=rwc"),
            ("sqlite:///tmp/x.db?mode=ro", "sqlite:///tmp/x.db?mode=ro"),
            ("postgresql+asyncpg://u:p@db:5432/nectr", "postgres://u:p@db:5432/nectr"),
            ("postgresql://u@db/nectr", "postgres://u@db/nectr"),
            ("postgres://u@db/nectr", "postgres://u@db/nectr"),
            ("postgres://u:p@127.0.0.1:5432/n", "postgres://u:p@127.0.0.1:5432/n?sslmode=disable"),
            (
                "postgres://localhost/n?application_name=x",
                "postgres://localhost/n?application_name=x&sslmode=disable",
            ),
            ("postgres://u@[::1]:5432/n", "postgres://u@[::1]:5432/n?sslmode=disable"),
            (
                "postgres://u@127.0.0.1/n?sslmode=require",
                "postgres://u@127.0.0.1/n?sslmode=require",
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(normalize_url(input).unwrap(), expected, "{input}");
        }
        assert_eq!(
            normalize_url("mysql://db/x"),
            Err(DatabaseUrlError::UnsupportedScheme("mysql".to_owned()))
        );
    }

    #[test]
    fn redacts_passwords() {
        let config = DatabaseConfig::new("postgres://nectr:hunter2@db:5432/nectr");
        assert_eq!(config.redacted_url(), "postgres://nectr:***@db:5432/nectr");
        assert!(!format!("{config:?}").contains("hunter2"));
        assert_eq!(redact_url("sqlite://nectr.db"), "sqlite://nectr.db");
    }
}
