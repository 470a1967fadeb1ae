//! Rust: `mod name;` declarations and `use` paths (also `pub use` re-exports and grouped
//! `use a::{b, c::d}`), resolved through the module tree: `crate::`, `self::`, `super::`,
//! workspace crates by name, and child modules.

use super::{ImportRef, TreeIndex, file_name, join, parent, strip_comments};

/// Crates that are never files of the tree.
const EXTERNAL: &[&str] = &["std", "core", "alloc", "proc_macro", "test"];

/// The `mod` and `use` references of a Rust file.
pub(super) fn extract(source: &str) -> Vec<ImportRef> {
    let text = strip_comments(source, &['"']);
    let mut refs = Vec::new();
    for statement in statements(&text) {
        let statement = strip_visibility(statement.trim());
        if let Some(rest) = statement.strip_prefix("mod ") {
            let name = rest.trim();
            if is_identifier(name) {
                refs.push(ImportRef::RustMod(name.to_owned()));
            }
        } else if let Some(rest) = statement.strip_prefix("use ") {
            let mut paths = Vec::new();
            expand(&[], rest.trim(), &mut paths);
            refs.extend(paths.into_iter().map(ImportRef::RustUse));
        }
    }
    refs
}

/// Statements ending in `;` at brace depth 0 relative to their start, starting at a line that
/// begins with `mod`, `use` or a visibility followed by one (attributes are skipped).
fn statements(text: &str) -> Vec<&str> {
    let mut found = Vec::new();
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let start = offset;
        offset += line.len();
        let trimmed = strip_visibility(strip_attributes(line.trim_start()));
        if !(trimmed.starts_with("mod ") || trimmed.starts_with("use ")) {
            continue;
        }
        let from = start + (line.len() - line.trim_start().len());
        if let Some(end) = statement_end(&text[from..]) {
            found.push(&text[from..from + end]);
        }
    }
    found
}

/// The end of a statement: the first `;` outside braces, unless a `{` body comes first at
/// depth 0 after a `mod` (an inline module, not a declaration).
fn statement_end(text: &str) -> Option<usize> {
    let is_mod = strip_visibility(strip_attributes(text)).starts_with("mod ");
    let mut depth = 0usize;
    for (index, character) in text.char_indices() {
        match character {
            '{' if is_mod && depth == 0 => return None,
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            ';' if depth == 0 => return Some(index),
            _ => {}
        }
    }
    None
}

fn strip_attributes(text: &str) -> &str {
    let mut text = text;
    while text.starts_with("#[") {
        match text.find(']') {
            Some(end) => text = text[end + 1..].trim_start(),
            None => return text,
        }
    }
    text
}

fn strip_visibility(text: &str) -> &str {
    let Some(rest) = text.strip_prefix("pub") else { return text };
    let rest = rest.trim_start();
    match rest.strip_prefix('(') {
        Some(inner) => inner.find(')').map_or(rest, |end| inner[end + 1..].trim_start()),
        None => rest,
    }
}

fn is_identifier(text: &str) -> bool {
    let text = text.strip_prefix("r#").unwrap_or(text);
    !text.is_empty() && text.chars().all(|c| c.is_alphanumeric() || c == '_')
}

/// Expands a use tree under `prefix` into full paths.
fn expand(prefix: &[String], tree: &str, out: &mut Vec<Vec<String>>) {
    let tree = tree.trim().trim_start_matches("::");
    if let Some(open) = tree.find('{') {
        let head: Vec<String> = segments(&tree[..open]);
        let close = tree.rfind('}').unwrap_or(tree.len());
        let mut base = prefix.to_vec();
        base.extend(head);
        for item in split_top_level(&tree[open + 1..close]) {
            let item = item.trim();
            match item {
                "" => {}
                "self" => out.push(base.clone()),
                _ => expand(&base, item, out),
            }
        }
        return;
    }
    let path = tree.split(" as ").next().unwrap_or(tree);
    let mut full = prefix.to_vec();
    full.extend(segments(path).into_iter().filter(|segment| segment != "*"));
    if !full.is_empty() {
        out.push(full);
    }
}

