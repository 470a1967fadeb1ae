//! `nectr-chaos`: fault drills against the real `nectr` binary and the fake GitHub over HTTP
//! (`cargo xtask chaos <scenario>` builds both and runs this).
//!
//! `kill`: pull requests are queued through signed webhook deliveries on SQLite, and on
//! PostgreSQL when `TEST_DATABASE_URL` is set; the server is killed with SIGKILL several times
//! while reviews are fetched, asked and posted (the fake GitHub answers each review slowly, after
//! storing it, so that kills land inside posts) and started again each time. At the end every
//! pull request must have exactly one Nectr review (or one comment carrying it), none lost, and
//! every job must be completed. The counts are printed; the exit status is 1 when any is wrong.

#![expect(clippy::print_stdout, reason = "a command-line drill reports on standard output")]

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use nectr_testkit::TestDatabase;
use nectr_testkit::fake_github::{FakeFile, FakeGitHub, FakePull};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};
use serde_json::Value;

const TOKEN: &str = "ghp_chaosdrilltoken0000000000000000000000";
const SECRET: &str = "chaos-drill-webhook-secret";
const REPO: &str = "octo-org/chaos";

struct Options {
    nectr: PathBuf,
    pulls: u64,
    kills: u32,
}

fn options() -> anyhow::Result<Options> {
    let mut arguments = std::env::args().skip(1);
    let scenario = arguments.next().unwrap_or_default();
    if scenario != "kill" {
        bail!("usage: nectr-chaos kill --nectr PATH [--pulls N] [--kills K]");
    }
    let mut options = Options { nectr: PathBuf::from("target/debug/nectr"), pulls: 200, kills: 6 };
    while let Some(flag) = arguments.next() {
        let value = arguments.next().with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--nectr" => options.nectr = PathBuf::from(value),
            "--pulls" => options.pulls = value.parse().context("--pulls")?,
            "--kills" => options.kills = value.parse().context("--kills")?,
            other => bail!("unknown option {other}"),
        }
    }
    Ok(options)
}

/// What one engine's drill ended with.
#[derive(Debug, Default)]
struct Tally {
    engine: &'static str,
    pulls: u64,
    kills: u32,
    kills_during_a_post: u32,
    reviews: u64,
    comments: u64,
    duplicated: u64,
    lost: u64,
    jobs_completed: u64,
    jobs_other: u64,
    adopted: u64,
    seconds: f64,
}

