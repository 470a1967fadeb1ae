//! One MCP server, as a client sees it: the connection (Streamable HTTP through rmcp, else the
//! legacy HTTP+SSE transport when the server answers the `initialize` POST with a 4xx, as the
//! specification's backwards-compatibility section says), the `initialize` handshake with
//! `notifications/initialized`, the server's tools (`tools/list`, every page), and tool calls,
//! each within its timeout.
//!
//! The connection is kept between reviews. rmcp starts a new session by itself when the server
//! answers 404 for an expired `Mcp-Session-Id`; a connection that closed (a dropped event
//! stream, a restarted server) is opened again once, on the next call. Every call Nectr makes
//! reads, so repeating one is harmless.

use std::sync::{Arc, PoisonError};
use std::time::Duration;

use chrono::Utc;
use reqwest::Url;
use rmcp::model::{
    CallToolRequestParams, ClientCapabilities, ClientConfig, ContentBlock, Implementation,
    JsonObject, ProtocolVersion,
};
use rmcp::service::{ClientInitializeError, RunningService, ServiceError};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::{
    StreamableHttpClientTransportConfig, StreamableHttpError,
};
use rmcp::{RoleClient, ServiceExt};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use tokio::sync::Mutex;

use nectr_domain::context::{ContextError, ProviderHealth};

use super::sse::{SseError, SseTransport};

/// Where an MCP server is and how Nectr talks to it.
#[derive(Clone)]
pub struct McpServerConfig {
    /// The server's URL: its Streamable HTTP endpoint, or its legacy SSE stream.
    pub url: String,
    /// Sent as `Authorization: Bearer`.
    pub token: Option<SecretString>,
    /// Longest wait for a connection and the `initialize` handshake.
    pub connect_timeout: Duration,
    /// Longest wait for one request (`tools/list`, `tools/call`).
    pub call_timeout: Duration,
}

impl std::fmt::Debug for McpServerConfig {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("McpServerConfig")
            .field("url", &self.url)
            .field("token", &self.token.as_ref().map(|_| "[redacted]"))
            .field("connect_timeout", &self.connect_timeout)
            .field("call_timeout", &self.call_timeout)
            .finish()
    }
}

/// How a connection reached its server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransportKind {
    /// Streamable HTTP (protocol 2025-03-26 and later).
    StreamableHttp,
    /// The legacy HTTP+SSE transport (protocol 2024-11-05).
    LegacySse,
}

/// A tool a server offers.
#[derive(Clone, Debug, PartialEq)]
pub struct ToolInfo {
    /// Its name.
    pub name: String,
    /// What it says it does.
    pub description: String,
    /// Its input's JSON schema.
    pub input_schema: JsonObject,
}

/// What a tool answered.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ToolOutput {
    /// Its text content blocks.
    pub texts: Vec<String>,
    /// Its structured content, when it sent one.
    pub structured: Option<Value>,
}

/// A live connection and what it learned at the start.
struct Live {
    service: RunningService<RoleClient, ClientConfig>,
    tools: Vec<ToolInfo>,
    transport: TransportKind,
}

/// A client of one MCP server.
pub struct McpClient {
    config: McpServerConfig,
    url: Url,
    http: reqwest::Client,
    live: Mutex<Option<Arc<Live>>>,
    /// How the last provider call on this server went (see [`McpClient::record`]).
    last: std::sync::Mutex<ProviderHealth>,
}

/// Nectr as the handshake introduces it: no sampling, roots or elicitation to offer.
fn client_config() -> ClientConfig {
    ClientConfig::new(
        ClientCapabilities::default(),
        Implementation::new("nectr", env!("CARGO_PKG_VERSION")),
    )
    .with_protocol_version(ProtocolVersion::LATEST_WITH_INITIALIZE)
}

