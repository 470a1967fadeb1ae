//! `BoltSession`: statements on Neo4j through neo4rs 0.8 (Bolt 4.x).
//!
//! neo4rs connects lazily from a pool and has no connect timeout, so every call here runs under
//! the configured timeout, as an explicit transaction (neo4rs retries auto-commit statements on
//! connection errors for a minute); transient refusals are retried a few times. When a call fails because the connection broke, timed out, or the
//! conversation went off the protocol, the pool is replaced: that call answers an error and the
//! next one connects afresh (the original service gave up on Neo4j for the life of the process).
//! An error Neo4j reports on a healthy connection keeps the pool (neo4rs resets the connection
//! before reusing it).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use nectr_domain::graph::GraphError;
use neo4rs::{BoltList, BoltMap, BoltNull, BoltString, BoltType, Neo4jErrorKind};
use secrecy::ExposeSecret;
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::config::Neo4jConfig;
use crate::session::CypherSession;
use crate::statement::{Record, Statement, Value};

/// A Cypher session on Neo4j over Bolt.
pub struct BoltSession {
    config: Neo4jConfig,
    driver: Mutex<Driver>,
}

/// The current pool and how many times it was replaced.
struct Driver {
    generation: u64,
    graph: neo4rs::Graph,
}

impl fmt::Debug for BoltSession {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.debug_struct("BoltSession").field("config", &self.config).finish_non_exhaustive()
    }
}

impl BoltSession {
    /// A session on the Neo4j that `config` names; nothing is connected yet.
    ///
    /// # Errors
    /// [`GraphError::Unexpected`] when the URI is not a Bolt or Neo4j URI.
    pub async fn connect(config: Neo4jConfig) -> Result<Self, GraphError> {
        let graph = pool(&config).await?;
        Ok(Self { config, driver: Mutex::new(Driver { generation: 0, graph }) })
    }

    fn current(&self) -> (u64, neo4rs::Graph) {
        let driver = self.driver.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        (driver.generation, driver.graph.clone())
    }

    /// Replaces the pool that failed, unless another call replaced it already.
    async fn reconnect(&self, failed: u64) {
        let graph = match pool(&self.config).await {
            Ok(graph) => graph,
            Err(error) => {
                tracing::error!(error = %error, "cannot rebuild the Neo4j connection pool");
                return;
            }
        };
        let mut driver = self.driver.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if driver.generation == failed {
            driver.generation += 1;
            driver.graph = graph;
        }
    }

    /// Runs `work` on the current pool under the timeout, again after a transient refusal (a
    /// deadlock, for one: the transaction was rolled back, so repeating it is safe), and maps
    /// errors to the port's.
    async fn call<T, F>(
        &self,
        doing: &'static str,
        work: impl Fn(neo4rs::Graph) -> F,
    ) -> Result<T, GraphError>
    where
        F: Future<Output = Result<T, neo4rs::Error>>,
    {
        let (generation, graph) = self.current();
        let attempts = async {
            let mut retries = TRANSIENT_RETRIES.iter();
            loop {
                match (work(graph.clone()).await, retries.next()) {
                    (Err(neo4rs::Error::Neo4j(refusal)), Some(pause))
                        if refusal.kind() == Neo4jErrorKind::Transient =>
                    {
                        tracing::debug!(code = refusal.code(), doing, "Neo4j asks to retry");
                        tokio::time::sleep(*pause).await;
                    }
                    (outcome, _) => return outcome,
                }
            }
        };
        let failure = match tokio::time::timeout(self.config.timeout, attempts).await {
            Ok(Ok(value)) => return Ok(value),
            Ok(Err(error)) => Failure::of(error),
            Err(_) => Failure::TimedOut,
        };
        if failure.breaks_the_connection() {
            self.reconnect(generation).await;
        }
        Err(failure.into_graph_error(doing, &self.config))
    }
}

/// The pauses before retrying a transaction Neo4j refused as transient.
const TRANSIENT_RETRIES: [Duration; 3] =
    [Duration::from_millis(50), Duration::from_millis(200), Duration::from_millis(800)];

/// Why a call failed, and so whether the connection can be trusted again.
enum Failure {
    /// Neo4j answered with an error on a healthy connection.
    Refused(neo4rs::Neo4jError),
    /// The connection failed or broke.
    Connection(neo4rs::Error),
    /// The conversation went off the protocol.
    Protocol(neo4rs::Error),
    /// No answer in time (possibly mid-conversation).
    TimedOut,
}

impl Failure {
    fn of(error: neo4rs::Error) -> Self {
        match error {
            neo4rs::Error::Neo4j(refusal) => Self::Refused(refusal),
            neo4rs::Error::IOError { .. }
            | neo4rs::Error::ConnectionError
            | neo4rs::Error::AuthenticationError(_) => Self::Connection(error),
            other => Self::Protocol(other),
        }
    }

    fn breaks_the_connection(&self) -> bool {
        !matches!(self, Self::Refused(_))
    }

    fn into_graph_error(self, doing: &'static str, config: &Neo4jConfig) -> GraphError {
        match self {
            Self::Refused(refusal) if refusal.kind() == Neo4jErrorKind::Transient => {
                GraphError::Unavailable(format!(
                    "Neo4j could not complete {doing} for now: {}: {}",
                    refusal.code(),
                    refusal.message()
                ))
            }
            Self::Refused(refusal) => GraphError::Unexpected(anyhow::anyhow!(
                "Neo4j refused {doing}: {}: {}",
                refusal.code(),
                refusal.message()
            )),
            Self::Connection(error) => GraphError::Unavailable(format!(
                "cannot reach Neo4j at {} for {doing}: {error}",
                config.uri
            )),
            Self::Protocol(error) => {
                GraphError::Unexpected(anyhow::Error::new(error).context(format!("Neo4j, {doing}")))
            }
            Self::TimedOut => GraphError::Unavailable(format!(
                "Neo4j at {} did not answer {doing} within {:?}",
                config.uri, config.timeout
            )),
        }
    }
}

