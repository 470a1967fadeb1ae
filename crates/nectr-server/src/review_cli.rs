//! `nectr review --diff FILE`: the offline reviewer on a local diff, for CI and git hooks.

use std::io::Read as _;
use std::path::Path;

use anyhow::Context as _;
use nectr_agents::OfflineReviewer;
use nectr_domain::diff::parse_unified_diff;
use nectr_domain::review::{Anchored, Severity, StructuredReview, anchor, render_body};

/// The review of a diff, rendered, and whether it reaches `fail_on`.
///
/// # Errors
/// When the diff cannot be read or parsed.
pub fn review_diff(
    diff: &Path,
    json: bool,
    fail_on: Option<&str>,
) -> anyhow::Result<(String, bool)> {
    let mut text = String::new();
    if diff == Path::new("-") {
        std::io::stdin()
            .read_to_string(&mut text)
            .context("cannot read the diff from standard input")?;
    } else {
        text = std::fs::read_to_string(diff)
            .with_context(|| format!("cannot read {}", diff.display()))?;
    }
    let files = parse_unified_diff(&text).context("the input is not a unified diff")?;
    let review = OfflineReviewer.review(&files);
    let threshold = fail_on.and_then(Severity::parse);
    let failed = threshold.is_some_and(|threshold| {
        review.findings.iter().any(|finding| finding.severity >= threshold)
    });
    let output = if json {
        serde_json::to_string_pretty(&to_json(&review))? + "\n"
    } else {
        let anchored: Anchored = anchor(&review.findings, &files);
        let important: Vec<String> = files.iter().take(5).map(|file| file.path.clone()).collect();
        render_body(&review, &anchored, &important, &[])
    };
    Ok((output, failed))
}

fn to_json(review: &StructuredReview) -> serde_json::Value {
    serde_json::json!({
        "verdict": review.verdict.as_str().to_ascii_lowercase(),
        "confidence": review.confidence,
        "summary": review.summary,
        "key_changes": review.key_changes,
        "findings": review.findings.iter().map(|finding| serde_json::json!({
            "path": finding.path,
            "line": finding.line,
            "end_line": finding.end_line,
            "severity": finding.severity.as_str(),
            "category": finding.category,
            "title": finding.title,
            "explanation": finding.explanation,
            "suggestion": finding.suggestion,
        })).collect::<Vec<_>>(),
        "semantic_issues": review.semantic_issues,
    })
}
