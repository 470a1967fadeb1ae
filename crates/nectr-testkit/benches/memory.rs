//! Retrieving one review's memories from 10,000 stored ones in the embedded store, on SQLite and
//! on PostgreSQL (when `TEST_DATABASE_URL` is set): every project rule, the project memories
//! relevant to the 20 changed files, the author's profile and memories (`MemoryRetrieval::
//! for_review`, criterion). The memories are 10,000 of one repository (20 rules, the rest spread
//! over the other seven types and 50 developers), stored through the store's own `add`, and
//! 10,000 more of another repository, which the retrieval must skip; on PostgreSQL the table is
//! then analysed, as autovacuum does on a live database. `cargo xtask bench memory`.

#![expect(clippy::unwrap_used, reason = "a benchmark's set-up either works or stops")]
#![expect(clippy::print_stdout, reason = "the set-up figures are this benchmark's output")]

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::Criterion;
use futures_util::StreamExt as _;
use nectr_domain::RepoFullName;
use nectr_domain::memory::retrieval::{MemoryBudget, MemoryRetrieval};
use nectr_domain::memory::{MemoryScope, MemoryStore, MemoryType, NewMemory, Provenance};
use nectr_testkit::TestDatabase;

const MEMORIES: u32 = 10_000;
const RULES: u32 = 20;

const WORDS: [&str; 12] = [
    "caching",
    "retries",
    "errors",
    "sessions",
    "billing",
    "queries",
    "parsing",
    "logging",
    "timeouts",
    "migrations",
    "webhooks",
    "tests",
];

fn memory(repo: &RepoFullName, index: u32) -> NewMemory {
    let kinds = [
        MemoryType::ProjectPattern,
        MemoryType::Decision,
        MemoryType::RiskModule,
        MemoryType::ProjectMap,
        MemoryType::DeveloperPattern,
        MemoryType::DeveloperStrength,
        MemoryType::ContributorProfile,
    ];
    let kind = match index < RULES {
        true => MemoryType::ProjectRule,
        false => kinds[(index % 7) as usize],
    };
    let scope = match kind.is_developer_scoped() {
        true => MemoryScope::developer(&format!("dev{}", index % 50)),
        false => MemoryScope::Project,
    };
    let word = WORDS[(index % 12) as usize];
    let content = format!(
        "src/service{}/module{}.rs: {word} in handler {} needs care; see pull request {}.",
        index % 40,
        index % 400,
        index % 997,
        index
    );
    NewMemory {
        repo: repo.clone(),
        scope,
        memory_type: kind,
        content,
        provenance: Provenance::PullRequest { number: u64::from(index) },
    }
}

async fn seed(store: Arc<dyn MemoryStore>, repo: &RepoFullName) {
    futures_util::stream::iter(0..MEMORIES)
        .map(|index| {
            let store = store.clone();
            let memory = memory(repo, index);
            async move { store.add(&memory).await.unwrap() }
        })
        .buffer_unordered(16)
        .collect::<Vec<_>>()
        .await;
}

fn changed_paths() -> Vec<String> {
    (0..20).map(|index| format!("src/service{}/module{}.rs", index * 2, index * 20 + 3)).collect()
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let databases = runtime.block_on(TestDatabase::every_engine());
    let mut criterion = Criterion::default().configure_from_args();
    let mut group = criterion.benchmark_group(format!("review memories from {MEMORIES}"));
    group.sample_size(20).measurement_time(Duration::from_secs(4));
    let mut kept = Vec::new();
    for database in databases {
        let engine = format!("{:?}", database.engine);
        let store = runtime.block_on(database.migrated_store());
        let store: Arc<dyn MemoryStore> = Arc::new(store);
        let repo = RepoFullName::parse("bench-org/service").unwrap();
        let other = RepoFullName::parse("bench-org/other").unwrap();
        let started = Instant::now();
        runtime.block_on(seed(store.clone(), &repo));
        runtime.block_on(seed(store.clone(), &other));
        println!("{engine}: stored {} memories in {:.1?}", MEMORIES * 2, started.elapsed());
        if database.engine == nectr_testkit::Engine::Postgres {
            // The statistics autovacuum gathers on a live database within a minute of such a
            // bulk load; without them the planner reads every project memory (see BENCHMARKS.md).
            runtime.block_on(database.execute_script("ANALYZE memories"));
        }
        let retrieval = MemoryRetrieval::new(store.clone(), MemoryBudget::default());
        let paths = changed_paths();
        let sample = runtime.block_on(retrieval.for_review(&repo, &paths, "dev7")).unwrap();
        println!(
            "{engine}: {} rules, {} project and {} developer memories per review",
            sample.rules.len(),
            sample.project.len(),
            sample.developer.len()
        );
        assert_eq!(sample.rules.len(), RULES as usize);
        group.bench_function(format!("for_review on {engine}"), |bencher| {
            bencher
                .to_async(&runtime)
                .iter(|| async { retrieval.for_review(&repo, &paths, "dev7").await.unwrap() });
        });
        kept.push(database);
    }
    group.finish();
    criterion.final_summary();
    drop(kept);
}
