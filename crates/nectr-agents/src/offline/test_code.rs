//! Test code, wherever it is: test files by the layouts of Rust (`tests/`, benches, examples,
//! `build.rs`), Python (`tests/`, `test_*.py`, `*_test.py`, `conftest.py`), Go (`_test.go`),
//! JavaScript and TypeScript (`*.test.ts`, `*.spec.js`, `__tests__/`) and Java (`src/test/`);
//! and, inside Rust source, `#[cfg(test)]` items and `#[test]` functions, found in the file at the
//! head commit when the caller has it, else in what the diff shows (the hunk header's enclosing
//! line, `@@ … @@ mod tests {`, and the hunk's own lines).

use std::collections::BTreeSet;

use nectr_domain::budget::is_test_path;
use nectr_domain::diff::{FileDiff, LineKind};

/// Whether the whole file is test, benchmark, example or build-script code.
pub(super) fn is_test_file(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    let name = lower.rsplit('/').next().unwrap_or(&lower);
    let in_folder = |folder: &str| {
        lower.starts_with(&format!("{folder}/")) || lower.contains(&format!("/{folder}/"))
    };
    is_test_path(path)
        || ["benches", "examples", "example", "testdata", "testing", "fixtures", "e2e"]
            .iter()
            .any(|folder| in_folder(folder))
        || lower.contains("src/test/")
        || name == "build.rs"
        || name == "conftest.py"
        || name == "tests.py"
        || name.ends_with("_test.rs")
        || name.ends_with("test.java")
        || name.ends_with("tests.java")
        || name.ends_with("_bench_test.go")
}

/// Attributes that make the next item test code.
fn is_test_attribute(line: &str) -> bool {
    let trimmed = line.trim_start();
    trimmed.starts_with("#[cfg(test)]")
        || trimmed.starts_with("#[cfg(all(test")
        || trimmed.starts_with("#[test]")
        || trimmed.starts_with("#[bench]")
        || (trimmed.starts_with("#[") && trimmed.contains("::test"))
        || trimmed.starts_with("#[rstest")
        || trimmed.starts_with("#[test_case")
        || trimmed.starts_with("#[quickcheck")
        || trimmed.starts_with("#[proptest")
}

/// `{` minus `}` on a line, outside `//` comments, strings and character literals (roughly).
fn brace_balance(line: &str) -> i64 {
    let mut balance = 0;
    let mut in_string = false;
    let mut previous = ' ';
    let mut chars = line.chars().peekable();
    while let Some(character) = chars.next() {
        match (in_string, character) {
            (false, '/') if chars.peek() == Some(&'/') => break,
            (false, '"') => in_string = true,
            (true, '"') if previous != '\\' => in_string = false,
            (false, '\'') if chars.peek().is_some_and(|next| matches!(next, '{' | '}')) => {
                chars.next();
            }
            (false, '{') => balance += 1,
            (false, '}') => balance -= 1,
            _ => {}
        }
        previous = if previous == '\\' && character == '\\' { ' ' } else { character };
    }
    balance
}

/// The numbers of the lines of `lines` (numbered, in order) that belong to a test item: from a
/// test attribute to the brace that closes the item it marks.
fn test_item_lines<'a>(lines: impl Iterator<Item = (u64, &'a str)>) -> BTreeSet<u64> {
    let mut inside = BTreeSet::new();
    let mut depth: i64 = 0;
    // The depth at which the current test item opened, once its `{` is seen.
    let mut item_depth: Option<i64> = None;
    let mut pending = false;
    for (number, text) in lines {
        let balance = brace_balance(text);
        match item_depth {
            Some(start) => {
                inside.insert(number);
                depth += balance;
                if depth <= start {
                    item_depth = None;
                }
            }
            None if pending || is_test_attribute(text) => {
                inside.insert(number);
                let before = depth;
                depth += balance;
                pending = true;
                if text.contains('{') {
                    pending = false;
                    if depth > before {
                        item_depth = Some(before);
                    }
                } else if text.trim_end().ends_with(';') {
                    pending = false;
                }
            }
            None => depth += balance,
        }
    }
    inside
}

