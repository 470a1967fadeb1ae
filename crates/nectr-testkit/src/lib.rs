//! Dev-only test support for Nectr: in-memory fakes of the domain's ports, the shared contract
//! suites every adapter and fake must pass, fresh test databases on SQLite and PostgreSQL,
//! [`spawn_app`] which runs the real application on port 0, and the path to the fixtures.
//!
//! Never a normal dependency of another crate: only `[dev-dependencies]`.

#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test support: a failed expectation is a failed test, with its message"
)]

pub mod api_key_contract;
pub mod app;
pub mod boltstub;
pub mod code_host_contract;
pub mod contract;
pub mod database;
pub mod fake_github;
pub mod fake_mem0;
pub mod fake_model;
pub mod fakes;
pub mod graph_contract;
pub mod memory_contract;
pub mod node;
pub mod programs;
pub mod revoked_sessions_contract;
pub mod runners;

use std::path::PathBuf;
use std::sync::Arc;

pub use app::{
    TestApp, spawn_app, spawn_app_on, spawn_app_reviewing, spawn_app_reviewing_on, spawn_app_with,
    spawn_app_with_runner, test_settings,
};
pub use database::{Engine, TestDatabase};

/// Serves `handler` for every route on a free port of 127.0.0.1, with `state` as app data and
/// bodies up to 64 MB; answers the base URL and the server's handle. For the fake servers.
pub(crate) fn serve_fake<T, F, Args>(
    state: Arc<T>,
    handler: F,
) -> (String, actix_web::dev::ServerHandle)
where
    T: Send + Sync + 'static,
    F: actix_web::Handler<Args> + Clone + Send + 'static,
    Args: actix_web::FromRequest + 'static,
    F::Output: actix_web::Responder + 'static,
{
    use actix_web::{App, HttpServer, web};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    let url = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let shared = web::Data::from(state);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(shared.clone())
            .app_data(web::PayloadConfig::new(64 * 1024 * 1024))
            .default_service(web::to(handler.clone()))
    })
    .workers(1)
    .listen(listener)
    .expect("the fake listens")
    .run();
    let handle = server.handle();
    tokio::spawn(server);
    (url, handle)
}

/// The test fixtures folder, `crates/nectr-testkit/fixtures/` (webhook payloads, the original
/// service's schema and seed, the GitHub App's test keys; its `README.md` says where each comes
/// from).
pub fn fixtures() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures"))
}

/// The throwaway RSA key pair of the tests' GitHub App: (private PEM, public PEM).
pub fn github_app_test_keys() -> (&'static str, &'static str) {
    (
        include_str!("../fixtures/github-app-test-key.pem"),
        include_str!("../fixtures/github-app-test-key.pub.pem"),
    )
}
