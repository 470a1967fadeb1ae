//! Behaviour beyond the contract: limits, retries, identities, OAuth, fallbacks, shapes.

use std::sync::Arc;
use std::time::{Duration, Instant};

use nectr_domain::code_host::{
    CodeHost, CodeHostError, Identity, NewReview, PostedReview, ReviewComment, ReviewEvent, Side,
};
use nectr_domain::{AccessToken, RepoFullName};
use nectr_github::{GitHubAppConfig, GitHubConfig, OctocrabHost};
use nectr_testkit::code_host_contract::{REPO, seed};
use nectr_testkit::fake_github::{FakeFile, FakeGitHub, FakePull, Fault};
use secrecy::SecretString;

use crate::{TOKEN, config, setup};

fn repo() -> RepoFullName {
    RepoFullName::parse(REPO).unwrap()
}

#[tokio::test]
async fn a_secondary_rate_limit_is_waited_out() {
    let (fake, host, who) = setup().await;
    seed(&fake);
    fake.state().faults.push(Fault::secondary_rate_limit(&format!("/repos/{REPO}/pulls/1"), 1, 1));
    let started = Instant::now();
    let pull = host.pull_request(&who, &repo(), 1).await.unwrap();
    assert_eq!(pull.number, 1);
    assert!(started.elapsed() >= Duration::from_millis(950), "waited {:?}", started.elapsed());
    assert_eq!(fake.count(Some("GET"), &format!("/repos/{REPO}/pulls/1")), 2);
}

#[tokio::test]
async fn a_rate_limited_write_is_repeated_because_github_did_not_perform_it() {
    let (fake, host, who) = setup().await;
    seed(&fake);
    let path = format!("/repos/{REPO}/issues/1/comments");
    fake.state().faults.push(Fault {
        method: Some("POST".to_owned()),
        ..Fault::secondary_rate_limit(&path, 1, 1)
    });
    host.post_issue_comment(&who, &repo(), 1, "hello").await.unwrap();
    assert_eq!(fake.count(Some("POST"), &path), 2);
    assert_eq!(fake.state().repos[REPO].issue_comments.len(), 1, "posted once");
}

#[tokio::test]
async fn a_rate_limit_longer_than_allowed_is_reported_with_its_reset_time() {
    let fake = FakeGitHub::start(TOKEN).await;
    seed(&fake);
    let host = OctocrabHost::new(GitHubConfig { max_rate_limit_wait_seconds: 5, ..config(&fake) })
        .unwrap();
    let reset = chrono::Utc::now().timestamp() + 3600;
    fake.state().faults.push(Fault {
        method: None,
        path_prefix: format!("/repos/{REPO}"),
        status: 403,
        headers: vec![
            ("x-ratelimit-remaining".to_owned(), "0".to_owned()),
            ("x-ratelimit-reset".to_owned(), reset.to_string()),
        ],
        body: r#"{"message":"API rate limit exceeded"}"#.to_owned(),
        times: 1,
    });
    let who = Identity::Token(AccessToken::new(TOKEN));
    match host.repository(&who, &repo()).await {
        Err(CodeHostError::RateLimited { reset_at: Some(at) }) => {
            assert!((at.timestamp() - reset).abs() <= 2, "{at}");
        }
        other => panic!("expected RateLimited, got {other:?}"),
    }
}

#[tokio::test]
async fn reads_are_retried_on_server_errors_and_writes_are_not() {
    let (fake, host, who) = setup().await;
    seed(&fake);
    fake.state().faults.push(Fault::server_error(&format!("/repos/{REPO}/languages"), 502, 2));
    assert_eq!(host.languages(&who, &repo()).await.unwrap()["Rust"], 12_000);
    assert_eq!(fake.count(Some("GET"), &format!("/repos/{REPO}/languages")), 3);

    let path = format!("/repos/{REPO}/issues/1/comments");
    fake.state()
        .faults
        .push(Fault { method: Some("POST".to_owned()), ..Fault::server_error(&path, 502, 1) });
    assert!(matches!(
        host.post_issue_comment(&who, &repo(), 1, "once").await,
        Err(CodeHostError::Unavailable(_))
    ));
    assert_eq!(fake.count(Some("POST"), &path), 1, "a write is never retried blindly");
}

