//! `NectrMcp`, the MCP server handler both transports serve: its identity and instructions,
//! the tool router (`tools`) and the resources (`resources`). It is stateless between
//! requests: each request says who its caller is, and everything is read for that caller.

use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::model::{
    Implementation, ListResourceTemplatesResult, ListResourcesResult, PaginatedRequestParams,
    ReadResourceRequestParams, ReadResourceResponse, ServerCapabilities, ServerConfig,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler, tool_handler};

use super::auth::Caller;
use super::{Knowledge, resources, tools};

/// What `initialize` tells a client about using Nectr.
const INSTRUCTIONS: &str = "Nectr reviews pull requests and remembers what it learns. \
    Every tool and resource answers only for repositories you have connected to Nectr, named \
    owner/name; start with get_recent_reviews or resources/list. get_review shows one review's \
    findings; get_pr_verdict the verdict on a pull request; get_repo_health a repository's recent \
    figures; get_contributor_stats, search_memory and get_rules_for_path what Nectr has learned; \
    get_file_experts and get_blast_radius what the code graph knows about files.";

/// Nectr's MCP server handler.
#[derive(Clone)]
pub(crate) struct NectrMcp {
    pub(crate) knowledge: Knowledge,
    tools: ToolRouter<Self>,
    version: String,
}

impl NectrMcp {
    /// The handler over `knowledge`, reporting `version`.
    pub(crate) fn new(knowledge: Knowledge, version: String) -> Self {
        Self { knowledge, tools: tools::router(), version }
    }
}

#[tool_handler(router = self.tools)]
impl ServerHandler for NectrMcp {
    fn get_info(&self) -> ServerConfig {
        let capabilities = ServerCapabilities::builder().enable_tools().enable_resources().build();
        ServerConfig::new(capabilities)
            .with_server_info(Implementation::new("nectr", &self.version).with_title("Nectr"))
            .with_instructions(INSTRUCTIONS)
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        let caller = Caller::of(&context.extensions)?;
        resources::list(&self.knowledge, caller).await
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, ErrorData> {
        Ok(resources::templates())
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        let caller = Caller::of(&context.extensions)?;
        Ok(resources::read(self, caller, &request.uri).await?.into())
    }
}
