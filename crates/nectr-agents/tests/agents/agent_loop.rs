//! The agent loop on a scripted in-process model (the providers' wire formats are tested over
//! HTTP against the fake servers in the server's tests): concurrent, truncated, fenced tool
//! results; one repair of a malformed review and no more; bounded rounds; parallel specialists
//! merged by a synthesis step.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use nectr_agents::{AgentConfig, AgentReviewer, ParallelReviewer};
use nectr_domain::llm::{
    Block, ChatRequest, ChatResponse, LanguageModel, LlmError, Price, Stop, ToolChoice, Usage,
};
use nectr_domain::pipeline::{ModelError, RepositoryLookups, ReviewModel, Toolset};
use nectr_domain::review::Verdict;
use serde_json::{Value, json};

use crate::prompts::request;

type Script = Box<dyn Fn(&ChatRequest) -> ChatResponse + Send + Sync>;

struct ScriptedModel {
    turns: Mutex<VecDeque<ChatResponse>>,
    script: Option<Script>,
    requests: Mutex<Vec<ChatRequest>>,
}

impl ScriptedModel {
    fn turns(turns: Vec<ChatResponse>) -> Arc<Self> {
        Arc::new(Self { turns: Mutex::new(turns.into()), script: None, requests: Mutex::default() })
    }

    fn script(script: impl Fn(&ChatRequest) -> ChatResponse + Send + Sync + 'static) -> Arc<Self> {
        Arc::new(Self {
            turns: Mutex::default(),
            script: Some(Box::new(script)),
            requests: Mutex::default(),
        })
    }

    fn requests(&self) -> Vec<ChatRequest> {
        self.requests.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }
}

#[async_trait]
impl LanguageModel for ScriptedModel {
    fn model(&self) -> &str {
        "scripted-1"
    }

    fn context_tokens(&self) -> u32 {
        100_000
    }

    async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, LlmError> {
        self.requests
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(request.clone());
        if let Some(script) = &self.script {
            return Ok(script(request));
        }
        self.turns
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .pop_front()
            .ok_or_else(|| LlmError::Malformed("the script ran out".to_owned()))
    }
}

fn usage() -> Usage {
    Usage { input_tokens: 1_000, output_tokens: 200, cache_read_tokens: 500, cache_write_tokens: 0 }
}

fn turn(content: Vec<Block>) -> ChatResponse {
    let stop = if content.iter().any(|block| matches!(block, Block::ToolUse { .. })) {
        Stop::ToolUse
    } else {
        Stop::EndTurn
    };
    ChatResponse { content, stop, usage: usage(), model: "scripted-1".to_owned() }
}

fn call(id: &str, name: &str, input: Value) -> Block {
    Block::ToolUse { id: id.to_owned(), name: name.to_owned(), input }
}

fn review(findings: Value) -> Value {
    json!({"verdict": "request_changes", "confidence": 4, "summary": "Builds SQL from input.",
           "key_changes": ["login query"], "findings": findings, "semantic_issues": [7]})
}

fn sql_finding(category: &str, severity: &str) -> Value {
    json!({"path": "src/login.py", "line": 11, "severity": severity, "category": category,
           "title": "SQL built from input", "explanation": "Bind the user name as a parameter."})
}

#[derive(Default)]
struct Tools {
    in_flight: AtomicUsize,
    most_in_flight: AtomicUsize,
    calls: Mutex<Vec<String>>,
}

