//! One critical section per subject within this process. The writes that must leave exactly one
//! of something (a developer's contributor profile, a repository's project map) read what is
//! stored, then add and delete; two of them at once would each find the same old state and each
//! add their own. Stores without an atomic update (Mem0) count a hit by reading a memory and
//! writing it back, which loses one of two hits counted at once. Each of these runs here, one at
//! a time per subject.
//!
//! One process runs Nectr (its workers, background scans and API share it), so a lock in this
//! process is enough; the lock is process-wide rather than owned by a service instance, because
//! the composition root builds several services on one store (the API's and the background
//! scans' project scanners) and they must still exclude each other. A deployment of several
//! processes on one store would need a lock those processes share: a PostgreSQL advisory lock
//! (or a lease row) on the same subject, since Mem0 offers neither transactions nor conditional
//! writes.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, LazyLock, Mutex, PoisonError};

use futures_util::lock::{Mutex as AsyncMutex, OwnedMutexGuard};

use crate::RepoFullName;

use super::{MemoryId, MemoryScope};

/// What a critical section is about.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Subject {
    /// The contributor profile of one developer (`scope`) in one repository.
    Profile {
        /// The repository, in lower case (GitHub compares names ignoring case).
        repo: String,
        /// The developer's scope.
        scope: MemoryScope,
    },
    /// The project map of one repository, in lower case.
    ProjectMap(String),
    /// One memory of a store named `store`, read and written back.
    Memory {
        /// The store's name ([`super::MemoryStore::name`]).
        store: String,
        /// The memory.
        id: MemoryId,
    },
}

impl Subject {
    /// The contributor profile of `scope` in `repo`.
    pub fn profile(repo: &RepoFullName, scope: &MemoryScope) -> Self {
        Self::Profile { repo: repo.as_str().to_ascii_lowercase(), scope: scope.clone() }
    }

    /// The project map of `repo`.
    pub fn project_map(repo: &RepoFullName) -> Self {
        Self::ProjectMap(repo.as_str().to_ascii_lowercase())
    }

    /// Memory `id` of the store named `store`.
    pub fn memory(store: &str, id: &MemoryId) -> Self {
        Self::Memory { store: store.to_owned(), id: id.clone() }
    }
}

type Held = HashMap<Subject, Arc<AsyncMutex<()>>>;

/// The subjects someone holds or waits for; a subject leaves when its last holder is done.
static HELD: LazyLock<Mutex<Held>> = LazyLock::new(Mutex::default);

fn held() -> std::sync::MutexGuard<'static, Held> {
    HELD.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A held section: releasing it (also when its future is dropped midway) lets the next one in,
/// and forgets the subject when nobody else holds or waits for it.
struct Turn {
    subject: Subject,
    lock: Arc<AsyncMutex<()>>,
    guard: Option<OwnedMutexGuard<()>>,
}

impl Drop for Turn {
    fn drop(&mut self) {
        drop(self.guard.take());
        let mut held = held();
        // Clones are only taken under `HELD`'s lock: two holders (the map and this turn) mean
        // no one else wants the subject.
        if Arc::strong_count(&self.lock) == 2 {
            held.remove(&self.subject);
        }
    }
}

/// Runs `work` while no other work on `subject` runs in this process.
pub async fn exclusively<T>(subject: Subject, work: impl Future<Output = T>) -> T {
    let lock = held().entry(subject.clone()).or_default().clone();
    let mut turn = Turn { subject, lock: lock.clone(), guard: None };
    turn.guard = Some(lock.lock_owned().await);
    let outcome = work.await;
    drop(turn);
    outcome
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::{Context, Poll, Waker};

    use futures_util::future::{join_all, poll_fn};

    use super::*;

    /// Polls `future` until it is done (the tasks below only ever yield).
    fn run<F: Future>(future: F) -> F::Output {
        let mut future = std::pin::pin!(future);
        let mut context = Context::from_waker(Waker::noop());
        loop {
            if let Poll::Ready(output) = future.as_mut().poll(&mut context) {
                return output;
            }
        }
    }

    async fn yield_once() {
        let mut yielded = false;
        poll_fn(|_| match std::mem::replace(&mut yielded, true) {
            true => Poll::Ready(()),
            false => Poll::Pending,
        })
        .await;
    }

    #[test]
    fn work_on_one_subject_runs_one_at_a_time_and_the_subject_is_then_forgotten() {
        let repo = RepoFullName::parse("octo/Exclusive").unwrap();
        let inside = AtomicUsize::new(0);
        let most = AtomicUsize::new(0);
        let entered = AtomicUsize::new(0);
        let work = || async {
            let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
            most.fetch_max(now, Ordering::SeqCst);
            for _ in 0..5 {
                yield_once().await;
            }
            entered.fetch_add(1, Ordering::SeqCst);
            inside.fetch_sub(1, Ordering::SeqCst);
        };
        let upper = RepoFullName::parse("OCTO/exclusive").unwrap();
        let subjects = [Subject::project_map(&repo), Subject::project_map(&upper)];
        let all = (0..8).map(|index| exclusively(subjects[index % 2].clone(), work()));
        run(join_all(all));
        assert_eq!(entered.load(Ordering::SeqCst), 8);
        assert_eq!(most.load(Ordering::SeqCst), 1, "names differing in case are one subject");
        assert!(!held().contains_key(&subjects[0]), "a subject nobody holds is forgotten");
    }

    #[test]
    fn different_subjects_do_not_wait_for_each_other() {
        let repo = RepoFullName::parse("octo/apart").unwrap();
        let inside = AtomicUsize::new(0);
        let most = AtomicUsize::new(0);
        let work = || async {
            let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
            most.fetch_max(now, Ordering::SeqCst);
            for _ in 0..5 {
                yield_once().await;
            }
            inside.fetch_sub(1, Ordering::SeqCst);
        };
        let subjects = [
            Subject::profile(&repo, &MemoryScope::developer("ann")),
            Subject::profile(&repo, &MemoryScope::developer("bob")),
            Subject::project_map(&repo),
        ];
        run(join_all(subjects.iter().map(|subject| exclusively(subject.clone(), work()))));
        assert_eq!(most.load(Ordering::SeqCst), 3);
    }
}
