//! Anthropic's Messages API (`POST /v1/messages`): `x-api-key` and `anthropic-version` headers,
//! the system prompt as blocks with `cache_control` on its stable parts and on the tool list,
//! tool use, and usage including prompt-cache reads and writes.

use std::time::Duration;

use async_trait::async_trait;
use nectr_domain::llm::{
    Block, ChatRequest, ChatResponse, LanguageModel, LlmError, Role, Stop, ToolChoice, Usage,
};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

use crate::http::{RetryPolicy, client, post_json};

/// The API version Nectr speaks.
pub const ANTHROPIC_VERSION: &str = "2023-06-01";

/// How to reach Anthropic.
#[derive(Clone, Debug)]
pub struct AnthropicConfig {
    /// `ANTHROPIC_API_KEY`.
    pub api_key: SecretString,
    /// `ANTHROPIC_MODEL`.
    pub model: String,
    /// `https://api.anthropic.com` (tests: a local fake).
    pub base_url: String,
    /// The model's context window, in tokens.
    pub context_tokens: u32,
    /// One request's timeout.
    pub timeout: Duration,
    /// Retries.
    pub retry: RetryPolicy,
}

/// The Anthropic provider.
pub struct AnthropicModel {
    client: reqwest::Client,
    config: AnthropicConfig,
}

impl AnthropicModel {
    /// A provider for `config`.
    ///
    /// # Errors
    /// When the HTTP client cannot be built.
    pub fn new(config: AnthropicConfig) -> anyhow::Result<Self> {
        Ok(Self { client: client(config.timeout)?, config })
    }
}

fn ephemeral() -> Value {
    json!({"type": "ephemeral"})
}

/// The request body in Anthropic's format.
pub fn request_body(model: &str, request: &ChatRequest) -> Value {
    let system: Vec<Value> = request
        .system
        .iter()
        .map(|part| {
            let mut block = json!({"type": "text", "text": part.text});
            if part.cacheable {
                block["cache_control"] = ephemeral();
            }
            block
        })
        .collect();
    let messages: Vec<Value> = request
        .messages
        .iter()
        .map(|message| {
            let content: Vec<Value> = message
                .content
                .iter()
                .map(|block| match block {
                    Block::Text(text) => json!({"type": "text", "text": text}),
                    Block::ToolUse { id, name, input } => {
                        json!({"type": "tool_use", "id": id, "name": name, "input": input})
                    }
                    Block::ToolResult { id, content, is_error } => json!({
                        "type": "tool_result", "tool_use_id": id, "content": content, "is_error": is_error
                    }),
                })
                .collect();
            let role = match message.role {
                Role::User => "user",
                Role::Assistant => "assistant",
            };
            json!({"role": role, "content": content})
        })
        .collect();
    let mut tools: Vec<Value> = request
        .tools
        .iter()
        .map(|tool| {
            json!({"name": tool.name, "description": tool.description, "input_schema": tool.input_schema})
        })
        .collect();
    // Tools come before the system prompt in the cache prefix: mark the last one too.
    if let Some(last) = tools.last_mut() {
        last["cache_control"] = ephemeral();
    }
    let mut body = json!({
        "model": model,
        "max_tokens": request.max_tokens,
        "system": system,
        "messages": messages,
    });
    if !tools.is_empty() {
        body["tools"] = Value::Array(tools);
        body["tool_choice"] = match &request.tool_choice {
            ToolChoice::Auto => json!({"type": "auto"}),
            ToolChoice::Tool(name) => json!({"type": "tool", "name": name}),
        };
    }
    body
}

/// Anthropic's answer, read into the port's terms.
///
/// # Errors
/// [`LlmError::Malformed`] when it is not a Messages API response.
pub fn parse_response(body: &Value, fallback_model: &str) -> Result<ChatResponse, LlmError> {
    let malformed = |what: &str| LlmError::Malformed(format!("Anthropic's answer {what}"));
    let blocks = body
        .get("content")
        .and_then(Value::as_array)
        .ok_or_else(|| malformed("has no `content`"))?;
    let mut content = Vec::new();
    for block in blocks {
        match block.get("type").and_then(Value::as_str) {
            Some("text") => content.push(Block::Text(
                block.get("text").and_then(Value::as_str).unwrap_or_default().to_owned(),
            )),
            Some("tool_use") => content.push(Block::ToolUse {
                id: block
                    .get("id")
                    .and_then(Value::as_str)
                    .ok_or_else(|| malformed("has a tool call without an id"))?
                    .to_owned(),
                name: block
                    .get("name")
                    .and_then(Value::as_str)
                    .ok_or_else(|| malformed("has a tool call without a name"))?
                    .to_owned(),
                input: block.get("input").cloned().unwrap_or(Value::Null),
            }),
            // Thinking and other blocks carry nothing the review needs.
            _ => {}
        }
    }
    let stop = match body.get("stop_reason").and_then(Value::as_str) {
        Some("end_turn" | "stop_sequence") => Stop::EndTurn,
        Some("tool_use") => Stop::ToolUse,
        Some("max_tokens") => Stop::MaxTokens,
        Some(other) => Stop::Other(other.to_owned()),
        None => return Err(malformed("has no `stop_reason`")),
    };
    let usage = body.get("usage").ok_or_else(|| malformed("has no `usage`"))?;
    let count = |field: &str| usage.get(field).and_then(Value::as_u64).unwrap_or(0);
    Ok(ChatResponse {
        content,
        stop,
        usage: Usage {
            input_tokens: count("input_tokens"),
            output_tokens: count("output_tokens"),
            cache_read_tokens: count("cache_read_input_tokens"),
            cache_write_tokens: count("cache_creation_input_tokens"),
        },
        model: body.get("model").and_then(Value::as_str).unwrap_or(fallback_model).to_owned(),
    })
}

#[async_trait]
impl LanguageModel for AnthropicModel {
    fn model(&self) -> &str {
        &self.config.model
    }

    fn context_tokens(&self) -> u32 {
        self.config.context_tokens
    }

    async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, LlmError> {
        let url = format!("{}/v1/messages", self.config.base_url.trim_end_matches('/'));
        let headers = [
            ("x-api-key", self.config.api_key.expose_secret().to_owned()),
            ("anthropic-version", ANTHROPIC_VERSION.to_owned()),
        ];
        let body = request_body(&self.config.model, request);
        let answer = post_json(&self.client, &url, &headers, &body, self.config.retry).await?;
        parse_response(&answer, &self.config.model)
    }
}
