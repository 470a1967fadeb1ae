//! Change classification, before any rule fires: which changed lines bear behaviour. Blank
//! lines, comments, docstrings, documentation and lint attributes, deprecation notices, lines
//! moved or renamed within the change (a file moved, code moved between files), lines that
//! differ only in formatting, and lines that differ only in type annotations bear none. A change
//! none of whose lines bears behaviour is a refactor as far as the rules can tell: it is not
//! asked for tests, and moved lines raise no line findings.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::LazyLock;

use nectr_domain::diff::{FileDiff, Hunk, LineKind};
use regex::Regex;

use super::regex;

/// Type annotations of Python and TypeScript (`: int`, `-> str`, `: Promise<void>`).
static ANNOTATION: LazyLock<Regex> = LazyLock::new(|| {
    let name = r"(?:[A-Z][\w.]*|int|str|float|bool|bytes|list|dict|tuple|set|type|object|string|number|boolean|any|unknown|void|never|null|undefined)\b(?:\s*[\[<][^=)]*[\]>])?";
    regex(&format!(r"\s*->\s*[^:=]+|\s*:\s*{name}(?:\s*\|\s*{name})*"))
});
/// Identifiers and everything else, one token at a time.
static TOKEN: LazyLock<Regex> = LazyLock::new(|| regex(r"[A-Za-z_][A-Za-z0-9_]*|\S"));

/// What a changed line is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum LineClass {
    /// Changes what the program does.
    Behaviour,
    /// Blank, comment, docstring, documentation or lint attribute, deprecation notice.
    Commentary,
    /// Moved, renamed, reformatted or re-annotated: the same code as a removed line.
    Reshaped,
}

/// Whether `path` uses `#` comments.
fn hash_comments(path: &str) -> bool {
    let extension = path.rsplit_once('.').map_or("", |(_, extension)| extension);
    matches!(extension, "py" | "rb" | "sh" | "toml" | "yaml" | "yml" | "pl" | "r")
}

/// Whether a line is commentary on its own, whatever surrounds it.
fn is_commentary(path: &str, text: &str) -> bool {
    let trimmed = text.trim();
    trimmed.is_empty()
        || trimmed.starts_with("//")
        || trimmed.starts_with("/*")
        || trimmed.starts_with("*")
        || (hash_comments(path) && trimmed.starts_with('#'))
        || trimmed.starts_with("#[doc")
        || trimmed.starts_with("#![doc")
        || trimmed.starts_with("#[deprecated")
        || trimmed.starts_with("#[must_use")
        || trimmed.starts_with("#[inline")
        || trimmed.starts_with("#[allow(")
        || trimmed.starts_with("#[expect(")
        || trimmed.starts_with("#[cfg_attr(docsrs")
        || trimmed.starts_with("@Deprecated")
        || trimmed.starts_with("@deprecated")
        || trimmed.starts_with("@SuppressWarnings")
        || trimmed.starts_with("@Override")
        || trimmed.starts_with("@since")
        || (trimmed.contains("DeprecationWarning") && trimmed.contains("warn"))
}

/// The text with whitespace, trailing commas and semicolons removed: what formatting cannot
/// change.
fn normalised(text: &str) -> String {
    let compact: String = text.chars().filter(|character| !character.is_whitespace()).collect();
    compact.trim_end_matches([',', ';']).to_owned()
}

/// A comment's words, without its markers and spacing: what re-indenting or re-wrapping
/// markers (`//x` to `// x`) cannot change.
fn comment_words(text: &str) -> String {
    normalised(text).trim_start_matches(['/', '#', '*', '!', '-']).to_owned()
}

/// The text without type annotations, normalised (Python and TypeScript only; elsewhere the
/// text normalised).
fn unannotated(path: &str, text: &str) -> String {
    let extension = path.rsplit_once('.').map_or("", |(_, extension)| extension);
    match extension {
        "py" | "pyi" | "ts" | "tsx" | "mts" | "cts" => {
            normalised(&ANNOTATION.replace_all(text, ""))
        }
        _ => normalised(text),
    }
}

