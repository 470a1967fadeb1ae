//! The code-graph tools: `get_file_experts` (who touched these files most in reviewed pull
//! requests) and `get_blast_radius` (the files importing these, one and two hops away, from the
//! last scan of the default branch): the same queries a review's context is built from.

use nectr_domain::graph::{BlastRadius, FileExpert, GraphError, MAX_QUERY_PATHS, query_paths};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, Json, RoleServer, tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::arguments::Parameters;
use super::{failed, paths, within};
use crate::server::auth::Caller;
use crate::server::handler::NectrMcp;

/// The most experts `get_file_experts` lists.
const MAX_EXPERTS: u32 = 50;
/// The most files of each hop `get_blast_radius` lists.
const MAX_DEPENDENTS: u32 = 500;

fn default_experts() -> u32 {
    10
}

fn default_dependents() -> u32 {
    50
}

/// Arguments of `get_file_experts`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ExpertsArgs {
    /// The repository, `owner/name`: one you have connected to Nectr.
    repo: String,
    /// Files, by path from the repository's root (1 to 200).
    #[schemars(length(min = 1, max = 200))]
    paths: Vec<String>,
    /// At most this many developers, most touches first: 1 to 50 (default 10).
    #[serde(default = "default_experts")]
    #[schemars(range(min = 1, max = 50))]
    limit: u32,
}

/// Arguments of `get_blast_radius`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct BlastArgs {
    /// The repository, `owner/name`: one you have connected to Nectr.
    repo: String,
    /// The changed files, by path from the repository's root (1 to 200).
    #[schemars(length(min = 1, max = 200))]
    paths: Vec<String>,
    /// At most this many files of each hop, by path: 1 to 500 (default 50).
    #[serde(default = "default_dependents")]
    #[schemars(range(min = 1, max = 500))]
    limit: u32,
}

/// A developer who touched the files.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct ExpertBody {
    /// Their login.
    login: String,
    /// Touches of the files by their reviewed pull requests.
    touches: u64,
}

impl From<FileExpert> for ExpertBody {
    fn from(expert: FileExpert) -> Self {
        Self { login: expert.login, touches: expert.touches }
    }
}

/// Who knows the files.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct FileExperts {
    /// `owner/name`.
    repo: String,
    /// The files asked about.
    paths: Vec<String>,
    /// Most touches first.
    experts: Vec<ExpertBody>,
}

/// What depends on the files.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct BlastRadiusBody {
    /// `owner/name`.
    repo: String,
    /// The files asked about.
    paths: Vec<String>,
    /// The default branch's commit the graph was built from; absent before the first scan
    /// (then nothing is known to depend on anything).
    scanned_commit: Option<String>,
    /// Files importing one of the files, by path.
    direct: Vec<String>,
    /// Files importing those (two hops), neither asked about nor direct, by path.
    transitive: Vec<String>,
}

fn graph_failed(error: GraphError) -> ErrorData {
    failed("the code graph", error)
}

#[tool_router(router = graph_tools, vis = "pub(crate)")]
impl NectrMcp {
    /// The developers who know files best: the authors of reviewed pull requests that touched
    /// them, most touches first.
    #[tool(annotations(read_only_hint = true, open_world_hint = false))]
    async fn get_file_experts(
        &self,
        context: RequestContext<RoleServer>,
        Parameters(args): Parameters<ExpertsArgs>,
    ) -> Result<Json<FileExperts>, ErrorData> {
        let caller = Caller::of(&context.extensions)?;
        let limit = within("limit", args.limit, 1..=MAX_EXPERTS)?;
        let asked = query_paths(&paths(&args.paths, MAX_QUERY_PATHS)?);
        let repo = self.caller_repo(caller, &args.repo).await?;
        let experts =
            self.knowledge.graph.file_experts(&repo, &asked, limit).await.map_err(graph_failed)?;
        Ok(Json(FileExperts {
            repo: repo.as_str().to_owned(),
            paths: asked,
            experts: experts.into_iter().map(ExpertBody::from).collect(),
        }))
    }

    /// The blast radius of changing files: the files that import them (direct) and the files
    /// that import those (transitive), from the code graph of the default branch.
    #[tool(annotations(read_only_hint = true, open_world_hint = false))]
    async fn get_blast_radius(
        &self,
        context: RequestContext<RoleServer>,
        Parameters(args): Parameters<BlastArgs>,
    ) -> Result<Json<BlastRadiusBody>, ErrorData> {
        let caller = Caller::of(&context.extensions)?;
        let limit = within("limit", args.limit, 1..=MAX_DEPENDENTS)?;
        let asked = query_paths(&paths(&args.paths, MAX_QUERY_PATHS)?);
        let repo = self.caller_repo(caller, &args.repo).await?;
        let graph = &self.knowledge.graph;
        let scan = graph.scan_record(&repo).await.map_err(graph_failed)?;
        let BlastRadius { direct, transitive } =
            graph.dependents(&repo, &asked, limit).await.map_err(graph_failed)?;
        Ok(Json(BlastRadiusBody {
            repo: repo.as_str().to_owned(),
            paths: asked,
            scanned_commit: scan.map(|scan| scan.commit),
            direct,
            transitive,
        }))
    }
}
