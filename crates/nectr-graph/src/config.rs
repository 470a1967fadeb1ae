//! Where Neo4j is and how Nectr talks to it.

use std::fmt;
use std::time::Duration;

use secrecy::SecretString;

/// How to reach Neo4j.
#[derive(Clone)]
pub struct Neo4jConfig {
    /// `bolt://`, `bolt+s://`, `neo4j://` or `neo4j+s://` with host and port.
    pub uri: String,
    /// The user.
    pub username: String,
    /// The password (empty when Neo4j runs without authentication).
    pub password: SecretString,
    /// The database (`neo4j` unless configured otherwise).
    pub database: String,
    /// Longest time one call may take, connecting included (neo4rs 0.8 has no connect timeout).
    pub timeout: Duration,
    /// Connections kept open at most.
    pub max_connections: usize,
    /// Rows asked for per `PULL`.
    pub fetch_size: usize,
    /// Rows per write and per removal statement.
    pub chunks: Chunks,
}

/// How many rows one statement writes or removes (and so the size of its transaction).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Chunks {
    /// Files, imports or touches per write statement.
    pub write: usize,
    /// Stale rows per removal statement when a scan finishes.
    pub removal: i64,
}

impl Default for Chunks {
    fn default() -> Self {
        Self { write: 500, removal: 5_000 }
    }
}

impl Neo4jConfig {
    /// Defaults for everything but where Neo4j is and who Nectr is there.
    pub fn new(
        uri: impl Into<String>,
        username: impl Into<String>,
        password: SecretString,
    ) -> Self {
        Self {
            uri: uri.into(),
            username: username.into(),
            password,
            database: "neo4j".to_owned(),
            timeout: Duration::from_secs(30),
            max_connections: 16,
            fetch_size: 1_000,
            chunks: Chunks::default(),
        }
    }
}

impl fmt::Debug for Neo4jConfig {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("Neo4jConfig")
            .field("uri", &self.uri)
            .field("username", &self.username)
            .field("password", &"[redacted]")
            .field("database", &self.database)
            .field("timeout", &self.timeout)
            .field("max_connections", &self.max_connections)
            .field("fetch_size", &self.fetch_size)
            .field("chunks", &self.chunks)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_password() {
        let config = Neo4jConfig::new("bolt://db:7687", "neo4j", SecretString::from("hunter2"));
        let shown = format!("{config:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("[redacted]"));
    }
}