/// Per changed line of a hunk, whether it is inside a Python docstring (`"""` or `'''`).
fn docstring_lines(hunk: &Hunk, side: LineKind) -> Vec<bool> {
    let mut inside = false;
    hunk.lines
        .iter()
        .map(|line| {
            if line.kind != side && line.kind != LineKind::Context {
                return false;
            }
            let quotes = line.text.matches("\"\"\"").count() + line.text.matches("'''").count();
            let starts_here = !inside && quotes > 0;
            let was_inside = inside;
            if quotes % 2 == 1 {
                inside = !inside;
            }
            let bare = line.text.trim_start();
            was_inside
                || (starts_here
                    && (bare.starts_with("\"\"\"")
                        || bare.starts_with("'''")
                        || bare.starts_with("r\"\"\"")))
        })
        .collect()
}

/// Whether `path` is in a language with `/* … */` block comments.
fn block_comments(path: &str) -> bool {
    let extension = path.rsplit_once('.').map_or("", |(_, extension)| extension);
    matches!(
        extension,
        "rs" | "js"
            | "jsx"
            | "ts"
            | "tsx"
            | "mjs"
            | "cjs"
            | "mts"
            | "go"
            | "java"
            | "kt"
            | "c"
            | "h"
            | "cpp"
            | "cc"
            | "hpp"
            | "cs"
            | "swift"
            | "scala"
            | "php"
    )
}

/// The numbers of the lines of `lines` that lie inside a `/* … */` block comment (a code
/// example in a JSDoc or Javadoc comment, say), strings and `//` comments skipped (roughly).
fn block_comment_lines<'a>(lines: impl Iterator<Item = (u64, &'a str)>) -> BTreeSet<u64> {
    let mut inside_lines = BTreeSet::new();
    let mut inside = false;
    for (number, text) in lines {
        let started_inside = inside;
        let mut quote: Option<char> = None;
        let mut characters = text.chars().peekable();
        let mut code = false;
        while let Some(character) = characters.next() {
            match (inside, quote, character) {
                (true, _, '*') if characters.peek() == Some(&'/') => {
                    characters.next();
                    inside = false;
                }
                (true, _, _) => {}
                (false, Some(open), _) if character == open => quote = None,
                (false, Some(_), '\\') => {
                    characters.next();
                }
                (false, Some(_), _) => {}
                (false, None, '"' | '\'' | '`') => {
                    quote = Some(character);
                    code = true;
                }
                (false, None, '/') if characters.peek() == Some(&'/') => break,
                (false, None, '/') if characters.peek() == Some(&'*') => {
                    characters.next();
                    inside = true;
                }
                (false, None, other) => code |= !other.is_whitespace(),
            }
        }
        if (started_inside || inside) && !code {
            inside_lines.insert(number);
        }
    }
    inside_lines
}

/// The new-side lines of `file` inside block comments: from its text at the head commit when
/// given, else from each hunk on its own.
fn commented_lines(file: &FileDiff, source: Option<&str>) -> BTreeSet<u64> {
    if !block_comments(&file.path) {
        return BTreeSet::new();
    }
    match source {
        Some(text) => block_comment_lines((1_u64..).zip(text.lines())),
        None => file
            .hunks
            .iter()
            .flat_map(|hunk| {
                block_comment_lines(hunk.lines.iter().filter_map(|line| {
                    let number = line.new_line?;
                    (line.kind != LineKind::Removed).then_some((number, line.text.as_str()))
                }))
            })
            .collect(),
    }
}

/// A multiset of strings.
#[derive(Default)]
struct Bag(HashMap<String, usize>);

impl Bag {
    fn add(&mut self, key: String) {
        *self.0.entry(key).or_default() += 1;
    }

    fn take(&mut self, key: &str) -> bool {
        match self.0.get_mut(key) {
            Some(count) if *count > 0 => {
                *count -= 1;
                true
            }
            _ => false,
        }
    }
}

