//! The shared contract suite of the `MemoryStore` port. It runs against the embedded store on
//! SQLite and PostgreSQL and against the Mem0 adapter talking to the fake Mem0 server, so that
//! every store keeps memories of one repository to that repository, filters and pages for real,
//! searches by the words memories share with the query, and counts hits.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;

use futures_util::future::join_all;

use nectr_domain::memory::contributors::{
    ActivityError, AuthorActivity, ContributorActivity, contributors,
};
use nectr_domain::memory::extraction::upsert_profile;
use nectr_domain::memory::project_map::{MapSection, replace_project_map};
use nectr_domain::memory::retrieval::{MemoryBudget, MemoryRetrieval};
use nectr_domain::memory::{
    MemoryFilter, MemoryId, MemoryScope, MemorySearch, MemoryStore, MemoryStoreError, MemoryType,
    NewMemory, Provenance,
};
use nectr_domain::{RepoFullName, UserId};

/// Runs every scenario on fresh repositories of `store` (each scenario uses names of its own, so
/// a store that already holds memories of other tests is fine).
pub async fn run_all(store: Arc<dyn MemoryStore>, tag: &str) {
    adds_reads_and_keeps_repositories_apart(store.as_ref(), tag).await;
    lists_filter_and_page(store.as_ref(), tag).await;
    search_ranks_by_shared_words(store.as_ref(), tag).await;
    updates_deletes_and_hits(store.as_ref(), tag).await;
    one_profile_per_developer(store.as_ref(), tag).await;
    a_rescan_replaces_the_project_map(store.as_ref(), tag).await;
    review_retrieval_always_has_the_rules(store.clone(), tag).await;
    concurrent_writes_leave_one_profile_and_one_map(store.as_ref(), tag).await;
    more_than_a_page_of_rules_and_contributors(store.clone(), tag).await;
    hits_counted_at_once_are_all_counted(store.as_ref(), tag).await;
}

fn repo(tag: &str, name: &str) -> RepoFullName {
    RepoFullName::parse(&format!("{tag}/{name}")).unwrap()
}

fn new_memory(repo: &RepoFullName, scope: MemoryScope, kind: MemoryType, text: &str) -> NewMemory {
    NewMemory {
        repo: repo.clone(),
        scope,
        memory_type: kind,
        content: text.to_owned(),
        provenance: Provenance::PullRequest { number: 7 },
    }
}

async fn add(store: &dyn MemoryStore, memory: NewMemory) -> MemoryId {
    store.add(&memory).await.unwrap().id
}

/// Stored memories read back as written, and only through their own repository.
pub async fn adds_reads_and_keeps_repositories_apart(store: &dyn MemoryStore, tag: &str) {
    let mine = repo(tag, "apart");
    let theirs = repo(tag, "apart-other");
    let rule = NewMemory {
        provenance: Provenance::User { id: UserId::new(42) },
        ..new_memory(&mine, MemoryScope::Project, MemoryType::ProjectRule, "Never log tokens.")
    };
    let stored = store.add(&rule).await.unwrap();
    assert_eq!(stored.content, "Never log tokens.");
    assert_eq!(stored.memory_type, MemoryType::ProjectRule);
    assert_eq!(stored.scope, MemoryScope::Project);
    assert_eq!(stored.provenance, Provenance::User { id: UserId::new(42) });
    assert_eq!(stored.hits, 0);
    let read = store.get(&mine, &stored.id).await.unwrap().unwrap();
    assert_eq!(read.id, stored.id);
    assert_eq!(read.content, stored.content);
    assert_eq!(read.provenance, stored.provenance);
    let shouting = RepoFullName::parse(&mine.as_str().to_uppercase()).unwrap();
    assert!(store.get(&shouting, &stored.id).await.unwrap().is_some(), "names ignore case");

    assert!(store.get(&theirs, &stored.id).await.unwrap().is_none());
    let edit = Provenance::User { id: UserId::new(1) };
    assert!(store.update(&theirs, &stored.id, "hijacked", &edit).await.unwrap().is_none());
    assert!(!store.delete(&theirs, &stored.id).await.unwrap());
    assert!(store.list(&theirs, &MemoryFilter::default()).await.unwrap().memories.is_empty());
    let search = MemorySearch { query: "tokens".into(), types: vec![], scope: None, limit: 10 };
    assert!(store.search(&theirs, &search).await.unwrap().is_empty());
    assert_eq!(store.get(&mine, &stored.id).await.unwrap().unwrap().content, "Never log tokens.");
    assert!(store.get(&mine, &MemoryId::new("no-such-memory")).await.unwrap().is_none());

    let blank = new_memory(&mine, MemoryScope::Project, MemoryType::ProjectRule, "   ");
    assert!(matches!(store.add(&blank).await, Err(MemoryStoreError::InvalidContent(_))));
}