#[tokio::test]
async fn errors_name_what_went_wrong_and_never_the_token() {
    let (fake, host, who) = setup().await;
    seed(&fake);
    let missing = RepoFullName::parse("octo-org/missing").unwrap();
    assert!(matches!(host.repository(&who, &missing).await, Err(CodeHostError::NotFound)));
    let stranger = Identity::Token(AccessToken::new("ghp_not_a_token_the_fake_knows"));
    let error = host.repository(&stranger, &repo()).await.unwrap_err();
    assert!(matches!(error, CodeHostError::Unauthorized), "{error:?}");
    assert!(!format!("{error} {error:?}").contains("ghp_not_a_token"));
    let unreachable = OctocrabHost::new(GitHubConfig {
        api_url: "http://127.0.0.1:9".to_owned(),
        read_retries: 1,
        ..config(&fake)
    })
    .unwrap();
    let error = unreachable.repository(&who, &repo()).await.unwrap_err();
    assert!(matches!(error, CodeHostError::Unavailable(_)), "{error:?}");
    assert!(!format!("{error} {error:?}").contains(TOKEN));
}

#[tokio::test]
async fn a_refused_review_falls_back_to_a_comment_with_the_verdict_and_every_finding() {
    let (fake, host, who) = setup().await;
    seed(&fake);
    let path = format!("/repos/{REPO}/pulls/1/reviews");
    fake.state().faults.push(Fault {
        method: Some("POST".to_owned()),
        path_prefix: path,
        status: 403,
        headers: Vec::new(),
        body: r#"{"message":"Resource not accessible by integration"}"#.to_owned(),
        times: 1,
    });
    let review = NewReview {
        commit_id: "abc".to_owned(),
        event: ReviewEvent::RequestChanges,
        body: "## Summary\nProblems.".to_owned(),
        comments: vec![ReviewComment {
            path: "src/main.rs".to_owned(),
            line: 2,
            side: Side::Right,
            start_line: None,
            start_side: None,
            body: "Unchecked input".to_owned(),
        }],
        marker: None,
    };
    let posted = host.post_review(&who, &repo(), 1, &review).await.unwrap();
    assert!(matches!(posted, PostedReview::IssueComment { .. }), "{posted:?}");
    let state = fake.state();
    let comment = &state.repos[REPO].issue_comments[0].body;
    assert!(comment.contains("## Summary\nProblems."), "{comment}");
    assert!(comment.contains("REQUEST_CHANGES"), "{comment}");
    assert!(comment.contains("`src/main.rs` line 2: Unchecked input"), "{comment}");
}

#[tokio::test]
async fn more_than_three_thousand_files_are_reported_as_capped() {
    let (fake, host, who) = setup().await;
    seed(&fake);
    let files = (0..3005).map(|index| FakeFile::added_lines(&format!("f{index}.txt"), 1)).collect();
    fake.state().repo(REPO).pulls.insert(7, FakePull::new(7, files));
    let listed = host.pull_request_files(&who, &repo(), 7).await.unwrap();
    assert_eq!(listed.files.len(), 3000);
    assert!(listed.capped);
}

