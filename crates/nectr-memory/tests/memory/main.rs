//! The Mem0 adapter against the fake Mem0 server: the shared memory contract, and what is Mem0's
//! own (the wire format, retries, timeouts, refusals, Mem0's own pages, and deletes that check
//! the memory's repository).

#![expect(clippy::unwrap_used, reason = "tests: a failed unwrap is a failed test")]

use std::sync::Arc;
use std::time::{Duration, Instant};

use nectr_domain::RepoFullName;
use nectr_domain::memory::{
    MemoryFilter, MemoryScope, MemoryStore, MemoryStoreError, MemoryType, NewMemory, Provenance,
};
use nectr_memory::{Mem0Config, Mem0Store};
use nectr_testkit::fake_mem0::FakeMem0;
use secrecy::SecretString;

fn store(fake: &FakeMem0, key: &str) -> Mem0Store {
    let config = Mem0Config {
        base_url: fake.base_url.clone(),
        api_key: SecretString::from(key.to_owned()),
        timeout: Duration::from_secs(5),
        retries: 2,
        base_delay: Duration::from_millis(10),
    };
    Mem0Store::new(config).unwrap()
}

fn rule(repo: &str, text: &str) -> NewMemory {
    NewMemory {
        repo: RepoFullName::parse(repo).unwrap(),
        scope: MemoryScope::Project,
        memory_type: MemoryType::ProjectRule,
        content: text.to_owned(),
        provenance: Provenance::Scan,
    }
}

#[tokio::test]
async fn mem0_adapter_honours_the_memory_contract() {
    let fake = FakeMem0::start("m0-test-key");
    nectr_testkit::memory_contract::run_all(Arc::new(store(&fake, "m0-test-key")), "mem0").await;
}

#[tokio::test]
async fn memories_are_added_verbatim_scoped_and_tagged_with_their_repository() {
    let fake = FakeMem0::start("m0-test-key");
    let mem0 = store(&fake, "m0-test-key");
    mem0.add(&rule("octo/app", "Never log tokens.")).await.unwrap();
    let add = fake.requests().into_iter().find(|request| request.method == "POST").unwrap();
    assert_eq!(add.path, "/v1/memories/");
    assert_eq!(add.body["infer"], false);
    assert_eq!(add.body["user_id"], "project");
    assert_eq!(add.body["messages"][0]["content"], "Never log tokens.");
    assert_eq!(add.body["metadata"]["repo"], "octo/app");
    assert_eq!(add.body["metadata"]["memory_type"], "project_rule");
}

#[tokio::test]
async fn a_memory_of_another_repository_is_never_deleted_or_edited() {
    let fake = FakeMem0::start("m0-test-key");
    let mem0 = store(&fake, "m0-test-key");
    let theirs = mem0.add(&rule("other/secret", "Their rule.")).await.unwrap();
    let mine = RepoFullName::parse("octo/app").unwrap();
    assert!(!mem0.delete(&mine, &theirs.id).await.unwrap());
    let edit = Provenance::Scan;
    assert!(mem0.update(&mine, &theirs.id, "Hijacked.", &edit).await.unwrap().is_none());
    assert!(
        fake.requests().iter().all(|request| request.method != "DELETE" && request.method != "PUT")
    );
    assert_eq!(fake.memories().len(), 1);
    assert_eq!(fake.memories()[0]["memory"], "Their rule.");
    let path_trick = nectr_domain::memory::MemoryId::new("../../v2/memories");
    assert!(!mem0.delete(&mine, &path_trick).await.unwrap());
}

#[tokio::test]
async fn server_errors_are_retried_and_then_reported_unavailable() {
    let fake = FakeMem0::start("m0-test-key");
    let mem0 = store(&fake, "m0-test-key");
    fake.fail_next(503);
    fake.fail_next(429);
    mem0.add(&rule("octo/app", "Retried.")).await.unwrap();
    assert_eq!(fake.memories().len(), 1, "stored once after two faults");
    for _ in 0..3 {
        fake.fail_next(502);
    }
    let error = mem0.add(&rule("octo/app", "Gives up.")).await.unwrap_err();
    assert!(matches!(error, MemoryStoreError::Unavailable(_)), "{error:?}");
}

#[tokio::test]
async fn a_refused_key_is_an_error_that_does_not_show_the_key() {
    let fake = FakeMem0::start("m0-test-key");
    let mem0 = store(&fake, "m0-wrong-key");
    let error = mem0.add(&rule("octo/app", "Refused.")).await.unwrap_err();
    assert!(matches!(error, MemoryStoreError::Unexpected(_)), "{error:?}");
    assert!(!format!("{error:?} {error}").contains("m0-wrong-key"));
    assert!(!format!("{mem0:?}").contains("m0-wrong-key"), "the key is redacted in Debug");
}

