//! The `nectr` server: the only composition root. It loads configuration, chooses and builds the
//! adapters, wires them into the domain's services, and runs the HTTP server until SIGINT or
//! SIGTERM, then drains in-flight requests and closes the database pool.

pub mod api_keys;
pub mod cli;
pub mod context;
pub mod graph;
pub mod mcp;
pub mod memory;
pub mod models;
pub mod repos;
pub mod review_cli;
pub mod scans;
pub mod settings;
pub mod telemetry;
pub mod workers;

use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::HttpServer;
use actix_web::dev::{Server, ServerHandle};
use anyhow::Context as _;
use nectr_api::auth::session::{SameSite, SessionConfig, SessionKey};
use nectr_api::{ApiConfig, ApiState, AuthState, GraphState, MemoryState, OAuthConfig};
use nectr_domain::AccessToken;
use nectr_domain::HealthService;
use nectr_domain::WebhookSecret;
use nectr_domain::app_changes::AppChanges;
use nectr_domain::code_host::{CodeHost, Identity};
use nectr_domain::connections::RepositoryConnections;
use nectr_domain::context::ContextProvider;
use nectr_domain::graph::{CodeGraph, GraphScanner};
use nectr_domain::memory::project_map::ProjectScanner;
use nectr_domain::pipeline::{PipelineConfig, ReviewPipeline};
use nectr_domain::queue::ReviewRunner;
use nectr_domain::sign_in::SignIn;
use nectr_domain::tenancy::Tenancy;
use nectr_domain::webhook::{IntakeConfig, WebhookIntake};
use nectr_github::{GitHubSignature, OctocrabHost};
use nectr_persistence::{SeaOrmStore, TokenCipher};
use secrecy::ExposeSecret;
use workers::WorkerPool;

pub use settings::{ConfigSources, Environment, Settings, SettingsError};

/// The crate's version, reported by `/health`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// A built, listening Nectr.
pub struct Application {
    port: u16,
    server: Server,
    store: Arc<SeaOrmStore>,
    code_host: Arc<dyn CodeHost>,
    workers: Option<WorkerPool>,
    mcp: nectr_mcp::server::McpServer,
}

impl Application {
    /// Connects and migrates the database, adopts the original service's plaintext secrets, and
    /// binds `host:port` from the settings.
    ///
    /// # Errors
    /// When the settings are unusable, the database cannot be reached or migrated, or the address
    /// cannot be bound.
    pub async fn build(settings: &Settings) -> anyhow::Result<Self> {
        let address = format!("{}:{}", settings.application.host, settings.application.port);
        let listener =
            TcpListener::bind(&address).with_context(|| format!("cannot listen on {address}"))?;
        Self::build_reviewing(settings, listener).await
    }

    /// As [`Application::build`] on a caller's listener: workers run the review pipeline with
    /// the configured reviewer (the offline rules when no model is configured).
    ///
    /// # Errors
    /// As [`Application::build`].
    pub async fn build_reviewing(
        settings: &Settings,
        listener: TcpListener,
    ) -> anyhow::Result<Self> {
        let reviewer = models::build_reviewer(&settings.review)?;
        let providers = context_providers(settings);
        let for_reviews = providers.clone();
        Self::build_inner(settings, listener, providers, |store, code_host, graph| {
            let fallback = settings
                .github
                .pat
                .as_ref()
                .map(|pat| Identity::Token(AccessToken::new(pat.expose_secret())));
            let memory = memory::memory_store(&settings.memory, store)
                .and_then(|memories| {
                    memory::review_memory(&settings.memory, &settings.review, memories)
                });
            let pipeline = ReviewPipeline::new(
                code_host.clone(),
                store.clone(),
                store.clone(),
                store.clone(),
                reviewer,
                PipelineConfig {
                    policy: settings.review.policy(),
                    app_configured: settings.github.app.is_some(),
                    exclusions: settings.review.exclusions(),
                    fallback,
                    post_settle: post_settle(&settings.github),
                },
            );
            let pipeline = match memory {
                Ok(memory) => pipeline.with_memory(memory),
                Err(error) => {
                    tracing::warn!(error = %error, "project memory is off: its store could not be built");
                    pipeline
                }
            };
            let pipeline = pipeline
                .with_graph(nectr_domain::graph::ReviewGraph::new(graph.clone()));
            let pipeline = match context::ContextSettings::review_context(for_reviews) {
                Some(context) => pipeline.with_context(context),
                None => pipeline,
            };
            Some(Arc::new(pipeline))
        })
        .await
    }