impl McpClient {
    /// A client of the server `config` names; it connects on first use.
    ///
    /// # Errors
    /// [`ContextError::Unexpected`] when the URL is invalid or the HTTP client cannot be built.
    pub fn new(config: McpServerConfig) -> Result<Self, ContextError> {
        let url = Url::parse(&config.url).map_err(|error| {
            anyhow::anyhow!("the MCP server URL {:?} is invalid: {error}", config.url)
        })?;
        let http = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .pool_max_idle_per_host(0)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|error| anyhow::anyhow!("cannot build the MCP HTTP client: {error}"))?;
        Ok(Self {
            config,
            url,
            http,
            live: Mutex::new(None),
            last: std::sync::Mutex::new(ProviderHealth::Unknown),
        })
    }

    /// Records how a provider's call on this server ended, now.
    pub(crate) fn record<T>(&self, outcome: &Result<T, ContextError>) {
        let health = ProviderHealth::after(outcome, Utc::now());
        *self.last.lock().unwrap_or_else(PoisonError::into_inner) = health;
    }

    /// How the last recorded call went ([`ProviderHealth::Unknown`] before the first); asks the
    /// server nothing.
    pub fn health(&self) -> ProviderHealth {
        *self.last.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The server's URL.
    pub fn url(&self) -> &str {
        &self.config.url
    }

    /// The longest wait for a connection and the handshake.
    pub fn connect_timeout(&self) -> Duration {
        self.config.connect_timeout
    }

    /// The longest wait for one request.
    pub fn call_timeout(&self) -> Duration {
        self.config.call_timeout
    }

    /// The tools the server offers (listed once per connection).
    ///
    /// # Errors
    /// [`ContextError`] when the server cannot be reached or misbehaves.
    pub async fn tools(&self) -> Result<Vec<ToolInfo>, ContextError> {
        Ok(self.connection().await?.tools.clone())
    }

    /// How the current connection reached the server (connecting first when there is none).
    ///
    /// # Errors
    /// [`ContextError`] when the server cannot be reached or misbehaves.
    pub async fn transport(&self) -> Result<TransportKind, ContextError> {
        Ok(self.connection().await?.transport)
    }

    /// Calls a tool; a connection found closed is opened again once.
    ///
    /// # Errors
    /// [`ContextError::ToolFailed`] for a tool error or a JSON-RPC error,
    /// [`ContextError::Timeout`] past the call timeout, others when the server cannot be reached.
    pub async fn call(
        &self,
        tool: &str,
        arguments: JsonObject,
    ) -> Result<ToolOutput, ContextError> {
        let live = self.connection().await?;
        match self.call_on(&live, tool, arguments.clone()).await {
            Err(Lost(reason)) => {
                tracing::info!(server = %self.config.url, reason, "the MCP connection closed; connecting again");
                self.forget(&live).await;
                let live = self.connection().await?;
                self.call_on(&live, tool, arguments).await.map_err(|Lost(reason)| {
                    ContextError::Unreachable(format!("the connection closed again: {reason}"))
                })?
            }
            Ok(answer) => answer,
        }
    }

    /// Closes the connection, if there is one.
    pub async fn close(&self) {
        let live = self.live.lock().await.take();
        if let Some(live) = live
            && let Ok(mut live) = Arc::try_unwrap(live)
        {
            let _closed = live.service.close_with_timeout(Duration::from_secs(2)).await;
        }
    }

    async fn call_on(
        &self,
        live: &Live,
        tool: &str,
        arguments: JsonObject,
    ) -> Result<Result<ToolOutput, ContextError>, Lost> {
        let params = CallToolRequestParams::new(tool.to_owned()).with_arguments(arguments);
        let called =
            tokio::time::timeout(self.config.call_timeout, live.service.peer().call_tool(params))
                .await;
        let result = match called {
            Err(_elapsed) => return Ok(Err(ContextError::Timeout(self.config.call_timeout))),
            Ok(Err(error)) => return service_error(tool, error).map(Err),
            Ok(Ok(result)) => result,
        };
        let texts = result
            .content
            .into_iter()
            .filter_map(|block| match block {
                ContentBlock::Text(text) => Some(text.text),
                _ => None,
            })
            .collect();
        let output = ToolOutput { texts, structured: result.structured_content };
        match result.is_error {
            Some(true) => Ok(Err(ContextError::ToolFailed {
                tool: tool.to_owned(),
                message: clip(&output.texts.join(" ")),
            })),
            _ => Ok(Ok(output)),
        }
    }

    /// The live connection, opened when there is none or it closed.
    async fn connection(&self) -> Result<Arc<Live>, ContextError> {
        let mut live = self.live.lock().await;
        if let Some(current) = live.as_ref()
            && !current.service.is_closed()
            && !current.service.peer().is_transport_closed()
        {
            return Ok(current.clone());
        }
        let opened = Arc::new(self.open().await?);
        *live = Some(opened.clone());
        Ok(opened)
    }

    async fn forget(&self, lost: &Arc<Live>) {
        let mut live = self.live.lock().await;
        if live.as_ref().is_some_and(|current| Arc::ptr_eq(current, lost)) {
            *live = None;
        }
    }

    /// Connects, shakes hands and lists the tools.
    async fn open(&self) -> Result<Live, ContextError> {
        let connect = self.config.connect_timeout;
        let (service, transport) = match tokio::time::timeout(connect, self.streamable()).await {
            Err(_elapsed) => return Err(ContextError::Timeout(connect)),
            Ok(Ok(service)) => (service, TransportKind::StreamableHttp),
            Ok(Err(Failure::Legacy(status))) => {
                tracing::debug!(server = %self.config.url, status, "initialize POST refused; trying the legacy SSE transport");
                match tokio::time::timeout(connect, self.legacy()).await {
                    Err(_elapsed) => return Err(ContextError::Timeout(connect)),
                    Ok(Err(error)) => {
                        return Err(legacy_error(error, &status));
                    }
                    Ok(Ok(service)) => (service, TransportKind::LegacySse),
                }
            }
            Ok(Err(Failure::Other(error))) => return Err(error),
        };
        let listed =
            tokio::time::timeout(self.config.call_timeout, service.peer().list_all_tools()).await;
        let tools = match listed {
            Err(_elapsed) => return Err(ContextError::Timeout(self.config.call_timeout)),
            Ok(Err(error)) => {
                return Err(match service_error("tools/list", error) {
                    Ok(error) => error,
                    Err(Lost(reason)) => ContextError::Unreachable(reason),
                });
            }
            Ok(Ok(tools)) => tools,
        };
        let tools = tools
            .into_iter()
            .map(|tool| ToolInfo {
                name: tool.name.into_owned(),
                description: tool.description.map(|text| text.into_owned()).unwrap_or_default(),
                input_schema: tool.input_schema.as_ref().clone(),
            })
            .collect();
        Ok(Live { service, tools, transport })
    }

    async fn streamable(&self) -> Result<RunningService<RoleClient, ClientConfig>, Failure> {
        let mut config = StreamableHttpClientTransportConfig::with_uri(self.config.url.clone());
        config.auth_header =
            self.config.token.as_ref().map(|token| token.expose_secret().to_owned());
        config.reinit_on_expired_session = true;
        let transport = StreamableHttpClientTransport::with_client(self.http.clone(), config);
        client_config().serve(transport).await.map_err(classify)
    }

    async fn legacy(&self) -> Result<RunningService<RoleClient, ClientConfig>, ContextError> {
        let transport =
            SseTransport::connect(self.http.clone(), &self.url, self.config.token.clone())
                .await
                .map_err(sse_error)?;
        client_config().serve(transport).await.map_err(|error| match classify(error) {
            Failure::Legacy(status) => ContextError::Protocol(format!("HTTP {status}")),
            Failure::Other(error) => error,
        })
    }
}

