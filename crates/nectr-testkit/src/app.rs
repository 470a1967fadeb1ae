//! [`spawn_app`]: the real application on 127.0.0.1, port 0, with a fresh database, and a client.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::ServerHandle;
use nectr_domain::queue::ReviewRunner;
use nectr_persistence::SeaOrmStore;
use nectr_server::{Application, ConfigSources, Settings};
use secrecy::SecretString;

use crate::database::{TEST_SECRET_KEY, TestDatabase};

/// A running Nectr for one test.
pub struct TestApp {
    /// `http://127.0.0.1:PORT`.
    pub address: String,
    /// The port it listens on.
    pub port: u16,
    /// An HTTP client without cookies or redirects.
    pub client: reqwest::Client,
    /// Its database.
    pub database: TestDatabase,
    /// Its store, to inspect or take away the database.
    pub store: Arc<SeaOrmStore>,
    handle: ServerHandle,
    running: std::sync::Mutex<Option<tokio::task::JoinHandle<anyhow::Result<()>>>>,
}

impl TestApp {
    /// The full URL of a path.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// `GET` a path.
    ///
    /// # Panics
    /// When the request cannot be sent.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.expect("the request is sent")
    }

    /// Stops the server gracefully and waits until the application has stopped: workers
    /// drained and the database pool closed, so that no connection is left half open when the
    /// test database is dropped.
    pub async fn stop(&self) {
        self.handle.stop(true).await;
        let running = self.running.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take();
        if let Some(running) = running {
            drop(running.await);
        }
    }
}

/// The settings tests start from: `APP_ENV=test`, the test secret key, no files.
///
/// # Panics
/// When the embedded defaults do not load.
pub fn test_settings(database_url: &str) -> Settings {
    let sources = ConfigSources {
        config_dir: None,
        dotenv: Default::default(),
        environment: [("APP_ENV".to_owned(), "test".to_owned())].into_iter().collect(),
    };
    let mut settings = Settings::load(&sources).expect("the embedded defaults load");
    settings.application.host = "127.0.0.1".to_owned();
    settings.application.port = 0;
    settings.application.workers = 1;
    settings.application.shutdown_timeout_seconds = 1;
    settings.database.url = SecretString::from(database_url.to_owned());
    settings.security.secret_key = SecretString::from(TEST_SECRET_KEY.to_owned());
    // Quick workers for tests: short leases, fast polling, immediate retries. The lease leaves
    // room for a heartbeat delayed by a loaded machine (the whole suite on 2 cores): with 1 s, a
    // review's worker now and then lost its lease mid-run. Tests of lease expiry set their own.
    settings.workers.lease_seconds = 5;
    settings.workers.poll_interval_ms = 20;
    settings.workers.retry_base_seconds = 0;
    settings.workers.shutdown_grace_seconds = 2;
    settings
}

/// Starts Nectr with test settings on a fresh database (PostgreSQL when `TEST_DATABASE_URL` is
/// set, else SQLite).
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// As [`spawn_app`], after `configure` adjusted the settings.
///
/// # Panics
/// When the application cannot start.
pub async fn spawn_app_with(configure: impl FnOnce(&mut Settings)) -> TestApp {
    let database = TestDatabase::fresh().await;
    spawn_app_on(database, configure).await
}

/// As [`spawn_app_with`], on a database the test prepared (for example an adopted one).
///
/// # Panics
/// When the application cannot start.
pub async fn spawn_app_on(
    database: TestDatabase,
    configure: impl FnOnce(&mut Settings),
) -> TestApp {
    start(database, None, configure).await
}

/// As [`spawn_app_with`], with review workers running `runner`.
pub async fn spawn_app_with_runner(
    runner: Arc<dyn ReviewRunner>,
    configure: impl FnOnce(&mut Settings),
) -> TestApp {
    start(TestDatabase::fresh().await, Some(runner), configure).await
}

/// As [`spawn_app_with`], with workers running the real review pipeline (offline reviewer).
pub async fn spawn_app_reviewing(configure: impl FnOnce(&mut Settings)) -> TestApp {
    start_with(TestDatabase::fresh().await, Workers::Reviewing, configure).await
}

/// As [`spawn_app_reviewing`], on a database the test chose (to run a suite on every engine).
pub async fn spawn_app_reviewing_on(
    database: TestDatabase,
    configure: impl FnOnce(&mut Settings),
) -> TestApp {
    start_with(database, Workers::Reviewing, configure).await
}

enum Workers {
    Runner(Option<Arc<dyn ReviewRunner>>),
    Reviewing,
}

async fn start(
    database: TestDatabase,
    runner: Option<Arc<dyn ReviewRunner>>,
    configure: impl FnOnce(&mut Settings),
) -> TestApp {
    start_with(database, Workers::Runner(runner), configure).await
}

async fn start_with(
    database: TestDatabase,
    workers: Workers,
    configure: impl FnOnce(&mut Settings),
) -> TestApp {
    let mut settings = test_settings(&database.url);
    configure(&mut settings);
    if std::env::var_os("TEST_LOG").is_some() {
        nectr_server::telemetry::init(&settings);
    }
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
    let application = match workers {
        Workers::Runner(runner) => {
            Application::build_with_runner(&settings, listener, runner).await
        }
        Workers::Reviewing => Application::build_reviewing(&settings, listener).await,
    }
    .expect("the application starts");
    let port = application.port();
    let handle = application.handle();
    let store = application.store();
    let running = tokio::spawn(application.run_until_stopped());
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("an HTTP client");
    TestApp {
        address: format!("http://127.0.0.1:{port}"),
        port,
        client,
        database,
        store,
        handle,
        running: std::sync::Mutex::new(Some(running)),
    }
}