/// Whether a hunk header's enclosing line says the hunk is inside test code.
fn section_is_test(section: &str) -> bool {
    let section = section.trim_start();
    let rust_module = section
        .strip_prefix("pub ")
        .unwrap_or(section)
        .strip_prefix("mod ")
        .is_some_and(|name| name.starts_with("test") || name.contains("_test"));
    rust_module
        || section.starts_with("fn test_")
        || section.starts_with("async fn test_")
        || section.starts_with("def test_")
        || section.starts_with("class Test")
        || section.starts_with("func Test")
        || section.starts_with("describe(")
}

/// The new-side line numbers of `file` that are test code, from its text at the head commit
/// when given, and from what the diff shows.
pub(super) fn test_lines(file: &FileDiff, source: Option<&str>) -> BTreeSet<u64> {
    let mut lines = match source {
        Some(text) => test_item_lines((1_u64..).zip(text.lines())),
        None => BTreeSet::new(),
    };
    // What the diff shows: the header's enclosing line, test items within a hunk, and whatever
    // follows a `#[cfg(test)]` the diff shows (a test module is the end of its file).
    let mut after_cfg_test = false;
    for hunk in &file.hunks {
        let new_side = || {
            hunk.lines.iter().filter_map(|line| {
                let number = line.new_line?;
                (line.kind != LineKind::Removed).then_some((number, line.text.as_str()))
            })
        };
        if section_is_test(&hunk.section) {
            lines.extend(new_side().map(|(number, _)| number));
            continue;
        }
        lines.extend(test_item_lines(new_side()));
        for (number, text) in new_side() {
            if text.trim_start().starts_with("#[cfg(test)]") {
                after_cfg_test = true;
            }
            if after_cfg_test {
                lines.insert(number);
            }
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use nectr_domain::diff::parse_patch;

    use super::*;

    #[test]
    fn test_layouts_of_each_language_are_test_files() {
        for path in [
            "tests/api.rs",
            "crates/x/benches/speed.rs",
            "examples/hello.rs",
            "build.rs",
            "pkg/tests/test_io.py",
            "src/pkg/test_io.py",
            "src/pkg/io_test.py",
            "conftest.py",
            "cmd/root_test.go",
            "src/client.test.ts",
            "src/client.spec.js",
            "src/__tests__/client.ts",
            "gson/src/test/java/com/google/gson/GsonTest.java",
        ] {
            assert!(is_test_file(path), "{path}");
        }
        for path in ["src/lib.rs", "httpx/_client.py", "command.go", "source/index.ts"] {
            assert!(!is_test_file(path), "{path}");
        }
    }

    #[test]
    fn a_test_module_above_the_hunk_is_seen_in_the_header_and_in_the_source() {
        let file = parse_patch(
            "src/lib.rs",
            "@@ -40,2 +40,3 @@ mod tests {\n     fn x() {\n+        y.unwrap();\n     }\n",
        )
        .unwrap_or_else(|error| panic!("{error}"));
        assert!(test_lines(&file, None).contains(&41));
        let plain = parse_patch(
            "src/lib.rs",
            "@@ -40,2 +40,3 @@ impl A {\n     fn x() {\n+        y.unwrap();\n     }\n",
        )
        .unwrap_or_else(|error| panic!("{error}"));
        assert!(!test_lines(&plain, None).contains(&41));
        let source = "fn a() {}\n#[cfg(test)]\nmod tests {\n    #[test]\n    fn t() {\n        y.unwrap();\n    }\n}\nfn after() {\n    z.unwrap();\n}\n";
        let inside = test_lines(&plain, Some(source));
        assert!(inside.contains(&6) && inside.contains(&8));
        assert!(!inside.contains(&1) && !inside.contains(&10), "{inside:?}");
    }

    #[test]
    fn a_test_function_shown_in_the_hunk_is_test_code_until_it_closes() {
        let file = parse_patch(
            "src/lib.rs",
            "@@ -1,3 +1,8 @@\n #[test]\n fn checks() {\n+    let brace = '{';\n+    a.unwrap();\n }\n+fn real() {\n+    b.unwrap();\n+}\n",
        )
        .unwrap_or_else(|error| panic!("{error}"));
        let inside = test_lines(&file, None);
        assert!(inside.contains(&4) && !inside.contains(&7), "{inside:?}");
    }
}
