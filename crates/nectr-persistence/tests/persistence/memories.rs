//! The embedded memory's search, beyond the shared contract: one repository's search never
//! returns, nor ranks among its best, another repository's memories (on SQLite the full-text
//! index itself narrows to the repository), and memories stored before that index existed are
//! found after the migration that builds it.

use nectr_domain::RepoFullName;
use nectr_domain::memory::{
    MemoryId, MemoryScope, MemorySearch, MemoryStore, MemoryType, NewMemory, Provenance,
};
use nectr_persistence::SeaOrmStore;
use nectr_testkit::{Engine, TestDatabase};
use sea_orm::{ConnectionTrait, Database, Statement};

fn repo(name: &str) -> RepoFullName {
    RepoFullName::parse(name).unwrap()
}

async fn add(
    store: &SeaOrmStore,
    repo: &RepoFullName,
    scope: MemoryScope,
    kind: MemoryType,
    text: &str,
) -> MemoryId {
    let memory = NewMemory {
        repo: repo.clone(),
        scope,
        memory_type: kind,
        content: text.to_owned(),
        provenance: Provenance::PullRequest { number: 3 },
    };
    store.add(&memory).await.unwrap().id
}

fn search(query: &str, types: Vec<MemoryType>, scope: Option<MemoryScope>) -> MemorySearch {
    MemorySearch { query: query.to_owned(), types, scope, limit: 2 }
}

/// The ids a search finds, in order.
async fn found(store: &SeaOrmStore, repo: &RepoFullName, search: &MemorySearch) -> Vec<MemoryId> {
    let memories = store.search(repo, search).await.unwrap();
    memories.into_iter().map(|memory| memory.id).collect()
}

/// The repository tag of the SQLite index (migration `m0019_memory_search_tags`).
fn repository_tag(repo_key: &str) -> String {
    let hexadecimal: String = repo_key.bytes().map(|byte| format!("{byte:02x}")).collect();
    format!("r{hexadecimal}")
}

/// Runs a query on SQLite's full-text index directly: the row ids it yields.
async fn index_rows(database: &TestDatabase, query: &str) -> Vec<i64> {
    let connection = Database::connect(&database.url).await.unwrap();
    let statement = Statement::from_sql_and_values(
        connection.get_database_backend(),
        "SELECT rowid FROM memories_fts WHERE memories_fts MATCH ? ORDER BY rowid",
        [query.into()],
    );
    let rows = connection.query_all_raw(statement).await.unwrap();
    connection.close().await.unwrap();
    rows.iter().map(|row| row.try_get::<i64>("", "rowid").unwrap()).collect()
}

/// Checks that SQLite's external-content index agrees with `memories`.
async fn index_is_consistent(database: &TestDatabase) {
    database
        .execute_script("INSERT INTO memories_fts (memories_fts) VALUES ('integrity-check')")
        .await;
}

