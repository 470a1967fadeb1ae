//! Fitting a pull request into a model's context: files are ranked (risky source first, then
//! other source, tests, documentation; larger changes first within each) and taken whole while
//! they fit, clipped to their first hunks when a useful part fits, and otherwise sent as a name
//! and a size only. Every file ends up in the coverage table: nothing is dropped silently.

use crate::diff::FileDiff;
use crate::review::{Coverage, CoverageEntry};

/// Rough tokens of a text: three bytes per token, on the safe side of what providers document
/// for code (three to four).
pub fn estimate_tokens(text: &str) -> usize {
    text.len().div_ceil(3)
}

/// Tokens a file's diff takes in the prompt, with the eight bytes of line number and marker the
/// prompt adds to each line.
pub fn estimate_file_tokens(file: &FileDiff) -> usize {
    let lines: usize = file.hunks.iter().map(|hunk| hunk.lines.len() + 1).sum();
    estimate_tokens(&file.patch()) + (lines * 8).div_ceil(3)
}

/// Fewest tokens worth sending of a clipped file.
const SMALLEST_CLIP: usize = 300;

/// Path fragments that make a change riskier than its size says.
const RISKY: [&str; 12] = [
    "auth",
    "security",
    "crypto",
    "password",
    "secret",
    "token",
    "payment",
    "sql",
    "migration",
    "permission",
    "session",
    "webhook",
];

/// Test code, by its path.
pub fn is_test_path(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    let name = lower.rsplit('/').next().unwrap_or(&lower);
    lower.contains("/tests/")
        || lower.starts_with("tests/")
        || lower.contains("/test/")
        || lower.starts_with("test/")
        || lower.contains("__tests__")
        || name.starts_with("test_")
        || name.ends_with("_test.go")
        || name.ends_with("_test.py")
        || name.ends_with("tests.rs")
        || name.contains(".test.")
        || name.contains(".spec.")
}

/// What kind of file a path is, in review order.
fn kind(path: &str) -> u8 {
    let lower = path.to_ascii_lowercase();
    let name = lower.rsplit('/').next().unwrap_or(&lower);
    let is_doc = [".md", ".rst", ".txt", ".adoc"].iter().any(|suffix| name.ends_with(suffix))
        || lower.starts_with("docs/")
        || lower.contains("/docs/");
    if is_doc {
        3
    } else if is_test_path(path) {
        2
    } else if RISKY.iter().any(|word| lower.contains(word)) {
        0
    } else {
        1
    }
}

/// The order in which files claim the budget.
pub fn rank(files: &mut [FileDiff]) {
    files.sort_by(|a, b| {
        kind(&a.path)
            .cmp(&kind(&b.path))
            .then_with(|| (b.additions() + b.deletions()).cmp(&(a.additions() + a.deletions())))
            .then_with(|| a.path.cmp(&b.path))
    });
}

/// A file cut to its first hunks, and how many changed lines it kept.
fn clip(file: &FileDiff, tokens: usize) -> Option<(FileDiff, usize)> {
    let mut clipped = FileDiff { hunks: Vec::new(), ..file.clone() };
    for hunk in &file.hunks {
        clipped.hunks.push(hunk.clone());
        if estimate_file_tokens(&clipped) > tokens {
            clipped.hunks.pop();
            break;
        }
    }
    if clipped.hunks.is_empty() {
        return None;
    }
    let kept = clipped.additions() + clipped.deletions();
    Some((clipped, kept))
}

/// The files fitted into `budget_tokens`: those sent (whole or clipped) and the coverage of
/// every input file, in ranked order.
pub fn fit(mut files: Vec<FileDiff>, budget_tokens: usize) -> (Vec<FileDiff>, Vec<CoverageEntry>) {
    rank(&mut files);
    let mut left = budget_tokens;
    let mut sent = Vec::new();
    let mut coverage = Vec::new();
    for file in files {
        let cost = estimate_file_tokens(&file);
        let path = file.path.clone();
        let total = file.additions() + file.deletions();
        if cost <= left {
            left -= cost;
            sent.push(file);
            coverage.push(CoverageEntry { path, coverage: Coverage::Reviewed });
        } else if left >= SMALLEST_CLIP
            && let Some((clipped, kept)) = clip(&file, left)
        {
            left -= estimate_file_tokens(&clipped);
            sent.push(clipped);
            coverage.push(CoverageEntry {
                path,
                coverage: Coverage::Summarised(format!(
                    "clipped to its first {kept} of {total} changed lines to fit the model's context"
                )),
            });
        } else {
            coverage.push(CoverageEntry {
                path,
                coverage: Coverage::Summarised(format!(
                    "over the model's context budget: only its name and size ({total} changed lines) were sent"
                )),
            });
        }
    }
    (sent, coverage)
}

#[cfg(test)]
mod tests {
    use super::{fit, kind};
    use crate::diff::parse_patch;
    use crate::review::Coverage;

    fn file(path: &str, lines: usize) -> crate::diff::FileDiff {
        // Hunks of twenty added lines each.
        let mut patch = String::new();
        for index in 0..lines {
            if index % 20 == 0 {
                let count = (lines - index).min(20);
                let start = index + 1;
                patch.push_str(&format!("@@ -{index},0 +{start},{count} @@\n"));
            }
            patch.push_str(&format!("+let value_{index} = compute({index});\n"));
        }
        parse_patch(path, &patch).unwrap_or_else(|error| panic!("{error}"))
    }

    #[test]
    fn ranks_risky_source_then_source_then_tests_then_docs() {
        assert_eq!(kind("src/auth/session.rs"), 0);
        assert_eq!(kind("src/lib.rs"), 1);
        assert_eq!(kind("tests/api.rs"), 2);
        assert_eq!(kind("web/app.test.ts"), 2);
        assert_eq!(kind("README.md"), 3);
    }

    #[test]
    fn every_file_is_accounted_for_and_the_budget_holds() {
        let files = vec![
            file("README.md", 10),
            file("tests/it.rs", 40),
            file("src/big.rs", 400),
            file("src/auth.rs", 20),
        ];
        let (sent, coverage) = fit(files, 2_000);
        let paths: Vec<&str> = coverage.iter().map(|entry| entry.path.as_str()).collect();
        assert_eq!(paths, ["src/auth.rs", "src/big.rs", "tests/it.rs", "README.md"]);
        assert_eq!(coverage[0].coverage, Coverage::Reviewed);
        assert!(
            matches!(&coverage[1].coverage, Coverage::Summarised(reason) if reason.contains("clipped")),
            "{:?}",
            coverage[1]
        );
        let tokens: usize = sent.iter().map(super::estimate_file_tokens).sum();
        assert!(tokens <= 2_000, "{tokens}");
    }
}
