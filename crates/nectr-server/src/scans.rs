//! Background scans of repositories into the code graph: at most [`SCAN_CONCURRENCY`] at a
//! time, one per repository (a request while one is active answers its progress), with the
//! progress of each repository's latest scan kept for the API to poll. A scan that indexed a new
//! commit also replaces the repository's project map in memory (so a connect, a rescan and the
//! start-up backfill all build it). At start-up, connected repositories that were never scanned
//! are queued.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use nectr_domain::code_host::Identity;
use nectr_domain::graph::{GraphScanner, ScanOutcome, ScanPhase, ScanProgress, ScanScheduler};
use nectr_domain::memory::project_map::{MapSummary, ProjectScanner};
use nectr_domain::{InstallationRepository, RepoFullName, UserRepository};
use tokio::sync::Semaphore;

/// Scans running at once; the rest wait their turn.
pub const SCAN_CONCURRENCY: usize = 2;

/// Runs scans on the tokio runtime with bounded concurrency.
#[derive(Clone)]
pub struct BackgroundScans {
    scanner: GraphScanner,
    project_map: ProjectScanner,
    permits: Arc<Semaphore>,
    progress: Arc<Mutex<HashMap<String, ScanProgress>>>,
}

impl BackgroundScans {
    /// Scans with `scanner` (and `project_map` after a new commit), `concurrency` at a time.
    pub fn new(scanner: GraphScanner, project_map: ProjectScanner, concurrency: usize) -> Self {
        Self {
            scanner,
            project_map,
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            progress: Arc::default(),
        }
    }

    fn set(&self, key: &str, progress: ScanProgress) {
        self.progress
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key.to_owned(), progress);
    }

    async fn run(self, key: String, repo: RepoFullName, who: Identity) {
        let Ok(_permit) = self.permits.clone().acquire_owned().await else { return };
        let report = |progress: &ScanProgress| self.set(&key, progress.clone());
        let outcome = self.scanner.scan(&who, &repo, &report).await;
        let last = self.progress(&repo).unwrap_or_else(ScanProgress::queued);
        let finished = match outcome {
            Ok(ScanOutcome::Unchanged(record)) => {
                tracing::info!(repo = %repo, commit = %record.commit, "scan skipped: commit already indexed");
                ScanProgress { phase: ScanPhase::Completed, commit: Some(record.commit), ..last }
            }
            Ok(ScanOutcome::Scanned { record, removed }) => {
                tracing::info!(
                    repo = %repo,
                    files = record.files_indexed,
                    edges = record.edges_indexed,
                    removed,
                    "repository scanned into the code graph"
                );
                self.map_project(&repo, &who).await;
                ScanProgress { phase: ScanPhase::Completed, ..last }
            }
            Err(error) => {
                tracing::warn!(repo = %repo, error = %error, "repository scan failed");
                ScanProgress { phase: ScanPhase::Failed, error: Some(error.to_string()), ..last }
            }
        };
        self.set(&key, finished);
    }

    /// Replaces the project map from the commit just indexed; a failure is logged, and leaves
    /// the graph's scan complete (`POST /api/v1/memory/rescan` retries the map alone).
    async fn map_project(&self, repo: &RepoFullName, who: &Identity) {
        match self.project_map.scan(who, repo).await {
            Ok(scanned) => {
                if let MapSummary::Failed(error) = &scanned.summary {
                    tracing::warn!(repo = %repo, error = %error, "the project map has no summary: the model failed");
                }
                tracing::info!(repo = %repo, sections = scanned.sections.len(), "project map replaced");
            }
            Err(error) => {
                tracing::warn!(repo = %repo, error = %error, "cannot build the project map");
            }
        }
    }

    /// Queues a scan of every connected repository that has none yet; answers how many.
    ///
    /// # Errors
    /// When the installations or the graph cannot be read.
    pub async fn backfill(
        &self,
        installations: &dyn InstallationRepository,
        users: &dyn UserRepository,
    ) -> anyhow::Result<usize> {
        let mut queued = 0;
        let mut seen: Vec<String> = Vec::new();
        for installation in installations.list_active().await? {
            let key = installation.repo.as_str().to_lowercase();
            if seen.contains(&key) {
                continue;
            }
            seen.push(key);
            if self.scanner.graph().scan_record(&installation.repo).await?.is_some() {
                continue;
            }
            let who = match installation.access_token.clone() {
                Some(token) => Some(Identity::Token(token)),
                None => users
                    .find_by_id(installation.user_id)
                    .await?
                    .map(|user| Identity::Token(user.github_access_token)),
            };
            if let Some(who) = who {
                self.request(&installation.repo, who);
                queued += 1;
            }
        }
        Ok(queued)
    }
}

impl ScanScheduler for BackgroundScans {
    fn request(&self, repo: &RepoFullName, who: Identity) -> ScanProgress {
        let key = repo.as_str().to_lowercase();
        let mut progress = self.progress.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(active) = progress.get(&key).filter(|progress| progress.phase.is_active()) {
            return active.clone();
        }
        let queued = ScanProgress::queued();
        progress.insert(key.clone(), queued.clone());
        drop(progress);
        tokio::spawn(self.clone().run(key, repo.clone(), who));
        queued
    }

    fn progress(&self, repo: &RepoFullName) -> Option<ScanProgress> {
        let progress = self.progress.lock().unwrap_or_else(PoisonError::into_inner);
        progress.get(&repo.as_str().to_lowercase()).cloned()
    }
}