fn segments(path: &str) -> Vec<String> {
    path.split("::")
        .map(str::trim)
        .filter(|segment| !segment.is_empty())
        .map(|segment| segment.trim_start_matches("r#").to_owned())
        .collect()
}

fn split_top_level(text: &str) -> Vec<&str> {
    let mut items = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (index, character) in text.char_indices() {
        match character {
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                items.push(&text[start..index]);
                start = index + 1;
            }
            _ => {}
        }
    }
    items.push(&text[start..]);
    items
}

/// Whether `path` is a module root whose children live beside it (`lib.rs`, `main.rs`, `mod.rs`).
fn is_root_like(path: &str) -> bool {
    matches!(file_name(path), "lib.rs" | "main.rs" | "mod.rs")
}

/// The folder holding the children of `path`'s module.
fn children_folder(path: &str) -> String {
    match is_root_like(path) {
        true => parent(path).to_owned(),
        false => join(parent(path), file_name(path).trim_end_matches(".rs")),
    }
}

/// The file of module `name` in `folder`: `name.rs` or `name/mod.rs`.
fn module_file(index: &TreeIndex, folder: &str, name: &str) -> Option<String> {
    index.first_existing([
        join(folder, &format!("{name}.rs")),
        join(folder, &format!("{name}/mod.rs")),
    ])
}

pub(super) fn resolve_mod(index: &TreeIndex, from: &str, name: &str) -> Vec<String> {
    module_file(index, &children_folder(from), name).into_iter().collect()
}

/// The crate root file of `from`: the nearest `lib.rs` or `main.rs` in it or an ancestor folder.
fn crate_root(index: &TreeIndex, from: &str) -> Option<String> {
    let mut folder = parent(from);
    loop {
        if let Some(root) = index.first_existing([join(folder, "lib.rs"), join(folder, "main.rs")])
        {
            return Some(root);
        }
        if folder.is_empty() {
            return None;
        }
        folder = parent(folder);
    }
}

/// The module file that a path names, walking from `root` (a module file) through `segments`
/// as far as modules exist; `root` itself when the first segment is no module.
fn walk(index: &TreeIndex, root: String, segments: &[String]) -> Option<String> {
    let mut current = root;
    for segment in segments {
        match module_file(index, &children_folder(&current), segment) {
            Some(next) => current = next,
            None => break,
        }
    }
    Some(current)
}

pub(super) fn resolve_use(index: &TreeIndex, from: &str, segments: &[String]) -> Vec<String> {
    let Some((first, rest)) = segments.split_first() else { return Vec::new() };
    let found = match first.as_str() {
        "crate" => crate_root(index, from).and_then(|root| walk(index, root, rest)),
        "self" => walk(index, from.to_owned(), rest),
        "super" => {
            let mut module = parent_module(index, from);
            let mut rest = rest;
            while let Some(("super", tail)) = rest.split_first().map(|(s, t)| (s.as_str(), t)) {
                module = module.and_then(|m| parent_module(index, &m));
                rest = tail;
            }
            module.and_then(|module| walk(index, module, rest))
        }
        name if EXTERNAL.contains(&name) => None,
        name => match index.rust_crates.get(name) {
            Some(root) => walk(index, root.clone(), rest),
            None => module_file(index, &children_folder(from), name)
                .and_then(|module| walk(index, module, rest)),
        },
    };
    found.into_iter().collect()
}

/// The module file of `from`'s parent module.
fn parent_module(index: &TreeIndex, from: &str) -> Option<String> {
    let folder = match is_root_like(from) {
        true => parent(parent(from)).to_owned(),
        false => parent(from).to_owned(),
    };
    let name = file_name(&folder).to_owned();
    let above = parent(&folder).to_owned();
    index.first_existing([
        join(&folder, "mod.rs"),
        join(&folder, "lib.rs"),
        join(&folder, "main.rs"),
        join(&above, &format!("{name}.rs")),
    ])
}