    /// As [`Application::build`], on a listener the caller bound (tests bind port 0).
    ///
    /// # Errors
    /// As [`Application::build`].
    pub async fn build_with_listener(
        settings: &Settings,
        listener: TcpListener,
    ) -> anyhow::Result<Self> {
        Self::build_with_runner(settings, listener, None).await
    }

    /// As [`Application::build_with_listener`], with review workers running `runner` (none
    /// start without one: accepted jobs wait in the queue, nothing is lost).
    ///
    /// # Errors
    /// As [`Application::build`].
    pub async fn build_with_runner(
        settings: &Settings,
        listener: TcpListener,
        runner: Option<Arc<dyn ReviewRunner>>,
    ) -> anyhow::Result<Self> {
        Self::build_inner(settings, listener, context_providers(settings), |_, _, _| runner).await
    }

    /// Builds everything; `context_providers` are the instances the reviews use, which
    /// `/health` reports.
    async fn build_inner(
        settings: &Settings,
        listener: TcpListener,
        context_providers: Vec<Arc<dyn ContextProvider>>,
        make_runner: impl FnOnce(
            &Arc<SeaOrmStore>,
            &Arc<dyn CodeHost>,
            &Arc<dyn CodeGraph>,
        ) -> Option<Arc<dyn ReviewRunner>>,
    ) -> anyhow::Result<Self> {
        let code_host: Arc<dyn CodeHost> = Arc::new(OctocrabHost::new(settings.github.clone())?);
        let store = Arc::new(open_store(settings).await?);
        let graph = graph::code_graph(&settings.graph, &store).await?;
        let adoption = store.adopt_plaintext_secrets().await?;
        if adoption.webhook_secrets_encrypted > 0 {
            tracing::info!(
                count = adoption.webhook_secrets_encrypted,
                "encrypted plaintext webhook secrets left by the original service"
            );
        }
        let history = store.adopt_original_history().await?;
        if history.events_located > 0 || history.events_unplaced > 0 {
            tracing::info!(
                located = history.events_located,
                reviews = history.reviews_adopted,
                unplaced = history.events_unplaced,
                "adopted the original service's review history"
            );
        }
        let webhooks = Arc::new(WebhookIntake::new(
            store.clone(),
            store.clone(),
            Arc::new(GitHubSignature),
            IntakeConfig {
                review_drafts: settings.workers.review_drafts,
                max_attempts: settings.workers.max_attempts,
                secret_cache_ttl: Duration::from_secs(
                    settings.workers.webhook_secret_cache_seconds,
                ),
                fallback_secret: settings
                    .github
                    .webhook_secret
                    .as_ref()
                    .map(|secret| WebhookSecret::new(secret.expose_secret())),
                app_secret: settings
                    .github
                    .app
                    .as_ref()
                    .and_then(|app| app.webhook_secret.as_ref())
                    .map(|secret| WebhookSecret::new(secret.expose_secret())),
            },
        ));
        let workers = match make_runner(&store, &code_host, &graph.graph) {
            Some(runner) if settings.workers.workers > 0 => {
                let name = format!("{}-{}", hostname(), std::process::id());
                Some(WorkerPool::start(store.clone(), runner, &settings.workers, &name))
            }
            _ => None,
        };
        let memories = memory::memory_store(&settings.memory, &store)?;
        let map_model = memory::summary_model(&settings.review);
        let scans = scans::BackgroundScans::new(
            GraphScanner::new(code_host.clone(), graph.graph.clone()),
            ProjectScanner::new(code_host.clone(), memories.clone()).with_model(map_model.clone()),
            scans::SCAN_CONCURRENCY,
        );
        start_backfill(&scans, &store);
        let connections = RepositoryConnections::new(
            store.clone(),
            store.clone(),
            code_host.clone(),
            format!(
                "{}/api/v1/webhooks/github",
                settings.application.backend_url.trim_end_matches('/')
            ),
        );
        let app_changes = AppChanges::new(connections.clone(), store.clone());
        match app_changes.recover().await {
            Ok(0) => {}
            Ok(count) => tracing::info!(
                count,
                "applied GitHub App installation changes a stop had interrupted"
            ),
            Err(error) => {
                tracing::error!(error = %error, "cannot apply the GitHub App installation changes a stop interrupted; the next start tries again")
            }
        }
        let state = ApiState {
            config: ApiConfig {
                service_name: settings.application.name.clone(),
                version: VERSION.to_owned(),
                environment: settings.application.environment.as_str().to_owned(),
                cors_origins: settings.cors_origins(),
            },
            health: HealthService::new(store.clone(), graph.probe.clone())
                .with_context_providers(context_providers),
            started_at: Instant::now(),
            webhooks,
            auth: auth_state(settings, &store, &code_host),
            tenancy: Tenancy::new(store.clone()),
            connections: connections.clone(),
            app_changes,
            history: store.clone(),
            analytics: store.clone(),
            graph: GraphState {
                graph: graph.graph.clone(),
                scans: Arc::new(scans),
                host: code_host.clone(),
            },
            memory: MemoryState {
                store: memories.clone(),
                scanner: ProjectScanner::new(code_host.clone(), memories).with_model(map_model),
                activity: store.clone(),
            },
        };
        let port = listener.local_addr().context("the listener has no address")?.port();
        // actix treats SIGINT as a forced stop; Nectr drains in-flight requests on both SIGINT
        // and SIGTERM, so it handles the signals itself (see `stop_on_signals`).
        let mcp = mcp::server(settings, &state, &store);
        let mounted = mcp.clone();
        let mut server = HttpServer::new(move || {
            let mcp = mounted.clone();
            nectr_api::app(state.clone(), move |config| mcp.configure(config))
        })
        .shutdown_timeout(settings.application.shutdown_timeout_seconds)
        .disable_signals();
        if settings.application.workers > 0 {
            server = server.workers(settings.application.workers);
        }
        let server = server.listen(listener).context("cannot serve on the listener")?.run();
        Ok(Self { port, server, store, code_host, workers, mcp })
    }

