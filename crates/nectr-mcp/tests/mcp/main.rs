//! nectr-mcp's tests against real MCP programs: the client half against stand-ins for Linear,
//! Sentry and Slack written with the official TypeScript SDK and against the reference
//! `server-everything` (Node.js, started on free ports of 127.0.0.1).

#![expect(clippy::unwrap_used, reason = "tests: a failed unwrap is a failed test")]

mod client;
