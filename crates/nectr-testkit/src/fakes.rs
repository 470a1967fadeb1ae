//! In-memory fakes of the storage ports. They honour the same contracts as the SQL adapter (the
//! suites in [`crate::contract`] run on both), so use-case tests can rely on them.

use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use nectr_domain::queue::{
    Accepted, IntakeEffect, JobStatus, NewReviewJob, QueueError, ReviewJob, ReviewQueue, StopReason,
};
use nectr_domain::{
    Event, EventFilter, EventId, EventRepository, EventRepositoryError, EventStatus, HealthProbe,
    Installation, InstallationId, InstallationRepository, InstallationRepositoryError, JobId,
    NewEvent, NewInstallation, NewReviewRun, OAuthState, OAuthStateRepository,
    OAuthStateRepositoryError, ProbeError, RepoFullName, ReviewRun, ReviewRunId,
    ReviewRunRepository, ReviewRunRepositoryError, ReviewRunStatus, User, UserId, UserRepository,
    UserRepositoryError, UserUpsert,
};

#[derive(Default)]
struct Tables {
    users: Vec<User>,
    installations: Vec<Installation>,
    events: Vec<Event>,
    review_runs: Vec<ReviewRun>,
    review_records: std::collections::HashMap<ReviewRunId, nectr_domain::ReviewRecord>,
    oauth_states: Vec<OAuthState>,
    jobs: Vec<LeasedJob>,
    last_id: i64,
}

struct LeasedJob {
    job: ReviewJob,
    available_at: DateTime<Utc>,
    lease_owner: Option<String>,
    lease_expires_at: Option<DateTime<Utc>>,
    stop_requested: Option<StopReason>,
}

impl Tables {
    fn next_id(&mut self) -> i64 {
        self.last_id += 1;
        self.last_id
    }

