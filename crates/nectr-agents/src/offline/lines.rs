//! The rules that read one added line at a time: secrets, conflict markers, disabled TLS, SQL
//! built from strings, `eval`, debug leftovers, TODOs without an issue, and `unwrap`/`expect`
//! that can panic (not when a guard just above makes it infallible, nor `expect("…")` stating
//! an invariant, nor in test code or doc comments).

use std::sync::LazyLock;

use nectr_domain::diff::{DiffLine, FileDiff, LineKind};
use nectr_domain::review::Finding;
use regex::Regex;

use super::classify::LineClass;
use super::rules::Rule;
use super::{extension, finding, regex};

/// One added line and what surrounds it.
pub(super) struct LineContext<'a> {
    /// Its file.
    pub(super) file: &'a FileDiff,
    /// Its new-file number.
    pub(super) number: u64,
    /// Its text.
    pub(super) text: &'a str,
    /// The hunk's lines above it.
    pub(super) above: &'a [DiffLine],
    /// All the hunk's lines.
    pub(super) hunk: &'a [DiffLine],
    /// It is test, benchmark, example or build-script code.
    pub(super) test_code: bool,
    /// What the change classification made of it (commentary, reshaped code, behaviour).
    pub(super) class: Option<LineClass>,
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
/// A TODO that names the event that will trigger it (`TODO: remove once MSRV is 1.80`) is
/// tracked by that event.
static CONDITION: LazyLock<Regex> = LazyLock::new(|| regex(r"(?i)\b(?:when|once|until|after)\b"));
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
/// `receiver.unwrap()`, with the receiver's leading path (`self.items` of
/// `self.items.first().unwrap()`).
static UNWRAP_RECEIVER: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"([A-Za-z_][\w]*(?:\.[A-Za-z_][\w]*)*)(?:\.(?:first|last|next|peek|pop|get\([^()]*\)|iter\(\)\.next|chars\(\)\.next)\(\))?\s*\.unwrap\(\)",
    )
});
/// A call on literals only, which cannot fail at run time once it has not failed in a test:
/// `Regex::new("…")`, `"…".parse()`, `NonZeroU32::new(8)`, and the poisoned-lock idiom.
static INFALLIBLE_UNWRAP: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r##"(?:\(\s*(?:r#*)?"[^"]*"#*\s*\)|\(\s*\d[\d_]*\s*\)|"[^"]*"\s*\.parse(?:::<[^>]*>)?\(\)|\.(?:lock|read|write)\(\))\s*\.(?:unwrap\(\)|expect\()"##,
    )
});
/// `.expect("message")`.
static EXPECT_MESSAGE: LazyLock<Regex> = LazyLock::new(|| regex(r#"\.expect\(\s*"([^"]*)"#));
/// `.expect(INVARIANT_MESSAGE)`: a named message, the project's statement of an invariant.
static EXPECT_CONSTANT: LazyLock<Regex> =
    LazyLock::new(|| regex(r"\.expect\(\s*(?:[a-z_]+::)*[A-Z][A-Z0-9_]+\s*\)"));
/// Calls on the environment, files, processes and the network: what they return is never an
/// invariant, whatever an `expect` message claims (`env::var("PORT").expect("PORT is set")`).
static EXTERNAL: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"env::var(?:_os)?\(|\bfs::|File::(?:open|create)\(|read_to_string\(|read_dir\(|TcpListener::bind|TcpStream::connect|\.connect\(|\.bind\(|Command::new|\.output\(\)|\.spawn\(\)|\.status\(\)",
    )
});
/// A panic site and what it is called on: `get_bin_name().expect(MSG)`, `x.unwrap()`.
static PANIC_SITE: LazyLock<Regex> =
    LazyLock::new(|| regex(r"(?:[A-Za-z_]\w*(?:\(\))?)?\s*\.(?:unwrap\(\)|expect\([^)]*\))"));

