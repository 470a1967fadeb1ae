//! Sentry through its MCP server: recent unresolved errors whose stack frames are in the files
//! a pull request changes, so the review looks harder there.
//!
//! Tools matched (see `tools`): a name with `search`/`find`/`list` and
//! `error`/`issue`/`event` (not an update, a resolve, a comment or a tag tool), preferring one
//! that takes a file (`filename`, `file`, `path`, `filePath`; Sentry's `find_errors
//! {filename}`), else one that takes a query (`query`, `naturalLanguageQuery`, `search`, `q`;
//! Sentry's `search_issues`), asked for `stack.filename:"<path>"` (or, in words, for errors
//! with a frame in the file). The organization and project are given to the arguments that
//! ask for them (`organizationSlug`, `projectSlug`, …): the configured ones, else the
//! repository's owner and name.

use async_trait::async_trait;
use futures_util::future::join_all;
use nectr_domain::context::{
    ContextError, ContextItem, ContextProvider, ContextQuery, ProductionError, ProviderHealth,
};
use serde_json::Value;

use super::McpServerConfig;
use super::records::{Record, records};
use super::session::McpClient;
use super::tools::{Chosen, Fill, ToolRule, choose, offered};

const SEARCH_ERRORS: ToolRule = ToolRule {
    words: &[&["search", "find", "list", "get"], &["error", "issue", "event", "exception"]],
    excluded: &[
        "update",
        "create",
        "delete",
        "resolve",
        "assign",
        "comment",
        "tag",
        "attachment",
        "detail",
        "organization",
        "project",
        "team",
        "release",
    ],
    arguments: &[
        "filename",
        "file",
        "path",
        "filePath",
        "file_path",
        "query",
        "naturalLanguageQuery",
        "search",
        "q",
    ],
};

/// Argument names that take a file, not a query.
const FILE_ARGUMENTS: [&str; 5] = ["filename", "file", "path", "filePath", "file_path"];
const ORGANIZATION_ARGUMENTS: &[&str] =
    &["organizationSlug", "organization_slug", "organization", "org", "orgSlug", "org_slug"];
const PROJECT_ARGUMENTS: &[&str] =
    &["projectSlug", "project_slug", "project", "projectSlugOrId", "projectId", "project_id"];

/// The most changed files asked about, and errors kept per file and in all.
const FILES_ASKED: usize = 5;
const ERRORS_PER_FILE: u32 = 3;
const ERRORS_KEPT: usize = 10;

/// Where the errors live in Sentry.
#[derive(Clone, Debug, Default)]
pub struct SentryScope {
    /// The organization's slug (else the repository's owner).
    pub organization: Option<String>,
    /// The project's slug (else the repository's name, as the original service did).
    pub project: Option<String>,
}

/// Production errors from Sentry's MCP server.
pub struct SentryProvider {
    client: McpClient,
    scope: SentryScope,
}

impl SentryProvider {
    /// Sentry at `server` (`SENTRY_MCP_URL`, `SENTRY_AUTH_TOKEN`), in `scope`.
    ///
    /// # Errors
    /// [`ContextError::Unexpected`] when the URL is invalid.
    pub fn new(server: McpServerConfig, scope: SentryScope) -> Result<Self, ContextError> {
        Ok(Self { client: McpClient::new(server)?, scope })
    }

    /// The underlying client.
    pub fn client(&self) -> &McpClient {
        &self.client
    }

    fn fill(&self, query: &ContextQuery) -> Fill {
        let organization =
            self.scope.organization.clone().unwrap_or_else(|| query.repo.owner().to_owned());
        let project = self.scope.project.clone().unwrap_or_else(|| query.repo.name().to_owned());
        Fill {
            values: vec![
                (ORGANIZATION_ARGUMENTS, Value::from(organization)),
                (PROJECT_ARGUMENTS, Value::from(project)),
            ],
        }
    }

    async fn errors(&self, query: &ContextQuery) -> Result<Vec<ContextItem>, ContextError> {
        let tools = self.client.tools().await?;
        let fill = self.fill(query);
        let search = choose(&tools, &SEARCH_ERRORS, &fill).into_iter().next().ok_or_else(|| {
            ContextError::NoSuitableTool(format!("no error search tool: {}", offered(&tools)))
        })?;
        let files: Vec<&String> = query.files.iter().take(FILES_ASKED).collect();
        let asked = join_all(files.iter().map(|path| {
            let arguments = search.arguments(search_value(&search, path), &fill, ERRORS_PER_FILE);
            self.client.call(&search.name, arguments)
        }))
        .await;
        let mut errors: Vec<ProductionError> = Vec::new();
        let mut failures = Vec::new();
        for (path, answer) in files.iter().zip(asked) {
            match answer {
                Ok(output) => {
                    let found = records(&output)
                        .iter()
                        .take(ERRORS_PER_FILE as usize)
                        .filter_map(|record| production_error(record, path))
                        .collect::<Vec<_>>();
                    for error in found {
                        let seen = errors.iter().any(|known| {
                            (known.id.is_some() && known.id == error.id)
                                || known.title == error.title
                        });
                        if !seen && errors.len() < ERRORS_KEPT {
                            errors.push(error);
                        }
                    }
                }
                Err(error) => failures.push(error),
            }
        }
        match (errors.is_empty(), failures.into_iter().next()) {
            (true, Some(failure)) => Err(failure),
            _ => Ok(errors.into_iter().map(ContextItem::Error).collect()),
        }
    }
}

/// What the chosen tool is asked for one file.
fn search_value(search: &Chosen, path: &str) -> Value {
    if FILE_ARGUMENTS.contains(&search.argument.as_str()) {
        return Value::from(path);
    }
    match search.argument.as_str() {
        "naturalLanguageQuery" => {
            Value::from(format!("unresolved errors with a stack frame in the file {path}"))
        }
        _ => Value::from(format!("is:unresolved stack.filename:\"{path}\"")),
    }
}

/// An error from a record the search for `path` answered (so one of its frames is in
/// `path`); `None` for a record without a title.
fn production_error(record: &Record, path: &str) -> Option<ProductionError> {
    let title = record.text(&["title", "description", "message", "name", "summary", "heading"])?;
    Some(ProductionError {
        id: record
            .text(&["shortId", "short_id", "issueId", "identifier", "id"])
            .or_else(|| record.text(&["heading"]).filter(|heading| *heading != title)),
        title,
        count: record.number(&["count", "occurrences", "events", "timesSeen", "eventCount"]),
        culprit: record.text(&["culprit", "location", "transaction"]),
        last_seen: record.time(&["lastSeen", "last_seen", "lastEvent"]),
        file: path.to_owned(),
        url: record.text(&["permalink", "url", "link"]),
    })
}

#[async_trait]
impl ContextProvider for SentryProvider {
    fn name(&self) -> &str {
        "sentry"
    }

    fn health(&self) -> ProviderHealth {
        self.client.health()
    }

    async fn context(&self, query: &ContextQuery) -> Result<Vec<ContextItem>, ContextError> {
        if query.files.is_empty() {
            return Ok(Vec::new());
        }
        super::within(&self.client, self.errors(query)).await
    }
}
