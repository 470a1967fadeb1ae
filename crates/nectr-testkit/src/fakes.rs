//! In-memory fakes of the storage ports. They honour the same contracts as the SQL adapter (the
//! suites in [`crate::contract`] run on both), so use-case tests can rely on them.

use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use nectr_domain::{
    Event, EventFilter, EventId, EventRepository, EventRepositoryError, EventStatus, HealthProbe,
    Installation, InstallationId, InstallationRepository, InstallationRepositoryError, NewEvent,
    NewInstallation, NewReviewRun, OAuthState, OAuthStateRepository, OAuthStateRepositoryError,
    ProbeError, RepoFullName, ReviewRun, ReviewRunId, ReviewRunRepository,
    ReviewRunRepositoryError, ReviewRunStatus, User, UserId, UserRepository, UserRepositoryError,
    UserUpsert,
};

#[derive(Default)]
struct Tables {
    users: Vec<User>,
    installations: Vec<Installation>,
    events: Vec<Event>,
    review_runs: Vec<ReviewRun>,
    oauth_states: Vec<OAuthState>,
    last_id: i64,
}

impl Tables {
    fn next_id(&mut self) -> i64 {
        self.last_id += 1;
        self.last_id
    }
}

/// Every storage port in memory, behind one lock.
#[derive(Default)]
pub struct InMemoryStore {
    tables: Mutex<Tables>,
}

impl InMemoryStore {
    fn tables(&self) -> std::sync::MutexGuard<'_, Tables> {
        // A test that panicked while holding the lock has failed already; keep the data usable.
        self.tables.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[async_trait]
impl UserRepository for InMemoryStore {
    async fn upsert_by_github_id(&self, user: UserUpsert) -> Result<User, UserRepositoryError> {
        let mut tables = self.tables();
        let now = Utc::now();
        if let Some(existing) = tables.users.iter_mut().find(|row| row.github_id == user.github_id)
        {
            existing.github_username = user.github_username;
            existing.github_access_token = user.github_access_token;
            existing.email = user.email;
            existing.avatar_url = user.avatar_url;
            existing.name = user.name;
            existing.updated_at = now;
            return Ok(existing.clone());
        }
        let id = UserId::new(tables.next_id());
        let stored = User {
            id,
            github_id: user.github_id,
            github_username: user.github_username,
            github_access_token: user.github_access_token,
            email: user.email,
            avatar_url: user.avatar_url,
            name: user.name,
            created_at: now,
            updated_at: now,
        };
        tables.users.push(stored.clone());
        Ok(stored)
    }

    async fn find_by_id(&self, id: UserId) -> Result<Option<User>, UserRepositoryError> {
        Ok(self.tables().users.iter().find(|user| user.id == id).cloned())
    }

    async fn find_by_github_id(&self, github_id: i64) -> Result<Option<User>, UserRepositoryError> {
        Ok(self.tables().users.iter().find(|user| user.github_id == github_id).cloned())
    }
}

fn newest_first(mut installations: Vec<Installation>) -> Vec<Installation> {
    installations.sort_by(|a, b| b.installed_at.cmp(&a.installed_at).then(b.id.cmp(&a.id)));
    installations
}

impl InMemoryStore {
    fn active_where(&self, keep: impl Fn(&Installation) -> bool) -> Vec<Installation> {
        let tables = self.tables();
        newest_first(
            tables.installations.iter().filter(|row| row.is_active && keep(row)).cloned().collect(),
        )
    }
}

#[async_trait]
impl InstallationRepository for InMemoryStore {
    async fn create(
        &self,
        installation: NewInstallation,
    ) -> Result<Installation, InstallationRepositoryError> {
        let mut tables = self.tables();
        if !tables.users.iter().any(|user| user.id == installation.user_id) {
            return Err(InstallationRepositoryError::UnknownUser(installation.user_id));
        }
        let stored = Installation {
            id: InstallationId::new(tables.next_id()),
            user_id: installation.user_id,
            repo: installation.repo,
            github_repo_id: installation.github_repo_id,
            webhook_id: installation.webhook_id,
            webhook_secret: installation.webhook_secret,
            installation_id: installation.installation_id,
            is_active: true,
            installed_at: Utc::now(),
        };
        tables.installations.push(stored.clone());
        Ok(stored)
    }

