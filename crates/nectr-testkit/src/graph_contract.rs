//! The `CodeGraph` contract: every query over one fixture repository, with the answers every
//! adapter must give (the embedded SQL graph on SQLite and PostgreSQL; Neo4j when available).

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use nectr_domain::RepoFullName;
use nectr_domain::graph::{
    BlastRadius, CodeGraph, FileExpert, FileNode, GraphVerdict, ImportEdge, Language, LinkKind,
    Ownership, PullRequestNode, ScanRecord,
};

/// The fixture repository.
pub fn fixture_repo() -> RepoFullName {
    RepoFullName::parse("acme/shop").expect("valid name")
}

/// Files of the fixture's second scan (the first also had `old.rs`).
pub const FIXTURE_FILES: &[&str] = &[
    "README.md",
    "docs/guide.md",
    "src/a.rs",
    "src/b.rs",
    "src/c.rs",
    "src/d.rs",
    "src/lib.rs",
    "tests/it.rs",
];

/// Imports of the fixture (source, target).
pub const FIXTURE_IMPORTS: &[(&str, &str)] = &[
    ("src/lib.rs", "src/a.rs"),
    ("src/lib.rs", "src/b.rs"),
    ("src/a.rs", "src/c.rs"),
    ("src/b.rs", "src/c.rs"),
    ("src/d.rs", "src/a.rs"),
    ("tests/it.rs", "src/lib.rs"),
];

fn files(paths: &[&str]) -> Vec<FileNode> {
    paths
        .iter()
        .map(|path| FileNode {
            path: (*path).to_owned(),
            language: Language::of_path(path),
            size: path.len() as u64 * 10,
        })
        .collect()
}

fn edges(pairs: &[(&str, &str)]) -> Vec<ImportEdge> {
    pairs
        .iter()
        .map(|(source, target)| ImportEdge {
            source: (*source).to_owned(),
            target: (*target).to_owned(),
        })
        .collect()
}

fn scan(commit: &str, generation: i64, files_indexed: u64) -> ScanRecord {
    ScanRecord {
        commit: commit.to_owned(),
        generation,
        files_indexed,
        edges_indexed: 6,
        scanned_at: Utc.with_ymd_and_hms(2026, 11, 1, 12, 0, 0).single().expect("a date"),
    }
}

fn pull(
    number: u64,
    author: &str,
    verdict: Option<GraphVerdict>,
    paths: &[&str],
) -> PullRequestNode {
    PullRequestNode {
        number,
        title: format!("Change {number}"),
        author: author.to_owned(),
        verdict,
        head_sha: format!("sha{number}"),
        reviewed_at: Utc
            .with_ymd_and_hms(2026, 11, 2, 9, 0, number as u32)
            .single()
            .expect("a date"),
        files: paths.iter().map(|path| (*path).to_owned()).collect(),
        closes: vec![10 + number],
    }
}

fn strings(paths: &[&str]) -> Vec<String> {
    paths.iter().map(|path| (*path).to_owned()).collect()
}

