//! The testkit's own tests: its fakes honour the port contracts, and the queue holds across
//! processes.

mod fakes;
mod queue_processes;
