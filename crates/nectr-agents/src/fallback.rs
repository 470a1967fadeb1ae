//! A primary language model that hands over to a fallback while it is unavailable (rate limits,
//! overload, outages after its own retries); refusals and malformed answers are not papered over.

use std::sync::Arc;

use async_trait::async_trait;
use nectr_domain::llm::{ChatRequest, ChatResponse, LanguageModel, LlmError};

/// A primary model that hands over to a fallback when it is unavailable.
pub struct FallbackModel {
    primary: Arc<dyn LanguageModel>,
    fallback: Arc<dyn LanguageModel>,
}

impl FallbackModel {
    /// `primary`, then `fallback`.
    pub fn new(primary: Arc<dyn LanguageModel>, fallback: Arc<dyn LanguageModel>) -> Self {
        Self { primary, fallback }
    }
}

#[async_trait]
impl LanguageModel for FallbackModel {
    fn model(&self) -> &str {
        self.primary.model()
    }

    fn context_tokens(&self) -> u32 {
        self.primary.context_tokens().min(self.fallback.context_tokens())
    }

    async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, LlmError> {
        match self.primary.chat(request).await {
            Err(LlmError::Unavailable { message, .. }) => {
                tracing::warn!(primary = self.primary.model(), fallback = self.fallback.model(), %message, "the primary model is unavailable; using the fallback");
                self.fallback.chat(request).await
            }
            other => other,
        }
    }
}
