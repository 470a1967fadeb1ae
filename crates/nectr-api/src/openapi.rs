//! `GET /api/openapi.json`: the OpenAPI 3.1 document of every route Nectr serves.
//!
//! The dashboard's routes (reviews, events, analytics, API keys) and logout are described where
//! they are handled, with `#[utoipa::path]`, and their JSON shapes by their response types. The
//! other routes (health, webhooks, the rest of sign-in, repositories, the MCP transports the
//! server mounts, this document) are listed in `OTHER_ROUTES`. A test compares the document
//! with the routes the application really registers.

use actix_web::{HttpResponse, web};
use serde::Serialize;
use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn};
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::{OpenApi as Document, Required};
use utoipa::{Modify, OpenApi, ToSchema};

use crate::get_only;

pub(crate) fn routes(config: &mut web::ServiceConfig) {
    config.service(get_only("/api/openapi.json", document_route));
}

/// The JSON body of every error.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ErrorDoc {
    /// A stable snake_case code, for example `invalid_query` or `not_found`.
    code: String,
    /// A message for people.
    detail: String,
}

/// How a route proves who calls it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Access {
    /// Anyone.
    Public,
    /// A session: the `access_token` cookie or `Authorization: Bearer` (a session JWT or an
    /// API key).
    Session,
    /// GitHub's HMAC signature (`X-Hub-Signature-256`).
    Signed,
    /// `Authorization: Bearer` with a personal API key only (the MCP transports: no cookie,
    /// no session JWT).
    ApiKey,
}

/// A route described here rather than at its handler.
struct Route {
    method: HttpMethod,
    path: &'static str,
    tag: &'static str,
    summary: &'static str,
    access: Access,
    /// Status codes and what they mean.
    responses: &'static [(&'static str, &'static str)],
}

