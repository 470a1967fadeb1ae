//! Webhook intake: verify a GitHub delivery against the right secret, store it once, and queue
//! the review it asks for. No GitHub, model or graph call happens here: it answers in
//! milliseconds.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::connections::AppInstallationChange;
use crate::delivery::{BodyError, DeliveryId, GitHubEvent, HeaderError, body_text};
use crate::pull_request::PullRequestPayload;
use crate::queue::{IntakeEffect, NewReviewJob, QueueError, ReviewQueue};
use crate::{
    EventId, EventStatus, Installation, InstallationRepository, JobId, NewEvent, RepoFullName,
    WebhookSecret,
};

/// GitHub's largest delivery, 25 MB.
pub const MAX_DELIVERY_BYTES: usize = 25 * 1024 * 1024;

/// Pull-request actions that ask for a review.
pub const REVIEW_ACTIONS: [&str; 4] = ["opened", "synchronize", "reopened", "ready_for_review"];

/// A delivery as received.
#[derive(Clone, Debug)]
pub struct Delivery {
    /// `X-GitHub-Event`.
    pub event: Option<String>,
    /// `X-GitHub-Delivery`.
    pub delivery_id: Option<String>,
    /// `X-GitHub-Hook-ID`.
    pub hook_id: Option<i64>,
    /// `X-Hub-Signature-256`.
    pub signature: Option<String>,
    /// The raw body.
    pub body: Vec<u8>,
}

/// Checks a delivery's signature.
pub trait SignatureVerifier: Send + Sync {
    /// True when `signature` (`sha256=<hex>`) is the HMAC-SHA256 of `body` under `secret`,
    /// compared in constant time.
    fn verify(&self, secret: &[u8], body: &[u8], signature: &str) -> bool;
}

/// Intake settings.
#[derive(Clone, Debug, Default)]
pub struct IntakeConfig {
    /// Review draft pull requests too.
    pub review_drafts: bool,
    /// Attempts per job.
    pub max_attempts: u32,
    /// `GITHUB_WEBHOOK_SECRET`: used when no more specific secret is known.
    pub fallback_secret: Option<WebhookSecret>,
    /// The GitHub App's webhook secret, for deliveries that carry an `installation`.
    pub app_secret: Option<WebhookSecret>,
    /// How long the installations found (or not found) for a hook or repository id are reused
    /// before they are read again; zero reads them for every delivery. A delivery that a reused
    /// lookup would refuse is checked again against a fresh one, so a repository connected or a
    /// secret rotated a moment ago is never refused. A deactivated repository's secret (or, for
    /// a repository connected a moment ago, the fallback secret) stays valid for at most this
    /// long in a process that used it recently.
    pub secret_cache_ttl: Duration,
}

/// Where an installation lookup started.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum LookupKey {
    Hook(i64),
    Repository(i64),
}

/// Whether an installation lookup may use the cache.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Read {
    Cached,
    Fresh,
}

/// The secrets that may have signed a delivery, and where they came from.
struct Lookup {
    secrets: Vec<WebhookSecret>,
    installations: Vec<Installation>,
    /// A cached lookup was used: it may be stale.
    cached: bool,
}

/// Recently found installations (or none), by hook or repository id.
#[derive(Default)]
struct SecretCache {
    entries: Mutex<HashMap<LookupKey, (Instant, Vec<Installation>)>>,
}

impl SecretCache {
    /// Entries kept at most; the cache starts over beyond it.
    const CAPACITY: usize = 4096;

    fn get(&self, key: LookupKey, ttl: Duration) -> Option<Vec<Installation>> {
        let entries = self.entries.lock().ok()?;
        let (stored_at, installations) = entries.get(&key)?;
        (stored_at.elapsed() < ttl).then(|| installations.clone())
    }

    fn put(&self, key: LookupKey, installations: &[Installation]) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= Self::CAPACITY {
                entries.clear();
            }
            entries.insert(key, (Instant::now(), installations.to_vec()));
        }
    }
}

/// What the intake did with a delivery.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IntakeOutcome {
    /// Stored (and, for a review action, queued).
    Received {
        /// The stored event.
        event_id: EventId,
        /// Its type, in the original's naming.
        event_type: String,
        /// The queued job.
        job: Option<JobId>,
    },
    /// The delivery id was seen before; nothing was done.
    Duplicate {
        /// The event stored the first time.
        event_id: EventId,
        /// The delivery id.
        delivery_id: DeliveryId,
    },
}