/// Writes the fixture: two scans (the second drops `old.rs`), four reviewed pull requests (one
/// re-reviewed with other files), and another repository's pull request that must not leak.
///
/// # Panics
/// When the graph fails.
pub async fn load_fixture(graph: &dyn CodeGraph) {
    let repo = fixture_repo();
    let mut first = FIXTURE_FILES.to_vec();
    first.push("old.rs");
    graph.upsert_files(&repo, 1, &files(&first)).await.expect("files");
    let mut first_imports = FIXTURE_IMPORTS.to_vec();
    first_imports.push(("old.rs", "src/a.rs"));
    graph.upsert_imports(&repo, 1, &edges(&first_imports)).await.expect("imports");
    assert_eq!(graph.finish_scan(&repo, &scan("c1", 1, 9)).await.expect("scan"), 0);

    graph.upsert_files(&repo, 2, &files(&FIXTURE_FILES[..4])).await.expect("files");
    graph.upsert_files(&repo, 2, &files(&FIXTURE_FILES[4..])).await.expect("files");
    graph.upsert_imports(&repo, 2, &edges(FIXTURE_IMPORTS)).await.expect("imports");
    let removed = graph.finish_scan(&repo, &scan("c2", 2, 8)).await.expect("scan");
    assert_eq!(removed, 1, "old.rs is stale");

    use GraphVerdict::{Approve, RequestChanges};
    let prs = [
        pull(1, "amy", Some(Approve), &["src/a.rs", "src/c.rs"]),
        pull(2, "bob", Some(RequestChanges), &["src/c.rs", "src/b.rs"]),
        pull(3, "amy", Some(Approve), &["src/d.rs"]),
        pull(3, "amy", Some(RequestChanges), &["src/c.rs", "README.md", "src/c.rs"]),
        pull(4, "cat", None, &["src/c.rs"]),
    ];
    for pr in &prs {
        graph.record_pull_request(&repo, pr).await.expect("a pull request");
    }
    let other = RepoFullName::parse("other/shop").expect("valid name");
    graph
        .record_pull_request(&other, &pull(1, "amy", Some(Approve), &["src/c.rs"]))
        .await
        .expect("a pull request");
}

