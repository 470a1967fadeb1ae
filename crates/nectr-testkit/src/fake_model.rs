//! Fake language-model servers on 127.0.0.1 speaking Anthropic's Messages API
//! (`POST /v1/messages`) and the OpenAI chat-completions API (`POST /v1/chat/completions`):
//! tool use, structured output, usage (Anthropic's prompt-cache reads and writes included),
//! scripted faults (429 with `retry-after`, 529, 500, malformed bodies), and a log of every
//! request with its headers. A responder decides each answer from the request.

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use actix_web::dev::ServerHandle;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

/// Which wire format the fake speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    /// Anthropic's Messages API.
    Anthropic,
    /// OpenAI's chat completions.
    OpenAi,
}

/// One answer.
#[derive(Clone, Debug)]
pub enum FakeReply {
    /// Call tools (`name`, `input`), in one turn.
    Tools(Vec<(String, Value)>),
    /// Say this.
    Text(String),
    /// Answer this status, headers and body verbatim.
    Raw {
        /// HTTP status.
        status: u16,
        /// Extra headers.
        headers: Vec<(String, String)>,
        /// Body.
        body: String,
    },
}

impl FakeReply {
    /// Calls one tool.
    pub fn tool(name: &str, input: Value) -> Self {
        Self::Tools(vec![(name.to_owned(), input)])
    }

    /// Hands in a review.
    pub fn review(review: Value) -> Self {
        Self::tool("submit_review", review)
    }

    /// 429 with `retry-after`.
    pub fn rate_limited(retry_after_seconds: u32) -> Self {
        Self::Raw {
            status: 429,
            headers: vec![("retry-after".to_owned(), retry_after_seconds.to_string())],
            body: json!({"type": "error", "error": {"type": "rate_limit_error", "message": "Number of request tokens has exceeded your per-minute rate limit"}}).to_string(),
        }
    }

    /// Anthropic's 529 overloaded.
    pub fn overloaded() -> Self {
        Self::Raw {
            status: 529,
            headers: Vec::new(),
            body: json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}).to_string(),
        }
    }

    /// An error status with a provider-style body.
    pub fn error(status: u16, kind: &str, message: &str) -> Self {
        Self::Raw {
            status,
            headers: Vec::new(),
            body: json!({"type": "error", "error": {"type": kind, "message": message}}).to_string(),
        }
    }
}

/// A request the fake received.
#[derive(Clone, Debug)]
pub struct ModelRequest {
    /// Path.
    pub path: String,
    /// Headers, lower-case names.
    pub headers: BTreeMap<String, String>,
    /// The JSON body.
    pub body: Value,
}

impl ModelRequest {
    /// All system text.
    pub fn system(&self) -> String {
        match self.body.get("system") {
            Some(Value::Array(blocks)) => blocks
                .iter()
                .filter_map(|block| block.get("text").and_then(Value::as_str))
                .collect::<Vec<_>>()
                .join("\n"),
            Some(Value::String(text)) => text.clone(),
            _ => self.body["messages"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|message| message["role"] == "system")
                .filter_map(|message| message["content"].as_str())
                .collect::<Vec<_>>()
                .join("\n"),
        }
    }

    /// The text of every user message, in order.
    pub fn user_text(&self) -> String {
        let mut text = String::new();
        for message in self.body["messages"].as_array().into_iter().flatten() {
            if message["role"] != "user" {
                continue;
            }
            match &message["content"] {
                Value::String(part) => text.push_str(part),
                Value::Array(blocks) => {
                    for block in blocks {
                        if let Some(part) = block.get("text").and_then(Value::as_str) {
                            text.push_str(part);
                        }
                    }
                }
                _ => {}
            }
        }
        text
    }

    /// Tool results sent back so far (content strings), in either dialect.
    pub fn tool_results(&self) -> Vec<String> {
        let mut results = Vec::new();
        for message in self.body["messages"].as_array().into_iter().flatten() {
            if message["role"] == "tool" {
                results.push(message["content"].as_str().unwrap_or_default().to_owned());
            }
            for block in message["content"].as_array().into_iter().flatten() {
                if block["type"] == "tool_result" {
                    results.push(block["content"].as_str().unwrap_or_default().to_owned());
                }
            }
        }
        results
    }
}

/// Decides each answer.
pub type Responder = Arc<dyn Fn(&ModelRequest) -> FakeReply + Send + Sync>;

struct State {
    dialect: Dialect,
    responder: Responder,
    faults: VecDeque<FakeReply>,
    requests: Vec<ModelRequest>,
    cached_prefixes: HashSet<String>,
    replies: u64,
}

/// A running fake model server.
pub struct FakeModel {
    /// The base URL: `http://127.0.0.1:PORT` (Anthropic) or `…/v1` (OpenAI).
    pub base_url: String,
    state: Arc<Mutex<State>>,
    handle: ServerHandle,
}

