//! Repository invariants that a machine can check:
//! - the dependency direction of DESIGN.md: `nectr-domain` knows no other Nectr crate and no I/O
//!   crate; adapters and inbound edges know only the domain; only `nectr-server` knows them all;
//!   `nectr-testkit` is never a normal dependency;
//! - every member inherits the workspace lints;
//! - every Rust file opens with a `//!` comment saying what it is for.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

/// The library crates only `nectr-server` (and the dev-only `nectr-testkit`) may use together.
const LIBRARIES: &[&str] = &[
    "nectr-domain",
    "nectr-persistence",
    "nectr-graph",
    "nectr-github",
    "nectr-agents",
    "nectr-memory",
    "nectr-mcp",
    "nectr-api",
    "nectr-migrations",
];

/// Which workspace crates each crate may depend on (normal and build dependencies).
fn allowed_edges() -> BTreeMap<&'static str, Vec<&'static str>> {
    let domain_only = vec!["nectr-domain"];
    let mut testkit = LIBRARIES.to_vec();
    testkit.push("nectr-server");
    BTreeMap::from([
        ("nectr-domain", Vec::new()),
        ("nectr-persistence", vec!["nectr-domain", "nectr-migrations"]),
        ("nectr-graph", domain_only.clone()),
        ("nectr-github", domain_only.clone()),
        ("nectr-agents", domain_only.clone()),
        ("nectr-memory", domain_only.clone()),
        ("nectr-mcp", domain_only.clone()),
        ("nectr-api", domain_only),
        ("nectr-migrations", Vec::new()),
        ("xtask", Vec::new()),
        ("nectr-testkit", testkit),
        ("nectr-server", LIBRARIES.to_vec()),
    ])
}

/// Crates the domain must never use: they do I/O or belong to a framework.
const DOMAIN_FORBIDDEN: &[&str] =
    &["sea-orm", "sqlx", "neo4rs", "octocrab", "actix-web", "reqwest", "tokio", "hyper", "rmcp"];

/// Checks every invariant; answers the list of problems.
pub(crate) fn check(root: &Path) -> Result<(), Vec<String>> {
    let mut problems = Vec::new();
    match metadata(root) {
        Ok(metadata) => check_packages(&metadata, &mut problems),
        Err(error) => problems.push(error),
    }
    check_module_docs(root, &mut problems);
    if problems.is_empty() { Ok(()) } else { Err(problems) }
}

fn metadata(root: &Path) -> Result<serde_json::Value, String> {
    let output = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()))
        .args(["metadata", "--format-version", "1", "--no-deps", "--offline"])
        .current_dir(root)
        .output()
        .map_err(|error| format!("cannot run cargo metadata: {error}"))?;
    if !output.status.success() {
        return Err(format!("cargo metadata failed: {}", String::from_utf8_lossy(&output.stderr)));
    }
    serde_json::from_slice(&output.stdout).map_err(|error| format!("bad cargo metadata: {error}"))
}

fn check_packages(metadata: &serde_json::Value, problems: &mut Vec<String>) {
    let allowed = allowed_edges();
    let packages = metadata["packages"].as_array().cloned().unwrap_or_default();
    let members: Vec<String> =
        packages.iter().filter_map(|package| package["name"].as_str().map(str::to_owned)).collect();
    for package in &packages {
        let name = package["name"].as_str().unwrap_or_default();
        let Some(allowed_here) = allowed.get(name) else {
            problems.push(format!("{name}: not in DESIGN.md's crate table (add it to tidy.rs)"));
            continue;
        };
        let manifest = package["manifest_path"].as_str().unwrap_or_default();
        check_lints(name, manifest, problems);
        for dependency in package["dependencies"].as_array().into_iter().flatten() {
            let dependency_name = dependency["name"].as_str().unwrap_or_default();
            let is_dev = dependency["kind"].as_str() == Some("dev");
            if name == "nectr-domain" && !is_dev && DOMAIN_FORBIDDEN.contains(&dependency_name) {
                problems.push(format!("nectr-domain must not depend on {dependency_name} (I/O)"));
            }
            if !members.iter().any(|member| member == dependency_name) {
                continue;
            }
            if is_dev {
                // Tests may use the testkit, the domain and, for persistence tests, migrations.
                if !["nectr-testkit", "nectr-domain", "nectr-migrations"].contains(&dependency_name)
                    && !allowed_here.contains(&dependency_name)
                {
                    problems.push(format!("{name} must not dev-depend on {dependency_name}"));
                }
                continue;
            }
            if !allowed_here.contains(&dependency_name) {
                problems.push(format!(
                    "{name} must not depend on {dependency_name} (see DESIGN.md, Crates)"
                ));
            }
        }
    }
}

fn check_lints(name: &str, manifest: &str, problems: &mut Vec<String>) {
    let Ok(text) = std::fs::read_to_string(manifest) else {
        problems.push(format!("{name}: cannot read {manifest}"));
        return;
    };
    let mut in_lints = false;
    let mut inherits = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            in_lints = line == "[lints]";
        } else if in_lints && line.replace(' ', "") == "workspace=true" {
            inherits = true;
        }
    }
    if !inherits {
        problems.push(format!("{name}: add `[lints] workspace = true` to {manifest}"));
    }
}

fn check_module_docs(root: &Path, problems: &mut Vec<String>) {
    let mut files = Vec::new();
    for folder in ["crates", "migrations", "xtask"] {
        collect_rust_files(&root.join(folder), &mut files);
    }
    for file in files {
        let Ok(text) = std::fs::read_to_string(&file) else { continue };
        if !text.trim_start().starts_with("//!") {
            problems
                .push(format!("{}: open with a //! comment saying what it is for", file.display()));
        }
    }
}

fn collect_rust_files(folder: &Path, files: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = std::fs::read_dir(folder) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if path.file_name().is_some_and(|name| name != "target") {
                collect_rust_files(&path, files);
            }
        } else if path.extension().is_some_and(|extension| extension == "rs") {
            files.push(path);
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_workspace_keeps_its_invariants() {
        let root = crate::root();
        if let Err(problems) = super::check(&root) {
            panic!("tidy found problems:\n{}", problems.join("\n"));
        }
    }

    #[test]
    fn a_forbidden_edge_is_reported() {
        let metadata = serde_json::json!({
            "packages": [{
                "name": "nectr-api",
                "manifest_path": concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"),
                "dependencies": [
                    {"name": "nectr-persistence", "kind": null},
                    {"name": "nectr-testkit", "kind": "dev"},
                ],
            }, {
                "name": "nectr-persistence",
                "manifest_path": concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"),
                "dependencies": [],
            }, {
                "name": "nectr-testkit",
                "manifest_path": concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"),
                "dependencies": [],
            }]
        });
        let mut problems = Vec::new();
        super::check_packages(&metadata, &mut problems);
        assert_eq!(
            problems,
            ["nectr-api must not depend on nectr-persistence (see DESIGN.md, Crates)"]
        );
    }
}