/// Why a delivery was refused.
#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    /// The signature header is missing.
    #[error("missing header {0}")]
    MissingHeader(&'static str),
    /// Signed correctly, but a required header is missing or malformed; nothing is stored.
    #[error("header {header} {reason}")]
    InvalidHeader {
        /// The header's name.
        header: &'static str,
        /// What is wrong with it.
        reason: HeaderError,
    },
    /// Signed correctly, but the body is not UTF-8 or holds a NUL byte; nothing is stored.
    #[error("the delivery's body {0}")]
    InvalidBody(BodyError),
    /// No secret is known for this delivery, so it cannot be verified.
    #[error("no webhook secret is known for this delivery")]
    NoSecret,
    /// The signature does not match.
    #[error("invalid webhook signature")]
    BadSignature,
    /// Signed correctly, but not JSON; stored as `rejected`.
    #[error("the delivery is not valid JSON: {reason}")]
    MalformedJson {
        /// The stored event.
        event_id: EventId,
        /// What the parser said.
        reason: String,
    },
    /// Storage failed.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

#[derive(Deserialize, Default)]
struct Payload {
    action: Option<String>,
    repository: Option<PayloadRepository>,
    installation: Option<PayloadInstallation>,
    pull_request: Option<PullRequestPayload>,
    number: Option<u64>,
}

impl Payload {
    /// Its `action`, when it is one GitHub could send (anything else is treated as none).
    fn action(&self) -> Option<&str> {
        self.action.as_deref().filter(|action| valid_action(action))
    }
}

#[derive(Deserialize)]
struct PayloadRepository {
    id: i64,
    full_name: String,
}

#[derive(Deserialize)]
struct PayloadInstallation {
    id: i64,
}

/// A required header, parsed: a missing or malformed one is `InvalidHeader`.
fn header<T>(
    value: Option<&str>,
    name: &'static str,
    parse: fn(&str) -> Result<T, HeaderError>,
) -> Result<T, IntakeError> {
    parse(value.unwrap_or_default())
        .map_err(|reason| IntakeError::InvalidHeader { header: name, reason })
}

/// Whether a payload's `action` is one GitHub could send: 1 to 32 lower-case ASCII letters and
/// `_` (so that the event type made from it fits its column).
fn valid_action(action: &str) -> bool {
    (1..=32).contains(&action.len())
        && action.bytes().all(|byte| byte.is_ascii_lowercase() || byte == b'_')
}

/// Whether a payload's head commit can be queued: 1 to 64 ASCII letters and digits (GitHub
/// sends 40 or 64 hexadecimal digits; the `review_jobs.head_sha` column holds 64).
fn valid_head_sha(sha: &str) -> bool {
    (1..=64).contains(&sha.len()) && sha.bytes().all(|byte| byte.is_ascii_alphanumeric())
}

/// The original's `event_type` naming.
pub fn event_type(event: &str, action: Option<&str>) -> String {
    match (event, action) {
        ("pull_request", Some(action)) => format!("{action}_pull_request"),
        ("issues", Some(action)) => format!("{action}_issue"),
        ("push", _) => "push".to_owned(),
        _ => "unknown".to_owned(),
    }
}

/// The webhook intake use case.
pub struct WebhookIntake {
    installations: Arc<dyn InstallationRepository>,
    queue: Arc<dyn ReviewQueue>,
    verifier: Arc<dyn SignatureVerifier>,
    config: IntakeConfig,
    cache: SecretCache,
}

impl WebhookIntake {
    /// The intake over its ports.
    pub fn new(
        installations: Arc<dyn InstallationRepository>,
        queue: Arc<dyn ReviewQueue>,
        verifier: Arc<dyn SignatureVerifier>,
        config: IntakeConfig,
    ) -> Self {
        Self { installations, queue, verifier, config, cache: SecretCache::default() }
    }

    /// Verifies, stores and queues one delivery.
    ///
    /// The signature is checked first; only a verified delivery has its headers and body
    /// validated, so that nothing about an unverified one is told.
    ///
    /// # Errors
    /// [`IntakeError`]: refused deliveries are not stored, except valid-signature malformed JSON.
    pub async fn receive(&self, delivery: Delivery) -> Result<IntakeOutcome, IntakeError> {
        let parsed = serde_json::from_slice::<Payload>(&delivery.body);
        let hooked = self.verify(&delivery, parsed.as_ref().ok()).await?;
        let event = header(delivery.event.as_deref(), "X-GitHub-Event", GitHubEvent::parse)?;
        let delivery_id =
            header(delivery.delivery_id.as_deref(), "X-GitHub-Delivery", DeliveryId::parse)?;
        let body = body_text(delivery.body).map_err(IntakeError::InvalidBody)?;
        let (event_type, status, effect) = match &parsed {
            Ok(_)
                if AppInstallationChange::from_delivery(event.as_str(), body.as_bytes())
                    .is_some() =>
            {
                // Work to do after storage: pending until the change is applied (`AppChanges`),
                // so that a crash in between leaves it to be applied at the next start.
                ("unknown".to_owned(), EventStatus::Pending, IntakeEffect::None)
            }
            Ok(payload) => {
                let (status, effect) = self.decide(event.as_str(), payload, &hooked);
                (event_type(event.as_str(), payload.action()), status, effect)
            }
            Err(_) => ("unknown".to_owned(), EventStatus::Rejected, IntakeEffect::None),
        };
        let new_event = NewEvent {
            event_type: event_type.clone(),
            source: "github".to_owned(),
            payload: body,
            status,
            delivery_id: Some(delivery_id.as_str().to_owned()),
            github_event: Some(event.into_string()),
        };
        match (self.store(new_event, effect).await?, parsed) {
            (Stored::Duplicate(event_id), _) => {
                Ok(IntakeOutcome::Duplicate { event_id, delivery_id })
            }
            (Stored::New(event_id, _), Err(error)) => {
                Err(IntakeError::MalformedJson { event_id, reason: error.to_string() })
            }
            (Stored::New(event_id, job), Ok(_)) => {
                Ok(IntakeOutcome::Received { event_id, event_type, job })
            }
        }
    }

    /// Checks the delivery's signature against the secrets that may have signed it; answers the
    /// installations found.
    async fn verify(
        &self,
        delivery: &Delivery,
        payload: Option<&Payload>,
    ) -> Result<Vec<Installation>, IntakeError> {
        let signature = delivery
            .signature
            .as_deref()
            .ok_or(IntakeError::MissingHeader("X-Hub-Signature-256"))?;
        let verified = |secrets: &[WebhookSecret]| {
            secrets.iter().any(|secret| {
                self.verifier.verify(secret.expose().as_bytes(), &delivery.body, signature)
            })
        };
        let mut lookup = self.candidate_secrets(delivery.hook_id, payload, Read::Cached).await?;
        if lookup.cached && !verified(&lookup.secrets) {
            // The cached lookup may predate a new repository or a rotated secret: read again
            // before refusing.
            lookup = self.candidate_secrets(delivery.hook_id, payload, Read::Fresh).await?;
        }
        if lookup.secrets.is_empty() {
            return Err(IntakeError::NoSecret);
        }
        if !verified(&lookup.secrets) {
            return Err(IntakeError::BadSignature);
        }
        Ok(lookup.installations)
    }

    /// The secrets that may have signed this delivery, most specific first: the installations
    /// with this hook id; else those of this repository id; else the App's secret for App
    /// deliveries; else the configured fallback. Also answers the installations found.
    async fn candidate_secrets(
        &self,
        hook_id: Option<i64>,
        payload: Option<&Payload>,
        read: Read,
    ) -> Result<Lookup, IntakeError> {
        let mut cached = false;
        let mut installations = match hook_id {
            Some(hook_id) => {
                self.installations_for(LookupKey::Hook(hook_id), read, &mut cached).await?
            }
            None => Vec::new(),
        };
        if installations.is_empty()
            && let Some(repository) = payload.and_then(|payload| payload.repository.as_ref())
        {
            let key = LookupKey::Repository(repository.id);
            installations = self.installations_for(key, read, &mut cached).await?;
        }
        let mut secrets: Vec<WebhookSecret> = installations
            .iter()
            .filter_map(|installation| installation.webhook_secret.clone())
            .collect();
        if secrets.is_empty()
            && payload.is_some_and(|payload| payload.installation.is_some())
            && let Some(app_secret) = &self.config.app_secret
        {
            secrets.push(app_secret.clone());
        }
        if secrets.is_empty()
            && let Some(fallback) = &self.config.fallback_secret
        {
            secrets.push(fallback.clone());
        }
        Ok(Lookup { secrets, installations, cached })
    }

    /// The active installations of a hook or repository id, from the cache when fresh and
    /// allowed (then `cached` is set), else from the repository.
    async fn installations_for(
        &self,
        key: LookupKey,
        read: Read,
        cached: &mut bool,
    ) -> Result<Vec<Installation>, IntakeError> {
        let ttl = self.config.secret_cache_ttl;
        if ttl.is_zero() {
            return self.read_installations(key).await;
        }
        if read == Read::Cached
            && let Some(found) = self.cache.get(key, ttl)
        {
            *cached = true;
            return Ok(found);
        }
        let found = self.read_installations(key).await?;
        self.cache.put(key, &found);
        Ok(found)
    }

    async fn read_installations(&self, key: LookupKey) -> Result<Vec<Installation>, IntakeError> {
        match key {
            LookupKey::Hook(id) => self.installations.find_active_by_webhook_id(id).await,
            LookupKey::Repository(id) => self.installations.find_active_by_github_repo_id(id).await,
        }
        .map_err(|error| IntakeError::Unexpected(anyhow::Error::new(error)))
    }

    /// What a verified delivery leads to: its initial status and its effect, which the queue
    /// applies only if the delivery is new.
    fn decide(
        &self,
        event: &str,
        payload: &Payload,
        hooked: &[Installation],
    ) -> (EventStatus, IntakeEffect) {
        match event {
            "ping" => {
                let verified: Vec<_> = hooked.iter().map(|installation| installation.id).collect();
                let effect = if verified.is_empty() {
                    IntakeEffect::None
                } else {
                    IntakeEffect::MarkVerified(verified)
                };
                (EventStatus::Completed, effect)
            }
            "pull_request" => self.decide_pull_request(payload),
            _ => (EventStatus::Ignored, IntakeEffect::None),
        }
    }

    /// What a `pull_request` delivery leads to: `closed` cancels, a review action queues a
    /// review, anything else is ignored but records the pull request's state.
    fn decide_pull_request(&self, payload: &Payload) -> (EventStatus, IntakeEffect) {
        let ignored = (EventStatus::Ignored, IntakeEffect::None);
        let (Some(action), Some(repository), Some(pull)) =
            (payload.action(), payload.repository.as_ref(), payload.pull_request.as_ref())
        else {
            return ignored;
        };
        // A number beyond what the database stores cannot be a pull request's.
        let Some(pr_number) =
            pull.number.or(payload.number).filter(|number| i64::try_from(*number).is_ok())
        else {
            return ignored;
        };
        let repo = RepoFullName::parse(&repository.full_name).ok();
        let snapshot = repo.clone().and_then(|repo| pull.snapshot(repository.id, repo, pr_number));
        if action == "closed" {
            let effect = IntakeEffect::CancelPullRequest {
                repo_id: repository.id,
                pr_number,
                pull_request: snapshot,
            };
            return (EventStatus::Completed, effect);
        }
        if !REVIEW_ACTIONS.contains(&action)
            || (pull.draft && !self.config.review_drafts)
            || !valid_head_sha(&pull.head.sha)
        {
            return match snapshot {
                Some(snapshot) => (EventStatus::Ignored, IntakeEffect::RecordPullRequest(snapshot)),
                None => ignored,
            };
        }
        let Some(repo) = repo else { return ignored };
        let job = NewReviewJob {
            repo_id: repository.id,
            repo,
            pr_number,
            head_sha: pull.head.sha.clone(),
            installation_id: payload.installation.as_ref().map(|installation| installation.id),
            max_attempts: self.config.max_attempts.max(1),
            pull_request: snapshot,
        };
        (EventStatus::Pending, IntakeEffect::QueueReview(job))
    }

    async fn store(&self, event: NewEvent, effect: IntakeEffect) -> Result<Stored, IntakeError> {
        match self.queue.accept(event, effect).await {
            Ok(accepted) => Ok(Stored::New(accepted.event.id, accepted.job)),
            Err(QueueError::DuplicateDelivery(event_id)) => Ok(Stored::Duplicate(event_id)),
            Err(other) => Err(IntakeError::Unexpected(anyhow::Error::new(other))),
        }
    }
}

enum Stored {
    New(EventId, Option<JobId>),
    Duplicate(EventId),
}

#[cfg(test)]
mod tests {
    use super::event_type;

    #[test]
    fn names_events_as_the_original_did() {
        assert_eq!(event_type("pull_request", Some("opened")), "opened_pull_request");
        assert_eq!(event_type("issues", Some("edited")), "edited_issue");
        assert_eq!(event_type("push", None), "push");
        assert_eq!(event_type("ping", None), "unknown");
        assert_eq!(event_type("issue_comment", Some("created")), "unknown");
    }
}
