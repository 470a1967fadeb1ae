//! The shared storage contracts on each engine.

use std::sync::Arc;

use nectr_domain::HealthProbe;
use nectr_testkit::TestDatabase;
use nectr_testkit::contract::{Stores, run_all};

#[tokio::test]
async fn sql_store_honours_every_storage_contract_on_every_engine() {
    let databases = TestDatabase::every_engine().await;
    let expected = if nectr_testkit::database::postgres_server_url().is_some() { 2 } else { 1 };
    assert_eq!(databases.len(), expected);
    for database in databases {
        let store = Arc::new(database.migrated_store().await);
        run_all(&Stores::of(store.clone())).await;
        store.probe().await.unwrap();
        store.close().await.unwrap();
        assert!(store.probe().await.is_err(), "{:?}: a closed pool is unhealthy", database.engine);
    }
}

#[tokio::test]
async fn embedded_memory_honours_the_memory_contract_on_every_engine() {
    for database in TestDatabase::every_engine().await {
        let store = Arc::new(database.migrated_store().await);
        nectr_testkit::memory_contract::run_all(store.clone(), "embedded").await;
        store.close().await.unwrap();
    }
}

#[tokio::test]
async fn embedded_graph_honours_the_graph_contract_on_every_engine() {
    for database in TestDatabase::every_engine().await {
        let store = Arc::new(database.migrated_store().await);
        nectr_testkit::graph_contract::run_all(store.clone(), &format!("{:?}", database.engine))
            .await;
        store.close().await.unwrap();
    }
}

#[tokio::test]
async fn sql_api_keys_honour_the_api_key_contract_on_every_engine() {
    for database in TestDatabase::every_engine().await {
        let store = Arc::new(database.migrated_store().await);
        nectr_testkit::api_key_contract::run_all(store.as_ref(), store.as_ref()).await;
        store.close().await.unwrap();
    }
}

#[tokio::test]
async fn sql_revoked_sessions_honour_the_revoked_sessions_contract_on_every_engine() {
    for database in TestDatabase::every_engine().await {
        let store = Arc::new(database.migrated_store().await);
        nectr_testkit::revoked_sessions_contract::run_all(store.as_ref()).await;
        store.close().await.unwrap();
    }
}

#[tokio::test]
async fn a_users_api_keys_go_with_the_user() {
    use nectr_domain::api_keys::ApiKeyStore;
    use nectr_domain::{AccessToken, UserRepository, UserUpsert};
    use secrecy::ExposeSecret;
    for database in TestDatabase::every_engine().await {
        let store = database.migrated_store().await;
        let user = store
            .upsert_by_github_id(UserUpsert {
                github_id: 31,
                github_username: "leaving".to_owned(),
                github_access_token: AccessToken::new("gho_leaving"),
                email: None,
                avatar_url: None,
                name: None,
            })
            .await
            .unwrap();
        let created = store.create(user.id, "soon gone").await.unwrap();
        database.execute_script(&format!("DELETE FROM users WHERE id = {}", user.id)).await;
        let secret = created.secret.expose_secret();
        let engine = database.engine;
        assert!(
            store.authenticate(secret, chrono::Utc::now()).await.unwrap().is_none(),
            "{engine:?}"
        );
        assert!(store.list(user.id).await.unwrap().is_empty(), "{engine:?}");
        store.close().await.unwrap();
    }
}
