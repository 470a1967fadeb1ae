//! Nectr's MCP server: what Nectr knows (reviews, verdicts, findings, contributors, memory,
//! project rules, file experts, blast radius) as MCP tools and resources, for other agents.
//!
//! - `handler`: the rmcp `ServerHandler` (`NectrMcp`), its tools (`tools`) and resources
//!   (`resources`), each answered from the domain's ports within the caller's connected
//!   repositories; a repository the caller has not connected is "unknown", exactly like one that
//!   does not exist.
//! - Two transports in the API's own HTTP server ([`McpServer::configure`]): Streamable HTTP at
//!   `/mcp` (`streamable`, rmcp's `StreamableHttpService` behind an actix handler) and the legacy
//!   HTTP+SSE transport of MCP 2024-11-05 at `/mcp/sse` and `/mcp/messages/` (`sse`, written on
//!   rmcp's `Transport` trait).
//! - Every request passes the `Host`/`Origin` allow-list (`guard`, against DNS rebinding) and
//!   presents a personal API key (`auth`); a session belongs to the user whose key opened it,
//!   and a user holds at most [`McpConfig::max_sessions_per_user`] open sessions over both
//!   transports (`slots`; one more is 429 `too_many_sessions`).

mod auth;
mod bridge;
mod guard;
mod handler;
mod http_error;
mod resources;
mod slots;
mod sse;
mod streamable;
mod tools;

use std::sync::Arc;
use std::time::Duration;

use actix_web::web;
use nectr_domain::ReviewRunRepository;
use nectr_domain::analytics::ReviewAnalytics;
use nectr_domain::api_keys::ApiKeyStore;
use nectr_domain::graph::CodeGraph;
use nectr_domain::history::ReviewHistory;
use nectr_domain::memory::MemoryStore;
use nectr_domain::memory::contributors::ContributorActivity;
use nectr_domain::memory::retrieval::MemoryRetrieval;
use nectr_domain::tenancy::Tenancy;

pub use guard::{AllowedHosts, LOOPBACK_HOSTS};

use handler::NectrMcp;

/// The domain's services and ports the tools and resources answer from.
#[derive(Clone)]
pub struct Knowledge {
    /// Which repositories each user has connected.
    pub tenancy: Tenancy,
    /// Reviews, one per pull request, within a user's repositories.
    pub history: Arc<dyn ReviewHistory>,
    /// Review runs and their records (verdict, findings).
    pub runs: Arc<dyn ReviewRunRepository>,
    /// Aggregated review figures.
    pub analytics: Arc<dyn ReviewAnalytics>,
    /// Project memory.
    pub memories: Arc<dyn MemoryStore>,
    /// The rule that picks the memories that apply to files.
    pub retrieval: MemoryRetrieval,
    /// Reviewed pull requests per author.
    pub activity: Arc<dyn ContributorActivity>,
    /// The code graph.
    pub graph: Arc<dyn CodeGraph>,
}

/// How the MCP server is reached.
#[derive(Clone, Debug)]
pub struct McpConfig {
    /// The host names requests may name in `Host` and `Origin`.
    pub allowed_hosts: AllowedHosts,
    /// How often an idle event stream sends a keep-alive comment.
    pub keep_alive: Duration,
    /// The version `initialize` reports.
    pub version: String,
    /// The most sessions one user may hold open at once, over both transports (at least one).
    pub max_sessions_per_user: usize,
}

/// The MCP server, built once per process and mounted into every HTTP worker's application.
#[derive(Clone)]
pub struct McpServer {
    shared: Arc<Shared>,
}

/// What every transport shares: the handler's knowledge, the key store, the allow-list, the
/// sessions of both transports and each user's slots.
pub(crate) struct Shared {
    pub(crate) handler: NectrMcp,
    pub(crate) keys: Arc<dyn ApiKeyStore>,
    pub(crate) hosts: AllowedHosts,
    pub(crate) keep_alive: Duration,
    pub(crate) streamable: streamable::Streamable,
    pub(crate) sse: sse::SseSessions,
    pub(crate) slots: Arc<slots::SessionSlots>,
}

impl McpServer {
    /// The server over `knowledge`, authenticating with `keys`.
    pub fn new(knowledge: Knowledge, keys: Arc<dyn ApiKeyStore>, config: McpConfig) -> Self {
        let handler = NectrMcp::new(knowledge, config.version);
        let streamable =
            streamable::Streamable::new(handler.clone(), &config.allowed_hosts, config.keep_alive);
        Self {
            shared: Arc::new(Shared {
                handler,
                keys,
                hosts: config.allowed_hosts,
                keep_alive: config.keep_alive,
                streamable,
                sse: sse::SseSessions::default(),
                slots: slots::SessionSlots::new(config.max_sessions_per_user),
            }),
        }
    }

    /// Ends every session of both transports and closes their event streams, so that a graceful
    /// stop of the HTTP server does not wait for clients that keep a stream open; clients
    /// reconnect (to another Nectr, or to this one once it is back). Requests after it are
    /// refused or find their session gone.
    pub fn close_sessions(&self) {
        self.shared.streamable.close();
        self.shared.sse.close_all();
    }

    /// Mounts `/mcp` (Streamable HTTP), `/mcp/sse` and `/mcp/messages` (HTTP+SSE) on an actix
    /// application. The paths are those after trailing-slash normalisation, so
    /// `/mcp/messages/?session_id=…` reaches the messages route.
    pub fn configure(&self, config: &mut web::ServiceConfig) {
        let shared = web::Data::from(self.shared.clone());
        config.service(streamable::resource(shared.clone()));
        config.service(sse::stream_resource(shared.clone()));
        config.service(sse::messages_resource(shared));
    }
}
