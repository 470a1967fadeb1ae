//! Nectr's relational storage on sea-orm, for PostgreSQL and SQLite: the repositories behind the
//! domain's storage ports, the probe `/health` uses, and encryption of secrets at rest with Fernet.
//!
//! Architecture invariant: sea-orm entities and `DbErr` never leave this crate; every public
//! method speaks domain types and domain errors.

mod adoption;
mod analytics;
mod api_keys;
mod config;
mod crypto;
mod entities;
mod events;
mod graph;
mod history;
mod installations;
mod intake;
mod memories;
mod oauth_states;
mod pull_requests;
mod queue;
mod review_runs;
mod reviewed;
mod revoked_sessions;
mod scope;
mod store;
mod users;

pub use adoption::HistoryAdoption;
pub use config::{DatabaseConfig, DatabaseUrlError};
pub use crypto::{CipherConfig, CipherError, TokenCipher, derive_legacy_key};
pub use intake::INTAKE_FLUSH_LOCK;
pub use store::{AdoptionReport, SeaOrmStore, StoreError};
