//! The adapter on the wire: each test plays a session of `scripts/*.script` on boltkit's
//! `boltstub`, which answers only the exact messages the script expects (Cypher text, parameters
//! and the driver's Bolt messages around them) and exits 0 only when the whole script was played.
//! The scripts pin every write and read of the port, the schema, refused statements, a dropped
//! connection with the reconnect, and a Neo4j that never answers.

use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use nectr_domain::graph::{
    BlastRadius, CodeGraph, FileExpert, FileNode, GraphError, GraphVerdict, ImportEdge, Language,
    LinkKind, Ownership, PullRequestNode, ScanRecord,
};
use nectr_domain::{HealthProbe, RepoFullName};
use nectr_graph::{Chunks, Neo4jConfig, Neo4jGraph};
use nectr_testkit::boltstub::BoltStub;
use secrecy::SecretString;

const HELLO: &str = include_str!("scripts/hello.script");
const SCHEMA: &str = include_str!("scripts/schema.script");
const SCHEMA_REFUSED: &str = include_str!("scripts/schema_refused.script");
const SCAN: &str = include_str!("scripts/scan.script");
const PULL_REQUESTS: &str = include_str!("scripts/pull_requests.script");
const READS: &str = include_str!("scripts/reads.script");
const REFUSED: &str = include_str!("scripts/refused.script");
const HEALTH: &str = include_str!("scripts/health.script");

fn repo() -> RepoFullName {
    RepoFullName::parse("acme/shop").unwrap()
}

fn config(uri: String, chunks: Chunks) -> Neo4jConfig {
    let mut config = Neo4jConfig::new(uri, "neo4j", SecretString::from("stub-password"));
    config.timeout = Duration::from_secs(10);
    config.chunks = chunks;
    config
}

async fn graph_on(stub: &BoltStub, chunks: Chunks) -> Neo4jGraph {
    Neo4jGraph::connect(config(stub.uri(), chunks)).await.unwrap()
}

fn strings(values: &[&str]) -> Vec<String> {
    values.iter().map(|value| (*value).to_owned()).collect()
}

/// Neo4j's rendering of an error, with every cause.
fn shown(error: &GraphError) -> String {
    format!("{error:#}")
}

#[tokio::test]
async fn the_schema_drops_the_originals_constraints_and_keys_every_label() {
    let stub = BoltStub::start(&[HELLO, SCHEMA]);
    let graph = graph_on(&stub, Chunks::default()).await;
    graph.ensure_schema().await.unwrap();
    drop(graph);
    stub.finish().await;
}

#[tokio::test]
async fn a_refused_schema_statement_is_reported_with_the_statement_and_neo4js_code() {
    let stub = BoltStub::start(&[HELLO, SCHEMA_REFUSED]);
    let graph = graph_on(&stub, Chunks::default()).await;
    let error = graph.ensure_schema().await.unwrap_err();
    assert!(matches!(error, GraphError::Unexpected(_)), "{error:?}");
    let text = shown(&error);
    assert!(text.contains("DROP CONSTRAINT repo_unique IF EXISTS"), "{text}");
    assert!(text.contains("Neo.ClientError.Security.Forbidden"), "{text}");
    drop(graph);
    stub.finish().await;
}

#[tokio::test]
async fn a_scan_is_written_in_chunks_and_finished_by_bounded_removals() {
    let stub = BoltStub::start(&[HELLO, SCAN]);
    let graph = graph_on(&stub, Chunks { write: 2, removal: 1 }).await;
    let files: Vec<FileNode> = [("README.md", 90), ("src/a.rs", 80), ("src/lib.rs", 100)]
        .iter()
        .map(|(path, size)| FileNode {
            path: (*path).to_owned(),
            language: Language::of_path(path),
            size: *size,
        })
        .collect();
    let repo = repo();
    graph.upsert_files(&repo, 2, &files).await.unwrap();
    graph.upsert_files(&repo, 2, &[]).await.unwrap();
    let edge = ImportEdge { source: "src/lib.rs".to_owned(), target: "src/a.rs".to_owned() };
    graph.upsert_imports(&repo, 2, &[edge]).await.unwrap();
    let record = ScanRecord {
        commit: "c2".to_owned(),
        generation: 2,
        files_indexed: 3,
        edges_indexed: 1,
        scanned_at: Utc.with_ymd_and_hms(2026, 11, 1, 12, 0, 0).unwrap(),
    };
    assert_eq!(graph.finish_scan(&repo, &record).await.unwrap(), 1, "one stale file");
    let shouting = RepoFullName::parse("ACME/Shop").unwrap();
    assert_eq!(graph.scan_record(&shouting).await.unwrap(), Some(record));
    let other = RepoFullName::parse("other/shop").unwrap();
    assert_eq!(graph.scan_record(&other).await.unwrap(), None);
    drop(graph);
    stub.finish().await;
}