    async fn find_by_id(
        &self,
        id: InstallationId,
    ) -> Result<Option<Installation>, InstallationRepositoryError> {
        Ok(self.tables().installations.iter().find(|row| row.id == id).cloned())
    }

    async fn find_active_for_user(
        &self,
        user_id: UserId,
        repo: &RepoFullName,
    ) -> Result<Option<Installation>, InstallationRepositoryError> {
        Ok(self.active_where(|row| row.user_id == user_id && &row.repo == repo).into_iter().next())
    }

    async fn list_active_for_user(
        &self,
        user_id: UserId,
    ) -> Result<Vec<Installation>, InstallationRepositoryError> {
        Ok(self.active_where(|row| row.user_id == user_id))
    }

    async fn find_active_by_webhook_id(
        &self,
        webhook_id: i64,
    ) -> Result<Vec<Installation>, InstallationRepositoryError> {
        Ok(self.active_where(|row| row.webhook_id == Some(webhook_id)))
    }

    async fn find_active_by_github_repo_id(
        &self,
        github_repo_id: i64,
    ) -> Result<Vec<Installation>, InstallationRepositoryError> {
        Ok(self.active_where(|row| row.github_repo_id == Some(github_repo_id)))
    }

    async fn deactivate(&self, id: InstallationId) -> Result<(), InstallationRepositoryError> {
        let mut tables = self.tables();
        let row = tables
            .installations
            .iter_mut()
            .find(|row| row.id == id)
            .ok_or(InstallationRepositoryError::NotFound(id))?;
        row.is_active = false;
        Ok(())
    }
}

#[async_trait]
impl EventRepository for InMemoryStore {
    async fn create(&self, event: NewEvent) -> Result<Event, EventRepositoryError> {
        let mut tables = self.tables();
        let stored = Event {
            id: EventId::new(tables.next_id()),
            event_type: event.event_type,
            source: event.source,
            payload: event.payload,
            status: event.status,
            created_at: Utc::now(),
            processed_at: None,
        };
        tables.events.push(stored.clone());
        Ok(stored)
    }

    async fn find_by_id(&self, id: EventId) -> Result<Option<Event>, EventRepositoryError> {
        Ok(self.tables().events.iter().find(|event| event.id == id).cloned())
    }

    async fn list(&self, filter: &EventFilter) -> Result<Vec<Event>, EventRepositoryError> {
        let tables = self.tables();
        let mut events: Vec<Event> = tables
            .events
            .iter()
            .filter(|event| filter.status.is_none_or(|status| event.status == status))
            .filter(|event| {
                filter.event_type.as_deref().is_none_or(|wanted| event.event_type == wanted)
            })
            .cloned()
            .collect();
        events.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
        let offset = usize::try_from(filter.offset).unwrap_or(usize::MAX);
        let limit = usize::try_from(filter.limit).unwrap_or(usize::MAX);
        Ok(events.into_iter().skip(offset).take(limit).collect())
    }

