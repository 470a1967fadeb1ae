//! Go: `import "path"`, aliased and grouped imports, resolved through `go.mod` module paths to
//! every non-test `.go` file of the imported package's folder.

use super::{ImportRef, TreeIndex, join, leading_string, strip_comments};

/// A package imports at most this many files of another (large generated packages).
const MAX_PACKAGE_FILES: usize = 50;

/// `go.mod`'s module path.
pub(super) fn module(source: &str) -> Option<String> {
    source.lines().find_map(|line| {
        let rest = line.trim().strip_prefix("module")?;
        let module = rest.trim().trim_matches('"');
        (!module.is_empty()).then(|| module.to_owned())
    })
}

/// The import paths of a Go file.
pub(super) fn extract(source: &str) -> Vec<ImportRef> {
    let text = strip_comments(source, &['"', '`']);
    let mut refs = Vec::new();
    let mut in_group = false;
    for line in text.lines() {
        let line = line.trim();
        match in_group {
            true if line.starts_with(')') => in_group = false,
            true => refs.extend(import_spec(line)),
            false => {
                let Some(rest) = line.strip_prefix("import") else { continue };
                let rest = rest.trim();
                match rest.strip_prefix('(') {
                    Some(inline) => {
                        in_group = !inline.contains(')');
                        refs.extend(import_spec(inline.trim_end_matches(')')));
                    }
                    None => refs.extend(import_spec(rest)),
                }
            }
        }
    }
    refs
}

/// `"path"`, `alias "path"`, `_ "path"` or `. "path"`.
fn import_spec(spec: &str) -> Option<ImportRef> {
    let spec = spec.trim();
    let quoted = spec.find('"').map(|start| &spec[start..])?;
    leading_string(quoted).map(|path| ImportRef::Go(path.to_owned()))
}

pub(super) fn resolve(index: &TreeIndex, import: &str) -> Vec<String> {
    for (module, folder) in &index.go_modules {
        let relative = match import.strip_prefix(module.as_str()) {
            Some("") => "",
            Some(rest) if rest.starts_with('/') => &rest[1..],
            _ => continue,
        };
        let package = join(folder, relative);
        let mut files = index.go_packages.get(&package).cloned().unwrap_or_default();
        files.sort();
        files.truncate(MAX_PACKAGE_FILES);
        return files;
    }
    Vec::new()
}
