//! `nectr review --git` / `--last` on a small repository the test makes with `git`: each
//! commit's findings, the table per rule and per 100 commits, JSON for machines, progress on
//! standard error; test code recognised from the file at the commit, comment-only changes not
//! asked for tests, and bad input refused with a clear message.

use std::path::Path;
use std::process::{Command, Output, Stdio};

const NECTR: &str = env!("CARGO_BIN_EXE_nectr");

fn run_git(directory: &Path, args: &[&str]) {
    let output = Command::new("git")
        .current_dir(directory)
        .args(args)
        .env("GIT_AUTHOR_NAME", "Test")
        .env("GIT_AUTHOR_EMAIL", "test@example.com")
        .env("GIT_COMMITTER_NAME", "Test")
        .env("GIT_COMMITTER_EMAIL", "test@example.com")
        .output()
        .unwrap();
    assert!(output.status.success(), "git {args:?}: {output:?}");
}

fn commit(directory: &Path, files: &[(&str, &str)], message: &str) {
    for (path, text) in files {
        let path = directory.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    run_git(directory, &["add", "-A"]);
    run_git(directory, &["commit", "-q", "-m", message]);
}

fn nectr(repository: &Path, config: &Path, args: &[&str]) -> Output {
    Command::new(NECTR)
        .current_dir(repository)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap())
        .env("NECTR_CONFIG_DIR", config)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// A library whose test module has a column-0 helper, so that `git`'s hunk header names the
/// helper, not `mod tests`: only the file at the commit tells that the hunk is test code.
fn library(extra_test_line: &str, doc: &str, body: &str) -> String {
    let filler: String =
        (0..8).map(|index| format!("        let _step{index} = {index};\n")).collect();
    format!(
        "{doc}pub fn parse(text: &str) -> Option<u8> {{\n{body}    text.parse().ok()\n}}\n\n#[cfg(test)]\nmod tests {{\nfn helper() -> Option<u8> {{\n    Some(1)\n}}\n\n    #[test]\n    fn parses() {{\n{filler}{extra_test_line}        assert_eq!(super::parse(\"1\"), Some(1));\n    }}\n}}\n"
    )
}

fn history() -> (tempfile::TempDir, tempfile::TempDir) {
    let repository = tempfile::tempdir().unwrap();
    let config = tempfile::tempdir().unwrap();
    std::fs::write(
        config.path().join("development.toml"),
        "[review.offline]\nenable = [\"unwrap\", \"missing-tests\"]\n",
    )
    .unwrap();
    let path = repository.path();
    run_git(path, &["init", "-q", "-b", "main"]);
    commit(path, &[("src/lib.rs", &library("", "", ""))], "A parser");
    commit(
        path,
        &[("src/lib.rs", &library("        let one = helper().unwrap();\n", "", ""))],
        "Test helper",
    );
    let docs: String =
        (0..12).map(|index| format!("/// Line {index} of the documentation.\n")).collect();
    commit(
        path,
        &[("src/lib.rs", &library("        let one = helper().unwrap();\n", &docs, ""))],
        "Document parse",
    );
    let body: String = (0..11)
        .map(|index| format!("    let limit{index} = text.len() + {index};\n"))
        .collect::<String>()
        + "    let first = text.chars().next().unwrap();\n";
    commit(
        path,
        &[("src/lib.rs", &library("        let one = helper().unwrap();\n", &docs, &body))],
        "Limits",
    );
    (repository, config)
}

#[test]
fn review_git_reports_each_commit_and_the_findings_per_rule_and_per_100_commits() {
    let (repository, config) = history();
    let output = nectr(
        repository.path(),
        config.path(),
        &["review", "--git", "HEAD~3..HEAD", "--format", "json"],
    );
    assert!(output.status.success(), "{output:?}");
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["commits_reviewed"], 3, "{report:#}");
    let commits = report["commits"].as_array().unwrap();
    let subjects: Vec<&str> =
        commits.iter().map(|commit| commit["subject"].as_str().unwrap()).collect();
    assert_eq!(subjects, ["Test helper", "Document parse", "Limits"], "oldest first");
    // The unwrap inside the test module (seen only in the file at the commit) is no finding;
    // twelve doc-comment lines are not "source changed without tests".
    assert_eq!(commits[0]["findings"], serde_json::json!([]), "{report:#}");
    assert_eq!(commits[1]["findings"], serde_json::json!([]), "{report:#}");
    let rules: Vec<(&str, u64)> = commits[2]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|finding| (finding["rule"].as_str().unwrap(), finding["line"].as_u64().unwrap()))
        .collect();
    assert_eq!(rules, [("unwrap", 25), ("missing-tests", 14)], "{report:#}");
    assert_eq!(report["findings_total"], 2);
    let per_rule = report["rules"].as_array().unwrap();
    assert_eq!(per_rule.len(), 2);
    let unwrap = per_rule.iter().find(|rule| rule["rule"] == "unwrap").unwrap();
    assert_eq!(unwrap["findings"], 1);
    assert!((unwrap["per_100_commits"].as_f64().unwrap() - 100.0 / 3.0).abs() < 1e-9);
    let progress = String::from_utf8_lossy(&output.stderr);
    assert!(
        progress.contains("[1/3]")
            && progress.contains("[3/3]")
            && progress.contains("Limits: 2 findings"),
        "{progress}"
    );
}

