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
