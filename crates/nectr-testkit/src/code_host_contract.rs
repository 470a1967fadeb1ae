//! The `CodeHost` contract: scenarios every code-host adapter must pass, run through the port
//! against the fake GitHub. The fake is seeded here, so an adapter's test only has to point the
//! adapter at [`FakeGitHub::url`].

use nectr_domain::code_host::{
    CodeHost, CodeHostError, ContributorStats, FileContent, Identity, NewReview, PostedReview,
    ReviewComment, ReviewEvent, Side, State, WeeklyCommits,
};
use nectr_domain::{RepoFullName, WebhookSecret};

use crate::fake_github::{FakeFile, FakeGitHub, FakeIssue, FakePull};

/// The repository the scenarios use.
pub const REPO: &str = "octo-org/hello-world";

fn repo() -> RepoFullName {
    RepoFullName::parse(REPO).unwrap()
}

/// Seeds the fake with a repository, pull requests (one of 250 files), issues and contents.
pub fn seed(fake: &FakeGitHub) {
    let mut state = fake.state();
    let repo = state.repo(REPO);
    repo.languages = [("Rust".to_owned(), 12_000), ("Shell".to_owned(), 300)].into_iter().collect();
    repo.tree = vec![
        ("src".to_owned(), "tree".to_owned(), None),
        ("src/main.rs".to_owned(), "blob".to_owned(), Some(13)),
        ("logo.png".to_owned(), "blob".to_owned(), Some(6)),
    ];
    repo.contents.insert("src/main.rs".to_owned(), b"fn main() {}\n".to_vec());
    repo.history.insert(
        "src/main.rs".to_owned(),
        (1..=12)
            .rev()
            .map(|index| {
                (
                    format!("{index:040x}"),
                    "octocat".to_owned(),
                    format!("Change {index}\n\nDetails"),
                )
            })
            .collect(),
    );
    repo.contents.insert("logo.png".to_owned(), vec![0x89, b'P', b'N', b'G', 0, 1]);
    repo.contents.insert("big.txt".to_owned(), vec![b'a'; 2 * 1024 * 1024]);
    repo.contributors = vec![("octocat".to_owned(), 12, 340, 20), ("hubot".to_owned(), 3, 10, 1)];
    let mut small = FakePull::new(
        1,
        vec![FakeFile::added_lines("src/main.rs", 5), FakeFile::added_lines("README.md", 2)],
    );
    small.title = "Add a greeting".to_owned();
    repo.pulls.insert(1, small);
    let many = (0..250)
        .map(|index| FakeFile::added_lines(&format!("src/file_{index:03}.rs"), 3))
        .collect();
    repo.pulls.insert(2, FakePull::new(2, many));
    let mut closed = FakePull::new(3, vec![FakeFile::added_lines("old.rs", 1)]);
    closed.state = "closed".to_owned();
    closed.merged = true;
    repo.pulls.insert(3, closed);
    for (number, title, is_pull_request) in
        [(10, "Crash on start", false), (11, "Add dark mode", false), (1, "Add a greeting", true)]
    {
        repo.issues.insert(
            number,
            FakeIssue {
                number,
                title: title.to_owned(),
                body: format!("{title}, details."),
                state: "open".to_owned(),
                labels: vec!["bug".to_owned()],
                is_pull_request,
            },
        );
    }
}

fn comment(path: &str, line: u64) -> ReviewComment {
    ReviewComment {
        path: path.to_owned(),
        line,
        side: Side::Right,
        start_line: None,
        start_side: None,
        body: format!("Look at {path}:{line}"),
    }
}

