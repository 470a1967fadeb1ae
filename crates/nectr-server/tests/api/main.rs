//! End-to-end tests of the server over HTTP: the real application on port 0 with a fresh
//! database (PostgreSQL when `TEST_DATABASE_URL` is set), and the `nectr` binary itself.

#![expect(clippy::unwrap_used, reason = "test helpers: a failed unwrap is a failed test")]

mod api_keys;
mod bad_input;
mod binary;
mod context;
mod dashboard;
mod errors;
mod graph;
mod health;
mod mcp;
mod memory;
mod memory_outages;
mod memory_tools;
mod models;
mod openapi;
mod posting;
mod project_summary;
mod redeliveries;
mod reopened;
mod repositories;
mod review_git;
mod reviews;
mod sign_in;
mod tenancy;
mod tenants;
mod webhooks;
mod workers;
