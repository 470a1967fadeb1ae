//! The one thing the adapter needs of a Cypher engine: run statements, alone or in one
//! transaction, and read rows. [`BoltSession`](crate::BoltSession) does it on Neo4j; the crate's
//! dialect test does it on FalkorDB over the Redis protocol, so both run the very same
//! statements.

use async_trait::async_trait;
use nectr_domain::graph::GraphError;

use crate::statement::{Record, Statement};

/// Runs Cypher statements.
///
/// Contract: every call returns within a bounded time; a call that fails leaves the session
/// usable (the next call reconnects when the engine went away); errors are
/// [`GraphError::Unavailable`] when the engine cannot be reached and
/// [`GraphError::Unexpected`] when it refused the statement.
#[async_trait]
pub trait CypherSession: Send + Sync {
    /// Runs one statement in a transaction of its own, discarding any rows.
    ///
    /// # Errors
    /// [`GraphError`].
    async fn run(&self, statement: Statement) -> Result<(), GraphError>;

    /// Runs one statement in a transaction of its own and answers its rows.
    ///
    /// # Errors
    /// [`GraphError`].
    async fn rows(&self, statement: Statement) -> Result<Vec<Record>, GraphError>;

    /// Runs the statements in order in one transaction: all of them take effect, or none.
    ///
    /// # Errors
    /// [`GraphError`].
    async fn transaction(&self, statements: Vec<Statement>) -> Result<(), GraphError>;
}
