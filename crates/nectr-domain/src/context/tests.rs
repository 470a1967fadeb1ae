//! Ticket keys, acceptance criteria, and gathering context from providers that answer, fail or
//! search tickets.

use std::sync::Arc;

use async_trait::async_trait;

use super::*;
use crate::pipeline::{RepositoryLookups, ReviewTools, Toolset};

#[test]
fn keys_come_from_the_title_the_branch_and_the_body_in_order() {
    let keys = ticket_keys(
        "ENG-123: fix the login redirect",
        "alice/eng-456-login-redirect",
        "Also closes ENG-123 and relates to OPS-7.\nSee PLAT2-99.",
    );
    assert_eq!(keys, ["ENG-123", "ENG-456", "OPS-7", "PLAT2-99"]);
}

#[test]
fn look_alikes_are_not_keys() {
    let body = "Use UTF-8 and SHA-256 per RFC-7231; COVID-19 is out of scope. \
                eng-12 in lower case is prose. A-1 is too short, ENG-0123 has a leading zero, \
                ENG-12345678 is too long, 9ENG-1 starts with a digit.";
    assert_eq!(ticket_keys("Bump serde", "feature-42", body), ["COVID-19"]);
    assert!(ticket_keys("", "release-2.1", "").is_empty());
    assert!(ticket_keys("", "dependabot/cargo/serde-1.0.200", "").is_empty());
}

#[test]
fn at_most_five_keys_are_taken() {
    let body = "A-1 AB-1 AB-2 AB-3 AB-4 AB-5 AB-6 AB-1";
    assert_eq!(ticket_keys("", "", body), ["AB-1", "AB-2", "AB-3", "AB-4", "AB-5"]);
}

#[test]
fn acceptance_criteria_are_read_from_their_section() {
    let description = "\
The login page loops.

## Acceptance criteria
- [ ] A signed-in user lands on the dashboard
- [x] The `next` parameter is honoured

* Only same-site `next` values are followed

## Notes
- not a criterion";
    assert_eq!(
        acceptance_criteria(description),
        [
            "A signed-in user lands on the dashboard",
            "The `next` parameter is honoured",
            "Only same-site `next` values are followed"
        ]
    );
    let bold =
        "**Acceptance Criteria:**\n1. Returns 404 for unknown users\n2) Logs the attempt\nThanks!";
    assert_eq!(acceptance_criteria(bold), ["Returns 404 for unknown users", "Logs the attempt"]);
    assert_eq!(
        acceptance_criteria("Acceptance criteria: the export finishes"),
        ["the export finishes"]
    );
    assert_eq!(acceptance_criteria("Definition of done\n- docs updated"), ["docs updated"]);
    assert!(acceptance_criteria("No section here.\n- a list item").is_empty());
    assert!(acceptance_criteria("Acceptance criteria\n**bold line**\n- x").len() == 1);
}

#[test]
fn the_description_is_shown_without_its_criteria() {
    let description = "The login page loops.\n\n## Acceptance criteria\n- [ ] Lands on the dashboard\n\n## Notes\nReported by support.\n";
    assert_eq!(
        description_without_criteria(description),
        "The login page loops.\n## Notes\nReported by support."
    );
    assert_eq!(description_without_criteria("Plain.\n\nText."), "Plain.\nText.");
}

fn pull() -> crate::code_host::PullRequest {
    crate::code_host::PullRequest {
        number: 42,
        title: "ENG-123 Fix login".to_owned(),
        body: Some("Relates to OPS-7".to_owned()),
        state: crate::code_host::State::Open,
        merged: false,
        draft: false,
        author: "octocat".to_owned(),
        head_sha: "a".repeat(40),
        head_ref: "eng-123-fix-login".to_owned(),
        base_sha: "b".repeat(40),
        base_ref: "main".to_owned(),
        html_url: "https://github.com/octo-org/app/pull/42".to_owned(),
        additions: 1,
        deletions: 1,
        changed_files: 1,
        commits: 1,
        created_at: None,
        merged_at: None,
    }
}

fn query() -> ContextQuery {
    let repo = crate::RepoFullName::parse("octo-org/app").unwrap_or_else(|error| panic!("{error}"));
    ContextQuery::new(&repo, &pull(), vec!["src/login.rs".to_owned()])
}

fn ticket(key: &str) -> Ticket {
    Ticket {
        key: key.to_owned(),
        title: format!("Title of {key}"),
        state: Some("In Progress".to_owned()),
        description: None,
        acceptance_criteria: vec!["it works".to_owned()],
        url: None,
    }
}

/// A provider scripted to answer `items`, or to fail.
struct Scripted {
    name: &'static str,
    answer: Result<Vec<ContextItem>, &'static str>,
    searches: bool,
}

#[async_trait]
impl ContextProvider for Scripted {
    fn name(&self) -> &str {
        self.name
    }

    async fn context(&self, query: &ContextQuery) -> Result<Vec<ContextItem>, ContextError> {
        assert_eq!(query.ticket_keys, ["ENG-123", "OPS-7"]);
        match &self.answer {
            Ok(items) => Ok(items.clone()),
            Err(message) => Err(ContextError::ToolFailed {
                tool: "get_issue".to_owned(),
                message: (*message).to_owned(),
            }),
        }
    }

