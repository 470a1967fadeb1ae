//! The agent's memory tools on a real store: `search_project_memory` and
//! `search_developer_memory`, called through the review's `Toolset` as the agent calls them,
//! answer from the embedded store (SQLite and PostgreSQL) with the repository's own memories of
//! the right scope, and say so when nothing matches.

use std::sync::Arc;

use async_trait::async_trait;
use nectr_domain::RepoFullName;
use nectr_domain::memory::extraction::MemoryExtractor;
use nectr_domain::memory::retrieval::{MemoryBudget, MemoryRetrieval};
use nectr_domain::memory::review::ReviewMemory;
use nectr_domain::memory::{MemoryScope, MemoryStore, MemoryType, NewMemory, Provenance};
use nectr_domain::pipeline::{RepositoryLookups, ReviewTools, Toolset};
use nectr_testkit::TestDatabase;

/// Repository lookups the memory tools never reach.
struct NoRepository;

#[async_trait]
impl RepositoryLookups for NoRepository {
    async fn read_file(&self, path: &str) -> Result<String, String> {
        Err(format!("no repository here ({path})"))
    }

    async fn file_history(&self, path: &str) -> Result<String, String> {
        Err(format!("no repository here ({path})"))
    }

    async fn issue(&self, number: u64) -> Result<String, String> {
        Err(format!("no repository here (#{number})"))
    }

    async fn search_open_issues(&self, query: &str) -> Result<String, String> {
        Err(format!("no repository here ({query})"))
    }
}

async fn add(
    store: &dyn MemoryStore,
    repo: &RepoFullName,
    scope: MemoryScope,
    memory_type: MemoryType,
    content: &str,
) {
    let memory = NewMemory {
        repo: repo.clone(),
        scope,
        memory_type,
        content: content.to_owned(),
        provenance: Provenance::PullRequest { number: 7 },
    };
    store.add(&memory).await.unwrap();
}

#[tokio::test]
async fn the_memory_tools_answer_from_the_embedded_store_on_every_engine() {
    for database in TestDatabase::every_engine().await {
        let store: Arc<dyn MemoryStore> = Arc::new(database.migrated_store().await);
        let shop = RepoFullName::parse("octo/shop").unwrap();
        let other = RepoFullName::parse("octo/other").unwrap();
        let carol = MemoryScope::developer("carol");
        let (risk, pattern) = (MemoryType::RiskModule, MemoryType::DeveloperPattern);
        add(store.as_ref(), &shop, MemoryScope::Project, risk, "Invoices are rounded in billing.")
            .await;
        add(store.as_ref(), &shop, carol.clone(), pattern, "Leaves billing cursors open.").await;
        add(store.as_ref(), &shop, MemoryScope::developer("dave"), pattern, "Billing tests.").await;
        add(store.as_ref(), &other, MemoryScope::Project, risk, "Billing of the other repo.").await;

        let retrieval = MemoryRetrieval::new(store.clone(), MemoryBudget::default());
        let memory = ReviewMemory::new(store.clone(), retrieval, MemoryExtractor::new(None, store));
        let tools = Toolset::new(Arc::new(NoRepository)).with_memory(Some(memory.lookups(&shop)));

        let project = tools.search_project_memory("billing invoices").await.unwrap();
        assert_eq!(project, "- [risk_module] Invoices are rounded in billing.\n", "{project}");
        let developer = tools.search_developer_memory("@Carol", "billing cursors").await.unwrap();
        assert_eq!(
            developer, "@Carol memory:\n- [developer_pattern] Leaves billing cursors open.\n",
            "only Carol's, found by her login in any case"
        );
        assert_eq!(
            tools.search_project_memory("kubernetes").await.unwrap(),
            "No relevant project memories found."
        );
        assert_eq!(
            tools.search_developer_memory("erin", "billing").await.unwrap(),
            "No memories found for @erin."
        );
    }
}
