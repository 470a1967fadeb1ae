//! Integration tests of the SQL store: the shared port contracts, migrations and adoption of the
//! original service's database, PostgreSQL's batched intake. Every test runs on SQLite, and on
//! PostgreSQL when `TEST_DATABASE_URL` is set.

#![expect(clippy::unwrap_used, reason = "test helpers: a failed unwrap is a failed test")]

mod adoption;
mod contracts;
mod insights;
mod intake;
mod memories;
mod migrations;
