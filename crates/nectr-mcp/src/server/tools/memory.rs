//! The memory tools: `search_memory` (what Nectr learned about a repository, by relevance),
//! `get_rules_for_path` (every project rule and the memories that apply to a file, chosen by
//! the same rule as a review's) and `get_contributor_stats` (the team view of the dashboard's
//! `/api/v1/analytics/contributors`: profiles, patterns, strengths and real pull-request counts).

use nectr_domain::memory::contributors::{self, Contributor, ContributorsError};
use nectr_domain::memory::{
    MAX_CONTENT_CHARS, Memory, MemorySearch, MemoryStoreError, MemoryType, Provenance, search_words,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, Json, RoleServer, tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::arguments::Parameters;
use super::{failed, invalid, within};
use crate::server::auth::Caller;
use crate::server::handler::NectrMcp;

/// The most memories `search_memory` returns.
const MAX_FOUND: u32 = 50;
/// The most contributors `get_contributor_stats` lists.
const MAX_CONTRIBUTORS: u32 = 100;
/// The longest path `get_rules_for_path` takes.
const MAX_PATH_CHARS: usize = 1_000;

fn default_found() -> u32 {
    10
}

fn default_contributors() -> u32 {
    20
}

/// A memory's kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum MemoryKind {
    /// A rule the team wrote; always part of a review.
    ProjectRule,
    /// A section of the project map (stack, structure, commands…).
    ProjectMap,
    /// A recurring pattern of the code base.
    ProjectPattern,
    /// A design decision.
    Decision,
    /// A module that needs extra care.
    RiskModule,
    /// A developer's recurring pattern.
    DeveloperPattern,
    /// A developer's strength.
    DeveloperStrength,
    /// A developer's profile.
    ContributorProfile,
}

impl From<MemoryKind> for MemoryType {
    fn from(kind: MemoryKind) -> Self {
        match kind {
            MemoryKind::ProjectRule => Self::ProjectRule,
            MemoryKind::ProjectMap => Self::ProjectMap,
            MemoryKind::ProjectPattern => Self::ProjectPattern,
            MemoryKind::Decision => Self::Decision,
            MemoryKind::RiskModule => Self::RiskModule,
            MemoryKind::DeveloperPattern => Self::DeveloperPattern,
            MemoryKind::DeveloperStrength => Self::DeveloperStrength,
            MemoryKind::ContributorProfile => Self::ContributorProfile,
        }
    }
}

impl From<MemoryType> for MemoryKind {
    fn from(kind: MemoryType) -> Self {
        match kind {
            MemoryType::ProjectRule => Self::ProjectRule,
            MemoryType::ProjectMap => Self::ProjectMap,
            MemoryType::ProjectPattern => Self::ProjectPattern,
            MemoryType::Decision => Self::Decision,
            MemoryType::RiskModule => Self::RiskModule,
            MemoryType::DeveloperPattern => Self::DeveloperPattern,
            MemoryType::DeveloperStrength => Self::DeveloperStrength,
            MemoryType::ContributorProfile => Self::ContributorProfile,
        }
    }
}

/// Arguments of `search_memory`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SearchArgs {
    /// The repository, `owner/name`: one you have connected to Nectr.
    repo: String,
    /// Free text; memories sharing more of its words rank first.
    #[schemars(length(min = 2, max = 4000))]
    query: String,
    /// Only memories of this kind.
    memory_type: Option<MemoryKind>,
    /// At most this many: 1 to 50 (default 10).
    #[serde(default = "default_found")]
    #[schemars(range(min = 1, max = 50))]
    limit: u32,
}

/// Arguments of `get_rules_for_path`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RulesArgs {
    /// The repository, `owner/name`: one you have connected to Nectr.
    repo: String,
    /// A file's path from the repository's root, for example `src/db.py`.
    #[schemars(length(min = 1, max = 1000))]
    path: String,
}

