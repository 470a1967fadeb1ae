//! The in-memory fakes pass the same contract suites as the SQL adapter.

use std::sync::Arc;

use nectr_testkit::contract::{Stores, run_all};
use nectr_testkit::fakes::InMemoryStore;

#[tokio::test]
async fn in_memory_store_honours_every_storage_contract() {
    run_all(&Stores::of(Arc::new(InMemoryStore::default()))).await;
}
