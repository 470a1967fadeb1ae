//! `nectr review --git REV_RANGE` / `--last N`: the configured reviewer on each commit of a
//! local repository's history, one commit at a time, as a team would meet it on every pull
//! request. `git` runs as a subprocess in the working directory: `git log` lists the commits,
//! `git show` gives each commit's patch and the changed files' text at that commit (so rules
//! know what surrounds a hunk). Prints each commit's findings, then findings per rule and per
//! 100 commits; progress goes to standard error.

use std::collections::BTreeMap;
use std::process::Command;

use anyhow::{Context as _, bail};
use nectr_domain::RepoFullName;
use nectr_domain::diff::{FileChange, parse_unified_diff};
use nectr_domain::memory::retrieval::ReviewMemories;
use nectr_domain::pipeline::{ReviewModel, ReviewRequest, ask};
use nectr_domain::review::{Finding, Severity};
use serde_json::json;

use super::{candidates, local_pull};
use crate::Settings;
use crate::models::build_reviewer;

/// Files larger than this are not read at the commit (the rules fall back to the diff alone).
const LARGEST_SOURCE_BYTES: usize = 1 << 20;

/// Which commits to review.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum History {
    /// A revision range, as `git log` takes it (`v1.0..main`, `HEAD~50..`).
    Range(String),
    /// The last N commits reachable from `HEAD`.
    Last(u32),
}

/// One reviewed commit.
#[derive(Clone, Debug)]
struct Reviewed {
    sha: String,
    subject: String,
    findings: Vec<Finding>,
}

/// A commit git could not show, and why.
#[derive(Clone, Debug)]
struct Skipped {
    sha: String,
    subject: String,
    reason: String,
}

