//! Any OpenAI-compatible chat-completions endpoint (`POST {base}/chat/completions`): OpenAI,
//! OpenRouter, Ollama, vLLM, llama.cpp's server. The key is optional. When the review must be
//! handed in, the tool call becomes structured output as the server supports it: a JSON-schema
//! `response_format`, a forced function call, or plain instructions with tolerant parsing.

use std::time::Duration;

use async_trait::async_trait;
use nectr_domain::llm::{
    Block, ChatRequest, ChatResponse, LanguageModel, LlmError, Role, Stop, ToolChoice, Usage,
};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::http::{RetryPolicy, client, post_json};
use crate::structured::extract_json;

/// How the server takes structured output.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StructuredOutput {
    /// `response_format: {"type": "json_schema", …}` (OpenAI, vLLM, Ollama, llama.cpp).
    #[default]
    JsonSchema,
    /// A forced function call.
    Tools,
    /// Neither: the schema goes into the prompt and the JSON is found in the text.
    Prompt,
}

/// How to reach the server.
#[derive(Clone, Debug)]
pub struct OpenAiConfig {
    /// The API base, up to `/v1` (`http://localhost:11434/v1` for Ollama).
    pub base_url: String,
    /// Bearer key, when the server wants one.
    pub api_key: Option<SecretString>,
    /// Model name.
    pub model: String,
    /// The model's context window, in tokens.
    pub context_tokens: u32,
    /// Structured-output support.
    pub structured_output: StructuredOutput,
    /// The name of the answer-length field: `max_tokens` (most servers) or
    /// `max_completion_tokens` (OpenAI's reasoning models, which refuse `max_tokens`).
    pub max_tokens_field: String,
    /// One request's timeout.
    pub timeout: Duration,
    /// Retries.
    pub retry: RetryPolicy,
}

/// The OpenAI-compatible provider.
pub struct OpenAiModel {
    client: reqwest::Client,
    config: OpenAiConfig,
}

impl OpenAiModel {
    /// A provider for `config`.
    ///
    /// # Errors
    /// When the HTTP client cannot be built.
    pub fn new(config: OpenAiConfig) -> anyhow::Result<Self> {
        Ok(Self { client: client(config.timeout)?, config })
    }
}

/// The request body in the chat-completions format.
pub fn request_body(
    model: &str,
    mode: StructuredOutput,
    max_tokens_field: &str,
    request: &ChatRequest,
) -> Value {
    let forced = match &request.tool_choice {
        ToolChoice::Tool(name) => request.tools.iter().find(|tool| &tool.name == name),
        ToolChoice::Auto => None,
    };
    let mut system: String =
        request.system.iter().map(|part| part.text.as_str()).collect::<Vec<_>>().join("\n\n");
    if let (Some(tool), StructuredOutput::Prompt) = (forced, mode) {
        system.push_str(&format!(
            "\n\nAnswer with one JSON object only, no prose, matching this JSON schema:\n{}",
            tool.input_schema
        ));
    }
    // A tool asked for as structured output is not offered as a function now: earlier calls of
    // it stay in the history as plain text, so that no tool call refers to an unknown tool.
    let as_text = match (forced, mode) {
        (Some(tool), StructuredOutput::JsonSchema | StructuredOutput::Prompt) => {
            Some(tool.name.as_str())
        }
        _ => None,
    };
    let mut texted = std::collections::HashSet::new();
    let mut messages = vec![json!({"role": "system", "content": system})];
    for message in &request.messages {
        let mut text = String::new();
        let mut calls = Vec::new();
        for block in &message.content {
            match block {
                Block::Text(part) => text.push_str(part),
                Block::ToolUse { id, name, input } if Some(name.as_str()) == as_text => {
                    texted.insert(id.as_str());
                    text.push_str(&input.to_string());
                }
                Block::ToolUse { id, name, input } => calls.push(json!({
                    "id": id, "type": "function",
                    "function": {"name": name, "arguments": input.to_string()}
                })),
                Block::ToolResult { id, content, .. } if texted.contains(id.as_str()) => {
                    text.push_str(content);
                }
                Block::ToolResult { id, content, .. } => messages.push(json!({
                    "role": "tool", "tool_call_id": id, "content": content
                })),
            }
        }
        match message.role {
            Role::Assistant => {
                let mut entry = json!({"role": "assistant", "content": text});
                if !calls.is_empty() {
                    entry["tool_calls"] = Value::Array(calls);
                }
                messages.push(entry);
            }
            Role::User if !text.is_empty() => {
                messages.push(json!({"role": "user", "content": text}));
            }
            Role::User => {}
        }
    }
    let mut body = json!({"model": model, "messages": messages});
    body[max_tokens_field] = json!(request.max_tokens);
    let function = |tool: &nectr_domain::llm::ToolSpec| {
        json!({"type": "function", "function": {
            "name": tool.name, "description": tool.description, "parameters": tool.input_schema
        }})
    };
    let (tools, choice): (Vec<Value>, Value) = match (forced, mode) {
        (Some(tool), StructuredOutput::JsonSchema | StructuredOutput::Prompt) => {
            if mode == StructuredOutput::JsonSchema {
                body["response_format"] = json!({
                    "type": "json_schema",
                    "json_schema": {"name": tool.name, "schema": tool.input_schema, "strict": false}
                });
            }
            // Earlier tool calls stay understandable; none may be made now.
            let others = request
                .tools
                .iter()
                .filter(|other| other.name != tool.name)
                .map(function)
                .collect();
            (others, json!("none"))
        }
        (Some(tool), StructuredOutput::Tools) => (
            request.tools.iter().map(function).collect(),
            json!({"type": "function", "function": {"name": tool.name}}),
        ),
        (None, _) => (request.tools.iter().map(function).collect(), json!("auto")),
    };
    if !tools.is_empty() {
        body["tools"] = Value::Array(tools);
        body["tool_choice"] = choice;
    }
    body
}

