//! Structured reviews: what a reviewer (a model, or the offline rules) returns, how its findings
//! are anchored on the diff, and the markdown body the original dashboard and analytics read.

use std::fmt::Write as _;

use crate::code_host::{ReviewComment, ReviewEvent, Side};
use crate::context::{ContextOutcome, ContextReport};
use crate::diff::FileDiff;

/// The reviewer's overall judgement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Ready to merge.
    Approve,
    /// Must change before merging.
    RequestChanges,
    /// A human should look.
    NeedsDiscussion,
}

impl Verdict {
    /// The original's markdown name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Approve => "APPROVE",
            Self::RequestChanges => "REQUEST_CHANGES",
            Self::NeedsDiscussion => "NEEDS_DISCUSSION",
        }
    }

    /// Parses `approve`, `request_changes` or `needs_discussion` (any case; `-` or space for
    /// `_`).
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().replace(['-', ' '], "_").as_str() {
            "approve" | "approved" => Some(Self::Approve),
            "request_changes" | "changes_requested" => Some(Self::RequestChanges),
            "needs_discussion" | "comment" => Some(Self::NeedsDiscussion),
            _ => None,
        }
    }

    /// The verdict findings call for, the one rule every reviewer without a judgement of its own
    /// uses: a critical finding requests changes, a moderate one asks for discussion, minor
    /// findings (or none) approve.
    pub fn from_findings(findings: &[Finding]) -> Self {
        match findings.iter().map(|finding| finding.severity).max() {
            Some(Severity::Critical) => Self::RequestChanges,
            Some(Severity::Moderate) => Self::NeedsDiscussion,
            Some(Severity::Minor) | None => Self::Approve,
        }
    }
}

/// How bad a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Worth a thought.
    Minor,
    /// Should be fixed.
    Moderate,
    /// Must be fixed.
    Critical,
}

impl Severity {
    /// Lower-case name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Minor => "minor",
            Self::Moderate => "moderate",
            Self::Critical => "critical",
        }
    }

    /// The original's markdown prefix.
    pub const fn prefix(self) -> &'static str {
        match self {
            Self::Critical => "🔴 **Critical:**",
            Self::Moderate => "🟡 **Moderate:**",
            Self::Minor => "🟢 **Minor:**",
        }
    }

    /// Parses `critical`, `moderate` or `minor` (any case).
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "critical" => Some(Self::Critical),
            "moderate" => Some(Self::Moderate),
            "minor" => Some(Self::Minor),
            _ => None,
        }
    }
}

/// One problem found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// File path in the new tree.
    pub path: String,
    /// New-file line.
    pub line: u64,
    /// Last line of a multi-line finding.
    pub end_line: Option<u64>,
    /// How bad.
    pub severity: Severity,
    /// A short slug (`secret`, `sql-injection`, `debug-leftover`, …).
    pub category: String,
    /// One line.
    pub title: String,
    /// Why it matters.
    pub explanation: String,
    /// Replacement text for the lines, when there is one.
    pub suggestion: Option<String>,
}

/// A whole review.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StructuredReview {
    /// The judgement.
    pub verdict: Verdict,
    /// 1 to 5.
    pub confidence: u8,
    /// What the change does.
    pub summary: String,
    /// Its main changes.
    pub key_changes: Vec<String>,
    /// Problems.
    pub findings: Vec<Finding>,
    /// Open issues the change may resolve.
    pub semantic_issues: Vec<u64>,
}

/// How one file was treated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Coverage {
    /// Reviewed line by line.
    Reviewed,
    /// Only summarised (clipped to the budget).
    Summarised(String),
    /// Not reviewed, and why.
    Skipped(String),
}

/// A file and how it was treated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CoverageEntry {
    /// Path.
    pub path: String,
    /// Treatment.
    pub coverage: Coverage,
}

/// Findings split by whether they anchor on the diff.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Anchored {
    /// Posted inline.
    pub inline: Vec<Finding>,
    /// Listed in the body instead.
    pub unanchored: Vec<Finding>,
}

/// Checks every finding against the diff: its line (and end line) must lie inside a hunk of its
/// file, on the right side. A finding that does not anchor goes into the body, never fails.
pub fn anchor(findings: &[Finding], files: &[FileDiff]) -> Anchored {
    let mut anchored = Anchored::default();
    for finding in findings {
        let anchors = files.iter().find(|file| file.path == finding.path).is_some_and(|file| {
            file.anchors_right(finding.line)
                && finding.end_line.is_none_or(|end| end >= finding.line && file.anchors_right(end))
        });
        if anchors {
            anchored.inline.push(finding.clone());
        } else {
            anchored.unanchored.push(finding.clone());
        }
    }
    anchored
}

