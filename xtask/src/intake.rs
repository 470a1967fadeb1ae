//! `cargo xtask bench intake`: webhook intake under load, from this (second) process.
//!
//! Starts the release `nectr` on SQLite and, when `TEST_DATABASE_URL` is set, on a fresh
//! PostgreSQL database `nectr_bench` on the same server, and sends it signed `pull_request`
//! `opened` deliveries, each for its own pull request (so each one stores an event and queues a
//! job). Two kinds of load:
//! - closed (the default): `NECTR_BENCH_CONNECTIONS` keep-alive connections, each sending its next
//!   delivery as soon as the last is answered: the most the server can take, and the latency
//!   with that many deliveries always in flight;
//! - open (`NECTR_BENCH_RATE=N`): deliveries arrive at N per second whatever the server does, as
//!   GitHub sends them, at random (Poisson) moments or evenly spaced
//!   (`NECTR_BENCH_ARRIVALS=uniform`); each is sent on an idle connection, a new one if none is
//!   idle, and its latency counts from the moment it was due, so a server (or generator) that
//!   falls behind is charged for the wait.
//!
//! Reports deliveries per second and the latency percentiles seen by the client, for each of
//! `NECTR_BENCH_REPEAT` runs (1 unless set) and their median.

#![expect(clippy::print_stdout, reason = "the benchmark table is this task's output")]

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use sha2::Sha256;

const SECRET: &str = "bench-webhook-secret";
/// A positive number from the environment variable `name`.
fn setting<T: std::str::FromStr + PartialOrd + Default>(name: &str) -> Option<T> {
    std::env::var(name)
        .ok()
        .and_then(|value| value.trim().parse().ok())
        .filter(|value| *value > T::default())
}

/// Concurrent keep-alive connections (`NECTR_BENCH_CONNECTIONS`).
fn connections() -> usize {
    setting("NECTR_BENCH_CONNECTIONS").unwrap_or(16)
}

/// Deliveries per second of the open load (`NECTR_BENCH_RATE`); `None`: the closed load.
fn rate() -> Option<f64> {
    setting("NECTR_BENCH_RATE").filter(|rate: &f64| rate.is_finite())
}

/// Whether the open load's deliveries arrive evenly spaced (`NECTR_BENCH_ARRIVALS=uniform`)
/// rather than at random.
fn uniform_arrivals() -> bool {
    std::env::var("NECTR_BENCH_ARRIVALS").is_ok_and(|value| value == "uniform")
}

/// Deliveries sent per run (`NECTR_BENCH_DELIVERIES`).
fn delivery_count() -> usize {
    setting("NECTR_BENCH_DELIVERIES").unwrap_or(20_000)
}