    fn searches_tickets(&self) -> bool {
        self.searches
    }

    async fn search_tickets(&self, text: &str) -> Result<Vec<Ticket>, ContextError> {
        match self.searches {
            true => Ok(vec![ticket(&format!("ENG-{}", text.len()))]),
            false => Err(ContextError::NoSuitableTool("no search".to_owned())),
        }
    }
}

/// Tools that only read files.
struct FilesOnly;

#[async_trait]
impl RepositoryLookups for FilesOnly {
    async fn read_file(&self, path: &str) -> Result<String, String> {
        Ok(format!("contents of {path}"))
    }
    async fn file_history(&self, _: &str) -> Result<String, String> {
        Err("none".to_owned())
    }
    async fn issue(&self, _: u64) -> Result<String, String> {
        Err("none".to_owned())
    }
    async fn search_open_issues(&self, _: &str) -> Result<String, String> {
        Err("none".to_owned())
    }
}

/// The tools that read files, with `context`'s ticket search.
fn toolset(context: &ReviewContext) -> Toolset {
    Toolset::new(Arc::new(FilesOnly)).with_tickets(context.ticket_search())
}

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    futures_util::FutureExt::now_or_never(future).unwrap_or_else(|| panic!("the future waited"))
}

#[test]
fn every_provider_is_reported_with_its_items_or_why_it_has_none() {
    let context = ReviewContext::new(vec![
        Arc::new(Scripted {
            name: "linear",
            answer: Ok(vec![ContextItem::Ticket(ticket("ENG-123"))]),
            searches: true,
        }),
        Arc::new(Scripted { name: "sentry", answer: Err("boom"), searches: false }),
        Arc::new(Scripted { name: "slack", answer: Ok(Vec::new()), searches: false }),
    ]);
    let report = block_on(context.gather(&query()));
    let coverage: Vec<(String, String)> = report
        .providers
        .iter()
        .map(|provider| (provider.provider.clone(), provider.coverage()))
        .collect();
    assert_eq!(
        coverage,
        [
            ("linear".to_owned(), "1 item".to_owned()),
            ("sentry".to_owned(), "unavailable: get_issue failed: boom".to_owned()),
            ("slack".to_owned(), "0 items".to_owned()),
        ]
    );
    assert_eq!(report.items().count(), 1);
    assert_eq!(report.items().next().map(|(provider, _)| provider), Some("linear"));
}

#[test]
fn the_ticket_search_joins_the_tools_only_when_a_provider_searches() {
    let none = ReviewContext::new(vec![Arc::new(Scripted {
        name: "sentry",
        answer: Ok(Vec::new()),
        searches: false,
    })]);
    let tools = toolset(&none);
    assert!(!tools.searches_tickets());
    assert!(block_on(tools.search_tickets("login")).is_err());

    let linear = ReviewContext::new(vec![Arc::new(Scripted {
        name: "linear",
        answer: Ok(Vec::new()),
        searches: true,
    })]);
    let tools = toolset(&linear);
    assert!(tools.searches_tickets());
    assert_eq!(
        block_on(tools.search_tickets("login")),
        Ok("ENG-5 [In Progress]: Title of ENG-5\n  - acceptance: it works".to_owned())
    );
    assert_eq!(block_on(tools.read_file("a.rs")), Ok("contents of a.rs".to_owned()));
}

#[test]
fn a_timeout_reads_as_such() {
    let error = ContextError::Timeout(std::time::Duration::from_secs(5));
    assert_eq!(error.to_string(), "timeout after 5 s");
    let error = ContextError::Timeout(std::time::Duration::from_millis(1500));
    assert_eq!(error.to_string(), "timeout after 1.5 s");
}

#[test]
fn the_coverage_table_reports_every_provider() {
    use crate::review::{
        Anchored, Coverage, CoverageEntry, StructuredReview, Verdict, render_body,
    };
    let review = StructuredReview {
        verdict: Verdict::Approve,
        confidence: 4,
        summary: "Fine.".to_owned(),
        key_changes: Vec::new(),
        findings: Vec::new(),
        semantic_issues: Vec::new(),
    };
    let coverage =
        vec![CoverageEntry { path: "src/login.rs".to_owned(), coverage: Coverage::Reviewed }];
    let context = ContextReport {
        providers: vec![
            ProviderContext {
                provider: "linear".to_owned(),
                outcome: ContextOutcome::Items(vec![ContextItem::Ticket(ticket("ENG-1"))]),
            },
            ProviderContext {
                provider: "sentry".to_owned(),
                outcome: ContextOutcome::Unavailable("timeout after 5 s".to_owned()),
            },
        ],
    };
    let body = render_body(&review, &Anchored::default(), &[], &coverage, &context);
    assert!(
        body.contains("Coverage: 1 of 1 files reviewed; context from 1 of 2 sources</summary>"),
        "{body}"
    );
    assert!(
        body.contains(
            "| Context | Coverage |\n|---|---|\n| linear | 1 item |\n| sentry | unavailable: timeout after 5 s |\n"
        ),
        "{body}"
    );
    let without =
        render_body(&review, &Anchored::default(), &[], &coverage, &ContextReport::default());
    assert!(!without.contains("Context"), "no providers, no rows: {without}");
}
