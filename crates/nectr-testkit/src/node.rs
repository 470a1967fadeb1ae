//! Node.js programs the tests drive: the official MCP TypeScript SDK's servers and clients and
//! the reference `server-everything`, installed in `crates/nectr-testkit/js/node_modules` by
//! `cargo xtask test` (`npm ci`). `node` must be on `PATH`: without it a test fails and says
//! so, it never skips.
//!
//! [`NodeServer::standin`] starts one of the MCP stand-ins in `js/standins/` (Linear, Sentry,
//! Slack) on a free port; [`NodeServer::everything`] starts `server-everything`.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// `crates/nectr-testkit/js`, where the Node programs and their `node_modules` are.
pub fn js_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/js"))
}

/// The `node` executable on `PATH`, with the installed packages checked.
///
/// # Panics
/// When `node` is not on `PATH`, or `npm ci` has not installed the packages.
pub fn node() -> PathBuf {
    let found = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path).map(|dir| dir.join("node")).find(|node| node.is_file())
    });
    let Some(node) = found else {
        panic!(
            "these tests need Node.js 20 or later: `node` is not on PATH (install Node.js, then run \
             `cargo xtask test`, which installs the MCP SDK with `npm ci` in {})",
            js_dir().display()
        );
    };
    let installed = js_dir().join("node_modules/@modelcontextprotocol/sdk/package.json");
    assert!(
        installed.is_file(),
        "the MCP SDK is not installed in {}: run `cargo xtask test` (or `npm ci` there)",
        js_dir().display()
    );
    node
}

/// A Node.js server for one test; killed when dropped.
pub struct NodeServer {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// Its port.
    pub port: u16,
    child: Child,
}

impl NodeServer {
    /// Starts `js/standins/<name>.mjs` with `environment` (see `js/standins/common.mjs`) and
    /// waits for the port it prints.
    ///
    /// # Panics
    /// When it cannot start or prints no port within 30 seconds.
    pub async fn standin(name: &str, environment: &[(&str, &str)]) -> Self {
        let mut command = Command::new(node());
        command
            .arg(format!("standins/{name}.mjs"))
            .current_dir(js_dir())
            .envs(environment.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        let mut child =
            command.spawn().unwrap_or_else(|error| panic!("cannot start {name}: {error}"));
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut lines = BufReader::new(stdout).lines();
        let first = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .unwrap_or_else(|_| panic!("the {name} stand-in printed no port within 30 s"))
            .expect("its stdout is readable")
            .unwrap_or_else(|| panic!("the {name} stand-in exited before printing its port"));
        let port = serde_json::from_str::<Value>(&first)
            .ok()
            .and_then(|line| line["port"].as_u64())
            .and_then(|port| u16::try_from(port).ok())
            .unwrap_or_else(|| panic!("the {name} stand-in printed {first:?}, not its port"));
        Self { url: format!("http://127.0.0.1:{port}"), port, child }
    }

    /// Starts `server-everything` in `mode` (`streamableHttp` serves `/mcp`, `sse` serves
    /// `/sse` and `/message`) on a free port, and waits until it accepts connections.
    ///
    /// # Panics
    /// When it cannot start or does not listen within 30 seconds.
    pub async fn everything(mode: &str) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let mut command = Command::new(node());
        command
            .arg("node_modules/@modelcontextprotocol/server-everything/dist/index.js")
            .arg(mode)
            .current_dir(js_dir())
            .env("PORT", port.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true);
        let mut child = command
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start server-everything: {error}"));
        for _ in 0..300 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
                return Self { url: format!("http://127.0.0.1:{port}"), port, child };
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!("server-everything exited: {status}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("server-everything did not listen on {port} within 30 s");
    }

    /// A stand-in's log of the JSON-RPC messages it received (`GET /log`).
    ///
    /// # Panics
    /// When the log cannot be read.
    pub async fn log(&self) -> Vec<Value> {
        let response = reqwest::get(format!("{}/log", self.url)).await.expect("the log answers");
        response.json().await.expect("the log is JSON")
    }

    /// Ends every session of a stand-in (`POST /expire`): the next request carrying an old
    /// `Mcp-Session-Id` gets 404.
    ///
    /// # Panics
    /// When the stand-in does not answer.
    pub async fn expire_sessions(&self) {
        let response = reqwest::Client::new()
            .post(format!("{}/expire", self.url))
            .send()
            .await
            .expect("the stand-in answers");
        assert!(response.status().is_success());
    }

    /// Stops the server now.
    pub async fn stop(mut self) {
        let _killed = self.child.kill().await;
    }
}
