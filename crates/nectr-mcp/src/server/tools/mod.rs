//! The MCP tools, one router per subject (`reviews`, `memory`, `graph`), and what they share:
//! strictly read arguments (`arguments`), the caller's repository, checked against their
//! connected repositories, and the errors a client sees. A bad argument (malformed, out of range) and a repository, review or pull
//! request the caller cannot see are `invalid_params` errors with a stable `code` in their
//! data; a failing store is an internal error whose cause is logged, never sent.

mod arguments;
mod graph;
mod memory;
mod reviews;

use std::fmt::Display;
use std::ops::RangeInclusive;

use nectr_domain::RepoFullName;
use nectr_domain::tenancy::TenancyError;
use rmcp::ErrorData;
use rmcp::handler::server::router::tool::ToolRouter;
use serde_json::json;

use super::auth::Caller;
use super::handler::NectrMcp;

pub(crate) use memory::MemoryBody;
pub(crate) use reviews::RecentReviews;

/// Every tool.
pub(crate) fn router() -> ToolRouter<NectrMcp> {
    NectrMcp::review_tools() + NectrMcp::memory_tools() + NectrMcp::graph_tools()
}

/// An argument the caller must fix.
pub(crate) fn invalid(detail: impl Into<String>) -> ErrorData {
    ErrorData::invalid_params(detail.into(), Some(json!({ "code": "invalid_arguments" })))
}

/// Something the arguments name that the caller cannot see (or that does not exist: the two are
/// answered alike).
pub(crate) fn unknown(code: &'static str, detail: impl Into<String>) -> ErrorData {
    ErrorData::invalid_params(detail.into(), Some(json!({ "code": code })))
}

/// A repository the caller has not connected, or that does not exist.
pub(crate) fn unknown_repository(repo: &str) -> ErrorData {
    unknown(
        "unknown_repository",
        format!("unknown repository {repo}: it is not one of your connected repositories"),
    )
}

/// A store failed while reading `what`: logged here, answered without the cause.
pub(crate) fn failed(what: &'static str, error: impl Display) -> ErrorData {
    tracing::error!(error = %error, what, "an MCP tool could not read Nectr's data");
    ErrorData::internal_error(format!("Nectr could not read {what}; try again later"), None)
}

/// `value` when it is within `range`.
pub(crate) fn within(name: &str, value: u32, range: RangeInclusive<u32>) -> Result<u32, ErrorData> {
    match range.contains(&value) {
        true => Ok(value),
        false => Err(invalid(format!(
            "{name} must be between {} and {}, not {value}",
            range.start(),
            range.end()
        ))),
    }
}

/// The repository named `text` (`owner/name`), when malformed an invalid argument.
pub(crate) fn repository(text: &str) -> Result<RepoFullName, ErrorData> {
    RepoFullName::parse(text.trim())
        .map_err(|error| invalid(format!("repo must be a repository's owner/name: {error}")))
}

impl NectrMcp {
    /// `repo` as the caller connected it, or `None` when they have not (or it does not exist).
    ///
    /// # Errors
    /// An internal error when the store fails.
    pub(crate) async fn connected_repo(
        &self,
        caller: Caller,
        repo: &RepoFullName,
    ) -> Result<Option<RepoFullName>, ErrorData> {
        match self.knowledge.tenancy.require_connected(caller.user, repo).await {
            Ok(installation) => Ok(Some(installation.repo)),
            Err(TenancyError::NotConnected(_)) => Ok(None),
            Err(TenancyError::Unexpected(error)) => Err(failed("your repositories", error)),
        }
    }

    /// The caller's connected repository named by the argument `text`.
    ///
    /// # Errors
    /// An invalid argument when it is malformed; [`unknown_repository`] when the caller has not
    /// connected it; an internal error when the store fails.
    pub(crate) async fn caller_repo(
        &self,
        caller: Caller,
        text: &str,
    ) -> Result<RepoFullName, ErrorData> {
        let repo = repository(text)?;
        self.connected_repo(caller, &repo).await?.ok_or_else(|| unknown_repository(repo.as_str()))
    }
}

/// Paths named by arguments: trimmed, not empty, at most `max` of them.
pub(crate) fn paths(paths: &[String], max: usize) -> Result<Vec<String>, ErrorData> {
    let trimmed: Vec<String> = paths.iter().map(|path| path.trim().to_owned()).collect();
    match (trimmed.len(), trimmed.iter().any(String::is_empty)) {
        (0, _) => Err(invalid("paths must name at least one file")),
        (count, _) if count > max => Err(invalid(format!("paths may name at most {max} files"))),
        (_, true) => Err(invalid("paths must not be empty strings")),
        _ => Ok(trimmed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_out_of_range_or_malformed_are_invalid_params() {
        assert_eq!(within("limit", 10, 1..=50).ok(), Some(10));
        let error = within("limit", 0, 1..=50).err().map(|error| error.message.to_string());
        assert_eq!(error.as_deref(), Some("limit must be between 1 and 50, not 0"));
        assert!(repository("owner/name").is_ok());
        assert!(repository("no-slash").is_err());
        assert!(paths(&[], 5).is_err());
        assert!(paths(&[" ".to_owned()], 5).is_err());
        assert!(paths(&vec!["a".to_owned(); 6], 5).is_err());
        assert_eq!(paths(&[" src/a.rs ".to_owned()], 5).ok(), Some(vec!["src/a.rs".to_owned()]));
    }

    #[test]
    fn refusals_carry_a_stable_code() {
        let error = unknown_repository("someone/else");
        assert_eq!(error.code, rmcp::model::ErrorCode::INVALID_PARAMS);
        assert_eq!(error.data, Some(json!({ "code": "unknown_repository" })));
    }
}