/// Runs per engine (`NECTR_BENCH_REPEAT`), each with deliveries of its own; the machine's speed
/// varies from run to run, so several runs and their median say more than one.
fn repeats() -> usize {
    setting("NECTR_BENCH_REPEAT").unwrap_or(1)
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

/// The signed deliveries of one run: pull requests and delivery ids no other run uses.
fn deliveries(root: &Path, run: usize) -> Result<Vec<Delivery>, String> {
    let fixture =
        root.join("crates/nectr-testkit/fixtures/github-webhooks/pull_request/00-opened.json");
    let text = std::fs::read_to_string(&fixture)
        .map_err(|error| format!("{}: {error}", fixture.display()))?;
    let template: serde_json::Value =
        serde_json::from_str(&text).map_err(|error| error.to_string())?;
    Ok((0..delivery_count())
        .map(|index| {
            let mut payload = template.clone();
            let number = (run * delivery_count() + index) as u64 + 1;
            payload["number"] = number.into();
            payload["pull_request"]["number"] = number.into();
            payload["pull_request"]["draft"] = false.into();
            payload["pull_request"]["head"]["sha"] = format!("{number:040x}").into();
            let body = serde_json::to_vec(&payload).unwrap_or_default();
            let head = format!(
                "POST /api/v1/webhooks/github HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
                 X-GitHub-Event: pull_request\r\nX-GitHub-Delivery: bench-{run}-{index}-{}\r\nX-Hub-Signature-256: {}\r\n\
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

/// Sends one request on a new connection: the connection and the status.
async fn exchange_anew(port: u16, request: &[u8]) -> Result<(Connection, u16), String> {
    let mut stream = connect(port).await?;
    let status = exchange(&mut stream, request).await?;
    Ok((stream, status))
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

/// What one run measured.
struct Measured {
    elapsed: Duration,
    latencies: Vec<Duration>,
    /// Connections the load used (open load: as many as were ever busy at once, at least the
    /// ones opened beforehand).
    connections: usize,
}

fn load(port: u16, deliveries: Arc<Vec<Delivery>>) -> Result<Measured, String> {
    // One thread drives every connection, so that the generator's own scheduling (sixteen
    // blocking threads on two cores) does not add to the latencies it measures.
    runtime()?.block_on(async move {
        let next = Arc::new(AtomicUsize::new(0));
        let started = Instant::now();
        let connections: Vec<_> = (0..connections())
            .map(|_| tokio::spawn(connection(port, deliveries.clone(), next.clone())))
            .collect();
        let mut latencies = Vec::with_capacity(deliveries.len());
        let count = connections.len();
        for connection in connections {
            latencies.extend(connection.await.map_err(|_| "a load connection panicked")??);
        }
        Ok(Measured { elapsed: started.elapsed(), latencies, connections: count })
    })
}

/// Moments, from the start, at which the open load's deliveries are due: `count` of them at
/// `rate` per second, at random (exponential gaps from a fixed seed, so that runs compare) or
/// evenly spaced.
fn schedule(count: usize, rate: f64, uniform: bool) -> Vec<Duration> {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut at = 0.0_f64;
    (0..count)
        .map(|_| {
            let gap = if uniform {
                1.0 / rate
            } else {
                // xorshift64*, then the top 53 bits as a uniform number in (0, 1].
                state ^= state >> 12;
                state ^= state << 25;
                state ^= state >> 27;
                let bits = state.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11;
                let unit = (bits as f64 + 1.0) / (1_u64 << 53) as f64;
                -unit.ln() / rate
            };
            at += gap;
            Duration::from_secs_f64(at)
        })
        .collect()
}

/// Connections the open load may have at once before it reports that the server fell behind.
const MOST_CONNECTIONS: usize = 1024;

/// The open load: each delivery is sent when due on an idle connection (a new one if none is
/// idle), whether or not earlier ones were answered.
fn load_at_rate(port: u16, deliveries: Arc<Vec<Delivery>>, rate: f64) -> Result<Measured, String> {
    use std::sync::Mutex;
    let due = schedule(deliveries.len(), rate, uniform_arrivals());
    runtime()?.block_on(async move {
        let mut idle = Vec::new();
        for _ in 0..connections() {
            idle.push(connect(port).await?);
        }
        let idle = Arc::new(Mutex::new(idle));
        let opened = Arc::new(AtomicUsize::new(connections()));
        // A thread of its own wakes at each due moment (the runtime's timer has a resolution of
        // a millisecond, as long as two gaps at 2,000/s).
        let (ready, mut arrivals) = tokio::sync::mpsc::unbounded_channel();
        let started = Instant::now();
        let pacer = std::thread::spawn(move || {
            for (index, offset) in due.into_iter().enumerate() {
                let moment = started + offset;
                if let Some(wait) = moment.checked_duration_since(Instant::now()) {
                    std::thread::sleep(wait);
                }
                if ready.send((index, moment)).is_err() {
                    return;
                }
            }
        });
        let mut sending = tokio::task::JoinSet::new();
        while let Some((index, moment)) = arrivals.recv().await {
            let (deliveries, idle, opened) = (deliveries.clone(), idle.clone(), opened.clone());
            sending.spawn(async move {
                let reused = idle.lock().map_err(|_| "the connection list is poisoned")?.pop();
                let request = &deliveries[index].request;
                let (stream, status) = match reused {
                    // The server closes a connection left idle past its keep-alive timeout;
                    // then the delivery goes on a new one, as an HTTP client would send it.
                    Some(mut stream) => match exchange(&mut stream, request).await {
                        Ok(status) => (stream, status),
                        Err(_) => exchange_anew(port, request).await?,
                    },
                    None => {
                        if opened.fetch_add(1, Ordering::Relaxed) >= MOST_CONNECTIONS {
                            return Err(format!(
                                "the server fell behind: {MOST_CONNECTIONS} deliveries in flight"
                            ));
                        }
                        exchange_anew(port, request).await?
                    }
                };
                let latency = moment.elapsed();
                idle.lock().map_err(|_| "the connection list is poisoned")?.push(stream);
                if status == 200 {
                    Ok(latency)
                } else {
                    Err(format!("delivery {index} answered {status}"))
                }
            });
        }
        let mut latencies = Vec::with_capacity(deliveries.len());
        while let Some(sent) = sending.join_next().await {
            latencies.push(sent.map_err(|_| "a delivery's task panicked")??);
        }
        pacer.join().map_err(|_| "the pacer panicked")?;
        Ok(Measured {
            elapsed: started.elapsed(),
            latencies,
            connections: opened.load(Ordering::Relaxed),
        })
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
    println!("| engine | deliveries | load | deliveries/s | p50 | p99 | max |");
    println!("|---|---|---|---|---|---|---|");
    let only = std::env::var("NECTR_BENCH_ONLY").ok();
    for (engine, url) in engines {
        if only.as_deref().is_some_and(|only| !engine.to_ascii_lowercase().starts_with(only)) {
            continue;
        }
        let mut runs = Vec::new();
        for run in 0..repeats() {
            runs.push(measure(root, binary, &directory, engine, &url, run)?);
        }
        if runs.len() > 1 {
            let median = |value: fn(&Run) -> f64| {
                let mut values: Vec<f64> = runs.iter().map(value).collect();
                values.sort_by(f64::total_cmp);
                values[values.len() / 2]
            };
            println!(
                "| {engine} | median of {} runs | | {:.0} | {:.2} ms | {:.2} ms | {:.2} ms |",
                runs.len(),
                median(|run| run.throughput),
                median(|run| run.p50),
                median(|run| run.p99),
                median(|run| run.max),
            );
        }
    }
    drop(std::fs::remove_dir_all(&directory));
    Ok(())
}

/// What one run printed.
struct Run {
    throughput: f64,
    p50: f64,
    p99: f64,
    max: f64,
}

/// One run on one engine: starts `nectr`, sends the load, stops it, prints a row.
fn measure(
    root: &Path,
    binary: &Path,
    directory: &Path,
    engine: &str,
    url: &str,
    run: usize,
) -> Result<Run, String> {
    eprintln!("preparing {} signed deliveries", delivery_count());
    let deliveries = Arc::new(deliveries(root, run)?);
    eprintln!("intake on {engine}: starting nectr");
    let (mut child, port) = start(binary, directory, url)?;
    eprintln!("intake on {engine}: sending {} deliveries", deliveries.len());
    let rate = rate();
    let outcome = match rate {
        Some(rate) => load_at_rate(port, deliveries, rate),
        None => load(port, deliveries),
    };
    drop(Command::new("kill").args(["-TERM", &child.id().to_string()]).status());
    drop(child.wait());
    let Measured { elapsed, mut latencies, connections } = outcome?;
    latencies.sort_unstable();
    let load = match rate {
        Some(rate) => format!(
            "{rate:.0}/s {} ({connections} connections)",
            if uniform_arrivals() { "evenly spaced" } else { "at random" }
        ),
        None => format!("{connections} connections, closed"),
    };
    let measured = Run {
        throughput: latencies.len() as f64 / elapsed.as_secs_f64(),
        p50: percentile(&latencies, 0.50),
        p99: percentile(&latencies, 0.99),
        max: percentile(&latencies, 1.0),
    };
    println!(
        "| {engine} | {} | {load} | {:.0} | {:.2} ms | {:.2} ms | {:.2} ms |",
        latencies.len(),
        measured.throughput,
        measured.p50,
        measured.p99,
        measured.max,
    );
    Ok(measured)
}
