//! The blast-radius rule, on the code graph's context: a change to a file that many others
//! depend on, with no test changed beside it, deserves a test. Without a graph (a local diff, an
//! unscanned repository) it finds nothing.

use nectr_domain::diff::{FileDiff, LineKind};
use nectr_domain::pipeline::ReviewRequest;
use nectr_domain::review::Finding;

use super::rules::Rule;
use super::test_code::is_test_file;

/// Dependents (one and two hops) from which a change needs a test.
pub(super) const MANY_DEPENDENTS: u64 = 5;

/// The first added line of a file, where a finding about the whole file anchors.
fn first_added_line(file: &FileDiff) -> Option<u64> {
    file.hunks
        .iter()
        .flat_map(|hunk| hunk.lines.iter())
        .find(|line| line.kind == LineKind::Added)
        .and_then(|line| line.new_line)
}

/// One finding per changed file with at least [`MANY_DEPENDENTS`] dependents, when no
/// test file changed in the pull request.
pub(super) fn findings(request: &ReviewRequest) -> Vec<Finding> {
    if request.files.iter().any(|file| is_test_file(&file.path)) {
        return Vec::new();
    }
    let mut findings = Vec::new();
    for (path, dependents) in &request.graph.dependents_per_file {
        if *dependents < MANY_DEPENDENTS {
            continue;
        }
        let Some(file) = request.files.iter().find(|file| &file.path == path) else { continue };
        let Some(line) = first_added_line(file) else { continue };
        findings.push(Finding {
            path: path.clone(),
            line,
            end_line: None,
            severity: Rule::BlastRadius.severity(),
            category: Rule::BlastRadius.id().to_owned(),
            title: format!("{dependents} files depend on {path}, and no test changed"),
            explanation: format!(
                "The code graph shows {dependents} files importing {path} directly or through \
                 one more file; a change here reaches all of them, yet this pull request \
                 changes no test. Add or update a test that covers the changed behaviour."
            ),
            suggestion: None,
        });
    }
    findings
}

#[cfg(test)]
mod tests {
    use nectr_domain::RepoFullName;
    use nectr_domain::code_host::{PullRequest, State};
    use nectr_domain::diff::parse_patch;
    use nectr_domain::graph::GraphContext;

    use super::*;

    fn request(files: &[&str], dependents: &[(&str, u64)]) -> ReviewRequest {
        let pull = PullRequest {
            number: 7,
            title: "Change money".to_owned(),
            body: None,
            state: State::Open,
            merged: false,
            draft: false,
            author: "amy".to_owned(),
            head_sha: "h".to_owned(),
            head_ref: "feature".to_owned(),
            base_sha: "b".to_owned(),
            base_ref: "main".to_owned(),
            html_url: String::new(),
            additions: 1,
            deletions: 0,
            changed_files: 1,
            commits: 1,
            created_at: None,
            merged_at: None,
        };
        ReviewRequest {
            repo: RepoFullName::parse("acme/shop").unwrap(),
            pull,
            files: files
                .iter()
                .map(|path| parse_patch(path, "@@ -1,1 +1,2 @@\n keep\n+added\n").unwrap())
                .collect(),
            summarised: Vec::new(),
            tools: None,
            sources: Default::default(),
            memories: Default::default(),
            graph: GraphContext {
                dependents_per_file: dependents
                    .iter()
                    .map(|(p, n)| ((*p).to_owned(), *n))
                    .collect(),
                ..GraphContext::default()
            },
            context: Default::default(),
        }
    }

    #[test]
    fn a_widely_imported_file_changed_without_a_test_is_named() {
        let findings = findings(&request(
            &["src/money.rs", "src/leaf.rs"],
            &[("src/money.rs", 12), ("src/leaf.rs", 1)],
        ));
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].path, "src/money.rs");
        assert_eq!(findings[0].line, 2);
        assert_eq!(findings[0].title, "12 files depend on src/money.rs, and no test changed");
    }

    #[test]
    fn a_test_change_or_no_graph_finds_nothing() {
        let with_test = request(&["src/money.rs", "tests/money_test.rs"], &[("src/money.rs", 12)]);
        assert!(findings(&with_test).is_empty());
        assert!(findings(&request(&["src/money.rs"], &[])).is_empty());
    }
}