#[tokio::test]
async fn app_installation_tokens_are_exchanged_once_and_cached() {
    let fake = FakeGitHub::start(TOKEN).await;
    seed(&fake);
    let (private_key, public_key) = nectr_testkit::github_app_test_keys();
    {
        let mut state = fake.state();
        state.app = Some((public_key.to_owned(), 4242));
        state.installation_repos = vec![REPO.to_owned()];
    }
    let app = GitHubAppConfig {
        app_id: 4242,
        private_key: SecretString::from(private_key.replace('\n', "\\n")),
        webhook_secret: None,
    };
    let host: Arc<dyn CodeHost> =
        Arc::new(OctocrabHost::new(GitHubConfig { app: Some(app), ..config(&fake) }).unwrap());
    let who = Identity::Installation(77);
    let name = repo();
    let (first, second) =
        tokio::join!(host.pull_request(&who, &name, 1), host.repository(&who, &name));
    first.unwrap();
    second.unwrap();
    let repositories = host.my_repositories(&who).await.unwrap();
    assert_eq!(
        repositories.iter().map(|repository| repository.full_name.as_str()).collect::<Vec<_>>(),
        [REPO]
    );
    {
        let state = fake.state();
        assert_eq!(state.installation_tokens_issued, 1, "one exchange for all calls");
        let used: Vec<_> = state
            .requests
            .iter()
            .filter(|request| request.path.starts_with("/repos/"))
            .map(|request| request.authorization.clone().unwrap())
            .collect();
        assert!(used.iter().all(|header| header == "Bearer ghs_installation_77_1"), "{used:?}");
    }
    let unconfigured = OctocrabHost::new(config(&fake)).unwrap();
    assert!(matches!(
        unconfigured.repository(&who, &repo()).await,
        Err(CodeHostError::NotConfigured(_))
    ));
}

#[tokio::test]
async fn oauth_exchanges_codes_reads_the_user_and_revokes_grants() {
    let fake = FakeGitHub::start(TOKEN).await;
    {
        let mut state = fake.state();
        state.oauth_client = Some(("client-id".to_owned(), "client-secret".to_owned()));
        state.oauth_codes.insert("code-123".to_owned(), "gho_fresh_user_token".to_owned());
        state.tokens.insert("gho_fresh_user_token".to_owned());
        state.token_logins.insert("gho_fresh_user_token".to_owned(), "mona".to_owned());
    }
    let host = OctocrabHost::new(GitHubConfig {
        client_id: Some("client-id".to_owned()),
        client_secret: Some(SecretString::from("client-secret")),
        ..config(&fake)
    })
    .unwrap();
    let grant = host.exchange_oauth_code("code-123").await.unwrap();
    assert_eq!(grant.token.expose(), "gho_fresh_user_token");
    assert!(grant.scopes.contains(&"read:org".to_owned()));
    match host.exchange_oauth_code("code-123").await {
        Err(CodeHostError::ValidationFailed(message)) => {
            assert!(message.contains("incorrect or expired"), "{message}")
        }
        other => panic!("a used code is refused: {other:?}"),
    }
    let user = host.authenticated_user(&grant.token).await.unwrap();
    assert_eq!((user.login.as_str(), user.email.as_deref()), ("mona", Some("octocat@github.com")));
    host.revoke_grant(&grant.token).await.unwrap();
    assert_eq!(fake.state().revoked, ["gho_fresh_user_token"]);
    assert!(matches!(
        host.authenticated_user(&grant.token).await,
        Err(CodeHostError::Unauthorized)
    ));
    let no_client = OctocrabHost::new(config(&fake)).unwrap();
    assert!(matches!(
        no_client.exchange_oauth_code("x").await,
        Err(CodeHostError::NotConfigured(_))
    ));
}

#[tokio::test]
async fn the_user_repositories_span_every_page() {
    let (fake, host, who) = setup().await;
    for index in 0..130 {
        fake.state().repo(&format!("octocat/repo-{index:03}"));
    }
    let repositories = host.my_repositories(&who).await.unwrap();
    assert_eq!(repositories.len(), 130);
    assert_eq!(fake.count(Some("GET"), "/user/repos"), 2);
}

#[tokio::test]
async fn the_fakes_json_follows_githubs_shapes_as_octocrab_reads_them() {
    let (fake, _host, _who) = setup().await;
    seed(&fake);
    fake.state().repo(REPO).issue_comments.push(nectr_testkit::fake_github::FakeComment {
        id: 5,
        issue: 1,
        body: "hi".to_owned(),
    });
    let octocrab = octocrab::Octocrab::builder()
        .base_uri(fake.url.as_str())
        .unwrap()
        .personal_token(TOKEN.to_owned())
        .build()
        .unwrap();
    let (owner, name) = REPO.split_once('/').unwrap();
    let pull = octocrab.pulls(owner, name).get(1).await.unwrap();
    assert_eq!(pull.number, 1);
    let files = octocrab.pulls(owner, name).list_files(2).await.unwrap();
    assert_eq!(files.items.len(), 30, "GitHub's default page size");
    assert!(files.next.is_some());
    let repository = octocrab.repos(owner, name).get().await.unwrap();
    assert_eq!(repository.default_branch.as_deref(), Some("main"));
    let comments = octocrab.issues(owner, name).list_comments(1).send().await.unwrap();
    assert_eq!(comments.items[0].body.as_deref(), Some("hi"));
    let issue = octocrab.issues(owner, name).get(10).await.unwrap();
    assert_eq!(issue.title, "Crash on start");
}