impl Drop for FakeModel {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
    }
}

/// What the real APIs refuse with 400: a tool call without its result in the next message
/// (Anthropic: `tool_result` blocks of the following user turn; OpenAI: `tool` messages after
/// the assistant message), or an empty message.
fn conversation_error(dialect: Dialect, body: &Value) -> Option<String> {
    let messages = body["messages"].as_array()?;
    for (index, message) in messages.iter().enumerate() {
        match dialect {
            Dialect::Anthropic => {
                let blocks = message["content"].as_array();
                if blocks.is_some_and(Vec::is_empty) {
                    return Some(format!(
                        "messages.{index}: all messages must have non-empty content"
                    ));
                }
                if message["role"] != "assistant" {
                    continue;
                }
                let answered: HashSet<&str> = messages
                    .get(index + 1)
                    .and_then(|next| next["content"].as_array())
                    .into_iter()
                    .flatten()
                    .filter(|block| block["type"] == "tool_result")
                    .filter_map(|block| block["tool_use_id"].as_str())
                    .collect();
                for block in blocks.into_iter().flatten() {
                    if block["type"] == "tool_use"
                        && let Some(id) = block["id"].as_str()
                        && index + 1 < messages.len()
                        && !answered.contains(id)
                    {
                        return Some(format!(
                            "messages.{index}: tool_use ids were found without tool_result blocks immediately after: {id}"
                        ));
                    }
                }
            }
            Dialect::OpenAi => {
                let calls = message["tool_calls"].as_array();
                let answered: HashSet<&str> = messages[index + 1..]
                    .iter()
                    .take_while(|next| next["role"] == "tool")
                    .filter_map(|next| next["tool_call_id"].as_str())
                    .collect();
                for call in calls.into_iter().flatten() {
                    if let Some(id) = call["id"].as_str()
                        && index + 1 < messages.len()
                        && !answered.contains(id)
                    {
                        return Some(format!(
                            "An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. Missing: {id}"
                        ));
                    }
                }
            }
        }
    }
    None
}

fn tokens(text: &str) -> u64 {
    (text.len() as u64).div_ceil(4)
}

/// The cacheable prefix of an Anthropic request: tools and system blocks up to the last
/// `cache_control` mark.
fn cache_prefix(body: &Value) -> Option<String> {
    let mut prefix = String::new();
    let mut marked = None;
    for block in body["tools"]
        .as_array()
        .into_iter()
        .flatten()
        .chain(body["system"].as_array().into_iter().flatten())
    {
        prefix.push_str(&block.to_string());
        if block.get("cache_control").is_some() {
            marked = Some(prefix.len());
        }
    }
    marked.map(|end| prefix[..end].to_owned())
}

fn anthropic_reply(state: &mut State, request: &ModelRequest, reply: FakeReply) -> HttpResponse {
    state.replies += 1;
    let (content, stop): (Vec<Value>, &str) = match reply {
        FakeReply::Tools(calls) => (
            calls
                .into_iter()
                .enumerate()
                .map(|(index, (name, input))| {
                    json!({"type": "tool_use", "id": format!("toolu_{}_{index}", state.replies), "name": name, "input": input})
                })
                .collect(),
            "tool_use",
        ),
        FakeReply::Text(text) => (vec![json!({"type": "text", "text": text})], "end_turn"),
        FakeReply::Raw { status, headers, body } => return raw(status, headers, body),
    };
    let whole = tokens(&request.body.to_string());
    let (cache_read, cache_write) = match cache_prefix(&request.body) {
        Some(prefix) if state.cached_prefixes.contains(&prefix) => (tokens(&prefix), 0),
        Some(prefix) => {
            let size = tokens(&prefix);
            state.cached_prefixes.insert(prefix);
            (0, size)
        }
        None => (0, 0),
    };
    let output = tokens(&Value::Array(content.clone()).to_string());
    HttpResponse::Ok().json(json!({
        "id": format!("msg_{}", state.replies),
        "type": "message",
        "role": "assistant",
        "model": request.body["model"],
        "content": content,
        "stop_reason": stop,
        "stop_sequence": null,
        "usage": {
            "input_tokens": whole.saturating_sub(cache_read + cache_write),
            "output_tokens": output,
            "cache_creation_input_tokens": cache_write,
            "cache_read_input_tokens": cache_read,
        }
    }))
}

fn raw(status: u16, headers: Vec<(String, String)>, body: String) -> HttpResponse {
    let mut response = HttpResponse::build(
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
    );
    for (name, value) in headers {
        response.insert_header((name, value));
    }
    response.content_type("application/json").body(body)
}

