//! The offline reviewer: rules over the added lines of a diff. Each finding has a severity, a
//! message and, where one exists, a suggested replacement. The rules are tuned to stay quiet on
//! clean code: a labelled corpus under `tests/corpus/` measures their precision and recall.

use std::sync::LazyLock;

use nectr_domain::budget::is_test_path;
use nectr_domain::diff::{FileChange, FileDiff, LineKind};
use nectr_domain::llm::Usage;
use nectr_domain::pipeline::{ModelError, ModelReview, ReviewModel, ReviewRequest};
use nectr_domain::review::{Finding, Severity, StructuredReview, Verdict};
use regex::Regex;

/// Added lines above which a new file is "very large".
const LARGE_FILE_LINES: usize = 1000;
/// Added source lines above which a change without tests is flagged.
const UNTESTED_SOURCE_LINES: usize = 10;

fn regex(pattern: &str) -> Regex {
    // The patterns are constants of this file; the corpus test exercises every one of them.
    Regex::new(pattern)
        .unwrap_or_else(|error| unreachable!("invalid built-in pattern {pattern}: {error}"))
}

static SECRETS: LazyLock<Vec<(Regex, &'static str)>> = LazyLock::new(|| {
    vec![
        (regex(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"), "an AWS access key id"),
        (regex(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b"), "a GitHub token"),
        (regex(r"\bgithub_pat_[A-Za-z0-9_]{22,}\b"), "a GitHub fine-grained token"),
        (regex(r"\bxox[abprs]-[A-Za-z0-9-]{10,}"), "a Slack token"),
        (
            regex(r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED )?PRIVATE KEY-----"),
            "a private key",
        ),
    ]
});
static CONNECTION_PASSWORD: LazyLock<Regex> =
    LazyLock::new(|| regex(r"\b[a-z][a-z0-9+.-]*://[^/\s:@'\x22]+:([^@\s/'\x22]+)@[A-Za-z0-9.-]"));
static TODO: LazyLock<Regex> = LazyLock::new(|| regex(r"\b(?:TODO|FIXME)\b"));
static ISSUE_REFERENCE: LazyLock<Regex> =
    LazyLock::new(|| regex(r"#\d+|\b[A-Z][A-Z0-9]+-\d+\b|https?://|\bissue\s+\d+"));
static TLS_DISABLED: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    [
        r"\bverify\s*=\s*False\b",
        r"rejectUnauthorized\s*:\s*false",
        r"InsecureSkipVerify\s*:\s*true",
        r"danger_accept_invalid_certs\s*\(\s*true\s*\)",
        r"NODE_TLS_REJECT_UNAUTHORIZED\W*=\W*0",
        r"_create_unverified_context\s*\(",
        r"CURLOPT_SSL_VERIFYPEER\s*,\s*(?:false|0)\b",
    ]
    .iter()
    .map(|pattern| regex(pattern))
    .collect()
});
static SQL: LazyLock<Regex> = LazyLock::new(|| {
    regex(r"(?i)\b(?:select\b.+\bfrom|insert\s+into|update\b.+\bset|delete\s+from)\b")
});
static SQL_BUILT: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r#"(?:["'`]\s*\+\s*[A-Za-z_]|[A-Za-z_)\]]\s*\+\s*["'`]|\bf["']|format!\s*\(|\.format\s*\(|%\s*\(|["']\s*%\s*[A-Za-z_]|\$\{|fmt\.Sprintf\s*\()"#,
    )
});
static EVAL: LazyLock<Regex> =
    LazyLock::new(|| regex(r#"(?:^|[^\w.])(?:eval|exec)\s*\(\s*([^)\s]?)|new\s+Function\s*\("#));
static CONFLICT: LazyLock<Regex> = LazyLock::new(|| regex(r"^(?:<{7} |={7}$|>{7} )"));

/// Lockfiles and the manifests they belong to.
const LOCKFILES: [(&str, &str); 7] = [
    ("Cargo.lock", "Cargo.toml"),
    ("package-lock.json", "package.json"),
    ("yarn.lock", "package.json"),
    ("pnpm-lock.yaml", "package.json"),
    ("poetry.lock", "pyproject.toml"),
    ("Gemfile.lock", "Gemfile"),
    ("go.sum", "go.mod"),
];

const SOURCE_EXTENSIONS: [&str; 14] =
    ["rs", "py", "js", "ts", "tsx", "jsx", "go", "java", "kt", "rb", "php", "c", "cpp", "cs"];

fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

fn extension(path: &str) -> &str {
    let name = file_name(path);
    name.rsplit_once('.').map_or("", |(_, extension)| extension)
}

fn is_source(path: &str) -> bool {
    SOURCE_EXTENSIONS.contains(&extension(path))
}

/// The reviewer. Stateless; share it freely.
#[derive(Clone, Copy, Debug, Default)]
pub struct OfflineReviewer;

struct Context<'a> {
    file: &'a FileDiff,
    test_code: bool,
}

impl OfflineReviewer {
    /// Every finding in the diff, in file order.
    pub fn findings(&self, files: &[FileDiff]) -> Vec<Finding> {
        let mut findings = Vec::new();
        for file in files.iter().filter(|file| file.change != FileChange::Deleted && !file.binary) {
            let test_file = is_test_path(&file.path);
            let mut in_test_module = false;
            for line in file.hunks.iter().flat_map(|hunk| hunk.lines.iter()) {
                if line.text.contains("#[cfg(test)]") {
                    in_test_module = true;
                }
                let (LineKind::Added, Some(number)) = (line.kind, line.new_line) else { continue };
                let context = Context { file, test_code: test_file || in_test_module };
                check_line(&context, number, &line.text, &mut findings);
            }
            if file.change == FileChange::Added && file.additions() > LARGE_FILE_LINES {
                findings.push(finding(
                    file,
                    1,
                    Severity::Moderate,
                    "large-file",
                    "Very large new file",
                    &format!(
                        "This file adds {} lines. Reviewers cannot read that much at once; split it, or mark it generated.",
                        file.additions()
                    ),
                    None,
                ));
            }
        }
        check_lockfiles(files, &mut findings);
        check_missing_tests(files, &mut findings);
        findings
    }

    /// A structured review of the diff: the verdict follows the worst finding.
    pub fn review(&self, files: &[FileDiff]) -> StructuredReview {
        let findings = self.findings(files);
        let verdict = Verdict::from_findings(&findings);
        let added: usize = files.iter().map(FileDiff::additions).sum();
        let removed: usize = files.iter().map(FileDiff::deletions).sum();
        StructuredReview {
            verdict,
            confidence: 3,
            summary: format!(
                "Offline review of {} files (+{added} −{removed}) by Nectr's built-in rules: {} finding{}.",
                files.len(),
                findings.len(),
                if findings.len() == 1 { "" } else { "s" }
            ),
            key_changes: files
                .iter()
                .take(10)
                .map(|file| {
                    format!("`{}` (+{} −{})", file.path, file.additions(), file.deletions())
                })
                .collect(),
            findings,
            semantic_issues: Vec::new(),
        }
    }
}

fn finding(
    file: &FileDiff,
    line: u64,
    severity: Severity,
    category: &str,
    title: &str,
    explanation: &str,
    suggestion: Option<String>,
) -> Finding {
    Finding {
        path: file.path.clone(),
        line,
        end_line: None,
        severity,
        category: category.to_owned(),
        title: title.to_owned(),
        explanation: explanation.to_owned(),
        suggestion,
    }
}

fn is_placeholder(password: &str) -> bool {
    let lower = password.to_ascii_lowercase();
    password.starts_with(['$', '{', '<', '*', '%'])
        || [
            "password", "pass", "passwd", "secret", "changeme", "xxx", "example", "user",
            "redacted",
        ]
        .contains(&lower.as_str())
}

fn check_line(context: &Context<'_>, number: u64, text: &str, findings: &mut Vec<Finding>) {
    let file = context.file;
    let path = file.path.as_str();
    let trimmed = text.trim_start();

    if CONFLICT.is_match(text) {
        findings.push(finding(
            file,
            number,
            Severity::Critical,
            "merge-conflict",
            "Merge-conflict marker",
            "A conflict marker was committed; resolve the conflict before merging.",
            None,
        ));
        return;
    }
    for (pattern, what) in SECRETS.iter() {
        if pattern.is_match(text) {
            findings.push(finding(
                file,
                number,
                Severity::Critical,
                "secret",
                &format!("Committed secret: {what}"),
                "Secrets in a repository leak to everyone who can read it, forever. Revoke it, then load it from the environment or a secret store.",
                None,
            ));
            return;
        }
    }
    if let Some(captures) = CONNECTION_PASSWORD.captures(text)
        && let Some(password) = captures.get(1)
        && !is_placeholder(password.as_str())
    {
        findings.push(finding(
            file,
            number,
            Severity::Critical,
            "secret",
            "Password in a connection string",
            "This URL carries a password. Read the URL from the environment instead.",
            None,
        ));
        return;
    }
    if TLS_DISABLED.iter().any(|pattern| pattern.is_match(text)) && !context.test_code {
        findings.push(finding(file, number, Severity::Critical, "tls-disabled", "TLS certificate verification disabled", "Without verification anyone on the network path can impersonate the server. Trust the right CA instead.", None));
        return;
    }
    if SQL.is_match(text) && SQL_BUILT.is_match(text) {
        findings.push(finding(
            file,
            number,
            Severity::Critical,
            "sql-injection",
            "SQL built from strings",
            "Values spliced into SQL text allow injection. Use bound parameters.",
            None,
        ));
        return;
    }
    if let Some(captures) = EVAL.captures(text) {
        let literal = captures.get(1).is_some_and(|first| first.as_str().starts_with(['"', '\'']));
        let is_call_site = ["py", "js", "ts", "jsx", "tsx", "rb", "php"].contains(&extension(path));
        if is_call_site && !literal && !trimmed.starts_with(['#', '/', '*']) {
            findings.push(finding(file, number, Severity::Critical, "eval", "Dynamic code evaluated", "Evaluating a string built at run time runs whatever reaches it. Parse the data instead.", None));
            return;
        }
    }
    if !context.test_code {
        check_debug_leftovers(context, number, text, trimmed, findings);
    }
    if let Some(todo) = TODO.find(text) {
        let hash_comments = !matches!(extension(&file.path), "md" | "markdown" | "rst");
        let comment = trimmed.starts_with("//")
            || (hash_comments && trimmed.starts_with('#'))
            || trimmed.starts_with("/*")
            || trimmed.starts_with('*')
            || trimmed.starts_with("<!--")
            || trimmed.starts_with("--");
        if comment && !ISSUE_REFERENCE.is_match(&text[todo.start()..]) {
            findings.push(finding(
                file,
                number,
                Severity::Minor,
                "todo",
                "TODO without an issue",
                "Untracked TODOs are forgotten. Link an issue (`TODO(#123)`) or do it now.",
                None,
            ));
        }
    }
}

fn check_debug_leftovers(
    context: &Context<'_>,
    number: u64,
    text: &str,
    trimmed: &str,
    findings: &mut Vec<Finding>,
) {
    let file = context.file;
    let extension = extension(&file.path);
    let leftover = match extension {
        "rs" if text.contains("dbg!(") => Some("`dbg!` left in"),
        "js" | "ts" | "jsx" | "tsx" if trimmed.starts_with("console.log(") => {
            Some("`console.log` left in")
        }
        "js" | "ts" | "jsx" | "tsx" if trimmed.starts_with("debugger") => {
            Some("`debugger` statement left in")
        }
        "py" if trimmed.starts_with("breakpoint()") || text.contains("pdb.set_trace()") => {
            Some("debugger breakpoint left in")
        }
        "py" if trimmed.starts_with("print(")
            && ["debug", "here", "xxx", "!!!"]
                .iter()
                .any(|word| text.to_ascii_lowercase().contains(word)) =>
        {
            Some("`print` debugging left in")
        }
        _ => None,
    };
    if let Some(title) = leftover {
        findings.push(finding(
            file,
            number,
            Severity::Minor,
            "debug-leftover",
            title,
            "Debug output and breakpoints belong in a local session, not in the merged code.",
            None,
        ));
        return;
    }
    if extension == "rs"
        && (text.contains(".unwrap()") || text.contains(".expect("))
        && !file.path.contains("/examples/")
        && !file.path.starts_with("examples/")
    {
        let suggestion = text.contains(".unwrap()").then(|| text.replacen(".unwrap()", "?", 1));
        findings.push(finding(
            file,
            number,
            Severity::Minor,
            "unwrap",
            "`unwrap`/`expect` in non-test code",
            "A panic takes the whole task down. Return the error (`?`) or handle it.",
            suggestion,
        ));
    }
}

fn check_lockfiles(files: &[FileDiff], findings: &mut Vec<Finding>) {
    for file in files {
        let name = file_name(&file.path);
        let Some((_, manifest)) = LOCKFILES.iter().find(|(lock, _)| *lock == name) else {
            continue;
        };
        let folder = file.path.strip_suffix(name).unwrap_or_default();
        let manifest_path = format!("{folder}{manifest}");
        if !files.iter().any(|other| other.path == manifest_path) {
            let line = file.added_lines().next().map_or(1, |(line, _)| line);
            findings.push(finding(
                file,
                line,
                Severity::Moderate,
                "lockfile",
                &format!("{name} changed without {manifest}"),
                "A lockfile that changes while its manifest does not often means an accidental dependency update. Check that it is intended.",
                None,
            ));
        }
    }
}

fn check_missing_tests(files: &[FileDiff], findings: &mut Vec<Finding>) {
    let touches_tests = files.iter().any(|file| {
        is_test_path(&file.path)
            || file
                .hunks
                .iter()
                .flat_map(|hunk| hunk.lines.iter())
                .any(|line| line.kind == LineKind::Added && line.text.contains("#[test]"))
    });
    if touches_tests {
        return;
    }
    let source = files
        .iter()
        .filter(|file| {
            file.change != FileChange::Deleted && is_source(&file.path) && !is_test_path(&file.path)
        })
        .max_by_key(|file| file.additions());
    let Some(file) = source else { return };
    let total: usize =
        files.iter().filter(|file| is_source(&file.path)).map(FileDiff::additions).sum();
    if total < UNTESTED_SOURCE_LINES {
        return;
    }
    let line = file.added_lines().next().map_or(1, |(line, _)| line);
    findings.push(finding(file, line, Severity::Minor, "missing-tests", "Source changed without tests", &format!("{total} lines of source change and no test does. Add a test that would fail without this change."), None));
}

#[async_trait::async_trait]
impl ReviewModel for OfflineReviewer {
    fn name(&self) -> &str {
        "offline"
    }

    fn diff_budget_tokens(&self) -> usize {
        // The rules read every line; only GitHub's own limits apply.
        usize::MAX
    }

    async fn review(&self, request: &ReviewRequest) -> Result<ModelReview, ModelError> {
        Ok(ModelReview {
            review: OfflineReviewer::review(self, &request.files),
            usage: Usage::default(),
            cost_usd: 0.0,
            model: "offline".to_owned(),
        })
    }
}
