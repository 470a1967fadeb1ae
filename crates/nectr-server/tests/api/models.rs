//! The model providers over HTTP against the fake servers: headers, retries honouring
//! `retry-after`, clear errors for what retrying cannot fix, malformed answers, and structured
//! output on servers with and without JSON-schema support.

use std::time::Duration;

use nectr_agents::{
    AnthropicConfig, AnthropicModel, OpenAiConfig, OpenAiModel, RetryPolicy, StructuredOutput,
};
use nectr_domain::llm::{
    Block, ChatRequest, LanguageModel, LlmError, Message, SystemPart, ToolChoice, ToolSpec,
};
use nectr_testkit::fake_model::{FakeModel, FakeReply};
use secrecy::SecretString;
use serde_json::json;

fn quick(retries: u32) -> RetryPolicy {
    RetryPolicy { retries, base_delay: Duration::from_millis(5), max_wait: Duration::from_secs(5) }
}

fn anthropic(fake: &FakeModel, retry: RetryPolicy) -> AnthropicModel {
    AnthropicModel::new(AnthropicConfig {
        api_key: SecretString::from("sk-ant-test"),
        model: "claude-sonnet-4-5".to_owned(),
        base_url: fake.base_url.clone(),
        context_tokens: 200_000,
        timeout: Duration::from_secs(10),
        retry,
    })
    .unwrap()
}

fn openai(fake: &FakeModel, key: Option<&str>, mode: StructuredOutput) -> OpenAiModel {
    OpenAiModel::new(OpenAiConfig {
        base_url: fake.base_url.clone(),
        api_key: key.map(SecretString::from),
        model: "llama3.1".to_owned(),
        context_tokens: 32_768,
        structured_output: mode,
        max_tokens_field: "max_tokens".to_owned(),
        timeout: Duration::from_secs(10),
        retry: quick(2),
    })
    .unwrap()
}

fn chat(choice: ToolChoice) -> ChatRequest {
    ChatRequest {
        system: vec![SystemPart { text: "Review code.".to_owned(), cacheable: true }],
        messages: vec![Message::user("Here is the diff.")],
        tools: vec![ToolSpec {
            name: "submit_review".to_owned(),
            description: "Hand in the review.".to_owned(),
            input_schema: json!({"type": "object", "required": ["verdict"]}),
        }],
        tool_choice: choice,
        max_tokens: 512,
    }
}

fn submitted(content: &[Block]) -> Option<serde_json::Value> {
    content.iter().find_map(|block| match block {
        Block::ToolUse { name, input, .. } if name == "submit_review" => Some(input.clone()),
        _ => None,
    })
}

#[tokio::test]
async fn anthropic_retries_429_and_529_honouring_retry_after_then_answers() {
    let fake = FakeModel::anthropic(|_| FakeReply::review(json!({"verdict": "approve"}))).await;
    fake.fail_next(FakeReply::rate_limited(1));
    fake.fail_next(FakeReply::overloaded());
    fake.fail_next(FakeReply::error(500, "api_error", "Internal server error"));
    let model = anthropic(&fake, quick(3));
    let started = std::time::Instant::now();
    let answer = model.chat(&chat(ToolChoice::Auto)).await.unwrap();
    assert!(started.elapsed() >= Duration::from_secs(1), "the retry-after second was waited out");
    assert_eq!(submitted(&answer.content), Some(json!({"verdict": "approve"})));
    assert_eq!(fake.requests().len(), 4);
    let usage = answer.usage;
    assert!(usage.cache_write_tokens > 0 && usage.cache_read_tokens == 0, "{usage:?}");
    let again = model.chat(&chat(ToolChoice::Auto)).await.unwrap();
    assert!(again.usage.cache_read_tokens > 0, "the stable prefix is read from the cache");
}

