//! Dev-only test support for Nectr: in-memory fakes of the domain's ports, the shared contract
//! suites every adapter and fake must pass, fresh test databases on SQLite and PostgreSQL,
//! [`spawn_app`] which runs the real application on port 0, and paths to shared fixtures.
//!
//! Never a normal dependency of another crate: only `[dev-dependencies]`.

#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test support: a failed expectation is a failed test, with its message"
)]

pub mod app;
pub mod code_host_contract;
pub mod contract;
pub mod database;
pub mod fake_github;
pub mod fake_model;
pub mod fakes;
pub mod runners;

use std::path::PathBuf;

pub use app::{
    TestApp, spawn_app, spawn_app_on, spawn_app_reviewing, spawn_app_with, spawn_app_with_runner,
    test_settings,
};
pub use database::{Engine, TestDatabase};

/// The shared fixtures folder (`../shared/fixtures` beside the checkout).
pub fn shared_fixtures() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/fixtures"))
}

/// The throwaway RSA key pair of the tests' GitHub App: (private PEM, public PEM).
pub fn github_app_test_keys() -> (&'static str, &'static str) {
    (
        include_str!("../fixtures/github-app-test-key.pem"),
        include_str!("../fixtures/github-app-test-key.pub.pem"),
    )
}