#[test]
fn review_last_prints_findings_then_the_table_and_fails_on_request() {
    let (repository, config) = history();
    let output =
        nectr(repository.path(), config.path(), &["review", "--last", "2", "--fail-on", "minor"]);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let printed = String::from_utf8(output.stdout).unwrap();
    assert!(
        !printed.contains("Document parse"),
        "a commit without findings is not listed:\n{printed}"
    );
    assert!(printed.contains(" Limits\n  minor    unwrap          src/lib.rs:25"), "{printed}");
    assert!(
        printed.contains("2 commits reviewed, 1 with findings, 2 findings (100.0 per 100 commits)"),
        "{printed}"
    );
    assert!(
        printed.contains("| unwrap | 1 | 50.0 |")
            && printed.contains("| missing-tests | 1 | 50.0 |"),
        "{printed}"
    );
    // Without the opt-in, unwrap and missing-tests stay quiet: their measured precision is
    // under 0.6, so they are off by default.
    let defaults = tempfile::tempdir().unwrap();
    let output = nectr(repository.path(), defaults.path(), &["review", "--last", "1"]);
    assert!(output.status.success(), "{output:?}");
    let printed = String::from_utf8(output.stdout).unwrap();
    assert!(printed.contains("1 commits reviewed, 0 with findings, 0 findings"), "{printed}");
}

#[test]
fn review_git_refuses_bad_input_with_a_clear_message() {
    let (repository, config) = history();
    let unknown =
        nectr(repository.path(), config.path(), &["review", "--git", "no-such-rev..HEAD"]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("git log failed"), "{unknown:?}");
    let outside = tempfile::tempdir().unwrap();
    let not_a_repository = nectr(outside.path(), config.path(), &["review", "--last", "3"]);
    assert_eq!(not_a_repository.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&not_a_repository.stderr).contains("not a git repository"),
        "{not_a_repository:?}"
    );
    let zero = nectr(repository.path(), config.path(), &["review", "--last", "0"]);
    assert_eq!(zero.status.code(), Some(2), "clap refuses it: {zero:?}");
    let option = nectr(repository.path(), config.path(), &["review", "--git=--output=/tmp/x"]);
    assert_eq!(option.status.code(), Some(1), "{option:?}");
    let bad_rule = tempfile::tempdir().unwrap();
    std::fs::write(
        bad_rule.path().join("development.toml"),
        "[review.offline]\nenable = [\"nonsense\"]\n",
    )
    .unwrap();
    let refused = nectr(repository.path(), bad_rule.path(), &["review", "--last", "1"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("names no rule \"nonsense\""),
        "{refused:?}"
    );
    // A commit git cannot show (an object missing, as in a partial clone) is skipped and
    // reported; the rest of the history is still reviewed.
    let blob = Command::new("git")
        .current_dir(repository.path())
        .args(["rev-parse", "HEAD:src/lib.rs"])
        .output()
        .unwrap();
    let blob = String::from_utf8(blob.stdout).unwrap();
    let (folder, file) = blob.trim().split_at(2);
    std::fs::remove_file(repository.path().join(".git/objects").join(folder).join(file)).unwrap();
    let partial =
        nectr(repository.path(), config.path(), &["review", "--last", "2", "--format", "json"]);
    assert!(partial.status.success(), "{partial:?}");
    let report: serde_json::Value = serde_json::from_slice(&partial.stdout).unwrap();
    assert_eq!(report["commits_reviewed"], 1, "{report:#}");
    assert_eq!(report["commits_skipped"][0]["subject"], "Limits", "{report:#}");
    assert!(String::from_utf8_lossy(&partial.stderr).contains("Limits: skipped"), "{partial:?}");
}
