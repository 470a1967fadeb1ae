//! Health: probes of the dependencies Nectr needs, and the report `/health` serves.

use std::sync::Arc;

use async_trait::async_trait;

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

/// What `/health` reports about the dependencies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HealthReport {
    /// The overall state.
    pub status: HealthStatus,
    /// The main database.
    pub database: DependencyHealth,
    /// The Neo4j code graph.
    pub neo4j: DependencyHealth,
}

/// Probes the dependencies and builds reports. Unconfigured dependencies have no probe.
#[derive(Clone)]
pub struct HealthService {
    database: Arc<dyn HealthProbe>,
    neo4j: Option<Arc<dyn HealthProbe>>,
}

impl HealthService {
    /// A service over the database probe and, when Neo4j is configured, its probe.
    pub fn new(database: Arc<dyn HealthProbe>, neo4j: Option<Arc<dyn HealthProbe>>) -> Self {
        Self { database, neo4j }
    }

    /// Probes every configured dependency concurrently.
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
        HealthReport { status, database, neo4j }
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
