//! Reviewers on a language model. [`AgentReviewer`] is one agentic loop: the model reads the
//! fenced pull request, may call lookup tools (executed concurrently, results truncated) for a
//! bounded number of rounds, and hands in its review through `submit_review`. A malformed answer
//! is sent back once with what was wrong; a second failure fails the review, so a partial answer
//! is never posted. [`ParallelReviewer`] runs security, performance and style/tests specialists
//! concurrently and merges their findings in a synthesis step.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use futures_util::future::join_all;
use nectr_domain::llm::{
    Block, ChatRequest, ChatResponse, LanguageModel, LlmError, Message, Price, Role, Stop,
    SystemPart, ToolChoice, ToolSpec, Usage, price_for,
};
use nectr_domain::pipeline::{
    ModelError, ModelReview, ReviewModel, ReviewRequest, ReviewTools, Toolset,
};
use nectr_domain::review::{Finding, StructuredReview, Verdict};
use serde_json::{Value, json};

use crate::prompt::{SPECIALISTS, SYNTHESIS, SYSTEM, attribute, defuse, render_request};
use crate::structured::{SUBMIT_REVIEW, extract_json, parse_review, review_schema, review_to_json};

/// How an agent works.
#[derive(Clone, Debug)]
pub struct AgentConfig {
    /// Most model turns per review (the last one must hand in the review).
    pub max_rounds: u32,
    /// Longest answer per turn, in tokens.
    pub max_tokens: u32,
    /// Longest tool result sent back, in characters.
    pub max_tool_result_chars: usize,
    /// Prices by model id, for the cost estimate of each answer (a fallback model's answers are
    /// priced as that model).
    pub prices: BTreeMap<String, Price>,
}

impl Default for AgentConfig {
    fn default() -> Self {
        Self {
            max_rounds: 6,
            max_tokens: 8_192,
            max_tool_result_chars: 8_000,
            prices: BTreeMap::new(),
        }
    }
}

fn unavailable(error: LlmError) -> ModelError {
    match error {
        LlmError::Unavailable { message, retry_after } => {
            ModelError::Unavailable { message, retry_after }
        }
        LlmError::Rejected { .. } => ModelError::Unexpected(anyhow::Error::new(error)),
        LlmError::Malformed(message) => ModelError::Malformed(message),
    }
}

/// The lookup tools on offer; `search_tickets` only when a ticket tracker is configured.
fn lookup_tools(searches_tickets: bool) -> Vec<ToolSpec> {
    let mut tools = repository_tools();
    if searches_tickets {
        tools.push(ToolSpec {
            name: "search_tickets".to_owned(),
            description: "Searches the team's ticket tracker (Linear) for tickets matching the \
                query: their key, state, title and acceptance criteria."
                .to_owned(),
            input_schema: json!({"type": "object", "required": ["query"], "additionalProperties": false,
                "properties": {"query": {"type": "string"}}}),
        });
    }
    tools
}

