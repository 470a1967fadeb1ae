//! The shared contract suite of the `RevokedSessions` port, run against the SQL store on SQLite
//! and PostgreSQL: a revoked id is known and others are not; revoking again, also at once, is
//! not an error; a revocation purges the records that expired and keeps the others.

use chrono::{Duration, Utc};
use nectr_domain::sign_in::RevokedSessions;

/// Runs every scenario, with session ids of its own.
pub async fn run_all(revoked: &dyn RevokedSessions) {
    a_revoked_session_is_known_and_others_are_not(revoked).await;
    revoking_again_changes_nothing(revoked).await;
    a_revocation_purges_the_expired_records(revoked).await;
}

/// A revoked id is revoked; an id never revoked is not.
pub async fn a_revoked_session_is_known_and_others_are_not(revoked: &dyn RevokedSessions) {
    let now = Utc::now();
    assert!(!revoked.is_revoked("contract-first").await.unwrap());
    revoked.revoke("contract-first", now + Duration::hours(1), now).await.unwrap();
    assert!(revoked.is_revoked("contract-first").await.unwrap());
    assert!(!revoked.is_revoked("contract-second").await.unwrap());
}

/// A repeated logout, alone or two at once, is not an error, and the id stays revoked.
pub async fn revoking_again_changes_nothing(revoked: &dyn RevokedSessions) {
    let now = Utc::now();
    let expires_at = now + Duration::hours(1);
    revoked.revoke("contract-again", expires_at, now).await.unwrap();
    revoked.revoke("contract-again", expires_at, now).await.unwrap();
    let (first, second) = futures_util::join!(
        revoked.revoke("contract-together", expires_at, now),
        revoked.revoke("contract-together", expires_at, now),
    );
    first.unwrap();
    second.unwrap();
    assert!(revoked.is_revoked("contract-again").await.unwrap());
    assert!(revoked.is_revoked("contract-together").await.unwrap());
}

/// A record whose expiry has passed is deleted by the next revocation; one still running is
/// kept.
pub async fn a_revocation_purges_the_expired_records(revoked: &dyn RevokedSessions) {
    let now = Utc::now();
    revoked.revoke("contract-expiring", now + Duration::seconds(1), now).await.unwrap();
    revoked.revoke("contract-lasting", now + Duration::hours(1), now).await.unwrap();
    assert!(revoked.is_revoked("contract-expiring").await.unwrap(), "not purged before expiry");
    let later = now + Duration::seconds(2);
    revoked.revoke("contract-later", later + Duration::hours(1), later).await.unwrap();
    assert!(!revoked.is_revoked("contract-expiring").await.unwrap(), "purged after expiry");
    assert!(revoked.is_revoked("contract-lasting").await.unwrap());
    assert!(revoked.is_revoked("contract-later").await.unwrap());
}