impl Tools {
    async fn enter(&self, what: String) {
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.most_in_flight.fetch_max(now, Ordering::SeqCst);
        self.calls.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(what);
        tokio::time::sleep(Duration::from_millis(30)).await;
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

#[async_trait]
impl RepositoryLookups for Tools {
    async fn read_file(&self, path: &str) -> Result<String, String> {
        self.enter(format!("read_file {path}")).await;
        Ok("x = 1\n".repeat(5_000))
    }
    async fn file_history(&self, path: &str) -> Result<String, String> {
        self.enter(format!("file_history {path}")).await;
        Ok("abc1234 2026-11-01 octocat: Add login".to_owned())
    }
    async fn issue(&self, number: u64) -> Result<String, String> {
        self.enter(format!("issue {number}")).await;
        Err(format!("issue #{number} does not exist"))
    }
    async fn search_open_issues(&self, query: &str) -> Result<String, String> {
        self.enter(format!("search {query}")).await;
        Ok("#7 Login is slow".to_owned())
    }
}

fn config() -> AgentConfig {
    AgentConfig {
        max_rounds: 4,
        max_tokens: 2_048,
        max_tool_result_chars: 1_000,
        prices: [(
            "scripted".to_owned(),
            Price { input: 3.0, output: 15.0, cache_read: 0.3, cache_write: 3.75 },
        )]
        .into(),
    }
}

#[tokio::test]
async fn tools_run_concurrently_and_their_results_come_back_truncated_and_fenced() {
    let model = ScriptedModel::turns(vec![
        turn(vec![
            Block::Text("Let me look around.".to_owned()),
            call("t1", "read_file", json!({"path": "src/login.py"})),
            call("t2", "file_history", json!({"path": "src/login.py"})),
            call("t3", "issue_details", json!({"number": 99})),
        ]),
        turn(vec![call(
            "t4",
            "submit_review",
            review(json!([sql_finding("security", "critical")])),
        )]),
    ]);
    let tools = Arc::new(Tools::default());
    let mut asked = request("Fixes #7.");
    asked.tools = Some(Toolset::new(tools.clone()));
    let answer = AgentReviewer::new(model.clone(), config())
        .review(&asked)
        .await
        .unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(answer.review.verdict, Verdict::RequestChanges);
    assert_eq!(answer.review.findings.len(), 1);
    assert_eq!(answer.usage.input_tokens, 2_000, "usage adds up over both turns");
    let expected = 2.0 * (1_000.0 * 3.0 + 200.0 * 15.0 + 500.0 * 0.3) / 1_000_000.0;
    assert!((answer.cost_usd - expected).abs() < 1e-12, "{}", answer.cost_usd);
    assert_eq!(tools.most_in_flight.load(Ordering::SeqCst), 3, "the three calls ran at once");
    let requests = model.requests();
    assert_eq!(requests.len(), 2);
    let results: Vec<(String, bool)> = requests[1]
        .messages
        .last()
        .map(|message| message.content.clone())
        .unwrap_or_default()
        .into_iter()
        .filter_map(|block| match block {
            Block::ToolResult { content, is_error, .. } => Some((content, is_error)),
            _ => None,
        })
        .collect();
    assert_eq!(results.len(), 3);
    assert!(
        results[0].0.starts_with("<untrusted-tool-result tool=\"read_file\">"),
        "{}",
        results[0].0
    );
    assert!(results[0].0.contains("[truncated: 1000 of 30000 bytes shown]"), "{}", results[0].0);
    assert!(results[0].0.len() < 1_200);
    assert!(
        !results[1].1 && results[2].1,
        "a failed lookup is an error result, not a failed review"
    );
    assert!(requests[0].tools.iter().any(|tool| tool.name == "search_open_issues"));
}

#[tokio::test]
async fn a_malformed_review_is_sent_back_once_with_what_was_wrong() {
    let model = ScriptedModel::turns(vec![
        turn(vec![call("t1", "submit_review", json!({"verdict": "approve", "confidence": 9}))]),
        turn(vec![call("t2", "submit_review", review(json!([])))]),
    ]);
    let answer = AgentReviewer::new(model.clone(), config())
        .review(&request(""))
        .await
        .unwrap_or_else(|error| panic!("{error}"));
    assert!(answer.review.findings.is_empty());
    let requests = model.requests();
    assert_eq!(requests[1].tool_choice, ToolChoice::Tool("submit_review".to_owned()));
    let repair =
        requests[1].messages.last().map(|message| message.content.clone()).unwrap_or_default();
    assert!(repair.iter().any(|block| matches!(block, Block::ToolResult { is_error: true, content, .. } if content.contains("confidence"))), "{repair:?}");
}

#[tokio::test]
async fn a_second_malformed_answer_fails_the_review_instead_of_posting_part_of_it() {
    let model = ScriptedModel::turns(vec![
        turn(vec![Block::Text("Looks good to me!".to_owned())]),
        turn(vec![call(
            "t2",
            "submit_review",
            json!({"verdict": "approve", "confidence": 4, "summary": "ok"}),
        )]),
    ]);
    match AgentReviewer::new(model, config()).review(&request("")).await {
        Err(ModelError::Malformed(message)) => assert!(message.contains("findings"), "{message}"),
        other => panic!("expected a malformed-answer error, got {other:?}"),
    }
    // A cut-off answer is not used either.
    let cut = ChatResponse {
        stop: Stop::MaxTokens,
        ..turn(vec![call("t1", "submit_review", review(json!([])))])
    };
    let model = ScriptedModel::turns(vec![cut.clone(), cut]);
    assert!(matches!(
        AgentReviewer::new(model, config()).review(&request("")).await,
        Err(ModelError::Malformed(_))
    ));
}

#[tokio::test]
async fn rounds_are_bounded_and_the_last_one_must_hand_in_the_review() {
    let model = ScriptedModel::script(|_| turn(vec![call("t", "read_file", json!({"path": "a"}))]));
    let mut asked = request("");
    asked.tools = Some(Toolset::new(Arc::new(Tools::default())));
    let bounded = AgentConfig { max_rounds: 3, ..config() };
    let result = AgentReviewer::new(model.clone(), bounded).review(&asked).await;
    assert!(matches!(result, Err(ModelError::Malformed(_))), "{result:?}");
    let requests = model.requests();
    assert_eq!(requests.len(), 3);
    assert_eq!(requests[2].tool_choice, ToolChoice::Tool("submit_review".to_owned()));
    assert_eq!(requests[0].tool_choice, ToolChoice::Auto);
}

#[tokio::test]
async fn parallel_specialists_are_merged_by_the_synthesis_without_duplicates() {
    let model = ScriptedModel::script(|request| {
        let system: String = request.system.iter().map(|part| part.text.as_str()).collect();
        let findings = if system.contains("merge the reports") {
            // The synthesis repeats a finding; the merge removes the repeat.
            json!([sql_finding("security", "critical"), sql_finding("security", "moderate"),
                   {"path": "src/login.py", "line": 12, "severity": "minor", "category": "tests",
                    "title": "No test", "explanation": "Add one."}])
        } else if system.contains("security specialist") {
            json!([sql_finding("security", "critical")])
        } else if system.contains("performance specialist") {
            json!([])
        } else {
            json!([{"path": "src/login.py", "line": 12, "severity": "minor", "category": "tests",
                    "title": "No test", "explanation": "Add one."}])
        };
        turn(vec![call("s", "submit_review", review(findings))])
    });
    let answer = ParallelReviewer::new(model.clone(), config())
        .review(&request(""))
        .await
        .unwrap_or_else(|error| panic!("{error}"));
    let requests = model.requests();
    assert_eq!(requests.len(), 4, "three specialists and one synthesis");
    let synthesis = requests
        .iter()
        .find(|request| request.system.iter().any(|part| part.text.contains("merge the reports")))
        .unwrap_or_else(|| panic!("no synthesis"));
    let prompt: String = synthesis
        .messages
        .iter()
        .flat_map(|message| message.content.iter())
        .filter_map(|block| match block {
            Block::Text(text) => Some(text.as_str()),
            _ => None,
        })
        .collect();
    assert!(
        prompt.contains("\"specialist\": \"security\"")
            && prompt.contains("\"specialist\": \"style-and-tests\""),
        "{prompt}"
    );
    assert_eq!(answer.review.findings.len(), 2, "{:?}", answer.review.findings);
    assert_eq!(answer.usage.input_tokens, 4_000);
}

#[tokio::test]
async fn one_unusable_specialist_leaves_the_others_to_stand_and_the_synthesis_can_fail_too() {
    let model = ScriptedModel::script(|request| {
        let system: String = request.system.iter().map(|part| part.text.as_str()).collect();
        if system.contains("performance specialist") || system.contains("merge the reports") {
            return turn(vec![Block::Text("I cannot do that.".to_owned())]);
        }
        turn(vec![call("s", "submit_review", review(json!([sql_finding("security", "critical")])))])
    });
    let answer = ParallelReviewer::new(model.clone(), config())
        .review(&request(""))
        .await
        .unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(answer.review.verdict, Verdict::RequestChanges, "merged without the synthesis");
    assert_eq!(answer.review.findings.len(), 1, "the two reports of one problem are merged");
    assert!(
        answer.review.summary.contains("The performance review could not be used"),
        "{}",
        answer.review.summary
    );
    assert!(answer.cost_usd > 0.0);
}
