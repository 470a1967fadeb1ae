//! The project map: what a repository is, read deterministically from its default branch's key
//! files (README, CONTRIBUTING, instruction files such as `AGENTS.md` and `CLAUDE.md`, the
//! manifests of each ecosystem, Dockerfiles, compose files, `.env.example`, Makefiles) and its
//! tree. No model is needed, so the map exists with the offline reviewer too; a configured model
//! adds a prose summary on top (`summary`), and a model that fails leaves the map without it. A
//! scan replaces the repository's previous map: there is only ever one.

mod summary;

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::RepoFullName;
use crate::code_host::{CodeHost, CodeHostError, FileContent, Identity, TreeEntry};
use crate::llm::LanguageModel;

use super::exclusive::{Subject, exclusively};
use super::{
    MAX_CONTENT_CHARS, MemoryScope, MemoryStore, MemoryStoreError, MemoryType, NewMemory,
    Provenance, list_all,
};

/// The most characters read of one key file.
const FILE_CHARS: usize = 15_000;

/// The most names listed in one line of a section.
const LISTED: usize = 15;

/// Instruction and documentation files, read at the root.
const DOCUMENTS: [&str; 8] = [
    "README.md",
    "README",
    "README.rst",
    "CONTRIBUTING.md",
    "AGENTS.md",
    "CLAUDE.md",
    ".cursorrules",
    ".github/copilot-instructions.md",
];

/// Manifests, by file name (at the root or one level down), with their ecosystem.
const MANIFESTS: [(&str, &str); 14] = [
    ("package.json", "JavaScript/TypeScript (npm)"),
    ("tsconfig.json", "TypeScript"),
    ("Cargo.toml", "Rust (Cargo)"),
    ("pyproject.toml", "Python"),
    ("requirements.txt", "Python (pip)"),
    ("setup.py", "Python (setuptools)"),
    ("go.mod", "Go modules"),
    ("pom.xml", "Java (Maven)"),
    ("build.gradle", "JVM (Gradle)"),
    ("build.gradle.kts", "JVM (Gradle, Kotlin DSL)"),
    ("Gemfile", "Ruby (Bundler)"),
    ("composer.json", "PHP (Composer)"),
    ("mix.exs", "Elixir (Mix)"),
    ("Makefile", "Make"),
];

/// Directory names that usually deserve care.
const RISKY: [&str; 10] = [
    "auth",
    "security",
    "migrations",
    "payments",
    "billing",
    "crypto",
    "permissions",
    "secrets",
    "oauth",
    "webhooks",
];

/// Why a scan failed.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    /// The code host failed or refused.
    #[error(transparent)]
    CodeHost(#[from] CodeHostError),
    /// The memory store failed.
    #[error(transparent)]
    Store(#[from] MemoryStoreError),
}

/// One section of the map: a title and its text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MapSection {
    /// `Summary` (from a model), `Overview`, `Stack`, `Commands`, `Structure`, `Runtime`,
    /// `Conventions`, `Risk areas`.
    pub title: String,
    /// What the files say.
    pub content: String,
}

/// A repository's key files and tree, as read from its default branch.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RepositorySnapshot {
    /// The repository's description.
    pub description: Option<String>,
    /// Every path of the tree with its kind.
    pub tree: Vec<TreeEntry>,
    /// The text of each key file, by path.
    pub files: BTreeMap<String, String>,
}

/// Builds and stores project maps.
#[derive(Clone)]
pub struct ProjectScanner {
    code_host: Arc<dyn CodeHost>,
    store: Arc<dyn MemoryStore>,
    model: Option<Arc<dyn LanguageModel>>,
}

/// What became of a scan's prose summary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MapSummary {
    /// No model is configured (the offline reviewer): the map has none.
    NoModel,
    /// The model wrote it; it is the map's `Summary` section.
    Written,
    /// The model failed, and why: the map was stored without it.
    Failed(String),
}

/// A scan's map: the sections stored, and what became of the summary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScannedMap {
    /// The sections stored, the summary first when there is one.
    pub sections: Vec<MapSection>,
    /// What became of the summary.
    pub summary: MapSummary,
}

fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

fn depth(path: &str) -> usize {
    path.matches('/').count()
}

