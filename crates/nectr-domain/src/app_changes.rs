//! A GitHub App's installation changes are applied at least once. The intake stores such a
//! delivery `pending`: the stored event is the record of the work to do. Applying the change
//! (connecting or disconnecting its repositories) marks it `completed`; a process that stopped
//! in between leaves it `pending`, and the next start applies it, oldest first, unless a newer
//! change of the same installation was applied since (the older one is then stale, `ignored`).
//! Applying twice is harmless: connecting skips what is connected, disconnecting what is not.

use std::sync::Arc;

use chrono::Utc;

use crate::connections::{
    AppChangeOutcome, AppInstallationChange, ConnectionError, RepositoryConnections,
};
use crate::{Event, EventFilter, EventId, EventRepository, EventStatus};

/// How many stored App changes a start-up looks at.
const RECOVERY_WINDOW: u64 = 1_000;

/// Applies App installation changes and recovers those a stop interrupted.
#[derive(Clone)]
pub struct AppChanges {
    connections: RepositoryConnections,
    events: Arc<dyn EventRepository>,
}

fn unexpected(error: impl std::error::Error + Send + Sync + 'static) -> ConnectionError {
    ConnectionError::Unexpected(anyhow::Error::new(error))
}

/// The change a stored App delivery describes.
fn change_of(event: &Event) -> Option<AppInstallationChange> {
    let name = event.github_event.as_deref()?;
    AppInstallationChange::from_delivery(name, event.payload.as_bytes())
}

impl AppChanges {
    /// Changes applied through `connections`, their deliveries marked in `events`.
    pub fn new(connections: RepositoryConnections, events: Arc<dyn EventRepository>) -> Self {
        Self { connections, events }
    }

    /// Applies the change of the stored delivery `event_id`, then marks the delivery completed.
    ///
    /// # Errors
    /// [`ConnectionError`]: the delivery then stays pending, for the next start.
    pub async fn settle(
        &self,
        event_id: EventId,
        change: &AppInstallationChange,
    ) -> Result<AppChangeOutcome, ConnectionError> {
        let outcome = self.connections.apply_app_change(change).await?;
        self.events
            .set_status(event_id, EventStatus::Completed, Some(Utc::now()))
            .await
            .map_err(unexpected)?;
        Ok(outcome)
    }

    /// Applies, oldest first, every stored App change still pending; one that a newer applied
    /// change of its installation overtook is marked ignored instead. Answers how many were
    /// applied.
    ///
    /// # Errors
    /// [`ConnectionError`] at the first change that cannot be applied (it stays pending).
    pub async fn recover(&self) -> Result<usize, ConnectionError> {
        let stored = |status| EventFilter {
            status: Some(status),
            event_type: Some("unknown".to_owned()),
            limit: RECOVERY_WINDOW,
            offset: 0,
        };
        let pending = self.events.list(&stored(EventStatus::Pending)).await.map_err(unexpected)?;
        if pending.is_empty() {
            return Ok(0);
        }
        let applied: Vec<(EventId, i64)> = self
            .events
            .list(&stored(EventStatus::Completed))
            .await
            .map_err(unexpected)?
            .iter()
            .filter_map(|event| change_of(event).map(|change| (event.id, change.installation_id())))
            .collect();
        let mut settled = 0;
        // `list` answers the newest first.
        for event in pending.iter().rev() {
            let Some(change) = change_of(event) else { continue };
            let overtaken = applied.iter().any(|(id, installation)| {
                id.get() > event.id.get() && *installation == change.installation_id()
            });
            if overtaken {
                self.events
                    .set_status(event.id, EventStatus::Ignored, Some(Utc::now()))
                    .await
                    .map_err(unexpected)?;
            } else {
                self.settle(event.id, &change).await?;
                settled += 1;
            }
        }
        Ok(settled)
    }
}
