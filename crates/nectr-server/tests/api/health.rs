//! `/health`, `/health/live` and `/health/ready`, also when the database goes away.

use nectr_testkit::{Engine, TestDatabase, spawn_app, spawn_app_on};
use sea_orm::{ConnectionTrait, Database};
use serde_json::Value;

#[tokio::test]
async fn health_reports_the_originals_fields() {
    let app = spawn_app().await;
    let response = app.get("/health").await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "healthy");
    assert_eq!(body["service"], "Nectr");
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"), "the product's version");
    assert_eq!(body["version"], nectr_server::VERSION);
    assert_ne!(body["version"], "0.0.0");
    assert_eq!(body["environment"], "test");
    assert!(body["uptime_seconds"].as_f64().unwrap() >= 0.0);
    assert_eq!(body["database"], "healthy");
    assert_eq!(body["neo4j"], "not configured");
    assert_eq!(body["context_providers"], serde_json::json!([]), "none configured");
    assert_eq!(app.get("/health/live").await.status(), 200);
    let ready = app.get("/health/ready").await;
    assert_eq!(ready.status(), 200);
    assert_eq!(ready.json::<Value>().await.unwrap()["status"], "ready");
    app.stop().await;
}

#[tokio::test]
async fn health_degrades_and_readiness_fails_when_the_database_is_closed() {
    let app = spawn_app_on(TestDatabase::sqlite(), |_| {}).await;
    app.store.close().await.unwrap();
    let body: Value = app.get("/health").await.json().await.unwrap();
    assert_eq!(body["status"], "degraded");
    assert_eq!(body["database"], "unhealthy");
    let text = body.to_string();
    assert!(!text.to_lowercase().contains("closed"), "no internal error text: {text}");
    let ready = app.get("/health/ready").await;
    assert_eq!(ready.status(), 503);
    let error: Value = ready.json().await.unwrap();
    assert_eq!(error["code"], "database_unavailable");
    assert_eq!(app.get("/health/live").await.status(), 200, "liveness does not depend on it");
}

#[tokio::test]
async fn readiness_follows_a_postgres_server_that_refuses_and_then_accepts_connections() {
    let Some(database) = TestDatabase::postgres().await else { return };
    assert_eq!(database.engine, Engine::Postgres);
    let name = database.postgres_name().unwrap().to_owned();
    let admin = Database::connect(database.postgres_admin_url().unwrap()).await.unwrap();
    let app =
        spawn_app_on(database, |settings| settings.database.acquire_timeout_seconds = 1).await;
    assert_eq!(app.get("/health/ready").await.status(), 200);

    admin
        .execute_unprepared(&format!("ALTER DATABASE {name} WITH ALLOW_CONNECTIONS false"))
        .await
        .unwrap();
    admin
        .execute_unprepared(&format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
        ))
        .await
        .unwrap();
    assert_eq!(app.get("/health/ready").await.status(), 503);
    let body: Value = app.get("/health").await.json().await.unwrap();
    assert_eq!(
        (body["status"].as_str(), body["database"].as_str()),
        (Some("degraded"), Some("unhealthy"))
    );

    admin
        .execute_unprepared(&format!("ALTER DATABASE {name} WITH ALLOW_CONNECTIONS true"))
        .await
        .unwrap();
    assert_eq!(app.get("/health/ready").await.status(), 200, "recovers without a restart");
    let body: Value = app.get("/health").await.json().await.unwrap();
    assert_eq!(body["status"], "healthy");
    app.stop().await;
    admin.close().await.unwrap();
}

/// Neo4j's scripted sessions, from the graph adapter's tests.
mod neo4j_scripts {
    pub(super) const HELLO: &str =
        include_str!("../../../nectr-graph/tests/graph/scripts/hello.script");
    pub(super) const SCHEMA: &str =
        include_str!("../../../nectr-graph/tests/graph/scripts/schema.script");
    pub(super) const RESET: &str =
        include_str!("../../../nectr-graph/tests/graph/scripts/reset.script");
    pub(super) const HEALTH: &str =
        include_str!("../../../nectr-graph/tests/graph/scripts/health.script");
}

#[tokio::test]
async fn with_neo4j_configured_the_schema_is_created_at_start_up_and_health_probes_it() {
    use neo4j_scripts::{HEALTH, HELLO, RESET, SCHEMA};
    let stub = nectr_testkit::boltstub::BoltStub::start(&[HELLO, SCHEMA, RESET, HEALTH]);
    let uri = stub.uri();
    let app = nectr_testkit::spawn_app_with(|settings| {
        settings.graph.neo4j_uri = Some(uri);
        settings.graph.neo4j_password = Some(secrecy::SecretString::from("stub-password"));
        settings.graph.neo4j_timeout_seconds = 5;
    })
    .await;
    let body: Value = app.get("/health").await.json().await.unwrap();
    assert_eq!(
        (body["status"].as_str(), body["neo4j"].as_str()),
        (Some("healthy"), Some("healthy"))
    );

    stub.drop_connections();
    stub.finish().await;
    let body: Value = app.get("/health").await.json().await.unwrap();
    assert_eq!(
        (body["status"].as_str(), body["neo4j"].as_str(), body["database"].as_str()),
        (Some("degraded"), Some("unhealthy"), Some("healthy")),
        "Neo4j went away"
    );
    let text = body.to_string();
    assert!(!text.contains("127.0.0.1"), "no internal error text: {text}");
    assert_eq!(app.get("/health/ready").await.status(), 200, "readiness is the database's");
    app.stop().await;
}

#[tokio::test]
async fn nectr_does_not_start_when_neo4j_refuses_its_schema() {
    use neo4j_scripts::HELLO;
    let refused = include_str!("../../../nectr-graph/tests/graph/scripts/schema_refused.script");
    let stub = nectr_testkit::boltstub::BoltStub::start(&[HELLO, refused]);
    let database = TestDatabase::sqlite();
    let mut settings = nectr_testkit::test_settings(&database.url);
    settings.graph.neo4j_uri = Some(stub.uri());
    settings.graph.neo4j_password = Some(secrecy::SecretString::from("stub-password"));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let error = nectr_server::Application::build_with_listener(&settings, listener)
        .await
        .err()
        .expect("no start without the schema");
    let text = format!("{error:#}");
    assert!(text.contains("cannot create the code graph's schema on Neo4j"), "{text}");
    assert!(text.contains("Neo.ClientError.Security.Forbidden"), "{text}");
    assert!(!text.contains("stub-password"), "{text}");
    stub.finish().await;
}