/// Whether `removed` and `added` are the same lines but for identifiers renamed consistently,
/// each renamed identifier at least twice (a definition and a use: one changed name is as likely
/// a changed argument).
fn renamed_only(removed: &[&str], added: &[&str]) -> bool {
    if removed.len() != added.len() || removed.is_empty() {
        return false;
    }
    let mut renames: HashMap<&str, &str> = HashMap::new();
    let mut uses: HashMap<&str, usize> = HashMap::new();
    let is_identifier = |token: &str| token.starts_with(|c: char| c.is_alphabetic() || c == '_');
    for (old, new) in removed.iter().zip(added) {
        let old_tokens: Vec<&str> = TOKEN.find_iter(old).map(|token| token.as_str()).collect();
        let new_tokens: Vec<&str> = TOKEN.find_iter(new).map(|token| token.as_str()).collect();
        if old_tokens.len() != new_tokens.len() {
            return false;
        }
        for (old_token, new_token) in old_tokens.iter().zip(&new_tokens) {
            if old_token == new_token {
                continue;
            }
            if !is_identifier(old_token) || !is_identifier(new_token) {
                return false;
            }
            if *renames.entry(old_token).or_insert(new_token) != *new_token {
                return false;
            }
            *uses.entry(old_token).or_default() += 1;
        }
    }
    !renames.is_empty() && uses.values().all(|count| *count >= 2)
}

/// The class of every added line of `files`, by file index and new line number. Removed lines
/// anywhere in the change count (code moved between files is reshaped, not new).
pub(super) fn classify(
    files: &[FileDiff],
    sources: &BTreeMap<String, String>,
) -> HashMap<(usize, u64), LineClass> {
    let mut removed = Bag::default();
    let mut removed_bare = Bag::default();
    let mut removed_comments = Bag::default();
    for file in files {
        for hunk in &file.hunks {
            let docstrings = docstring_lines(hunk, LineKind::Removed);
            for (line, in_docstring) in hunk.lines.iter().zip(docstrings) {
                match (line.kind, in_docstring || is_commentary(&file.path, &line.text)) {
                    (LineKind::Removed, false) => {
                        removed.add(normalised(&line.text));
                        removed_bare.add(unannotated(&file.path, &line.text));
                    }
                    (LineKind::Removed, true) => removed_comments.add(comment_words(&line.text)),
                    _ => {}
                }
            }
        }
    }
    let mut classes = HashMap::new();
    for (index, file) in files.iter().enumerate() {
        let commented = commented_lines(file, sources.get(&file.path).map(String::as_str));
        for hunk in &file.hunks {
            let docstrings = docstring_lines(hunk, LineKind::Added);
            let hunk_removed: Vec<&str> = hunk
                .lines
                .iter()
                .filter(|line| {
                    line.kind == LineKind::Removed && !is_commentary(&file.path, &line.text)
                })
                .map(|line| line.text.as_str())
                .collect();
            let hunk_added: Vec<&str> = hunk
                .lines
                .iter()
                .filter(|line| {
                    line.kind == LineKind::Added && !is_commentary(&file.path, &line.text)
                })
                .map(|line| line.text.as_str())
                .collect();
            let renamed = renamed_only(&hunk_removed, &hunk_added);
            let reflowed = !hunk_added.is_empty()
                && hunk_removed.iter().map(|text| normalised(text)).collect::<String>()
                    == hunk_added.iter().map(|text| normalised(text)).collect::<String>();
            for (line, in_docstring) in hunk.lines.iter().zip(docstrings) {
                let (LineKind::Added, Some(number)) = (line.kind, line.new_line) else { continue };
                let class = if in_docstring
                    || commented.contains(&number)
                    || is_commentary(&file.path, &line.text)
                {
                    if removed_comments.take(&comment_words(&line.text)) {
                        LineClass::Reshaped
                    } else {
                        LineClass::Commentary
                    }
                } else if renamed
                    || reflowed
                    || removed.take(&normalised(&line.text))
                    || removed_bare.take(&unannotated(&file.path, &line.text))
                {
                    LineClass::Reshaped
                } else {
                    LineClass::Behaviour
                };
                classes.insert((index, number), class);
            }
        }
    }
    classes
}

