//! The MCP client: the handshake, both transports, bearer auth, tool choice by schema, session
//! expiry, and servers that hang, refuse or fail, against stand-ins written with the official
//! TypeScript SDK and against `server-everything`.

use std::time::{Duration, Instant};

use nectr_domain::RepoFullName;
use nectr_domain::code_host::{PullRequest, State};
use nectr_domain::context::{ContextError, ContextItem, ContextProvider, ContextQuery};
use nectr_mcp::client::{
    LinearProvider, McpClient, McpServerConfig, SentryProvider, SentryScope, SlackProvider,
    TransportKind,
};
use nectr_testkit::node::NodeServer;
use secrecy::SecretString;
use serde_json::{Value, json};

const TOKEN: &str = "lin_api_standin_token";

fn server(url: &str, token: Option<&str>) -> McpServerConfig {
    McpServerConfig {
        url: url.to_owned(),
        token: token.map(SecretString::from),
        connect_timeout: Duration::from_secs(5),
        call_timeout: Duration::from_secs(5),
    }
}

fn pull(title: &str, branch: &str, body: &str) -> PullRequest {
    PullRequest {
        number: 7,
        title: title.to_owned(),
        body: Some(body.to_owned()),
        state: State::Open,
        merged: false,
        draft: false,
        author: "alice".to_owned(),
        head_sha: "a".repeat(40),
        head_ref: branch.to_owned(),
        base_sha: "b".repeat(40),
        base_ref: "main".to_owned(),
        html_url: "https://github.com/acme/app/pull/7".to_owned(),
        additions: 3,
        deletions: 1,
        changed_files: 2,
        commits: 1,
        created_at: None,
        merged_at: None,
    }
}

fn query(branch: &str, files: &[&str]) -> ContextQuery {
    let repo = RepoFullName::parse("acme/app").unwrap();
    let pull = pull("Fix the login redirect", branch, "Also see ENG-999.");
    ContextQuery::new(&repo, &pull, files.iter().map(|file| (*file).to_owned()).collect())
}

fn methods(log: &[Value]) -> Vec<String> {
    log.iter()
        .map(|entry| match entry["tool"].as_str() {
            Some(tool) => format!("{} {tool}", entry["method"].as_str().unwrap()),
            None => entry["method"].as_str().unwrap().to_owned(),
        })
        .collect()
}

fn tickets(items: &[ContextItem]) -> Vec<&nectr_domain::context::Ticket> {
    items
        .iter()
        .map(|item| match item {
            ContextItem::Ticket(ticket) => ticket,
            other => panic!("not a ticket: {other:?}"),
        })
        .collect()
}

#[tokio::test]
async fn linear_over_streamable_http_gives_the_tickets_a_branch_names() {
    let linear = NodeServer::standin("linear", &[("STANDIN_TOKEN", TOKEN)]).await;
    let provider =
        LinearProvider::new(server(&format!("{}/mcp", linear.url), Some(TOKEN))).unwrap();
    let query = query("alice/eng-123-login-redirect", &["app/login.py"]);
    assert_eq!(query.ticket_keys, ["ENG-123", "ENG-999"]);

    let items = provider.context(&query).await.unwrap();
    let found = tickets(&items);
    assert_eq!(found.len(), 1, "ENG-999 does not exist: {found:?}");
    let ticket = found[0];
    assert_eq!(ticket.key, "ENG-123");
    assert_eq!(ticket.title, "Login redirect loops for signed-in users");
    assert_eq!(ticket.state.as_deref(), Some("In Progress"));
    assert_eq!(
        ticket.acceptance_criteria,
        [
            "A signed-in user opening /login lands on the dashboard",
            "The `next` parameter is honoured only for same-site paths"
        ]
    );
    assert!(ticket.url.as_deref().unwrap().starts_with("https://linear.app/acme/issue/ENG-123"));
    assert_eq!(provider.client().transport().await.unwrap(), TransportKind::StreamableHttp);

    let log = linear.log().await;
    let mut called = methods(&log);
    called[3..].sort();
    assert_eq!(
        called,
        [
            "initialize",
            "notifications/initialized",
            "tools/list",
            "tools/call get_issue",
            "tools/call get_issue"
        ],
        "the handshake, one tool list, a lookup per key, nothing written"
    );
    assert_eq!(log[0]["protocolVersion"], "2025-11-25");
    assert_eq!(log[0]["clientName"], "nectr");
    assert!(log[0]["session"].is_null(), "initialize opens the session");
    let session = log[1]["session"].as_str().expect("later messages carry Mcp-Session-Id");
    for entry in &log {
        assert_eq!(entry["authorization"], format!("Bearer {TOKEN}"));
    }
    for entry in &log[1..] {
        assert_eq!(entry["session"], session);
    }
    let asked: Vec<&str> =
        log[3..].iter().map(|entry| entry["arguments"]["id"].as_str().unwrap()).collect();
    assert!(asked.contains(&"ENG-123") && asked.contains(&"ENG-999"), "{asked:?}");
}