/// The server's answer, read into the port's terms. When the review was asked for as JSON
/// text, the JSON is turned back into the tool call the agent expects.
///
/// # Errors
/// [`LlmError::Malformed`] when it is not a chat completion.
pub fn parse_response(
    body: &Value,
    request: &ChatRequest,
    fallback_model: &str,
) -> Result<ChatResponse, LlmError> {
    let malformed = |what: &str| LlmError::Malformed(format!("the chat completion {what}"));
    let choice = body.pointer("/choices/0").ok_or_else(|| malformed("has no choices"))?;
    let message = choice.get("message").ok_or_else(|| malformed("has no message"))?;
    let text = message.get("content").and_then(Value::as_str).unwrap_or_default().to_owned();
    let mut content = Vec::new();
    if let Some(calls) = message.get("tool_calls").and_then(Value::as_array) {
        for (index, call) in calls.iter().enumerate() {
            let function = call
                .get("function")
                .ok_or_else(|| malformed("has a tool call without a function"))?;
            let arguments = function.get("arguments");
            let input = match arguments {
                Some(Value::String(raw)) => extract_json(raw).unwrap_or(Value::String(raw.clone())),
                Some(other) => other.clone(),
                None => Value::Null,
            };
            content.push(Block::ToolUse {
                id: call
                    .get("id")
                    .and_then(Value::as_str)
                    .map_or_else(|| format!("call_{index}"), str::to_owned),
                name: function.get("name").and_then(Value::as_str).unwrap_or_default().to_owned(),
                input,
            });
        }
    }
    let forced = match &request.tool_choice {
        ToolChoice::Tool(name) => Some(name.clone()),
        ToolChoice::Auto => None,
    };
    if content.is_empty()
        && let Some(name) = forced
        && let Some(input) = extract_json(&text)
    {
        content.push(Block::ToolUse { id: "structured_output".to_owned(), name, input });
    } else if !text.is_empty() {
        content.insert(0, Block::Text(text));
    }
    let stop = match choice.get("finish_reason").and_then(Value::as_str) {
        Some("length") => Stop::MaxTokens,
        Some("tool_calls" | "function_call") => Stop::ToolUse,
        Some("stop") | None => Stop::EndTurn,
        Some(other) => Stop::Other(other.to_owned()),
    };
    let usage = body.get("usage");
    let count = |pointer: &str| {
        usage.and_then(|usage| usage.pointer(pointer)).and_then(Value::as_u64).unwrap_or(0)
    };
    let cached = count("/prompt_tokens_details/cached_tokens");
    Ok(ChatResponse {
        content,
        stop,
        usage: Usage {
            input_tokens: count("/prompt_tokens").saturating_sub(cached),
            output_tokens: count("/completion_tokens"),
            cache_read_tokens: cached,
            cache_write_tokens: 0,
        },
        model: body.get("model").and_then(Value::as_str).unwrap_or(fallback_model).to_owned(),
    })
}

#[async_trait]
impl LanguageModel for OpenAiModel {
    fn model(&self) -> &str {
        &self.config.model
    }

    fn context_tokens(&self) -> u32 {
        self.config.context_tokens
    }

    async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, LlmError> {
        let url = format!("{}/chat/completions", self.config.base_url.trim_end_matches('/'));
        let headers: Vec<(&str, String)> = self
            .config
            .api_key
            .iter()
            .map(|key| ("authorization", format!("Bearer {}", key.expose_secret())))
            .collect();
        let body = request_body(
            &self.config.model,
            self.config.structured_output,
            &self.config.max_tokens_field,
            request,
        );
        let answer = post_json(&self.client, &url, &headers, &body, self.config.retry).await?;
        parse_response(&answer, request, &self.config.model)
    }
}