/// Lists filter by type and scope, newest first, and page with a total.
pub async fn lists_filter_and_page(store: &dyn MemoryStore, tag: &str) {
    let repo = repo(tag, "lists");
    let octo = MemoryScope::developer("Octo");
    for index in 0..5 {
        let text = format!("Decision number {index}.");
        add(store, new_memory(&repo, MemoryScope::Project, MemoryType::Decision, &text)).await;
    }
    add(store, new_memory(&repo, octo.clone(), MemoryType::DeveloperPattern, "Forgets tests."))
        .await;
    add(store, new_memory(&repo, octo.clone(), MemoryType::DeveloperStrength, "Clear names."))
        .await;

    let decisions =
        MemoryFilter { types: vec![MemoryType::Decision], limit: 2, ..Default::default() };
    let first = store.list(&repo, &decisions).await.unwrap();
    assert_eq!(first.total, 5);
    let texts: Vec<&str> = first.memories.iter().map(|memory| memory.content.as_str()).collect();
    assert_eq!(texts, ["Decision number 4.", "Decision number 3."], "newest first");
    let third = MemoryFilter { offset: 4, ..decisions.clone() };
    let last = store.list(&repo, &third).await.unwrap();
    assert_eq!(last.memories.len(), 1);
    assert_eq!(last.memories[0].content, "Decision number 0.");

    let about_octo = MemoryFilter { scope: Some(octo.clone()), ..Default::default() };
    let page = store.list(&repo, &about_octo).await.unwrap();
    assert_eq!(page.total, 2);
    assert!(page.memories.iter().all(|memory| memory.scope == octo));
    let both = MemoryFilter {
        types: vec![MemoryType::DeveloperStrength, MemoryType::Decision],
        ..Default::default()
    };
    assert_eq!(store.list(&repo, &both).await.unwrap().total, 6);
    let counts = store.count_by_type(&repo).await.unwrap();
    assert_eq!(counts.get(&MemoryType::Decision), Some(&5));
    assert_eq!(counts.get(&MemoryType::DeveloperPattern), Some(&1));
    assert_eq!(counts.get(&MemoryType::ProjectRule), None);
}

/// Searches return memories sharing words with the query, best first, within type and scope.
pub async fn search_ranks_by_shared_words(store: &dyn MemoryStore, tag: &str) {
    let repo = repo(tag, "search");
    let best = add(
        store,
        new_memory(
            &repo,
            MemoryScope::Project,
            MemoryType::RiskModule,
            "src/auth/session.rs: session expiry and auth cookies are subtle.",
        ),
    )
    .await;
    let weaker = add(
        store,
        new_memory(
            &repo,
            MemoryScope::Project,
            MemoryType::ProjectPattern,
            "Handlers log auth failures.",
        ),
    )
    .await;
    add(store, new_memory(&repo, MemoryScope::Project, MemoryType::Decision, "We chose SQLite."))
        .await;
    add(
        store,
        new_memory(
            &repo,
            MemoryScope::developer("octo"),
            MemoryType::DeveloperPattern,
            "Auth code.",
        ),
    )
    .await;

    let query = MemorySearch {
        query: "crates/api/src/auth/session.rs".into(),
        types: vec![],
        scope: Some(MemoryScope::Project),
        limit: 10,
    };
    let found = store.search(&repo, &query).await.unwrap();
    let ids: Vec<&MemoryId> = found.iter().map(|memory| &memory.id).collect();
    assert_eq!(ids, [&best, &weaker], "best first, unrelated and other scopes left out");
    let patterns = MemorySearch { types: vec![MemoryType::ProjectPattern], ..query.clone() };
    let found = store.search(&repo, &patterns).await.unwrap();
    assert_eq!(found.iter().map(|memory| &memory.id).collect::<Vec<_>>(), [&weaker]);
    let nothing = MemorySearch { query: "kubernetes helm".into(), ..query.clone() };
    assert!(store.search(&repo, &nothing).await.unwrap().is_empty());
    let punctuation = MemorySearch { query: "\"*) OR (' -- :".into(), ..query };
    assert!(store.search(&repo, &punctuation).await.unwrap().is_empty());
}