/// Whether a tree path is one of the key files the map reads.
pub fn is_key_file(path: &str) -> bool {
    let name = file_name(path);
    DOCUMENTS.contains(&path)
        || (depth(path) <= 1 && MANIFESTS.iter().any(|(manifest, _)| *manifest == name))
        || (depth(path) <= 2 && (name.starts_with("Dockerfile") || name.ends_with(".dockerfile")))
        || matches!(
            path,
            "docker-compose.yml"
                | "docker-compose.yaml"
                | "compose.yml"
                | "compose.yaml"
                | ".env.example"
        )
}

impl ProjectScanner {
    /// A scanner reading through `code_host` and storing in `store`.
    pub fn new(code_host: Arc<dyn CodeHost>, store: Arc<dyn MemoryStore>) -> Self {
        Self { code_host, store, model: None }
    }

    /// The scanner with `model` writing each map's prose summary (`None`: the offline
    /// reviewer, no summary).
    #[must_use]
    pub fn with_model(mut self, model: Option<Arc<dyn LanguageModel>>) -> Self {
        self.model = model;
        self
    }

    /// Reads `repo`'s default branch as `who`, and replaces its project map; answers the
    /// sections stored and what became of the summary. A model that fails costs the summary
    /// only.
    ///
    /// # Errors
    /// [`ScanError`].
    pub async fn scan(&self, who: &Identity, repo: &RepoFullName) -> Result<ScannedMap, ScanError> {
        let snapshot = self.snapshot(who, repo).await?;
        let mut sections = build_map(&snapshot);
        let summary = match &self.model {
            None => MapSummary::NoModel,
            Some(model) => {
                match summary::summarise(model.as_ref(), repo, &sections, &snapshot).await {
                    Ok(text) => {
                        let title = summary::TITLE.to_owned();
                        sections.insert(0, MapSection { title, content: text });
                        MapSummary::Written
                    }
                    Err(error) => MapSummary::Failed(error),
                }
            }
        };
        replace_project_map(self.store.as_ref(), repo, &sections).await?;
        Ok(ScannedMap { sections, summary })
    }

    async fn snapshot(
        &self,
        who: &Identity,
        repo: &RepoFullName,
    ) -> Result<RepositorySnapshot, CodeHostError> {
        let repository = self.code_host.repository(who, repo).await?;
        let branch = repository.default_branch.clone();
        let tree = self.code_host.tree(who, repo, &branch).await?;
        let mut files = BTreeMap::new();
        for entry in tree.entries.iter().filter(|entry| entry.kind == "blob") {
            if !is_key_file(&entry.path) {
                continue;
            }
            let content = self.code_host.file_content(who, repo, &entry.path, &branch).await?;
            if let Some(FileContent::Text(text)) = content {
                files.insert(entry.path.clone(), text.chars().take(FILE_CHARS).collect());
            }
        }
        Ok(RepositorySnapshot { description: repository.description, tree: tree.entries, files })
    }
}

/// Makes `sections` the project map of `repo`: the new sections are stored, then every older
/// `project_map` memory is deleted, so a rescan leaves exactly one map. One replacement per
/// repository runs at a time (see [`super::exclusive`]), so a rescan racing a connect's scan
/// still leaves one map.
///
/// # Errors
/// The store's [`MemoryStoreError`].
pub async fn replace_project_map(
    store: &dyn MemoryStore,
    repo: &RepoFullName,
    sections: &[MapSection],
) -> Result<(), MemoryStoreError> {
    exclusively(Subject::project_map(repo), replace(store, repo, sections)).await
}

async fn replace(
    store: &dyn MemoryStore,
    repo: &RepoFullName,
    sections: &[MapSection],
) -> Result<(), MemoryStoreError> {
    let old = list_all(store, repo, &[MemoryType::ProjectMap], None).await?;
    for section in sections {
        let content: String = format!("{}: {}", section.title, section.content)
            .chars()
            .take(MAX_CONTENT_CHARS)
            .collect();
        let memory = NewMemory {
            repo: repo.clone(),
            scope: MemoryScope::Project,
            memory_type: MemoryType::ProjectMap,
            content,
            provenance: Provenance::Scan,
        };
        store.add(&memory).await?;
    }
    for memory in old {
        store.delete(repo, &memory.id).await?;
    }
    Ok(())
}