    /// The port Nectr listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A handle that stops the server.
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// The code host (GitHub), shared by everything that talks to it.
    pub fn code_host(&self) -> Arc<dyn CodeHost> {
        self.code_host.clone()
    }

    /// The store, for tests that take the database away.
    pub fn store(&self) -> Arc<SeaOrmStore> {
        self.store.clone()
    }

    /// Stops the server gracefully on SIGINT or SIGTERM: MCP sessions end (their event streams
    /// would otherwise hold the stop for the whole grace period), no new connections, in-flight
    /// requests get the configured grace period. The binary calls it; tests stop through a
    /// handle.
    pub fn stop_on_signals(&self) {
        let handle = self.server.handle();
        let mcp = self.mcp.clone();
        tokio::spawn(async move {
            match shutdown_signal().await {
                Ok(signal) => {
                    tracing::info!(signal, "stopping: finishing in-flight requests");
                    mcp.close_sessions();
                    handle.stop(true).await;
                }
                Err(error) => tracing::error!(error = %error, "cannot listen for signals"),
            }
        });
    }

    /// Serves until stopped, drains in-flight requests, then closes the database pool.
    ///
    /// # Errors
    /// When the server fails.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let outcome = self.server.await.context("the HTTP server failed");
        if let Some(workers) = self.workers {
            workers.shutdown().await;
        }
        if let Err(error) = self.store.close().await {
            tracing::warn!(error = %error, "closing the database pool failed");
        }
        tracing::info!("stopped");
        outcome
    }
}

/// The configured context providers; none, with a warning, when their settings are unusable
/// (`Settings::validate` has checked their URLs).
fn context_providers(settings: &Settings) -> Vec<Arc<dyn ContextProvider>> {
    match settings.context.providers() {
        Ok(providers) => providers,
        Err(error) => {
            tracing::warn!(error = %error, "context providers are off: their settings are unusable");
            Vec::new()
        }
    }
}

