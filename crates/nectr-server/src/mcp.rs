//! The MCP server's settings (`[mcp_server]`) and composition: the same adapters the dashboard
//! API reads (history, analytics, memory, the code graph, tenancy, API keys), the review records
//! from the store, and the allow-list of hosts from `BACKEND_URL`.

use std::sync::Arc;
use std::time::Duration;

use nectr_api::ApiState;
use nectr_domain::memory::retrieval::MemoryRetrieval;
use nectr_mcp::server::{AllowedHosts, Knowledge, McpConfig, McpServer};
use nectr_persistence::SeaOrmStore;
use serde::{Deserialize, Serialize};

use crate::{Settings, VERSION};

/// `[mcp_server]`: the MCP server at `/mcp`, `/mcp/sse` and `/mcp/messages/`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct McpServerSettings {
    /// How often an idle event stream sends a keep-alive comment, in seconds; a client that went
    /// away is noticed by the next writes, so its session ends within about twice this.
    pub keep_alive_seconds: u64,
    /// The most MCP sessions one user (with any of their API keys) may hold open at once, over
    /// both transports; one more is refused with 429 `too_many_sessions` until one ends.
    pub max_sessions_per_user: usize,
}

impl Default for McpServerSettings {
    fn default() -> Self {
        Self { keep_alive_seconds: 15, max_sessions_per_user: 16 }
    }
}

/// The MCP server over the API's adapters.
pub(crate) fn server(settings: &Settings, api: &ApiState, store: &Arc<SeaOrmStore>) -> McpServer {
    let knowledge = Knowledge {
        tenancy: api.tenancy.clone(),
        history: api.history.clone(),
        runs: store.clone(),
        analytics: api.analytics.clone(),
        memories: api.memory.store.clone(),
        retrieval: MemoryRetrieval::new(api.memory.store.clone(), settings.memory.budget()),
        activity: api.memory.activity.clone(),
        graph: api.graph.graph.clone(),
    };
    let config = McpConfig {
        allowed_hosts: AllowedHosts::new(&settings.application.backend_url),
        keep_alive: Duration::from_secs(settings.mcp_server.keep_alive_seconds.max(1)),
        version: VERSION.to_owned(),
        max_sessions_per_user: settings.mcp_server.max_sessions_per_user,
    };
    McpServer::new(knowledge, api.auth.api_keys.clone(), config)
}
