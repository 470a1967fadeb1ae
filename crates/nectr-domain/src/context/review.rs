//! The team's context in a review: every configured provider asked at once before the review
//! (deterministic context for the prompt), what each gave or why it gave nothing (for the
//! coverage table), and the ticket search among the agent's tools. A provider that fails or
//! hangs past its deadline degrades the review; it never fails it.

use std::fmt::Write as _;
use std::sync::Arc;

use futures_util::future::join_all;

use super::{ContextItem, ContextProvider, ContextQuery, Ticket};

/// What one provider gave a review.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ContextOutcome {
    /// Its items (perhaps none).
    Items(Vec<ContextItem>),
    /// It gave nothing, and why (`timeout after 5 s`).
    Unavailable(String),
}

/// One provider's part of a review's context.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProviderContext {
    /// The provider's name.
    pub provider: String,
    /// What it gave.
    pub outcome: ContextOutcome,
}

impl ProviderContext {
    /// The coverage table's words for it: `2 items`, or `unavailable: <reason>`.
    pub fn coverage(&self) -> String {
        match &self.outcome {
            ContextOutcome::Items(items) if items.len() == 1 => "1 item".to_owned(),
            ContextOutcome::Items(items) => format!("{} items", items.len()),
            ContextOutcome::Unavailable(reason) => format!("unavailable: {reason}"),
        }
    }
}

/// Every configured provider's part of a review's context, in configuration order (empty when
/// none is configured, as for a local diff).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ContextReport {
    /// One entry per configured provider.
    pub providers: Vec<ProviderContext>,
}

impl ContextReport {
    /// Every item, with the name of the provider that gave it.
    pub fn items(&self) -> impl Iterator<Item = (&str, &ContextItem)> {
        self.providers.iter().flat_map(|provider| {
            let items = match &provider.outcome {
                ContextOutcome::Items(items) => items.as_slice(),
                ContextOutcome::Unavailable(_) => &[],
            };
            items.iter().map(|item| (provider.provider.as_str(), item))
        })
    }
}

/// The pipeline's context providers.
#[derive(Clone)]
pub struct ReviewContext {
    providers: Vec<Arc<dyn ContextProvider>>,
}

impl ReviewContext {
    /// Over `providers`, asked in this order.
    pub fn new(providers: Vec<Arc<dyn ContextProvider>>) -> Self {
        Self { providers }
    }

    /// Asks every provider at once; each answers with its items or is reported unavailable.
    pub async fn gather(&self, query: &ContextQuery) -> ContextReport {
        let asked = self.providers.iter().map(|provider| async move {
            let outcome = match provider.context(query).await {
                Ok(items) => ContextOutcome::Items(items),
                Err(error) => ContextOutcome::Unavailable(error.to_string()),
            };
            ProviderContext { provider: provider.name().to_owned(), outcome }
        });
        ContextReport { providers: join_all(asked).await }
    }

    /// The ticket search, when a provider searches tickets.
    pub fn ticket_search(&self) -> Option<TicketSearch> {
        let searchers: Vec<Arc<dyn ContextProvider>> =
            self.providers.iter().filter(|provider| provider.searches_tickets()).cloned().collect();
        match searchers.is_empty() {
            true => None,
            false => Some(TicketSearch { searchers }),
        }
    }
}

/// A ticket as one tool-result line and its acceptance criteria.
pub fn ticket_line(ticket: &Ticket) -> String {
    let state = ticket.state.as_deref().map(|state| format!(" [{state}]")).unwrap_or_default();
    let mut text = format!("{}{state}: {}", ticket.key, ticket.title);
    if let Some(url) = &ticket.url {
        let _ = write!(text, " ({url})");
    }
    for criterion in &ticket.acceptance_criteria {
        let _ = write!(text, "\n  - acceptance: {criterion}");
    }
    text
}

/// The agent's `search_tickets`, answered by every provider that searches tickets.
#[derive(Clone)]
pub struct TicketSearch {
    searchers: Vec<Arc<dyn ContextProvider>>,
}

impl TicketSearch {
    /// Tickets matching `query`, one per line, from every searching provider at once.
    ///
    /// # Errors
    /// Every provider's failure, when all failed.
    pub async fn search(&self, query: &str) -> Result<String, String> {
        let searched =
            join_all(self.searchers.iter().map(|provider| provider.search_tickets(query))).await;
        let mut lines = Vec::new();
        let mut failures = Vec::new();
        for (provider, result) in self.searchers.iter().zip(searched) {
            match result {
                Ok(tickets) => lines.extend(tickets.iter().map(ticket_line)),
                Err(error) => failures.push(format!("{}: {error}", provider.name())),
            }
        }
        match (lines.is_empty(), failures.is_empty()) {
            (false, _) => Ok(lines.join("\n")),
            (true, true) => Ok(format!("No ticket matches {query:?}.")),
            (true, false) => Err(failures.join("; ")),
        }
    }
}