/// Updates replace content (and what searches find), deletes remove, hits count.
pub async fn updates_deletes_and_hits(store: &dyn MemoryStore, tag: &str) {
    let repo = repo(tag, "changes");
    let id = add(
        store,
        new_memory(
            &repo,
            MemoryScope::Project,
            MemoryType::ProjectRule,
            "Prefer tracing to println.",
        ),
    )
    .await;
    let other = add(
        store,
        new_memory(&repo, MemoryScope::Project, MemoryType::ProjectRule, "Keep functions short."),
    )
    .await;
    let editor = Provenance::User { id: UserId::new(9) };
    let updated = store.update(&repo, &id, "Prefer anyhow in binaries.", &editor).await.unwrap();
    let updated = updated.unwrap();
    assert_eq!(updated.content, "Prefer anyhow in binaries.");
    assert_eq!(updated.provenance, editor);
    assert!(updated.updated_at >= updated.created_at);
    assert!(matches!(
        store.update(&repo, &id, "", &editor).await,
        Err(MemoryStoreError::InvalidContent(_))
    ));
    let search =
        |query: &str| MemorySearch { query: query.into(), types: vec![], scope: None, limit: 5 };
    assert!(store.search(&repo, &search("println")).await.unwrap().is_empty());
    assert_eq!(store.search(&repo, &search("anyhow")).await.unwrap().len(), 1);

    store.record_hits(&repo, std::slice::from_ref(&id)).await.unwrap();
    store.record_hits(&repo, &[id.clone(), other.clone()]).await.unwrap();
    store.record_hits(&self::repo(tag, "changes-other"), std::slice::from_ref(&id)).await.unwrap();
    let hit = store.get(&repo, &id).await.unwrap().unwrap();
    assert_eq!(hit.hits, 2);
    assert!(hit.last_hit_at.is_some());
    assert_eq!(store.get(&repo, &other).await.unwrap().unwrap().hits, 1);

    assert!(store.delete(&repo, &id).await.unwrap());
    assert!(!store.delete(&repo, &id).await.unwrap(), "deleted once");
    assert!(store.get(&repo, &id).await.unwrap().is_none());
    assert!(store.search(&repo, &search("anyhow")).await.unwrap().is_empty());
}

/// A developer keeps exactly one contributor profile, updated in place.
pub async fn one_profile_per_developer(store: &dyn MemoryStore, tag: &str) {
    let repo = repo(tag, "profiles");
    let octo = MemoryScope::developer("octo");
    let first = Provenance::PullRequest { number: 1 };
    let second = Provenance::PullRequest { number: 2 };
    upsert_profile(store, &repo, &octo, "Writes Rust; small pull requests.", &first).await.unwrap();
    upsert_profile(store, &repo, &octo, "Writes Rust and SQL; adds tests.", &second).await.unwrap();
    let other = MemoryScope::developer("hubot");
    upsert_profile(store, &repo, &other, "Bumps dependencies.", &first).await.unwrap();
    let filter = MemoryFilter {
        types: vec![MemoryType::ContributorProfile],
        scope: Some(octo),
        ..Default::default()
    };
    let profiles = store.list(&repo, &filter).await.unwrap();
    assert_eq!(profiles.total, 1);
    assert_eq!(profiles.memories[0].content, "Writes Rust and SQL; adds tests.");
    assert_eq!(profiles.memories[0].provenance, second);
}