/// Runs every line rule on one added line; the first rule that fires wins.
pub(super) fn check(context: &LineContext<'_>, findings: &mut Vec<Finding>) {
    let (file, number, text) = (context.file, context.number, context.text);
    let trimmed = text.trim_start();
    let path = file.path.as_str();

    if CONFLICT.is_match(text) {
        findings.push(finding(file, number, Rule::MergeConflict, "Merge-conflict marker", "A conflict marker was committed; resolve the conflict and remove the markers before merging."));
        return;
    }
    if let Some((_, what)) = SECRETS.iter().find(|(pattern, _)| pattern.is_match(text)) {
        findings.push(finding(
            file,
            number,
            Rule::Secret,
            &format!("Committed secret: {what}"),
            "Secrets in a repository leak to everyone who can read it, forever. Revoke it, then load it from the environment or a secret store.",
        ));
        return;
    }
    if let Some(captures) = CONNECTION_PASSWORD.captures(text)
        && let Some(password) = captures.get(1)
        && !is_placeholder(password.as_str())
        && !context.test_code
    {
        findings.push(finding(file, number, Rule::Secret, "Password in a connection string", "This URL carries a password. Rotate it, and read the URL from the environment instead."));
        return;
    }
    if TLS_DISABLED.iter().any(|pattern| pattern.is_match(text))
        && !context.test_code
        && !is_documentation(path)
    {
        findings.push(finding(file, number, Rule::TlsDisabled, "TLS certificate verification disabled", "Without verification anyone on the network path can impersonate the server. Trust the right CA (a CA bundle or pinned certificate) instead."));
        return;
    }
    if SQL.is_match(text) && SQL_BUILT.is_match(text) {
        findings.push(finding(
            file,
            number,
            Rule::SqlInjection,
            "SQL built from strings",
            "Values spliced into SQL text allow injection. Pass them as bound parameters.",
        ));
        return;
    }
    if let Some(captures) = EVAL.captures(text) {
        let literal = captures.get(1).is_some_and(|first| first.as_str().starts_with(['"', '\'']));
        let is_call_site = ["py", "js", "ts", "jsx", "tsx", "rb", "php"].contains(&extension(path));
        if is_call_site && !literal && !trimmed.starts_with(['#', '/', '*']) {
            findings.push(finding(file, number, Rule::Eval, "Dynamic code evaluated", "Evaluating a string built at run time runs whatever reaches it. Parse the data (JSON, `ast.literal_eval`) or dispatch on it instead."));
            return;
        }
    }
    match context.class {
        // Moved or reformatted code: whatever the minor rules would say, they said it before.
        Some(LineClass::Reshaped) => {}
        // A comment or a code example in documentation: only a TODO can be in it.
        Some(LineClass::Commentary) => check_todo(context, trimmed, findings),
        Some(LineClass::Behaviour) | None => {
            let code_rules = !context.test_code
                && (check_debug_leftover(context, trimmed, findings)
                    || check_unwrap(context, trimmed, findings));
            if !code_rules {
                check_todo(context, trimmed, findings);
            }
        }
    }
}