/// The inline comment of an anchored finding; a multi-line finding uses `start_line`.
pub fn comment_for(finding: &Finding) -> ReviewComment {
    let mut body =
        format!("{} {}\n\n{}", finding.severity.prefix(), finding.title, finding.explanation);
    if let Some(suggestion) = &finding.suggestion {
        let _ = write!(body, "\n\n```suggestion\n{suggestion}\n```");
    }
    let (start_line, line) = match finding.end_line {
        Some(end) if end > finding.line => (Some(finding.line), end),
        _ => (None, finding.line),
    };
    ReviewComment {
        path: finding.path.clone(),
        line,
        side: Side::Right,
        start_line,
        start_side: start_line.map(|_| Side::Right),
        body,
    }
}

/// Which review event to post: `COMMENT` unless the configuration allows the verdict's event.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PostingPolicy {
    /// Post `APPROVE` for an approving verdict.
    pub allow_approve: bool,
    /// Post `REQUEST_CHANGES` for a request-changes verdict.
    pub allow_request_changes: bool,
}

impl PostingPolicy {
    /// The event for a verdict under this policy.
    pub const fn event_for(self, verdict: Verdict) -> ReviewEvent {
        match verdict {
            Verdict::Approve if self.allow_approve => ReviewEvent::Approve,
            Verdict::RequestChanges if self.allow_request_changes => ReviewEvent::RequestChanges,
            _ => ReviewEvent::Comment,
        }
    }
}

fn coverage_table(coverage: &[CoverageEntry], context: &ContextReport) -> String {
    let reviewed = coverage.iter().filter(|entry| entry.coverage == Coverage::Reviewed).count();
    let mut summary = format!("Coverage: {reviewed} of {} files reviewed", coverage.len());
    if !context.providers.is_empty() {
        let answered = context
            .providers
            .iter()
            .filter(|provider| matches!(provider.outcome, ContextOutcome::Items(_)))
            .count();
        let _ = write!(summary, "; context from {answered} of {} sources", context.providers.len());
    }
    let mut text = format!("<details><summary>{summary}</summary>\n\n");
    text.push_str("| File | Coverage |\n|---|---|\n");
    for entry in coverage {
        let treatment = match &entry.coverage {
            Coverage::Reviewed => "reviewed".to_owned(),
            Coverage::Summarised(why) => format!("summarised: {why}"),
            Coverage::Skipped(why) => format!("skipped: {why}"),
        };
        let _ = writeln!(text, "| `{}` | {treatment} |", entry.path);
    }
    if !context.providers.is_empty() {
        text.push_str("\n| Context | Coverage |\n|---|---|\n");
        for provider in &context.providers {
            let _ = writeln!(text, "| {} | {} |", provider.provider, provider.coverage());
        }
    }
    text.push_str("\n</details>");
    text
}