#[tokio::test]
async fn the_agents_ticket_search_uses_the_list_tool_and_no_key_means_no_call() {
    let linear = NodeServer::standin("linear", &[]).await;
    let provider = LinearProvider::new(server(&format!("{}/mcp", linear.url), None)).unwrap();
    assert!(provider.searches_tickets());
    let found = provider.search_tickets("cookie secure").await.unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!((found[0].key.as_str(), found[0].state.as_deref()), ("ENG-124", Some("Todo")));
    let mut without_keys = query("main-fix", &[]);
    without_keys.ticket_keys.clear();
    assert!(provider.context(&without_keys).await.unwrap().is_empty());
    let log = linear.log().await;
    assert_eq!(log.last().unwrap()["tool"], "list_issues");
    assert_eq!(log.last().unwrap()["arguments"], json!({"query": "cookie secure", "limit": 10}));
    assert_eq!(methods(&log).len(), 4, "no key, no lookup: {:?}", methods(&log));
}

#[tokio::test]
async fn a_wrong_token_is_refused_and_a_closed_port_is_unreachable() {
    let linear = NodeServer::standin("linear", &[("STANDIN_TOKEN", TOKEN)]).await;
    let provider =
        LinearProvider::new(server(&format!("{}/mcp", linear.url), Some("wrong"))).unwrap();
    let error = provider.context(&query("eng-123", &[])).await.unwrap_err();
    assert!(matches!(error, ContextError::Refused(_)), "{error:?}");

    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let provider =
        LinearProvider::new(server(&format!("http://127.0.0.1:{closed}/mcp"), None)).unwrap();
    let error = provider.context(&query("eng-123", &[])).await.unwrap_err();
    assert!(matches!(error, ContextError::Unreachable(_)), "{error:?}");
}

