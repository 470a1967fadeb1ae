//! The MCP resources: for each repository the caller has connected, its latest reviews
//! (`nectr://repos/{owner}/{repo}/reviews`, the 20 newest, one per pull request) and its project
//! rules (`nectr://repos/{owner}/{repo}/rules`), as JSON. The owner and the name are separate
//! template variables, so `owner/name` matches (the original's single `{repo}` could not).
//! Reading a repository the caller has not connected is "resource not found", like one that
//! does not exist.

use nectr_domain::RepoFullName;
use nectr_domain::history::ReviewQuery;
use rmcp::ErrorData;
use rmcp::model::{
    ListResourceTemplatesResult, ListResourcesResult, ReadResourceResult, Resource,
    ResourceContents, ResourceTemplate,
};
use serde::Serialize;
use serde_json::json;

use super::Knowledge;
use super::auth::Caller;
use super::handler::NectrMcp;
use super::tools::{self, MemoryBody, RecentReviews};

/// Where every resource's URI starts.
const PREFIX: &str = "nectr://repos/";
/// How many reviews the reviews resource holds.
const REVIEWS: u32 = 20;
const JSON: &str = "application/json";

/// What a resource of a repository holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// The latest reviews.
    Reviews,
    /// The project rules.
    Rules,
}

impl Kind {
    const ALL: [Self; 2] = [Self::Reviews, Self::Rules];

    const fn segment(self) -> &'static str {
        match self {
            Self::Reviews => "reviews",
            Self::Rules => "rules",
        }
    }

    const fn describe(self) -> &'static str {
        match self {
            Self::Reviews => {
                "The 20 latest reviews, one per pull request, with verdicts and summaries"
            }
            Self::Rules => {
                "Every project rule the team wrote, oldest first; reviews always apply them"
            }
        }
    }
}

fn uri(repo: &str, kind: Kind) -> String {
    format!("{PREFIX}{repo}/{}", kind.segment())
}

/// The repository and kind a URI names, when it names one.
fn parse(uri: &str) -> Option<(RepoFullName, Kind)> {
    let rest = uri.strip_prefix(PREFIX)?;
    let (repo, segment) = rest.rsplit_once('/')?;
    let kind = Kind::ALL.into_iter().find(|kind| kind.segment() == segment)?;
    RepoFullName::parse(repo).ok().map(|repo| (repo, kind))
}

/// The resource templates.
pub(crate) fn templates() -> ListResourceTemplatesResult {
    let templates = Kind::ALL
        .into_iter()
        .map(|kind| {
            ResourceTemplate::new(
                format!("{PREFIX}{{owner}}/{{repo}}/{}", kind.segment()),
                format!("repository {}", kind.segment()),
            )
            .with_description(kind.describe())
            .with_mime_type(JSON)
        })
        .collect();
    ListResourceTemplatesResult::with_all_items(templates)
}

/// The caller's resources: two per connected repository.
///
/// # Errors
/// An internal error when the store fails.
pub(crate) async fn list(
    knowledge: &Knowledge,
    caller: Caller,
) -> Result<ListResourcesResult, ErrorData> {
    let connected = knowledge
        .tenancy
        .connected(caller.user)
        .await
        .map_err(|error| tools::failed("your repositories", error))?;
    let resources = connected
        .names()
        .iter()
        .flat_map(|repo| {
            Kind::ALL.into_iter().map(move |kind| {
                Resource::new(uri(repo.as_str(), kind), format!("{repo} {}", kind.segment()))
                    .with_description(kind.describe())
                    .with_mime_type(JSON)
            })
        })
        .collect();
    Ok(ListResourcesResult::with_all_items(resources))
}

/// A repository's project rules.
#[derive(Serialize)]
struct Rules {
    repo: String,
    rules: Vec<MemoryBody>,
}

fn unknown_resource(uri: &str) -> ErrorData {
    ErrorData::resource_not_found(
        format!("unknown resource {uri}: not a repository you have connected"),
        Some(json!({ "code": "unknown_resource", "uri": uri })),
    )
}

/// Reads a resource of one of the caller's repositories.
///
/// # Errors
/// Resource not found for a URI that names no resource, or a repository the caller has not
/// connected; an internal error when a store fails.
pub(crate) async fn read(
    handler: &NectrMcp,
    caller: Caller,
    uri: &str,
) -> Result<ReadResourceResult, ErrorData> {
    let (named, kind) = parse(uri).ok_or_else(|| unknown_resource(uri))?;
    let repo =
        handler.connected_repo(caller, &named).await?.ok_or_else(|| unknown_resource(uri))?;
    let knowledge = &handler.knowledge;
    let document = match kind {
        Kind::Reviews => {
            let query =
                ReviewQuery { limit: REVIEWS, repo: Some(repo.clone()), ..ReviewQuery::default() };
            let reviews = knowledge
                .history
                .reviews(caller.user, &query)
                .await
                .map_err(|error| tools::failed("the reviews", error))?;
            serde_json::to_string_pretty(&RecentReviews::new(&repo, reviews))
        }
        Kind::Rules => {
            let rules = knowledge
                .retrieval
                .rules(&repo)
                .await
                .map_err(|error| tools::failed("project memory", error))?;
            let rules = rules.into_iter().map(MemoryBody::from).collect();
            serde_json::to_string_pretty(&Rules { repo: repo.as_str().to_owned(), rules })
        }
    }
    .map_err(|error| tools::failed("the resource", error))?;
    Ok(ReadResourceResult::new(vec![ResourceContents::text(document, uri).with_mime_type(JSON)]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_uri_names_an_owner_a_repository_and_a_kind() {
        let (repo, kind) = parse("nectr://repos/alice-org/shop.web/reviews").unwrap();
        assert_eq!((repo.as_str(), kind), ("alice-org/shop.web", Kind::Reviews));
        assert_eq!(parse(&uri("a/b", Kind::Rules)).map(|(_, kind)| kind), Some(Kind::Rules));
        for bad in [
            "nectr://repos/shop/reviews",
            "nectr://repos/a/b/c/reviews",
            "nectr://repos/a/b/secrets",
            "file:///etc/passwd",
        ] {
            assert!(parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn templates_have_separate_owner_and_repo_variables() {
        let templates = templates().resource_templates;
        let uris: Vec<&str> =
            templates.iter().map(|template| template.uri_template.as_str()).collect();
        assert_eq!(
            uris,
            ["nectr://repos/{owner}/{repo}/reviews", "nectr://repos/{owner}/{repo}/rules"]
        );
    }
}