/// Arguments of `get_contributor_stats`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ContributorArgs {
    /// The repository, `owner/name`: one you have connected to Nectr.
    repo: String,
    /// At most this many contributors, most pull requests first: 1 to 100 (default 20).
    #[serde(default = "default_contributors")]
    #[schemars(range(min = 1, max = 100))]
    limit: u32,
}

/// Where a memory came from.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum SourceKind {
    /// Learned from the review of a pull request.
    PullRequest,
    /// Written or edited on the dashboard.
    User,
    /// Built by a scan of the default branch.
    Scan,
}

/// One memory.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct MemoryBody {
    /// Its id.
    id: String,
    /// Its kind.
    memory_type: MemoryKind,
    /// `project`, or the login of the developer it is about.
    about: String,
    /// Its text.
    content: String,
    /// Where it came from.
    source: SourceKind,
    /// The pull request it was learned from.
    source_pr: Option<u64>,
    /// How many reviews it was put into.
    hits: u64,
    /// When it was stored (RFC 3339).
    created_at: String,
    /// When its text last changed (RFC 3339).
    updated_at: String,
}

impl From<Memory> for MemoryBody {
    fn from(memory: Memory) -> Self {
        let (source, source_pr) = match memory.provenance {
            Provenance::PullRequest { number } => (SourceKind::PullRequest, Some(number)),
            Provenance::User { .. } => (SourceKind::User, None),
            Provenance::Scan => (SourceKind::Scan, None),
        };
        Self {
            id: memory.id.to_string(),
            memory_type: memory.memory_type.into(),
            about: memory.scope.user_id().to_owned(),
            content: memory.content,
            source,
            source_pr,
            hits: memory.hits,
            created_at: memory.created_at.to_rfc3339(),
            updated_at: memory.updated_at.to_rfc3339(),
        }
    }
}

fn bodies(memories: Vec<Memory>) -> Vec<MemoryBody> {
    memories.into_iter().map(MemoryBody::from).collect()
}

/// What a search found.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct SearchResult {
    /// `owner/name`.
    repo: String,
    /// The query.
    query: String,
    /// Best first.
    memories: Vec<MemoryBody>,
}

/// What applies to a file.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct RulesForPath {
    /// `owner/name`.
    repo: String,
    /// The file.
    path: String,
    /// Every project rule, oldest first: they apply to every file.
    rules: Vec<MemoryBody>,
    /// Patterns, decisions, risky modules and project-map sections relevant to the file, best
    /// first.
    related: Vec<MemoryBody>,
}

/// One developer of the repository.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct ContributorBody {
    /// Lower-case login.
    login: String,
    /// Pull requests Nectr was asked to review.
    pull_requests: u64,
    /// Head commits of those that were reviewed.
    commits: u64,
    /// The highest pull-request number among them.
    last_pull_request: u64,
    /// Their contributor profile (empty without one).
    profile_summary: String,
    /// Their recurring patterns.
    patterns: Vec<String>,
    /// Their strengths.
    strengths: Vec<String>,
}

impl From<Contributor> for ContributorBody {
    fn from(person: Contributor) -> Self {
        Self {
            login: person.username,
            pull_requests: person.activity.pull_requests,
            commits: person.activity.commits,
            last_pull_request: person.activity.last_pull_request,
            profile_summary: person.profile_summary,
            patterns: person.patterns,
            strengths: person.strengths,
        }
    }
}

/// The team of a repository.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct ContributorStats {
    /// `owner/name`.
    repo: String,
    /// Developers known in all.
    contributor_count: u64,
    /// Most pull requests first, then by login.
    contributors: Vec<ContributorBody>,
}

fn memory_failed(error: MemoryStoreError) -> ErrorData {
    failed("project memory", error)
}

