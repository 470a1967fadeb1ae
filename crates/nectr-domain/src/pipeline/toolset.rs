//! The agent's tool set: the repository's lookups and the optional parts (memory, the code
//! graph, the ticket search) composed into the one `ReviewTools`. A part that is absent answers
//! that it is not configured.

use std::sync::Arc;

use async_trait::async_trait;

use crate::context::review::TicketSearch;
use crate::graph::review::GraphLookups;
use crate::memory::review::MemoryLookups;

use super::{RepositoryLookups, ReviewTools};

/// [`ReviewTools`] from their parts: every repository lookup is the repository's, every other
/// lookup its part's.
#[derive(Clone)]
pub struct Toolset {
    repository: Arc<dyn RepositoryLookups>,
    memory: Option<MemoryLookups>,
    graph: Option<GraphLookups>,
    tickets: Option<TicketSearch>,
}

impl Toolset {
    /// The repository's lookups alone.
    pub fn new(repository: Arc<dyn RepositoryLookups>) -> Self {
        Self { repository, memory: None, graph: None, tickets: None }
    }

    /// With the memory lookups (`None`: memory is not configured).
    #[must_use]
    pub fn with_memory(mut self, memory: Option<MemoryLookups>) -> Self {
        self.memory = memory;
        self
    }

    /// With the code graph's lookups (`None`: the graph is not configured).
    #[must_use]
    pub fn with_graph(mut self, graph: Option<GraphLookups>) -> Self {
        self.graph = graph;
        self
    }

    /// With the ticket search (`None`: no provider searches tickets).
    #[must_use]
    pub fn with_tickets(mut self, tickets: Option<TicketSearch>) -> Self {
        self.tickets = tickets;
        self
    }
}

#[async_trait]
impl RepositoryLookups for Toolset {
    async fn read_file(&self, path: &str) -> Result<String, String> {
        self.repository.read_file(path).await
    }

    async fn file_history(&self, path: &str) -> Result<String, String> {
        self.repository.file_history(path).await
    }

    async fn issue(&self, number: u64) -> Result<String, String> {
        self.repository.issue(number).await
    }

    async fn search_open_issues(&self, query: &str) -> Result<String, String> {
        self.repository.search_open_issues(query).await
    }
}

#[async_trait]
impl ReviewTools for Toolset {
    async fn search_project_memory(&self, query: &str) -> Result<String, String> {
        match &self.memory {
            Some(memory) => memory.search_project_memory(query).await,
            None => Err(format!("project memory is not configured (asked for {query:?})")),
        }
    }

    async fn search_developer_memory(
        &self,
        developer: &str,
        query: &str,
    ) -> Result<String, String> {
        match &self.memory {
            Some(memory) => memory.search_developer_memory(developer, query).await,
            None => Err(format!(
                "developer memory is not configured (asked about @{developer}: {query:?})"
            )),
        }
    }

    async fn graph_file_history(&self, paths: &[String]) -> Result<String, String> {
        match &self.graph {
            Some(graph) => graph.file_history(paths).await,
            None => Err(graph_not_configured(paths)),
        }
    }

    async fn dependents(&self, paths: &[String]) -> Result<String, String> {
        match &self.graph {
            Some(graph) => graph.dependents(paths).await,
            None => Err(graph_not_configured(paths)),
        }
    }

    fn searches_tickets(&self) -> bool {
        self.tickets.is_some()
    }

    async fn search_tickets(&self, query: &str) -> Result<String, String> {
        match &self.tickets {
            Some(tickets) => tickets.search(query).await,
            None => Err(format!("no ticket tracker is configured (asked for {query:?})")),
        }
    }
}

/// What a graph lookup answers without a graph.
fn graph_not_configured(paths: &[String]) -> String {
    format!("the code graph is not configured (asked about {} files)", paths.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A repository whose every lookup names itself.
    struct Named;

    #[async_trait]
    impl RepositoryLookups for Named {
        async fn read_file(&self, path: &str) -> Result<String, String> {
            Ok(format!("read {path}"))
        }
        async fn file_history(&self, path: &str) -> Result<String, String> {
            Ok(format!("history of {path}"))
        }
        async fn issue(&self, number: u64) -> Result<String, String> {
            Err(format!("issue #{number} does not exist"))
        }
        async fn search_open_issues(&self, query: &str) -> Result<String, String> {
            Ok(format!("issues about {query}"))
        }
    }

    fn block_on<F: std::future::Future>(future: F) -> F::Output {
        futures_util::FutureExt::now_or_never(future).unwrap_or_else(|| panic!("the future waited"))
    }

    #[test]
    fn repository_lookups_are_the_repositorys_and_absent_parts_say_they_are_not_configured() {
        let tools = Toolset::new(Arc::new(Named)).with_memory(None).with_graph(None);
        assert_eq!(block_on(tools.read_file("a.rs")), Ok("read a.rs".to_owned()));
        assert_eq!(block_on(tools.file_history("a.rs")), Ok("history of a.rs".to_owned()));
        assert_eq!(block_on(tools.issue(7)), Err("issue #7 does not exist".to_owned()));
        assert_eq!(
            block_on(tools.search_open_issues("login")),
            Ok("issues about login".to_owned())
        );
        let paths = ["a.rs".to_owned(), "b.rs".to_owned()];
        assert_eq!(
            block_on(tools.search_project_memory("auth")),
            Err("project memory is not configured (asked for \"auth\")".to_owned())
        );
        assert_eq!(
            block_on(tools.search_developer_memory("octocat", "auth")),
            Err("developer memory is not configured (asked about @octocat: \"auth\")".to_owned())
        );
        assert_eq!(
            block_on(tools.graph_file_history(&paths)),
            Err("the code graph is not configured (asked about 2 files)".to_owned())
        );
        assert_eq!(
            block_on(tools.dependents(&paths)),
            Err("the code graph is not configured (asked about 2 files)".to_owned())
        );
        assert!(!tools.searches_tickets());
        assert_eq!(
            block_on(tools.search_tickets("login")),
            Err("no ticket tracker is configured (asked for \"login\")".to_owned())
        );
    }
}
