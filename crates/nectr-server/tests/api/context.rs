//! End to end: reviews with context providers configured, against MCP stand-ins written with
//! the official TypeScript SDK (Linear over Streamable HTTP, Sentry over the legacy SSE
//! transport): the ticket a branch names reaches the prompt (snapshot) and the agent's ticket
//! search, the coverage table reports every provider, a provider that hangs or fails leaves
//! the review degraded, never failed, and `/health` reports each provider by its last call
//! without calling it.

use nectr_domain::queue::JobStatus;
use nectr_testkit::fake_github::{FakeFile, FakePull};
use nectr_testkit::fake_model::{FakeModel, FakeReply, ModelRequest, review_json};
use nectr_testkit::node::NodeServer;
use secrecy::SecretString;
use serde_json::json;

use crate::reviews::{Reviewed, review_pull_end_to_end, review_requests};

const LINEAR_KEY: &str = "lin_api_e2e";

fn files() -> Vec<FakeFile> {
    vec![FakeFile {
        filename: "app/login.py".to_owned(),
        status: "modified".to_owned(),
        patch: "@@ -10,2 +10,3 @@ def redirect_after_login(request):\n     target = request.args['next']\n+    target = target or '/dashboard'\n     return redirect(target)".to_owned(),
    }]
}

/// A pull request whose branch names ENG-123.
fn on_a_ticket_branch(pull: &mut FakePull) {
    "alice/eng-123-login-redirect-loops".clone_into(&mut pull.head_ref);
    "Stop the login redirect loop".clone_into(&mut pull.title);
    "Signed-in users no longer loop on /login.".clone_into(&mut pull.body);
}

/// A model that searches tickets once, then reviews.
fn searching_model(request: &ModelRequest) -> FakeReply {
    if request.tool_results().is_empty() && request.body["tool_choice"].to_string().contains("auto")
    {
        return FakeReply::tool("search_tickets", json!({"query": "cookie secure"}));
    }
    let mut review = review_json("approve", "app/login.py", 11);
    review["findings"] = json!([]);
    FakeReply::review(review)
}

async fn review_with(
    model: &FakeModel,
    linear: Option<&NodeServer>,
    sentry: Option<&NodeServer>,
) -> Reviewed {
    let linear_url = linear.map(|server| server.url.clone());
    let sentry_url = sentry.map(|server| server.url.clone());
    let model_url = model.base_url.clone();
    review_pull_end_to_end(files(), on_a_ticket_branch, move |settings| {
        settings.review.anthropic.api_key = Some(SecretString::from("sk-ant-e2e"));
        settings.review.anthropic.base_url = model_url;
        settings.context.connect_timeout_seconds = 1;
        settings.context.call_timeout_seconds = 1;
        if let Some(url) = linear_url {
            settings.context.linear.url = Some(format!("{url}/mcp"));
            settings.context.linear.token = Some(SecretString::from(LINEAR_KEY));
        }
        if let Some(url) = sentry_url {
            settings.context.sentry.url = Some(format!("{url}/sse"));
            settings.context.sentry.organization = Some("acme".to_owned());
            settings.context.sentry.project = Some("app".to_owned());
        }
    })
    .await
}

#[tokio::test]
async fn a_review_of_a_ticket_branch_shows_the_ticket_and_the_errors_in_the_prompt() {
    let linear = NodeServer::standin("linear", &[("STANDIN_TOKEN", LINEAR_KEY)]).await;
    let sentry = NodeServer::standin("sentry", &[("STANDIN_TRANSPORT", "sse")]).await;
    let model = FakeModel::anthropic(searching_model).await;
    let done = review_with(&model, Some(&linear), Some(&sentry)).await;

    let requests = review_requests(&model);
    let prompt = requests[0].user_text();
    insta::assert_snapshot!("review_prompt_with_team_context", prompt);
    assert!(prompt.contains("- Ticket ENG-123 [In Progress]: Login redirect loops"), "{prompt}");
    assert!(prompt.contains("- Error in app/login.py: KeyError: 'next'"), "{prompt}");

    let tools: Vec<&str> = requests[0].body["tools"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|tool| tool["name"].as_str())
        .collect();
    assert!(tools.contains(&"search_tickets"), "{tools:?}");
    let searched = requests[1].tool_results().join("\n");
    assert!(searched.contains("ENG-124 [Todo]: Session cookie is not marked Secure"), "{searched}");

    let body = &done.review.body;
    assert!(
        body.contains(
            "| Context | Coverage |\n|---|---|\n| linear | 1 item |\n| sentry | 1 item |"
        ),
        "{body}"
    );
    assert!(body.contains("context from 2 of 2 sources"), "{body}");
    assert_eq!(done.job.status, JobStatus::Completed);
    let linear_calls: Vec<String> = linear
        .log()
        .await
        .iter()
        .filter_map(|entry| entry["tool"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(linear_calls, ["get_issue", "list_issues"], "the ticket, then the agent's search");
    done.app.stop().await;
}

#[tokio::test]
async fn a_provider_that_hangs_or_fails_degrades_the_review_and_says_so() {
    let hanging = NodeServer::standin("linear", &[("STANDIN_HANG", "call")]).await;
    let failing = NodeServer::standin(
        "sentry",
        &[("STANDIN_TRANSPORT", "sse"), ("STANDIN_FAIL", "rpc-error")],
    )
    .await;
    let model = FakeModel::anthropic(|_| {
        let mut review = review_json("approve", "app/login.py", 11);
        review["findings"] = json!([]);
        FakeReply::review(review)
    })
    .await;
    let done = review_with(&model, Some(&hanging), Some(&failing)).await;
    assert_eq!(done.job.status, JobStatus::Completed, "{:?}", done.job.last_error);
    let body = &done.review.body;
    assert!(body.contains("| linear | unavailable: timeout after 1 s |"), "{body}");
    assert!(
        body.contains("| sentry | unavailable: find_errors failed: MCP error -32603: sentry upstream API unavailable (JSON-RPC error -32603) |"),
        "{body}"
    );
    assert!(body.contains("context from 0 of 2 sources"), "{body}");
    let prompt = review_requests(&model)[0].user_text();
    assert!(prompt.contains("<untrusted-context provider=\"linear\">\n(unavailable for this review: timeout after 1 s)"), "{prompt}");
    let tools = review_requests(&model)[0].body["tools"].to_string();
    assert!(tools.contains("search_tickets"), "Linear is configured: the search is offered");
    done.app.stop().await;
}

/// A URL on 127.0.0.1 where nothing listens.
fn nothing_listens() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}/mcp")
}

