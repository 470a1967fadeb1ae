//! Events: webhook deliveries as received, and the port that stores them.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::EventId;

/// Defines a status enum stored as lower-case names: `ALL`, `as_str`, `FromStr` and `Display`.
macro_rules! status_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$doc:meta])* $variant:ident => $text:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$doc])* $variant,)+
        }

        impl $name {
            /// Every status, in lifecycle order.
            pub const ALL: &'static [Self] = &[$(Self::$variant,)+];

            /// The stored name.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text,)+
                }
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::event::UnknownStatus;

            fn from_str(text: &str) -> Result<Self, Self::Err> {
                Self::ALL
                    .iter()
                    .copied()
                    .find(|status| status.as_str() == text)
                    .ok_or_else(|| $crate::event::UnknownStatus(text.to_owned()))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                formatter.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use status_enum;

status_enum!(
    /// Where an event is in its life. Stored as the lower-case name in `events.status`.
    EventStatus {
        /// Stored, waiting for work.
        Pending => "pending",
        /// Work is running for it.
        Processing => "processing",
        /// Its work finished.
        Completed => "completed",
        /// Its work failed for good.
        Failed => "failed",
        /// Nothing is to be done for this kind of event.
        Ignored => "ignored",
        /// Verified but unusable (for example malformed JSON).
        Rejected => "rejected",
        /// A newer delivery for the same pull request replaced it.
        Superseded => "superseded",
        /// Its work was cancelled (for example, the pull request closed).
        Cancelled => "cancelled",
    }
);

/// A status name that Nectr does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown status {0:?}")]
pub struct UnknownStatus(pub String);

/// A stored webhook delivery.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    /// Nectr's id.
    pub id: EventId,
    /// `<action>_pull_request`, `<action>_issue`, `push` or `unknown`, as the original named them.
    pub event_type: String,
    /// Where it came from; always `github` so far.
    pub source: String,
    /// The delivery's JSON body as received.
    pub payload: String,
    /// Where the event is in its life.
    pub status: EventStatus,
    /// When it was received.
    pub created_at: DateTime<Utc>,
    /// When its work ended.
    pub processed_at: Option<DateTime<Utc>>,
    /// GitHub's `X-GitHub-Delivery` id; unique.
    pub delivery_id: Option<String>,
    /// GitHub's `X-GitHub-Event` name (`pull_request`, `ping`, …).
    pub github_event: Option<String>,
}

/// A delivery about to be stored.
#[derive(Clone, Debug, PartialEq)]
pub struct NewEvent {
    /// See [`Event::event_type`].
    pub event_type: String,
    /// See [`Event::source`].
    pub source: String,
    /// See [`Event::payload`].
    pub payload: String,
    /// The initial status.
    pub status: EventStatus,
    /// GitHub's delivery id; a second event with the same id is refused.
    pub delivery_id: Option<String>,
    /// GitHub's event name.
    pub github_event: Option<String>,
}

/// Which events [`EventRepository::list`] returns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventFilter {
    /// Only events with this status.
    pub status: Option<EventStatus>,
    /// Only events of this type.
    pub event_type: Option<String>,
    /// At most this many.
    pub limit: u64,
    /// Skip this many of the newest first.
    pub offset: u64,
}

impl Default for EventFilter {
    fn default() -> Self {
        Self { status: None, event_type: None, limit: 50, offset: 0 }
    }
}

/// Why an [`EventRepository`] call failed.
#[derive(Debug, thiserror::Error)]
pub enum EventRepositoryError {
    /// The event does not exist.
    #[error("event {0} does not exist")]
    NotFound(EventId),
    /// An event with this delivery id exists already.
    #[error("delivery was received already as event {0}")]
    DuplicateDelivery(EventId),
    /// Anything else.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// Stores webhook deliveries.
///
/// Contract for every implementation:
/// - `create` stores the event with `created_at` = now (UTC) and no `processed_at`; a delivery id
///   that exists already is `DuplicateDelivery` with the existing event's id, and nothing is stored.
/// - `list` returns the newest first (by `created_at`, then id), filtered and paged.
/// - `set_status` changes the status and sets `processed_at` to the given time (or clears it);
///   an unknown id is `NotFound`.
#[async_trait]
pub trait EventRepository: Send + Sync {
    /// Stores a delivery.
    ///
    /// # Errors
    /// [`EventRepositoryError::DuplicateDelivery`], [`EventRepositoryError::Unexpected`].
    async fn create(&self, event: NewEvent) -> Result<Event, EventRepositoryError>;

    /// The event with this id.
    ///
    /// # Errors
    /// [`EventRepositoryError::Unexpected`] when the store fails.
    async fn find_by_id(&self, id: EventId) -> Result<Option<Event>, EventRepositoryError>;

    /// Events matching the filter, newest first.
    ///
    /// # Errors
    /// [`EventRepositoryError::Unexpected`] when the store fails.
    async fn list(&self, filter: &EventFilter) -> Result<Vec<Event>, EventRepositoryError>;

    /// Moves an event to a new status.
    ///
    /// # Errors
    /// [`EventRepositoryError::NotFound`], [`EventRepositoryError::Unexpected`].
    async fn set_status(
        &self,
        id: EventId,
        status: EventStatus,
        processed_at: Option<DateTime<Utc>>,
    ) -> Result<(), EventRepositoryError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_names_round_trip() {
        for &status in EventStatus::ALL {
            assert_eq!(status.as_str().parse::<EventStatus>(), Ok(status));
        }
        assert_eq!("done".parse::<EventStatus>(), Err(UnknownStatus("done".to_owned())));
    }
}