/// The map of a snapshot: only sections the files support, in a fixed order.
pub fn build_map(snapshot: &RepositorySnapshot) -> Vec<MapSection> {
    let sections = [
        ("Overview", overview(snapshot)),
        ("Stack", stack(snapshot)),
        ("Commands", commands(snapshot)),
        ("Structure", structure(snapshot)),
        ("Runtime", runtime(snapshot)),
        ("Conventions", conventions(snapshot)),
        ("Risk areas", risk_areas(snapshot)),
    ];
    sections
        .into_iter()
        .filter(|(_, content)| !content.trim().is_empty())
        .map(|(title, content)| MapSection { title: title.to_owned(), content })
        .collect()
}

fn listed(names: &[String]) -> String {
    let mut shown: Vec<&str> = names.iter().take(LISTED).map(String::as_str).collect();
    let more = names.len().saturating_sub(LISTED);
    let extra = format!("and {more} more");
    if more > 0 {
        shown.push(&extra);
    }
    shown.join(", ")
}

/// The description and the README's first paragraph of prose.
fn overview(snapshot: &RepositorySnapshot) -> String {
    let readme =
        ["README.md", "README", "README.rst"].iter().find_map(|path| snapshot.files.get(*path));
    let paragraph = readme.map(|text| first_paragraph(text)).unwrap_or_default();
    let parts: Vec<String> =
        [snapshot.description.as_deref().unwrap_or_default(), paragraph.as_str()]
            .into_iter()
            .map(str::trim)
            .filter(|part| !part.is_empty())
            .map(sentence)
            .collect();
    parts.join(" ")
}

/// `text` ending as a sentence does.
fn sentence(text: &str) -> String {
    match text.ends_with(['.', '!', '?']) {
        true => text.to_owned(),
        false => format!("{text}."),
    }
}

fn first_paragraph(text: &str) -> String {
    let prose = text
        .split("\n\n")
        .map(str::trim)
        .find(|block| {
            !block.is_empty()
                && !block.starts_with('#')
                && !block.starts_with('[')
                && !block.starts_with('!')
                && !block.starts_with('<')
                && !block.starts_with("```")
                && !block.starts_with('=')
        })
        .unwrap_or_default();
    prose.split_whitespace().collect::<Vec<_>>().join(" ").chars().take(600).collect()
}

/// Ecosystems from the manifests present, and each manifest's dependencies.
fn stack(snapshot: &RepositorySnapshot) -> String {
    let mut lines = Vec::new();
    let mut ecosystems: Vec<String> = Vec::new();
    for (path, text) in &snapshot.files {
        let Some((_, ecosystem)) = MANIFESTS.iter().find(|(name, _)| *name == file_name(path))
        else {
            continue;
        };
        if !ecosystems.iter().any(|known| known == ecosystem) {
            ecosystems.push((*ecosystem).to_owned());
        }
        let dependencies = dependencies(file_name(path), text);
        if !dependencies.is_empty() {
            lines.push(format!("{path} depends on {}.", listed(&dependencies)));
        }
    }
    if snapshot.files.keys().any(|path| file_name(path).starts_with("Dockerfile")) {
        ecosystems.push("Docker".to_owned());
    }
    if ecosystems.is_empty() {
        return String::new();
    }
    lines.insert(0, format!("Ecosystems: {}.", ecosystems.join(", ")));
    lines.join(" ")
}