/// Runs every scenario; `who` must be accepted by the fake.
pub async fn code_host(host: &dyn CodeHost, fake: &FakeGitHub, who: &Identity) {
    seed(fake);
    let repo = repo();

    // Pull requests.
    let pull = host.pull_request(who, &repo, 1).await.unwrap();
    assert_eq!(
        (pull.number, pull.title.as_str(), pull.state, pull.merged, pull.draft),
        (1, "Add a greeting", State::Open, false, false)
    );
    assert_eq!((pull.additions, pull.changed_files, pull.author.as_str()), (7, 2, "octocat"));
    assert_eq!(pull.head_sha.len(), 40);
    assert_eq!(pull.base_ref, "main");
    let files_before = fake.count(Some("GET"), &format!("/repos/{REPO}/pulls/2/files"));
    let files = host.pull_request_files(who, &repo, 2).await.unwrap();
    assert_eq!(files.files.len(), 250);
    assert!(!files.capped);
    assert_eq!(files.files[249].path, "src/file_249.rs");
    assert!(files.files[0].patch.as_deref().unwrap().starts_with("@@ -0,0 +1,3 @@"));
    assert_eq!(
        fake.count(Some("GET"), &format!("/repos/{REPO}/pulls/2/files")) - files_before,
        3,
        "three pages of 100"
    );
    let diff = host.pull_request_diff(who, &repo, 1).await.unwrap();
    assert!(diff.starts_with("diff --git a/src/main.rs b/src/main.rs"), "{diff}");
    let open: Vec<u64> =
        host.open_pull_requests(who, &repo).await.unwrap().iter().map(|pull| pull.number).collect();
    assert_eq!(open, [1, 2]);
    let merged = host.pull_request(who, &repo, 3).await.unwrap();
    assert!(merged.merged && merged.state == State::Closed);
    assert!(matches!(host.pull_request(who, &repo, 99).await, Err(CodeHostError::NotFound)));

    // Repositories.
    let repository = host.repository(who, &repo).await.unwrap();
    assert_eq!(
        (repository.full_name.as_str(), repository.default_branch.as_str(), repository.size_kib),
        (REPO, "main", 108)
    );
    assert!(repository.can_admin);
    let tree = host.tree(who, &repo, "main").await.unwrap();
    assert_eq!(tree.entries.len(), 3);
    assert!(!tree.truncated);
    assert_eq!(
        host.file_content(who, &repo, "src/main.rs", "main").await.unwrap(),
        Some(FileContent::Text("fn main() {}\n".to_owned()))
    );
    assert_eq!(
        host.file_content(who, &repo, "logo.png", "main").await.unwrap(),
        Some(FileContent::Binary { size: 6 })
    );
    assert_eq!(
        host.file_content(who, &repo, "big.txt", "main").await.unwrap(),
        Some(FileContent::TooLarge { size: 2 * 1024 * 1024 })
    );
    assert_eq!(host.file_content(who, &repo, "missing.rs", "main").await.unwrap(), None);
    assert!(matches!(
        host.file_content(who, &repo, "src", "main").await,
        Err(CodeHostError::ValidationFailed(_))
    ));
    let history = host.file_history(who, &repo, "src/main.rs", "main", 10).await.unwrap();
    assert_eq!(history.len(), 10, "at most the limit");
    assert_eq!(
        (history[0].title.as_str(), history[0].author.as_str()),
        ("Change 12", "octocat"),
        "newest first, the message's first line"
    );
    assert!(history[0].date.is_some());
    assert!(host.file_history(who, &repo, "missing.rs", "main", 10).await.unwrap().is_empty());
    assert_eq!(host.languages(who, &repo).await.unwrap()["Rust"], 12_000);
    fake.state().repo(REPO).stats_pending = 2;
    match host.contributor_stats(who, &repo).await.unwrap() {
        ContributorStats::Ready(stats) => {
            assert_eq!(stats.len(), 2);
            assert_eq!(
                (stats[0].login.as_str(), stats[0].commits, stats[0].additions),
                ("octocat", 12, 340)
            );
            assert_eq!(stats[0].weeks, vec![WeeklyCommits { week: 1_700_000_000, commits: 12 }]);
        }
        ContributorStats::NotReady => panic!("ready after two 202s"),
    }
    fake.state().repo(REPO).stats_pending = 100;
    assert_eq!(
        host.contributor_stats(who, &repo).await.unwrap(),
        ContributorStats::NotReady,
        "gives up cleanly"
    );
    fake.state().repo(REPO).stats_pending = 0;

    // Issues.
    let issue = host.issue(who, &repo, 10).await.unwrap().unwrap();
    assert_eq!(
        (issue.title.as_str(), issue.state, issue.labels.as_slice()),
        ("Crash on start", State::Open, &["bug".to_owned()][..])
    );
    assert_eq!(host.issue(who, &repo, 404).await.unwrap(), None);
    let open_issues: Vec<u64> =
        host.open_issues(who, &repo).await.unwrap().iter().map(|issue| issue.number).collect();
    assert_eq!(open_issues, [10, 11], "pull requests are left out");

    // A review with one invalid inline comment among five.
    let review = NewReview {
        commit_id: pull.head_sha.clone(),
        event: ReviewEvent::Comment,
        body: "## Summary\nLooks fine.".to_owned(),
        comments: vec![
            comment("src/main.rs", 1),
            comment("src/main.rs", 3),
            comment("src/main.rs", 42),
            comment("README.md", 2),
            ReviewComment {
                start_line: Some(4),
                start_side: Some(Side::Right),
                ..comment("src/main.rs", 5)
            },
        ],
        marker: None,
    };
    match host.post_review(who, &repo, 1, &review).await.unwrap() {
        PostedReview::Review { inline, moved_to_body, .. } => {
            assert_eq!(inline.len(), 4);
            assert_eq!(moved_to_body, vec![comment("src/main.rs", 42)]);
        }
        other => panic!("expected a review, got {other:?}"),
    }
    {
        let state = fake.state();
        let reviews = &state.repos[REPO].reviews[&1];
        assert_eq!(reviews.len(), 1, "one submitted review, no pending probe left behind");
        assert_eq!(reviews[0].event, "COMMENT");
        assert_eq!(reviews[0].comments.len(), 4);
        assert!(
            reviews[0].body.contains("`src/main.rs` line 42: Look at src/main.rs:42"),
            "{}",
            reviews[0].body
        );
        assert_eq!(reviews[0].comments[3]["start_line"], 4);
    }
    let listed = host.reviews(who, &repo, 1).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].state, "COMMENTED");
    let posted_comments = host.review_comments(who, &repo, 1).await.unwrap();
    assert_eq!(posted_comments.len(), 4);
    assert_eq!(posted_comments[0].comment.line, 1);

    // Summary comments, edited in place and found by a hidden marker.
    let marker = "<!-- nectr:summary -->";
    assert_eq!(host.find_issue_comment(who, &repo, 1, marker).await.unwrap(), None);
    let posted = host.post_issue_comment(who, &repo, 1, &format!("{marker}\nFirst")).await.unwrap();
    host.post_issue_comment(who, &repo, 1, "Unrelated").await.unwrap();
    let found = host.find_issue_comment(who, &repo, 1, marker).await.unwrap().unwrap();
    assert_eq!(found.id, posted.id);
    let updated = host
        .update_issue_comment(who, &repo, posted.id, &format!("{marker}\nSecond"))
        .await
        .unwrap();
    assert!(updated.body.ends_with("Second"));
    assert_eq!(
        host.find_issue_comment(who, &repo, 1, marker).await.unwrap().unwrap().body,
        updated.body
    );

    // Webhooks.
    let secret = WebhookSecret::new("hook-secret");
    let hook = host
        .create_webhook(who, &repo, "https://nectr.example/api/v1/webhooks/github", &secret)
        .await
        .unwrap();
    {
        let state = fake.state();
        let request = &state.repos[REPO].hooks[0].request;
        assert_eq!(
            request["events"],
            serde_json::json!(["pull_request", "issue_comment", "pull_request_review"])
        );
        assert_eq!(
            (request["config"]["content_type"].as_str(), request["config"]["secret"].as_str()),
            (Some("json"), Some("hook-secret"))
        );
    }
    host.delete_webhook(who, &repo, hook).await.unwrap();
    host.delete_webhook(who, &repo, hook).await.unwrap();
    assert!(fake.state().repos[REPO].hooks.is_empty());
}