#[tool_router(router = memory_tools, vis = "pub(crate)")]
impl NectrMcp {
    /// Searches what Nectr has learned about a repository (rules, patterns, decisions, risky
    /// modules, the project map, developers' profiles) for memories sharing words with a query.
    #[tool(annotations(read_only_hint = true, open_world_hint = false))]
    async fn search_memory(
        &self,
        context: RequestContext<RoleServer>,
        Parameters(args): Parameters<SearchArgs>,
    ) -> Result<Json<SearchResult>, ErrorData> {
        let caller = Caller::of(&context.extensions)?;
        let limit = within("limit", args.limit, 1..=MAX_FOUND)?;
        let query = args.query.trim().to_owned();
        if query.chars().count() > MAX_CONTENT_CHARS {
            return Err(invalid(format!("query is longer than {MAX_CONTENT_CHARS} characters")));
        }
        if search_words(&query, 1).is_empty() {
            return Err(invalid("query needs a word of two letters or digits or more"));
        }
        let repo = self.caller_repo(caller, &args.repo).await?;
        let search = MemorySearch {
            query: query.clone(),
            types: args.memory_type.map(MemoryType::from).into_iter().collect(),
            scope: None,
            limit,
        };
        let found = self.knowledge.memories.search(&repo, &search).await.map_err(memory_failed)?;
        Ok(Json(SearchResult { repo: repo.as_str().to_owned(), query, memories: bodies(found) }))
    }

    /// What applies to one file of a repository: every project rule the team wrote, and the
    /// learned patterns, decisions and risky modules relevant to it, as a review of that file
    /// would be told.
    #[tool(annotations(read_only_hint = true, open_world_hint = false))]
    async fn get_rules_for_path(
        &self,
        context: RequestContext<RoleServer>,
        Parameters(args): Parameters<RulesArgs>,
    ) -> Result<Json<RulesForPath>, ErrorData> {
        let caller = Caller::of(&context.extensions)?;
        let path = args.path.trim().trim_start_matches('/').to_owned();
        match path.chars().count() {
            0 => return Err(invalid("path must name a file")),
            count if count > MAX_PATH_CHARS => {
                return Err(invalid(format!("path is longer than {MAX_PATH_CHARS} characters")));
            }
            _ => {}
        }
        let repo = self.caller_repo(caller, &args.repo).await?;
        let memories = self
            .knowledge
            .retrieval
            .for_paths(&repo, std::slice::from_ref(&path))
            .await
            .map_err(memory_failed)?;
        Ok(Json(RulesForPath {
            repo: repo.as_str().to_owned(),
            path,
            rules: bodies(memories.rules),
            related: bodies(memories.project),
        }))
    }

    /// The developers of a repository that Nectr knows: pull requests reviewed, commits, their
    /// profile, patterns and strengths, most active first.
    #[tool(annotations(read_only_hint = true, open_world_hint = false))]
    async fn get_contributor_stats(
        &self,
        context: RequestContext<RoleServer>,
        Parameters(args): Parameters<ContributorArgs>,
    ) -> Result<Json<ContributorStats>, ErrorData> {
        let caller = Caller::of(&context.extensions)?;
        let limit = within("limit", args.limit, 1..=MAX_CONTRIBUTORS)?;
        let repo = self.caller_repo(caller, &args.repo).await?;
        let knowledge = &self.knowledge;
        let everyone = contributors::contributors(&knowledge.memories, &knowledge.activity, &repo)
            .await
            .map_err(|error| match error {
                ContributorsError::Memory(error) => memory_failed(error),
                ContributorsError::Activity(error) => failed("the review records", error),
            })?;
        let count = everyone.len() as u64;
        Ok(Json(ContributorStats {
            repo: repo.as_str().to_owned(),
            contributor_count: count,
            contributors: everyone
                .into_iter()
                .take(limit as usize)
                .map(ContributorBody::from)
                .collect(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kinds_are_the_domains_memory_types() {
        for kind in MemoryType::ALL {
            let named = serde_json::to_value(MemoryKind::from(kind)).unwrap();
            assert_eq!(named, kind.as_str(), "{kind}");
            assert_eq!(MemoryType::from(MemoryKind::from(kind)), kind);
        }
    }
}