/// The dependency names a manifest declares, in order, without versions.
pub fn dependencies(manifest: &str, text: &str) -> Vec<String> {
    match manifest {
        "package.json" | "composer.json" => {
            json_keys(text, &["dependencies", "devDependencies", "require", "require-dev"])
        }
        "Cargo.toml" => {
            toml_table_keys(text, &["dependencies", "dev-dependencies", "workspace.dependencies"])
        }
        "pyproject.toml" => python_requirements(text),
        "requirements.txt" => text.lines().filter_map(requirement_name).collect(),
        "go.mod" => go_requirements(text),
        "Gemfile" => text
            .lines()
            .filter_map(|line| line.trim().strip_prefix("gem "))
            .filter_map(|rest| rest.split(['\'', '"']).nth(1))
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

fn json_keys(text: &str, tables: &[&str]) -> Vec<String> {
    let Ok(document) = serde_json::from_str::<serde_json::Value>(text) else { return Vec::new() };
    tables
        .iter()
        .filter_map(|table| document.get(*table).and_then(serde_json::Value::as_object))
        .flat_map(|object| object.keys().cloned())
        .collect()
}

/// Keys of `[table]` sections of a TOML text, read line by line (no TOML parser in the domain).
fn toml_table_keys(text: &str, tables: &[&str]) -> Vec<String> {
    let mut inside = false;
    let mut keys = Vec::new();
    for line in text.lines().map(str::trim) {
        if let Some(header) = line.strip_prefix('[').and_then(|rest| rest.strip_suffix(']')) {
            inside = tables.contains(&header.trim());
            continue;
        }
        let key = line.split('=').next().unwrap_or_default().trim();
        if inside && line.contains('=') && !key.is_empty() && !key.starts_with('#') {
            keys.push(key.trim_matches('"').to_owned());
        }
    }
    keys
}

fn requirement_name(line: &str) -> Option<String> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') || line.starts_with('-') {
        return None;
    }
    let name: String = line
        .chars()
        .take_while(|character| character.is_alphanumeric() || matches!(character, '-' | '_' | '.'))
        .collect();
    (!name.is_empty()).then_some(name)
}

fn python_requirements(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut inside = false;
    for line in text.lines().map(str::trim) {
        match (inside, line) {
            (false, line) if line.starts_with("dependencies") && line.contains('[') => {
                inside = !line.contains(']');
                names.extend(line.split('"').skip(1).step_by(2).filter_map(requirement_name));
            }
            (true, line) if line.starts_with(']') => inside = false,
            (true, line) => names.extend(line.split('"').nth(1).and_then(requirement_name)),
            (false, _) => {}
        }
    }
    names.extend(
        toml_table_keys(text, &["tool.poetry.dependencies"])
            .into_iter()
            .filter(|name| name != "python"),
    );
    names
}

fn go_requirements(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut inside = false;
    for line in text.lines().map(str::trim) {
        match (inside, line) {
            (false, "require (") => inside = true,
            (true, ")") => inside = false,
            (true, line) => names.extend(line.split_whitespace().next().map(str::to_owned)),
            (false, line) => {
                names.extend(
                    line.strip_prefix("require ")
                        .and_then(|rest| rest.split_whitespace().next())
                        .map(str::to_owned),
                );
            }
        }
    }
    names
}

/// Scripts of `package.json` and targets of the root Makefile.
fn commands(snapshot: &RepositorySnapshot) -> String {
    let mut lines = Vec::new();
    if let Some(scripts) = snapshot
        .files
        .get("package.json")
        .and_then(|text| serde_json::from_str::<serde_json::Value>(text).ok())
        .and_then(|document| {
            document.get("scripts").and_then(serde_json::Value::as_object).cloned()
        })
    {
        let listed: Vec<String> = scripts
            .iter()
            .take(LISTED)
            .map(|(name, command)| {
                format!("npm run {name} ({})", command.as_str().unwrap_or_default())
            })
            .collect();
        lines.push(format!("{}.", listed.join("; ")));
    }
    if let Some(makefile) = snapshot.files.get("Makefile") {
        let targets: Vec<String> = makefile
            .lines()
            .filter(|line| !line.starts_with(['\t', ' ', '.', '#']))
            .filter_map(|line| line.split_once(':').map(|(target, _)| target.trim()))
            .filter(|target| !target.is_empty() && !target.contains(['=', '$', ' ', '%']))
            .map(|target| format!("make {target}"))
            .collect();
        if !targets.is_empty() {
            lines.push(format!("{}.", listed(&targets)));
        }
    }
    if snapshot.files.contains_key("Cargo.toml") {
        lines.push("cargo build; cargo test.".to_owned());
    }
    lines.join(" ")
}