/// Every route not described by `#[utoipa::path]`.
const OTHER_ROUTES: &[Route] = &[
    Route {
        method: HttpMethod::Get,
        path: "/health",
        tag: "health",
        summary: "The service, its version, uptime, the state of each dependency, and each context provider's last call",
        access: Access::Public,
        responses: &[("200", "The report")],
    },
    Route {
        method: HttpMethod::Get,
        path: "/health/live",
        tag: "health",
        summary: "Answers while the process runs",
        access: Access::Public,
        responses: &[("200", "Alive")],
    },
    Route {
        method: HttpMethod::Get,
        path: "/health/ready",
        tag: "health",
        summary: "Answers 503 while the database is unreachable",
        access: Access::Public,
        responses: &[("200", "Ready"), ("503", "The database is unreachable")],
    },
    Route {
        method: HttpMethod::Post,
        path: "/api/v1/webhooks/github",
        tag: "webhooks",
        summary: "A GitHub delivery, verified, stored once and queued",
        access: Access::Signed,
        responses: &[
            ("200", "Received, or a duplicate delivery"),
            ("400", "Signed but not JSON"),
            ("401", "No secret is known, a header is missing or the signature is wrong"),
            ("413", "Larger than 25 MB"),
        ],
    },
    Route {
        method: HttpMethod::Get,
        path: "/auth/github",
        tag: "auth",
        summary: "Starts GitHub sign-in: redirects to GitHub with a state bound to this browser",
        access: Access::Public,
        responses: &[("302", "To GitHub's authorize page"), ("503", "OAuth is not configured")],
    },
    Route {
        method: HttpMethod::Get,
        path: "/auth/github/callback",
        tag: "auth",
        summary: "GitHub's return: checks the state, signs in, redirects to the dashboard",
        access: Access::Public,
        responses: &[("302", "To the dashboard, or to the frontend with the reason")],
    },
    Route {
        method: HttpMethod::Get,
        path: "/auth/github/reconnect",
        tag: "auth",
        summary: "Revokes the GitHub grant and starts sign-in again (organisation access)",
        access: Access::Session,
        responses: &[("302", "To GitHub's authorize page"), ("401", "Not signed in")],
    },
    Route {
        method: HttpMethod::Get,
        path: "/auth/me",
        tag: "auth",
        summary: "The signed-in user",
        access: Access::Session,
        responses: &[("200", "The user"), ("401", "Not signed in")],
    },
    Route {
        method: HttpMethod::Get,
        path: "/api/v1/repos",
        tag: "repos",
        summary: "The user's GitHub repositories (every page), with is_connected and installation_id",
        access: Access::Session,
        responses: &[("200", "The repositories"), ("401", "Not signed in")],
    },
    Route {
        method: HttpMethod::Post,
        path: "/api/v1/repos/{owner}/{repo}/install",
        tag: "repos",
        summary: "Connects a repository: creates (or shares) Nectr's webhook with a fresh secret",
        access: Access::Session,
        responses: &[
            ("200", "Connected"),
            ("400", "Connected already, or a bad name"),
            ("401", "Not signed in"),
            ("403", "A cookie from an origin not allowed"),
            ("404", "No such repository for this user"),
        ],
    },
    Route {
        method: HttpMethod::Delete,
        path: "/api/v1/repos/{owner}/{repo}/install",
        tag: "repos",
        summary: "Disconnects a repository; removes the webhook when no other user has it connected",
        access: Access::Session,
        responses: &[("200", "Disconnected"), ("401", "Not signed in"), ("404", "Not connected")],
    },
    Route {
        method: HttpMethod::Get,
        path: "/api/v1/repos/{owner}/{repo}/files",
        tag: "graph",
        summary: "The indexed files of the default branch, with the reviewed pull requests touching each",
        access: Access::Session,
        responses: &[
            ("200", "`{repo, files, count}`"),
            ("401", "Not signed in"),
            ("404", "Not connected"),
        ],
    },
    Route {
        method: HttpMethod::Get,
        path: "/api/v1/repos/{owner}/{repo}/graph",
        tag: "graph",
        summary: "The repository graph: the most touched files and the import and co-change links between them",
        access: Access::Session,
        responses: &[
            ("200", "`{repo, nodes, links}`"),
            ("401", "Not signed in"),
            ("404", "Not connected"),
        ],
    },
    Route {
        method: HttpMethod::Post,
        path: "/api/v1/repos/{owner}/{repo}/rescan",
        tag: "graph",
        summary: "Starts a scan of the default branch into the code graph, in the background",
        access: Access::Session,
        responses: &[
            ("200", "`{status, repo, files_indexed, scan}`"),
            ("401", "Not signed in"),
            ("403", "A cookie from an origin not allowed"),
            ("404", "Not connected"),
        ],
    },
    Route {
        method: HttpMethod::Get,
        path: "/api/v1/repos/{owner}/{repo}/rescan",
        tag: "graph",
        summary: "The latest scan's progress and the last completed scan's count",
        access: Access::Session,
        responses: &[
            ("200", "`{status, repo, files_indexed, scan}`"),
            ("401", "Not signed in"),
            ("404", "Not connected"),
        ],
    },
    Route {
        method: HttpMethod::Get,
        path: "/api/v1/analytics/graph",
        tag: "graph",
        summary: "Repository intelligence (`repo=owner/name`): languages, hotspots, high-risk and untouched files, ownership, expertise, contributors",
        access: Access::Session,
        responses: &[
            ("200", "The figures; a part that failed is empty"),
            ("400", "`repo` is not owner/name"),
            ("401", "Not signed in"),
            ("404", "Not connected"),
        ],
    },
    Route {
        method: HttpMethod::Get,
        path: "/api/v1/memory",
        tag: "memory",
        summary: "Lists a connected repository's memories (`repo`, optional `memory_type`, `page`, `per_page`)",
        access: Access::Session,
        responses: &[
            ("200", "`{memories, count, total}`"),
            ("400", "A bad parameter"),
            ("401", "Not signed in"),
            ("404", "Not connected"),
        ],
    },
    Route {
        method: HttpMethod::Post,
        path: "/api/v1/memory",
        tag: "memory",
        summary: "Adds a memory (`{repo, content, memory_type}`; `project_rule` by default)",
        access: Access::Session,
        responses: &[
            ("200", "`{id, status, memory}`"),
            ("400", "Empty or too long, or a type Nectr writes itself"),
            ("401", "Not signed in"),
            ("404", "Not connected"),
        ],
    },
    Route {
        method: HttpMethod::Get,
        path: "/api/v1/memory/stats",
        tag: "memory",
        summary: "Counts a repository's memories per type",
        access: Access::Session,
        responses: &[
            ("200", "`{repo, total, by_type}`"),
            ("401", "Not signed in"),
            ("404", "Not connected"),
        ],
    },
    Route {
        method: HttpMethod::Get,
        path: "/api/v1/memory/project-map",
        tag: "memory",
        summary: "The repository's project map, one memory per section",
        access: Access::Session,
        responses: &[
            ("200", "`{memories, count, total}`"),
            ("401", "Not signed in"),
            ("404", "Not connected"),
        ],
    },
    Route {
        method: HttpMethod::Post,
        path: "/api/v1/memory/rescan",
        tag: "memory",
        summary: "Rebuilds the project map from the default branch, replacing the old one",
        access: Access::Session,
        responses: &[
            ("200", "`{status, repo, sections}`"),
            ("401", "Not signed in"),
            ("404", "Not connected"),
            ("502", "GitHub could not be read"),
        ],
    },
    Route {
        method: HttpMethod::Patch,
        path: "/api/v1/memory/{id}",
        tag: "memory",
        summary: "Edits a memory of the repository in `repo` (`{content}`)",
        access: Access::Session,
        responses: &[
            ("200", "The memory"),
            ("400", "Empty or too long"),
            ("401", "Not signed in"),
            ("404", "Not connected, or no such memory in it"),
        ],
    },
    Route {
        method: HttpMethod::Delete,
        path: "/api/v1/memory/{id}",
        tag: "memory",
        summary: "Deletes a memory of the repository in `repo`",
        access: Access::Session,
        responses: &[
            ("200", "`{status: deleted}`"),
            ("401", "Not signed in"),
            ("404", "Not connected, or no such memory in it"),
        ],
    },
    Route {
        method: HttpMethod::Get,
        path: "/api/v1/analytics/contributors",
        tag: "memory",
        summary: "The team view: contributor profiles, patterns and strengths, with reviewed pull requests per author",
        access: Access::Session,
        responses: &[
            ("200", "`{repo, contributor_count, page, per_page, total_pages, contributors}`"),
            ("400", "A bad page"),
            ("401", "Not signed in"),
            ("404", "Not connected"),
        ],
    },
    Route {
        method: HttpMethod::Post,
        path: "/mcp",
        tag: "mcp",
        summary: "MCP over Streamable HTTP: a JSON-RPC message; an `initialize` without `Mcp-Session-Id` opens a session (its id in the answer's `Mcp-Session-Id`), later messages name it",
        access: Access::ApiKey,
        responses: &[
            ("200", "The answer, as JSON or as an event stream"),
            ("202", "A notification or response, accepted"),
            ("401", "No API key, or an unknown or revoked one"),
            ("403", "A Host or Origin not allowed, or another user's session"),
            ("404", "No such session (never opened, or ended)"),
            ("429", "The key's user holds the most open MCP sessions allowed"),
        ],
    },
    Route {
        method: HttpMethod::Get,
        path: "/mcp",
        tag: "mcp",
        summary: "MCP over Streamable HTTP: the event stream of the session in `Mcp-Session-Id`",
        access: Access::ApiKey,
        responses: &[
            ("200", "The session's server-sent events"),
            ("401", "No API key, or an unknown or revoked one"),
            ("403", "A Host or Origin not allowed, or another user's session"),
            ("404", "No such session"),
        ],
    },
    Route {
        method: HttpMethod::Delete,
        path: "/mcp",
        tag: "mcp",
        summary: "MCP over Streamable HTTP: ends the session in `Mcp-Session-Id`, freeing its place",
        access: Access::ApiKey,
        responses: &[
            ("202", "Ended"),
            ("401", "No API key, or an unknown or revoked one"),
            ("403", "A Host or Origin not allowed, or another user's session"),
            ("404", "No such session"),
        ],
    },
    Route {
        method: HttpMethod::Get,
        path: "/mcp/sse",
        tag: "mcp",
        summary: "MCP over the legacy HTTP+SSE transport: opens a session; its first event (`endpoint`) names where to post its messages, and answers come as `message` events",
        access: Access::ApiKey,
        responses: &[
            ("200", "The session's server-sent events"),
            ("401", "No API key, or an unknown or revoked one"),
            ("403", "A Host or Origin not allowed"),
            ("429", "The key's user holds the most open MCP sessions allowed"),
        ],
    },
    Route {
        method: HttpMethod::Post,
        path: "/mcp/messages",
        tag: "mcp",
        summary: "MCP over the legacy HTTP+SSE transport: a JSON-RPC message for the session in `session_id` (also reached as `/mcp/messages/`, the endpoint the stream announces), answered on its event stream",
        access: Access::ApiKey,
        responses: &[
            ("202", "Accepted; the answer follows on the event stream"),
            ("400", "No `session_id`, or not a JSON-RPC message"),
            ("401", "No API key, or an unknown or revoked one"),
            ("403", "A Host or Origin not allowed, or another user's session"),
            ("404", "No such session"),
        ],
    },
    Route {
        method: HttpMethod::Get,
        path: "/api/openapi.json",
        tag: "meta",
        summary: "This document",
        access: Access::Public,
        responses: &[("200", "The OpenAPI 3.1 document")],
    },
];