    fn insert_event(&mut self, event: NewEvent) -> Result<Event, EventRepositoryError> {
        if let Some(delivery_id) = &event.delivery_id
            && let Some(existing) =
                self.events.iter().find(|stored| stored.delivery_id.as_ref() == Some(delivery_id))
        {
            return Err(EventRepositoryError::DuplicateDelivery(existing.id));
        }
        let stored = Event {
            id: EventId::new(self.next_id()),
            event_type: event.event_type,
            source: event.source,
            payload: event.payload,
            status: event.status,
            created_at: Utc::now(),
            processed_at: None,
            delivery_id: event.delivery_id,
            github_event: event.github_event,
        };
        self.events.push(stored.clone());
        Ok(stored)
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
            session_version: 0,
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

    async fn end_sessions(&self, id: UserId) -> Result<Option<i64>, UserRepositoryError> {
        let mut tables = self.tables();
        Ok(tables.users.iter_mut().find(|user| user.id == id).map(|user| {
            user.session_version += 1;
            user.session_version
        }))
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
            verified_at: None,
            access_token: installation.access_token,
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

    async fn list_active(&self) -> Result<Vec<Installation>, InstallationRepositoryError> {
        Ok(self.active_where(|_| true))
    }

    async fn mark_verified(
        &self,
        id: InstallationId,
        at: DateTime<Utc>,
    ) -> Result<(), InstallationRepositoryError> {
        let mut tables = self.tables();
        let row = tables
            .installations
            .iter_mut()
            .find(|row| row.id == id)
            .ok_or(InstallationRepositoryError::NotFound(id))?;
        row.verified_at = Some(at);
        Ok(())
    }
}

#[async_trait]
impl EventRepository for InMemoryStore {
    async fn create(&self, event: NewEvent) -> Result<Event, EventRepositoryError> {
        self.tables().insert_event(event)
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

    async fn save_record(
        &self,
        id: ReviewRunId,
        record: &nectr_domain::ReviewRecord,
    ) -> Result<(), ReviewRunRepositoryError> {
        let mut tables = self.tables();
        if !tables.review_runs.iter().any(|run| run.id == id) {
            return Err(ReviewRunRepositoryError::NotFound(id));
        }
        tables.review_records.insert(id, record.clone());
        Ok(())
    }

    async fn record(
        &self,
        id: ReviewRunId,
    ) -> Result<Option<nectr_domain::ReviewRecord>, ReviewRunRepositoryError> {
        Ok(self.tables().review_records.get(&id).cloned())
    }

    async fn mark_posted(
        &self,
        id: ReviewRunId,
        posted: &nectr_domain::Posted,
    ) -> Result<(), ReviewRunRepositoryError> {
        let mut tables = self.tables();
        let record =
            tables.review_records.get_mut(&id).ok_or(ReviewRunRepositoryError::NotFound(id))?;
        record.posting = nectr_domain::Posting::Posted(posted.clone());
        Ok(())
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

impl Tables {
    fn set_event_status(&mut self, id: EventId, status: EventStatus, processed: bool) {
        if let Some(event) = self.events.iter_mut().find(|event| event.id == id) {
            event.status = status;
            if processed {
                event.processed_at = Some(Utc::now());
            }
        }
    }

    /// Ends job `index` with a final status, its event and its run.
    fn finish(
        &mut self,
        index: usize,
        status: JobStatus,
        result: Option<serde_json::Value>,
        error: Option<&str>,
    ) {
        let (event_id, run_id) = {
            let leased = &mut self.jobs[index];
            leased.job.status = status;
            leased.lease_owner = None;
            leased.lease_expires_at = None;
            if let Some(error) = error {
                leased.job.last_error = Some(error.to_owned());
            }
            (leased.job.event_id, leased.job.review_run_id)
        };
        self.set_event_status(event_id, status.event_status(), true);
        if let Some(run) =
            run_id.and_then(|id| self.review_runs.iter_mut().find(|run| run.id == id))
        {
            run.status = status.run_status();
            run.result = result;
            run.error = error.map(str::to_owned);
            run.completed_at = Some(Utc::now());
        }
    }

    /// Ends job `index` with the status it was asked to stop with, instead of returning it to
    /// the queue; answers that status, or `None` (and does nothing) when no stop was asked for.
    fn end_if_stop_requested(&mut self, index: usize) -> Option<JobStatus> {
        let status = match self.jobs[index].stop_requested? {
            StopReason::Superseded => JobStatus::Superseded,
            StopReason::Cancelled => JobStatus::Cancelled,
            StopReason::LeaseLost => return None,
        };
        self.finish(index, status, None, None);
        Some(status)
    }

    fn held(&self, id: JobId, worker: &str) -> Result<usize, QueueError> {
        self.jobs
            .iter()
            .position(|leased| {
                leased.job.id == id
                    && leased.job.status == JobStatus::Running
                    && leased.lease_owner.as_deref() == Some(worker)
            })
            .ok_or(QueueError::NotHeld(id))
    }

    /// Queues a new delivery's job: supersedes older commits' jobs; queues a cancelled job of
    /// this commit again; or leaves the event `ignored` when this commit was queued or reviewed
    /// before.
    fn queue_job(&mut self, stored: Event, job: NewReviewJob) -> Accepted {
        let existing = self.jobs.iter().position(|leased| {
            leased.job.repo_id == job.repo_id
                && leased.job.pr_number == job.pr_number
                && leased.job.head_sha == job.head_sha
        });
        match existing.map(|index| (index, self.jobs[index].job.status)) {
            Some((index, JobStatus::Cancelled)) => {
                self.supersede_older(&job);
                return self.requeue(index, stored, job);
            }
            Some(_) => {
                self.set_event_status(stored.id, EventStatus::Ignored, true);
                let event = self
                    .events
                    .iter()
                    .find(|event| event.id == stored.id)
                    .cloned()
                    .unwrap_or(stored);
                return Accepted { event, job: None };
            }
            None => self.supersede_older(&job),
        }
        let id = JobId::new(self.next_id());
        let now = Utc::now();
        self.jobs.push(LeasedJob {
            job: ReviewJob {
                id,
                event_id: stored.id,
                repo_id: job.repo_id,
                repo: job.repo,
                pr_number: job.pr_number,
                head_sha: job.head_sha,
                installation_id: job.installation_id,
                status: JobStatus::Queued,
                attempts: 0,
                max_attempts: job.max_attempts.max(1),
                review_run_id: None,
                last_error: None,
                created_at: now,
            },
            available_at: now,
            lease_owner: None,
            lease_expires_at: None,
            stop_requested: None,
        });
        Accepted { event: stored, job: Some(id) }
    }

    /// Queues the cancelled job `index` again, in place, as the delivery `stored`'s: no attempt
    /// counted and no review run, so that its next claim starts a new run.
    fn requeue(&mut self, index: usize, stored: Event, job: NewReviewJob) -> Accepted {
        let leased = &mut self.jobs[index];
        leased.job.event_id = stored.id;
        leased.job.repo = job.repo;
        leased.job.installation_id = job.installation_id;
        leased.job.status = JobStatus::Queued;
        leased.job.attempts = 0;
        leased.job.max_attempts = job.max_attempts.max(1);
        leased.job.review_run_id = None;
        leased.job.last_error = None;
        leased.available_at = Utc::now();
        leased.lease_owner = None;
        leased.lease_expires_at = None;
        leased.stop_requested = None;
        Accepted { event: stored, job: Some(leased.job.id) }
    }

    /// Supersedes the queued jobs of the pull request's other commits and asks running ones to
    /// stop.
    fn supersede_older(&mut self, job: &NewReviewJob) {
        for index in 0..self.jobs.len() {
            let leased = &self.jobs[index];
            let same = leased.job.repo_id == job.repo_id
                && leased.job.pr_number == job.pr_number
                && leased.job.head_sha != job.head_sha;
            match (same, leased.job.status) {
                (true, JobStatus::Queued) => self.finish(index, JobStatus::Superseded, None, None),
                (true, JobStatus::Running) => {
                    self.jobs[index].stop_requested = Some(StopReason::Superseded)
                }
                _ => {}
            }
        }
    }

    /// Cancels the queued jobs of a pull request and asks its running one to stop; answers how
    /// many jobs it touched.
    fn cancel_open_jobs(&mut self, repo_id: i64, pr_number: u64) -> u64 {
        let mut touched = 0;
        for index in 0..self.jobs.len() {
            let leased = &self.jobs[index];
            if leased.job.repo_id != repo_id || leased.job.pr_number != pr_number {
                continue;
            }
            match leased.job.status {
                JobStatus::Queued => self.finish(index, JobStatus::Cancelled, None, None),
                JobStatus::Running => self.jobs[index].stop_requested = Some(StopReason::Cancelled),
                _ => continue,
            }
            touched += 1;
        }
        touched
    }

    fn same_pull_request(&self, index: usize, other: &LeasedJob) -> bool {
        let job = &self.jobs[index].job;
        job.repo_id == other.job.repo_id && job.pr_number == other.job.pr_number
    }
}

#[async_trait]
impl ReviewQueue for InMemoryStore {
    async fn accept(&self, event: NewEvent, effect: IntakeEffect) -> Result<Accepted, QueueError> {
        let mut tables = self.tables();
        let stored = tables.insert_event(event).map_err(|error| match error {
            EventRepositoryError::DuplicateDelivery(id) => QueueError::DuplicateDelivery(id),
            other => QueueError::Unexpected(anyhow::Error::new(other)),
        })?;
        match effect {
            IntakeEffect::None | IntakeEffect::RecordPullRequest(_) => {}
            IntakeEffect::QueueReview(job) => return Ok(tables.queue_job(stored, job)),
            IntakeEffect::CancelPullRequest { repo_id, pr_number, .. } => {
                tables.cancel_open_jobs(repo_id, pr_number);
            }
            IntakeEffect::MarkVerified(ids) => {
                let now = Utc::now();
                for row in tables.installations.iter_mut().filter(|row| ids.contains(&row.id)) {
                    row.verified_at = Some(now);
                }
            }
        }
        Ok(Accepted { event: stored, job: None })
    }

    async fn claim(
        &self,
        worker: &str,
        lease: std::time::Duration,
    ) -> Result<Option<ReviewJob>, QueueError> {
        let mut tables = self.tables();
        let now = Utc::now();
        for index in 0..tables.jobs.len() {
            let expired = tables.jobs[index].job.status == JobStatus::Running
                && tables.jobs[index].lease_expires_at.is_some_and(|until| until < now);
            if !expired || tables.end_if_stop_requested(index).is_some() {
                continue;
            }
            if tables.jobs[index].job.attempts >= tables.jobs[index].job.max_attempts {
                tables.finish(
                    index,
                    JobStatus::Failed,
                    None,
                    Some("the worker stopped renewing its lease on the last attempt"),
                );
            } else {
                let leased = &mut tables.jobs[index];
                leased.job.status = JobStatus::Queued;
                leased.lease_owner = None;
                leased.lease_expires_at = None;
                leased.available_at = now;
                leased.job.last_error = Some("the worker stopped renewing its lease".to_owned());
            }
        }
        let candidate = (0..tables.jobs.len())
            .filter(|index| {
                tables.jobs[*index].job.status == JobStatus::Queued
                    && tables.jobs[*index].available_at <= now
            })
            .filter(|index| {
                !tables.jobs.iter().any(|other| {
                    other.job.status == JobStatus::Running
                        && tables.same_pull_request(*index, other)
                })
            })
            .min_by_key(|index| (tables.jobs[*index].available_at, tables.jobs[*index].job.id));
        let Some(index) = candidate else { return Ok(None) };
        let run_id = match tables.jobs[index].job.review_run_id {
            Some(id) => id,
            None => {
                let id = ReviewRunId::new(tables.next_id());
                let event_id = tables.jobs[index].job.event_id;
                tables.review_runs.push(ReviewRun {
                    id,
                    event_id,
                    workflow_type: "pr_review".to_owned(),
                    status: ReviewRunStatus::Running,
                    result: None,
                    error: None,
                    started_at: now,
                    completed_at: None,
                });
                id
            }
        };
        let lease_until = now
            + chrono::Duration::from_std(lease).unwrap_or_else(|_| chrono::Duration::minutes(5));
        let leased = &mut tables.jobs[index];
        leased.job.status = JobStatus::Running;
        leased.job.attempts += 1;
        leased.job.review_run_id = Some(run_id);
        leased.lease_owner = Some(worker.to_owned());
        leased.lease_expires_at = Some(lease_until);
        let job = leased.job.clone();
        tables.set_event_status(job.event_id, EventStatus::Processing, false);
        Ok(Some(job))
    }

    async fn heartbeat(
        &self,
        id: JobId,
        worker: &str,
        lease: std::time::Duration,
    ) -> Result<Option<StopReason>, QueueError> {
        let mut tables = self.tables();
        let Ok(index) = tables.held(id, worker) else { return Ok(Some(StopReason::LeaseLost)) };
        let leased = &mut tables.jobs[index];
        leased.lease_expires_at = Some(
            Utc::now()
                + chrono::Duration::from_std(lease)
                    .unwrap_or_else(|_| chrono::Duration::minutes(5)),
        );
        Ok(leased.stop_requested)
    }

    async fn complete(
        &self,
        id: JobId,
        worker: &str,
        result: Option<serde_json::Value>,
    ) -> Result<(), QueueError> {
        let mut tables = self.tables();
        let index = tables.held(id, worker)?;
        tables.finish(index, JobStatus::Completed, result, None);
        Ok(())
    }

    async fn fail(
        &self,
        id: JobId,
        worker: &str,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
    ) -> Result<JobStatus, QueueError> {
        let mut tables = self.tables();
        let index = tables.held(id, worker)?;
        if let Some(stopped) = tables.end_if_stop_requested(index) {
            return Ok(stopped);
        }
        match retry_at {
            Some(at) if tables.jobs[index].job.attempts < tables.jobs[index].job.max_attempts => {
                let leased = &mut tables.jobs[index];
                leased.job.status = JobStatus::Queued;
                leased.lease_owner = None;
                leased.lease_expires_at = None;
                leased.available_at = at;
                leased.job.last_error = Some(error.to_owned());
                Ok(JobStatus::Queued)
            }
            _ => {
                tables.finish(index, JobStatus::Failed, None, Some(error));
                Ok(JobStatus::Failed)
            }
        }
    }

    async fn stop(&self, id: JobId, worker: &str, reason: StopReason) -> Result<(), QueueError> {
        let status = match reason {
            StopReason::Superseded => JobStatus::Superseded,
            StopReason::Cancelled => JobStatus::Cancelled,
            StopReason::LeaseLost => return Ok(()),
        };
        let mut tables = self.tables();
        let index = tables.held(id, worker)?;
        tables.finish(index, status, None, None);
        Ok(())
    }

    async fn release(&self, id: JobId, worker: &str) -> Result<(), QueueError> {
        let mut tables = self.tables();
        let index = tables.held(id, worker)?;
        if tables.end_if_stop_requested(index).is_some() {
            return Ok(());
        }
        let event_id = {
            let leased = &mut tables.jobs[index];
            leased.job.status = JobStatus::Queued;
            leased.job.attempts = leased.job.attempts.saturating_sub(1);
            leased.lease_owner = None;
            leased.lease_expires_at = None;
            leased.available_at = Utc::now();
            leased.job.event_id
        };
        tables.set_event_status(event_id, EventStatus::Pending, false);
        Ok(())
    }

    async fn cancel_pull_request(&self, repo_id: i64, pr_number: u64) -> Result<u64, QueueError> {
        Ok(self.tables().cancel_open_jobs(repo_id, pr_number))
    }

    async fn find(&self, id: JobId) -> Result<Option<ReviewJob>, QueueError> {
        Ok(self
            .tables()
            .jobs
            .iter()
            .find(|leased| leased.job.id == id)
            .map(|leased| leased.job.clone()))
    }

    async fn jobs_of_pull_request(
        &self,
        repo_id: i64,
        pr_number: u64,
    ) -> Result<Vec<ReviewJob>, QueueError> {
        Ok(self
            .tables()
            .jobs
            .iter()
            .filter(|leased| leased.job.repo_id == repo_id && leased.job.pr_number == pr_number)
            .map(|leased| leased.job.clone())
            .collect())
    }
}