/// Sessions and sign-in, from the settings.
fn auth_state(
    settings: &Settings,
    store: &Arc<SeaOrmStore>,
    code_host: &Arc<dyn CodeHost>,
) -> AuthState {
    let security = &settings.security;
    let key = match &security.jwt_secret {
        Some(secret) => SessionKey::from_jwt_secret(secret.expose_secret()),
        None => SessionKey::derived_from_secret_key(security.secret_key.expose_secret()),
    };
    let same_site = match security.cookie_same_site {
        settings::CookieSameSite::Lax => SameSite::Lax,
        settings::CookieSameSite::Strict => SameSite::Strict,
        settings::CookieSameSite::None => SameSite::None,
    };
    let backend = settings.application.backend_url.trim_end_matches('/');
    AuthState {
        sessions: SessionConfig {
            key,
            lifetime_minutes: security.access_token_expire_minutes,
            secure_cookies: settings.secure_cookies(),
            same_site,
        },
        oauth: OAuthConfig {
            client_id: settings.github.client_id.clone(),
            authorize_url: format!(
                "{}/login/oauth/authorize",
                settings.github.web_url.trim_end_matches('/')
            ),
            redirect_uri: format!("{backend}/auth/github/callback"),
            scopes: security.oauth_scopes.clone(),
            frontend_url: settings.application.frontend_url.clone(),
        },
        sign_in: SignIn::new(store.clone(), store.clone(), store.clone(), code_host.clone()),
        users: store.clone(),
        api_keys: store.clone(),
    }
}

/// This machine's name, for worker ids (`HOSTNAME`, else `localhost`).
fn hostname() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}

/// Waits for SIGINT or SIGTERM and names the one that came.
async fn shutdown_signal() -> std::io::Result<&'static str> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut terminate = signal(SignalKind::terminate())?;
        let mut interrupt = signal(SignalKind::interrupt())?;
        tokio::select! {
            _ = terminate.recv() => Ok("SIGTERM"),
            _ = interrupt.recv() => Ok("SIGINT"),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await?;
        Ok("ctrl-c")
    }
}

/// Opens the database named by the settings and applies pending migrations.
///
/// # Errors
/// When the keys are invalid, or the database cannot be reached or migrated.
pub async fn open_store(settings: &Settings) -> anyhow::Result<SeaOrmStore> {
    let cipher = TokenCipher::new(&settings.cipher_config())?;
    let store = SeaOrmStore::connect(&settings.database, cipher).await?;
    let started = Instant::now();
    store.migrate().await?;
    tracing::debug!(
        backend = store.backend_name(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "database migrated"
    );
    Ok(store)
}

/// `nectr migrate`: applies pending migrations and encrypts the original service's plaintext
/// secrets; with `status_only`, changes nothing. Answers the names of the migrations that were
/// pending.
///
/// # Errors
/// When the keys are invalid, or the database cannot be reached or migrated.
pub async fn migrate(settings: &Settings, status_only: bool) -> anyhow::Result<Vec<String>> {
    let cipher = TokenCipher::new(&settings.cipher_config())?;
    let store = SeaOrmStore::connect(&settings.database, cipher).await?;
    let pending = store.pending_migrations().await?;
    if !status_only {
        store.migrate().await?;
        let adoption = store.adopt_plaintext_secrets().await?;
        let history = store.adopt_original_history().await?;
        tracing::info!(
            migrations_applied = pending.len(),
            secrets_encrypted = adoption.webhook_secrets_encrypted,
            reviews_adopted = history.reviews_adopted,
            "the database is up to date"
        );
    }
    store.close().await?;
    Ok(pending)
}

/// How long a review's post may still reach GitHub after it began: the writes it makes (a
/// review, pending-review probes, a fallback comment) each within the request timeout, after
/// waiting their turn under the write pacing.
fn post_settle(github: &nectr_github::GitHubConfig) -> std::time::Duration {
    let request = github.request_timeout_seconds.max(1);
    let pacing = 60 / u64::from(github.writes_per_minute.max(1)) + 1;
    std::time::Duration::from_secs(3 * (request + pacing))
}

/// Queues, in the background, a first scan of every connected repository not yet indexed.
fn start_backfill(scans: &scans::BackgroundScans, store: &Arc<SeaOrmStore>) {
    let scans = scans.clone();
    let store = store.clone();
    tokio::spawn(async move {
        match scans.backfill(store.as_ref(), store.as_ref()).await {
            Ok(0) => {}
            Ok(queued) => tracing::info!(queued, "queued first scans of connected repositories"),
            Err(error) => tracing::warn!(error = %error, "cannot queue the first scans"),
        }
    });
}