#[derive(OpenApi)]
#[openapi(
    info(title = "Nectr", description = "A self-hosted AI pull-request reviewer."),
    paths(
        crate::reviews::list,
        crate::reviews::one,
        crate::events::list,
        crate::events::one,
        crate::analytics::summary,
        crate::analytics::timeline,
        crate::analytics::insights,
        crate::api_keys::list,
        crate::api_keys::create,
        crate::api_keys::revoke,
        crate::auth::oauth::logout,
    ),
    components(schemas(ErrorDoc)),
    modifiers(&OtherRoutes, &Security)
)]
struct Described;

/// Adds [`OTHER_ROUTES`].
struct OtherRoutes;

/// The `{name}` parameters of a path.
fn path_parameters(path: &str) -> Vec<String> {
    path.split('/')
        .filter_map(|part| part.strip_prefix('{').and_then(|part| part.strip_suffix('}')))
        .map(str::to_owned)
        .collect()
}

impl Modify for OtherRoutes {
    fn modify(&self, document: &mut Document) {
        for route in OTHER_ROUTES {
            let mut operation = OperationBuilder::new().tag(route.tag).summary(Some(route.summary));
            for name in path_parameters(route.path) {
                operation = operation.parameter(
                    ParameterBuilder::new()
                        .name(name)
                        .parameter_in(ParameterIn::Path)
                        .required(Required::True),
                );
            }
            for (status, description) in route.responses {
                operation =
                    operation.response(*status, ResponseBuilder::new().description(*description));
            }
            operation = match route.access {
                Access::Session => operation
                    .security(SecurityRequirement::new("session_cookie", Vec::<String>::new()))
                    .security(SecurityRequirement::new("bearer", Vec::<String>::new())),
                Access::Signed => operation
                    .security(SecurityRequirement::new("github_signature", Vec::<String>::new())),
                Access::ApiKey => {
                    operation.security(SecurityRequirement::new("api_key", Vec::<String>::new()))
                }
                Access::Public => operation,
            };
            document.paths.add_path_operation(route.path, vec![route.method.clone()], operation);
        }
    }
}

