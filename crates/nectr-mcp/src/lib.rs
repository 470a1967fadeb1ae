//! Nectr over the Model Context Protocol, on rmcp (the official Rust SDK).
//!
//! - `server`: Nectr's knowledge (reviews, verdicts, contributors, memory, rules, experts, blast
//!   radius) as MCP tools and resources, scoped to the caller's connected repositories and
//!   authenticated by API key; served over Streamable HTTP at `/mcp` and over the legacy
//!   HTTP+SSE transport at `/mcp/sse` and `/mcp/messages/`.
//! - `client`: a standards-compliant MCP client behind the domain's `ContextProvider` port, which
//!   brings tickets, production errors and discussions from Linear, Sentry and Slack into a review.

pub mod client;
pub mod server;