fn openai_reply(state: &mut State, request: &ModelRequest, reply: FakeReply) -> HttpResponse {
    state.replies += 1;
    let schema_name =
        request.body.pointer("/response_format/json_schema/name").and_then(Value::as_str);
    let (message, finish) = match reply {
        FakeReply::Tools(calls) if calls.len() == 1 && schema_name == Some(calls[0].0.as_str()) => {
            (json!({"role": "assistant", "content": calls[0].1.to_string()}), "stop")
        }
        FakeReply::Tools(calls) => (
            json!({"role": "assistant", "content": null, "tool_calls": calls.into_iter().enumerate().map(|(index, (name, input))| json!({
                "id": format!("call_{}_{index}", state.replies), "type": "function",
                "function": {"name": name, "arguments": input.to_string()}
            })).collect::<Vec<_>>()}),
            "tool_calls",
        ),
        FakeReply::Text(text) => (json!({"role": "assistant", "content": text}), "stop"),
        FakeReply::Raw { status, headers, body } => return raw(status, headers, body),
    };
    let prompt = tokens(&request.body["messages"].to_string());
    let completion = tokens(&message.to_string());
    HttpResponse::Ok().json(json!({
        "id": format!("chatcmpl-{}", state.replies),
        "object": "chat.completion",
        "created": 1_764_000_000,
        "model": request.body["model"],
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion,
                  "prompt_tokens_details": {"cached_tokens": 0}}
    }))
}

async fn handle(
    request: HttpRequest,
    body: web::Bytes,
    state: web::Data<Mutex<State>>,
) -> HttpResponse {
    let mut state = state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let headers = request
        .headers()
        .iter()
        .map(|(name, value)| {
            (name.as_str().to_owned(), value.to_str().unwrap_or_default().to_owned())
        })
        .collect();
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return HttpResponse::BadRequest().json(json!({"type": "error", "error": {"type": "invalid_request_error", "message": "the body is not JSON"}}));
    };
    let recorded = ModelRequest { path: request.path().to_owned(), headers, body };
    state.requests.push(recorded.clone());
    let expected = match state.dialect {
        Dialect::Anthropic => "/v1/messages",
        Dialect::OpenAi => "/v1/chat/completions",
    };
    if recorded.path != expected {
        return HttpResponse::NotFound().json(json!({"error": {"message": "no such route"}}));
    }
    if let Some(problem) = conversation_error(state.dialect, &recorded.body) {
        return raw(
            400,
            Vec::new(),
            json!({"type": "error", "error": {"type": "invalid_request_error", "message": problem}})
                .to_string(),
        );
    }
    let reply = match state.faults.pop_front() {
        Some(fault) => fault,
        None => (state.responder)(&recorded),
    };
    match state.dialect {
        Dialect::Anthropic => anthropic_reply(&mut state, &recorded, reply),
        Dialect::OpenAi => openai_reply(&mut state, &recorded, reply),
    }
}

impl FakeModel {
    /// Starts a fake speaking `dialect`, answering with `responder`.
    pub async fn start(dialect: Dialect, responder: Responder) -> Self {
        let state = Arc::new(Mutex::new(State {
            dialect,
            responder,
            faults: VecDeque::new(),
            requests: Vec::new(),
            cached_prefixes: HashSet::new(),
            replies: 0,
        }));
        let (root, handle) = crate::serve_fake(state.clone(), handle);
        let base_url = match dialect {
            Dialect::Anthropic => root,
            Dialect::OpenAi => format!("{root}/v1"),
        };
        Self { base_url, state, handle }
    }

    /// A fake Anthropic API.
    pub async fn anthropic(
        responder: impl Fn(&ModelRequest) -> FakeReply + Send + Sync + 'static,
    ) -> Self {
        Self::start(Dialect::Anthropic, Arc::new(responder)).await
    }

    /// A fake OpenAI-compatible server.
    pub async fn openai(
        responder: impl Fn(&ModelRequest) -> FakeReply + Send + Sync + 'static,
    ) -> Self {
        Self::start(Dialect::OpenAi, Arc::new(responder)).await
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Serves `fault` to the next request, before the responder answers again.
    pub fn fail_next(&self, fault: FakeReply) {
        self.state().faults.push_back(fault);
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<ModelRequest> {
        self.state().requests.clone()
    }
}

/// A complete review, as a model would hand it in, with one finding at `path:line`.
pub fn review_json(verdict: &str, path: &str, line: u64) -> Value {
    json!({
        "verdict": verdict,
        "confidence": 4,
        "summary": "Adds the feature; one problem needs fixing first.",
        "key_changes": ["New code path"],
        "findings": [{
            "path": path, "line": line, "end_line": null, "severity": "critical",
            "category": "security", "title": "Query built from input",
            "explanation": "The value reaches SQL unescaped; bind it as a parameter.",
            "suggestion": null
        }],
        "semantic_issues": []
    })
}
