//! nectr-graph's integration tests, against real programs on 127.0.0.1 that `cargo xtask test`
//! installs from PyPI: `wire` plays scripted Bolt sessions on boltkit's `boltstub`, and `dialect`
//! runs the adapter's statements on FalkorDB.

#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests: a failed expectation is a failed test, with its message"
)]

mod dialect;
mod wire;
