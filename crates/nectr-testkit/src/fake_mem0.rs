//! A fake Mem0 platform on 127.0.0.1, speaking its REST format: `POST /v1/memories/` (add; the
//! answer is the list of events), `GET`/`PUT`/`DELETE /v1/memories/{id}/`, `POST /v2/memories/`
//! (get-all with `filters` and `page`/`page_size`, answered `{count, next, previous, results}`,
//! newest first; `page_size` from 1 to 200, and a page past the last is 404 `Invalid page.`, as
//! Mem0's paginator answers)
//! and `POST /v2/memories/search/` (with `filters` and `top_k`; keyword search ranks by the
//! number of query words a memory contains). Filters are evaluated as Mem0 documents them: `AND`,
//! `OR`, `NOT`, `user_id` (with `*` for any), and `metadata` equality. Every request needs
//! `Authorization: Token <key>`. Faults and stalls (an answer that comes late) can be scripted,
//! and every request is logged.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{Duration, Utc};
use serde_json::{Map, Value, json};

/// A request the fake received.
#[derive(Clone, Debug)]
pub struct Mem0Request {
    /// `GET`, `POST`, …
    pub method: String,
    /// The path and query.
    pub path: String,
    /// The JSON body (`Null` when there was none).
    pub body: Value,
}

struct State {
    api_key: String,
    memories: Vec<Value>,
    next_id: u64,
    faults: VecDeque<u16>,
    stalls: VecDeque<std::time::Duration>,
    requests: Vec<Mem0Request>,
}