/// The lookups on the repository, its memory and its graph.
fn repository_tools() -> Vec<ToolSpec> {
    let path = json!({"type": "object", "required": ["path"], "additionalProperties": false,
        "properties": {"path": {"type": "string", "description": "A path in the repository."}}});
    vec![
        ToolSpec {
            name: "read_file".to_owned(),
            description: "Reads a file of the repository at the pull request's head commit."
                .to_owned(),
            input_schema: path.clone(),
        },
        ToolSpec {
            name: "file_history".to_owned(),
            description: "Lists the latest commits that touched a file.".to_owned(),
            input_schema: path,
        },
        ToolSpec {
            name: "issue_details".to_owned(),
            description: "Reads an issue: title, state, labels and description.".to_owned(),
            input_schema: json!({"type": "object", "required": ["number"], "additionalProperties": false,
                "properties": {"number": {"type": "integer", "minimum": 1}}}),
        },
        ToolSpec {
            name: "search_open_issues".to_owned(),
            description:
                "Finds open issues whose title or description mention every word of the query."
                    .to_owned(),
            input_schema: json!({"type": "object", "required": ["query"], "additionalProperties": false,
                "properties": {"query": {"type": "string"}}}),
        },
        ToolSpec {
            name: "search_project_memory".to_owned(),
            description: "Searches what Nectr remembers about this project (patterns, decisions, \
                risky modules, the project map) for memories sharing words with the query."
                .to_owned(),
            input_schema: json!({"type": "object", "required": ["query"], "additionalProperties": false,
                "properties": {"query": {"type": "string"}}}),
        },
        ToolSpec {
            name: "search_developer_memory".to_owned(),
            description: "Searches what Nectr remembers about one developer (patterns, strengths, \
                profile) for memories sharing words with the query."
                .to_owned(),
            input_schema: json!({"type": "object", "required": ["developer", "query"],
                "additionalProperties": false,
                "properties": {"developer": {"type": "string"}, "query": {"type": "string"}}}),
        },
        ToolSpec {
            name: "get_file_history".to_owned(),
            description: "From Nectr's code graph: the developers who changed these files most \
                and past reviewed pull requests that touched them."
                .to_owned(),
            input_schema: paths_schema(),
        },
        ToolSpec {
            name: "get_dependents".to_owned(),
            description: "From Nectr's code graph: the files that import these files, directly \
                and through one more file (the change's blast radius)."
                .to_owned(),
            input_schema: paths_schema(),
        },
    ]
}

/// Up to ten repository paths.
fn paths_schema() -> Value {
    json!({"type": "object", "required": ["paths"], "additionalProperties": false,
        "properties": {"paths": {"type": "array", "items": {"type": "string"}, "maxItems": 10}}})
}

fn submit_tool() -> ToolSpec {
    ToolSpec {
        name: SUBMIT_REVIEW.to_owned(),
        description: "Hands in the finished review. Call it exactly once, with every field."
            .to_owned(),
        input_schema: review_schema(),
    }
}

/// The `paths` of a tool call (at most ten).
fn paths(input: &Value) -> Vec<String> {
    let listed = input.get("paths").and_then(Value::as_array);
    listed
        .map(|paths| paths.iter().filter_map(Value::as_str).take(10).map(str::to_owned).collect())
        .unwrap_or_default()
}

/// Runs one tool call; the answer is fenced as untrusted and truncated.
async fn call_tool(
    tools: Option<&dyn ReviewTools>,
    name: &str,
    input: &Value,
    limit: usize,
) -> (String, bool) {
    let Some(tools) = tools else {
        return ("no repository is available to look things up in".to_owned(), true);
    };
    let field = |key: &str| input.get(key).and_then(Value::as_str).unwrap_or_default().to_owned();
    let answer = match name {
        "read_file" => tools.read_file(&field("path")).await,
        "file_history" => tools.file_history(&field("path")).await,
        "issue_details" => match input.get("number").and_then(Value::as_u64) {
            Some(number) => tools.issue(number).await,
            None => Err("`number` must be a positive integer".to_owned()),
        },
        "search_open_issues" => tools.search_open_issues(&field("query")).await,
        "search_project_memory" => tools.search_project_memory(&field("query")).await,
        "search_developer_memory" => {
            tools.search_developer_memory(&field("developer"), &field("query")).await
        }
        "get_file_history" => tools.graph_file_history(&paths(input)).await,
        "get_dependents" => tools.dependents(&paths(input)).await,
        "search_tickets" => tools.search_tickets(&field("query")).await,
        other => Err(format!("there is no tool called {other:?}")),
    };
    let (mut text, failed) = match answer {
        Ok(text) => (text, false),
        Err(text) => (text, true),
    };
    if text.len() > limit {
        let mut cut = limit;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        let total = text.len();
        text.truncate(cut);
        text.push_str(&format!("\n[truncated: {cut} of {total} bytes shown]"));
    }
    (
        format!(
            "<untrusted-tool-result tool=\"{}\">\n{}\n</untrusted-tool-result>",
            attribute(name),
            defuse(&text)
        ),
        failed,
    )
}

