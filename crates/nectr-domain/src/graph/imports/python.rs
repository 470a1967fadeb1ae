//! Python: `import a.b [as c], d` and `from [..]a.b import (c, d)`, absolute (from the root or
//! `src/`) or relative (leading dots), resolved to `a/b.py` or `a/b/__init__.py`, preferring an
//! imported submodule (`from a import b` → `a/b.py`).

use super::{ImportRef, TreeIndex, join, parent};

/// The imports of a Python file.
pub(super) fn extract(source: &str) -> Vec<ImportRef> {
    let mut refs = Vec::new();
    let mut lines = source.lines();
    while let Some(line) = lines.next() {
        let line = line.split('#').next().unwrap_or("").trim();
        if let Some(rest) = line.strip_prefix("import ") {
            for module in rest.split(',') {
                let module = module.split(" as ").next().unwrap_or("").trim();
                if !module.is_empty() {
                    refs.push(ImportRef::Python {
                        level: 0,
                        module: dotted(module),
                        names: Vec::new(),
                    });
                }
            }
        } else if let Some(rest) = line.strip_prefix("from ") {
            let Some((module, names)) = rest.split_once(" import ") else { continue };
            let mut names = names.trim().to_owned();
            if names.starts_with('(') && !names.contains(')') {
                for more in lines.by_ref() {
                    names.push(' ');
                    names.push_str(more.split('#').next().unwrap_or(""));
                    if more.contains(')') {
                        break;
                    }
                }
            }
            let module = module.trim();
            let level = module.len() - module.trim_start_matches('.').len();
            let names = names
                .trim_matches(|c| c == '(' || c == ')' || c == ' ')
                .split(',')
                .map(|name| {
                    name.split(" as ").next().unwrap_or("").trim().trim_end_matches(')').trim()
                })
                .filter(|name| !name.is_empty() && *name != "*")
                .map(str::to_owned)
                .collect();
            refs.push(ImportRef::Python { level, module: dotted(&module[level..]), names });
        }
    }
    refs
}

fn dotted(module: &str) -> Vec<String> {
    module.split('.').filter(|part| !part.is_empty()).map(str::to_owned).collect()
}

/// `folder/a/b.py` or `folder/a/b/__init__.py`.
fn module_file(index: &TreeIndex, folder: &str, module: &[String]) -> Option<String> {
    let path = join(folder, &module.join("/"));
    match module.is_empty() {
        true => index.first_existing([join(folder, "__init__.py")]),
        false => index.first_existing([format!("{path}.py"), format!("{path}/__init__.py")]),
    }
}

pub(super) fn resolve(
    index: &TreeIndex,
    from: &str,
    level: usize,
    module: &[String],
    names: &[String],
) -> Vec<String> {
    let bases: Vec<String> = match level {
        0 => vec![String::new(), "src".to_owned()],
        _ => {
            let mut folder = parent(from).to_owned();
            for _ in 1..level {
                folder = parent(&folder).to_owned();
            }
            vec![folder]
        }
    };
    for base in &bases {
        let mut found: Vec<String> = names
            .iter()
            .filter_map(|name| {
                let mut submodule = module.to_vec();
                submodule.push(name.clone());
                module_file(index, base, &submodule)
            })
            .collect();
        if found.len() < names.len() || names.is_empty() {
            found.extend(module_file(index, base, module));
        }
        if !found.is_empty() {
            return found;
        }
    }
    Vec::new()
}