#[tokio::test]
async fn sentry_over_the_legacy_sse_transport_gives_errors_in_the_changed_files() {
    let sentry =
        NodeServer::standin("sentry", &[("STANDIN_TRANSPORT", "sse"), ("STANDIN_TOKEN", TOKEN)])
            .await;
    let scope = SentryScope { organization: None, project: None };
    let provider =
        SentryProvider::new(server(&format!("{}/sse", sentry.url), Some(TOKEN)), scope).unwrap();
    let items =
        provider.context(&query("main", &["app/login.py", "docs/README.md"])).await.unwrap();
    assert_eq!(items.len(), 1, "{items:?}");
    let ContextItem::Error(error) = &items[0] else { panic!("not an error: {items:?}") };
    assert_eq!(error.id.as_deref(), Some("BACKEND-4F2"));
    assert_eq!(error.title, "KeyError: 'next'");
    assert_eq!(error.count, Some(1204));
    assert_eq!(error.culprit.as_deref(), Some("app.login.redirect_after_login"));
    assert_eq!(
        error.last_seen.map(|time| time.to_rfc3339()).as_deref(),
        Some("2026-11-30T10:00:00+00:00")
    );
    assert_eq!(error.file, "app/login.py");
    assert_eq!(error.url.as_deref(), Some("https://acme.sentry.io/issues/4042/"));
    assert_eq!(provider.client().transport().await.unwrap(), TransportKind::LegacySse);

    let log = sentry.log().await;
    let calls: Vec<&Value> = log.iter().filter(|entry| entry["tool"] == "find_errors").collect();
    assert_eq!(calls.len(), 2, "one search per changed file: {log:?}");
    let files: Vec<&str> =
        calls.iter().map(|entry| entry["arguments"]["filename"].as_str().unwrap()).collect();
    assert!(files.contains(&"app/login.py") && files.contains(&"docs/README.md"));
    assert_eq!(calls[0]["arguments"]["organizationSlug"], "acme", "the repository's owner");
    assert_eq!(calls[0]["arguments"]["projectSlug"], "app", "the repository's name");
    assert_eq!(methods(&log)[..3], ["initialize", "notifications/initialized", "tools/list"]);
    assert!(log.iter().all(|entry| entry["authorization"] == format!("Bearer {TOKEN}")));
}

#[tokio::test]
async fn slack_gives_the_discussions_of_the_pull_request_and_its_tickets() {
    let slack = NodeServer::standin("slack", &[]).await;
    let provider = SlackProvider::new(server(&format!("{}/mcp", slack.url), None)).unwrap();
    let items = provider.context(&query("eng-123-login", &["app/login.py"])).await.unwrap();
    let messages: Vec<(&str, &str)> = items
        .iter()
        .map(|item| match item {
            ContextItem::Discussion(message) => (message.channel.as_str(), message.author.as_str()),
            other => panic!("not a discussion: {other:?}"),
        })
        .collect();
    assert_eq!(messages.len(), 2, "alice's message names both, and is listed once: {items:?}");
    assert!(messages.contains(&("backend", "alice")) && messages.contains(&("support", "bob")));
    let log = slack.log().await;
    let searched: Vec<&str> = log
        .iter()
        .filter(|entry| entry["tool"] == "slack_search_messages")
        .map(|entry| entry["arguments"]["query"].as_str().unwrap())
        .collect();
    assert_eq!(searched.len(), 3, "{searched:?}");
    for term in ["https://github.com/acme/app/pull/7", "ENG-123", "ENG-999"] {
        assert!(searched.contains(&term), "{term} in {searched:?}");
    }
}

#[tokio::test]
async fn an_expired_session_is_started_again_on_both_transports() {
    let linear = NodeServer::standin("linear", &[]).await;
    let provider = LinearProvider::new(server(&format!("{}/mcp", linear.url), None)).unwrap();
    let query = query("eng-123", &[]);
    assert_eq!(provider.context(&query).await.unwrap().len(), 1);
    linear.expire_sessions().await;
    assert_eq!(provider.context(&query).await.unwrap().len(), 1, "after the server's 404");
    let log = linear.log().await;
    let initializations = log.iter().filter(|entry| entry["method"] == "initialize").count();
    assert_eq!(initializations, 2, "{:?}", methods(&log));

    let sentry = NodeServer::standin("sentry", &[("STANDIN_TRANSPORT", "sse")]).await;
    let provider =
        SentryProvider::new(server(&format!("{}/sse", sentry.url), None), SentryScope::default())
            .unwrap();
    let query = self::query("main", &["app/billing.py"]);
    assert_eq!(provider.context(&query).await.unwrap().len(), 1);
    sentry.expire_sessions().await;
    assert_eq!(provider.context(&query).await.unwrap().len(), 1, "on a new event stream");
    let log = sentry.log().await;
    assert_eq!(log.iter().filter(|entry| entry["method"] == "initialize").count(), 2);
}

