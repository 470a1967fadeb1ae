//! `cargo xtask chaos <scenario>`: fault drills against the real `nectr` binary and real HTTP
//! fakes. It builds the test profile's binaries the way the test suite does (the same features,
//! so after `cargo xtask test` nothing is rebuilt) and runs `nectr-chaos` from `nectr-testkit`.
//!
//! - `kill`: hundreds of pull requests queued on SQLite (and PostgreSQL when
//!   `TEST_DATABASE_URL` is set), the server killed with SIGKILL while it reviews and posts, and
//!   started again; every pull request must end with exactly one review and every job completed.

use std::path::Path;

pub(crate) fn run(root: &Path, scenario: Option<&str>, rest: &[String]) -> Result<(), String> {
    let scenario = match scenario {
        Some("kill") => "kill",
        Some(other) => return Err(format!("unknown chaos scenario {other}: use kill")),
        None => return Err("usage: cargo xtask chaos kill [--pulls N] [--kills K]".to_owned()),
    };
    // `cargo test --no-run` builds every binary with the suite's features (a `cargo build` would
    // resolve them differently and build much of the tree again).
    crate::run("cargo", &["test", "--workspace", "--no-run", "--quiet"])?;
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| root.join("target"), std::path::PathBuf::from)
        .join("debug");
    let nectr = target.join("nectr");
    let drill = target.join("nectr-chaos");
    let mut arguments =
        vec![scenario.to_owned(), "--nectr".to_owned(), nectr.display().to_string()];
    arguments.extend(rest.iter().cloned());
    let arguments: Vec<&str> = arguments.iter().map(String::as_str).collect();
    crate::run(&drill.display().to_string(), &arguments)
}