/// The fake Mem0 server.
pub struct FakeMem0 {
    /// `http://127.0.0.1:PORT`.
    pub base_url: String,
    state: Arc<Mutex<State>>,
    _handle: actix_web::dev::ServerHandle,
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn words(text: &str) -> Vec<String> {
    text.split(|character: char| !character.is_alphanumeric())
        .filter(|word| word.chars().count() >= 2)
        .map(str::to_lowercase)
        .collect()
}

/// Whether `memory` passes a Mem0 filter.
fn matches(filter: &Value, memory: &Value) -> bool {
    let Some(object) = filter.as_object() else { return false };
    object.iter().all(|(key, condition)| match key.as_str() {
        "AND" => condition.as_array().is_some_and(|all| all.iter().all(|one| matches(one, memory))),
        "OR" => condition.as_array().is_some_and(|any| any.iter().any(|one| matches(one, memory))),
        "NOT" => {
            condition.as_array().is_some_and(|none| !none.iter().any(|one| matches(one, memory)))
        }
        "metadata" => condition.as_object().is_some_and(|wanted| {
            wanted
                .iter()
                .all(|(name, value)| memory.pointer(&format!("/metadata/{name}")) == Some(value))
        }),
        entity => match (condition.as_str(), memory.get(entity)) {
            (Some("*"), Some(value)) => !value.is_null(),
            (_, Some(value)) => value == condition,
            (_, None) => false,
        },
    })
}

fn has_entity(filter: &Value) -> bool {
    let Some(object) = filter.as_object() else { return false };
    object.iter().any(|(key, value)| match key.as_str() {
        "AND" | "OR" => value.as_array().is_some_and(|all| all.iter().any(has_entity)),
        "user_id" | "agent_id" | "app_id" | "run_id" => true,
        _ => false,
    })
}

fn not_found() -> HttpResponse {
    HttpResponse::NotFound().json(json!({ "error": "Memory not found!" }))
}

fn add(state: &mut State, body: &Value) -> HttpResponse {
    let content = body.pointer("/messages/0/content").and_then(Value::as_str);
    let (Some(content), Some(user_id)) = (content, body.get("user_id").and_then(Value::as_str))
    else {
        return HttpResponse::BadRequest().json(
            json!({ "error": "400 Bad Request", "details": { "message": "Invalid input data." } }),
        );
    };
    state.next_id += 1;
    let id = format!("00000000-0000-4000-8000-{:012}", state.next_id);
    let created = (Utc::now() + Duration::microseconds(i64::try_from(state.next_id).unwrap_or(0)))
        .to_rfc3339();
    state.memories.push(json!({
        "id": id,
        "memory": content,
        "user_id": user_id,
        "metadata": body.get("metadata").cloned().unwrap_or_else(|| json!({})),
        "categories": [],
        "created_at": created,
        "updated_at": created,
        "immutable": false,
    }));
    HttpResponse::Ok().json(json!([{ "id": id, "event": "ADD", "data": { "memory": content } }]))
}

fn one(state: &mut State, method: &str, id: &str, body: &Value) -> HttpResponse {
    let Some(index) = state.memories.iter().position(|memory| memory["id"] == id) else {
        return not_found();
    };
    match method {
        "GET" => HttpResponse::Ok().json(&state.memories[index]),
        "DELETE" => {
            state.memories.remove(index);
            HttpResponse::Ok().json(json!({ "message": "Memory deleted successfully!" }))
        }
        "PUT" => {
            let memory = &mut state.memories[index];
            if let Some(text) = body.get("text").and_then(Value::as_str) {
                memory["memory"] = text.into();
            }
            if let Some(metadata) = body.get("metadata").filter(|value| value.is_object()) {
                memory["metadata"] = metadata.clone();
            }
            memory["updated_at"] = Utc::now().to_rfc3339().into();
            HttpResponse::Ok().json(&*memory)
        }
        _ => HttpResponse::MethodNotAllowed().finish(),
    }
}

fn query_number(request: &HttpRequest, name: &str, default: usize) -> usize {
    web::Query::<Map<String, Value>>::from_query(request.query_string())
        .ok()
        .and_then(|query| {
            query.get(name).and_then(Value::as_str).and_then(|text| text.parse().ok())
        })
        .unwrap_or(default)
}

fn get_all(state: &State, request: &HttpRequest, body: &Value) -> HttpResponse {
    let filter = body.get("filters").cloned().unwrap_or(Value::Null);
    if !has_entity(&filter) {
        return HttpResponse::BadRequest()
            .json(json!({ "message": "One of the filters: app_id, user_id, agent_id, run_id is required!" }));
    }
    let page = query_number(request, "page", 1);
    let size = query_number(request, "page_size", 100);
    if page < 1 || !(1..=200).contains(&size) {
        return HttpResponse::BadRequest()
            .json(json!({ "detail": "page must be 1 or more, page_size from 1 to 200" }));
    }
    let mut found: Vec<&Value> =
        state.memories.iter().filter(|memory| matches(&filter, memory)).collect();
    found.reverse();
    if page > 1 && (page - 1) * size >= found.len() {
        return HttpResponse::NotFound().json(json!({ "detail": "Invalid page." }));
    }
    let results: Vec<&Value> = found.iter().skip((page - 1) * size).take(size).copied().collect();
    let next = (page * size < found.len())
        .then(|| format!("/v2/memories/?page={}&page_size={size}", page + 1));
    HttpResponse::Ok()
        .json(json!({ "count": found.len(), "next": next, "previous": null, "results": results }))
}

fn search(state: &State, body: &Value) -> HttpResponse {
    let filter = body.get("filters").cloned().unwrap_or(Value::Null);
    let query = words(body.get("query").and_then(Value::as_str).unwrap_or_default());
    let top_k = body
        .get("top_k")
        .and_then(Value::as_u64)
        .and_then(|k| usize::try_from(k).ok())
        .unwrap_or(10);
    let mut scored: Vec<(usize, usize, &Value)> = state
        .memories
        .iter()
        .enumerate()
        .filter(|(_, memory)| matches(&filter, memory))
        .map(|(order, memory)| {
            let text = words(memory["memory"].as_str().unwrap_or_default());
            (query.iter().filter(|word| text.contains(word)).count(), order, memory)
        })
        .filter(|(score, _, _)| *score > 0)
        .collect();
    scored.sort_by(|left, right| right.0.cmp(&left.0).then(right.1.cmp(&left.1)));
    let results: Vec<Value> = scored
        .into_iter()
        .take(top_k)
        .map(|(score, _, memory)| {
            let mut memory = memory.clone();
            memory["score"] = json!(score);
            memory
        })
        .collect();
    HttpResponse::Ok().json(results)
}

async fn handle(
    request: HttpRequest,
    body: web::Bytes,
    state: web::Data<Mutex<State>>,
) -> HttpResponse {
    let stall = lock(&state).stalls.pop_front();
    if let Some(stall) = stall {
        actix_web::rt::time::sleep(stall).await;
    }
    let mut state = lock(&state);
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let method = request.method().as_str().to_owned();
    let path = request.path().to_owned();
    let full = match request.query_string() {
        "" => path.clone(),
        query => format!("{path}?{query}"),
    };
    state.requests.push(Mem0Request { method: method.clone(), path: full, body: body.clone() });
    let expected = format!("Token {}", state.api_key);
    if request.headers().get("authorization").and_then(|value| value.to_str().ok())
        != Some(expected.as_str())
    {
        return HttpResponse::Unauthorized().json(json!({ "detail": "Invalid API key" }));
    }
    if let Some(status) = state.faults.pop_front() {
        let status = actix_web::http::StatusCode::from_u16(status).unwrap_or_default();
        return HttpResponse::build(status).json(json!({ "error": "scripted fault" }));
    }
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match (method.as_str(), segments.as_slice()) {
        ("POST", ["v1", "memories"]) => add(&mut state, &body),
        (_, ["v1", "memories", id]) => one(&mut state, &method, id, &body),
        ("POST", ["v2", "memories"]) => get_all(&state, &request, &body),
        ("POST", ["v2", "memories", "search"]) => search(&state, &body),
        _ => HttpResponse::NotFound().json(json!({ "detail": "Not found." })),
    }
}

impl FakeMem0 {
    /// Starts a fake that accepts `api_key`.
    pub fn start(api_key: &str) -> Self {
        let state = Arc::new(Mutex::new(State {
            api_key: api_key.to_owned(),
            memories: Vec::new(),
            next_id: 0,
            faults: VecDeque::new(),
            stalls: VecDeque::new(),
            requests: Vec::new(),
        }));
        let (base_url, handle) = crate::serve_fake(state.clone(), handle);
        Self { base_url, state, _handle: handle }
    }

    /// Answers the next request with `status` (a fault), before serving normally again.
    pub fn fail_next(&self, status: u16) {
        lock(&self.state).faults.push_back(status);
    }

    /// Answers the next request only after `delay` (a stalled server).
    pub fn stall_next(&self, delay: std::time::Duration) {
        lock(&self.state).stalls.push_back(delay);
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Mem0Request> {
        lock(&self.state).requests.clone()
    }

    /// Every stored memory object, as Mem0 would return it.
    pub fn memories(&self) -> Vec<Value> {
        lock(&self.state).memories.clone()
    }
}