/// Top-level directories by size, and the languages of the files by extension.
fn structure(snapshot: &RepositorySnapshot) -> String {
    let blobs: Vec<&TreeEntry> =
        snapshot.tree.iter().filter(|entry| entry.kind == "blob").collect();
    if blobs.is_empty() {
        return String::new();
    }
    let mut directories: BTreeMap<&str, usize> = BTreeMap::new();
    let mut extensions: BTreeMap<String, usize> = BTreeMap::new();
    for blob in &blobs {
        if let Some((top, _)) = blob.path.split_once('/') {
            *directories.entry(top).or_default() += 1;
        }
        if let Some((_, extension)) = file_name(&blob.path).rsplit_once('.') {
            *extensions.entry(extension.to_ascii_lowercase()).or_default() += 1;
        }
    }
    let ranked = |counts: Vec<(String, usize)>| -> Vec<String> {
        let mut counts = counts;
        counts.sort_by(|left, right| right.1.cmp(&left.1).then(left.0.cmp(&right.0)));
        counts.into_iter().map(|(name, count)| format!("{name} ({count})")).collect()
    };
    let directories =
        ranked(directories.into_iter().map(|(name, count)| (format!("{name}/"), count)).collect());
    let extensions =
        ranked(extensions.into_iter().map(|(name, count)| (format!(".{name}"), count)).collect());
    let mut text = format!("{} files.", blobs.len());
    if !directories.is_empty() {
        text.push_str(&format!(" Top-level directories: {}.", listed(&directories)));
    }
    if !extensions.is_empty() {
        text.push_str(&format!(" File types: {}.", listed(&extensions)));
    }
    text
}

/// Base images, compose services and the environment variables `.env.example` names (names
/// only: values stay out of memory).
fn runtime(snapshot: &RepositorySnapshot) -> String {
    let mut lines = Vec::new();
    let images: Vec<String> = snapshot
        .files
        .iter()
        .filter(|(path, _)| {
            file_name(path).starts_with("Dockerfile") || path.ends_with(".dockerfile")
        })
        .flat_map(|(_, text)| text.lines())
        .filter_map(|line| {
            line.trim().strip_prefix("FROM ").and_then(|rest| rest.split_whitespace().next())
        })
        .map(str::to_owned)
        .collect();
    if !images.is_empty() {
        lines.push(format!("Docker images built from {}.", listed(&images)));
    }
    let compose = ["docker-compose.yml", "docker-compose.yaml", "compose.yml", "compose.yaml"]
        .iter()
        .find_map(|path| snapshot.files.get(*path));
    if let Some(compose) = compose {
        let services = compose_services(compose);
        if !services.is_empty() {
            lines.push(format!("Compose services: {}.", listed(&services)));
        }
    }
    if let Some(example) = snapshot.files.get(".env.example") {
        let names: Vec<String> = example
            .lines()
            .map(str::trim)
            .filter(|line| !line.starts_with('#'))
            .filter_map(|line| {
                line.split_once('=')
                    .map(|(name, _)| name.trim().trim_start_matches("export ").to_owned())
            })
            .filter(|name| !name.is_empty())
            .collect();
        if !names.is_empty() {
            lines.push(format!("Configured by the environment: {}.", listed(&names)));
        }
    }
    lines.join(" ")
}

fn compose_services(text: &str) -> Vec<String> {
    let mut inside = false;
    let mut services = Vec::new();
    for line in text.lines() {
        let indented = line.starts_with(' ') || line.starts_with('\t');
        match (indented, line.trim_end()) {
            (false, "services:") => inside = true,
            (false, other) if !other.is_empty() => inside = false,
            (true, other)
                if inside
                    && other.len() - other.trim_start().len() == 2
                    && other.ends_with(':') =>
            {
                services.push(other.trim().trim_end_matches(':').to_owned());
            }
            _ => {}
        }
    }
    services
}

/// What the instruction files and CONTRIBUTING say first.
fn conventions(snapshot: &RepositorySnapshot) -> String {
    let parts: Vec<String> = [
        "AGENTS.md",
        "CLAUDE.md",
        ".cursorrules",
        ".github/copilot-instructions.md",
        "CONTRIBUTING.md",
    ]
    .iter()
    .filter_map(|path| snapshot.files.get(*path).map(|text| (path, text)))
    .map(|(path, text)| {
        let gist: String =
            text.split_whitespace().collect::<Vec<_>>().join(" ").chars().take(500).collect();
        format!("{path}: {gist}")
    })
    .collect();
    parts.join(" | ")
}

