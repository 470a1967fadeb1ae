//! `cargo xtask bench intake`: webhook intake under load, from this (second) process.
//!
//! Starts the release `nectr` on SQLite and, when `TEST_DATABASE_URL` is set, on a fresh
//! PostgreSQL database `nectr_bench` on the same server; then keeps `CONNECTIONS` keep-alive
//! connections busy with signed `pull_request` `opened` deliveries, each for its own pull request
//! (so each one stores an event and queues a job), and reports deliveries per second and the
//! latency percentiles seen by the client.

#![expect(clippy::print_stdout, reason = "the benchmark table is this task's output")]

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use sha2::Sha256;

const SECRET: &str = "bench-webhook-secret";
/// Concurrent keep-alive connections (`NECTR_BENCH_CONNECTIONS`).
fn connections() -> usize {
    std::env::var("NECTR_BENCH_CONNECTIONS").ok().and_then(|value| value.parse().ok()).unwrap_or(16)
}

/// Deliveries sent per engine (`NECTR_BENCH_DELIVERIES`).
fn delivery_count() -> usize {
    std::env::var("NECTR_BENCH_DELIVERIES")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(20_000)
}

struct Delivery {
    request: Vec<u8>,
}

fn sign(body: &[u8]) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()) else {
        return String::new();
    };
    mac.update(body);
    let hex: String =
        mac.finalize().into_bytes().iter().map(|byte| format!("{byte:02x}")).collect();
    format!("sha256={hex}")
}

fn deliveries(root: &Path) -> Result<Vec<Delivery>, String> {
    let fixture = root.join("../shared/fixtures/github-webhooks/pull_request/00-opened.json");
    let text = std::fs::read_to_string(&fixture)
        .map_err(|error| format!("{}: {error}", fixture.display()))?;
    let template: serde_json::Value =
        serde_json::from_str(&text).map_err(|error| error.to_string())?;
    Ok((0..delivery_count())
        .map(|index| {
            let mut payload = template.clone();
            let number = index as u64 + 1;
            payload["number"] = number.into();
            payload["pull_request"]["number"] = number.into();
            payload["pull_request"]["draft"] = false.into();
            payload["pull_request"]["head"]["sha"] = format!("{number:040x}").into();
            let body = serde_json::to_vec(&payload).unwrap_or_default();
            let head = format!(
                "POST /api/v1/webhooks/github HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
                 X-GitHub-Event: pull_request\r\nX-GitHub-Delivery: bench-{index}-{}\r\nX-Hub-Signature-256: {}\r\n\
                 Content-Length: {}\r\n\r\n",
                std::process::id(),
                sign(&body),
                body.len()
            );
            let mut request = head.into_bytes();
            request.extend_from_slice(&body);
            Delivery { request }
        })
        .collect())
}

type Connection = tokio::io::BufReader<tokio::net::TcpStream>;

async fn connect(port: u16) -> Result<Connection, String> {
    let stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .map_err(|error| error.to_string())?;
    stream.set_nodelay(true).map_err(|error| error.to_string())?;
    Ok(tokio::io::BufReader::new(stream))
}

/// Sends one request on a keep-alive connection and reads the whole response; answers the status.
async fn exchange(stream: &mut Connection, request: &[u8]) -> Result<u16, String> {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
    stream.get_mut().write_all(request).await.map_err(|error| error.to_string())?;
    let mut line = String::new();
    stream.read_line(&mut line).await.map_err(|error| error.to_string())?;
    let status =
        line.split(' ').nth(1).and_then(|code| code.parse().ok()).ok_or("bad status line")?;
    let mut length = 0;
    loop {
        line.clear();
        stream.read_line(&mut line).await.map_err(|error| error.to_string())?;
        if line == "\r\n" || line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length];
    stream.read_exact(&mut body).await.map_err(|error| error.to_string())?;
    Ok(status)
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
        .map_err(|error| error.to_string())
}

fn load(port: u16, deliveries: Arc<Vec<Delivery>>) -> Result<(Duration, Vec<Duration>), String> {
    // One thread drives every connection, so that the generator's own scheduling (sixteen
    // blocking threads on two cores) does not add to the latencies it measures.
    runtime()?.block_on(async move {
        let next = Arc::new(AtomicUsize::new(0));
        let started = Instant::now();
        let connections: Vec<_> = (0..connections())
            .map(|_| tokio::spawn(connection(port, deliveries.clone(), next.clone())))
            .collect();
        let mut latencies = Vec::with_capacity(deliveries.len());
        for connection in connections {
            latencies.extend(connection.await.map_err(|_| "a load connection panicked")??);
        }
        Ok((started.elapsed(), latencies))
    })
}