/// A review is given every project rule, whether or not it is relevant, plus the relevant
/// memories about the project and the author.
pub async fn review_retrieval_always_has_the_rules(store: Arc<dyn MemoryStore>, tag: &str) {
    let repo = repo(tag, "retrieval");
    let rules = [
        add(
            store.as_ref(),
            new_memory(&repo, MemoryScope::Project, MemoryType::ProjectRule, "Money is i64 cents."),
        )
        .await,
        add(
            store.as_ref(),
            new_memory(
                &repo,
                MemoryScope::Project,
                MemoryType::ProjectRule,
                "No panics in handlers.",
            ),
        )
        .await,
    ];
    let risk = add(
        store.as_ref(),
        new_memory(
            &repo,
            MemoryScope::Project,
            MemoryType::RiskModule,
            "billing invoices round twice.",
        ),
    )
    .await;
    add(
        store.as_ref(),
        new_memory(&repo, MemoryScope::Project, MemoryType::Decision, "Docs in mdbook."),
    )
    .await;
    let octo = MemoryScope::developer("Octo");
    let profile = Provenance::PullRequest { number: 3 };
    upsert_profile(store.as_ref(), &repo, &octo, "Knows billing well.", &profile).await.unwrap();
    let habit = add(
        store.as_ref(),
        new_memory(&repo, octo.clone(), MemoryType::DeveloperPattern, "Skips invoices tests."),
    )
    .await;
    add(
        store.as_ref(),
        new_memory(
            &repo,
            MemoryScope::developer("hubot"),
            MemoryType::DeveloperPattern,
            "invoices",
        ),
    )
    .await;

    let retrieval = MemoryRetrieval::new(store.clone(), MemoryBudget::default());
    let paths = vec!["src/billing/invoices.rs".to_owned()];
    let memories = retrieval.for_review(&repo, &paths, "octo").await.unwrap();
    let ids = |list: &[nectr_domain::memory::Memory]| -> Vec<MemoryId> {
        list.iter().map(|memory| memory.id.clone()).collect()
    };
    assert_eq!(ids(&memories.rules), rules.to_vec(), "every rule, oldest first");
    assert_eq!(ids(&memories.project), [risk]);
    assert_eq!(memories.developer.len(), 2);
    assert_eq!(memories.developer[0].content, "Knows billing well.", "the profile first");
    assert_eq!(memories.developer[1].id, habit);
}

/// Storing a new project map removes the old one, whatever its size.
pub async fn a_rescan_replaces_the_project_map(store: &dyn MemoryStore, tag: &str) {
    let repo = repo(tag, "map");
    let section =
        |title: &str, content: &str| MapSection { title: title.into(), content: content.into() };
    let first: Vec<MapSection> =
        (0..5).map(|index| section("Structure", &format!("{index} files."))).collect();
    replace_project_map(store, &repo, &first).await.unwrap();
    let rule =
        add(store, new_memory(&repo, MemoryScope::Project, MemoryType::ProjectRule, "Keep it."))
            .await;
    let second = [section("Overview", "A shop."), section("Stack", "Rust.")];
    replace_project_map(store, &repo, &second).await.unwrap();
    let maps = MemoryFilter { types: vec![MemoryType::ProjectMap], ..Default::default() };
    let page = store.list(&repo, &maps).await.unwrap();
    let mut texts: Vec<String> =
        page.memories.iter().map(|memory| memory.content.clone()).collect();
    texts.sort();
    assert_eq!(texts, ["Overview: A shop.", "Stack: Rust."]);
    assert!(page.memories.iter().all(|memory| memory.provenance == Provenance::Scan));
    assert!(store.get(&repo, &rule).await.unwrap().is_some(), "other memories stay");
}