/// Runs `git` with `args` in the working directory and answers its standard output.
fn git(args: &[&str]) -> anyhow::Result<String> {
    let output = Command::new("git")
        .args(args)
        .output()
        .context("cannot run git: is it installed and on PATH?")?;
    if !output.status.success() {
        bail!(
            "git {} failed: {}",
            args.first().copied().unwrap_or_default(),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// The commits of `history`, oldest first, merges left out (their changes are their parents').
fn commits(history: &History) -> anyhow::Result<Vec<(String, String)>> {
    let format = "--format=%H%x1f%s";
    let listed = match history {
        History::Range(range) => {
            if range.starts_with('-') {
                bail!("{range:?} is not a revision range");
            }
            git(&["log", "--no-merges", "--reverse", format, range, "--"])?
        }
        History::Last(count) => {
            let count = format!("--max-count={count}");
            let mut lines: Vec<String> =
                git(&["log", "--no-merges", &count, format, "HEAD", "--"])?
                    .lines()
                    .map(str::to_owned)
                    .collect();
            lines.reverse();
            lines.join("\n")
        }
    };
    Ok(listed
        .lines()
        .filter_map(|line| line.split_once('\x1f'))
        .map(|(sha, subject)| (sha.to_owned(), subject.to_owned()))
        .collect())
}

/// The text at `sha` of the files the reviewer will read, by path.
fn sources_at(sha: &str, paths: &[String]) -> BTreeMap<String, String> {
    paths
        .iter()
        .filter_map(|path| {
            let text = git(&["show", &format!("{sha}:{path}")]).ok()?;
            (text.len() <= LARGEST_SOURCE_BYTES).then(|| (path.clone(), text))
        })
        .collect()
}

/// One commit's diff, fitted for the reviewer, with the changed files' text at the commit.
///
/// # Errors
/// When git cannot produce the commit's patch (a shallow or partial clone, say).
fn read_commit(
    settings: &Settings,
    model: &dyn ReviewModel,
    sha: &str,
    subject: &str,
) -> anyhow::Result<ReviewRequest> {
    let patch = git(&["show", "--format=", "--patch", "--no-color", "--no-ext-diff", "-M", sha])?;
    let files = parse_unified_diff(&patch).with_context(|| format!("cannot read {sha}'s diff"))?;
    let (files, summarised) = candidates(settings, files, model.diff_budget_tokens());
    let readable: Vec<String> = files
        .iter()
        .filter(|file| file.change != FileChange::Deleted && !file.binary)
        .map(|file| file.path.clone())
        .collect();
    Ok(ReviewRequest {
        repo: RepoFullName::parse("local/history").context("the local repository name")?,
        pull: local_pull(subject),
        files,
        summarised,
        tools: None,
        sources: sources_at(sha, &readable),
        memories: ReviewMemories::default(),
        graph: nectr_domain::graph::GraphContext::default(),
        context: nectr_domain::context::ContextReport::default(),
    })
}

/// Findings per rule, most frequent first.
fn per_rule(reviewed: &[Reviewed]) -> Vec<(String, usize)> {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for finding in reviewed.iter().flat_map(|commit| &commit.findings) {
        *counts.entry(finding.category.clone()).or_default() += 1;
    }
    let mut counts: Vec<(String, usize)> = counts.into_iter().collect();
    counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    counts
}

fn per_100(count: usize, commits: usize) -> f64 {
    if commits == 0 { 0.0 } else { count as f64 * 100.0 / commits as f64 }
}

/// The human report: each commit with findings, then the table.
fn to_text(reviewed: &[Reviewed], skipped: &[Skipped]) -> String {
    let mut text = String::new();
    for commit in reviewed.iter().filter(|commit| !commit.findings.is_empty()) {
        let short = commit.sha.get(..12).unwrap_or(&commit.sha);
        text.push_str(&format!("{short} {}\n", commit.subject));
        for finding in &commit.findings {
            text.push_str(&format!(
                "  {:<8} {:<15} {}:{}  {}\n",
                finding.severity.as_str(),
                finding.category,
                finding.path,
                finding.line,
                finding.title
            ));
        }
    }
    let total: usize = reviewed.iter().map(|commit| commit.findings.len()).sum();
    let flagged = reviewed.iter().filter(|commit| !commit.findings.is_empty()).count();
    text.push_str(&format!(
        "\n{} commits reviewed, {flagged} with findings, {total} findings ({:.1} per 100 commits)\n\n",
        reviewed.len(),
        per_100(total, reviewed.len())
    ));
    for commit in skipped {
        let short = commit.sha.get(..12).unwrap_or(&commit.sha);
        text.push_str(&format!("skipped {short} {}: {}\n", commit.subject, commit.reason));
    }
    if !skipped.is_empty() {
        text.push('\n');
    }
    text.push_str("| rule | findings | per 100 commits |\n|---|---:|---:|\n");
    for (rule, count) in per_rule(reviewed) {
        text.push_str(&format!("| {rule} | {count} | {:.1} |\n", per_100(count, reviewed.len())));
    }
    text
}

/// The machine report.
fn to_json(reviewed: &[Reviewed], skipped: &[Skipped], history: &History) -> serde_json::Value {
    let total: usize = reviewed.iter().map(|commit| commit.findings.len()).sum();
    let (range, last) = match history {
        History::Range(range) => (Some(range.as_str()), None),
        History::Last(count) => (None, Some(*count)),
    };
    json!({
        "range": range,
        "last": last,
        "commits_reviewed": reviewed.len(),
        "commits_skipped": skipped.iter().map(|commit| json!({
            "sha": commit.sha,
            "subject": commit.subject,
            "reason": commit.reason,
        })).collect::<Vec<_>>(),
        "commits_with_findings": reviewed.iter().filter(|commit| !commit.findings.is_empty()).count(),
        "findings_total": total,
        "findings_per_100_commits": per_100(total, reviewed.len()),
        "rules": per_rule(reviewed).into_iter().map(|(rule, count)| json!({
            "rule": rule,
            "findings": count,
            "per_100_commits": per_100(count, reviewed.len()),
        })).collect::<Vec<_>>(),
        "commits": reviewed.iter().map(|commit| json!({
            "sha": commit.sha,
            "subject": commit.subject,
            "findings": commit.findings.iter().map(|finding| json!({
                "path": finding.path,
                "line": finding.line,
                "severity": finding.severity.as_str(),
                "rule": finding.category,
                "title": finding.title,
                "explanation": finding.explanation,
                "suggestion": finding.suggestion,
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}

/// Reviews every commit of `history`; answers what to print and whether a finding reached
/// `fail_on`.
///
/// # Errors
/// When this is not a git repository, the range is unknown, or the reviewer is misconfigured or
/// fails. A commit git cannot show is skipped and reported, not an error.
pub(super) async fn review_history(
    settings: &Settings,
    history: &History,
    json: bool,
    fail_on: Option<Severity>,
) -> anyhow::Result<(String, bool)> {
    let model = build_reviewer(&settings.review)?;
    let commits = commits(history)?;
    let mut reviewed = Vec::with_capacity(commits.len());
    let mut skipped = Vec::new();
    for (index, (sha, subject)) in commits.iter().enumerate() {
        let short = sha.get(..12).unwrap_or(sha);
        let request = match read_commit(settings, model.as_ref(), sha, subject) {
            Ok(request) => request,
            Err(error) => {
                eprintln!(
                    "[{}/{}] {short} {subject}: skipped, {error:#}",
                    index + 1,
                    commits.len()
                );
                let reason = format!("{error:#}");
                skipped.push(Skipped { sha: sha.clone(), subject: subject.clone(), reason });
                continue;
            }
        };
        let answer = ask(model.as_ref(), &request)
            .await
            .map_err(|error| anyhow::anyhow!("the review of {sha} failed: {error}"))?;
        let findings = answer.review.findings;
        eprintln!(
            "[{}/{}] {short} {subject}: {} finding{}",
            index + 1,
            commits.len(),
            findings.len(),
            if findings.len() == 1 { "" } else { "s" }
        );
        reviewed.push(Reviewed { sha: sha.clone(), subject: subject.clone(), findings });
    }
    let failed = fail_on.is_some_and(|threshold| {
        reviewed
            .iter()
            .flat_map(|commit| &commit.findings)
            .any(|finding| finding.severity >= threshold)
    });
    let output = if json {
        serde_json::to_string_pretty(&to_json(&reviewed, &skipped, history))? + "\n"
    } else {
        to_text(&reviewed, &skipped)
    };
    Ok((output, failed))
}
