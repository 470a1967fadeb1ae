//! Context from the team's other tools: tickets (Linear), production errors (Sentry) and
//! discussions (Slack), through the `ContextProvider` port (MCP clients in `nectr-mcp`; none is
//! configured by default).
//!
//! `keys` finds ticket keys and acceptance criteria in text; `review` gathers every provider's
//! context for one review (concurrently; an unavailable provider is reported, never fatal) and
//! adds the ticket search to the agent's tools.

pub mod keys;
pub mod review;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::RepoFullName;
use crate::code_host::PullRequest;

pub use keys::{acceptance_criteria, description_without_criteria, ticket_keys};
pub use review::{ContextOutcome, ContextReport, ProviderContext, ReviewContext};

/// What a provider is asked about: one pull request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContextQuery {
    /// The repository.
    pub repo: RepoFullName,
    /// The pull request's number.
    pub number: u64,
    /// Its page on GitHub.
    pub url: String,
    /// Its title (untrusted text).
    pub title: String,
    /// Its description (untrusted text, empty when there is none).
    pub body: String,
    /// Its head branch.
    pub branch: String,
    /// The paths it changes.
    pub files: Vec<String>,
    /// The ticket keys its title, branch and body name ([`ticket_keys`]).
    pub ticket_keys: Vec<String>,
}

impl ContextQuery {
    /// The query about `pull`, which changes `files`.
    pub fn new(repo: &RepoFullName, pull: &PullRequest, files: Vec<String>) -> Self {
        let body = pull.body.clone().unwrap_or_default();
        Self {
            repo: repo.clone(),
            number: pull.number,
            url: pull.html_url.clone(),
            title: pull.title.clone(),
            ticket_keys: ticket_keys(&pull.title, &pull.head_ref, &body),
            body,
            branch: pull.head_ref.clone(),
            files,
        }
    }
}

/// A ticket of the team's tracker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ticket {
    /// Its key (`ENG-123`).
    pub key: String,
    /// Title.
    pub title: String,
    /// Workflow state (`In Progress`), when the tracker said.
    pub state: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// What the ticket says must hold when it is done ([`acceptance_criteria`]).
    pub acceptance_criteria: Vec<String>,
    /// Its page.
    pub url: Option<String>,
}

/// A recent production error whose stack touches a changed file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProductionError {
    /// The tracker's short id (`BACKEND-4F2`), when it said.
    pub id: Option<String>,
    /// Title (usually the exception and its message).
    pub title: String,
    /// Events seen.
    pub count: Option<u64>,
    /// Where the error is attributed (a function or route).
    pub culprit: Option<String>,
    /// When it was last seen.
    pub last_seen: Option<DateTime<Utc>>,
    /// The changed file one of its stack frames is in.
    pub file: String,
    /// Its page.
    pub url: Option<String>,
}

/// A message of the team's chat that mentions the pull request or its tickets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiscussionMessage {
    /// The channel's name.
    pub channel: String,
    /// Who wrote it.
    pub author: String,
    /// What they wrote.
    pub text: String,
    /// A link to the message.
    pub link: Option<String>,
}

/// One piece of context.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ContextItem {
    /// A ticket the pull request names.
    Ticket(Ticket),
    /// A production error in a changed file.
    Error(ProductionError),
    /// A discussion about the pull request or its tickets.
    Discussion(DiscussionMessage),
}