/// The request budget of a typical review, recorded in `BENCHMARKS.md`: a 20-file pull request
/// costs its metadata, one page of files, the diff and one posted review.
#[tokio::test]
async fn a_typical_review_costs_four_requests() {
    let (fake, host, who) = setup().await;
    let files =
        (0..20).map(|index| FakeFile::added_lines(&format!("src/m{index}.rs"), 40)).collect();
    fake.state().repo(REPO).pulls.insert(20, FakePull::new(20, files));
    let before = fake.state().requests.len();
    let pull = host.pull_request(&who, &repo(), 20).await.unwrap();
    let files = host.pull_request_files(&who, &repo(), 20).await.unwrap();
    let diff = host.pull_request_diff(&who, &repo(), 20).await.unwrap();
    assert_eq!(files.files.len(), 20);
    assert!(diff.contains("src/m19.rs"));
    let comments = (0..5)
        .map(|index| ReviewComment {
            path: format!("src/m{index}.rs"),
            line: 10,
            side: Side::Right,
            start_line: None,
            start_side: None,
            body: "Consider this".to_owned(),
        })
        .collect();
    let review = NewReview {
        commit_id: pull.head_sha,
        event: ReviewEvent::Comment,
        body: "## Summary".to_owned(),
        comments,
        marker: None,
    };
    host.post_review(&who, &repo(), 20, &review).await.unwrap();
    assert_eq!(fake.state().requests.len() - before, 4);
}

#[tokio::test]
async fn content_creating_requests_are_paced() {
    let fake = FakeGitHub::start(TOKEN).await;
    seed(&fake);
    // 600 writes a minute: one every 100 ms.
    let host = OctocrabHost::new(GitHubConfig { writes_per_minute: 600, ..config(&fake) }).unwrap();
    let who = Identity::Token(AccessToken::new(TOKEN));
    let started = Instant::now();
    for index in 0..4 {
        host.post_issue_comment(&who, &repo(), 1, &format!("comment {index}")).await.unwrap();
    }
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "four writes at least 100 ms apart: {:?}",
        started.elapsed()
    );
    let reads_started = Instant::now();
    for _ in 0..4 {
        host.languages(&who, &repo()).await.unwrap();
    }
    assert!(
        reads_started.elapsed() < Duration::from_millis(300),
        "reads are not paced: {:?}",
        reads_started.elapsed()
    );
}

#[tokio::test]
async fn the_pat_is_the_default_identity_and_an_app_installation_wins_when_known() {
    let fake = FakeGitHub::start(TOKEN).await;
    let with_pat =
        OctocrabHost::new(GitHubConfig { pat: Some(SecretString::from(TOKEN)), ..config(&fake) })
            .unwrap();
    assert_eq!(with_pat.default_identity(None), Some(Identity::Token(AccessToken::new(TOKEN))));
    assert_eq!(
        with_pat.default_identity(Some(9)),
        Some(Identity::Token(AccessToken::new(TOKEN))),
        "no App configured"
    );
    let (private_key, _) = nectr_testkit::github_app_test_keys();
    let app = GitHubAppConfig {
        app_id: 1,
        private_key: SecretString::from(private_key),
        webhook_secret: None,
    };
    let with_app = OctocrabHost::new(GitHubConfig { app: Some(app), ..config(&fake) }).unwrap();
    assert_eq!(with_app.default_identity(Some(9)), Some(Identity::Installation(9)));
    assert_eq!(with_app.default_identity(None), None);
}
