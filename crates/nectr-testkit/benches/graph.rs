//! The code graph at scale: a scan of a synthetic 100,000-file repository (Python packages
//! importing each other, 200,000 import edges) from the fake GitHub's gzip tarball through the
//! real GitHub client and the embedded graph, then the blast radius of a 20-file change
//! (criterion), on SQLite and, with `TEST_DATABASE_URL`, on PostgreSQL. The scan's time and the
//! process's peak resident memory during it (the peak is reset just before) are printed.
//! `cargo xtask bench graph`.

#![expect(clippy::unwrap_used, reason = "a benchmark's set-up either works or stops")]
#![expect(clippy::print_stdout, reason = "the scan figures are this benchmark's output")]

use std::sync::Arc;
use std::time::Instant;

use criterion::Criterion;
use nectr_domain::code_host::{CodeHost, Identity};
use nectr_domain::graph::{CodeGraph, GraphScanner, ScanOutcome};
use nectr_domain::{AccessToken, RepoFullName};
use nectr_github::{GitHubConfig, OctocrabHost};
use nectr_testkit::TestDatabase;
use nectr_testkit::fake_github::FakeGitHub;

const TOKEN: &str = "ghp_graphbenchtoken000000000000000000000000";
const PACKAGES: usize = 1_000;
const MODULES: usize = 100;
const REPO: &str = "bench-org/monorepo";

/// Module `m` of package `p` imports its predecessor and the first module of the previous
/// package.
fn module_source(package: usize, module: usize) -> String {
    let previous = (module + MODULES - 1) % MODULES;
    let other = (package + PACKAGES - 1) % PACKAGES;
    format!(
        "\"\"\"Module {module} of package {package}.\"\"\"\nfrom . import m{previous:03}\nfrom pkg{other:04} import m000\n\ndef f{module}(x):\n    return x + {module}\n"
    )
}

fn kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|value| value.parse().ok())
        .unwrap_or(0)
}

async fn scan_on(database: &TestDatabase, fake: &FakeGitHub, criterion: &mut Criterion) {
    let store = Arc::new(database.migrated_store().await);
    let graph: Arc<dyn CodeGraph> = store.clone();
    let mut config = GitHubConfig::default();
    config.api_url.clone_from(&fake.url);
    config.web_url.clone_from(&fake.url);
    let host: Arc<dyn CodeHost> = Arc::new(OctocrabHost::new(config).unwrap());
    let scanner = GraphScanner::new(host, graph.clone());
    let repo = RepoFullName::parse(REPO).unwrap();
    let who = Identity::Token(AccessToken::new(TOKEN));

    // Peak RSS from here on (Linux: writing 5 to clear_refs resets VmHWM).
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let before = kib("VmRSS:");
    let started = Instant::now();
    let outcome = scanner.scan(&who, &repo, &|_| {}).await.unwrap();
    let elapsed = started.elapsed();
    let peak = kib("VmHWM:");
    let ScanOutcome::Scanned { record, .. } = outcome else { panic!("a first scan scans") };
    println!(
        "graph scan ({:?}): {} files, {} edges in {:.1} s; RSS before {} MiB, peak during the scan {} MiB",
        database.engine,
        record.files_indexed,
        record.edges_indexed,
        elapsed.as_secs_f64(),
        before / 1024,
        peak / 1024,
    );

    let changed: Vec<String> =
        (0..20).map(|index| format!("pkg{:04}/m{:03}.py", index * 37, index * 3)).collect();
    let radius = graph.dependents(&repo, &changed, 15).await.unwrap();
    assert!(!radius.direct.is_empty());
    let runtime = tokio::runtime::Handle::current();
    criterion.bench_function(
        &format!("blast radius of 20 files, 100k-file graph ({:?})", database.engine),
        |bench| {
            bench.iter(|| {
                tokio::task::block_in_place(|| {
                    runtime.block_on(graph.dependents(&repo, &changed, 15)).unwrap()
                })
            });
        },
    );
    store.close().await.unwrap();
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let mut criterion = Criterion::default().configure_from_args().sample_size(10);
    runtime.block_on(async {
        let fake = FakeGitHub::start(TOKEN).await;
        {
            let mut state = fake.state();
            let repo = state.repo(REPO);
            for package in 0..PACKAGES {
                for module in 0..MODULES {
                    repo.contents.insert(
                        format!("pkg{package:04}/m{module:03}.py"),
                        module_source(package, module).into_bytes(),
                    );
                }
            }
        }
        let mut databases = vec![TestDatabase::sqlite()];
        databases.extend(TestDatabase::postgres().await);
        for database in &databases {
            scan_on(database, &fake, &mut criterion).await;
        }
    });
    criterion.final_summary();
}
