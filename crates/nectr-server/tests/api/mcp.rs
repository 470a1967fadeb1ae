//! Nectr's MCP server end to end, on SQLite and PostgreSQL. The official MCP TypeScript SDK
//! client (`crates/nectr-testkit/js/mcp-client.mjs`, run with `node`) connects over Streamable
//! HTTP and over the legacy SSE transport with a personal API key, lists the tools, resources and
//! templates, and calls every tool on a repository with real reviews (through the pipeline and
//! the fake Anthropic API), findings, learned memories, a project rule and a scanned code graph;
//! another user's repository, bad arguments and unknown names are MCP errors after which the
//! session still answers; without a key, or with an unknown one, the connection is refused.
//! Over plain HTTP: the `Host`/`Origin` allow-list, unknown SSE sessions, sessions bound to the
//! user whose key opened them, event streams that go through the API's middleware unbuffered,
//! and the cap on a user's open sessions.

use std::time::Duration;

use nectr_domain::api_keys::ApiKeyStore;
use nectr_domain::{AccessToken, UserRepository, UserUpsert};
use nectr_persistence::SeaOrmStore;
use nectr_testkit::node::{js_dir, node};
use nectr_testkit::{TestApp, TestDatabase, spawn_app_on};
use reqwest::{Method, StatusCode};
use secrecy::ExposeSecret;
use serde_json::{Value, json};

use crate::memory::{World, start};
use crate::tenants::Tenant;

const RULE: &str = "Every database call goes through src/db.py; never open a connection elsewhere.";

/// The default branch: `src/db.py` is imported by `src/api.py`, which `src/cli.py` imports.
fn project() -> Vec<(&'static str, &'static str)> {
    vec![
        ("README.md", "# shop\n"),
        ("src/__init__.py", ""),
        ("src/db.py", "x = 1\n"),
        ("src/api.py", "from .db import x\n"),
        ("src/cli.py", "from .api import x\n"),
        ("tests/test_api.py", "def test_nothing():\n    pass\n"),
    ]
}

/// A new personal API key of `tenant`, created through the API.
async fn api_key(world: &World, tenant: &Tenant) -> String {
    let (status, created) = world
        .call(tenant, Method::POST, "/api/v1/api-keys", Some(json!({"name": "mcp agent"})))
        .await;
    assert_eq!(status, 201, "{created}");
    created["key"].as_str().unwrap().to_owned()
}