/// Why a provider has no context to give.
#[derive(Debug, thiserror::Error)]
pub enum ContextError {
    /// It did not answer in time.
    #[error("timeout after {} s", .0.as_secs_f32())]
    Timeout(std::time::Duration),
    /// It cannot be reached (connection refused, DNS, TLS).
    #[error("unreachable: {0}")]
    Unreachable(String),
    /// It refused Nectr's credentials.
    #[error("refused: {0}")]
    Refused(String),
    /// It answered something that is not the protocol.
    #[error("protocol error: {0}")]
    Protocol(String),
    /// A tool it offers failed (a tool error or a JSON-RPC error).
    #[error("{tool} failed: {message}")]
    ToolFailed {
        /// The tool.
        tool: String,
        /// What it said.
        message: String,
    },
    /// It offers no tool that does what is needed.
    #[error("no suitable tool: {0}")]
    NoSuitableTool(String),
    /// Anything else.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl ContextError {
    /// What kind of failure this is.
    pub const fn failure(&self) -> ContextFailure {
        match self {
            Self::Timeout(_) => ContextFailure::Timeout,
            Self::Unreachable(_) => ContextFailure::Unreachable,
            Self::Refused(_) => ContextFailure::Refused,
            Self::Protocol(_) => ContextFailure::Protocol,
            Self::ToolFailed { .. } => ContextFailure::ToolFailed,
            Self::NoSuitableTool(_) => ContextFailure::NoSuitableTool,
            Self::Unexpected(_) => ContextFailure::Unexpected,
        }
    }
}

/// The kind of a [`ContextError`], without its text (which can name internal hosts and stays in
/// the logs and the review's coverage table).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContextFailure {
    /// [`ContextError::Timeout`].
    Timeout,
    /// [`ContextError::Unreachable`].
    Unreachable,
    /// [`ContextError::Refused`].
    Refused,
    /// [`ContextError::Protocol`].
    Protocol,
    /// [`ContextError::ToolFailed`].
    ToolFailed,
    /// [`ContextError::NoSuitableTool`].
    NoSuitableTool,
    /// [`ContextError::Unexpected`].
    Unexpected,
}

impl ContextFailure {
    /// A stable snake_case code.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Timeout => "timeout",
            Self::Unreachable => "unreachable",
            Self::Refused => "refused",
            Self::Protocol => "protocol_error",
            Self::ToolFailed => "tool_failed",
            Self::NoSuitableTool => "no_suitable_tool",
            Self::Unexpected => "unexpected",
        }
    }
}

/// What is known of a provider's state: how its last call for a review went, and when. Nothing
/// is asked for the sake of health alone, so reporting it costs the provider nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProviderHealth {
    /// Not asked anything since Nectr started.
    Unknown,
    /// Its last call answered.
    Answered {
        /// When.
        at: DateTime<Utc>,
    },
    /// Its last call failed.
    Failed {
        /// When.
        at: DateTime<Utc>,
        /// How.
        failure: ContextFailure,
    },
}

impl ProviderHealth {
    /// The state after a call that ended `at` with `outcome`.
    pub fn after<T>(outcome: &Result<T, ContextError>, at: DateTime<Utc>) -> Self {
        match outcome {
            Ok(_) => Self::Answered { at },
            Err(error) => Self::Failed { at, failure: error.failure() },
        }
    }
}

/// A source of context for reviews: a ticket tracker, an error tracker, a chat.
///
/// Implementations answer within their own deadline (an adapter's timeouts) and are read-only:
/// asking twice is harmless.
#[async_trait]
pub trait ContextProvider: Send + Sync {
    /// A short name for the coverage table and the prompt (`linear`).
    fn name(&self) -> &str;

    /// How the provider's last call went, without asking it anything: this MUST return at once.
    /// A provider that keeps no record answers [`ProviderHealth::Unknown`].
    fn health(&self) -> ProviderHealth {
        ProviderHealth::Unknown
    }

    /// The context this provider holds about a pull request (empty when it holds none).
    ///
    /// # Errors
    /// [`ContextError`] when the provider is unavailable or misbehaves.
    async fn context(&self, query: &ContextQuery) -> Result<Vec<ContextItem>, ContextError>;

    /// Whether [`ContextProvider::search_tickets`] can answer.
    fn searches_tickets(&self) -> bool {
        false
    }

    /// Tickets matching free text, for the reviewing agent.
    ///
    /// # Errors
    /// [`ContextError`]; [`ContextError::NoSuitableTool`] from providers that search no tickets.
    async fn search_tickets(&self, text: &str) -> Result<Vec<Ticket>, ContextError> {
        Err(ContextError::NoSuitableTool(format!(
            "{} searches no tickets (asked {text:?})",
            self.name()
        )))
    }
}

#[cfg(test)]
mod tests;