/// Writes at once: reviews by one author finishing together leave one contributor profile,
/// and rescans racing each other leave one project map (all of it from one scan).
pub async fn concurrent_writes_leave_one_profile_and_one_map(store: &dyn MemoryStore, tag: &str) {
    let repo = repo(tag, "concurrent");
    let octo = MemoryScope::developer("octo");
    let upserts = (1..=8_u64).map(|number| {
        let (repo, octo) = (&repo, &octo);
        async move {
            let provenance = Provenance::PullRequest { number };
            upsert_profile(store, repo, octo, &format!("Profile after #{number}."), &provenance)
                .await
        }
    });
    for outcome in join_all(upserts).await {
        outcome.unwrap();
    }
    let profiles = MemoryFilter {
        types: vec![MemoryType::ContributorProfile],
        scope: Some(octo.clone()),
        ..Default::default()
    };
    let page = store.list(&repo, &profiles).await.unwrap();
    assert_eq!(page.total, 1, "one profile after concurrent upserts");
    assert!(page.memories[0].content.starts_with("Profile after #"));

    let scans = (0..4).map(|scan| {
        let sections = [
            MapSection { title: "Stack".into(), content: format!("Rust, scan {scan}.") },
            MapSection { title: "Commands".into(), content: format!("cargo test, scan {scan}.") },
        ];
        let repo = &repo;
        async move { replace_project_map(store, repo, &sections).await }
    });
    for outcome in join_all(scans).await {
        outcome.unwrap();
    }
    let maps = MemoryFilter { types: vec![MemoryType::ProjectMap], ..Default::default() };
    let map = store.list(&repo, &maps).await.unwrap();
    assert_eq!(map.total, 2, "one map of two sections after concurrent rescans");
    let scan_of = |content: &str| content.rsplit(", scan ").next().map(str::to_owned);
    assert_eq!(scan_of(&map.memories[0].content), scan_of(&map.memories[1].content));
}

/// No review records: the team view then comes from memory alone.
struct NoActivity;

#[async_trait]
impl ContributorActivity for NoActivity {
    async fn activity_by_author(
        &self,
        _repo: &RepoFullName,
    ) -> Result<BTreeMap<String, AuthorActivity>, ActivityError> {
        Ok(BTreeMap::new())
    }
}

/// More memories than one page ([`nectr_domain::memory::MAX_PAGE`]): a review is given every
/// project rule the budget holds and told how many it could not hold, and the team view shows
/// every developer.
pub async fn more_than_a_page_of_rules_and_contributors(store: Arc<dyn MemoryStore>, tag: &str) {
    const MANY: usize = 205;
    let repo = repo(tag, "many");
    let mut rules = Vec::new();
    for index in 0..MANY {
        let text = format!("Rule {index:03}.");
        let rule = new_memory(&repo, MemoryScope::Project, MemoryType::ProjectRule, &text);
        rules.push(add(store.as_ref(), rule).await);
        let developer = MemoryScope::developer(&format!("dev{index:03}"));
        let profile = new_memory(&repo, developer, MemoryType::ContributorProfile, "Writes Go.");
        add(store.as_ref(), profile).await;
    }
    let roomy = MemoryBudget { chars: 1_000_000, ..MemoryBudget::default() };
    let every = MemoryRetrieval::new(store.clone(), roomy).for_paths(&repo, &[]).await.unwrap();
    let mut given: Vec<MemoryId> = every.rules.iter().map(|rule| rule.id.clone()).collect();
    given.sort();
    rules.sort();
    assert_eq!(given, rules, "every rule, past the first page too");

    // A budget the rules alone exceed cuts no rule, and leaves no room for anything else.
    let tight = MemoryBudget { chars: 95, ..MemoryBudget::default() };
    let cut = MemoryRetrieval::new(store.clone(), tight).for_paths(&repo, &[]).await.unwrap();
    assert_eq!((cut.rules.len(), cut.project.len()), (MANY, 0), "rules are never cut");

    let activity: Arc<dyn ContributorActivity> = Arc::new(NoActivity);
    let team = contributors(&store, &activity, &repo).await.unwrap();
    assert_eq!(team.len(), MANY, "every developer, past the first page too");
    assert!(team.iter().all(|person| person.profile_summary == "Writes Go."));
}

/// Reviews counting a memory's hit at the same time each count one.
pub async fn hits_counted_at_once_are_all_counted(store: &dyn MemoryStore, tag: &str) {
    let repo = repo(tag, "hits-at-once");
    let rule = new_memory(&repo, MemoryScope::Project, MemoryType::ProjectRule, "Counted.");
    let rule = add(store, rule).await;
    let reviews = (0..6).map(|_| store.record_hits(&repo, std::slice::from_ref(&rule)));
    for outcome in join_all(reviews).await {
        outcome.unwrap();
    }
    assert_eq!(store.get(&repo, &rule).await.unwrap().unwrap().hits, 6, "no hit is lost");
}
