//! The `CodeGraph` contract on a real Neo4j (`cargo xtask test-neo4j` runs it): the schema twice
//! (it is idempotent), then every query of the contract over its fixture repository, the same
//! suite the embedded graph passes. It needs `TEST_NEO4J_URI` (and `TEST_NEO4J_USERNAME`,
//! default `neo4j`, and `TEST_NEO4J_PASSWORD`) and fails without it. It first deletes the
//! fixture's repositories (`acme/shop`, `other/shop`) from that database, so point it at a
//! database for tests.

use std::process::ExitCode;
use std::sync::Arc;

use nectr_graph::{BoltSession, Chunks, Neo4jConfig, Neo4jGraph, Statement};
use secrecy::SecretString;

/// Everything the fixture wrote in an earlier run.
const FORGET_FIXTURE: &str = "MATCH (n) WHERE n.repo_key IN $repos OR (n:Repository AND n.key IN $repos) \
     DETACH DELETE n";

#[tokio::main]
async fn main() -> ExitCode {
    drop(rustls::crypto::aws_lc_rs::default_provider().install_default());
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("neo4j contract: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), String> {
    let variable = |name: &str| std::env::var(name).ok().filter(|value| !value.is_empty());
    let uri = variable("TEST_NEO4J_URI").ok_or(
        "TEST_NEO4J_URI is not set: start a Neo4j (for example `docker compose up -d neo4j`) and \
         set TEST_NEO4J_URI=bolt://localhost:7687, TEST_NEO4J_USERNAME and TEST_NEO4J_PASSWORD",
    )?;
    let username = variable("TEST_NEO4J_USERNAME").unwrap_or_else(|| "neo4j".to_owned());
    let password = SecretString::from(variable("TEST_NEO4J_PASSWORD").unwrap_or_default());
    let config = Neo4jConfig::new(uri.clone(), username, password);
    let session = Arc::new(BoltSession::connect(config).await.map_err(|error| error.to_string())?);
    let graph = Neo4jGraph::on_session(session.clone(), Chunks { write: 3, removal: 2 });
    for attempt in ["first", "second"] {
        graph
            .ensure_schema()
            .await
            .map_err(|error| format!("the schema, {attempt} time: {error:#}"))?;
    }
    let repos = vec!["acme/shop", "other/shop"];
    nectr_graph::CypherSession::run(
        session.as_ref(),
        Statement::new(FORGET_FIXTURE).param("repos", repos),
    )
    .await
    .map_err(|error| format!("forgetting an earlier run's fixture: {error:#}"))?;
    let contract = tokio::spawn(async move {
        nectr_testkit::graph_contract::run_all(Arc::new(graph), "Neo4j").await;
    });
    contract.await.map_err(|failure| format!("the contract failed on {uri}: {failure}"))?;
    eprintln!("neo4j contract: every query answered as the contract says on {uri}");
    Ok(())
}