/// Every query of the contract, on the fixture.
///
/// # Panics
/// When an answer differs from the contract's.
pub async fn run_all(graph: Arc<dyn CodeGraph>, adapter: &str) {
    load_fixture(graph.as_ref()).await;
    let repo = fixture_repo();
    let shouting = RepoFullName::parse("ACME/Shop").expect("valid name");

    let record = graph.scan_record(&shouting).await.expect("scan").expect("a scan");
    assert_eq!(
        (record.commit.as_str(), record.generation, record.files_indexed),
        ("c2", 2, 8),
        "{adapter}"
    );

    let related = graph
        .related_pull_requests(&repo, &strings(&["src/c.rs", "src/a.rs"]), Some(3), 5)
        .await
        .expect("related");
    let summary: Vec<(u64, u64, &str)> =
        related.iter().map(|pr| (pr.number, pr.overlap, pr.author.as_str())).collect();
    assert_eq!(summary, vec![(1, 2, "amy"), (2, 1, "bob")], "{adapter}: related");
    assert_eq!(related[1].verdict, Some(GraphVerdict::RequestChanges));
    assert_eq!(related[0].title, "Change 1");
    let with_current = graph
        .related_pull_requests(&repo, &strings(&["README.md"]), None, 5)
        .await
        .expect("related");
    assert_eq!(with_current.iter().map(|pr| pr.number).collect::<Vec<_>>(), vec![3], "{adapter}");
    assert!(graph.related_pull_requests(&repo, &[], None, 5).await.expect("related").is_empty());

    let experts = graph.file_experts(&repo, &strings(&["src/c.rs"]), 5).await.expect("experts");
    let expected: Vec<FileExpert> = [("amy", 2), ("bob", 1), ("cat", 1)]
        .iter()
        .map(|(login, touches)| FileExpert { login: (*login).to_owned(), touches: *touches })
        .collect();
    assert_eq!(experts, expected, "{adapter}: experts");

    let radius = graph.dependents(&repo, &strings(&["src/c.rs"]), 15).await.expect("dependents");
    assert_eq!(
        radius,
        BlastRadius {
            direct: strings(&["src/a.rs", "src/b.rs"]),
            transitive: strings(&["src/d.rs", "src/lib.rs"]),
        },
        "{adapter}: blast radius"
    );
    let radius = graph
        .dependents(&repo, &strings(&["src/a.rs", "src/lib.rs"]), 15)
        .await
        .expect("dependents");
    assert_eq!(
        radius.direct,
        strings(&["src/d.rs", "tests/it.rs"]),
        "{adapter}: no stale importer"
    );
    assert!(radius.transitive.is_empty(), "{adapter}: {radius:?}");

    let hotspots = graph.hotspots(&repo, 10).await.expect("hotspots");
    let summary: Vec<(&str, u64)> = hotspots.iter().map(|f| (f.path.as_str(), f.count)).collect();
    assert_eq!(
        summary,
        vec![("src/c.rs", 4), ("README.md", 1), ("src/a.rs", 1), ("src/b.rs", 1)],
        "{adapter}: hotspots (the re-review left no touch of src/d.rs)"
    );
    assert_eq!(hotspots[0].language, Language::Rust);

    let risky = graph.high_risk_files(&repo, 8).await.expect("high risk");
    let summary: Vec<(&str, u64)> = risky.iter().map(|f| (f.path.as_str(), f.count)).collect();
    assert_eq!(summary, vec![("src/c.rs", 2), ("README.md", 1), ("src/b.rs", 1)], "{adapter}");
    assert_eq!(risky[1].language, Language::Markdown);

    let untouched = graph.untouched_files(&repo, 2).await.expect("untouched");
    assert_eq!(untouched.count, 4, "{adapter}: untouched");
    assert_eq!(
        untouched.sample,
        vec![
            ("docs/guide.md".to_owned(), Language::Markdown),
            ("src/d.rs".to_owned(), Language::Rust)
        ]
    );

    let owners = graph.code_ownership(&repo, 10).await.expect("ownership");
    assert_eq!(
        owners,
        vec![Ownership {
            path: "src/c.rs".to_owned(),
            owner: "amy".to_owned(),
            owner_touches: 2,
            total_touches: 4
        }],
        "{adapter}: ownership"
    );

    let expertise = graph.developer_expertise(&repo, 8).await.expect("expertise");
    let dirs = |pairs: &[(&str, u64)]| -> Vec<(String, u64)> {
        pairs.iter().map(|(dir, n)| ((*dir).to_owned(), *n)).collect()
    };
    let expected = [
        ("amy", 4, dirs(&[("src", 3), ("(root)", 1)])),
        ("bob", 2, dirs(&[("src", 2)])),
        ("cat", 1, dirs(&[("src", 1)])),
    ];
    assert_eq!(expertise.len(), expected.len(), "{adapter}: {expertise:?}");
    for (expert, (login, total, top_dirs)) in expertise.iter().zip(expected) {
        assert_eq!(
            (expert.login.as_str(), expert.total_touches, &expert.top_dirs),
            (login, total, &top_dirs),
            "{adapter}: expertise"
        );
    }

    let listed = graph.files(&repo).await.expect("files");
    let summary: Vec<(&str, u64)> = listed.iter().map(|f| (f.path.as_str(), f.pr_count)).collect();
    assert_eq!(
        summary,
        vec![
            ("README.md", 1),
            ("docs/guide.md", 0),
            ("src/a.rs", 1),
            ("src/b.rs", 1),
            ("src/c.rs", 4),
            ("src/d.rs", 0),
            ("src/lib.rs", 0),
            ("tests/it.rs", 0),
        ],
        "{adapter}: files"
    );
    assert_eq!(listed[2].size, 80);
    assert_eq!(listed[2].language, Language::Rust);

    let drawn = graph.repository_graph(&repo, 3, 10).await.expect("graph");
    let nodes: Vec<&str> = drawn.nodes.iter().map(|node| node.path.as_str()).collect();
    assert_eq!(nodes, vec!["src/c.rs", "README.md", "src/a.rs"], "{adapter}: nodes");
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
        "{adapter}: links only between returned nodes, co-change over import"
    );
    let wide = graph.repository_graph(&repo, 100, 100).await.expect("graph");
    assert_eq!(wide.nodes.len(), 8);
    assert!(wide.links.iter().any(|link| link.kind == LinkKind::Import
        && link.source == "tests/it.rs"
        && link.target == "src/lib.rs"));

    let other = RepoFullName::parse("other/shop").expect("valid name");
    let theirs = graph.file_experts(&other, &strings(&["src/c.rs"]), 5).await.expect("experts");
    assert_eq!(theirs, vec![FileExpert { login: "amy".to_owned(), touches: 1 }], "{adapter}");
    assert!(graph.files(&other).await.expect("files").is_empty(), "{adapter}: no leak");
    assert!(graph.scan_record(&other).await.expect("scan").is_none());
}
