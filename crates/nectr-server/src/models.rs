//! Builds the configured reviewer: the offline rules, or an agent (one loop, or parallel
//! specialists) on Anthropic or an OpenAI-compatible server, with an optional fallback model.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use nectr_agents::{
    AgentConfig, AgentReviewer, AnthropicConfig, AnthropicModel, FallbackModel, OfflineReviewer,
    OfflineRule, OfflineRules, OpenAiConfig, OpenAiModel, ParallelReviewer, RetryPolicy,
};
use nectr_domain::llm::{LanguageModel, Price, price_for};
use nectr_domain::pipeline::ReviewModel;

use crate::settings::{Provider, ReviewSettings};

/// The provider `auto` resolves to.
pub fn resolve(settings: &ReviewSettings) -> Provider {
    match settings.provider {
        Provider::Auto if settings.anthropic.api_key.is_some() => Provider::Anthropic,
        Provider::Auto if settings.openai.base_url.is_some() && settings.openai.model.is_some() => {
            Provider::Openai
        }
        Provider::Auto => Provider::Offline,
        chosen => chosen,
    }
}

fn retry(settings: &ReviewSettings) -> RetryPolicy {
    RetryPolicy {
        retries: settings.retries,
        base_delay: Duration::from_millis(settings.retry_base_ms),
        max_wait: Duration::from_secs(settings.max_retry_wait_seconds),
    }
}

fn language_model(
    settings: &ReviewSettings,
    provider: Provider,
) -> anyhow::Result<Arc<dyn LanguageModel>> {
    let timeout = Duration::from_secs(settings.request_timeout_seconds);
    match provider {
        Provider::Anthropic => {
            let Some(api_key) = settings.anthropic.api_key.clone() else {
                bail!("the review provider is anthropic but ANTHROPIC_API_KEY is not set");
            };
            Ok(Arc::new(AnthropicModel::new(AnthropicConfig {
                api_key,
                model: settings.anthropic.model.clone(),
                base_url: settings.anthropic.base_url.clone(),
                context_tokens: settings.anthropic.context_tokens,
                timeout,
                retry: retry(settings),
            })?))
        }
        Provider::Openai => {
            let (Some(base_url), Some(model)) =
                (settings.openai.base_url.clone(), settings.openai.model.clone())
            else {
                bail!(
                    "the review provider is openai but OPENAI_BASE_URL and OPENAI_MODEL are not both set"
                );
            };
            Ok(Arc::new(OpenAiModel::new(OpenAiConfig {
                base_url,
                api_key: settings.openai.api_key.clone(),
                model,
                context_tokens: settings.openai.context_tokens,
                structured_output: settings.openai.structured_output,
                max_tokens_field: settings.openai.max_tokens_field.clone(),
                timeout,
                retry: retry(settings),
            })?))
        }
        Provider::Auto | Provider::Offline => {
            bail!("{provider:?} is not a language-model provider")
        }
    }
}

/// The offline reviewer with the rules `[review.offline]` switches on and off.
///
/// # Errors
/// When a rule id is unknown.
pub fn offline_reviewer(settings: &ReviewSettings) -> anyhow::Result<OfflineReviewer> {
    let parse = |ids: &[String]| -> anyhow::Result<Vec<OfflineRule>> {
        ids.iter()
            .map(|id| {
                OfflineRule::parse(id).with_context(|| {
                    let known: Vec<&str> = OfflineRule::ALL.iter().map(|rule| rule.id()).collect();
                    format!(
                        "[review.offline] names no rule {id:?}; the rules are {}",
                        known.join(", ")
                    )
                })
            })
            .collect()
    };
    let rules =
        OfflineRules::with(&parse(&settings.offline.enable)?, &parse(&settings.offline.disable)?);
    Ok(OfflineReviewer::new(rules))
}

/// The model that learns from reviews: the configured provider's, or none for the offline
/// reviewer (which learns nothing).
///
/// # Errors
/// When a chosen provider lacks its key, address or model.
pub fn extraction_model(
    settings: &ReviewSettings,
) -> anyhow::Result<Option<Arc<dyn LanguageModel>>> {
    match resolve(settings) {
        Provider::Offline | Provider::Auto => Ok(None),
        provider => language_model(settings, provider).map(Some),
    }
}

/// The reviewer the settings ask for.
///
/// # Errors
/// When a chosen provider lacks its key, address or model.
pub fn build_reviewer(settings: &ReviewSettings) -> anyhow::Result<Arc<dyn ReviewModel>> {
    let provider = resolve(settings);
    if provider == Provider::Offline {
        return Ok(Arc::new(offline_reviewer(settings)?));
    }
    let mut model = language_model(settings, provider)?;
    if let Some(fallback) = settings.fallback.filter(|fallback| *fallback != provider) {
        let fallback =
            language_model(settings, fallback).context("the fallback review provider")?;
        model = Arc::new(FallbackModel::new(model, fallback));
    }
    let config = AgentConfig {
        max_rounds: settings.max_rounds.max(1),
        max_tokens: settings.max_tokens.max(256),
        max_tool_result_chars: settings.max_tool_result_chars.max(500),
        prices: settings.prices.clone(),
    };
    tracing::info!(provider = ?provider, model = model.model(), parallel = settings.parallel_agents, "reviewer configured");
    if price_for(&settings.prices, model.model()) == Price::default() {
        tracing::info!(
            model = model.model(),
            "no price is configured for the model: costs are recorded as 0"
        );
    }
    Ok(if settings.parallel_agents {
        Arc::new(ParallelReviewer::new(model, config))
    } else {
        Arc::new(AgentReviewer::new(model, config))
    })
}

#[cfg(test)]
mod tests {
    use super::{extraction_model, resolve};
    use crate::settings::{Provider, ReviewSettings};
    use secrecy::SecretString;

    #[test]
    fn the_offline_reviewer_learns_with_no_model_and_a_provider_with_its_own() {
        let mut settings = ReviewSettings::default();
        assert!(extraction_model(&settings).unwrap().is_none(), "nothing configured: offline");
        settings.anthropic.api_key = Some(SecretString::from("sk-ant-test"));
        settings.provider = Provider::Offline;
        assert!(
            extraction_model(&settings).unwrap().is_none(),
            "the offline reviewer extracts nothing, even with a key at hand"
        );
        settings.provider = Provider::Auto;
        let model = extraction_model(&settings).unwrap().unwrap();
        assert_eq!(model.model(), settings.anthropic.model);
        settings.provider = Provider::Openai;
        assert!(extraction_model(&settings).is_err(), "openai without its address and model");
    }

    #[test]
    fn auto_prefers_anthropic_then_openai_then_offline() {
        let mut settings = ReviewSettings::default();
        assert_eq!(resolve(&settings), Provider::Offline);
        settings.openai.base_url = Some("http://localhost:11434/v1".to_owned());
        settings.openai.model = Some("qwen2.5-coder".to_owned());
        assert_eq!(resolve(&settings), Provider::Openai);
        settings.anthropic.api_key = Some(SecretString::from("sk-ant-test"));
        assert_eq!(resolve(&settings), Provider::Anthropic);
        settings.provider = Provider::Offline;
        assert_eq!(resolve(&settings), Provider::Offline);
    }
}
