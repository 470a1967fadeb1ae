//! Nectr's HTTP API on actix-web: routes, request and response shapes, the one [`ApiError`], CORS
//! and request logging.
//!
//! API boundary: only this crate (and `nectr-mcp`) knows HTTP. It reaches storage and other
//! systems only through the domain's services and ports, held in [`ApiState`].

mod analytics;
mod api_keys;
pub mod auth;
mod error;
mod events;
mod graph;
mod health;
mod memory;
mod middleware;
pub mod openapi;
mod params;
mod repos;
mod reviews;
mod webhooks;

use std::sync::Arc;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::{App, FromRequest, Handler, Resource, Responder, web};
use nectr_domain::HealthService;
use nectr_domain::analytics::ReviewAnalytics;
use nectr_domain::connections::RepositoryConnections;
use nectr_domain::history::ReviewHistory;
use nectr_domain::tenancy::Tenancy;
use nectr_domain::webhook::WebhookIntake;

pub use auth::{AuthState, CurrentUser, OAuthConfig};
pub use error::ApiError;
pub use graph::GraphState;
pub use memory::MemoryState;
pub use middleware::REQUEST_ID_HEADER;

/// The origins the original service allowed, to which `FRONTEND_URL` is added.
pub const DEFAULT_CORS_ORIGINS: [&str; 3] =
    ["http://localhost:5173", "http://localhost:3000", "http://localhost:3001"];

/// Facts about this Nectr that the API reports.
#[derive(Clone, Debug)]
pub struct ApiConfig {
    /// The service name `/health` reports.
    pub service_name: String,
    /// The version `/health` reports.
    pub version: String,
    /// `development`, `production` or `test`.
    pub environment: String,
    /// Origins allowed to call the API from a browser, with credentials.
    pub cors_origins: Vec<String>,
}

/// Everything the handlers need, registered once as one `web::Data`.
#[derive(Clone)]
pub struct ApiState {
    /// Configuration facts.
    pub config: ApiConfig,
    /// Probes of the dependencies.
    pub health: HealthService,
    /// When this process started.
    pub started_at: Instant,
    /// GitHub webhook intake.
    pub webhooks: Arc<WebhookIntake>,
    /// Sessions, sign-in and users.
    pub auth: AuthState,
    /// Which repositories each user may see and change.
    pub tenancy: Tenancy,
    /// Connecting and disconnecting repositories.
    pub connections: RepositoryConnections,
    /// GitHub App installation changes, applied once their delivery is stored.
    pub app_changes: nectr_domain::app_changes::AppChanges,
    /// Review and event history, within each user's repositories.
    pub history: Arc<dyn ReviewHistory>,
    /// Review analytics, within each user's repositories.
    pub analytics: Arc<dyn ReviewAnalytics>,
    /// The repository knowledge graph and its scans.
    pub graph: GraphState,
    /// Project memory: its store, the project-map scanner, contributor activity.
    pub memory: MemoryState,
}

/// Builds the actix application: state, middleware, routes and JSON errors. `mount` adds the
/// routes of the other inbound edge that shares the process and port (the MCP server), behind
/// the same middleware.
pub fn app(
    state: ApiState,
    mount: impl FnOnce(&mut web::ServiceConfig),
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let cors = middleware::cors(&state.config.cors_origins);
    App::new()
        .app_data(web::Data::new(state))
        .app_data(error::json_config())
        .app_data(error::path_config())
        .app_data(error::query_config())
        .configure(health::routes)
        .configure(webhooks::routes)
        .configure(auth::routes)
        .configure(repos::routes)
        .configure(api_keys::routes)
        .configure(reviews::routes)
        .configure(events::routes)
        .configure(analytics::routes)
        .configure(graph::routes)
        .configure(memory::routes)
        .configure(openapi::routes)
        .configure(mount)
        .default_service(web::to(error::not_found))
        .wrap(actix_web::middleware::from_fn(auth::csrf::check_origin))
        .wrap(middleware::json_errors())
        .wrap(actix_web::middleware::NormalizePath::trim())
        .wrap(cors)
        .wrap(actix_web::middleware::from_fn(middleware::log_request))
}

/// A resource that serves `GET` and answers 405 with a JSON error for other methods.
pub(crate) fn get_only<F, Args>(path: &str, handler: F) -> Resource
where
    F: Handler<Args>,
    Args: FromRequest + 'static,
    F::Output: Responder + 'static,
{
    web::resource(path)
        .route(web::get().to(handler))
        .default_service(web::to(error::method_not_allowed))
}

/// A fresh random token for OAuth states and webhook secrets: 64 hexadecimal characters from
/// two version-4 UUIDs (244 random bits from the operating system's generator).
pub(crate) fn random_token() -> String {
    format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple())
}