#[tokio::test]
async fn a_search_in_one_repository_never_returns_or_ranks_another_repositorys_memories() {
    for database in TestDatabase::every_engine().await {
        let store = database.migrated_store().await;
        // The other repository's key starts with this one's, and so does its tag.
        let mine = repo("tenant-org/app");
        let theirs = repo("tenant-org/app-two");
        let project = || MemoryScope::Project;
        let decision = MemoryType::Decision;
        // Of equal length, so the number of `billing`s alone orders them.
        let thrice =
            add(&store, &mine, project(), decision, "billing billing billing retries").await;
        let twice =
            add(&store, &mine, project(), decision, "billing billing retries retries").await;
        let once = add(&store, &mine, project(), decision, "billing retries retries retries").await;
        let octo = MemoryScope::developer("octo");
        let pattern = MemoryType::DeveloperPattern;
        let developer =
            add(&store, &mine, octo.clone(), pattern, "billing billing billing tests").await;
        let searches = [
            search("billing", vec![], None),
            search("billing", vec![], Some(project())),
            search("billing", vec![decision], None),
            search("billing", vec![decision, MemoryType::RiskModule], Some(project())),
            search("billing", vec![pattern], Some(octo.clone())),
        ];
        let mut alone = Vec::new();
        for query in &searches {
            alone.push(found(&store, &mine, query).await);
        }
        assert_eq!(alone[1], [thrice.clone(), twice.clone()], "{:?}", database.engine);
        assert_eq!(alone[3], [thrice.clone(), twice.clone()]);
        assert_eq!(alone[4], std::slice::from_ref(&developer));

        // The other repository: many memories that match better (shorter, the word alone) in
        // the same scopes and types, and copies of this repository's.
        let mut theirs_ids = Vec::new();
        for _ in 0..40 {
            theirs_ids.push(add(&store, &theirs, project(), decision, "billing").await);
            theirs_ids.push(add(&store, &theirs, octo.clone(), pattern, "billing").await);
        }
        for text in ["billing billing billing retries", "billing billing retries retries"] {
            theirs_ids.push(add(&store, &theirs, project(), decision, text).await);
        }
        for (query, before) in searches.iter().zip(&alone) {
            let now = found(&store, &mine, query).await;
            assert_eq!(&now, before, "{:?}: {query:?}", database.engine);
            assert!(now.iter().all(|id| !theirs_ids.contains(id)));
        }
        let shouting = repo("Tenant-Org/App");
        assert_eq!(found(&store, &shouting, &searches[1]).await, alone[1], "names ignore case");
        let theirs_found = found(&store, &theirs, &searches[0]).await;
        assert_eq!(theirs_found.len(), 2);
        assert!(theirs_found.iter().all(|id| theirs_ids.contains(id)), "{theirs_found:?}");
        assert!(found(&store, &repo("tenant-org/ap"), &searches[0]).await.is_empty());
        // A word that spells a repository's tag finds nothing: words match content only.
        let tag = repository_tag("tenant-org/app");
        assert!(found(&store, &mine, &search(&tag, vec![], None)).await.is_empty());

        if database.engine == Engine::Sqlite {
            // What FTS5 hands to bm25 for this repository: its own matches, none of theirs.
            let query = format!("search_tags : \"{tag}\" AND content : \"billing\"");
            let mut expected: Vec<i64> = [&thrice, &twice, &once, &developer]
                .iter()
                .map(|id| id.as_str().parse().unwrap())
                .collect();
            expected.sort_unstable();
            assert_eq!(index_rows(&database, &query).await, expected);
            index_is_consistent(&database).await;
        }
        store.close().await.unwrap();
    }
}

#[tokio::test]
async fn memories_stored_before_the_search_tags_are_found_after_the_migration() {
    for database in TestDatabase::every_engine().await {
        let connection = Database::connect(&database.url).await.unwrap();
        nectr_migrations::run_first(&connection, 18).await.unwrap();
        connection.close().await.unwrap();
        let store = database.store().await;
        assert_eq!(store.pending_migrations().await.unwrap(), ["m0019_memory_search_tags"]);
        let mine = repo("upgrade-org/api");
        let theirs = repo("upgrade-org/web");
        let (project, decision) = (MemoryScope::Project, MemoryType::Decision);
        let text = "Webhook retries back off exponentially.";
        let rule = add(&store, &mine, project.clone(), decision, text).await;
        let other = add(&store, &theirs, project.clone(), decision, text).await;
        let octo = MemoryScope::developer("octo");
        let pattern = MemoryType::DeveloperPattern;
        let habit = add(&store, &mine, octo.clone(), pattern, "octo retries webhooks").await;

        store.migrate().await.unwrap();
        assert!(store.pending_migrations().await.unwrap().is_empty());
        let mut everything = found(&store, &mine, &search("webhook retries", vec![], None)).await;
        everything.sort_by_key(|id| id.as_str().parse::<i64>().unwrap());
        assert_eq!(everything, [rule.clone(), habit.clone()], "{:?}", database.engine);
        let in_project = search("retries", vec![], Some(project.clone()));
        assert_eq!(found(&store, &mine, &in_project).await, std::slice::from_ref(&rule));
        let habits = search("retries", vec![pattern], Some(octo.clone()));
        assert_eq!(found(&store, &mine, &habits).await, std::slice::from_ref(&habit));
        assert_eq!(found(&store, &theirs, &in_project).await, [other]);

        // The rebuilt index follows edits and deletions.
        let edit = Provenance::User { id: nectr_domain::UserId::new(1) };
        let edited = "Deliveries are idempotent.";
        store.update(&mine, &rule, edited, &edit).await.unwrap().unwrap();
        assert!(found(&store, &mine, &in_project).await.is_empty());
        let idempotent = search("idempotent", vec![decision], Some(project.clone()));
        assert_eq!(found(&store, &mine, &idempotent).await, [rule]);
        assert!(store.delete(&mine, &habit).await.unwrap());
        assert!(found(&store, &mine, &habits).await.is_empty());
        if database.engine == Engine::Sqlite {
            index_is_consistent(&database).await;
        }
        store.close().await.unwrap();
    }
}
