//! The cap on a user's open MCP sessions, over both transports: each open session holds a
//! [`Slot`] of its user, and a user who holds as many as the cap allows is refused another (429
//! `too_many_sessions`) until one of theirs ends. A slot is given back when it is dropped, so
//! every way a session ends (`DELETE /mcp`, rmcp ending it, the client dropping its SSE stream,
//! a stop) frees it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use nectr_domain::UserId;

use super::http_error::Refusal;

/// How many sessions each user holds.
pub(crate) struct SessionSlots {
    limit: usize,
    held: Mutex<HashMap<UserId, usize>>,
}

impl SessionSlots {
    /// At most `limit` open sessions per user (at least one).
    pub(crate) fn new(limit: usize) -> Arc<Self> {
        Arc::new(Self { limit: limit.max(1), held: Mutex::default() })
    }

    fn held(&self) -> std::sync::MutexGuard<'_, HashMap<UserId, usize>> {
        self.held.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A slot for a new session of `user`.
    ///
    /// # Errors
    /// [`Refusal::TooManySessions`] when `user` holds the cap already.
    pub(crate) fn take(self: &Arc<Self>, user: UserId) -> Result<Slot, Refusal> {
        let mut held = self.held();
        let count = held.entry(user).or_default();
        if *count >= self.limit {
            tracing::warn!(
                user_id = user.get(),
                limit = self.limit,
                "refused an MCP session over the cap"
            );
            return Err(Refusal::TooManySessions { limit: self.limit });
        }
        *count += 1;
        Ok(Slot { slots: self.clone(), user })
    }

    /// How many slots `user` holds.
    #[cfg(test)]
    pub(crate) fn count(&self, user: UserId) -> usize {
        self.held().get(&user).copied().unwrap_or_default()
    }
}

/// One open session's place in its user's cap, given back when dropped.
pub(crate) struct Slot {
    slots: Arc<SessionSlots>,
    user: UserId,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut held = self.slots.held();
        if let Some(count) = held.get_mut(&self.user) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                held.remove(&self.user);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_holds_at_most_the_cap_and_a_dropped_slot_is_given_back() {
        let slots = SessionSlots::new(2);
        let (alice, bob) = (UserId::new(1), UserId::new(2));
        let first = slots.take(alice).unwrap();
        let _second = slots.take(alice).unwrap();
        assert_eq!(slots.take(alice).err(), Some(Refusal::TooManySessions { limit: 2 }));
        let _bobs = slots.take(bob).unwrap();
        assert_eq!((slots.count(alice), slots.count(bob)), (2, 1));
        drop(first);
        assert_eq!(slots.count(alice), 1);
        let _third = slots.take(alice).unwrap();
        assert_eq!(slots.take(alice).err(), Some(Refusal::TooManySessions { limit: 2 }));
    }

    #[test]
    fn a_cap_of_zero_still_allows_one_session() {
        let slots = SessionSlots::new(0);
        let _only = slots.take(UserId::new(1)).unwrap();
        assert!(slots.take(UserId::new(1)).is_err());
    }
}
