//! The MCP client behind the domain's `ContextProvider` port: tickets from Linear, production
//! errors from Sentry and discussions from Slack, each from its vendor's MCP server.
//!
//! - `session`: one server: Streamable HTTP (rmcp's client transport, sessions, re-initialised
//!   on 404) with the legacy HTTP+SSE transport as fallback (`sse`), the `initialize`
//!   handshake, bearer auth, the tool list, tool calls with timeouts, reconnection.
//! - `tools`: choosing a tool by its name and input schema, never by one vendor's build.
//! - `records`: reading answers (structured content, JSON text or markdown) as records.
//! - `linear`, `sentry`, `slack`: the providers.
//!
//! Every provider answers within its server's connect timeout plus two call timeouts (a tool
//! list, then calls made at once), or reports a timeout. The outcome of its last call, and
//! when, is kept as its health: `/health` reports it without asking the server anything.

mod linear;
mod records;
mod sentry;
mod session;
mod slack;
mod sse;
mod tools;

use std::future::Future;
use std::time::Duration;

use nectr_domain::context::ContextError;

pub use linear::LinearProvider;
pub use sentry::{SentryProvider, SentryScope};
pub use session::{McpClient, McpServerConfig, ToolInfo, ToolOutput, TransportKind};
pub use slack::SlackProvider;

/// The longest a provider takes for one answer with `client`'s timeouts.
pub fn provider_deadline(client: &McpClient) -> Duration {
    client.connect_timeout() + 2 * client.call_timeout()
}

/// `work` within the provider's deadline; its outcome is what `/health` reports of the provider.
async fn within<T>(
    client: &McpClient,
    work: impl Future<Output = Result<T, ContextError>>,
) -> Result<T, ContextError> {
    let deadline = provider_deadline(client);
    let answer = match tokio::time::timeout(deadline, work).await {
        Ok(answer) => answer,
        Err(_elapsed) => Err(ContextError::Timeout(deadline)),
    };
    client.record(&answer);
    answer
}