impl Tally {
    fn passed(&self) -> bool {
        self.duplicated == 0
            && self.lost == 0
            && self.jobs_other == 0
            && self.jobs_completed == self.pulls
            && self.reviews + self.comments == self.pulls
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// The `nectr` server on `port`, configured by the original's variables and Nectr's own.
fn start(options: &Options, database_url: &str, fake: &str, port: u16) -> anyhow::Result<Child> {
    let folder = std::env::temp_dir();
    Command::new(&options.nectr)
        .current_dir(folder)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("APP_ENV", "development")
        .env("LOG_LEVEL", "error")
        .env("HOST", "127.0.0.1")
        .env("PORT", port.to_string())
        .env("DATABASE_URL", database_url)
        .env("SECRET_KEY", "chaos-drill-secret-key-not-for-production")
        .env("GITHUB_API_URL", fake)
        .env("GITHUB_WEB_URL", fake)
        .env("GITHUB_PAT", TOKEN)
        .env("GITHUB_WEBHOOK_SECRET", SECRET)
        .env("NECTR__WORKERS__WORKERS", "4")
        .env("NECTR__WORKERS__LEASE_SECONDS", "2")
        .env("NECTR__WORKERS__POLL_INTERVAL_MS", "50")
        .env("NECTR__WORKERS__RETRY_BASE_SECONDS", "1")
        .env("NECTR__WORKERS__MAX_ATTEMPTS", "25")
        .env("NECTR__WORKERS__SHUTDOWN_GRACE_SECONDS", "1")
        .env("NECTR__GITHUB__WRITES_PER_MINUTE", "60000")
        .env("NECTR__GITHUB__REQUEST_TIMEOUT_SECONDS", "2")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("cannot start {}", options.nectr.display()))
}

async fn ready(client: &reqwest::Client, port: u16) -> anyhow::Result<()> {
    let url = format!("http://127.0.0.1:{port}/health/ready");
    for _ in 0..600 {
        if client.get(&url).send().await.is_ok_and(|response| response.status().is_success()) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bail!("nectr did not become ready on port {port}")
}

fn delivery(template: &Value, repo_id: i64, number: u64) -> Vec<u8> {
    let mut payload = template.clone();
    payload["action"] = "opened".into();
    payload["number"] = number.into();
    payload["repository"]["id"] = repo_id.into();
    payload["repository"]["full_name"] = REPO.into();
    payload["pull_request"]["number"] = number.into();
    payload["pull_request"]["draft"] = false.into();
    payload["pull_request"]["head"]["sha"] = head(number).into();
    serde_json::to_vec(&payload).unwrap_or_default()
}

fn head(number: u64) -> String {
    format!("{number:040x}")
}

async fn count(connection: &DatabaseConnection, sql: &str) -> anyhow::Result<u64> {
    let backend = connection.get_database_backend();
    let row = connection
        .query_one_raw(Statement::from_string(backend, sql.to_owned()))
        .await?
        .context("a count answers a row")?;
    let value: i64 = row.try_get_by_index(0)?;
    Ok(u64::try_from(value).unwrap_or_default())
}

async fn drill(
    options: &Options,
    engine: &'static str,
    database: TestDatabase,
) -> anyhow::Result<Tally> {
    let began = Instant::now();
    database.migrated_store().await;
    let fake = FakeGitHub::start(TOKEN).await;
    let repo_id = {
        let mut state = fake.state();
        let repo = state.repo(REPO);
        for number in 1..=options.pulls {
            let mut pull = FakePull::new(
                number,
                vec![FakeFile {
                    filename: format!("src/handler_{number}.py"),
                    status: "modified".to_owned(),
                    patch: "@@ -1,2 +1,3 @@\n import os\n+print('debug', os.environ)\n run()"
                        .to_owned(),
                }],
            );
            pull.head_sha = head(number);
            repo.pulls.insert(number, pull);
        }
        let id = repo.id;
        state.write_delay = Some(Duration::from_millis(400));
        id
    };
    let template: Value = serde_json::from_slice(&std::fs::read(
        nectr_testkit::fixtures().join("github-webhooks/pull_request/00-opened.json"),
    )?)?;
    let client = reqwest::Client::new();
    let mut port = free_port()?;
    let mut server = start(options, &database.url, &fake.url, port)?;
    ready(&client, port).await?;
    for number in 1..=options.pulls {
        let body = delivery(&template, repo_id, number);
        let response = client
            .post(format!("http://127.0.0.1:{port}/api/v1/webhooks/github"))
            .header("X-GitHub-Event", "pull_request")
            .header("X-GitHub-Delivery", format!("chaos-{engine}-{number}"))
            .header("X-Hub-Signature-256", nectr_github::sign(SECRET.as_bytes(), &body))
            .header("Content-Type", "application/json")
            .body(body)
            .send()
            .await?;
        if !response.status().is_success() {
            bail!("delivery {number} was refused: {}", response.status());
        }
    }
    let mut tally = Tally { engine, pulls: options.pulls, ..Tally::default() };
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    for _ in 0..options.kills {
        // xorshift: a fixed sequence of waits between 0.4 and 2.0 seconds.
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        tokio::time::sleep(Duration::from_millis(400 + seed % 1_600)).await;
        if fake.state().writes_unanswered > 0 {
            tally.kills_during_a_post += 1;
        }
        server.kill()?;
        server.wait()?;
        tally.kills += 1;
        port = free_port()?;
        server = start(options, &database.url, &fake.url, port)?;
        ready(&client, port).await?;
    }
    let connection = Database::connect(&database.url).await?;
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let done = count(
            &connection,
            "SELECT COUNT(*) FROM review_jobs WHERE status IN ('completed', 'failed', 'cancelled', 'superseded')",
        )
        .await?;
        if done == options.pulls || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    server.kill()?;
    server.wait()?;
    tally.jobs_completed =
        count(&connection, "SELECT COUNT(*) FROM review_jobs WHERE status = 'completed'").await?;
    tally.jobs_other =
        count(&connection, "SELECT COUNT(*) FROM review_jobs WHERE status <> 'completed'").await?;
    tally.adopted =
        count(&connection, "SELECT COUNT(*) FROM review_records WHERE post_adopted").await?;
    connection.close().await?;
    let state = fake.state();
    let repo = &state.repos[REPO];
    for number in 1..=options.pulls {
        let marked = |body: &str| body.contains("<!-- nectr:review job=");
        let reviews = repo
            .reviews
            .get(&number)
            .map_or(0, |reviews| reviews.iter().filter(|review| marked(&review.body)).count());
        let comments = repo
            .issue_comments
            .iter()
            .filter(|comment| comment.issue == number && marked(&comment.body))
            .count();
        tally.reviews += reviews as u64;
        tally.comments += comments as u64;
        match reviews + comments {
            0 => tally.lost += 1,
            1 => {}
            _ => tally.duplicated += 1,
        }
    }
    tally.seconds = began.elapsed().as_secs_f64();
    Ok(tally)
}

fn report(tally: &Tally) {
    println!(
        "chaos kill [{}]: {} pull requests, {} kills ({} during a post): {} reviews + {} comments, {} duplicated, {} lost; jobs {} completed, {} not; {} posts adopted after a kill; {:.1} s — {}",
        tally.engine,
        tally.pulls,
        tally.kills,
        tally.kills_during_a_post,
        tally.reviews,
        tally.comments,
        tally.duplicated,
        tally.lost,
        tally.jobs_completed,
        tally.jobs_other,
        tally.adopted,
        tally.seconds,
        if tally.passed() { "PASS" } else { "FAIL" },
    );
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let options = options()?;
    let mut engines: Vec<(&'static str, TestDatabase)> = vec![("sqlite", TestDatabase::sqlite())];
    if let Some(database) = TestDatabase::postgres().await {
        engines.push(("postgres", database));
    }
    let mut failed = false;
    for (engine, database) in engines {
        let tally = drill(&options, engine, database).await?;
        report(&tally);
        failed |= !tally.passed();
    }
    if failed {
        bail!("the drill found lost, duplicated or unfinished reviews");
    }
    Ok(())
}