/// One conversation that ends in a validated review.
struct Conversation<'a> {
    model: &'a dyn LanguageModel,
    config: &'a AgentConfig,
    system: Vec<SystemPart>,
    tools: Option<&'a dyn ReviewTools>,
    usage: Usage,
    cost_usd: f64,
    model_name: String,
}

impl<'a> Conversation<'a> {
    fn new(
        model: &'a dyn LanguageModel,
        config: &'a AgentConfig,
        system: Vec<SystemPart>,
        tools: Option<&'a Toolset>,
    ) -> Self {
        Self {
            model,
            config,
            system,
            tools: tools.map(|tools| tools as &dyn ReviewTools),
            usage: Usage::default(),
            cost_usd: 0.0,
            model_name: model.model().to_owned(),
        }
    }

    async fn chat(&mut self, request: &ChatRequest) -> Result<ChatResponse, ModelError> {
        let response = self.model.chat(request).await.map_err(unavailable)?;
        self.usage += response.usage;
        self.cost_usd += price_for(&self.config.prices, &response.model).cost(&response.usage);
        self.model_name.clone_from(&response.model);
        Ok(response)
    }

    /// Runs the loop from `first` until a valid review arrives.
    async fn run(&mut self, first: String, rounds: u32) -> Result<StructuredReview, ModelError> {
        let mut specs = match self.tools {
            Some(tools) => lookup_tools(tools.searches_tickets()),
            None => Vec::new(),
        };
        specs.push(submit_tool());
        let mut messages = vec![Message::user(first)];
        let mut repaired = false;
        let mut round = 0;
        loop {
            round += 1;
            let choice = if round >= rounds || repaired {
                ToolChoice::Tool(SUBMIT_REVIEW.to_owned())
            } else {
                ToolChoice::Auto
            };
            let request = ChatRequest {
                system: self.system.clone(),
                messages: messages.clone(),
                tools: specs.clone(),
                tool_choice: choice,
                max_tokens: self.config.max_tokens,
            };
            let response = self.chat(&request).await?;
            let submitted = response.content.iter().find_map(|block| match block {
                Block::ToolUse { id, name, input } if name == SUBMIT_REVIEW => {
                    Some((id.clone(), input.clone()))
                }
                _ => None,
            });
            let calls: Vec<(String, String, Value)> = response
                .content
                .iter()
                .filter_map(|block| match block {
                    Block::ToolUse { id, name, input } if name != SUBMIT_REVIEW => {
                        Some((id.clone(), name.clone(), input.clone()))
                    }
                    _ => None,
                })
                .collect();
            let problem = if response.stop == Stop::MaxTokens {
                Some(
                    "your answer was cut off at the token limit; hand in a shorter review"
                        .to_owned(),
                )
            } else if let Some((_, input)) = &submitted {
                match parse_review(input) {
                    Ok(review) => return Ok(review),
                    Err(error) => Some(error),
                }
            } else if calls.is_empty() {
                match extract_json(&response.text()).map(|value| parse_review(&value)) {
                    Some(Ok(review)) => return Ok(review),
                    Some(Err(error)) => Some(error),
                    None => Some(
                        "you answered in prose; the review must be handed in with `submit_review`"
                            .to_owned(),
                    ),
                }
            } else {
                None
            };
            let mut said = response.content.clone();
            if said.is_empty() {
                // Providers refuse empty turns in the history.
                said.push(Block::Text("(no answer)".to_owned()));
            }
            messages.push(Message { role: Role::Assistant, content: said });
            if let Some(problem) = problem {
                if repaired {
                    return Err(ModelError::Malformed(problem));
                }
                repaired = true;
                let mut content: Vec<Block> = response
                    .content
                    .iter()
                    .filter_map(|block| match block {
                        Block::ToolUse { id, .. } => Some(Block::ToolResult {
                            id: id.clone(),
                            content: format!("not accepted: {problem}"),
                            is_error: true,
                        }),
                        _ => None,
                    })
                    .collect();
                content.push(Block::Text(format!(
                    "That review could not be used: {problem}. Call `submit_review` again with a complete, valid review."
                )));
                messages.push(Message { role: Role::User, content });
                continue;
            }
            if round >= rounds {
                return Err(ModelError::Malformed(format!(
                    "the model did not hand in a review within {rounds} rounds"
                )));
            }
            let tools = self.tools;
            let limit = self.config.max_tool_result_chars;
            let results =
                join_all(calls.iter().map(|(_, name, input)| async move {
                    call_tool(tools, name, input, limit).await
                }))
                .await;
            let content = calls
                .iter()
                .zip(results)
                .map(|((id, _, _), (content, is_error))| Block::ToolResult {
                    id: id.clone(),
                    content,
                    is_error,
                })
                .collect();
            messages.push(Message { role: Role::User, content });
        }
    }
}

