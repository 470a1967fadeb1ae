//! Java: the file's `package`, and `import a.b.C;`, `import a.b.*;`, `import static a.b.C.m;`,
//! resolved through the packages the tree's Java files declare (any source root).

use super::{ImportRef, TreeIndex, strip_comments};

/// The package a Java file declares, and its imports.
pub(super) fn extract(source: &str) -> (Option<String>, Vec<ImportRef>) {
    let text = strip_comments(source, &['"']);
    let mut package = None;
    let mut refs = Vec::new();
    for statement in text.split(';') {
        let statement = statement.trim();
        if let Some(name) = statement.strip_prefix("package ") {
            package = Some(name.trim().to_owned());
        } else if let Some(rest) = statement.strip_prefix("import ") {
            let rest = rest.trim();
            let (is_static, name) = match rest.strip_prefix("static ") {
                Some(name) => (true, name.trim()),
                None => (false, rest),
            };
            let wildcard = name.ends_with(".*");
            let path = name
                .trim_end_matches(".*")
                .split('.')
                .map(str::trim)
                .filter(|part| !part.is_empty())
                .map(str::to_owned)
                .collect();
            refs.push(ImportRef::Java { path, wildcard, is_static });
        }
    }
    (package, refs)
}

pub(super) fn resolve(
    index: &TreeIndex,
    path: &[String],
    wildcard: bool,
    is_static: bool,
) -> Vec<String> {
    if wildcard && !is_static {
        let mut files = index.java_packages.get(&path.join("/")).cloned().unwrap_or_default();
        files.sort();
        return files;
    }
    // The longest prefix naming a class (nested classes and static members drop off the end).
    (1..=path.len())
        .rev()
        .find_map(|length| index.java_classes.get(&path[..length].join("/")).cloned())
        .into_iter()
        .collect()
}
