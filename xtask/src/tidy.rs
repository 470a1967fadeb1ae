//! Repository invariants that a machine can check:
//! - the dependency direction of DESIGN.md: `nectr-domain` knows no other Nectr crate and no I/O
//!   crate; adapters and inbound edges know only the domain; only `nectr-server` knows them all;
//!   `nectr-testkit` is never a normal dependency;
//! - every member inherits the workspace lints;
//! - every Rust file opens with a `//!` comment saying what it is for;
//! - the repository is self-contained: no file refers to a path outside it.

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
    check_self_contained(root, &mut problems);
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

/// Text that points outside the repository: the `shared` folder beside the checkout, reached by
/// any number of `..` steps, and absolute paths under the `work` folder of the machine Nectr was
/// built on. Built from pieces so that this file does not match itself.
fn outside_references() -> [String; 2] {
    [["..", "/shared"].concat(), ["/", "work", "/"].concat()]
}

/// Fails on any file of the repository (Rust, TOML, shell, Markdown, YAML, Python, Dockerfile)
/// that names a path outside it: a clone must be all the tests and the documentation need.
fn check_self_contained(root: &Path, problems: &mut Vec<String>) {
    let mut files = Vec::new();
    collect_checked_files(root, &mut files);
    let patterns = outside_references();
    for file in files {
        let Ok(text) = std::fs::read_to_string(&file) else { continue };
        problems.extend(outside_paths_in(&text, &patterns).into_iter().map(|(line, pattern)| {
            let shown = file.strip_prefix(root).unwrap_or(&file).display().to_string();
            format!("{shown}:{line}: refers to `{pattern}`, outside the repository")
        }));
    }
}

/// The (1-based line, pattern) of every reference to a path outside the repository in `text`.
fn outside_paths_in<'p>(text: &str, patterns: &'p [String]) -> Vec<(usize, &'p str)> {
    text.lines()
        .enumerate()
        .flat_map(|(index, line)| {
            patterns
                .iter()
                .filter(move |pattern| line.contains(pattern.as_str()))
                .map(move |pattern| (index + 1, pattern.as_str()))
        })
        .collect()
}

/// Every file under `folder` whose kind the self-containment check reads, skipping build output
/// and git's own folder.
fn collect_checked_files(folder: &Path, files: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = std::fs::read_dir(folder) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if path.is_dir() {
            if name != "target" && name != ".git" {
                collect_checked_files(&path, files);
            }
        } else if is_checked_file(&path, &name) {
            files.push(path);
        }
    }
}

/// Rust, TOML, shell (`.sh` or a `#!` first line), Markdown, YAML, Python and Dockerfiles.
fn is_checked_file(path: &Path, name: &str) -> bool {
    const EXTENSIONS: &[&str] = &["rs", "toml", "sh", "md", "yml", "yaml", "py"];
    match path.extension().and_then(|extension| extension.to_str()) {
        Some(extension) => EXTENSIONS.contains(&extension),
        None => name == "Dockerfile" || starts_with_shebang(path),
    }
}

fn starts_with_shebang(path: &Path) -> bool {
    use std::io::Read;
    let mut start = [0_u8; 2];
    std::fs::File::open(path).and_then(|mut file| file.read_exact(&mut start)).is_ok()
        && &start == b"#!"
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
    fn a_path_outside_the_repository_is_reported() {
        let patterns = super::outside_references();
        let text = [
            "fine: crates/nectr-testkit/fixtures",
            &["see `", "..", "/shared/DESIGN.md`"].concat(),
            &["PathBuf::from(\"", "/../../..", "/shared", "/fixtures\")"].concat(),
            &["cat ", "/", "work", "/main/README.md"].concat(),
        ]
        .join("\n");
        let found = super::outside_paths_in(&text, &patterns);
        let lines: Vec<usize> = found.iter().map(|(line, _)| *line).collect();
        assert_eq!(lines, [2, 3, 4], "{found:?}");
    }

    #[test]
    fn shell_scripts_without_an_extension_are_checked() {
        let directory = std::env::temp_dir().join(format!("xtask-tidy-{}", std::process::id()));
        std::fs::create_dir_all(&directory).unwrap();
        let script = directory.join("run");
        std::fs::write(&script, "#!/usr/bin/env bash\necho hi\n").unwrap();
        let data = directory.join("payload");
        std::fs::write(&data, "{}").unwrap();
        assert!(super::is_checked_file(&script, "run"));
        assert!(!super::is_checked_file(&data, "payload"));
        assert!(super::is_checked_file(std::path::Path::new("a/b.md"), "b.md"));
        assert!(!super::is_checked_file(std::path::Path::new("a/b.json"), "b.json"));
        std::fs::remove_dir_all(&directory).unwrap();
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
