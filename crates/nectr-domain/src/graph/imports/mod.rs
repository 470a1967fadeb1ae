//! Import extraction and resolution: what each source file refers to (Rust `mod` and `use`,
//! Python, JavaScript/TypeScript, Go and Java imports), and which files of the tree those
//! references are, given the project facts a scan collects on the way (`go.mod` modules, Java
//! packages, `tsconfig.json` paths, Rust crate roots).
//!
//! Extraction reads one file at a time and keeps only the references, so a scan holds no file
//! contents; resolution runs once the whole tree is known.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::Language;

mod go;
mod java;
mod python;
mod rust;
mod script;

#[cfg(test)]
mod tests;

/// One reference a source file makes, before resolution.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ImportRef {
    /// Rust `mod name;`.
    RustMod(String),
    /// A Rust `use` path (also `pub use` re-exports), braces expanded, `as` renames dropped.
    RustUse(Vec<String>),
    /// Python `import a.b` (no names) or `from ..a.b import c, d`.
    Python {
        /// Leading dots (0: absolute).
        level: usize,
        /// The module's segments.
        module: Vec<String>,
        /// The imported names.
        names: Vec<String>,
    },
    /// A JavaScript/TypeScript module specifier (`import`, `export … from`, `require`, `import()`).
    Script(String),
    /// A Go import path.
    Go(String),
    /// A Java import.
    Java {
        /// The qualified name's segments (without `*`).
        path: Vec<String>,
        /// `import a.b.*;`.
        wildcard: bool,
        /// `import static`.
        is_static: bool,
    },
}

/// A project fact found in one file, needed to resolve other files' references.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProjectFact {
    /// `go.mod`'s module path.
    GoModule(String),
    /// A Java file's package.
    JavaPackage(String),
    /// A `tsconfig.json`/`jsconfig.json`: its `baseUrl` and `paths`.
    TsConfig(TsConfig),
}

/// The resolution settings of a `tsconfig.json`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TsConfig {
    /// `compilerOptions.baseUrl`, relative to the file's folder.
    pub base_url: Option<String>,
    /// `compilerOptions.paths`: pattern → substitutions.
    pub paths: Vec<(String, Vec<String>)>,
}

/// What one file contributes: its references and any project fact.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Extracted {
    /// References to resolve.
    pub refs: Vec<ImportRef>,
    /// A project fact.
    pub fact: Option<ProjectFact>,
}

/// Whether a scan needs `path`'s contents (a source file of a supported language, or a project
/// file such as `go.mod` or `tsconfig.json`).
pub fn wants_content(path: &str) -> bool {
    let name = file_name(path);
    matches!(name, "go.mod" | "tsconfig.json" | "jsconfig.json")
        || matches!(
            Language::of_path(path),
            Language::Rust
                | Language::Python
                | Language::JavaScript
                | Language::TypeScript
                | Language::Go
                | Language::Java
        )
}

/// The references and facts of one file.
pub fn extract(path: &str, source: &str) -> Extracted {
    match file_name(path) {
        "go.mod" => return fact(go::module(source).map(ProjectFact::GoModule)),
        "tsconfig.json" | "jsconfig.json" => {
            return fact(script::tsconfig(source).map(ProjectFact::TsConfig));
        }
        _ => {}
    }
    match Language::of_path(path) {
        Language::Rust => refs(rust::extract(source)),
        Language::Python => refs(python::extract(source)),
        Language::JavaScript | Language::TypeScript => refs(script::extract(source)),
        Language::Go => refs(go::extract(source)),
        Language::Java => {
            let (package, imports) = java::extract(source);
            Extracted { refs: imports, fact: package.map(ProjectFact::JavaPackage) }
        }
        _ => Extracted::default(),
    }
}

fn fact(fact: Option<ProjectFact>) -> Extracted {
    Extracted { refs: Vec::new(), fact }
}

fn refs(refs: Vec<ImportRef>) -> Extracted {
    Extracted { refs, fact: None }
}

/// The whole tree and its project facts, against which references resolve.
#[derive(Debug, Default)]
pub struct TreeIndex {
    paths: HashSet<String>,
    /// Folder → its `.go` files (tests excluded).
    go_packages: HashMap<String, Vec<String>>,
    /// Module path → the folder of its `go.mod`.
    go_modules: Vec<(String, String)>,
    /// `a/b/C` (package folders and class) → the Java file.
    java_classes: HashMap<String, String>,
    /// `a/b` → the package's Java files.
    java_packages: HashMap<String, Vec<String>>,
    /// Folder of a `tsconfig.json` → its settings.
    ts_configs: BTreeMap<String, TsConfig>,
    /// Rust crate name (`my_crate`) → its root file (`…/src/lib.rs`).
    rust_crates: HashMap<String, String>,
}

