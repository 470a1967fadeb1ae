//! The `LanguageModel` port: one provider-neutral turn of a conversation with tools. Providers
//! (Anthropic's Messages API, OpenAI-compatible chat completions) live in `nectr-agents`; the
//! reviewers there speak only this.

use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Who wrote a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Nectr (prompts and tool results).
    User,
    /// The model.
    Assistant,
}

/// One piece of a message.
#[derive(Clone, Debug, PartialEq)]
pub enum Block {
    /// Text.
    Text(String),
    /// The model calls a tool.
    ToolUse {
        /// The call's id, echoed by its result.
        id: String,
        /// The tool.
        name: String,
        /// Its arguments.
        input: Value,
    },
    /// A tool's answer.
    ToolResult {
        /// The call answered.
        id: String,
        /// What the tool returned (or why it failed).
        content: String,
        /// The tool failed.
        is_error: bool,
    },
}

/// A message.
#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    /// Its author.
    pub role: Role,
    /// Its pieces.
    pub content: Vec<Block>,
}

impl Message {
    /// A user message of one text block.
    pub fn user(text: impl Into<String>) -> Self {
        Self { role: Role::User, content: vec![Block::Text(text.into())] }
    }
}

/// A part of the system prompt; stable parts may be cached by the provider.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SystemPart {
    /// The text.
    pub text: String,
    /// The same for every review, so worth caching (Anthropic's `cache_control`).
    pub cacheable: bool,
}

/// A tool the model may call.
#[derive(Clone, Debug, PartialEq)]
pub struct ToolSpec {
    /// Its name.
    pub name: String,
    /// What it does, for the model.
    pub description: String,
    /// The JSON schema of its input.
    pub input_schema: Value,
}

/// Which tool the model must use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ToolChoice {
    /// Any or none.
    Auto,
    /// This one.
    Tool(String),
}

/// One request.
#[derive(Clone, Debug, PartialEq)]
pub struct ChatRequest {
    /// System prompt parts, stable ones first.
    pub system: Vec<SystemPart>,
    /// The conversation so far.
    pub messages: Vec<Message>,
    /// Tools on offer.
    pub tools: Vec<ToolSpec>,
    /// Which tool must be used.
    pub tool_choice: ToolChoice,
    /// Longest answer.
    pub max_tokens: u32,
}

/// Why the model stopped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stop {
    /// It finished.
    EndTurn,
    /// It wants tool results.
    ToolUse,
    /// It ran out of tokens: the answer is partial.
    MaxTokens,
    /// Something else (`refusal`, a provider-specific reason).
    Other(String),
}

/// Tokens used.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Input tokens not read from or written to the cache.
    pub input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
    /// Input tokens read from the prompt cache.
    pub cache_read_tokens: u64,
    /// Input tokens written to the prompt cache.
    pub cache_write_tokens: u64,
}

impl std::ops::AddAssign for Usage {
    fn add_assign(&mut self, other: Self) {
        self.input_tokens += other.input_tokens;
        self.output_tokens += other.output_tokens;
        self.cache_read_tokens += other.cache_read_tokens;
        self.cache_write_tokens += other.cache_write_tokens;
    }
}

/// Dollars per million tokens of one model.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Price {
    /// Input.
    pub input: f64,
    /// Output.
    pub output: f64,
    /// Cache reads.
    pub cache_read: f64,
    /// Cache writes.
    pub cache_write: f64,
}

impl Price {
    /// The estimated cost of `usage`, in US dollars.
    pub fn cost(&self, usage: &Usage) -> f64 {
        let per = |tokens: u64, price: f64| tokens as f64 * price / 1_000_000.0;
        per(usage.input_tokens, self.input)
            + per(usage.output_tokens, self.output)
            + per(usage.cache_read_tokens, self.cache_read)
            + per(usage.cache_write_tokens, self.cache_write)
    }
}

/// The price of `model` in a price table: its own entry, else the longest key it starts with
/// (`claude-sonnet-4-5-20250929` is priced as `claude-sonnet-4-5`), else nothing.
pub fn price_for(prices: &std::collections::BTreeMap<String, Price>, model: &str) -> Price {
    prices
        .iter()
        .filter(|(key, _)| model.starts_with(key.as_str()))
        .max_by_key(|(key, _)| key.len())
        .map(|(_, price)| *price)
        .unwrap_or_default()
}

/// One answer.
#[derive(Clone, Debug, PartialEq)]
pub struct ChatResponse {
    /// What the model said and called.
    pub content: Vec<Block>,
    /// Why it stopped.
    pub stop: Stop,
    /// Tokens used by this call.
    pub usage: Usage,
    /// The model that answered.
    pub model: String,
}

impl ChatResponse {
    /// Its text blocks, joined.
    pub fn text(&self) -> String {
        let mut text = String::new();
        for block in &self.content {
            if let Block::Text(part) = block {
                text.push_str(part);
            }
        }
        text
    }
}

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    /// Rate-limited, overloaded, a server error or the network, after the provider's retries.
    #[error("the model is unavailable: {message}")]
    Unavailable {
        /// What happened.
        message: String,
        /// When the provider said to try again.
        retry_after: Option<Duration>,
    },
    /// The provider refused the request (400: bad request, 401: bad key, 403: no permission);
    /// retrying will not help.
    #[error("the model provider refused the request ({status}): {message}")]
    Rejected {
        /// The HTTP status.
        status: u16,
        /// The provider's message.
        message: String,
    },
    /// The answer was not in the documented format.
    #[error("the model provider answered in an unexpected format: {0}")]
    Malformed(String),
}

/// A language model.
#[async_trait]
pub trait LanguageModel: Send + Sync {
    /// The model's id (`claude-sonnet-4-5`, `qwen2.5-coder:32b`, …).
    fn model(&self) -> &str;

    /// Its context window, in tokens.
    fn context_tokens(&self) -> u32;

    /// One turn.
    ///
    /// # Errors
    /// [`LlmError`].
    async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, LlmError>;
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::{Price, price_for};

    #[test]
    fn dated_model_ids_use_their_longest_priced_prefix() {
        let price = |input| Price { input, output: 1.0, cache_read: 0.0, cache_write: 0.0 };
        let prices: BTreeMap<String, Price> =
            [("claude".to_owned(), price(1.0)), ("claude-sonnet-4-5".to_owned(), price(3.0))]
                .into();
        assert_eq!(price_for(&prices, "claude-sonnet-4-5-20250929").input, 3.0);
        assert_eq!(price_for(&prices, "claude-haiku-4-5").input, 1.0);
        assert_eq!(price_for(&prices, "gpt-4o"), Price::default());
    }
}