fn pull(
    number: u64,
    author: &str,
    verdict: Option<GraphVerdict>,
    files: &[&str],
) -> PullRequestNode {
    PullRequestNode {
        number,
        title: format!("Change {number}"),
        author: author.to_owned(),
        verdict,
        head_sha: format!("sha{number}"),
        reviewed_at: Utc.with_ymd_and_hms(2026, 11, 2, 9, 0, number as u32).unwrap(),
        files: strings(files),
        closes: Vec::new(),
    }
}

#[tokio::test]
async fn a_reviewed_pull_request_is_written_in_one_transaction_that_replaces_its_history() {
    let stub = BoltStub::start(&[HELLO, PULL_REQUESTS]);
    let graph = graph_on(&stub, Chunks { write: 2, removal: 1 }).await;
    let mut third =
        pull(3, "amy", Some(GraphVerdict::RequestChanges), &["src/c.rs", "README.md", "src/c.rs"]);
    third.closes = vec![13, 13];
    graph.record_pull_request(&repo(), &third).await.unwrap();
    let fourth = pull(4, "", None, &["c.ts", "a.py", "b.go"]);
    graph.record_pull_request(&repo(), &fourth).await.unwrap();
    drop(graph);
    stub.finish().await;
}

#[tokio::test]
async fn every_read_sends_its_cypher_and_reads_the_answer_into_the_domains_types() {
    let stub = BoltStub::start(&[HELLO, READS]);
    let graph = graph_on(&stub, Chunks::default()).await;
    let repo = repo();

    let related = graph
        .related_pull_requests(&repo, &strings(&["src/c.rs", "src/a.rs", "src/c.rs"]), Some(3), 5)
        .await
        .unwrap();
    let summary: Vec<(u64, u64, &str, Option<GraphVerdict>)> =
        related.iter().map(|pr| (pr.number, pr.overlap, pr.author.as_str(), pr.verdict)).collect();
    assert_eq!(
        summary,
        vec![
            (1, 2, "amy", Some(GraphVerdict::Approve)),
            (2, 1, "bob", Some(GraphVerdict::RequestChanges)),
        ]
    );
    assert_eq!(related[0].title, "Change 1");
    let readme = graph.related_pull_requests(&repo, &strings(&["README.md"]), None, 5).await;
    assert_eq!(readme.unwrap().iter().map(|pr| pr.number).collect::<Vec<_>>(), vec![3]);
    assert!(graph.related_pull_requests(&repo, &[], None, 5).await.unwrap().is_empty());
    assert!(graph.file_experts(&repo, &[], 5).await.unwrap().is_empty());
    assert!(graph.dependents(&repo, &[], 5).await.unwrap().is_empty());

    let experts = graph.file_experts(&repo, &strings(&["src/c.rs"]), 5).await.unwrap();
    let expected: Vec<FileExpert> = [("amy", 2), ("bob", 1), ("cat", 1)]
        .iter()
        .map(|(login, touches)| FileExpert { login: (*login).to_owned(), touches: *touches })
        .collect();
    assert_eq!(experts, expected);

    let radius = graph.dependents(&repo, &strings(&["src/c.rs"]), 15).await.unwrap();
    assert_eq!(
        radius,
        BlastRadius {
            direct: strings(&["src/a.rs", "src/b.rs"]),
            transitive: strings(&["src/d.rs", "src/lib.rs"]),
        }
    );

    let hotspots = graph.hotspots(&repo, 10).await.unwrap();
    let summary: Vec<(&str, Language, u64)> =
        hotspots.iter().map(|file| (file.path.as_str(), file.language, file.count)).collect();
    assert_eq!(
        summary,
        vec![("src/c.rs", Language::Rust, 4), ("README.md", Language::Markdown, 1)]
    );
    let risky = graph.high_risk_files(&repo, 8).await.unwrap();
    let summary: Vec<(&str, Language, u64)> =
        risky.iter().map(|file| (file.path.as_str(), file.language, file.count)).collect();
    assert_eq!(
        summary,
        vec![("src/c.rs", Language::Rust, 2), ("gone.rs", Language::Rust, 1)],
        "a file without a language is named by its extension"
    );

    let untouched = graph.untouched_files(&repo, 2).await.unwrap();
    assert_eq!(untouched.count, 4);
    assert_eq!(
        untouched.sample,
        vec![
            ("docs/guide.md".to_owned(), Language::Markdown),
            ("src/d.rs".to_owned(), Language::Rust),
        ]
    );

    let owners = graph.code_ownership(&repo, 10).await.unwrap();
    assert_eq!(
        owners,
        vec![Ownership {
            path: "src/c.rs".to_owned(),
            owner: "amy".to_owned(),
            owner_touches: 2,
            total_touches: 4,
        }]
    );
    let expertise = graph.developer_expertise(&repo, 8).await.unwrap();
    let summary: Vec<String> = expertise
        .iter()
        .map(|expert| format!("{} {} {:?}", expert.login, expert.total_touches, expert.top_dirs))
        .collect();
    assert_eq!(
        summary,
        vec![r#"amy 3 [("src", 2), ("(root)", 1)]"#.to_owned(), r#"bob 1 [("src", 1)]"#.to_owned(),]
    );

    let drawn = graph.repository_graph(&repo, 3, 10).await.unwrap();
    let nodes: Vec<(&str, u64, u64)> =
        drawn.nodes.iter().map(|node| (node.path.as_str(), node.size, node.pr_count)).collect();
    assert_eq!(nodes, vec![("src/c.rs", 80, 4), ("README.md", 90, 1), ("src/a.rs", 80, 1)]);
    let links: Vec<(&str, &str, u64, LinkKind)> = drawn
        .links
        .iter()
        .map(|link| (link.source.as_str(), link.target.as_str(), link.weight, link.kind))
        .collect();
    assert_eq!(
        links,
        vec![
            ("README.md", "src/c.rs", 1, LinkKind::CoChange),
            ("src/a.rs", "src/c.rs", 1, LinkKind::CoChange),
        ],
        "a co-change replaces the import between the same two files"
    );

    let listed = graph.files(&repo).await.unwrap();
    let summary: Vec<(&str, Language, u64, u64)> = listed
        .iter()
        .map(|file| (file.path.as_str(), file.language, file.size, file.pr_count))
        .collect();
    assert_eq!(
        summary,
        vec![("README.md", Language::Markdown, 90, 1), ("src/a.rs", Language::Rust, 80, 1),]
    );
    drop(graph);
    stub.finish().await;
}

#[tokio::test]
async fn a_refused_statement_answers_an_error_and_the_connection_serves_the_next_call() {
    let stub = BoltStub::start(&[HELLO, REFUSED]);
    let graph = graph_on(&stub, Chunks::default()).await;
    let error = graph.hotspots(&repo(), 10).await.unwrap_err();
    assert!(matches!(error, GraphError::Unexpected(_)), "{error:?}");
    assert!(shown(&error).contains("Neo.ClientError.Statement.SyntaxError"), "{error}");
    assert_eq!(graph.hotspots(&repo(), 10).await.unwrap().len(), 1);

    let refused = pull(5, "", Some(GraphVerdict::Approve), &["src/c.rs"]);
    let error = graph.record_pull_request(&repo(), &refused).await.unwrap_err();
    assert!(shown(&error).contains("Neo.ClientError.Schema.ConstraintValidationFailed"), "{error}");
    graph.probe().await.unwrap();
    let listed = graph.files(&repo()).await.unwrap();
    assert_eq!(listed.len(), 1, "a transient refusal is retried");
    drop(graph);
    stub.finish().await;
}

#[tokio::test]
async fn after_neo4j_goes_away_a_call_fails_fast_and_the_next_one_reconnects() {
    let stub = BoltStub::start(&[HELLO, HEALTH]);
    let graph = graph_on(&stub, Chunks::default()).await;
    graph.probe().await.unwrap();
    let port = stub.port();
    stub.drop_connections();
    stub.finish().await;

    let started = Instant::now();
    let error = graph.files(&repo()).await.unwrap_err();
    assert!(matches!(error, GraphError::Unavailable(_)), "{error:?}");
    assert!(graph.probe().await.is_err(), "unhealthy while Neo4j is away");
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());

    let restarted = BoltStub::start_on(port, &[HELLO, HEALTH]);
    graph.probe().await.unwrap();
    drop(graph);
    restarted.finish().await;
}

#[tokio::test]
async fn a_neo4j_that_never_answers_times_out_instead_of_hanging() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let uri = format!("bolt://{}", listener.local_addr().unwrap());
    let silent = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((connection, _)) = listener.accept().await {
            held.push(connection);
        }
    });
    let mut config = config(uri, Chunks::default());
    config.timeout = Duration::from_millis(300);
    let graph = Neo4jGraph::connect(config).await.unwrap();
    for _ in 0..2 {
        let started = Instant::now();
        let error = graph.files(&repo()).await.unwrap_err();
        assert!(matches!(error, GraphError::Unavailable(_)), "{error:?}");
        assert!(shown(&error).contains("did not answer"), "{error}");
        assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
    }
    silent.abort();
}