#[tokio::test]
async fn a_server_that_hangs_is_a_timeout_within_the_deadline() {
    for (hang, url_path) in [("call", "/mcp"), ("initialize", "/mcp")] {
        let linear = NodeServer::standin("linear", &[("STANDIN_HANG", hang)]).await;
        let mut config = server(&format!("{}{url_path}", linear.url), None);
        config.connect_timeout = Duration::from_millis(800);
        config.call_timeout = Duration::from_millis(800);
        let provider = LinearProvider::new(config).unwrap();
        let started = Instant::now();
        let error = provider.context(&query("eng-123", &[])).await.unwrap_err();
        assert!(matches!(error, ContextError::Timeout(_)), "{hang}: {error:?}");
        assert_eq!(error.to_string(), "timeout after 0.8 s", "{hang}");
        assert!(started.elapsed() < Duration::from_secs(3), "{hang}: {:?}", started.elapsed());
    }
}

#[tokio::test]
async fn tool_errors_and_json_rpc_errors_are_reported_as_failed_tools() {
    for (fail, expected) in [
        ("tool-error", "get_issue failed: linear API error: rate limit exceeded"),
        (
            "rpc-error",
            "get_issue failed: MCP error -32603: linear upstream API unavailable (JSON-RPC error -32603)",
        ),
    ] {
        let linear = NodeServer::standin("linear", &[("STANDIN_FAIL", fail)]).await;
        let provider = LinearProvider::new(server(&format!("{}/mcp", linear.url), None)).unwrap();
        let error = provider.context(&query("eng-123", &[])).await.unwrap_err();
        assert!(matches!(error, ContextError::ToolFailed { .. }), "{fail}: {error:?}");
        assert_eq!(error.to_string(), expected);
        let error = provider.search_tickets("login").await.unwrap_err();
        assert!(error.to_string().starts_with("list_issues failed: "), "{error}");
    }
}

#[tokio::test]
async fn the_client_initializes_lists_and_calls_server_everything_on_both_transports() {
    for (mode, path, transport) in [
        ("streamableHttp", "/mcp", TransportKind::StreamableHttp),
        ("sse", "/sse", TransportKind::LegacySse),
    ] {
        let everything = NodeServer::everything(mode).await;
        let client = McpClient::new(server(&format!("{}{path}", everything.url), None)).unwrap();
        let tools = client.tools().await.unwrap();
        let names: Vec<&str> = tools.iter().map(|tool| tool.name.as_str()).collect();
        for expected in ["echo", "get-sum"] {
            assert!(names.contains(&expected), "{mode}: {names:?}");
        }
        let echo = tools.iter().find(|tool| tool.name == "echo").unwrap();
        assert!(echo.input_schema["properties"]["message"].is_object(), "{:?}", echo.input_schema);
        let arguments = json!({"message": "hello from Nectr"}).as_object().cloned().unwrap();
        let answer = client.call("echo", arguments).await.unwrap();
        assert_eq!(answer.texts, ["Echo: hello from Nectr"], "{mode}");
        let arguments = json!({"a": 2, "b": 3}).as_object().cloned().unwrap();
        let answer = client.call("get-sum", arguments).await.unwrap();
        assert_eq!(answer.texts, ["The sum of 2 and 3 is 5."], "{mode}");
        assert_eq!(client.transport().await.unwrap(), transport, "{mode}");
        let error = client.call("no-such-tool", serde_json::Map::new()).await.unwrap_err();
        assert!(matches!(error, ContextError::ToolFailed { .. }), "{mode}: {error:?}");

        // A server without ticket tools: Linear's provider says what it offers instead.
        let provider =
            LinearProvider::new(server(&format!("{}{path}", everything.url), None)).unwrap();
        let error = provider.context(&query("eng-123", &[])).await.unwrap_err();
        assert!(matches!(error, ContextError::NoSuitableTool(_)), "{mode}: {error:?}");
        assert!(error.to_string().contains("echo"), "{error}");
        client.close().await;
    }
}
