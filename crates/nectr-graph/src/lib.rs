//! Nectr's code graph on Neo4j (`NEO4J_URI`): [`Neo4jGraph`] implements the domain's `CodeGraph`
//! port (and a `HealthProbe` for `/health`) in Cypher, over Bolt through neo4rs 0.8.
//!
//! - The model: `Repository`, `File`, `PullRequest`, `Developer` (one per repository, never
//!   shared across tenants) and `Issue` nodes, each unique on one composed `key` property, which
//!   Neo4j Community can enforce; `CONTAINS`, `IMPORTS` (stamped with the scan's generation),
//!   `TOUCHES`, `AUTHORED_BY`, `CONTRIBUTED_TO` and `CLOSES` relations; co-change is derived.
//!   [`cypher`] holds every statement and says how keys are made.
//! - The schema ([`Neo4jGraph::ensure_schema`]) is created at start-up, idempotently; a refusal
//!   stops the start with the statement Neo4j refused, never silently.
//! - Scans write in [`Chunks`] of rows with `UNWIND`, one transaction each; finishing
//!   a scan removes stale rows in bounded chunks and then records the scan, so an interrupted
//!   finish is simply repeated. A re-reviewed pull request replaces its touches, issues and
//!   author in one transaction.
//! - Every call runs under a timeout; a call that finds Neo4j gone answers
//!   `GraphError::Unavailable` and the next call reconnects ([`BoltSession`]).
//!
//! How it is proved (the crate's `tests/graph`): boltkit's `boltstub` plays scripted Bolt
//! sessions that pin the exact Cypher and parameters of every call, the schema, a refused
//! statement, a dropped connection and the reconnect; FalkorDB runs the same statements (through
//! a [`CypherSession`] on the Redis protocol) over the contract's fixture repository, and the
//! answers are compared with the embedded graph's. FalkorDB's dialect cannot run the schema
//! statements (no `CREATE CONSTRAINT … IF NOT EXISTS`, no `DROP CONSTRAINT`), has no
//! multi-statement transactions (the dialect test runs a transaction's statements one by one),
//! and answers every other statement of [`cypher`] as the embedded graph does on the fixture.
//! One difference it found is written around: FalkorDB counts the paths through a pattern node
//! that nothing filters or reads afterwards once per end node, so counts name what they count
//! (`count(p)`, not `count(*)`). With `TEST_NEO4J_URI` set, `cargo xtask test-neo4j` runs the whole contract
//! suite on a real Neo4j.

mod bolt;
mod config;
pub mod cypher;
mod graph;
mod session;
mod statement;

pub use bolt::BoltSession;
pub use config::{Chunks, Neo4jConfig};
pub use graph::Neo4jGraph;
pub use session::CypherSession;
pub use statement::{Record, Statement, Value};