impl TreeIndex {
    /// An index of `paths`.
    pub fn new<'a>(paths: impl IntoIterator<Item = &'a str>) -> Self {
        let mut index = Self::default();
        for path in paths {
            index.add_path(path);
        }
        index
    }

    fn add_path(&mut self, path: &str) {
        self.paths.insert(path.to_owned());
        if path.ends_with(".go") && !path.ends_with("_test.go") {
            self.go_packages.entry(parent(path).to_owned()).or_default().push(path.to_owned());
        }
        if let Some(crate_dir) = path.strip_suffix("/src/lib.rs") {
            let name = file_name(crate_dir).replace('-', "_");
            self.rust_crates.insert(name, path.to_owned());
        }
    }

    /// Adds a fact found in `path`.
    pub fn add_fact(&mut self, path: &str, fact: ProjectFact) {
        match fact {
            ProjectFact::GoModule(module) => {
                self.go_modules.push((module, parent(path).to_owned()));
                self.go_modules.sort_by_key(|(module, _)| std::cmp::Reverse(module.len()));
            }
            ProjectFact::JavaPackage(package) => {
                let folder = package.replace('.', "/");
                let class = file_name(path).trim_end_matches(".java");
                let key = join(&folder, class);
                self.java_classes.insert(key, path.to_owned());
                self.java_packages.entry(folder).or_default().push(path.to_owned());
            }
            ProjectFact::TsConfig(config) => {
                self.ts_configs.insert(parent(path).to_owned(), config);
            }
        }
    }

    /// Whether `path` is in the tree.
    pub fn contains(&self, path: &str) -> bool {
        self.paths.contains(path)
    }

    /// The files `from`'s references point to: in the tree, without `from` itself, without
    /// duplicates, in reference order.
    pub fn resolve(&self, from: &str, refs: &[ImportRef]) -> Vec<String> {
        let mut targets: Vec<String> = Vec::new();
        for reference in refs {
            let found = match reference {
                ImportRef::RustMod(name) => rust::resolve_mod(self, from, name),
                ImportRef::RustUse(segments) => rust::resolve_use(self, from, segments),
                ImportRef::Python { level, module, names } => {
                    python::resolve(self, from, *level, module, names)
                }
                ImportRef::Script(specifier) => script::resolve(self, from, specifier),
                ImportRef::Go(import) => go::resolve(self, import),
                ImportRef::Java { path, wildcard, is_static } => {
                    java::resolve(self, path, *wildcard, *is_static)
                }
            };
            for target in found {
                if target != from && !targets.contains(&target) {
                    targets.push(target);
                }
            }
        }
        targets
    }

    /// The first of `candidates` that is in the tree.
    fn first_existing(&self, candidates: impl IntoIterator<Item = String>) -> Option<String> {
        candidates.into_iter().find(|candidate| self.contains(candidate))
    }
}

/// The folder of `path` (`""` at the root).
pub(crate) fn parent(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(folder, _)| folder)
}

/// The last segment of `path`.
pub(crate) fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// `folder/rest`, or `rest` at the root.
pub(crate) fn join(folder: &str, rest: &str) -> String {
    match folder.is_empty() {
        true => rest.to_owned(),
        false => format!("{folder}/{rest}"),
    }
}

/// `folder` joined with a relative path (`./`, `../` and plain segments), normalised; `None`
/// when it climbs above the root.
pub(crate) fn normalize(folder: &str, relative: &str) -> Option<String> {
    let mut segments: Vec<&str> = folder.split('/').filter(|segment| !segment.is_empty()).collect();
    for segment in relative.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop()?;
            }
            other => segments.push(other),
        }
    }
    Some(segments.join("/"))
}

/// `text` without `//` line comments and `/* */` block comments, outside string literals
/// delimited by one of `quotes` (with `\` escapes).
pub(crate) fn strip_comments(text: &str, quotes: &[char]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut characters = text.chars().peekable();
    let mut in_string: Option<char> = None;
    while let Some(character) = characters.next() {
        match (in_string, character) {
            (Some(_), '\\') => {
                out.push(character);
                out.extend(characters.next());
            }
            (Some(quote), _) => {
                out.push(character);
                if character == quote {
                    in_string = None;
                }
            }
            (None, '/') if characters.peek() == Some(&'/') => {
                for skipped in characters.by_ref() {
                    if skipped == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            (None, '/') if characters.peek() == Some(&'*') => {
                characters.next();
                let mut previous = ' ';
                for skipped in characters.by_ref() {
                    if skipped == '\n' {
                        out.push('\n');
                    }
                    if previous == '*' && skipped == '/' {
                        break;
                    }
                    previous = skipped;
                }
                out.push(' ');
            }
            (None, _) => {
                if quotes.contains(&character) {
                    in_string = Some(character);
                }
                out.push(character);
            }
        }
    }
    out
}

/// The contents of the first quoted string (`'`, `"` or `` ` ``) at the start of `text`
/// (after whitespace).
pub(crate) fn leading_string(text: &str) -> Option<&str> {
    let text = text.trim_start();
    let quote = text.chars().next().filter(|c| matches!(c, '\'' | '"' | '`'))?;
    let body = &text[1..];
    body.find(quote).map(|end| &body[..end])
}
