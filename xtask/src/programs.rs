//! The third-party programs some tests drive, installed from the package registries before the
//! suite runs, into the repository's own folders (never globally):
//! - npm: the official MCP TypeScript SDK and the reference `server-everything`, pinned by
//!   `crates/nectr-testkit/js/package-lock.json`, into its `node_modules/`.
//!
//! Each step is skipped when its installation is already current.

use std::path::Path;
use std::process::Command;

/// Installs what is missing or stale.
pub(crate) fn prepare(root: &Path) -> Result<(), String> {
    npm(&root.join("crates/nectr-testkit/js"))
}

fn npm(directory: &Path) -> Result<(), String> {
    let lock = directory.join("package-lock.json");
    let installed = directory.join("node_modules/.package-lock.json");
    if is_newer_or_same(&installed, &lock) {
        return Ok(());
    }
    eprintln!("$ npm ci (in {})", directory.display());
    let status = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir(directory)
        .status()
        .map_err(|error| format!("cannot run npm (Node.js 20 or later is needed): {error}"))?;
    if status.success() { Ok(()) } else { Err(format!("npm ci failed: {status}")) }
}

/// Whether `made` exists and is at least as new as `source`.
fn is_newer_or_same(made: &Path, source: &Path) -> bool {
    let modified = |path: &Path| std::fs::metadata(path).and_then(|metadata| metadata.modified());
    match (modified(made), modified(source)) {
        (Ok(made), Ok(source)) => made >= source,
        _ => false,
    }
}
