//! JavaScript and TypeScript: `import … from '…'`, `import '…'`, `export … from '…'`,
//! `require('…')` and `import('…')`; relative specifiers from the file's folder, others through
//! the nearest `tsconfig.json`'s `paths` (and `baseUrl`); extensions and `index` files tried as
//! bundlers do, `./x.js` also as `./x.ts`.

use super::{
    ImportRef, TreeIndex, TsConfig, join, leading_string, normalize, parent, strip_comments,
};

/// Extensions tried after a specifier, in order.
const EXTENSIONS: &[&str] = &[".ts", ".tsx", ".js", ".jsx", ".mjs", ".cjs", ".d.ts"];

/// The module specifiers of a script.
pub(super) fn extract(source: &str) -> Vec<ImportRef> {
    let text = strip_comments(source, &['"', '\'', '`']);
    let mut found: Vec<(usize, &str)> = Vec::new();
    for keyword in ["from", "import", "require"] {
        let mut rest = text.as_str();
        while let Some(at) = rest.find(keyword) {
            let before = text.len() - rest.len() + at;
            let after = &rest[at + keyword.len()..];
            rest = after;
            let boundary = text[..before].chars().next_back().is_none_or(|c| !is_word(c))
                && after.chars().next().is_none_or(|c| !is_word(c));
            if !boundary {
                continue;
            }
            let argument = after.trim_start();
            let argument = argument.strip_prefix('(').unwrap_or(argument);
            if keyword == "require" && !after.trim_start().starts_with('(') {
                continue;
            }
            if let Some(specifier) = leading_string(argument).filter(|s| !s.is_empty()) {
                found.push((before, specifier));
            }
        }
    }
    found.sort_unstable();
    let mut refs: Vec<ImportRef> = Vec::new();
    for (_, specifier) in found {
        let reference = ImportRef::Script(specifier.to_owned());
        if !refs.contains(&reference) {
            refs.push(reference);
        }
    }
    refs
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '$' || c == '.'
}

/// `baseUrl` and `paths` of a `tsconfig.json` (comments and trailing commas allowed).
pub(super) fn tsconfig(source: &str) -> Option<TsConfig> {
    let cleaned = strip_trailing_commas(&strip_comments(source, &['"', '\'', '`']));
    let value: serde_json::Value = serde_json::from_str(&cleaned).ok()?;
    let options = value.get("compilerOptions")?;
    let base_url = options.get("baseUrl").and_then(|url| url.as_str()).map(str::to_owned);
    let paths = options
        .get("paths")
        .and_then(|paths| paths.as_object())
        .map(|paths| {
            paths
                .iter()
                .map(|(pattern, targets)| {
                    let targets = targets
                        .as_array()
                        .map(|targets| {
                            targets.iter().filter_map(|t| t.as_str().map(str::to_owned)).collect()
                        })
                        .unwrap_or_default();
                    (pattern.clone(), targets)
                })
                .collect()
        })
        .unwrap_or_default();
    Some(TsConfig { base_url, paths })
}

fn strip_trailing_commas(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let characters: Vec<char> = text.chars().collect();
    for (index, character) in characters.iter().enumerate() {
        if *character == ',' {
            let next = characters[index + 1..].iter().find(|c| !c.is_whitespace());
            if matches!(next, Some('}' | ']')) {
                continue;
            }
        }
        out.push(*character);
    }
    out
}

/// The file a module path names: itself, with an extension, or its `index` file.
fn module_file(index: &TreeIndex, path: &str) -> Option<String> {
    let mut candidates = vec![path.to_owned()];
    candidates.extend(EXTENSIONS.iter().map(|extension| format!("{path}{extension}")));
    if let Some(stem) = path.strip_suffix(".js").or_else(|| path.strip_suffix(".jsx")) {
        candidates.extend([format!("{stem}.ts"), format!("{stem}.tsx")]);
    }
    candidates.extend(
        ["index.ts", "index.tsx", "index.js", "index.jsx"].iter().map(|name| join(path, name)),
    );
    index.first_existing(candidates)
}

pub(super) fn resolve(index: &TreeIndex, from: &str, specifier: &str) -> Vec<String> {
    if specifier.starts_with("./") || specifier.starts_with("../") {
        return normalize(parent(from), specifier)
            .and_then(|path| module_file(index, &path))
            .into_iter()
            .collect();
    }
    let Some((folder, config)) = governing_config(index, from) else { return Vec::new() };
    let base = config.base_url.as_deref().unwrap_or(".");
    for (pattern, targets) in &config.paths {
        let Some(matched) = match_pattern(pattern, specifier) else { continue };
        for target in targets {
            let substituted = target.replace('*', matched);
            let found = normalize(folder, &join(base, &substituted))
                .and_then(|path| module_file(index, &path));
            if let Some(found) = found {
                return vec![found];
            }
        }
    }
    match config.base_url.as_deref() {
        Some(base) => normalize(folder, &join(base, specifier))
            .and_then(|path| module_file(index, &path))
            .into_iter()
            .collect(),
        None => Vec::new(),
    }
}

/// The nearest `tsconfig.json` in `from`'s folder or above.
fn governing_config<'a>(index: &'a TreeIndex, from: &str) -> Option<(&'a str, &'a TsConfig)> {
    index
        .ts_configs
        .iter()
        .filter(|(folder, _)| folder.is_empty() || from.starts_with(&format!("{folder}/")))
        .max_by_key(|(folder, _)| folder.len())
        .map(|(folder, config)| (folder.as_str(), config))
}

/// What `*` stood for when `specifier` matches `pattern` (`""` for an exact pattern).
fn match_pattern<'a>(pattern: &str, specifier: &'a str) -> Option<&'a str> {
    match pattern.split_once('*') {
        None => (pattern == specifier).then_some(""),
        Some((prefix, suffix)) => specifier
            .strip_prefix(prefix)
            .and_then(|rest| rest.strip_suffix(suffix))
            .filter(|_| specifier.len() >= prefix.len() + suffix.len()),
    }
}