/// The security schemes the routes name.
struct Security;

impl Modify for Security {
    fn modify(&self, document: &mut Document) {
        let components = document.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "session_cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new("access_token"))),
        );
        let mut bearer = Http::new(HttpAuthScheme::Bearer);
        bearer.bearer_format = Some("JWT".to_owned());
        bearer.description = Some(
            "A session JWT, or a personal API key (`nectr_…`, see `/api/v1/api-keys`)".to_owned(),
        );
        components.add_security_scheme("bearer", SecurityScheme::Http(bearer));
        let mut api_key = Http::new(HttpAuthScheme::Bearer);
        api_key.description = Some(
            "A personal API key (`nectr_…`, see `/api/v1/api-keys`); the MCP transports take nothing else"
                .to_owned(),
        );
        components.add_security_scheme("api_key", SecurityScheme::Http(api_key));
        components.add_security_scheme(
            "github_signature",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-Hub-Signature-256"))),
        );
    }
}

/// The whole document, with the version of this Nectr.
pub fn document(version: &str) -> Document {
    let mut document = Described::openapi();
    version.clone_into(&mut document.info.version);
    document
}

async fn document_route(state: web::Data<crate::ApiState>) -> HttpResponse {
    HttpResponse::Ok().json(document(&state.config.version))
}
