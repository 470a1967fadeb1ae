//! The code graph's settings and the choice of its store: Neo4j when `NEO4J_URI` is set (or, as
//! the original service had it, `NEO4J_PASSWORD` with the default URI), else the embedded SQL
//! graph of the main database. With Neo4j, the schema is created before Nectr serves, and
//! `/health` probes it.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use nectr_domain::HealthProbe;
use nectr_domain::graph::CodeGraph;
use nectr_domain::secret::redacted;
use nectr_graph::{Neo4jConfig, Neo4jGraph};
use nectr_persistence::SeaOrmStore;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

/// The original service's Neo4j address, used when only `NEO4J_PASSWORD` is set.
pub const DEFAULT_NEO4J_URI: &str = "bolt://localhost:7687";

/// `[graph]`: where the code graph lives.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct GraphSettings {
    /// `NEO4J_URI`: the graph lives on this Neo4j (`bolt://`, `bolt+s://`, `neo4j://`,
    /// `neo4j+s://`); else in the main database.
    pub neo4j_uri: Option<String>,
    /// `NEO4J_USERNAME`.
    pub neo4j_username: String,
    /// `NEO4J_PASSWORD`; alone, it means Neo4j at [`DEFAULT_NEO4J_URI`].
    #[serde(serialize_with = "redacted::optional_secret")]
    pub neo4j_password: Option<SecretString>,
    /// The Neo4j database.
    pub neo4j_database: String,
    /// Longest time one Neo4j call may take, connecting included.
    pub neo4j_timeout_seconds: u64,
    /// Connections to Neo4j kept open at most.
    pub neo4j_max_connections: usize,
}

impl Default for GraphSettings {
    fn default() -> Self {
        Self {
            neo4j_uri: None,
            neo4j_username: "neo4j".to_owned(),
            neo4j_password: None,
            neo4j_database: "neo4j".to_owned(),
            neo4j_timeout_seconds: 30,
            neo4j_max_connections: 16,
        }
    }
}

impl GraphSettings {
    /// The Neo4j to use, if one is configured.
    pub fn neo4j(&self) -> Option<Neo4jConfig> {
        let uri = match (&self.neo4j_uri, &self.neo4j_password) {
            (Some(uri), _) => uri.clone(),
            (None, Some(_)) => DEFAULT_NEO4J_URI.to_owned(),
            (None, None) => return None,
        };
        let password = self.neo4j_password.clone().unwrap_or_else(|| SecretString::from(""));
        let mut config = Neo4jConfig::new(uri, self.neo4j_username.clone(), password);
        config.database = self.neo4j_database.clone();
        config.timeout = Duration::from_secs(self.neo4j_timeout_seconds.max(1));
        config.max_connections = self.neo4j_max_connections.max(1);
        Some(config)
    }
}

/// The code graph the settings chose, and its health probe when it is not the main database.
pub struct ChosenGraph {
    /// The graph.
    pub graph: Arc<dyn CodeGraph>,
    /// Neo4j's probe for `/health`; `None` for the embedded graph.
    pub probe: Option<Arc<dyn HealthProbe>>,
}

/// Neo4j with its schema in place when configured, else the embedded graph on `store`.
///
/// # Errors
/// When the Neo4j URI is unusable, or Neo4j cannot be reached or refuses the schema: Nectr does
/// not start with a graph it cannot write.
pub async fn code_graph(
    settings: &GraphSettings,
    store: &Arc<SeaOrmStore>,
) -> anyhow::Result<ChosenGraph> {
    let Some(config) = settings.neo4j() else {
        return Ok(ChosenGraph { graph: store.clone(), probe: None });
    };
    let uri = config.uri.clone();
    let graph = Neo4jGraph::connect(config).await?;
    graph
        .ensure_schema()
        .await
        .with_context(|| format!("cannot create the code graph's schema on Neo4j at {uri}"))?;
    tracing::info!(uri, "the code graph is on Neo4j");
    let graph = Arc::new(graph);
    Ok(ChosenGraph { graph: graph.clone(), probe: Some(graph) })
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;
    use crate::{ConfigSources, Settings};

    #[test]
    fn the_originals_variables_configure_neo4j_and_print_config_hides_the_password() {
        let environment = [
            ("NEO4J_URI", "bolt://graph:7687"),
            ("NEO4J_USERNAME", "nectr"),
            ("NEO4J_PASSWORD", "hunter2"),
            ("NECTR__GRAPH__NEO4J_TIMEOUT_SECONDS", "7"),
        ];
        let sources = ConfigSources {
            config_dir: None,
            dotenv: Default::default(),
            environment: environment
                .iter()
                .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
                .collect(),
        };
        let settings = Settings::load(&sources).unwrap();
        let config = settings.graph.neo4j().unwrap();
        assert_eq!((config.uri.as_str(), config.username.as_str()), ("bolt://graph:7687", "nectr"));
        assert_eq!(config.password.expose_secret(), "hunter2");
        assert_eq!(config.timeout, Duration::from_secs(7));
        let printed = settings.to_redacted_toml();
        assert!(printed.contains("[graph]"), "{printed}");
        assert!(!printed.contains("hunter2"), "{printed}");
        assert!(!format!("{settings:?}").contains("hunter2"));
    }

    #[test]
    fn neo4j_is_chosen_by_its_uri_or_as_the_original_did_by_its_password() {
        assert!(GraphSettings::default().neo4j().is_none());
        let by_uri = GraphSettings {
            neo4j_uri: Some("neo4j+s://graph.example:7687".to_owned()),
            ..GraphSettings::default()
        };
        let config = by_uri.neo4j().unwrap();
        assert_eq!(config.uri, "neo4j+s://graph.example:7687");
        assert_eq!(config.password.expose_secret(), "");
        let by_password = GraphSettings {
            neo4j_password: Some(SecretString::from("hunter2")),
            ..GraphSettings::default()
        };
        let config = by_password.neo4j().unwrap();
        assert_eq!((config.uri.as_str(), config.username.as_str()), (DEFAULT_NEO4J_URI, "neo4j"));
        assert_eq!(config.password.expose_secret(), "hunter2");
    }
}