/// The connection closed under a call, and why.
struct Lost(String);

/// Why the Streamable HTTP handshake failed: a 4xx answer (the server may speak the legacy
/// transport), or anything else.
enum Failure {
    Legacy(String),
    Other(ContextError),
}

/// What a failed handshake means.
fn classify(error: ClientInitializeError) -> Failure {
    if error.is_authorization_required() {
        return Failure::Other(ContextError::Refused("the server wants authorization".to_owned()));
    }
    let transport = match &error {
        ClientInitializeError::TransportError { error, .. } => Some(error.error.as_ref()),
        _ => None,
    };
    let Some(transport) = transport else {
        return Failure::Other(ContextError::Protocol(clip(&error.to_string())));
    };
    match transport.downcast_ref::<StreamableHttpError<reqwest::Error>>() {
        Some(StreamableHttpError::UnexpectedServerResponse(text)) => http_status(text),
        Some(StreamableHttpError::UnexpectedContentType(content_type)) => Failure::Legacy(format!(
            "answered {}",
            content_type.as_deref().unwrap_or("without a content type")
        )),
        Some(StreamableHttpError::Client(error)) => Failure::Other(reqwest_error(error)),
        Some(StreamableHttpError::HttpStatus(status)) => {
            Failure::Other(ContextError::Unreachable(format!("HTTP {}", status.status)))
        }
        _ => Failure::Other(ContextError::Protocol(clip(&error.to_string()))),
    }
}

