//! GitHub for Nectr: [`OctocrabHost`], the implementation of the domain's `CodeHost` port on
//! octocrab, with one pooled client, GitHub App installation tokens, primary and secondary
//! rate-limit handling, paced writes, retried reads, and review posting that never loses a review.
//!
//! Usable on its own: build a [`GitHubConfig`], then `OctocrabHost::new(config)`.

mod app;
mod archive;
mod config;
mod host;
mod models;
mod review;
mod signature;
mod transport;

pub use config::{GitHubAppConfig, GitHubConfig};
pub use host::{OctocrabHost, WEBHOOK_EVENTS, install_crypto_provider};
pub use signature::{GitHubSignature, sign, verify_signature};
