//! Project memory's settings and the choice of its store: Mem0 when `MEM0_API_KEY` is set, else
//! the embedded SQL tables of the main database. Also builds the pipeline's `ReviewMemory`, which
//! learns with the configured model (none with the offline reviewer), and chooses the model that
//! writes the project map's summary (the same one).

use std::sync::Arc;
use std::time::Duration;

use nectr_domain::llm::LanguageModel;
use nectr_domain::memory::MemoryStore;
use nectr_domain::memory::extraction::MemoryExtractor;
use nectr_domain::memory::retrieval::{MemoryBudget, MemoryRetrieval};
use nectr_domain::memory::review::ReviewMemory;
use nectr_domain::secret::redacted;
use nectr_memory::{Mem0Config, Mem0Store};
use nectr_persistence::SeaOrmStore;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use crate::settings::ReviewSettings;

/// `[memory]`: where memories live and how much of them a review takes in.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct MemorySettings {
    /// `MEM0_API_KEY`: memories live on the Mem0 platform (else in the main database).
    #[serde(serialize_with = "redacted::optional_secret")]
    pub mem0_api_key: Option<SecretString>,
    /// The Mem0 server.
    pub mem0_base_url: String,
    /// Time allowed for one Mem0 request.
    pub mem0_timeout_seconds: u64,
    /// Retries of a Mem0 request after the first attempt.
    pub mem0_retries: u32,
    /// At most this many project memories per review, besides every project rule.
    pub review_project_memories: u32,
    /// At most this many memories about the author per review.
    pub review_developer_memories: u32,
    /// At most this many characters of memories per review: the project rules first, oldest
    /// first (the prompt says how many did not fit), then the others.
    pub review_memory_chars: usize,
}

impl Default for MemorySettings {
    fn default() -> Self {
        let budget = MemoryBudget::default();
        Self {
            mem0_api_key: None,
            mem0_base_url: "https://api.mem0.ai".to_owned(),
            mem0_timeout_seconds: 15,
            mem0_retries: 3,
            review_project_memories: budget.project,
            review_developer_memories: budget.developer,
            review_memory_chars: budget.chars,
        }
    }
}

impl MemorySettings {
    /// The review's memory budget.
    pub fn budget(&self) -> MemoryBudget {
        MemoryBudget {
            project: self.review_project_memories,
            developer: self.review_developer_memories,
            chars: self.review_memory_chars,
        }
    }
}

/// The memory store the settings choose: Mem0 with a key, else the embedded store on `store`.
///
/// # Errors
/// When Mem0's HTTP client cannot be built.
pub fn memory_store(
    settings: &MemorySettings,
    store: &Arc<SeaOrmStore>,
) -> anyhow::Result<Arc<dyn MemoryStore>> {
    match &settings.mem0_api_key {
        Some(api_key) => Ok(Arc::new(Mem0Store::new(Mem0Config {
            base_url: settings.mem0_base_url.clone(),
            api_key: api_key.clone(),
            timeout: Duration::from_secs(settings.mem0_timeout_seconds.max(1)),
            retries: settings.mem0_retries,
            base_delay: Duration::from_millis(500),
        })?)),
        None => Ok(store.clone()),
    }
}

/// The pipeline's memory on `store`, learning with the configured model.
///
/// # Errors
/// When a chosen provider lacks its key, address or model.
pub fn review_memory(
    settings: &MemorySettings,
    review: &ReviewSettings,
    store: Arc<dyn MemoryStore>,
) -> anyhow::Result<ReviewMemory> {
    let model = crate::models::extraction_model(review)?;
    let retrieval = MemoryRetrieval::new(store.clone(), settings.budget());
    Ok(ReviewMemory::new(store.clone(), retrieval, MemoryExtractor::new(model, store)))
}

/// The model that writes the project map's prose summary: the one that learns from reviews
/// (none with the offline reviewer). A provider that cannot be built leaves the map without a
/// summary, and says so.
pub fn summary_model(review: &ReviewSettings) -> Option<Arc<dyn LanguageModel>> {
    match crate::models::extraction_model(review) {
        Ok(model) => model,
        Err(error) => {
            tracing::warn!(error = %error, "project maps get no summary: the model could not be built");
            None
        }
    }
}
