//! The testkit's own tests: its fakes honour the port contracts, and the queue holds across
//! processes.

#![expect(clippy::unwrap_used, reason = "tests: a failed unwrap is a failed test")]

mod fakes;
mod queue_processes;