#[cfg(test)]
mod tests {
    use nectr_domain::diff::parse_unified_diff;

    use super::*;

    fn behaviour(diff: &str) -> usize {
        let files = parse_unified_diff(diff).unwrap_or_else(|error| panic!("{error}"));
        classify(&files, &BTreeMap::new())
            .values()
            .filter(|class| **class == LineClass::Behaviour)
            .count()
    }

    #[test]
    fn comments_docstrings_formatting_annotations_renames_and_moves_bear_no_behaviour() {
        let docstring = "diff --git a/a.py b/a.py\n--- a/a.py\n+++ b/a.py\n@@ -1,3 +1,6 @@\n def f(x):\n+    \"\"\"Return x.\n+\n+    Deprecated: use g.\n+    \"\"\"\n+    # why\n     return x\n";
        assert_eq!(behaviour(docstring), 0);
        let annotated = "diff --git a/a.py b/a.py\n--- a/a.py\n+++ b/a.py\n@@ -1,2 +1,2 @@\n-def f(x, y=None):\n+def f(x: int, y: Optional[str] = None) -> int:\n     return x\n";
        assert_eq!(behaviour(annotated), 0);
        let formatted = "diff --git a/a.rs b/a.rs\n--- a/a.rs\n+++ b/a.rs\n@@ -1,1 +1,3 @@\n-let x = call(a, b);\n+let x = call(\n+    a, b,\n+);\n";
        assert_eq!(behaviour(formatted), 0);
        let renamed = "diff --git a/a.go b/a.go\n--- a/a.go\n+++ b/a.go\n@@ -1,2 +1,2 @@\n-\told := compute(x)\n-\treturn old + 1\n+\tvalue := compute(x)\n+\treturn value + 1\n";
        assert_eq!(behaviour(renamed), 0);
        let moved = "diff --git a/a.rs b/a.rs\n--- a/a.rs\n+++ b/a.rs\n@@ -1,2 +1,1 @@\n fn a() {}\n-fn moved() { work(); }\ndiff --git a/b.rs b/b.rs\n--- a/b.rs\n+++ b/b.rs\n@@ -1,1 +1,2 @@\n fn b() {}\n+fn moved() { work(); }\n";
        assert_eq!(behaviour(moved), 0);
        let argument = "diff --git a/a.rs b/a.rs\n--- a/a.rs\n+++ b/a.rs\n@@ -1,1 +1,1 @@\n-let x = call(a, b);\n+let x = call(a, c);\n";
        assert_eq!(behaviour(argument), 1);
        let value = "diff --git a/a.py b/a.py\n--- a/a.py\n+++ b/a.py\n@@ -1,1 +1,1 @@\n-d = {\"a\": x}\n+d = {\"a\": y}\n";
        assert_eq!(behaviour(value), 1);
        let changed = "diff --git a/a.rs b/a.rs\n--- a/a.rs\n+++ b/a.rs\n@@ -1,1 +1,2 @@\n-let x = call(a, b);\n+let x = call(a, c);\n+if x { stop(); }\n";
        assert_eq!(behaviour(changed), 2);
        let example = "diff --git a/a.ts b/a.ts\n--- a/a.ts\n+++ b/a.ts\n@@ -1,2 +1,5 @@\n /**\n+```\n+console.log(x);\n+```\n */\n";
        assert_eq!(behaviour(example), 0);
        let glob = "diff --git a/a.ts b/a.ts\n--- a/a.ts\n+++ b/a.ts\n@@ -1,1 +1,3 @@\n x();\n+const files = glob('src/**/*.ts');\n+run(files);\n";
        assert_eq!(behaviour(glob), 2);
    }
}