#[tokio::test]
async fn anthropic_errors_that_retrying_cannot_fix_are_reported_at_once() {
    let fake = FakeModel::anthropic(|_| FakeReply::Text("unused".to_owned())).await;
    let model = anthropic(&fake, quick(3));
    fake.fail_next(FakeReply::error(401, "authentication_error", "invalid x-api-key"));
    match model.chat(&chat(ToolChoice::Auto)).await {
        Err(LlmError::Rejected { status, message }) => {
            assert_eq!((status, message.as_str()), (401, "invalid x-api-key"));
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
    fake.fail_next(FakeReply::error(400, "invalid_request_error", "max_tokens: too large"));
    let error = model.chat(&chat(ToolChoice::Auto)).await.unwrap_err();
    assert_eq!(
        error.to_string(),
        "the model provider refused the request (400): max_tokens: too large"
    );
    fake.fail_next(FakeReply::error(403, "permission_error", "no access to this model"));
    assert!(matches!(
        model.chat(&chat(ToolChoice::Auto)).await,
        Err(LlmError::Rejected { status: 403, .. })
    ));
    assert_eq!(fake.requests().len(), 3, "no retries");
    fake.fail_next(FakeReply::Raw {
        status: 200,
        headers: Vec::new(),
        body: "{\"oops\": true}".to_owned(),
    });
    assert!(matches!(model.chat(&chat(ToolChoice::Auto)).await, Err(LlmError::Malformed(_))));
}

#[tokio::test]
async fn a_long_retry_after_is_left_to_the_queue_instead_of_slept_through() {
    let fake = FakeModel::anthropic(|_| FakeReply::Text("unused".to_owned())).await;
    fake.fail_next(FakeReply::rate_limited(600));
    match anthropic(&fake, quick(3)).chat(&chat(ToolChoice::Auto)).await {
        Err(LlmError::Unavailable { retry_after, message }) => {
            assert_eq!(retry_after, Some(Duration::from_secs(600)));
            assert!(message.starts_with("429"), "{message}");
        }
        other => panic!("expected unavailable, got {other:?}"),
    }
    assert_eq!(fake.requests().len(), 1);
    // Retries run out on a server that keeps failing.
    let failing = FakeModel::anthropic(|_| FakeReply::overloaded()).await;
    let error = anthropic(&failing, quick(2)).chat(&chat(ToolChoice::Auto)).await.unwrap_err();
    assert!(error.to_string().contains("after 3 attempts"), "{error}");
    assert_eq!(failing.requests().len(), 3);
}

/// A 429 whose `retry-after` is an HTTP date (IMF-fixdate), `seconds` from now.
fn rate_limited_until(seconds: i64) -> FakeReply {
    let until = chrono::Utc::now() + chrono::Duration::seconds(seconds);
    let date = until.format("%a, %d %b %Y %H:%M:%S GMT").to_string();
    match FakeReply::rate_limited(0) {
        FakeReply::Raw { status, body, .. } => {
            FakeReply::Raw { status, headers: vec![("retry-after".to_owned(), date)], body }
        }
        other => other,
    }
}

#[tokio::test]
async fn a_retry_after_given_as_an_http_date_is_honoured() {
    let fake = FakeModel::anthropic(|_| FakeReply::review(json!({"verdict": "approve"}))).await;
    fake.fail_next(rate_limited_until(600));
    match anthropic(&fake, quick(3)).chat(&chat(ToolChoice::Auto)).await {
        Err(LlmError::Unavailable { retry_after: Some(wait), .. }) => {
            assert!(
                wait > Duration::from_secs(590) && wait <= Duration::from_secs(600),
                "{wait:?}"
            );
        }
        other => panic!("expected unavailable until the date, got {other:?}"),
    }
    assert_eq!(fake.requests().len(), 1, "ten minutes are not slept through");
    // A date already past asks for no wait: the retry follows at once and is answered.
    fake.fail_next(rate_limited_until(-3_600));
    let started = std::time::Instant::now();
    let answer = anthropic(&fake, quick(3)).chat(&chat(ToolChoice::Auto)).await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
    assert_eq!(submitted(&answer.content), Some(json!({"verdict": "approve"})));
    assert_eq!(fake.requests().len(), 3);
}

#[tokio::test]
async fn openai_compatible_servers_get_a_key_only_when_configured() {
    let fake = FakeModel::openai(|_| FakeReply::review(json!({"verdict": "approve"}))).await;
    let forced = chat(ToolChoice::Tool("submit_review".to_owned()));
    let answer = openai(&fake, None, StructuredOutput::JsonSchema).chat(&forced).await.unwrap();
    assert_eq!(submitted(&answer.content), Some(json!({"verdict": "approve"})));
    let answer =
        openai(&fake, Some("sk-or-test"), StructuredOutput::Tools).chat(&forced).await.unwrap();
    assert_eq!(submitted(&answer.content), Some(json!({"verdict": "approve"})));
    let requests = fake.requests();
    assert!(!requests[0].headers.contains_key("authorization"));
    assert_eq!(requests[0].body["response_format"]["json_schema"]["name"], "submit_review");
    assert_eq!(requests[1].headers["authorization"], "Bearer sk-or-test");
    assert_eq!(requests[1].body["tool_choice"]["function"]["name"], "submit_review");
    assert!(requests[1].body.get("response_format").is_none());
}

#[tokio::test]
async fn servers_without_structured_output_are_parsed_tolerantly() {
    let fake = FakeModel::openai(|_| {
        FakeReply::Text(
            "Sure! Here is my review:\n```json\n{\"verdict\": \"needs_discussion\"}\n```\nThanks."
                .to_owned(),
        )
    })
    .await;
    let forced = chat(ToolChoice::Tool("submit_review".to_owned()));
    let answer = openai(&fake, None, StructuredOutput::Prompt).chat(&forced).await.unwrap();
    assert_eq!(submitted(&answer.content), Some(json!({"verdict": "needs_discussion"})));
    let request = &fake.requests()[0];
    assert!(request.body.get("response_format").is_none());
    assert!(request.system().contains("matching this JSON schema"), "{}", request.system());
}

#[tokio::test]
async fn a_fallback_model_answers_while_the_primary_is_unavailable() {
    use std::sync::Arc;

    let primary = FakeModel::anthropic(|_| FakeReply::overloaded()).await;
    let fallback = FakeModel::openai(|_| FakeReply::review(json!({"verdict": "approve"}))).await;
    let model = nectr_agents::FallbackModel::new(
        Arc::new(anthropic(&primary, quick(1))),
        Arc::new(openai(&fallback, None, StructuredOutput::JsonSchema)),
    );
    let answer = model.chat(&chat(ToolChoice::Tool("submit_review".to_owned()))).await.unwrap();
    assert_eq!(submitted(&answer.content), Some(json!({"verdict": "approve"})));
    assert_eq!(answer.model, "llama3.1", "the record names the model that answered");
    assert_eq!((primary.requests().len(), fallback.requests().len()), (2, 1));
    // A refusal is not an outage: the fallback does not paper over a bad key.
    let refusing = FakeModel::anthropic(|_| {
        FakeReply::error(401, "authentication_error", "invalid x-api-key")
    })
    .await;
    let model = nectr_agents::FallbackModel::new(
        Arc::new(anthropic(&refusing, quick(1))),
        Arc::new(openai(&fallback, None, StructuredOutput::JsonSchema)),
    );
    assert!(matches!(
        model.chat(&chat(ToolChoice::Auto)).await,
        Err(LlmError::Rejected { status: 401, .. })
    ));
    assert_eq!(fallback.requests().len(), 1);
}