/// The review body, in the original's markdown contract: `## Summary`, `## Key Changes`,
/// `## Issues` (emoji severity prefixes, or `No issues found ✅`), `**Confidence: X/5**`,
/// `## Important Files Changed`, `## Review Verdict`; then findings that could not be placed
/// inline and the coverage table (every file, then every context provider).
pub fn render_body(
    review: &StructuredReview,
    anchored: &Anchored,
    important_files: &[String],
    coverage: &[CoverageEntry],
    context: &ContextReport,
) -> String {
    let mut body = String::new();
    let _ = writeln!(body, "## Summary\n{}\n", review.summary.trim());
    body.push_str("## Key Changes\n");
    if review.key_changes.is_empty() {
        body.push_str("- (none listed)\n");
    }
    for change in &review.key_changes {
        let _ = writeln!(body, "- {change}");
    }
    body.push_str("\n## Issues\n");
    if review.findings.is_empty() {
        body.push_str("No issues found ✅\n");
    }
    let mut ordered: Vec<&Finding> = review.findings.iter().collect();
    ordered.sort_by(|a, b| {
        b.severity.cmp(&a.severity).then(a.path.cmp(&b.path)).then(a.line.cmp(&b.line))
    });
    for finding in ordered {
        let _ = writeln!(
            body,
            "- {} {} (`{}` line {})",
            finding.severity.prefix(),
            finding.title,
            finding.path,
            finding.line
        );
    }
    let _ = writeln!(body, "\n**Confidence: {}/5**\n", review.confidence.clamp(1, 5));
    body.push_str("## Important Files Changed\n");
    for file in important_files {
        let _ = writeln!(body, "- `{file}`");
    }
    let _ = writeln!(body, "\n## Review Verdict\n**{}**", review.verdict.as_str());
    if !anchored.unanchored.is_empty() {
        body.push_str("\n### Findings outside the diff\n");
        for finding in &anchored.unanchored {
            let _ = writeln!(
                body,
                "- {} `{}` line {}: {}. {}",
                finding.severity.prefix(),
                finding.path,
                finding.line,
                finding.title,
                finding.explanation
            );
        }
    }
    if !coverage.is_empty() {
        body.push('\n');
        body.push_str(&coverage_table(coverage, context));
        body.push('\n');
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diff::parse_patch;

    fn finding(path: &str, line: u64, end_line: Option<u64>, severity: Severity) -> Finding {
        Finding {
            path: path.to_owned(),
            line,
            end_line,
            severity,
            category: "test".to_owned(),
            title: format!("Problem at {line}"),
            explanation: "Because.".to_owned(),
            suggestion: None,
        }
    }

    #[test]
    fn findings_outside_the_diff_go_to_the_body() {
        let files = vec![parse_patch("a.rs", "@@ -1,2 +1,3 @@\n one\n+two\n three").unwrap()];
        let findings = vec![
            finding("a.rs", 2, None, Severity::Critical),
            finding("a.rs", 1, Some(3), Severity::Minor),
            finding("a.rs", 9, None, Severity::Moderate),
            finding("b.rs", 1, None, Severity::Minor),
            finding("a.rs", 3, Some(2), Severity::Minor),
        ];
        let anchored = anchor(&findings, &files);
        assert_eq!(anchored.inline.iter().map(|f| f.line).collect::<Vec<_>>(), vec![2, 1]);
        assert_eq!(anchored.unanchored.len(), 3);
        let multi = comment_for(&anchored.inline[1]);
        assert_eq!((multi.start_line, multi.line), (Some(1), 3));
    }

    #[test]
    fn the_worst_finding_decides_the_verdict() {
        let of = |severities: &[Severity]| {
            let findings: Vec<Finding> =
                severities.iter().map(|severity| finding("a.rs", 1, None, *severity)).collect();
            Verdict::from_findings(&findings)
        };
        assert_eq!(of(&[]), Verdict::Approve);
        assert_eq!(of(&[Severity::Minor]), Verdict::Approve);
        assert_eq!(of(&[Severity::Minor, Severity::Moderate]), Verdict::NeedsDiscussion);
        assert_eq!(of(&[Severity::Moderate, Severity::Critical]), Verdict::RequestChanges);
    }

    #[test]
    fn the_policy_posts_comments_unless_allowed() {
        let default = PostingPolicy::default();
        assert_eq!(default.event_for(Verdict::Approve), ReviewEvent::Comment);
        assert_eq!(default.event_for(Verdict::RequestChanges), ReviewEvent::Comment);
        let permissive = PostingPolicy { allow_approve: true, allow_request_changes: true };
        assert_eq!(permissive.event_for(Verdict::Approve), ReviewEvent::Approve);
        assert_eq!(permissive.event_for(Verdict::RequestChanges), ReviewEvent::RequestChanges);
        assert_eq!(permissive.event_for(Verdict::NeedsDiscussion), ReviewEvent::Comment);
    }

    #[test]
    fn the_body_keeps_the_originals_markdown_contract() {
        let review = StructuredReview {
            verdict: Verdict::RequestChanges,
            confidence: 4,
            summary: "Adds a login.".to_owned(),
            key_changes: vec!["New endpoint".to_owned()],
            findings: vec![
                finding("a.rs", 2, None, Severity::Minor),
                finding("a.rs", 1, None, Severity::Critical),
            ],
            semantic_issues: Vec::new(),
        };
        let anchored = Anchored { inline: review.findings.clone(), unanchored: Vec::new() };
        let coverage = vec![
            CoverageEntry { path: "a.rs".to_owned(), coverage: Coverage::Reviewed },
            CoverageEntry {
                path: "Cargo.lock".to_owned(),
                coverage: Coverage::Skipped("lockfile".to_owned()),
            },
        ];
        let body = render_body(
            &review,
            &anchored,
            &["a.rs".to_owned()],
            &coverage,
            &ContextReport::default(),
        );
        let order = [
            "## Summary",
            "## Key Changes",
            "## Issues",
            "**Confidence: 4/5**",
            "## Important Files Changed",
            "## Review Verdict\n**REQUEST_CHANGES**",
        ];
        let positions: Vec<usize> = order
            .iter()
            .map(|part| body.find(part).unwrap_or_else(|| panic!("{part} in {body}")))
            .collect();
        assert!(positions.windows(2).all(|pair| pair[0] < pair[1]), "{body}");
        assert!(
            body.find("🔴 **Critical:**").unwrap() < body.find("🟢 **Minor:**").unwrap(),
            "critical first"
        );
        assert!(body.contains("| `Cargo.lock` | skipped: lockfile |"));
        let clean = StructuredReview { findings: Vec::new(), verdict: Verdict::Approve, ..review };
        assert!(
            render_body(&clean, &Anchored::default(), &[], &[], &ContextReport::default())
                .contains("No issues found ✅")
        );
    }
}