/// The get-all calls the fake received since `before` requests.
fn pages_read(fake: &FakeMem0, before: usize) -> Vec<String> {
    let requests = fake.requests();
    requests[before..]
        .iter()
        .filter(|request| request.method == "POST" && request.path.starts_with("/v2/memories/?"))
        .map(|request| request.path.clone())
        .collect()
}

#[tokio::test]
async fn a_page_of_a_list_costs_one_or_two_calls_whatever_is_stored() {
    let fake = FakeMem0::start("m0-test-key");
    let mem0 = store(&fake, "m0-test-key");
    let repo = RepoFullName::parse("octo/many").unwrap();
    for index in 0..250 {
        let kind = if index % 5 == 0 { MemoryType::Decision } else { MemoryType::ProjectRule };
        let memory =
            NewMemory { memory_type: kind, ..rule("octo/many", &format!("Memory {index}.")) };
        mem0.add(&memory).await.unwrap();
    }
    mem0.add(&rule("octo/other", "Not theirs.")).await.unwrap();
    let page = |offset, limit| MemoryFilter { offset, limit, ..MemoryFilter::default() };
    let texts = |memories: &[nectr_domain::memory::Memory]| -> Vec<String> {
        memories.iter().map(|memory| memory.content.clone()).collect()
    };

    let before = fake.requests().len();
    let first = mem0.list(&repo, &page(0, 200)).await.unwrap();
    let second = mem0.list(&repo, &page(200, 200)).await.unwrap();
    assert_eq!(pages_read(&fake, before).len(), 2, "one call per aligned page");
    assert_eq!((first.total, second.total), (250, 250));
    assert_eq!((first.memories.len(), second.memories.len()), (200, 50));
    let mut every = texts(&first.memories);
    every.extend(texts(&second.memories));
    let newest_first: Vec<String> =
        (0..250).rev().map(|index| format!("Memory {index}.")).collect();
    assert_eq!(every, newest_first, "Mem0's order, newest first, across its pages");

    let before = fake.requests().len();
    let window = mem0.list(&repo, &page(75, 50)).await.unwrap();
    assert_eq!(
        pages_read(&fake, before),
        ["/v2/memories/?page=2&page_size=50", "/v2/memories/?page=3&page_size=50"],
        "a window across two of Mem0's pages"
    );
    assert_eq!(texts(&window.memories), newest_first[75..125]);
    assert_eq!(window.total, 250);

    let before = fake.requests().len();
    let past = mem0.list(&repo, &page(400, 50)).await.unwrap();
    assert!(past.memories.is_empty());
    assert_eq!(past.total, 250, "past the last page: Mem0's 404, then the count");
    assert_eq!(pages_read(&fake, before).len(), 2);

    let before = fake.requests().len();
    let counts = mem0.count_by_type(&repo).await.unwrap();
    assert_eq!(counts.get(&MemoryType::ProjectRule), Some(&200));
    assert_eq!(counts.get(&MemoryType::Decision), Some(&50));
    assert_eq!(counts.len(), 2, "types without memories are absent");
    let calls = pages_read(&fake, before);
    assert_eq!(calls.len(), MemoryType::ALL.len(), "one call per type: {calls:?}");
    assert!(calls.iter().all(|path| path.ends_with("page=1&page_size=1")));
}

#[tokio::test]
async fn a_stalled_mem0_is_unavailable_within_the_configured_timeout() {
    let fake = FakeMem0::start("m0-test-key");
    let timeout = Duration::from_millis(300);
    let config = Mem0Config {
        base_url: fake.base_url.clone(),
        api_key: SecretString::from("m0-test-key".to_owned()),
        timeout,
        retries: 1,
        base_delay: Duration::from_millis(10),
    };
    let mem0 = Mem0Store::new(config).unwrap();
    fake.stall_next(Duration::from_secs(5));
    fake.stall_next(Duration::from_secs(5));
    let repo = RepoFullName::parse("octo/slow").unwrap();
    let started = Instant::now();
    let error = mem0.list(&repo, &MemoryFilter::default()).await.unwrap_err();
    let waited = started.elapsed();
    assert!(matches!(error, MemoryStoreError::Unavailable(_)), "{error:?}");
    assert!(waited >= timeout * 2, "both attempts waited their timeout: {waited:?}");
    assert!(
        waited < timeout * 2 + Duration::from_secs(1),
        "no longer than two timeouts: {waited:?}"
    );
    // The stalls are spent: Mem0 answers again.
    assert_eq!(mem0.list(&repo, &MemoryFilter::default()).await.unwrap().total, 0);
}
