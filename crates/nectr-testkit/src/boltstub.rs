//! [`BoltStub`]: boltkit's `boltstub`, Neo4j's scripted Bolt server for driver authors, on a port
//! of 127.0.0.1, playing a script made of pieces (each piece the text of a `.script` file).
//! It runs boltkit's stub server as the `boltstub` command does, without its busy wait.
//!
//! boltstub answers each client message the script expects with the script's server lines; any
//! other message ends it with exit code 1. It stops when a client closes a connection (closing
//! every other one), and exits 0 only when the whole script was played: [`BoltStub::finish`]
//! asserts that. [`BoltStub::drop_connections`] uses the stop to take Neo4j away under a driver.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// boltkit's `boltstub` command, but waiting for its server thread instead of spinning on it
/// (`boltstub`'s main loop busy-waits, a whole core for as long as it runs): the same server,
/// script and exit status.
const BOLTSTUB: &str = "import sys
from boltkit.server import StubServer
from boltkit.watcher import watch
watch('boltkit.server')
server = StubServer(('127.0.0.1', int(sys.argv[1])), sys.argv[2])
server.start()
server.join()
sys.exit(0 if not server.script else 1)
";

/// A running boltstub.
pub struct BoltStub {
    child: Child,
    port: u16,
    log: Arc<Mutex<String>>,
    readers: Vec<std::thread::JoinHandle<()>>,
    _script: tempfile::NamedTempFile,
}

impl BoltStub {
    /// Starts boltstub on a free port with the pieces of script, in order.
    ///
    /// # Panics
    /// When boltstub is not installed or does not start.
    pub fn start(pieces: &[&str]) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        Self::start_on(port, pieces)
    }

    /// Starts boltstub on `port` (a restarted Neo4j comes back on the same one).
    ///
    /// # Panics
    /// When boltstub is not installed or does not start.
    pub fn start_on(port: u16, pieces: &[&str]) -> Self {
        let mut script = tempfile::Builder::new().suffix(".script").tempfile().expect("a script");
        for piece in pieces {
            script.write_all(piece.as_bytes()).expect("the script is written");
            script.write_all(b"\n").expect("the script is written");
        }
        script.flush().expect("the script is written");
        let mut child = Command::new(crate::programs::boltkit_python())
            .args(["-c", BOLTSTUB])
            .arg(port.to_string())
            .arg(script.path())
            .env("PYTHONUNBUFFERED", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("boltstub starts");
        let log = Arc::new(Mutex::new(String::new()));
        let mut readers = Vec::new();
        for output in [
            child.stdout.take().map(|out| Box::new(out) as Box<dyn std::io::Read + Send>),
            child.stderr.take().map(|err| Box::new(err) as Box<dyn std::io::Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let log = log.clone();
            readers.push(std::thread::spawn(move || {
                for line in BufReader::new(output).lines().map_while(Result::ok) {
                    let mut log = log.lock().unwrap();
                    log.push_str(&line);
                    log.push('\n');
                }
            }));
        }
        let stub = Self { child, port, log, readers, _script: script };
        stub.wait_until_listening();
        stub
    }

    fn wait_until_listening(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if self.log().contains("Listening for incoming connections") {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("boltstub did not start listening on {}:\n{}", self.port, self.log());
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Its address as a Bolt URI.
    pub fn uri(&self) -> String {
        format!("bolt://127.0.0.1:{}", self.port)
    }

    /// What it printed so far (each message it received, and why it stopped).
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Takes Neo4j away: a connection closed before its handshake makes boltstub close every
    /// connection and stop.
    ///
    /// # Panics
    /// When it cannot be reached.
    pub fn drop_connections(&self) {
        let connection =
            std::net::TcpStream::connect(("127.0.0.1", self.port)).expect("boltstub listens");
        drop(connection);
    }

    /// Waits for boltstub to stop (the client closed its connections) and asserts that it
    /// played the whole script; answers its log.
    ///
    /// # Panics
    /// When it does not stop within 15 seconds or did not play the whole script.
    pub async fn finish(mut self) -> String {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            match self.child.try_wait().expect("boltstub's status") {
                Some(status) => {
                    for reader in self.readers.drain(..) {
                        drop(reader.join());
                    }
                    let log = self.log();
                    assert!(
                        status.success(),
                        "boltstub did not play its whole script ({status}):\n{log}"
                    );
                    return log;
                }
                None if Instant::now() > deadline => {
                    panic!("boltstub is still waiting for messages:\n{}", self.log())
                }
                None => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        }
    }
}

impl Drop for BoltStub {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            drop(self.child.kill());
            drop(self.child.wait());
        }
    }
}
