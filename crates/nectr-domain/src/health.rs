//! Health: probes of the dependencies Nectr needs, what is known of the optional context
//! providers, and the report `/health` serves.

use std::sync::Arc;

use async_trait::async_trait;

use crate::context::{ContextProvider, ProviderHealth};

/// A failed probe. Its text is for logs only; reports never carry it.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct ProbeError(#[from] pub anyhow::Error);

/// Checks that one dependency answers.
///
/// Contract: `probe` returns within a bounded time (adapters apply their own timeout) and never
/// panics.
#[async_trait]
pub trait HealthProbe: Send + Sync {
    /// Asks the dependency for a trivial answer.
    ///
    /// # Errors
    /// [`ProbeError`] when it does not answer correctly in time.
    async fn probe(&self) -> Result<(), ProbeError>;
}

/// The state of one dependency as reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DependencyHealth {
    /// It answered.
    Healthy,
    /// It is configured and did not answer.
    Unhealthy,
    /// Nectr runs without it.
    NotConfigured,
}

impl DependencyHealth {
    /// The reported text.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Healthy => "healthy",
            Self::Unhealthy => "unhealthy",
            Self::NotConfigured => "not configured",
        }
    }
}

/// The overall state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HealthStatus {
    /// Every configured dependency is healthy.
    Healthy,
    /// At least one configured dependency is not.
    Degraded,
}

impl HealthStatus {
    /// The reported text.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Healthy => "healthy",
            Self::Degraded => "degraded",
        }
    }
}

/// One configured context provider in a report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProviderReport {
    /// Its name (`linear`).
    pub name: String,
    /// How its last call went.
    pub health: ProviderHealth,
}

/// What `/health` reports about the dependencies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HealthReport {
    /// The overall state: the database's and Neo4j's. Context providers do not change it:
    /// reviews go on without them.
    pub status: HealthStatus,
    /// The main database.
    pub database: DependencyHealth,
    /// The Neo4j code graph.
    pub neo4j: DependencyHealth,
    /// Each configured context provider, in configuration order.
    pub context_providers: Vec<ProviderReport>,
}

/// Probes the dependencies and builds reports. Unconfigured dependencies have no probe.
#[derive(Clone)]
pub struct HealthService {
    database: Arc<dyn HealthProbe>,
    neo4j: Option<Arc<dyn HealthProbe>>,
    context_providers: Vec<Arc<dyn ContextProvider>>,
}

impl HealthService {
    /// A service over the database probe and, when Neo4j is configured, its probe.
    pub fn new(database: Arc<dyn HealthProbe>, neo4j: Option<Arc<dyn HealthProbe>>) -> Self {
        Self { database, neo4j, context_providers: Vec::new() }
    }

    /// The same, also reporting these context providers (the instances reviews use, so that
    /// their last calls are what is reported; none are asked anything for a report).
    #[must_use]
    pub fn with_context_providers(self, providers: Vec<Arc<dyn ContextProvider>>) -> Self {
        Self { context_providers: providers, ..self }
    }

    /// Probes the database and Neo4j concurrently, and reads what is known of each context
    /// provider.
    pub async fn report(&self) -> HealthReport {
        let neo4j_probe = async {
            match &self.neo4j {
                Some(probe) => health_of(probe.probe().await),
                None => DependencyHealth::NotConfigured,
            }
        };
        let (database, neo4j) = futures_util::join!(self.database.probe(), neo4j_probe);
        let database = health_of(database);
        let all_healthy = [database, neo4j].iter().all(|dependency| {
            matches!(dependency, DependencyHealth::Healthy | DependencyHealth::NotConfigured)
        });
        let status = if all_healthy { HealthStatus::Healthy } else { HealthStatus::Degraded };
        let context_providers = self
            .context_providers
            .iter()
            .map(|provider| ProviderReport {
                name: provider.name().to_owned(),
                health: provider.health(),
            })
            .collect();
        HealthReport { status, database, neo4j, context_providers }
    }

    /// Whether Nectr can serve requests: the database answers.
    pub async fn ready(&self) -> bool {
        self.database.probe().await.is_ok()
    }
}

fn health_of(result: Result<(), ProbeError>) -> DependencyHealth {
    match result {
        Ok(()) => DependencyHealth::Healthy,
        Err(_) => DependencyHealth::Unhealthy,
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::context::{ContextError, ContextFailure, ContextItem, ContextQuery};

    struct Answers;

    #[async_trait]
    impl HealthProbe for Answers {
        async fn probe(&self) -> Result<(), ProbeError> {
            Ok(())
        }
    }

    /// A provider whose last call is given, and which fails the test if it is asked anything.
    struct Known(&'static str, ProviderHealth);

    #[async_trait]
    impl ContextProvider for Known {
        fn name(&self) -> &str {
            self.0
        }

        fn health(&self) -> ProviderHealth {
            self.1
        }

        async fn context(&self, _query: &ContextQuery) -> Result<Vec<ContextItem>, ContextError> {
            panic!("a report asks no provider anything")
        }
    }

    fn report_of(service: &HealthService) -> HealthReport {
        futures_util::FutureExt::now_or_never(service.report())
            .unwrap_or_else(|| panic!("the report waited"))
    }

    #[test]
    fn providers_are_reported_by_their_last_call_and_leave_the_status_alone() {
        let at = Utc::now();
        let failed = ProviderHealth::Failed { at, failure: ContextFailure::Timeout };
        let service = HealthService::new(Arc::new(Answers), None).with_context_providers(vec![
            Arc::new(Known("linear", ProviderHealth::Answered { at })),
            Arc::new(Known("sentry", failed)),
            Arc::new(Known("slack", ProviderHealth::Unknown)),
        ]);
        let report = report_of(&service);
        assert_eq!(report.status, HealthStatus::Healthy, "context is optional");
        let reported: Vec<(&str, ProviderHealth)> = report
            .context_providers
            .iter()
            .map(|provider| (provider.name.as_str(), provider.health))
            .collect();
        assert_eq!(
            reported,
            [
                ("linear", ProviderHealth::Answered { at }),
                ("sentry", failed),
                ("slack", ProviderHealth::Unknown)
            ]
        );
        assert!(
            report_of(&HealthService::new(Arc::new(Answers), None)).context_providers.is_empty()
        );
    }

    #[test]
    fn a_calls_outcome_becomes_the_providers_health() {
        let at = Utc::now();
        assert_eq!(
            ProviderHealth::after(&Ok::<(), ContextError>(()), at),
            ProviderHealth::Answered { at }
        );
        let refused: Result<(), ContextError> = Err(ContextError::Refused("HTTP 401".to_owned()));
        assert_eq!(
            ProviderHealth::after(&refused, at),
            ProviderHealth::Failed { at, failure: ContextFailure::Refused }
        );
        assert_eq!(ContextFailure::Refused.as_str(), "refused");
    }
}