/// One keep-alive connection sending the next unsent delivery until none is left.
async fn connection(
    port: u16,
    deliveries: Arc<Vec<Delivery>>,
    next: Arc<AtomicUsize>,
) -> Result<Vec<Duration>, String> {
    let mut stream = connect(port).await?;
    let mut latencies = Vec::new();
    loop {
        let index = next.fetch_add(1, Ordering::Relaxed);
        let Some(delivery) = deliveries.get(index) else { return Ok(latencies) };
        let sent = Instant::now();
        let status = exchange(&mut stream, &delivery.request).await?;
        latencies.push(sent.elapsed());
        if status != 200 {
            return Err(format!("delivery {index} answered {status}"));
        }
    }
}

fn start(binary: &Path, directory: &Path, database_url: &str) -> Result<(Child, u16), String> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map_err(|error| error.to_string())?
        .port();
    let child = Command::new(binary)
        .current_dir(directory)
        .env_clear()
        .env("PORT", port.to_string())
        .env("LOG_LEVEL", "warn")
        .env("DATABASE_URL", database_url)
        .env("GITHUB_WEBHOOK_SECRET", SECRET)
        .env("NECTR__DATABASE__MAX_CONNECTIONS", "16")
        // Intake alone: no review workers competing for the two cores.
        .env("NECTR__WORKERS__WORKERS", "0")
        // Settings to try, e.g. `NECTR_WORKERS=1` or `NECTR__DATABASE__MAX_CONNECTIONS=4`,
        // override the ones above.
        .envs(
            std::env::vars()
                .filter(|(name, _)| name.starts_with("NECTR__") || name == "NECTR_WORKERS"),
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|error| format!("cannot start nectr: {error}"))?;
    let ready = runtime()?.block_on(async {
        let begun = Instant::now();
        while begun.elapsed() < Duration::from_secs(30) {
            if let Ok(mut stream) = connect(port).await
                && exchange(&mut stream, b"GET /health/ready HTTP/1.1\r\nHost: x\r\n\r\n").await
                    == Ok(200)
            {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        false
    });
    if ready { Ok((child, port)) } else { Err("nectr did not become ready".to_owned()) }
}

fn percentile(sorted: &[Duration], fraction: f64) -> f64 {
    let index = ((sorted.len() as f64 - 1.0) * fraction).round() as usize;
    sorted[index].as_secs_f64() * 1000.0
}

/// Runs the load against each engine and prints a Markdown table.
pub(crate) fn run(root: &Path, binary: &Path) -> Result<(), String> {
    eprintln!("preparing {} signed deliveries", delivery_count());
    let deliveries = Arc::new(deliveries(root)?);
    let directory = std::env::temp_dir().join(format!("nectr-intake-{}", std::process::id()));
    drop(std::fs::remove_dir_all(&directory));
    std::fs::create_dir_all(&directory).map_err(|error| error.to_string())?;
    let mut engines = vec![("SQLite", format!("sqlite://{}/bench.db", directory.display()))];
    if let Ok(url) = std::env::var("TEST_DATABASE_URL") {
        let recreate = Command::new("psql")
            .args([
                url.as_str(),
                "-qc",
                "DROP DATABASE IF EXISTS nectr_bench",
                "-qc",
                "CREATE DATABASE nectr_bench",
            ])
            .status()
            .map_err(|error| format!("psql: {error}"))?;
        if !recreate.success() {
            return Err("cannot create the nectr_bench database".to_owned());
        }
        let base = url.rsplit_once('/').map_or(url.as_str(), |(base, _)| base);
        engines.push(("PostgreSQL", format!("{base}/nectr_bench")));
        if let Ok(socket_url) = std::env::var("NECTR_BENCH_EXTRA_URL") {
            engines.push(("PostgreSQL (extra URL)", socket_url));
        }
    }
    println!("| engine | deliveries | connections | deliveries/s | p50 | p99 | max |");
    println!("|---|---|---|---|---|---|---|");
    let only = std::env::var("NECTR_BENCH_ONLY").ok();
    for (engine, url) in engines {
        if only.as_deref().is_some_and(|only| !engine.to_ascii_lowercase().starts_with(only)) {
            continue;
        }
        eprintln!("intake on {engine}: starting nectr");
        let (mut child, port) = start(binary, &directory, &url)?;
        eprintln!(
            "intake on {engine}: sending {} deliveries over {} connections",
            deliveries.len(),
            connections()
        );
        let outcome = load(port, deliveries.clone());
        drop(Command::new("kill").args(["-TERM", &child.id().to_string()]).status());
        drop(child.wait());
        let (elapsed, mut latencies) = outcome?;
        latencies.sort_unstable();
        println!(
            "| {engine} | {} | {} | {:.0} | {:.2} ms | {:.2} ms | {:.2} ms |",
            latencies.len(),
            connections(),
            latencies.len() as f64 / elapsed.as_secs_f64(),
            percentile(&latencies, 0.50),
            percentile(&latencies, 0.99),
            percentile(&latencies, 1.0),
        );
    }
    drop(std::fs::remove_dir_all(&directory));
    Ok(())
}