/// One agentic loop on a language model.
pub struct AgentReviewer {
    model: Arc<dyn LanguageModel>,
    config: AgentConfig,
}

impl AgentReviewer {
    /// A reviewer on `model`.
    pub fn new(model: Arc<dyn LanguageModel>, config: AgentConfig) -> Self {
        Self { model, config }
    }
}

/// Diff tokens a model can take: its context less the answer and room for the prompt and tool
/// results.
fn diff_budget(model: &dyn LanguageModel, config: &AgentConfig) -> usize {
    let context = model.context_tokens() as usize;
    let reserved = config.max_tokens as usize + 12_000;
    // Three fifths: the rest is for tool results, which every later round sends again.
    (context.saturating_sub(reserved) * 3 / 5).max(2_000)
}

fn system(focus: Option<&str>) -> Vec<SystemPart> {
    let mut parts = vec![SystemPart { text: SYSTEM.to_owned(), cacheable: true }];
    if let Some(focus) = focus {
        parts.push(SystemPart { text: focus.to_owned(), cacheable: true });
    }
    parts
}

#[async_trait]
impl ReviewModel for AgentReviewer {
    fn name(&self) -> &str {
        self.model.model()
    }

    fn diff_budget_tokens(&self) -> usize {
        diff_budget(self.model.as_ref(), &self.config)
    }

    async fn review(&self, request: &ReviewRequest) -> Result<ModelReview, ModelError> {
        let mut conversation = Conversation::new(
            self.model.as_ref(),
            &self.config,
            system(None),
            request.tools.as_ref(),
        );
        let review = conversation.run(render_request(request), self.config.max_rounds).await?;
        Ok(ModelReview {
            review,
            usage: conversation.usage,
            cost_usd: conversation.cost_usd,
            model: conversation.model_name,
        })
    }
}

/// Security, performance and style/tests specialists in parallel, then a synthesis.
pub struct ParallelReviewer {
    model: Arc<dyn LanguageModel>,
    config: AgentConfig,
}

impl ParallelReviewer {
    /// Specialists and synthesis on `model`.
    pub fn new(model: Arc<dyn LanguageModel>, config: AgentConfig) -> Self {
        Self { model, config }
    }
}

/// Same place, same problem: a duplicate. The same start line and category, or the same title
/// on overlapping lines; a long finding does not swallow others of its category.
fn same_problem(a: &Finding, b: &Finding) -> bool {
    let overlaps = a.line <= b.end_line.unwrap_or(b.line) && b.line <= a.end_line.unwrap_or(a.line);
    a.path == b.path
        && ((a.line == b.line && a.category.eq_ignore_ascii_case(&b.category))
            || (overlaps && a.title.trim().eq_ignore_ascii_case(b.title.trim())))
}

