//! Read-only lookups a model may make while it reviews: the `ReviewTools` port, its repository
//! part (`RepositoryLookups`) and that part on the code host.

use std::fmt::Write as _;
use std::sync::Arc;

use async_trait::async_trait;

use crate::RepoFullName;
use crate::code_host::{CodeHost, FileContent, Identity};

/// The lookups in the repository itself, at the pull request's head: the part of the agent's
/// tools the code host answers. Failures are answers too (`Err` text goes back to the model as
/// a failed tool call).
#[async_trait]
pub trait RepositoryLookups: Send + Sync {
    /// A file at the pull request's head commit.
    async fn read_file(&self, path: &str) -> Result<String, String>;
    /// The latest commits that touched a file.
    async fn file_history(&self, path: &str) -> Result<String, String>;
    /// An issue's title, state, labels and body.
    async fn issue(&self, number: u64) -> Result<String, String>;
    /// Open issues whose title or body mention every word of `query`.
    async fn search_open_issues(&self, query: &str) -> Result<String, String>;
}

/// Every read-only lookup a model may make while reviewing, answered as text for the prompt:
/// the repository's, and those of memory, the code graph and the ticket tracker, which answer
/// an error when they are not configured.
#[async_trait]
pub trait ReviewTools: RepositoryLookups {
    /// Project memories relevant to `query`.
    async fn search_project_memory(&self, query: &str) -> Result<String, String>;
    /// What memory holds about `developer`, relevant to `query`.
    async fn search_developer_memory(&self, developer: &str, query: &str)
    -> Result<String, String>;
    /// From the code graph: the developers who touched `paths` and past pull requests touching
    /// them (the original's `get_file_history`).
    async fn graph_file_history(&self, paths: &[String]) -> Result<String, String>;
    /// From the code graph: the files importing `paths`, one and two hops away.
    async fn dependents(&self, paths: &[String]) -> Result<String, String>;
    /// Whether [`ReviewTools::search_tickets`] can answer (a ticket tracker is configured), so
    /// that the tool is offered.
    fn searches_tickets(&self) -> bool;
    /// Tickets of the team's tracker matching `query`.
    async fn search_tickets(&self, query: &str) -> Result<String, String>;
}

/// [`RepositoryLookups`] on the code host, at the pull request's head.
pub struct HostTools {
    code_host: Arc<dyn CodeHost>,
    who: Identity,
    repo: RepoFullName,
    head_sha: String,
}

impl HostTools {
    /// Tools acting as `who` on `repo` at `head_sha`.
    pub fn new(
        code_host: Arc<dyn CodeHost>,
        who: Identity,
        repo: RepoFullName,
        head_sha: String,
    ) -> Self {
        Self { code_host, who, repo, head_sha }
    }
}

#[async_trait]
impl RepositoryLookups for HostTools {
    async fn read_file(&self, path: &str) -> Result<String, String> {
        match self.code_host.file_content(&self.who, &self.repo, path, &self.head_sha).await {
            Ok(Some(FileContent::Text(text))) => Ok(text),
            Ok(Some(FileContent::Binary { size })) => {
                Err(format!("{path} is binary ({size} bytes)"))
            }
            Ok(Some(FileContent::TooLarge { size })) => {
                Err(format!("{path} is too large to read ({size} bytes)"))
            }
            Ok(None) => Err(format!("{path} does not exist at {}", self.head_sha)),
            Err(error) => Err(error.to_string()),
        }
    }

    async fn file_history(&self, path: &str) -> Result<String, String> {
        let commits = self
            .code_host
            .file_history(&self.who, &self.repo, path, &self.head_sha, 10)
            .await
            .map_err(|error| error.to_string())?;
        if commits.is_empty() {
            return Ok(format!("no commits touched {path} before this pull request"));
        }
        let mut text = String::new();
        for commit in commits {
            let date = commit.date.map(|date| date.format("%Y-%m-%d").to_string());
            let short = commit.sha.get(..7).unwrap_or(&commit.sha);
            let _ = writeln!(
                text,
                "{short} {} {}: {}",
                date.unwrap_or_default(),
                commit.author,
                commit.title
            );
        }
        Ok(text)
    }

    async fn issue(&self, number: u64) -> Result<String, String> {
        let issue = self
            .code_host
            .issue(&self.who, &self.repo, number)
            .await
            .map_err(|error| error.to_string())?
            .ok_or_else(|| format!("issue #{number} does not exist"))?;
        Ok(format!(
            "#{} [{:?}] {}\nlabels: {}\n\n{}",
            issue.number,
            issue.state,
            issue.title,
            issue.labels.join(", "),
            issue.body.unwrap_or_default()
        ))
    }

    async fn search_open_issues(&self, query: &str) -> Result<String, String> {
        let issues = self
            .code_host
            .open_issues(&self.who, &self.repo)
            .await
            .map_err(|error| error.to_string())?;
        let words: Vec<String> =
            query.split_whitespace().map(str::to_lowercase).filter(|word| word.len() > 1).collect();
        let mut text = String::new();
        for issue in issues {
            let haystack = format!("{} {}", issue.title, issue.body.as_deref().unwrap_or_default())
                .to_lowercase();
            if words.iter().all(|word| haystack.contains(word.as_str())) {
                let _ = writeln!(text, "#{} {}", issue.number, issue.title);
            }
        }
        if text.is_empty() {
            text = format!("no open issue mentions {query:?}");
        }
        Ok(text)
    }
}