/// Directories whose names usually mean care (authentication, migrations, payments, …).
fn risk_areas(snapshot: &RepositorySnapshot) -> String {
    let mut found: Vec<String> = Vec::new();
    for entry in snapshot.tree.iter().filter(|entry| entry.kind == "tree") {
        let name = file_name(&entry.path).to_ascii_lowercase();
        if RISKY.contains(&name.as_str())
            && !found.iter().any(|known| entry.path.starts_with(known.as_str()))
        {
            found.push(format!("{}/", entry.path));
        }
    }
    match found.is_empty() {
        true => String::new(),
        false => format!("Changes here deserve extra care: {}.", listed(&found)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blob(path: &str) -> TreeEntry {
        TreeEntry { path: path.to_owned(), kind: "blob".to_owned(), size: Some(10) }
    }

    #[test]
    fn the_map_is_built_from_the_manifests_and_the_tree() {
        let mut files = BTreeMap::new();
        files.insert(
            "README.md".to_owned(),
            "# App\n\n[![ci](x)](y)\n\nA shop for   socks.\n\n## Use".to_owned(),
        );
        files.insert(
            "package.json".to_owned(),
            r#"{"scripts": {"test": "jest"}, "dependencies": {"next": "14"}, "devDependencies": {"jest": "29"}}"#.to_owned(),
        );
        files.insert("Cargo.toml".to_owned(), "[package]\nname = \"x\"\n\n[dependencies]\ntokio = \"1\"\nserde = { version = \"1\" }\n".to_owned());
        files.insert("requirements.txt".to_owned(), "Django>=4\n# note\nflask==2\n".to_owned());
        files.insert(
            "Dockerfile".to_owned(),
            "FROM node:20 AS build\nRUN x\nFROM nginx:1.27\n".to_owned(),
        );
        files.insert(
            ".env.example".to_owned(),
            "DATABASE_URL=postgres://x\n# c\nSECRET_KEY=changeme\n".to_owned(),
        );
        files.insert("AGENTS.md".to_owned(), "Run   the tests before pushing.".to_owned());
        let tree = vec![
            blob("src/app.ts"),
            blob("src/auth/login.ts"),
            TreeEntry { path: "src/auth".to_owned(), kind: "tree".to_owned(), size: None },
            blob("README.md"),
        ];
        let snapshot = RepositorySnapshot { description: Some("Socks.".to_owned()), tree, files };
        let map = build_map(&snapshot);
        let section = |title: &str| {
            map.iter().find(|section| section.title == title).map(|section| section.content.clone())
        };
        assert_eq!(section("Overview").as_deref(), Some("Socks. A shop for socks."));
        let stack = section("Stack").unwrap_or_default();
        assert!(
            stack.starts_with(
                "Ecosystems: Rust (Cargo), JavaScript/TypeScript (npm), Python (pip), Docker."
            ),
            "{stack}"
        );
        assert!(stack.contains("package.json depends on next, jest."), "{stack}");
        assert!(stack.contains("Cargo.toml depends on tokio, serde."), "{stack}");
        assert!(stack.contains("requirements.txt depends on Django, flask."), "{stack}");
        assert!(section("Commands").unwrap_or_default().contains("npm run test (jest)"));
        assert_eq!(
            section("Structure").as_deref(),
            Some("3 files. Top-level directories: src/ (2). File types: .ts (2), .md (1).")
        );
        let runtime = section("Runtime").unwrap_or_default();
        assert!(
            runtime.contains("node:20, nginx:1.27") && runtime.contains("DATABASE_URL, SECRET_KEY"),
            "{runtime}"
        );
        assert!(!runtime.contains("changeme"), "values stay out");
        assert_eq!(
            section("Conventions").as_deref(),
            Some("AGENTS.md: Run the tests before pushing.")
        );
        assert_eq!(
            section("Risk areas").as_deref(),
            Some("Changes here deserve extra care: src/auth/.")
        );
        assert_eq!(build_map(&snapshot), map, "deterministic");
    }

    #[test]
    fn key_files_are_the_documents_manifests_and_container_files() {
        for path in [
            "README.md",
            "AGENTS.md",
            "Cargo.toml",
            "web/package.json",
            "docker/Dockerfile",
            ".env.example",
        ] {
            assert!(is_key_file(path), "{path}");
        }
        for path in ["src/main.rs", "a/b/c/package.json", "docs/README.md"] {
            assert!(!is_key_file(path), "{path}");
        }
    }
}
