//! Errors are JSON with a stable code, routes answer with and without a trailing slash, request
//! ids are echoed, and CORS allows the dashboard.

use nectr_testkit::spawn_app;
use serde_json::Value;

#[tokio::test]
async fn unknown_routes_and_methods_answer_json_errors() {
    let app = spawn_app().await;
    let response = app.get("/no/such/route").await;
    assert_eq!(response.status(), 404);
    assert_eq!(response.headers()["content-type"], "application/json");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], "not_found");
    assert!(body["detail"].as_str().unwrap().contains("/no/such/route"));

    let response = app.client.delete(app.url("/health")).send().await.unwrap();
    assert_eq!(response.status(), 405);
    assert_eq!(response.json::<Value>().await.unwrap()["code"], "method_not_allowed");
    app.stop().await;
}

#[tokio::test]
async fn routes_answer_with_and_without_a_trailing_slash() {
    let app = spawn_app().await;
    for path in ["/health", "/health/", "/health/ready/", "/health/live/"] {
        assert_eq!(app.get(path).await.status(), 200, "{path}");
    }
    app.stop().await;
}

#[tokio::test]
async fn request_ids_are_echoed_or_generated() {
    let app = spawn_app().await;
    let echoed = app
        .client
        .get(app.url("/health/live"))
        .header("X-Request-Id", "abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(echoed.headers()["x-request-id"], "abc-123");
    let generated = app.get("/health/live").await;
    let id = generated.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(id.len(), 36, "a UUID: {id}");
    let unusable =
        app.client.get(app.url("/health/live")).header("X-Request-Id", "a b").send().await.unwrap();
    assert_ne!(unusable.headers()["x-request-id"], "a b");
    app.stop().await;
}

#[tokio::test]
async fn cors_allows_the_dashboard_origins_with_credentials() {
    let app = spawn_app_with_frontend("https://dashboard.example").await;
    for origin in ["https://dashboard.example", "http://localhost:3000", "http://localhost:5173"] {
        let preflight = app
            .client
            .request(reqwest::Method::OPTIONS, app.url("/health"))
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "POST")
            .header("Access-Control-Request-Headers", "content-type")
            .send()
            .await
            .unwrap();
        assert_eq!(preflight.status(), 200, "{origin}");
        assert_eq!(preflight.headers()["access-control-allow-origin"], origin);
        assert_eq!(preflight.headers()["access-control-allow-credentials"], "true");
    }
    let foreign = app
        .client
        .get(app.url("/health"))
        .header("Origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert!(foreign.headers().get("access-control-allow-origin").is_none());
    app.stop().await;
}

async fn spawn_app_with_frontend(frontend: &str) -> nectr_testkit::TestApp {
    let frontend = frontend.to_owned();
    nectr_testkit::spawn_app_with(move |settings| settings.application.frontend_url = frontend)
        .await
}
