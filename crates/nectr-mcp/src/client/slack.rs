//! Slack through an MCP server: recent messages that mention the pull request (its URL) or the
//! tickets it names.
//!
//! Tools matched (see `tools`): a name with `search` and `message`/`slack`/`conversation`
//! (Slack's own server: `slack_search_public`; community servers: `conversations_search_messages`,
//! `slack_search_messages`) taking `query`, `search_query`, `q`, `text` or `term`. A server
//! without a message search (the archived reference server only reads channel histories) is
//! reported as such.

use async_trait::async_trait;
use futures_util::future::join_all;
use nectr_domain::context::{
    ContextError, ContextItem, ContextProvider, ContextQuery, DiscussionMessage, ProviderHealth,
};
use serde_json::Value;

use super::McpServerConfig;
use super::records::{Record, records};
use super::session::McpClient;
use super::tools::{Fill, ToolRule, choose, offered};

const SEARCH_MESSAGES: ToolRule = ToolRule {
    words: &[&["search"], &["message", "slack", "conversation", "chat"]],
    excluded: &["post", "send", "reply", "update", "delete", "reaction", "user", "channel"],
    arguments: &["query", "search_query", "searchQuery", "q", "text", "term"],
};

/// Searches per pull request (its URL and up to this many tickets in all), messages kept per
/// search and in all.
const SEARCHES: usize = 4;
const MESSAGES_PER_SEARCH: u32 = 5;
const MESSAGES_KEPT: usize = 10;

/// Discussions from a Slack MCP server.
pub struct SlackProvider {
    client: McpClient,
}

impl SlackProvider {
    /// Slack at `server` (`SLACK_MCP_URL`, `SLACK_BOT_TOKEN`).
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

    async fn discussions(&self, query: &ContextQuery) -> Result<Vec<ContextItem>, ContextError> {
        let tools = self.client.tools().await?;
        let search = choose(&tools, &SEARCH_MESSAGES, &Fill::default())
            .into_iter()
            .next()
            .ok_or_else(|| {
                ContextError::NoSuitableTool(format!("no message search tool: {}", offered(&tools)))
            })?;
        let terms: Vec<String> = std::iter::once(query.url.clone())
            .chain(query.ticket_keys.iter().cloned())
            .filter(|term| !term.is_empty())
            .take(SEARCHES)
            .collect();
        let asked = join_all(terms.iter().map(|term| {
            let arguments =
                search.arguments(Value::from(term.as_str()), &Fill::default(), MESSAGES_PER_SEARCH);
            self.client.call(&search.name, arguments)
        }))
        .await;
        let mut messages: Vec<DiscussionMessage> = Vec::new();
        let mut failures = Vec::new();
        for answer in asked {
            match answer {
                Ok(output) => {
                    for message in records(&output)
                        .iter()
                        .take(MESSAGES_PER_SEARCH as usize)
                        .filter_map(discussion)
                    {
                        let seen = messages.iter().any(|known| {
                            (known.link.is_some() && known.link == message.link)
                                || (known.channel == message.channel && known.text == message.text)
                        });
                        if !seen && messages.len() < MESSAGES_KEPT {
                            messages.push(message);
                        }
                    }
                }
                Err(error) => failures.push(error),
            }
        }
        match (messages.is_empty(), failures.into_iter().next()) {
            (true, Some(failure)) => Err(failure),
            _ => Ok(messages.into_iter().map(ContextItem::Discussion).collect()),
        }
    }
}

/// A message from a record; `None` without text.
fn discussion(record: &Record) -> Option<DiscussionMessage> {
    Some(DiscussionMessage {
        text: record.text(&["text", "message", "content", "body"])?,
        channel: record
            .text(&["channel", "channelName", "channel_name", "conversation"])
            .unwrap_or_else(|| "unknown channel".to_owned()),
        author: record
            .text(&["username", "userName", "user_name", "author", "user", "from", "sender"])
            .unwrap_or_else(|| "someone".to_owned()),
        link: record.text(&["permalink", "link", "url"]),
    })
}

#[async_trait]
impl ContextProvider for SlackProvider {
    fn name(&self) -> &str {
        "slack"
    }

    fn health(&self) -> ProviderHealth {
        self.client.health()
    }

    async fn context(&self, query: &ContextQuery) -> Result<Vec<ContextItem>, ContextError> {
        super::within(&self.client, self.discussions(query)).await
    }
}