    async fn set_status(
        &self,
        id: EventId,
        status: EventStatus,
        processed_at: Option<DateTime<Utc>>,
    ) -> Result<(), EventRepositoryError> {
        let mut tables = self.tables();
        let event = tables
            .events
            .iter_mut()
            .find(|event| event.id == id)
            .ok_or(EventRepositoryError::NotFound(id))?;
        event.status = status;
        event.processed_at = processed_at;
        Ok(())
    }
}

#[async_trait]
impl ReviewRunRepository for InMemoryStore {
    async fn start(&self, run: NewReviewRun) -> Result<ReviewRun, ReviewRunRepositoryError> {
        let mut tables = self.tables();
        if !tables.events.iter().any(|event| event.id == run.event_id) {
            return Err(ReviewRunRepositoryError::UnknownEvent(run.event_id));
        }
        let stored = ReviewRun {
            id: ReviewRunId::new(tables.next_id()),
            event_id: run.event_id,
            workflow_type: run.workflow_type,
            status: ReviewRunStatus::Running,
            result: None,
            error: None,
            started_at: Utc::now(),
            completed_at: None,
        };
        tables.review_runs.push(stored.clone());
        Ok(stored)
    }

    async fn finish(
        &self,
        id: ReviewRunId,
        status: ReviewRunStatus,
        result: Option<serde_json::Value>,
        error: Option<String>,
    ) -> Result<ReviewRun, ReviewRunRepositoryError> {
        if !status.is_final() {
            return Err(anyhow::anyhow!("cannot finish review run {id} as {status}").into());
        }
        let mut tables = self.tables();
        let run = tables
            .review_runs
            .iter_mut()
            .find(|run| run.id == id)
            .ok_or(ReviewRunRepositoryError::NotFound(id))?;
        if run.status.is_final() {
            return Err(ReviewRunRepositoryError::AlreadyFinished(id));
        }
        run.status = status;
        run.result = result;
        run.error = error;
        run.completed_at = Some(Utc::now());
        Ok(run.clone())
    }

    async fn find_by_id(
        &self,
        id: ReviewRunId,
    ) -> Result<Option<ReviewRun>, ReviewRunRepositoryError> {
        Ok(self.tables().review_runs.iter().find(|run| run.id == id).cloned())
    }

    async fn list_for_event(
        &self,
        event_id: EventId,
    ) -> Result<Vec<ReviewRun>, ReviewRunRepositoryError> {
        Ok(self
            .tables()
            .review_runs
            .iter()
            .filter(|run| run.event_id == event_id)
            .cloned()
            .collect())
    }
}

#[async_trait]
impl OAuthStateRepository for InMemoryStore {
    async fn create(
        &self,
        state: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<OAuthState, OAuthStateRepositoryError> {
        let mut tables = self.tables();
        if tables.oauth_states.iter().any(|stored| stored.state == state) {
            return Err(OAuthStateRepositoryError::Duplicate);
        }
        let stored = OAuthState { state: state.to_owned(), created_at: Utc::now(), expires_at };
        tables.oauth_states.push(stored.clone());
        Ok(stored)
    }

    async fn consume(
        &self,
        state: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, OAuthStateRepositoryError> {
        let mut tables = self.tables();
        let Some(position) = tables.oauth_states.iter().position(|stored| stored.state == state)
        else {
            return Ok(false);
        };
        let removed = tables.oauth_states.remove(position);
        Ok(removed.expires_at > now)
    }

    async fn purge_expired(&self, now: DateTime<Utc>) -> Result<u64, OAuthStateRepositoryError> {
        let mut tables = self.tables();
        let before = tables.oauth_states.len();
        tables.oauth_states.retain(|stored| stored.expires_at > now);
        Ok(u64::try_from(before - tables.oauth_states.len()).unwrap_or(u64::MAX))
    }
}

/// A health probe whose answer a test sets.
#[derive(Default)]
pub struct SwitchableProbe {
    down: std::sync::atomic::AtomicBool,
}

impl SwitchableProbe {
    /// Makes the probe fail (`true`) or succeed (`false`).
    pub fn set_down(&self, down: bool) {
        self.down.store(down, std::sync::atomic::Ordering::SeqCst);
    }
}

#[async_trait]
impl HealthProbe for SwitchableProbe {
    async fn probe(&self) -> Result<(), ProbeError> {
        if self.down.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(ProbeError(anyhow::anyhow!("switched off")));
        }
        Ok(())
    }
}
