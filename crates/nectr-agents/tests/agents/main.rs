//! The reviewers: the offline reviewer against its labelled corpus (`corpus/`, written by
//! `corpus/generate.py`) with zero findings on clean changes and its precision and recall on
//! seeded problems; prompt snapshots; and the agent loop on a scripted model.

mod agent_loop;
mod prompts;

use std::collections::BTreeSet;
use std::path::Path;

use nectr_agents::OfflineReviewer;
use nectr_domain::diff::parse_unified_diff;

type Label = (String, String, u64);

fn labels_of(text: &str) -> BTreeSet<Label> {
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let (category, location) =
                line.split_once(' ').unwrap_or_else(|| panic!("bad label {line:?}"));
            let (path, number) =
                location.rsplit_once(':').unwrap_or_else(|| panic!("bad label {line:?}"));
            (
                category.to_owned(),
                path.to_owned(),
                number.parse().unwrap_or_else(|_| panic!("bad line in {line:?}")),
            )
        })
        .collect()
}

#[test]
fn the_offline_reviewer_is_quiet_on_clean_changes_and_finds_seeded_problems() {
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/agents/corpus");
    let mut names: Vec<_> = std::fs::read_dir(&folder)
        .unwrap_or_else(|error| panic!("{}: {error}", folder.display()))
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "diff"))
        .collect();
    names.sort();
    assert!(names.len() >= 60, "the corpus has {} diffs", names.len());
    let reviewer = OfflineReviewer::new(nectr_agents::OfflineRules::all());
    let (mut true_positives, mut false_positives, mut false_negatives) =
        (0_usize, 0_usize, 0_usize);
    let (mut clean, mut noisy_clean) = (0, Vec::new());
    let mut misses = Vec::new();
    for path in &names {
        let diff = std::fs::read_to_string(path)
            .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
        let expected =
            labels_of(&std::fs::read_to_string(path.with_extension("expect")).unwrap_or_default());
        let files =
            parse_unified_diff(&diff).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
        let found: BTreeSet<Label> = reviewer
            .findings(&files)
            .into_iter()
            .map(|finding| (finding.category, finding.path, finding.line))
            .collect();
        let name =
            path.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
        if expected.is_empty() {
            clean += 1;
            if !found.is_empty() {
                noisy_clean.push(format!("{name}: {found:?}"));
            }
        }
        true_positives += found.intersection(&expected).count();
        false_positives += found.difference(&expected).count();
        false_negatives += expected.difference(&found).count();
        if found != expected {
            misses.push(format!("{name}: expected {expected:?}, found {found:?}"));
        }
    }
    let precision = true_positives as f64 / (true_positives + false_positives).max(1) as f64;
    let recall = true_positives as f64 / (true_positives + false_negatives).max(1) as f64;
    eprintln!(
        "offline reviewer on {} diffs ({clean} clean): precision {precision:.3}, recall {recall:.3} \
         (true positives {true_positives}, false positives {false_positives}, false negatives {false_negatives})",
        names.len()
    );
    assert!(noisy_clean.is_empty(), "findings on clean changes:\n{}", noisy_clean.join("\n"));
    // The corpus is the regression guard: every seeded problem is still found, with every rule
    // switched on (opt-in ones too).
    assert_eq!(false_negatives, 0, "seeded problems missed:\n{}", misses.join("\n"));
    assert!(
        precision >= 0.95 && recall >= 0.95,
        "precision {precision:.3}, recall {recall:.3}:\n{}",
        misses.join("\n")
    );
}

#[test]
fn the_review_follows_the_worst_finding() {
    let diff = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/agents/corpus/01-aws-key.diff"),
    )
    .unwrap_or_default();
    let review = OfflineReviewer::default().review(&parse_unified_diff(&diff).unwrap_or_default());
    assert_eq!(review.verdict, nectr_domain::review::Verdict::RequestChanges);
    assert_eq!(review.findings.len(), 1);
    assert!(review.summary.contains("1 finding"), "{}", review.summary);
    let clean = OfflineReviewer::default().review(&[]);
    assert_eq!((clean.verdict, clean.findings.len()), (nectr_domain::review::Verdict::Approve, 0));
}
