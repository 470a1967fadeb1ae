//! The `nectr` binary as a newcomer runs it: no configuration at all, then `migrate`,
//! `print-config` and the production secret check.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const NECTR: &str = env!("CARGO_BIN_EXE_nectr");

fn nectr(directory: &Path) -> Command {
    let mut command = Command::new(NECTR);
    command.current_dir(directory).env_clear().stdin(Stdio::null());
    command
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[tokio::test]
async fn with_no_configuration_it_serves_on_sqlite_and_stops_cleanly_on_sigterm() {
    let directory = tempfile::tempdir().unwrap();
    let port = free_port();
    // Only the port differs from a bare `nectr`, so that tests can run side by side.
    let child = nectr(directory.path())
        .env("PORT", port.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let client = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{port}/health");
    let started = Instant::now();
    let body = loop {
        if let Ok(response) = client.get(&url).send().await {
            break response.json::<serde_json::Value>().await.unwrap();
        }
        assert!(started.elapsed() < Duration::from_secs(30), "nectr did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(body["status"], "healthy");
    assert_eq!(body["database"], "healthy");
    assert_eq!(body["environment"], "development");
    assert!(directory.path().join("nectr.db").exists(), "SQLite file in the working directory");

    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let exit =
        tokio::task::spawn_blocking(move || child.wait_with_output()).await.unwrap().unwrap();
    assert!(exit.status.success(), "{exit:?}");
    let log = String::from_utf8_lossy(&exit.stderr);
    assert!(log.contains("SIGTERM") && log.contains("stopped"), "{log}");
}

#[test]
fn version_reports_the_products_version() {
    let directory = tempfile::tempdir().unwrap();
    let output = nectr(directory.path()).arg("--version").output().unwrap();
    assert!(output.status.success(), "{output:?}");
    let printed = String::from_utf8(output.stdout).unwrap();
    assert_eq!(printed.trim(), format!("nectr {}", env!("CARGO_PKG_VERSION")));
    assert!(!printed.contains("0.0.0"), "{printed}");
}

#[test]
fn migrate_adopts_the_original_database_and_reports_what_it_applied() {
    let directory = tempfile::tempdir().unwrap();
    let fixtures = nectr_testkit::fixtures().join("original-schema");
    let database = directory.path().join("devcopilot.db");
    let script = [
        std::fs::read_to_string(fixtures.join("sqlite.sql")).unwrap(),
        std::fs::read_to_string(fixtures.join("seed.sql")).unwrap(),
    ]
    .join("\n");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        use sea_orm::ConnectionTrait;
        let url = format!("sqlite://{}?mode=rwc", database.display());
        let connection = sea_orm::Database::connect(&url).await.unwrap();
        connection.execute_unprepared(&script).await.unwrap();
        connection.close().await.unwrap();
    });
    // The original service's own .env form of the URL and its secret.
    std::fs::write(
        directory.path().join(".env"),
        "DATABASE_URL=sqlite+aiosqlite:///./devcopilot.db\nSECRET_KEY=adoption-test-secret\n",
    )
    .unwrap();
    let output = nectr(directory.path()).arg("migrate").output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{output:?}");
    assert!(stdout.contains("applied m0001_base_tables"), "{stdout}");
    // Every migration of the workspace, however many there are by now.
    let migrations =
        std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../../migrations/src"))
            .unwrap()
            .filter(|entry| entry.as_ref().unwrap().file_name().to_string_lossy().starts_with('m'))
            .count();
    assert!(stdout.contains(&format!("{migrations} migrations applied")), "{stdout}");
    let output = nectr(directory.path()).args(["migrate", "--status"]).output().unwrap();
    assert!(String::from_utf8_lossy(&output.stdout).contains("0 migrations pending"), "{output:?}");
}

#[test]
fn print_config_shows_the_effective_configuration_without_secrets() {
    let directory = tempfile::tempdir().unwrap();
    let output = nectr(directory.path())
        .arg("print-config")
        .env("SECRET_KEY", "top-secret-value")
        .env("DATABASE_URL", "postgres://nectr:db-password@db:5432/nectr")
        .env("NECTR__APPLICATION__PORT", "9001")
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let printed = String::from_utf8(output.stdout).unwrap();
    assert!(printed.contains("port = 9001"), "{printed}");
    assert!(printed.contains("postgres://nectr:***@db:5432/nectr"), "{printed}");
    assert!(!printed.contains("top-secret-value") && !printed.contains("db-password"), "{printed}");
    // Every key of the commented defaults is printed, at its place.
    let defaults: toml::Table =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../config/default.toml"))
            .unwrap()
            .parse()
            .unwrap();
    let printed: toml::Table = printed.parse().unwrap();
    let mut missing = Vec::new();
    let mut pending: Vec<(String, &toml::Table, &toml::Table)> =
        vec![(String::new(), &defaults, &printed)];
    while let Some((prefix, expected, actual)) = pending.pop() {
        for (key, value) in expected {
            match (value, actual.get(key)) {
                (toml::Value::Table(inner), Some(toml::Value::Table(shown))) => {
                    pending.push((format!("{prefix}{key}."), inner, shown));
                }
                (toml::Value::Table(_), _) | (_, None) => missing.push(format!("{prefix}{key}")),
                (_, Some(_)) => {}
            }
        }
    }
    assert!(missing.is_empty(), "print-config leaves out {missing:?}");
}

#[test]
fn production_refuses_to_start_with_a_default_secret_key() {
    let directory = tempfile::tempdir().unwrap();
    for secret in [None, Some("your-secret-key")] {
        let mut command = nectr(directory.path());
        command.env("APP_ENV", "production");
        if let Some(secret) = secret {
            command.env("SECRET_KEY", secret);
        }
        let output = command.output().unwrap();
        assert_eq!(output.status.code(), Some(1), "{output:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("SECRET_KEY"), "{stderr}");
        assert!(!directory.path().join("nectr.db").exists(), "refused before touching storage");
    }
}

#[tokio::test]
async fn repos_registered_from_the_command_line_receive_webhooks() {
    let database = nectr_testkit::TestDatabase::sqlite();
    let directory = tempfile::tempdir().unwrap();
    std::fs::write(directory.path().join("secret.txt"), "cli-webhook-secret\n").unwrap();
    let fixture = std::fs::read(
        nectr_testkit::fixtures().join("github-webhooks/pull_request/00-opened.json"),
    )
    .unwrap();
    let payload: serde_json::Value = serde_json::from_slice(&fixture).unwrap();
    let repo = payload["repository"]["full_name"].as_str().unwrap().to_owned();
    let repo_id = payload["repository"]["id"].as_i64().unwrap().to_string();
    let url = database.url.clone();
    let cli = |arguments: &[&str]| {
        let mut command = nectr(directory.path());
        command
            .args(arguments)
            .env("DATABASE_URL", &url)
            .env("SECRET_KEY", nectr_testkit::database::TEST_SECRET_KEY)
            .env("LOG_LEVEL", "warn");
        command
    };
    let added =
        cli(&["repos", "add", &repo, "--repo-id", &repo_id, "--webhook-secret-file", "secret.txt"])
            .output()
            .unwrap();
    assert!(added.status.success(), "{added:?}");
    assert!(String::from_utf8_lossy(&added.stdout).contains("registered"));
    let twice =
        cli(&["repos", "add", &repo, "--repo-id", &repo_id, "--webhook-secret-file", "secret.txt"])
            .output()
            .unwrap();
    assert_eq!(twice.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&twice.stderr).contains("registered already"), "{twice:?}");
    let mut with_token = cli(&[
        "repos",
        "add",
        "octo-org/tools",
        "--repo-id",
        "77",
        "--webhook-secret-file",
        "secret.txt",
        "--token-file",
        "-",
    ])
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .spawn()
    .unwrap();
    std::io::Write::write_all(&mut with_token.stdin.take().unwrap(), b"ghp_from_stdin\n").unwrap();
    assert!(with_token.wait_with_output().unwrap().status.success());
    let listed = String::from_utf8(cli(&["repos", "list"]).output().unwrap().stdout).unwrap();
    assert!(
        listed.contains(&repo) && listed.contains(&repo_id) && listed.contains("octo-org/tools"),
        "{listed}"
    );
    assert!(
        !listed.contains("ghp_from_stdin") && !listed.contains("cli-webhook-secret"),
        "{listed}"
    );

    // Removal happens in another process: read secrets for every delivery to see it at once.
    let app = nectr_testkit::spawn_app_on(database, |settings| {
        settings.workers.webhook_secret_cache_seconds = 0;
    })
    .await;
    let deliver = |secret: &'static [u8], id: &'static str| {
        app.client
            .post(app.url("/api/v1/webhooks/github"))
            .header("X-GitHub-Event", "pull_request")
            .header("X-GitHub-Delivery", id)
            .header("X-Hub-Signature-256", nectr_github::sign(secret, &fixture))
            .body(fixture.clone())
            .send()
    };
    assert_eq!(deliver(b"cli-webhook-secret", "cli-1").await.unwrap().status(), 200);
    assert_eq!(deliver(b"another-secret", "cli-2").await.unwrap().status(), 401);
    let removed = cli(&["repos", "remove", &repo]).output().unwrap();
    assert!(removed.status.success(), "{removed:?}");
    assert_eq!(
        deliver(b"cli-webhook-secret", "cli-3").await.unwrap().status(),
        401,
        "removed repositories are not trusted"
    );
    app.stop().await;
}

#[test]
fn review_checks_a_local_diff_and_fails_on_the_chosen_severity() {
    let directory = tempfile::tempdir().unwrap();
    let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../nectr-agents/tests/agents/corpus");
    std::fs::copy(corpus.join("01-aws-key.diff"), directory.path().join("secret.diff")).unwrap();
    let json = nectr(directory.path())
        .args(["review", "--diff", "secret.diff", "--format", "json"])
        .output()
        .unwrap();
    assert!(json.status.success(), "no --fail-on: exit 0 {json:?}");
    let review: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(review["verdict"], "request_changes");
    assert_eq!(review["findings"][0]["category"], "secret");
    assert_eq!(review["findings"][0]["line"], 11);
    let failing = nectr(directory.path())
        .args(["review", "--diff", "secret.diff", "--fail-on", "critical"])
        .output()
        .unwrap();
    assert_eq!(failing.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&failing.stdout).contains("## Review Verdict\n**REQUEST_CHANGES**")
    );
    let mut clean = nectr(directory.path())
        .args(["review", "--diff", "-", "--fail-on", "minor"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let clean_diff = std::fs::read(corpus.join("64-clean-small-fix.diff")).unwrap();
    std::io::Write::write_all(&mut clean.stdin.take().unwrap(), &clean_diff).unwrap();
    let output = clean.wait_with_output().unwrap();
    assert!(output.status.success(), "{output:?}");
    assert!(String::from_utf8_lossy(&output.stdout).contains("No issues found ✅"));
}

#[tokio::test]
async fn review_prints_then_posts_a_live_pull_request_with_the_configured_model() {
    use nectr_testkit::fake_github::{FakeFile, FakeGitHub, FakePull};
    use nectr_testkit::fake_model::{FakeModel, FakeReply, review_json};

    let token = "ghp_clitesttoken0000000000000000000000000000";
    let github = FakeGitHub::start(token).await;
    let mut pull = FakePull::new(
        7,
        vec![FakeFile {
            filename: "app/db.py".to_owned(),
            status: "modified".to_owned(),
            patch: "@@ -1,2 +1,3 @@\n import db\n+rows = db.query(\"SELECT * FROM t WHERE id=\" + user_id)\n print(rows)".to_owned(),
        }],
    );
    pull.head_sha = "c".repeat(40);
    github.state().repo("octo-org/app").pulls.insert(7, pull);
    let model =
        FakeModel::anthropic(|_| FakeReply::review(review_json("request_changes", "app/db.py", 2)))
            .await;
    let directory = tempfile::tempdir().unwrap();
    let run = |post: bool| {
        let mut command = nectr(directory.path());
        command
            .env("GITHUB_API_URL", &github.url)
            .env("GITHUB_WEB_URL", &github.url)
            .env("GITHUB_PAT", token)
            .env("ANTHROPIC_API_KEY", "sk-ant-cli")
            .env("NECTR__REVIEW__ANTHROPIC__BASE_URL", &model.base_url)
            .args(["review", "--repo", "octo-org/app", "--pr", "7", "--format", "json"]);
        if post {
            command.arg("--post");
        }
        tokio::task::spawn_blocking(move || command.output().unwrap())
    };
    let printed = run(false).await.unwrap();
    assert!(printed.status.success(), "{printed:?}");
    let review: serde_json::Value = serde_json::from_slice(&printed.stdout).unwrap();
    assert_eq!(review["verdict"], "request_changes");
    assert_eq!(review["model"], "claude-sonnet-4-5");
    assert_eq!(review["findings"][0]["line"], 2);
    assert!(review["usage"]["input_tokens"].as_u64().unwrap() > 0);
    assert_eq!(review["coverage"][0]["status"], "reviewed");
    assert!(
        !github.state().repos["octo-org/app"].reviews.contains_key(&7),
        "printing posts nothing"
    );
    let posted = run(true).await.unwrap();
    assert!(posted.status.success(), "{posted:?}");
    assert!(
        String::from_utf8_lossy(&posted.stderr)
            .contains("posted a COMMENT review on octo-org/app#7")
    );
    let reviews = github.state().repos["octo-org/app"].reviews[&7].clone();
    assert_eq!(reviews.len(), 1);
    assert_eq!(reviews[0].comments.len(), 1);
    assert_eq!(reviews[0].event, "COMMENT");
    let unconfigured = nectr(directory.path())
        .args(["review", "--repo", "octo-org/app", "--pr", "7"])
        .output()
        .unwrap();
    assert!(!unconfigured.status.success());
    assert!(
        String::from_utf8_lossy(&unconfigured.stderr).contains("set GITHUB_PAT"),
        "{unconfigured:?}"
    );
}
