//! `cargo xtask bench`: builds the release binary and measures what a user of a self-hosted
//! service notices first: the binary's size, the time from start to ready on SQLite (a new
//! database, which includes the migrations, and an existing one), and the resident memory of an
//! idle server. Figures are printed as a Markdown table for `BENCHMARKS.md`.

#![expect(clippy::print_stdout, reason = "the benchmark table is this task's output")]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const RUNS: usize = 10;

pub(crate) fn run(root: &Path, what: Option<&str>) -> Result<(), String> {
    if what == Some("pipeline") {
        // criterion, in-process: the fake GitHub and the fake model on 127.0.0.1.
        return crate::run("cargo", &["bench", "-p", "nectr-testkit", "--bench", "pipeline"]);
    }
    if what == Some("memory") {
        // criterion, in-process: the embedded memory store on SQLite and PostgreSQL.
        return crate::run("cargo", &["bench", "-p", "nectr-testkit", "--bench", "memory"]);
    }
    if what == Some("graph") {
        // A 100,000-file scan and a blast radius, in-process, on SQLite and PostgreSQL.
        return crate::run("cargo", &["bench", "-p", "nectr-testkit", "--bench", "graph"]);
    }
    if what == Some("dashboard") {
        // criterion and a 64-connection load, in-process, on PostgreSQL (TEST_DATABASE_URL).
        return crate::run("cargo", &["bench", "-p", "nectr-testkit", "--bench", "dashboard"]);
    }
    crate::run("cargo", &["build", "--release", "--quiet", "-p", "nectr-server"])?;
    let binary = root.join("target/release/nectr");
    match what {
        Some("intake") => return crate::intake::run(root, &binary),
        Some("startup") | None => {}
        Some(other) => {
            return Err(format!(
                "unknown benchmark {other}: use startup, intake, pipeline, dashboard or memory"
            ));
        }
    }
    let size = std::fs::metadata(&binary).map_err(|error| error.to_string())?.len();

    let mut cold = Vec::new();
    let mut warm = Vec::new();
    let mut idle_rss = Vec::new();
    for _ in 0..RUNS {
        let directory = std::env::temp_dir().join(format!("nectr-bench-{}", std::process::id()));
        drop(std::fs::remove_dir_all(&directory));
        std::fs::create_dir_all(&directory).map_err(|error| error.to_string())?;
        let (elapsed, child) = start_until_ready(&binary, &directory)?;
        cold.push(elapsed);
        stop(child)?;
        let (elapsed, child) = start_until_ready(&binary, &directory)?;
        warm.push(elapsed);
        std::thread::sleep(Duration::from_secs(1));
        idle_rss.push(resident_kib(child.id())?);
        stop(child)?;
        drop(std::fs::remove_dir_all(&directory));
    }
    println!("| figure | value |");
    println!("|---|---|");
    println!("| release binary size | {:.1} MiB |", size as f64 / 1024.0 / 1024.0);
    println!("| start to ready, new SQLite database (median of {RUNS}) | {} |", summary(&mut cold));
    println!(
        "| start to ready, existing SQLite database (median of {RUNS}) | {} |",
        summary(&mut warm)
    );
    idle_rss.sort_unstable();
    println!(
        "| idle resident memory (median of {RUNS}) | {:.1} MiB (min {:.1}, max {:.1}) |",
        idle_rss[RUNS / 2] as f64 / 1024.0,
        idle_rss[0] as f64 / 1024.0,
        idle_rss[RUNS - 1] as f64 / 1024.0
    );
    Ok(())
}

fn summary(samples: &mut [Duration]) -> String {
    samples.sort_unstable();
    let ms = |duration: Duration| duration.as_secs_f64() * 1000.0;
    format!(
        "{:.1} ms (min {:.1}, max {:.1})",
        ms(samples[samples.len() / 2]),
        ms(samples[0]),
        ms(samples[samples.len() - 1])
    )
}

fn free_port() -> Result<u16, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|error| error.to_string())?;
    listener.local_addr().map(|address| address.port()).map_err(|error| error.to_string())
}

/// Starts `nectr` with no configuration but a port, and waits for `/health/ready` to answer 200.
fn start_until_ready(binary: &Path, directory: &Path) -> Result<(Duration, Child), String> {
    let port = free_port()?;
    let started = Instant::now();
    let child = Command::new(binary)
        .current_dir(directory)
        .env_clear()
        .env("PORT", port.to_string())
        .env("LOG_LEVEL", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|error| format!("cannot start nectr: {error}"))?;
    while started.elapsed() < Duration::from_secs(30) {
        if ready(port) {
            return Ok((started.elapsed(), child));
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    Err("nectr did not become ready within 30 s".to_owned())
}

/// One `GET /health/ready` over a plain TCP connection.
fn ready(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else { return false };
    let request = "GET /health/ready HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut response = String::new();
    drop(stream.read_to_string(&mut response));
    response.starts_with("HTTP/1.1 200")
}

fn resident_kib(pid: u32) -> Result<u64, String> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .map_err(|error| error.to_string())?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| "no VmRSS".to_owned())
}

fn stop(mut child: Child) -> Result<(), String> {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .map_err(|error| error.to_string())?;
    if !status.success() {
        return Err("kill failed".to_owned());
    }
    child.wait().map_err(|error| error.to_string())?;
    Ok(())
}