/// `/health`'s providers as (name, status, last_error), and their `checked_at` times.
fn providers_of(body: &serde_json::Value) -> (Vec<(String, String, String)>, Vec<String>) {
    let providers = body["context_providers"].as_array().unwrap();
    let states = providers
        .iter()
        .map(|provider| {
            let text = |field: &str| provider[field].as_str().unwrap_or("null").to_owned();
            (text("name"), text("status"), text("last_error"))
        })
        .collect();
    let times = providers
        .iter()
        .map(|provider| provider["checked_at"].as_str().unwrap_or("null").to_owned())
        .collect();
    (states, times)
}

#[tokio::test]
async fn health_reports_each_provider_by_its_last_call_without_calling_it() {
    let linear = NodeServer::standin("linear", &[("STANDIN_TOKEN", LINEAR_KEY)]).await;
    let failing = NodeServer::standin(
        "sentry",
        &[("STANDIN_TRANSPORT", "sse"), ("STANDIN_FAIL", "rpc-error")],
    )
    .await;
    let slack_url = nothing_listens();
    let model = FakeModel::anthropic(|_| {
        let mut review = review_json("approve", "app/login.py", 11);
        review["findings"] = json!([]);
        FakeReply::review(review)
    })
    .await;
    let started = chrono::Utc::now() - chrono::Duration::seconds(1);
    let (linear_url, sentry_url) = (linear.url.clone(), failing.url.clone());
    let model_url = model.base_url.clone();
    let done = review_pull_end_to_end(files(), on_a_ticket_branch, move |settings| {
        settings.review.anthropic.api_key = Some(SecretString::from("sk-ant-e2e"));
        settings.review.anthropic.base_url = model_url;
        settings.context.connect_timeout_seconds = 1;
        settings.context.call_timeout_seconds = 1;
        settings.context.linear.url = Some(format!("{linear_url}/mcp"));
        settings.context.linear.token = Some(SecretString::from(LINEAR_KEY));
        settings.context.sentry.url = Some(format!("{sentry_url}/sse"));
        settings.context.slack.url = Some(slack_url);
    })
    .await;
    assert_eq!(done.job.status, JobStatus::Completed, "{:?}", done.job.last_error);
    let app = &done.app;
    let asked = linear.log().await.len();
    assert!(asked > 0, "the review asked Linear");

    let response = app.get("/health").await;
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], "healthy", "context is optional: {body}");
    let (states, times) = providers_of(&body);
    let expected = [
        ("linear", "healthy", "null"),
        ("sentry", "degraded", "tool_failed"),
        ("slack", "degraded", "unreachable"),
    ]
    .map(|(name, status, error)| (name.to_owned(), status.to_owned(), error.to_owned()));
    assert_eq!(states, expected, "{body}");
    for time in times {
        let at = chrono::DateTime::parse_from_rfc3339(&time).unwrap();
        assert!(at >= started && at <= chrono::Utc::now(), "{time}");
    }
    let text = body.to_string();
    assert!(!text.contains("127.0.0.1") && !text.contains("upstream"), "no error text: {text}");

    // Reporting asks no provider anything, however often.
    for _ in 0..5 {
        assert_eq!(app.get("/health").await.status(), 200);
    }
    assert_eq!(linear.log().await.len(), asked, "/health sent Linear nothing");
    assert_eq!(app.get("/health/ready").await.status(), 200, "readiness is the database's");
    done.app.stop().await;
}

#[tokio::test]
async fn before_its_first_call_a_provider_is_unknown_and_health_does_not_connect_to_it() {
    let linear = NodeServer::standin("linear", &[]).await;
    let url = linear.url.clone();
    let app = nectr_testkit::spawn_app_with(move |settings| {
        settings.context.linear.url = Some(format!("{url}/mcp"));
    })
    .await;
    let body: serde_json::Value = app.get("/health").await.json().await.unwrap();
    assert_eq!(
        body["context_providers"],
        json!([{"name": "linear", "status": "unknown", "checked_at": null, "last_error": null}])
    );
    assert_eq!(body["status"], "healthy");
    assert!(linear.log().await.is_empty(), "no handshake for /health");
    app.stop().await;
}
