//! The Mem0 adapter against the fake Mem0 server: the shared memory contract, and what is Mem0's
//! own (the wire format, retries, refusals, and deletes that check the memory's repository).

#![expect(clippy::unwrap_used, reason = "tests: a failed unwrap is a failed test")]

use std::sync::Arc;
use std::time::Duration;

use nectr_domain::RepoFullName;
use nectr_domain::memory::{
    MemoryScope, MemoryStore, MemoryStoreError, MemoryType, NewMemory, Provenance,
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