/// Findings with duplicates merged: the most severe of each group is kept.
pub fn deduplicate(findings: Vec<Finding>) -> Vec<Finding> {
    let mut kept: Vec<Finding> = Vec::new();
    for finding in findings {
        match kept.iter_mut().find(|existing| same_problem(existing, &finding)) {
            Some(existing) if finding.severity > existing.severity => *existing = finding,
            Some(_) => {}
            None => kept.push(finding),
        }
    }
    kept
}

#[async_trait]
impl ReviewModel for ParallelReviewer {
    fn name(&self) -> &str {
        self.model.model()
    }

    fn diff_budget_tokens(&self) -> usize {
        diff_budget(self.model.as_ref(), &self.config)
    }

    async fn review(&self, request: &ReviewRequest) -> Result<ModelReview, ModelError> {
        let prompt = render_request(request);
        let rounds = self.config.max_rounds.min(4);
        let runs = join_all(SPECIALISTS.iter().map(|(name, focus)| {
            let prompt = prompt.clone();
            async move {
                let mut conversation = Conversation::new(
                    self.model.as_ref(),
                    &self.config,
                    system(Some(focus)),
                    request.tools.as_ref(),
                );
                let review = conversation.run(prompt, rounds).await;
                (*name, review, conversation.usage, conversation.cost_usd)
            }
        }))
        .await;
        let mut usage = Usage::default();
        let mut cost_usd = 0.0;
        let mut reports = Vec::new();
        let mut merged = Vec::new();
        let mut missing = Vec::new();
        for (name, review, spent, cost) in runs {
            usage += spent;
            cost_usd += cost;
            let review = match review {
                Ok(review) => review,
                // An outage retries the whole review later; one specialist's unusable answer
                // leaves the other two to stand.
                Err(error @ ModelError::Unavailable { .. }) => return Err(error),
                Err(error) => {
                    tracing::warn!(specialist = name, %error, "a specialist's review is missing");
                    missing.push(name);
                    continue;
                }
            };
            merged.extend(review.findings.iter().cloned());
            let mut report = review_to_json(&review);
            report["specialist"] = json!(name);
            reports.push(report);
        }
        if reports.is_empty() {
            return Err(ModelError::Malformed(
                "no specialist handed in a usable review".to_owned(),
            ));
        }
        let synthesis_prompt = format!(
            "{prompt}\n\nThe specialists reported:\n<untrusted-specialist-reports>\n{}\n</untrusted-specialist-reports>\n\nMerge them into one review and call `submit_review`.",
            defuse(&serde_json::to_string_pretty(&reports).unwrap_or_default())
        );
        let mut conversation = Conversation::new(
            self.model.as_ref(),
            &self.config,
            vec![SystemPart { text: SYNTHESIS.to_owned(), cacheable: true }],
            None,
        );
        let synthesised = conversation.run(synthesis_prompt, 1).await;
        usage += conversation.usage;
        cost_usd += conversation.cost_usd;
        let review = match synthesised {
            Ok(mut review) => {
                review.findings = deduplicate(review.findings);
                review
            }
            Err(error @ ModelError::Unavailable { .. }) => return Err(error),
            Err(error) => {
                // The specialists' findings stand on their own: merge them without the model.
                tracing::warn!(%error, "the synthesis failed; merging the specialists' findings");
                let findings = deduplicate(merged);
                let verdict = Verdict::from_findings(&findings);
                StructuredReview {
                    verdict,
                    confidence: 3,
                    summary: reports
                        .iter()
                        .filter_map(|report| report["summary"].as_str())
                        .collect::<Vec<_>>()
                        .join("\n\n"),
                    key_changes: Vec::new(),
                    findings,
                    semantic_issues: Vec::new(),
                }
            }
        };
        let mut review = review;
        if !missing.is_empty() {
            review.summary.push_str(&format!(
                "\n\n(The {} review could not be used; this review covers the others.)",
                missing.join(" and ")
            ));
        }
        Ok(ModelReview { review, usage, cost_usd, model: conversation.model_name })
    }
}