/// rmcp reports a refused POST as `HTTP <status>: <body>`: a 4xx other than 401 and 403 invites
/// the legacy transport, 401 and 403 are refusals.
fn http_status(text: &str) -> Failure {
    let status = text
        .strip_prefix("HTTP ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse::<u16>().ok());
    match status {
        Some(401 | 403) => Failure::Other(ContextError::Refused(clip(text))),
        Some(400..=499) => Failure::Legacy(clip(text)),
        _ => Failure::Other(ContextError::Protocol(clip(text))),
    }
}

fn reqwest_error(error: &reqwest::Error) -> ContextError {
    ContextError::Unreachable(clip(&error_chain(error)))
}

fn sse_error(error: SseError) -> ContextError {
    match error {
        SseError::Status(status) if matches!(status.as_u16(), 401 | 403) => {
            ContextError::Refused(format!("HTTP {status}"))
        }
        SseError::Http(error) => reqwest_error(&error),
        other => ContextError::Protocol(clip(&other.to_string())),
    }
}

/// The legacy transport failed too: a refusal or an unreachable server is said as such;
/// otherwise the server is neither, and both answers are named.
fn legacy_error(error: ContextError, streamable: &str) -> ContextError {
    match error {
        ContextError::Protocol(legacy) => ContextError::Protocol(format!(
            "neither transport answered: Streamable HTTP {streamable}; legacy SSE {legacy}"
        )),
        other => other,
    }
}

/// What a failed request means: a JSON-RPC error from the tool's server, or a lost connection.
fn service_error(tool: &str, error: ServiceError) -> Result<ContextError, Lost> {
    match error {
        ServiceError::McpError(data) => Ok(ContextError::ToolFailed {
            tool: tool.to_owned(),
            message: clip(&format!("{} (JSON-RPC error {})", data.message, data.code.0)),
        }),
        ServiceError::TransportClosed => Err(Lost("transport closed".to_owned())),
        ServiceError::TransportSend(error) => {
            let text = error_chain(&error);
            match text.contains("404") || text.contains("Session expired") {
                true => Err(Lost(clip(&text))),
                false => Ok(ContextError::Unreachable(clip(&text))),
            }
        }
        ServiceError::Timeout { timeout } => Ok(ContextError::Timeout(timeout)),
        other => Ok(ContextError::Protocol(clip(&other.to_string()))),
    }
}

/// An error and its sources, on one line.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// A server's words, cut to one short line for the coverage table and the logs.
pub(crate) fn clip(text: &str) -> String {
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match line.char_indices().nth(200) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line,
    }
}
