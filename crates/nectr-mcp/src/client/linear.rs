//! Linear through its MCP server: the tickets a pull request names, fetched by key before the
//! review, and a ticket search for the reviewing agent.
//!
//! Tools matched (see `tools`): to fetch, a name with `get`/`fetch`/`read`/`retrieve`/`show`
//! and `issue`/`ticket` (not `list`, `search` or a comment or attachment tool) taking `id`,
//! `issueId`, `issue_id`, `identifier`, `key` or `ticketId` (Linear's own server: `get_issue
//! {id}`; community servers: `linear_get_issue {issueId}`); to search, a name with
//! `search`/`list`/`find`/`query` and `issue`/`ticket` taking `query`, `search`, `term`, `text`
//! or `q` (`list_issues {query}`, `search_issues {query}`, `linear_search_issues {query}`).

use async_trait::async_trait;
use futures_util::future::join_all;
use nectr_domain::context::{
    ContextError, ContextItem, ContextProvider, ContextQuery, ProviderHealth, Ticket,
    acceptance_criteria,
};
use serde_json::Value;

use super::McpServerConfig;
use super::records::{Record, records};
use super::session::McpClient;
use super::tools::{Fill, ToolRule, choose, offered};

const GET_ISSUE: ToolRule = ToolRule {
    words: &[&["get", "fetch", "read", "retrieve", "show"], &["issue", "ticket"]],
    excluded: &[
        "list",
        "search",
        "find",
        "create",
        "update",
        "delete",
        "comment",
        "attachment",
        "label",
        "relation",
    ],
    arguments: &["id", "issueId", "issue_id", "identifier", "key", "ticketId", "ticket_id"],
};

const SEARCH_ISSUES: ToolRule = ToolRule {
    words: &[&["search", "list", "find", "query"], &["issue", "ticket"]],
    excluded: &["create", "update", "delete", "comment", "attachment", "label", "status"],
    arguments: &["query", "search", "term", "text", "q"],
};

/// The most tickets one search answers with.
const SEARCH_RESULTS: u32 = 10;

/// Tickets from Linear's MCP server.
pub struct LinearProvider {
    client: McpClient,
}

impl LinearProvider {
    /// Linear at `server` (`LINEAR_MCP_URL`, `LINEAR_API_KEY`).
    ///
    /// # Errors
    /// [`ContextError::Unexpected`] when the URL is invalid.
    pub fn new(server: McpServerConfig) -> Result<Self, ContextError> {
        Ok(Self { client: McpClient::new(server)? })
    }

    /// The underlying client.
    pub fn client(&self) -> &McpClient {
        &self.client
    }

    async fn fetch(&self, keys: &[String]) -> Result<Vec<ContextItem>, ContextError> {
        let tools = self.client.tools().await?;
        let fetcher =
            choose(&tools, &GET_ISSUE, &Fill::default()).into_iter().next().ok_or_else(|| {
                ContextError::NoSuitableTool(format!("no get-issue tool: {}", offered(&tools)))
            })?;
        let fetched = join_all(keys.iter().map(|key| {
            let arguments = fetcher.arguments(Value::from(key.as_str()), &Fill::default(), 1);
            self.client.call(&fetcher.name, arguments)
        }))
        .await;
        let mut tickets = Vec::new();
        let mut failures = Vec::new();
        for (key, answer) in keys.iter().zip(fetched) {
            match answer {
                Ok(output) => {
                    let ticket = records(&output).first().map(|record| ticket(record, Some(key)));
                    tickets.extend(ticket.map(ContextItem::Ticket));
                }
                Err(ContextError::ToolFailed { message, .. }) if not_found(&message) => {}
                Err(error) => failures.push(error),
            }
        }
        match (tickets.is_empty(), failures.into_iter().next()) {
            (true, Some(failure)) => Err(failure),
            _ => Ok(tickets),
        }
    }
}

/// A "no such ticket" answer: the key was only a look-alike.
fn not_found(message: &str) -> bool {
    let lower = message.to_ascii_lowercase();
    lower.contains("not found") || lower.contains("not exist") || lower.contains("no issue")
}

/// A ticket from a record; `key` is the key asked for, when one was.
fn ticket(record: &Record, key: Option<&str>) -> Ticket {
    let description = record.text(&["description", "body", "content"]);
    Ticket {
        key: record
            .text(&["identifier", "key", "issueKey", "ticketKey"])
            .or_else(|| key.map(str::to_owned))
            .or_else(|| record.text(&["id"]))
            .unwrap_or_default(),
        title: record.text(&["title", "name", "summary"]).unwrap_or_default(),
        state: record.text(&["state", "status", "stateName", "workflowState"]),
        acceptance_criteria: description.as_deref().map(acceptance_criteria).unwrap_or_default(),
        description,
        url: record.text(&["url", "link", "permalink"]),
    }
}

#[async_trait]
impl ContextProvider for LinearProvider {
    fn name(&self) -> &str {
        "linear"
    }

    fn health(&self) -> ProviderHealth {
        self.client.health()
    }

    async fn context(&self, query: &ContextQuery) -> Result<Vec<ContextItem>, ContextError> {
        if query.ticket_keys.is_empty() {
            return Ok(Vec::new());
        }
        super::within(&self.client, self.fetch(&query.ticket_keys)).await
    }

    fn searches_tickets(&self) -> bool {
        true
    }

    async fn search_tickets(&self, text: &str) -> Result<Vec<Ticket>, ContextError> {
        super::within(&self.client, async {
            let tools = self.client.tools().await?;
            let search = choose(&tools, &SEARCH_ISSUES, &Fill::default())
                .into_iter()
                .next()
                .ok_or_else(|| {
                    ContextError::NoSuitableTool(format!(
                        "no issue search tool: {}",
                        offered(&tools)
                    ))
                })?;
            let arguments = search.arguments(Value::from(text), &Fill::default(), SEARCH_RESULTS);
            let output = self.client.call(&search.name, arguments).await?;
            Ok(records(&output)
                .iter()
                .take(SEARCH_RESULTS as usize)
                .map(|record| ticket(record, None))
                .filter(|ticket| !ticket.key.is_empty())
                .collect())
        })
        .await
    }
}