/// Scans `tenant`'s default branch into the code graph and waits until the scan is over.
async fn scan(world: &World, tenant: &Tenant) {
    {
        let mut state = world.github.state();
        let repo = state.repo(&tenant.repo);
        for (path, text) in project() {
            repo.contents.insert(path.to_owned(), text.as_bytes().to_vec());
        }
    }
    let path = format!("/api/v1/repos/{}/rescan", tenant.repo);
    let (status, started) = world.call(tenant, Method::POST, &path, None).await;
    assert_eq!(status, 200, "{started}");
    for _ in 0..400 {
        let body = world.get(tenant, &path).await;
        if body["status"] == "idle" && body["scan"]["phase"] != Value::Null {
            assert_eq!(body["scan"]["phase"], "completed", "{body}");
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the scan of {} did not finish", tenant.repo);
}

/// Runs the SDK client script and answers what it printed.
async fn client(world: &World, key: &str, transport: &str, plan: &Value) -> Value {
    let run = tokio::process::Command::new(node())
        .arg("mcp-client.mjs")
        .arg(&world.app.address)
        .arg(key)
        .arg(transport)
        .arg(plan.to_string())
        .current_dir(js_dir())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(90), run)
        .await
        .unwrap_or_else(|_| panic!("the MCP client did not finish within 90 s"))
        .unwrap_or_else(|error| panic!("node does not run: {error}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the MCP client failed: {stderr}\n{stdout}");
    serde_json::from_str(stdout.trim()).unwrap_or_else(|error| {
        panic!("the MCP client printed no JSON ({error}): {stdout}\n{stderr}")
    })
}

/// The structured answer of step `index`, which must have succeeded.
fn answer(report: &Value, index: usize) -> &Value {
    let step = &report["steps"][index];
    assert!(step["ok"].is_object(), "step {index} failed: {step}");
    assert_ne!(step["ok"]["isError"], true, "step {index} is an error result: {step}");
    &step["ok"]["structuredContent"]
}

/// The error of step `index`, which must have failed with a JSON-RPC error.
fn error(report: &Value, index: usize) -> &Value {
    let step = &report["steps"][index];
    assert!(step["error"].is_object(), "step {index} did not fail: {step}");
    &step["error"]
}

/// The JSON document a resource read answered.
fn resource_json(report: &Value, index: usize) -> Value {
    let step = &report["steps"][index];
    let contents = &step["ok"]["contents"][0];
    assert_eq!(contents["mimeType"], "application/json", "{step}");
    serde_json::from_str(contents["text"].as_str().unwrap()).unwrap()
}

const TOOLS: [&str; 9] = [
    "get_blast_radius",
    "get_contributor_stats",
    "get_file_experts",
    "get_pr_verdict",
    "get_recent_reviews",
    "get_repo_health",
    "get_review",
    "get_rules_for_path",
    "search_memory",
];

fn plan(repo: &str, other: &str, review_id: i64) -> Value {
    json!([
        {"call": "get_recent_reviews", "arguments": {"repo": repo}},
        {"call": "get_review", "arguments": {"review_id": review_id}},
        {"call": "get_pr_verdict", "arguments": {"repo": repo, "pr_number": 1}},
        {"call": "get_repo_health", "arguments": {"repo": repo, "days": 30}},
        {"call": "get_contributor_stats", "arguments": {"repo": repo}},
        {"call": "search_memory", "arguments": {"repo": repo, "query": "queries go through", "memory_type": "risk_module"}},
        {"call": "get_rules_for_path", "arguments": {"repo": repo, "path": "src/db.py"}},
        {"call": "get_file_experts", "arguments": {"repo": repo, "paths": ["src/db.py"]}},
        {"call": "get_blast_radius", "arguments": {"repo": repo, "paths": ["src/db.py"]}},
        {"read": format!("nectr://repos/{repo}/reviews")},
        {"read": format!("nectr://repos/{repo}/rules")},
        // 11: another user's repository, and one that does not exist, are the same error.
        {"call": "get_recent_reviews", "arguments": {"repo": other}},
        {"call": "get_recent_reviews", "arguments": {"repo": "nobody-here/nothing"}},
        {"read": format!("nectr://repos/{other}/reviews")},
        // 14: bad arguments.
        {"call": "get_recent_reviews", "arguments": {"repo": repo, "limit": 0}},
        {"call": "get_review", "arguments": {"review_id": "seven"}},
        {"call": "get_blast_radius", "arguments": {"repo": repo, "paths": []}},
        {"call": "search_memory", "arguments": {"repo": repo, "query": "!"}},
        {"call": "get_pr_verdict", "arguments": {"repo": "not a repository", "pr_number": 1}},
        {"call": "get_recent_reviews", "arguments": {"repo": repo, "surprise": true}},
        {"call": "drop_all_tables", "arguments": {}},
        // 21: the session still works.
        {"call": "get_recent_reviews", "arguments": {"repo": repo, "limit": 1}},
    ])
}

fn assert_lists(report: &Value, repo: &str) {
    assert_eq!(report["connected"], true, "{report}");
    assert_eq!(report["server"]["name"], "nectr");
    assert!(report["capabilities"]["tools"].is_object(), "{}", report["capabilities"]);
    assert!(report["capabilities"]["resources"].is_object());
    let tools = report["tools"].as_array().unwrap();
    let mut names: Vec<&str> = tools.iter().map(|tool| tool["name"].as_str().unwrap()).collect();
    names.sort_unstable();
    assert_eq!(names, TOOLS);
    for tool in tools {
        assert!(tool["description"].as_str().is_some_and(|text| text.len() > 40), "{tool}");
        assert_eq!(tool["inputSchema"]["type"], "object", "{tool}");
        assert_eq!(tool["outputSchema"]["type"], "object", "{tool}");
        assert_eq!(tool["annotations"]["readOnlyHint"], true, "{tool}");
    }
    let recent = tools.iter().find(|tool| tool["name"] == "get_recent_reviews").unwrap();
    let limit = &recent["inputSchema"]["properties"]["limit"];
    assert_eq!((limit["minimum"].as_u64(), limit["maximum"].as_u64()), (Some(1), Some(50)));
    assert!(recent["inputSchema"]["properties"]["repo"]["description"].is_string());
    let uris: Vec<&str> = report["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["uri"].as_str().unwrap())
        .collect();
    assert_eq!(
        uris,
        [format!("nectr://repos/{repo}/reviews"), format!("nectr://repos/{repo}/rules")],
        "only the caller's repository"
    );
    let templates: Vec<&str> = report["templates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["uriTemplate"].as_str().unwrap())
        .collect();
    assert_eq!(
        templates,
        ["nectr://repos/{owner}/{repo}/reviews", "nectr://repos/{owner}/{repo}/rules"]
    );
}

fn assert_answers(report: &Value, repo: &str) {
    let recent = answer(report, 0);
    assert_eq!(recent["repo"], repo);
    let reviews = recent["reviews"].as_array().unwrap();
    let numbers: Vec<u64> = reviews.iter().map(|r| r["pr_number"].as_u64().unwrap()).collect();
    assert_eq!(numbers, [2, 1], "newest first: {recent}");
    for review in reviews {
        assert_eq!(review["status"], "completed", "{review}");
        assert_eq!(review["verdict"], "REQUEST_CHANGES", "{review}");
        assert_eq!(review["author"], "carol");
        assert!(review["summary"].as_str().is_some_and(|body| body.contains("REQUEST_CHANGES")));
    }

    let detail = answer(report, 1);
    assert_eq!(detail["review"]["pr_number"], 1, "{detail}");
    assert_eq!(detail["record"]["verdict"], "REQUEST_CHANGES");
    assert_eq!(detail["record"]["confidence"], 4);
    assert_eq!(detail["record"]["counts"]["critical"], 1);
    let finding = &detail["findings"][0];
    assert_eq!(finding["path"], "src/db.py", "{detail}");
    assert_eq!(finding["line"], 2);
    assert_eq!(finding["severity"], "critical");
    assert_eq!(finding["title"], "Query built from input");
    assert_eq!(detail["findings"].as_array().unwrap().len(), 1);

    let verdict = answer(report, 2);
    assert_eq!(verdict["verdict"], "REQUEST_CHANGES", "{verdict}");
    assert_eq!(verdict["confidence"], 4);
    assert_eq!(verdict["review"]["pr_number"], 1);
    assert_eq!(verdict["counts"]["critical"], 1);

    let health = answer(report, 3);
    assert_eq!(health["period_days"], 30);
    assert_eq!(health["period"]["pull_requests"], 2, "{health}");
    assert_eq!(health["period"]["findings"], 2, "{health}");
    assert_eq!(health["latest_reviews"]["completed"], 2, "{health}");
    assert_eq!(health["latest_reviews"]["success_rate"], 100.0);
    assert_eq!(health["graph"]["files_indexed"], project().len(), "{health}");
    assert!(health["graph"]["scanned_commit"].is_string());
    assert_eq!(health["graph"]["hotspots"][0]["path"], "src/db.py", "{health}");
    assert_eq!(health["graph"]["hotspots"][0]["pull_requests"], 2);
    assert_eq!(health["graph"]["high_risk_files"][0]["path"], "src/db.py");

    let team = answer(report, 4);
    assert_eq!(team["contributor_count"], 1, "{team}");
    let carol = &team["contributors"][0];
    assert_eq!(carol["login"], "carol");
    assert_eq!(carol["pull_requests"], 2);
    assert_eq!(carol["last_pull_request"], 2);
    assert!(carol["profile_summary"].as_str().unwrap().contains("Writes Python data access code"));

    let found = answer(report, 5);
    let memories = found["memories"].as_array().unwrap();
    assert!(!memories.is_empty(), "{found}");
    assert!(memories.iter().all(|memory| memory["memory_type"] == "risk_module"), "{found}");
    assert!(memories[0]["content"].as_str().unwrap().contains("All queries go through it"));
    assert_eq!(memories[0]["source"], "pull_request");

    let rules = answer(report, 6);
    assert_eq!(rules["path"], "src/db.py");
    assert_eq!(rules["rules"].as_array().unwrap().len(), 1, "{rules}");
    assert_eq!(rules["rules"][0]["content"], RULE);
    assert_eq!(rules["rules"][0]["source"], "user");
    let related = rules["related"].as_array().unwrap();
    assert!(related.iter().any(|memory| memory["memory_type"] == "risk_module"), "{rules}");

    let experts = answer(report, 7);
    assert_eq!(experts["experts"], json!([{"login": "carol", "touches": 2}]), "{experts}");

    let blast = answer(report, 8);
    assert_eq!(blast["direct"], json!(["src/api.py"]), "{blast}");
    assert_eq!(blast["transitive"], json!(["src/cli.py"]));
    assert_eq!(blast["scanned_commit"], health["graph"]["scanned_commit"]);

    let listed = resource_json(report, 9);
    assert_eq!(listed["repo"], repo);
    assert_eq!(listed["reviews"].as_array().unwrap().len(), 2, "{listed}");
    let written = resource_json(report, 10);
    assert_eq!(written["rules"][0]["content"], RULE, "{written}");
}

fn assert_refusals(report: &Value, other: &str) {
    let foreign = error(report, 11);
    let missing = error(report, 12);
    for refused in [foreign, missing] {
        assert_eq!(refused["code"], -32602, "{refused}");
        assert_eq!(refused["data"]["code"], "unknown_repository", "{refused}");
    }
    assert!(foreign["message"].as_str().unwrap().contains(other), "{foreign}");
    let unreadable = error(report, 13);
    assert_eq!(unreadable["code"], -32002, "resource not found: {unreadable}");
    for index in 14..=19 {
        let refused = error(report, index);
        assert_eq!(refused["code"], -32602, "step {index}: {refused}");
    }
    assert_eq!(error(report, 14)["data"]["code"], "invalid_arguments");
    assert!(
        error(report, 14)["message"].as_str().unwrap().contains("limit must be between 1 and 50")
    );
    assert!(error(report, 20)["code"].is_i64(), "an unknown tool is an error");
    let again = answer(report, 21);
    assert_eq!(again["reviews"].as_array().unwrap().len(), 1, "{again}");
    assert_eq!(report["alive_after_steps"], true, "{report}");
}

async fn official_client_sees_real_knowledge(world: &World) {
    let alice = &world.alice;
    let (status, added) = world
        .call(
            alice,
            Method::POST,
            "/api/v1/memory",
            Some(json!({"repo": alice.repo, "content": RULE})),
        )
        .await;
    assert_eq!(status, 200, "{added}");
    scan(world, alice).await;
    world.review(alice, 1, "carol").await;
    world.review(alice, 2, "carol").await;
    let reviews = world.get(alice, "/api/v1/reviews").await;
    let first = reviews
        .as_array()
        .unwrap()
        .iter()
        .find(|review| review["pr_number"] == 1)
        .unwrap_or_else(|| panic!("{reviews}"));
    let review_id = first["id"].as_i64().unwrap();
    let key = api_key(world, alice).await;
    let steps = plan(&alice.repo, &world.bob.repo, review_id);
    for transport in ["streamable", "sse"] {
        let report = client(world, &key, transport, &steps).await;
        assert_eq!(report["transport"], transport);
        assert_lists(&report, &alice.repo);
        assert_answers(&report, &alice.repo);
        assert_refusals(&report, &world.bob.repo);
    }

    // Bob's key sees only Bob's repository.
    let bob_key = api_key(world, &world.bob).await;
    let foreign = json!([{"call": "get_recent_reviews", "arguments": {"repo": alice.repo}}]);
    let report = client(world, &bob_key, "streamable", &foreign).await;
    assert_eq!(error(&report, 0)["data"]["code"], "unknown_repository", "{report}");
    let uris: Vec<&str> = report["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["uri"].as_str().unwrap())
        .collect();
    assert_eq!(uris.len(), 2);
    assert!(uris.iter().all(|uri| uri.contains(&world.bob.repo)), "{uris:?}");

    // No key, or an unknown one: refused before MCP begins.
    for transport in ["streamable", "sse"] {
        for presented in
            ["-", "nectr_0000000000000000000000000000000000000000000000000000000000000000"]
        {
            let report = client(world, presented, transport, &json!([])).await;
            assert_eq!(report["connected"], false, "{transport} {presented}: {report}");
            let refusal = report["error"].to_string();
            assert!(refusal.contains("401"), "{transport}: {refusal}");
        }
    }
}

#[tokio::test]
async fn the_official_mcp_client_reads_nectrs_knowledge_on_every_engine() {
    for database in TestDatabase::every_engine().await {
        let world = start(database).await;
        official_client_sees_real_knowledge(&world).await;
        world.app.stop().await;
    }
}

/// A user with a personal API key, straight in the store.
async fn user_with_key(store: &SeaOrmStore, login: &str, github_id: i64) -> String {
    let user = store
        .upsert_by_github_id(UserUpsert {
            github_id,
            github_username: login.to_owned(),
            github_access_token: AccessToken::new("ghp_unused_by_mcp_http_tests"),
            email: None,
            avatar_url: None,
            name: None,
        })
        .await
        .unwrap();
    let created = ApiKeyStore::create(store, user.id, "agent").await.unwrap();
    created.secret.expose_secret().to_owned()
}

fn initialize() -> Value {
    json!({
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "raw-http", "version": "1"}
        }
    })
}

fn initialized() -> Value {
    json!({"jsonrpc": "2.0", "method": "notifications/initialized"})
}

/// Where a JSON-RPC message is posted.
#[derive(Clone, Copy)]
enum To<'a> {
    /// `/mcp`, as the Streamable HTTP transport requires it, in the session named (if any).
    Streamable(Option<&'a str>),
    /// An HTTP+SSE session's message endpoint (a path).
    Messages(&'a str),
}

/// JSON-RPC `message` to the server at `base`, as the holder of `key`: the request, which the
/// caller may give headers of its own before sending it.
fn rpc(
    client: &reqwest::Client,
    base: &str,
    key: &str,
    to: To<'_>,
    message: &Value,
) -> reqwest::RequestBuilder {
    let request = match to {
        To::Streamable(session) => {
            let request = client
                .post(format!("{base}/mcp"))
                .header("Accept", "application/json, text/event-stream");
            match session {
                Some(session) => request.header("Mcp-Session-Id", session),
                None => request,
            }
        }
        To::Messages(path) => client.post(format!("{base}{path}")),
    };
    request.bearer_auth(key).json(message)
}

/// JSON-RPC `message` to `app` as the holder of `key`, sent: the response.
async fn send(app: &TestApp, key: &str, to: To<'_>, message: &Value) -> reqwest::Response {
    rpc(&app.client, &app.address, key, to, message).send().await.unwrap()
}

async fn refusal(response: reqwest::Response) -> (StatusCode, String) {
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    (status, body["code"].as_str().unwrap_or_default().to_owned())
}

/// Reads an event stream until `wanted` appears in it; answers everything read.
async fn read_until(response: &mut reqwest::Response, seen: &mut String, wanted: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !seen.contains(wanted) {
        let chunk = tokio::time::timeout_at(deadline, response.chunk())
            .await
            .unwrap_or_else(|_| panic!("no {wanted:?} on the stream within 10 s: {seen}"))
            .unwrap()
            .unwrap_or_else(|| panic!("the stream ended before {wanted:?}: {seen}"));
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
}

async fn hosts_and_origins_are_checked(app: &TestApp, key: &str) {
    for path in ["/mcp", "/mcp/sse", "/mcp/messages/?session_id=x"] {
        let method = if path == "/mcp/sse" { Method::GET } else { Method::POST };
        let evil_host = app
            .client
            .request(method.clone(), app.url(path))
            .bearer_auth(key)
            .header("Host", "rebound.evil.example")
            .send()
            .await
            .unwrap();
        assert_eq!(
            refusal(evil_host).await,
            (StatusCode::FORBIDDEN, "host_not_allowed".into()),
            "{path}"
        );
        let evil_origin = app
            .client
            .request(method, app.url(path))
            .bearer_auth(key)
            .header("Origin", "https://evil.example")
            .send()
            .await
            .unwrap();
        assert_eq!(
            refusal(evil_origin).await,
            (StatusCode::FORBIDDEN, "origin_not_allowed".into()),
            "{path}"
        );
    }
    // The host of BACKEND_URL is allowed, and so is a loopback origin.
    let published = rpc(&app.client, &app.address, key, To::Streamable(None), &initialize())
        .header("Host", "nectr.test:8000")
        .header("Origin", "http://localhost:6274")
        .send()
        .await
        .unwrap();
    assert_eq!(published.status(), StatusCode::OK);
    assert!(published.headers().contains_key("mcp-session-id"));
}

async fn keys_are_required(app: &TestApp) {
    for (method, path) in [
        (Method::POST, "/mcp"),
        (Method::GET, "/mcp/sse"),
        (Method::POST, "/mcp/messages/?session_id=x"),
    ] {
        let response = app.client.request(method, app.url(path)).send().await.unwrap();
        let challenge = response
            .headers()
            .get("www-authenticate")
            .map(|value| value.to_str().unwrap().to_owned());
        assert!(challenge.is_some_and(|value| value.starts_with("Bearer")), "{path}");
        assert_eq!(
            refusal(response).await,
            (StatusCode::UNAUTHORIZED, "unauthorized".into()),
            "{path}"
        );
    }
    let revoked = send(app, "nectr_not_a_key_of_anyone", To::Streamable(None), &initialize()).await;
    assert_eq!(refusal(revoked).await, (StatusCode::UNAUTHORIZED, "unauthorized".into()));
}

async fn streamable_sessions_belong_to_their_user(app: &TestApp, alice: &str, bob: &str) {
    let opened = send(app, alice, To::Streamable(None), &initialize()).await;
    assert_eq!(opened.status(), StatusCode::OK);
    let session = opened.headers()["mcp-session-id"].to_str().unwrap().to_owned();
    let body = opened.text().await.unwrap();
    assert!(body.contains("\"name\":\"nectr\""), "{body}");

    let stolen = send(app, bob, To::Streamable(Some(&session)), &initialized()).await;
    assert_eq!(refusal(stolen).await, (StatusCode::FORBIDDEN, "session_of_another_user".into()));
    let own = send(app, alice, To::Streamable(Some(&session)), &initialized()).await;
    assert_eq!(own.status(), StatusCode::ACCEPTED);
    let unknown = send(app, alice, To::Streamable(Some("no-such-session")), &initialized()).await;
    assert_eq!(refusal(unknown).await, (StatusCode::NOT_FOUND, "session_not_found".into()));

    let ended = app
        .client
        .delete(app.url("/mcp"))
        .bearer_auth(alice)
        .header("Mcp-Session-Id", &session)
        .send()
        .await
        .unwrap();
    assert!(ended.status().is_success(), "{}", ended.status());
    let after = send(app, alice, To::Streamable(Some(&session)), &initialized()).await;
    assert_eq!(refusal(after).await, (StatusCode::NOT_FOUND, "session_not_found".into()));
}

async fn sse_sessions_stream_and_end(app: &TestApp, alice: &str, bob: &str) {
    let mut stream = app
        .client
        .get(app.url("/mcp/sse"))
        .bearer_auth(alice)
        .header("Accept", "text/event-stream")
        .header("Accept-Encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), StatusCode::OK);
    assert_eq!(stream.headers()["content-type"], "text/event-stream");
    assert!(
        stream.headers().get("content-encoding").is_none(),
        "an event stream is never compressed"
    );
    let mut seen = String::new();
    read_until(&mut stream, &mut seen, "\n\n").await;
    let endpoint = seen
        .strip_prefix("event: endpoint\ndata: ")
        .and_then(|rest| rest.split('\n').next())
        .unwrap_or_else(|| panic!("the first event names the endpoint: {seen}"))
        .to_owned();
    assert!(endpoint.starts_with("/mcp/messages/?session_id="), "{endpoint}");

    let stolen = send(app, bob, To::Messages(&endpoint), &initialize()).await;
    assert_eq!(refusal(stolen).await, (StatusCode::FORBIDDEN, "session_of_another_user".into()));
    let garbage = app
        .client
        .post(app.url(&endpoint))
        .bearer_auth(alice)
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(refusal(garbage).await, (StatusCode::BAD_REQUEST, "invalid_message".into()));
    let accepted = send(app, alice, To::Messages(&endpoint), &initialize()).await;
    assert_eq!(accepted.status(), StatusCode::ACCEPTED);
    read_until(&mut stream, &mut seen, "\"serverInfo\"").await;
    assert!(seen.contains("event: message\ndata: {"), "the answer is a message event: {seen}");

    let unknown = send(
        app,
        alice,
        To::Messages("/mcp/messages/?session_id=0123456789abcdef"),
        &initialized(),
    )
    .await;
    assert_eq!(refusal(unknown).await, (StatusCode::NOT_FOUND, "session_not_found".into()));
    let nameless = send(app, alice, To::Messages("/mcp/messages/"), &initialized()).await;
    assert_eq!(refusal(nameless).await, (StatusCode::BAD_REQUEST, "session_id_required".into()));

    // The client goes away: the session ends with its stream.
    drop(stream);
    for _ in 0..200 {
        let after = send(app, alice, To::Messages(&endpoint), &initialized()).await;
        if after.status() == StatusCode::NOT_FOUND {
            return;
        }
        assert_eq!(after.status(), StatusCode::ACCEPTED);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the SSE session outlived its stream by 20 s (keep-alive every second)");
}

#[tokio::test]
async fn mcp_over_http_checks_hosts_keys_and_sessions_on_every_engine() {
    for database in TestDatabase::every_engine().await {
        let app = spawn_app_on(database, |settings| {
            settings.application.backend_url = "http://nectr.test:8000".to_owned();
            settings.mcp_server.keep_alive_seconds = 1;
        })
        .await;
        let alice = user_with_key(&app.store, "alice", 501).await;
        let bob = user_with_key(&app.store, "bob", 502).await;
        hosts_and_origins_are_checked(&app, &alice).await;
        keys_are_required(&app).await;
        streamable_sessions_belong_to_their_user(&app, &alice, &bob).await;
        sse_sessions_stream_and_end(&app, &alice, &bob).await;
        app.stop().await;
    }
}

/// The `nectr` binary stops promptly on SIGTERM although MCP clients keep event streams open on
/// both transports: the streams end at once instead of holding the stop for its 30-second grace.
#[tokio::test]
async fn a_stop_ends_open_mcp_streams_instead_of_waiting_for_them() {
    let database = TestDatabase::fresh().await;
    let store = database.migrated_store().await;
    let key = user_with_key(&store, "mona", 7_001).await;
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let directory = tempfile::tempdir().unwrap();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_nectr"))
        .current_dir(directory.path())
        .env_clear()
        .env("DATABASE_URL", &database.url)
        .env("SECRET_KEY", nectr_testkit::database::TEST_SECRET_KEY)
        .env("PORT", port.to_string())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    for attempt in 0.. {
        if client.get(format!("{base}/health")).send().await.is_ok() {
            break;
        }
        assert!(attempt < 600, "nectr did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let mut sse = client.get(format!("{base}/mcp/sse")).bearer_auth(&key).send().await.unwrap();
    let mut seen = String::new();
    read_until(&mut sse, &mut seen, "event: endpoint").await;
    let opened =
        rpc(&client, &base, &key, To::Streamable(None), &initialize()).send().await.unwrap();
    let session = opened.headers()["mcp-session-id"].to_str().unwrap().to_owned();
    drop(opened.text().await);
    let mut standalone = client
        .get(format!("{base}/mcp"))
        .bearer_auth(&key)
        .header("Accept", "text/event-stream")
        .header("Mcp-Session-Id", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(standalone.status(), StatusCode::OK);

    let stopping = std::time::Instant::now();
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit =
        tokio::task::spawn_blocking(move || child.wait_with_output()).await.unwrap().unwrap();
    let took = stopping.elapsed();
    assert!(exit.status.success(), "{exit:?}");
    assert!(took < Duration::from_secs(10), "the stop waited {took:?} for the streams");
    for stream in [&mut sse, &mut standalone] {
        let mut rest = Vec::new();
        let ended = tokio::time::timeout(Duration::from_secs(5), async {
            while let Ok(Some(chunk)) = stream.chunk().await {
                rest.extend_from_slice(&chunk);
            }
        })
        .await;
        assert!(ended.is_ok(), "the stream ended with the server");
    }
}

/// `GET /mcp/sse` as the holder of `key`: the open stream, or the refusal.
async fn open_sse(app: &TestApp, key: &str) -> reqwest::Response {
    app.client
        .get(app.url("/mcp/sse"))
        .bearer_auth(key)
        .header("Accept", "text/event-stream")
        .send()
        .await
        .unwrap()
}

/// An open SSE stream, read up to its endpoint event.
async fn sse_session(app: &TestApp, key: &str) -> reqwest::Response {
    let mut stream = open_sse(app, key).await;
    assert_eq!(stream.status(), StatusCode::OK);
    let mut seen = String::new();
    read_until(&mut stream, &mut seen, "event: endpoint").await;
    stream
}

/// A new Streamable HTTP session of `key`'s user: its id.
async fn streamable_session(app: &TestApp, key: &str) -> String {
    let opened = send(app, key, To::Streamable(None), &initialize()).await;
    assert_eq!(opened.status(), StatusCode::OK);
    opened.headers()["mcp-session-id"].to_str().unwrap().to_owned()
}

const TOO_MANY: (StatusCode, &str) = (StatusCode::TOO_MANY_REQUESTS, "too_many_sessions");

async fn refused(response: reqwest::Response) -> bool {
    let (status, code) = refusal(response).await;
    (status, code.as_str()) == TOO_MANY
}

#[tokio::test]
async fn a_user_opens_at_most_the_cap_of_mcp_sessions_and_an_ended_one_frees_its_place() {
    let app = spawn_app_on(TestDatabase::fresh().await, |settings| {
        settings.mcp_server.keep_alive_seconds = 1;
        settings.mcp_server.max_sessions_per_user = 3;
    })
    .await;
    let alice = user_with_key(&app.store, "alice", 601).await;
    let alices_other_key = user_with_key(&app.store, "alice", 601).await;
    let bob = user_with_key(&app.store, "bob", 602).await;

    // Three sessions, with two keys of one user, over both transports: the cap is the user's.
    let first = sse_session(&app, &alice).await;
    let _second = sse_session(&app, &alices_other_key).await;
    let streamable = streamable_session(&app, &alice).await;

    // The fourth is refused on either transport, with either key; another user is not.
    let response = open_sse(&app, &alice).await;
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], "too_many_sessions", "{body}");
    assert!(body["detail"].as_str().unwrap().contains("3 open MCP sessions"), "{body}");
    assert!(refused(open_sse(&app, &alices_other_key).await).await);
    assert!(refused(send(&app, &alice, To::Streamable(None), &initialize()).await).await);
    let _bobs = sse_session(&app, &bob).await;
    // The open sessions go on.
    let own = send(&app, &alice, To::Streamable(Some(&streamable)), &initialized()).await;
    assert_eq!(own.status(), StatusCode::ACCEPTED);

    // The client drops an SSE stream without a word: its place comes back once Nectr notices.
    drop(first);
    let mut replacement = None;
    for _ in 0..200 {
        let response = open_sse(&app, &alice).await;
        match response.status() {
            StatusCode::OK => {
                replacement = Some(response);
                break;
            }
            _ => assert!(refused(response).await),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(replacement.is_some(), "the dropped stream's place did not come back within 20 s");
    assert!(refused(send(&app, &alice, To::Streamable(None), &initialize()).await).await);

    // Ending the Streamable HTTP session frees its place at once.
    let ended = app
        .client
        .delete(app.url("/mcp"))
        .bearer_auth(&alice)
        .header("Mcp-Session-Id", &streamable)
        .send()
        .await
        .unwrap();
    assert!(ended.status().is_success(), "{}", ended.status());
    let again = streamable_session(&app, &alice).await;
    assert_ne!(again, streamable);
    assert!(refused(open_sse(&app, &alice).await).await, "the cap holds again");
    app.stop().await;
}