async fn pool(config: &Neo4jConfig) -> Result<neo4rs::Graph, GraphError> {
    let neo4rs_config = neo4rs::ConfigBuilder::default()
        .uri(config.uri.as_str())
        .user(config.username.as_str())
        .password(config.password.expose_secret())
        .db(config.database.as_str())
        .fetch_size(config.fetch_size.max(1))
        .max_connections(config.max_connections.max(1))
        .build()
        .map_err(|error| invalid(config, error))?;
    neo4rs::Graph::connect(neo4rs_config).await.map_err(|error| invalid(config, error))
}

fn invalid(config: &Neo4jConfig, error: neo4rs::Error) -> GraphError {
    GraphError::Unexpected(anyhow::anyhow!("NEO4J_URI {:?} is not usable: {error}", config.uri))
}

fn query(statement: Statement) -> neo4rs::Query {
    let params = statement.params.into_iter().map(|(name, value)| (name, bolt(value)));
    neo4rs::query(statement.text).params(params)
}

/// A parameter as Bolt sends it.
fn bolt(value: Value) -> BoltType {
    match value {
        Value::Null => BoltType::Null(BoltNull),
        Value::Bool(value) => value.into(),
        Value::Int(value) => value.into(),
        Value::Text(value) => value.into(),
        Value::List(values) => {
            BoltType::List(BoltList::from(values.into_iter().map(bolt).collect::<Vec<_>>()))
        }
        Value::Map(entries) => {
            let mut map = BoltMap::with_capacity(entries.len());
            for (key, value) in entries {
                map.put(BoltString::from(key), bolt(value));
            }
            BoltType::Map(map)
        }
    }
}

/// Every call is an explicit transaction: neo4rs retries the auto-commit ones on any connection
/// error for up to a minute, which would turn a Neo4j outage into a minute's wait per call.
#[async_trait]
impl CypherSession for BoltSession {
    async fn run(&self, statement: Statement) -> Result<(), GraphError> {
        self.transaction(vec![statement]).await
    }

    async fn rows(&self, statement: Statement) -> Result<Vec<Record>, GraphError> {
        let doing = statement.text;
        let rows = self
            .call(doing, |graph| {
                let statement = statement.clone();
                async move {
                    let mut transaction = graph.start_txn().await?;
                    let mut stream = transaction.execute(query(statement)).await?;
                    let mut rows = Vec::new();
                    while let Some(row) = stream.next(&mut transaction).await? {
                        rows.push(row);
                    }
                    transaction.commit().await?;
                    Ok(rows)
                }
            })
            .await?;
        rows.iter()
            .map(|row| {
                row.to::<BTreeMap<String, Value>>().map(Record::new).map_err(|error| {
                    GraphError::Unexpected(anyhow::anyhow!(
                        "cannot read a row of {doing} from Neo4j: {error}"
                    ))
                })
            })
            .collect()
    }

    async fn transaction(&self, statements: Vec<Statement>) -> Result<(), GraphError> {
        let doing = statements.first().map_or("a transaction", |statement| statement.text);
        self.call(doing, |graph| {
            let statements = statements.clone();
            async move {
                let mut transaction = graph.start_txn().await?;
                for statement in statements {
                    transaction.run(query(statement)).await?;
                }
                transaction.commit().await
            }
        })
        .await
    }
}

/// Reads Bolt values (neo4rs deserializes rows through serde) into [`Value`]s.
impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("null, a boolean, an integer, a string, a list or a map")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        Value::deserialize(deserializer)
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<Value, E> {
        Ok(Value::Bool(value))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Value, E> {
        Ok(Value::Int(value))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Value, E> {
        i64::try_from(value).map(Value::Int).map_err(E::custom)
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Value, E> {
        Ok(Value::Text(value.to_owned()))
    }

    fn visit_string<E: de::Error>(self, value: String) -> Result<Value, E> {
        Ok(Value::Text(value))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut sequence: A) -> Result<Value, A::Error> {
        let mut values = Vec::new();
        while let Some(value) = sequence.next_element()? {
            values.push(value);
        }
        Ok(Value::List(values))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut entries: A) -> Result<Value, A::Error> {
        let mut map = BTreeMap::new();
        while let Some((key, value)) = entries.next_entry::<String, Value>()? {
            map.insert(key, value);
        }
        Ok(Value::Map(map))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_become_bolt_values() {
        let value = crate::statement::map([
            ("path", Value::from("a.rs")),
            ("size", Value::Int(3)),
            ("gone", Value::Null),
            ("paths", Value::from(vec!["x", "y"])),
        ]);
        let BoltType::Map(map) = bolt(value) else { panic!("a map") };
        assert_eq!(map.get::<String>("path").unwrap(), "a.rs");
        assert_eq!(map.get::<i64>("size").unwrap(), 3);
        assert_eq!(map.get::<Option<i64>>("gone").unwrap(), None);
        assert_eq!(map.get::<Vec<String>>("paths").unwrap(), vec!["x", "y"]);
    }

    #[tokio::test]
    async fn an_unusable_uri_is_refused_before_any_call() {
        let config =
            Neo4jConfig::new("http://db:7474", "neo4j", secrecy::SecretString::from("secret"));
        let error = BoltSession::connect(config).await.unwrap_err().to_string();
        assert!(error.contains("http://db:7474"), "{error}");
        assert!(!error.contains("secret"), "{error}");
    }
}
