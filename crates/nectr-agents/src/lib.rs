//! Nectr's reviewers.
//!
//! - [`OfflineReviewer`]: deterministic checks on the added lines of a diff that a careful human
//!   reviewer would also flag. No key, no network, no runtime.
//! - [`AgentReviewer`]: one agentic loop on a language model, with lookup tools and a structured
//!   `submit_review` answer; [`ParallelReviewer`]: security, performance and style/tests
//!   specialists in parallel, merged by a synthesis step.
//! - Providers behind the domain's `LanguageModel` port: [`AnthropicModel`] (Messages API) and
//!   [`OpenAiModel`] (any OpenAI-compatible chat-completions server), with [`FallbackModel`].

pub mod agent;
pub mod anthropic;
mod fallback;
pub mod http;
pub mod offline;
pub mod openai;
pub mod prompt;
pub mod structured;

pub use agent::{AgentConfig, AgentReviewer, ParallelReviewer};
pub use anthropic::{AnthropicConfig, AnthropicModel};
pub use fallback::FallbackModel;
pub use http::RetryPolicy;
pub use offline::OfflineReviewer;
pub use offline::rules::{Rule as OfflineRule, RuleSet as OfflineRules};
pub use openai::{OpenAiConfig, OpenAiModel, StructuredOutput};
