//! The offline reviewer: deterministic rules over a diff. Each finding has a severity, a message
//! that says what to do and, where one exists, a suggested replacement. Before any rule fires,
//! test code is recognised (`test_code`) and the change is classified (`classify`): comments,
//! docstrings, formatting, annotations and moved code bear no behaviour. Which rules run is a
//! [`RuleSet`] ([`rules`]): the ones whose precision measured on real history is under 0.6 are
//! opt-in. The labelled corpus under `tests/agents/corpus/` is the regression guard.

mod blast_radius;
mod classify;
mod lines;
pub mod rules;
mod test_code;

use std::collections::{BTreeMap, HashMap};

use nectr_domain::diff::{FileChange, FileDiff, LineKind};
use nectr_domain::llm::Usage;
use nectr_domain::pipeline::{ModelError, ModelReview, ReviewModel, ReviewRequest};
use nectr_domain::review::{Finding, StructuredReview, Verdict};
use regex::Regex;

use classify::{LineClass, classify};
use rules::{Rule, RuleSet};
use test_code::{is_test_file, test_lines};

/// Added lines above which a new file is "very large".
const LARGE_FILE_LINES: usize = 1000;
/// Behaviour-bearing source lines above which a change without tests is flagged.
const UNTESTED_SOURCE_LINES: usize = 10;

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

fn regex(pattern: &str) -> Regex {
    // The patterns are constants of this module; the corpus test exercises every one of them.
    Regex::new(pattern)
        .unwrap_or_else(|error| unreachable!("invalid built-in pattern {pattern}: {error}"))
}

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

/// The reviewer. Holds only which rules run; share it freely.
#[derive(Clone, Debug, Default)]
pub struct OfflineReviewer {
    rules: RuleSet,
}

/// Builds findings of one rule.
fn finding(file: &FileDiff, line: u64, rule: Rule, title: &str, explanation: &str) -> Finding {
    Finding {
        path: file.path.clone(),
        line,
        end_line: None,
        severity: rule.severity(),
        category: rule.id().to_owned(),
        title: title.to_owned(),
        explanation: explanation.to_owned(),
        suggestion: None,
    }
}

impl OfflineReviewer {
    /// A reviewer running `rules`.
    pub fn new(rules: RuleSet) -> Self {
        Self { rules }
    }

    /// Every finding in the diff, in file order, without the files' text.
    pub fn findings(&self, files: &[FileDiff]) -> Vec<Finding> {
        self.findings_with_sources(files, &BTreeMap::new())
    }

    /// Every finding in the diff, in file order; `sources` holds the text of changed files at the
    /// head commit, by path, where the caller has it (it tells what surrounds each hunk).
    pub fn findings_with_sources(
        &self,
        files: &[FileDiff],
        sources: &BTreeMap<String, String>,
    ) -> Vec<Finding> {
        let classes = classify(files, sources);
        let mut findings = Vec::new();
        let mut tested = false;
        for (index, file) in files.iter().enumerate() {
            if file.change == FileChange::Deleted || file.binary {
                continue;
            }
            let test_file = is_test_file(&file.path);
            let in_tests = test_lines(file, sources.get(&file.path).map(String::as_str));
            tested |= test_file || file.added_lines().any(|(line, _)| in_tests.contains(&line));
            for hunk in &file.hunks {
                for (position, line) in hunk.lines.iter().enumerate() {
                    let (LineKind::Added, Some(number)) = (line.kind, line.new_line) else {
                        continue;
                    };
                    let context = lines::LineContext {
                        file,
                        number,
                        text: &line.text,
                        above: &hunk.lines[..position],
                        hunk: &hunk.lines,
                        test_code: test_file || in_tests.contains(&number),
                        class: classes.get(&(index, number)).copied(),
                    };
                    lines::check(&context, &mut findings);
                }
            }
            if file.change == FileChange::Added && file.additions() > LARGE_FILE_LINES && !test_file
            {
                findings.push(finding(
                    file,
                    1,
                    Rule::LargeFile,
                    "Very large new file",
                    &format!(
                        "This file adds {} lines. Reviewers cannot read that much at once; split it, or mark it generated (`linguist-generated` in `.gitattributes`).",
                        file.additions()
                    ),
                ));
            }
        }
        check_lockfiles(files, &mut findings);
        if !tested {
            check_missing_tests(files, &classes, &mut findings);
        }
        findings.retain(|finding| {
            Rule::parse(&finding.category).is_none_or(|rule| self.rules.contains(rule))
        });
        findings
    }

    /// A structured review of the diff: the verdict follows the worst finding.
    pub fn review(&self, files: &[FileDiff]) -> StructuredReview {
        self.review_with_sources(files, &BTreeMap::new())
    }

    /// [`OfflineReviewer::review`], knowing the changed files' text at the head commit.
    pub fn review_with_sources(
        &self,
        files: &[FileDiff],
        sources: &BTreeMap<String, String>,
    ) -> StructuredReview {
        summarise(files, self.findings_with_sources(files, sources))
    }

    /// The review of a pipeline's request: the diff's findings, and the blast-radius rule on
    /// what the code graph knows of the change.
    pub fn review_request(&self, request: &ReviewRequest) -> StructuredReview {
        let mut findings = self.findings_with_sources(&request.files, &request.sources);
        if self.rules.contains(Rule::BlastRadius) {
            findings.extend(blast_radius::findings(request));
        }
        summarise(&request.files, findings)
    }
}

/// The review of `files` with `findings`: the verdict follows the worst finding.
fn summarise(files: &[FileDiff], findings: Vec<Finding>) -> StructuredReview {
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
            .map(|file| format!("`{}` (+{} −{})", file.path, file.additions(), file.deletions()))
            .collect(),
        findings,
        semantic_issues: Vec::new(),
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
                Rule::Lockfile,
                &format!("{name} changed without {manifest}"),
                "A lockfile that changes while its manifest does not often means an accidental dependency update. Check that it is intended, or revert the lockfile.",
            ));
        }
    }
}

/// "Source changed without tests", counting only behaviour-bearing lines of non-test source.
fn check_missing_tests(
    files: &[FileDiff],
    classes: &HashMap<(usize, u64), LineClass>,
    findings: &mut Vec<Finding>,
) {
    let behaviour = |index: usize, file: &FileDiff| -> Vec<u64> {
        file.added_lines()
            .map(|(line, _)| line)
            .filter(|line| classes.get(&(index, *line)) == Some(&LineClass::Behaviour))
            .collect()
    };
    let counted: Vec<(&FileDiff, Vec<u64>)> = files
        .iter()
        .enumerate()
        .filter(|(_, file)| {
            file.change != FileChange::Deleted && is_source(&file.path) && !is_test_file(&file.path)
        })
        .map(|(index, file)| (file, behaviour(index, file)))
        .collect();
    let total: usize = counted.iter().map(|(_, lines)| lines.len()).sum();
    if total < UNTESTED_SOURCE_LINES {
        return;
    }
    let Some((file, lines)) = counted.iter().max_by_key(|(_, lines)| lines.len()) else { return };
    let line = lines.first().copied().unwrap_or(1);
    findings.push(finding(
        file,
        line,
        Rule::MissingTests,
        "Source changed without tests",
        &format!(
            "{total} behaviour-bearing lines of source change and no test does. Add a test that fails without this change, or say in the description why none can."
        ),
    ));
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
            review: self.review_request(request),
            usage: Usage::default(),
            cost_usd: 0.0,
            model: "offline".to_owned(),
        })
    }
}
