//! `cargo xtask`: Nectr's only task runner.
//!
//! - `cargo xtask test`  runs the whole test suite (the README's second command; `.ci/run` runs it)
//! - `cargo xtask ci`    fmt check, clippy with warnings denied, docs, tidy, then the tests
//! - `cargo xtask lint`  fmt check and clippy only
//! - `cargo xtask tidy`  the dependency rules of DESIGN.md and other repository invariants
//! - `cargo xtask db`    starts a local PostgreSQL for development and prints `TEST_DATABASE_URL`
//! - `cargo xtask bench [startup|intake|pipeline]` builds the release binary and measures start-up,
//!   memory and size, webhook intake under load, or one review's overhead
//! - `cargo xtask programs` installs the third-party programs the tests drive (`test` does it too)
//! - `cargo xtask test-neo4j` runs the code graph's contract on the Neo4j of `TEST_NEO4J_URI`
//! - `cargo xtask chaos kill` kills the real server with SIGKILL while it reviews, and checks that
//!   every pull request ends with exactly one review (`.ci/run` runs it)

mod bench;
mod chaos;
mod db;
mod intake;
mod programs;
mod tidy;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

fn main() -> ExitCode {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    let task = arguments.first().map_or("help", String::as_str);
    let rest = arguments.get(1..).unwrap_or_default();
    let outcome = match task {
        "test" => test(rest),
        "ci" => ci(),
        "lint" => lint(),
        "tidy" => tidy::check(&root()).map_err(|problems| problems.join("\n")),
        "db" => db::start(),
        "programs" => programs::prepare(&root()),
        "test-neo4j" => test_neo4j(),
        "bench" => bench::run(&root(), rest.first().map(String::as_str)),
        "chaos" => {
            chaos::run(&root(), rest.first().map(String::as_str), rest.get(1..).unwrap_or_default())
        }
        _ => {
            eprintln!("usage: cargo xtask <test|ci|lint|tidy|db|bench|chaos|programs|test-neo4j>");
            return if task == "help" { ExitCode::SUCCESS } else { ExitCode::FAILURE };
        }
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask {task}: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// Runs a command in the workspace root and fails when it does.
fn run(program: &str, arguments: &[&str]) -> Result<(), String> {
    eprintln!("$ {program} {}", arguments.join(" "));
    let status = Command::new(program)
        .args(arguments)
        .current_dir(root())
        .status()
        .map_err(|error| format!("cannot run {program}: {error}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{program} {} failed: {status}", arguments.join(" ")))
    }
}

fn has_nextest() -> bool {
    Command::new("cargo")
        .args(["nextest", "--version"])
        .output()
        .is_ok_and(|output| output.status.success())
}

/// The whole test suite: nextest when installed, else `cargo test`. PostgreSQL halves run when
/// `TEST_DATABASE_URL` is set (`cargo xtask db` prints one); without it they are skipped, or fail
/// when `NECTR_REQUIRE_POSTGRES` is set (`.ci/run` sets it).
fn test(extra: &[String]) -> Result<(), String> {
    if std::env::var_os("TEST_DATABASE_URL").is_none() {
        eprintln!(
            "note: TEST_DATABASE_URL is not set; PostgreSQL tests are skipped, or fail if \
             NECTR_REQUIRE_POSTGRES is set (see `cargo xtask db`)"
        );
    }
    programs::prepare(&root())?;
    let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
    if has_nextest() {
        let mut arguments = vec!["nextest", "run", "--workspace", "--no-fail-fast"];
        arguments.extend(&extra);
        run("cargo", &arguments)
    } else {
        let mut arguments = vec!["test", "--workspace", "--no-fail-fast"];
        arguments.extend(&extra);
        run("cargo", &arguments)
    }
}

/// The code graph's contract suite on a real Neo4j: `TEST_NEO4J_URI` (with
/// `TEST_NEO4J_USERNAME` and `TEST_NEO4J_PASSWORD`) must name one; it fails without it.
fn test_neo4j() -> Result<(), String> {
    if !std::env::var("TEST_NEO4J_URI").is_ok_and(|uri| !uri.is_empty()) {
        return Err("TEST_NEO4J_URI is not set: start a Neo4j (README: \"The code graph on \
                    Neo4j\") and set TEST_NEO4J_URI, TEST_NEO4J_USERNAME and TEST_NEO4J_PASSWORD"
            .to_owned());
    }
    run("cargo", &["run", "--package", "nectr-graph", "--example", "neo4j_contract"])
}

fn lint() -> Result<(), String> {
    run("cargo", &["fmt", "--all", "--", "--check"])?;
    run("cargo", &["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"])
}

fn ci() -> Result<(), String> {
    lint()?;
    tidy::check(&root()).map_err(|problems| problems.join("\n"))?;
    // SAFETY of the environment: only the child process sees this variable.
    let status = Command::new("cargo")
        .args(["doc", "--workspace", "--no-deps", "--quiet"])
        .env("RUSTDOCFLAGS", "-D warnings")
        .current_dir(root())
        .status()
        .map_err(|error| format!("cannot run cargo doc: {error}"))?;
    if !status.success() {
        return Err("cargo doc reported warnings".to_owned());
    }
    test(&[])
}
