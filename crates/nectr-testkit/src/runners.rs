//! `ReviewRunner`s for queue and worker tests: they succeed, fail, hang, panic or wait to be
//! stopped, chosen per head commit, and record every start and completion.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use nectr_domain::JobId;
use nectr_domain::queue::{ReviewJob, ReviewRunner, RunError, RunOutcome, StopSignal};

/// What a run does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Behaviour {
    /// Succeeds after the delay, checking for stop requests every 10 ms.
    Succeed(Duration),
    /// Fails with a transient error.
    Fail,
    /// Fails as rate-limited, not to be retried before this long.
    RateLimited(Duration),
    /// Never returns.
    Hang,
    /// Panics.
    Panic,
    /// Runs until asked to stop, then stops.
    UntilStopped,
}

/// A runner whose behaviour is chosen by head commit.
#[derive(Default)]
pub struct ScriptedRunner {
    default: Option<Behaviour>,
    by_head: Mutex<HashMap<String, Behaviour>>,
    started: Mutex<Vec<JobId>>,
    completed: Mutex<Vec<JobId>>,
}

impl ScriptedRunner {
    /// Every run behaves as `behaviour` unless its head commit says otherwise.
    pub fn new(behaviour: Behaviour) -> Self {
        Self { default: Some(behaviour), ..Self::default() }
    }

    /// Runs of this head commit behave as `behaviour`.
    pub fn for_head(self, head_sha: &str, behaviour: Behaviour) -> Self {
        self.by_head.lock().unwrap().insert(head_sha.to_owned(), behaviour);
        self
    }

    /// Jobs started, in order (a retried job appears once per attempt).
    pub fn started(&self) -> Vec<JobId> {
        self.started.lock().unwrap().clone()
    }

    /// Jobs that completed.
    pub fn completed(&self) -> Vec<JobId> {
        self.completed.lock().unwrap().clone()
    }

    /// Waits until `count` runs have started, or panics after ten seconds.
    pub async fn wait_for_starts(&self, count: usize) {
        for _ in 0..1000 {
            if self.started.lock().unwrap().len() >= count {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("{count} runs did not start; started: {:?}", self.started());
    }
}

#[async_trait]
impl ReviewRunner for ScriptedRunner {
    async fn run(&self, job: &ReviewJob, stop: &dyn StopSignal) -> Result<RunOutcome, RunError> {
        self.started.lock().unwrap().push(job.id);
        let behaviour = self
            .by_head
            .lock()
            .unwrap()
            .get(&job.head_sha)
            .copied()
            .or(self.default)
            .unwrap_or(Behaviour::Succeed(Duration::ZERO));
        match behaviour {
            Behaviour::Succeed(delay) => {
                let until = tokio::time::Instant::now() + delay;
                loop {
                    if let Some(reason) = stop.stop_requested() {
                        return Ok(RunOutcome::Stopped(reason));
                    }
                    if tokio::time::Instant::now() >= until {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                self.completed.lock().unwrap().push(job.id);
                Ok(RunOutcome::Completed(Some(serde_json::json!({
                    "ai_summary": format!("Reviewed {}", job.head_sha),
                    "comment_posted": true,
                }))))
            }
            Behaviour::Fail => Err(RunError::Transient("GitHub answered 502".to_owned())),
            Behaviour::RateLimited(after) => {
                Err(RunError::RetryLater { message: "the model answered 429".to_owned(), after })
            }
            Behaviour::Hang => std::future::pending().await,
            Behaviour::Panic => panic!("the runner panicked on purpose"),
            Behaviour::UntilStopped => loop {
                if let Some(reason) = stop.stop_requested() {
                    return Ok(RunOutcome::Stopped(reason));
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            },
        }
    }
}
