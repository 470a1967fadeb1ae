//! Nectr's domain: the types that describe users, connected repositories, webhook deliveries and
//! review runs; the ports (traits) through which the rest of Nectr reaches storage and other
//! systems; and the use cases built on them.
//!
//! Architecture invariant: this crate performs no I/O and depends on no other Nectr crate, on no
//! database driver, HTTP client or web framework. Adapters implement its ports; `nectr-server`
//! wires them together.

pub mod analytics;
pub mod api_keys;
pub mod app_changes;
pub mod budget;
pub mod code_host;
pub mod connections;
pub mod context;
pub mod delivery;
pub mod diff;
pub mod event;
pub mod graph;
pub mod health;
pub mod history;
pub mod ids;
pub mod installation;
pub mod llm;
pub mod memory;
pub mod oauth_state;
pub mod original_history;
pub mod pipeline;
pub mod pull_request;
pub mod queue;
pub mod repo_name;
pub mod retry_after;
pub mod review;
pub mod review_run;
pub mod secret;
pub mod sign_in;
pub mod tenancy;
pub mod user;
pub mod webhook;

pub use event::{Event, EventFilter, EventRepository, EventRepositoryError, EventStatus, NewEvent};
pub use health::{
    DependencyHealth, HealthProbe, HealthReport, HealthService, HealthStatus, ProbeError,
};
pub use ids::{EventId, InstallationId, JobId, ReviewRunId, UserId};
pub use installation::{
    Installation, InstallationRepository, InstallationRepositoryError, NewInstallation,
};
pub use oauth_state::{OAuthState, OAuthStateRepository, OAuthStateRepositoryError};
pub use repo_name::{RepoFullName, RepoFullNameError};
pub use review_run::{
    NewReviewRun, Posted, Posting, RecordedFinding, ReviewRecord, ReviewRun, ReviewRunRepository,
    ReviewRunRepositoryError, ReviewRunStatus, StepTimings,
};
pub use secret::{AccessToken, WebhookSecret};
pub use user::{User, UserRepository, UserRepositoryError, UserUpsert};