/// Prose: documentation describes what code does, it does not do it.
fn is_documentation(path: &str) -> bool {
    matches!(extension(path), "md" | "markdown" | "rst" | "txt" | "adoc" | "html")
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

fn check_debug_leftover(
    context: &LineContext<'_>,
    trimmed: &str,
    findings: &mut Vec<Finding>,
) -> bool {
    let text = context.text;
    let leftover = match extension(&context.file.path) {
        "rs" if text.contains("dbg!(") && !is_comment(trimmed) => Some("`dbg!` left in"),
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
    let Some(title) = leftover else { return false };
    findings.push(finding(
        context.file,
        context.number,
        Rule::DebugLeftover,
        title,
        "Debug output and breakpoints belong in a local session, not in the merged code. Remove it, or log through the project's logger at debug level.",
    ));
    true
}

fn is_comment(trimmed: &str) -> bool {
    trimmed.starts_with("//") || trimmed.starts_with("/*") || trimmed.starts_with('*')
}

/// Whether an `expect` message states why the call cannot fail, rather than what failed.
fn states_an_invariant(message: &str) -> bool {
    let lower = message.trim().to_ascii_lowercase();
    let words = lower.split_whitespace().count();
    let describes_failure = ["fail", "could not", "couldn't", "unable", "error", "oops"]
        .iter()
        .any(|start| lower.starts_with(start));
    let says_infallible = ["cannot fail", "can't fail", "never fail", "infallible"]
        .iter()
        .any(|phrase| lower.contains(phrase));
    says_infallible || (words >= 2 && !describes_failure)
}

/// Whether one of the two lines above tests `receiver` in a condition (`if x.is_some()`,
/// `if !x.is_empty()`, `assert!(x.is_ok())`).
fn guarded_above(above: &[DiffLine], receiver: &str) -> bool {
    let guards = ["is_some()", "is_ok()", "is_empty()", "len()", "is_none()", "is_err()"];
    above
        .iter()
        .rev()
        .filter(|line| line.kind != LineKind::Removed)
        .take(2)
        .filter(|line| {
            let text = line.text.trim_start();
            ["if ", "} else if ", "while ", "assert", "debug_assert", "match ", "return "]
                .iter()
                .any(|condition| text.starts_with(condition))
        })
        .any(|line| guards.iter().any(|guard| line.text.contains(&format!("{receiver}.{guard}"))))
}

/// Whether every panic site of the line was on a line the hunk removes: the change moved or
/// edited around it, the panic is not new.
fn existed_before(context: &LineContext<'_>) -> bool {
    let removed: Vec<&str> = context
        .hunk
        .iter()
        .filter(|line| line.kind == LineKind::Removed)
        .map(|line| line.text.as_str())
        .collect();
    PANIC_SITE.find_iter(context.text).all(|site| {
        let site: String = site.as_str().split_whitespace().collect();
        removed.iter().any(|line| line.split_whitespace().collect::<String>().contains(&site))
    })
}

fn check_unwrap(context: &LineContext<'_>, trimmed: &str, findings: &mut Vec<Finding>) -> bool {
    let text = context.text;
    if extension(&context.file.path) != "rs"
        || is_comment(trimmed)
        || !(text.contains(".unwrap()") || text.contains(".expect("))
    {
        return false;
    }
    let external = EXTERNAL.is_match(text);
    if INFALLIBLE_UNWRAP.is_match(text) && !external {
        return false;
    }
    if EXPECT_CONSTANT.is_match(text) && !text.contains(".unwrap()") && !external {
        return false;
    }
    if existed_before(context) {
        return false;
    }
    if let Some(captures) = EXPECT_MESSAGE.captures(text)
        && !text.contains(".unwrap()")
        && !external
        && captures.get(1).is_some_and(|message| states_an_invariant(message.as_str()))
    {
        return false;
    }
    let receiver = UNWRAP_RECEIVER
        .captures(text)
        .and_then(|captures| captures.get(1))
        .map(|receiver| receiver.as_str());
    if receiver.is_some_and(|receiver| guarded_above(context.above, receiver)) {
        return false;
    }
    let mut found = finding(
        context.file,
        context.number,
        Rule::Unwrap,
        "`unwrap`/`expect` that can panic in non-test code",
        "A panic takes the whole task down. Return the error with `?` (or handle it); if it truly cannot fail, say why with `expect(\"…\")`.",
    );
    found.suggestion = text.contains(".unwrap()").then(|| text.replacen(".unwrap()", "?", 1));
    findings.push(found);
    true
}

fn check_todo(context: &LineContext<'_>, trimmed: &str, findings: &mut Vec<Finding>) {
    let text = context.text;
    let Some(todo) = TODO.find(text) else { return };
    let hash_comments = !matches!(extension(&context.file.path), "md" | "markdown" | "rst");
    let comment = trimmed.starts_with("//")
        || (hash_comments && trimmed.starts_with('#'))
        || trimmed.starts_with("/*")
        || trimmed.starts_with('*')
        || trimmed.starts_with("<!--")
        || trimmed.starts_with("--");
    let rest = &text[todo.start()..];
    // The comment may cite its issue on the lines just above (`# see https://…`).
    let cited_above = context
        .above
        .iter()
        .rev()
        .filter(|line| line.kind != LineKind::Removed)
        .take(2)
        .any(|line| ISSUE_REFERENCE.is_match(&line.text));
    // A TODO the hunk rewords (`TODO make this better, drop the unwraps` → `TODO make this
    // better`) was there before.
    let reworded =
        context.hunk.iter().any(|line| line.kind == LineKind::Removed && TODO.is_match(&line.text));
    if comment
        && !ISSUE_REFERENCE.is_match(rest)
        && !CONDITION.is_match(rest)
        && !cited_above
        && !reworded
    {
        findings.push(finding(
            context.file,
            context.number,
            Rule::Todo,
            "TODO without an issue",
            "Untracked TODOs are forgotten. Link an issue (`TODO(#123)`), say when it is due (`TODO: remove once …`), or do it now.",
        ));
    }
}

#[cfg(test)]
mod tests {
    use nectr_domain::diff::parse_patch;

    use crate::OfflineReviewer;

    fn unwraps(patch: &str) -> Vec<u64> {
        let file = parse_patch("src/lib.rs", patch).unwrap_or_else(|error| panic!("{error}"));
        OfflineReviewer::new(crate::OfflineRules::all())
            .findings(&[file])
            .into_iter()
            .filter(|finding| finding.category == "unwrap")
            .map(|finding| finding.line)
            .collect()
    }

    #[test]
    fn todos_with_an_issue_a_condition_or_a_citation_above_are_no_findings() {
        let todos = |patch: &str| -> Vec<u64> {
            let file = parse_patch("src/a.go", patch).unwrap_or_else(|error| panic!("{error}"));
            OfflineReviewer::new(crate::OfflineRules::all())
                .findings(&[file])
                .into_iter()
                .filter(|finding| finding.category == "todo")
                .map(|finding| finding.line)
                .collect()
        };
        let patch = "@@ -1,1 +1,6 @@\n x()\n+// TODO make this better\n+// TODO(#12) split\n+// TODO: remove once Go 1.24 is the minimum\n+// see https://example.com/issues/3\n+// TODO: then drop the shim\n";
        assert_eq!(todos(patch), vec![2]);
        let moved = "@@ -1,2 +1,2 @@\n x()\n-//FIXME: broken\n+// FIXME: broken\n";
        assert!(todos(moved).is_empty(), "a reformatted comment is not a new TODO");
        let reworded = "@@ -1,2 +1,2 @@\n x()\n-// TODO make this better, drop the unwraps\n+// TODO make this better.\n";
        assert!(todos(reworded).is_empty(), "a reworded TODO is not a new one");
    }

    #[test]
    fn guarded_unwraps_invariant_expects_literals_and_doc_examples_are_no_findings() {
        let patch = "@@ -1,1 +1,12 @@ impl A {\n fn a() {\n+    if value.is_some() {\n+        let v = value.unwrap();\n+    }\n+    if !items.is_empty() {\n+        let first = items.first().unwrap();\n+    }\n+    let re = Regex::new(r\"^a+$\").unwrap();\n+    let guard = state.lock().unwrap();\n+    let n = x.expect(\"the parser only yields digits\");\n+    /// let x = y.unwrap();\n+    let bad = other.unwrap();\n";
        assert_eq!(unwraps(patch), vec![12]);
        let failure = "@@ -1,1 +1,2 @@\n fn a() {\n+    let n = x.expect(\"failed to read\");\n";
        assert_eq!(unwraps(failure), vec![2]);
        let environment = "@@ -1,1 +1,2 @@\n fn a() {\n+    let port = std::env::var(\"PORT\").expect(\"PORT is set\");\n";
        assert_eq!(unwraps(environment), vec![2], "the environment is no invariant");
        let named = "@@ -1,1 +1,2 @@\n fn a() {\n+    let n = p.get_bin_name().expect(INTERNAL_ERROR_MSG);\n";
        assert!(unwraps(named).is_empty());
        let moved = "@@ -1,2 +1,2 @@\n fn a() {\n-    write!(buf, \"{x}\").expect(\"failed to write\");\n+    write!(buf, \"{x} {y}\").expect(\"failed to write\");\n";
        assert!(unwraps(moved).is_empty(), "the panic was there before");
        let added = "@@ -1,2 +1,2 @@\n fn a() {\n-    let a = x.unwrap();\n+    let a = x.unwrap() + y.unwrap();\n";
        assert_eq!(unwraps(added), vec![2], "a new panic site");
        let in_tests =
            "@@ -40,1 +40,2 @@ mod tests {\n     fn t() {\n+        let n = x.unwrap();\n";
        assert!(unwraps(in_tests).is_empty());
    }
}
