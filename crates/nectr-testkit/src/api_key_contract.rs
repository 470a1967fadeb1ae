//! The shared contract suite of the `ApiKeyStore` port, run against the SQL store on SQLite and
//! PostgreSQL: a key's secret is shown once and authenticates its own user; lists and revocation
//! stay within one user; a revoked, unknown or malformed secret is refused; the last use is
//! recorded, at most once per resolution.

use chrono::{DateTime, Duration, Utc};
use nectr_domain::api_keys::{
    ApiKeyError, ApiKeyStore, KEY_PREFIX, LAST_USE_RESOLUTION_SECONDS, MAX_NAME_CHARS,
};
use nectr_domain::{AccessToken, UserId, UserRepository, UserUpsert};
use secrecy::ExposeSecret;

/// Runs every scenario with users of its own (`users` must be the store `keys` refers to).
pub async fn run_all(users: &dyn UserRepository, keys: &dyn ApiKeyStore) {
    let alice = user(users, 9_100_001, "key-alice").await;
    let bob = user(users, 9_100_002, "key-bob").await;
    a_key_is_shown_once_and_authenticates_its_user(keys, alice).await;
    the_last_use_is_recorded_once_per_resolution(keys, alice).await;
    lists_hold_only_the_users_own_keys_newest_first(keys, alice, bob).await;
    revoking_stays_within_the_user_and_refuses_the_key(keys, alice, bob).await;
    malformed_and_unknown_secrets_are_refused(keys, alice).await;
    names_are_checked(keys, alice).await;
}

async fn user(users: &dyn UserRepository, github_id: i64, login: &str) -> UserId {
    users
        .upsert_by_github_id(UserUpsert {
            github_id,
            github_username: login.to_owned(),
            github_access_token: AccessToken::new(format!("gho_{login}")),
            email: None,
            avatar_url: None,
            name: None,
        })
        .await
        .unwrap()
        .id
}

fn assert_near(time: DateTime<Utc>, expected: DateTime<Utc>, what: &str) {
    let gap = (time - expected).num_milliseconds().abs();
    assert!(gap <= 1_000, "{what} is {time}, expected about {expected}");
}

/// The secret is returned once, stored only as its hint, and authenticates as its user.
pub async fn a_key_is_shown_once_and_authenticates_its_user(keys: &dyn ApiKeyStore, user: UserId) {
    let before = Utc::now();
    let created = keys.create(user, "  ci bot  ").await.unwrap();
    let secret = created.secret.expose_secret().to_owned();
    assert!(secret.starts_with(KEY_PREFIX), "{}", created.key.hint);
    let random = &secret[KEY_PREFIX.len()..];
    assert!(random.len() >= 43, "at least 256 bits in hex or base64: {}", random.len());
    assert_eq!(created.key.name, "ci bot", "the name is trimmed");
    assert_eq!(created.key.user_id, user);
    assert!(secret.starts_with(&created.key.hint) && created.key.hint.len() > KEY_PREFIX.len());
    assert!(created.key.hint.len() < KEY_PREFIX.len() + 12, "a hint, not the secret");
    assert_near(created.key.created_at, before, "created_at");
    assert_eq!(created.key.last_used_at, None);
    assert!(!format!("{created:?}").contains(random), "the secret is not in Debug output");

    let listed = keys.list(user).await.unwrap();
    assert_eq!(listed.first(), Some(&created.key));

    let now = Utc::now();
    let found = keys.authenticate(&secret, now).await.unwrap().expect("the key authenticates");
    assert_eq!((found.id, found.user_id, found.name.as_str()), (created.key.id, user, "ci bot"));
    assert_near(found.last_used_at.expect("a use is recorded"), now, "last_used_at");
    let listed = keys.list(user).await.unwrap();
    let stored = listed.iter().find(|key| key.id == created.key.id).unwrap();
    assert_eq!(stored.last_used_at, found.last_used_at, "the use is stored");

    let other = keys.create(user, "second").await.unwrap();
    assert_ne!(other.secret.expose_secret(), secret.as_str(), "every secret is new");
    let second = keys.authenticate(other.secret.expose_secret(), now).await.unwrap().unwrap();
    assert_eq!(second.id, other.key.id, "each secret finds its own key");
    assert!(keys.revoke(user, other.key.id).await.unwrap());
}

/// A use younger than the resolution keeps the recorded time; an older one is replaced.
pub async fn the_last_use_is_recorded_once_per_resolution(keys: &dyn ApiKeyStore, user: UserId) {
    let created = keys.create(user, "busy script").await.unwrap();
    let secret = created.secret.expose_secret();
    let first = Utc::now();
    let used = keys.authenticate(secret, first).await.unwrap().unwrap();
    let recorded = used.last_used_at.unwrap();
    let soon = first + Duration::seconds(LAST_USE_RESOLUTION_SECONDS / 2);
    let again = keys.authenticate(secret, soon).await.unwrap().unwrap();
    assert_eq!(again.last_used_at, Some(recorded), "within the resolution the time stays");
    let later = first + Duration::seconds(LAST_USE_RESOLUTION_SECONDS + 5);
    let moved = keys.authenticate(secret, later).await.unwrap().unwrap();
    assert_near(moved.last_used_at.unwrap(), later, "a later use");
    let listed = keys.list(user).await.unwrap();
    let stored = listed.iter().find(|key| key.id == created.key.id).unwrap();
    assert_eq!(stored.last_used_at, moved.last_used_at);
    assert!(keys.revoke(user, created.key.id).await.unwrap());
}

/// Each user lists their own keys, newest first, and never another's.
pub async fn lists_hold_only_the_users_own_keys_newest_first(
    keys: &dyn ApiKeyStore,
    alice: UserId,
    bob: UserId,
) {
    let already = keys.list(alice).await.unwrap().len();
    let older = keys.create(alice, "laptop").await.unwrap().key;
    let newer = keys.create(alice, "ci").await.unwrap().key;
    let bobs = keys.create(bob, "bob's").await.unwrap().key;
    let listed = keys.list(alice).await.unwrap();
    assert_eq!(listed.len(), already + 2);
    assert_eq!(&listed[..2], [newer.clone(), older.clone()], "newest first");
    assert!(listed.iter().all(|key| key.user_id == alice));
    assert_eq!(keys.list(bob).await.unwrap(), std::slice::from_ref(&bobs));
    assert!(keys.list(UserId::new(987_654_321)).await.unwrap().is_empty());
    for key in [&older, &newer] {
        assert!(keys.revoke(alice, key.id).await.unwrap());
    }
    assert!(keys.revoke(bob, bobs.id).await.unwrap());
}

/// Another user's revocation changes nothing; the owner's removes the key at once.
pub async fn revoking_stays_within_the_user_and_refuses_the_key(
    keys: &dyn ApiKeyStore,
    alice: UserId,
    bob: UserId,
) {
    let created = keys.create(alice, "to revoke").await.unwrap();
    let secret = created.secret.expose_secret();
    assert!(!keys.revoke(bob, created.key.id).await.unwrap(), "not bob's key");
    assert!(keys.authenticate(secret, Utc::now()).await.unwrap().is_some(), "still alice's");
    assert!(keys.list(alice).await.unwrap().iter().any(|key| key.id == created.key.id));
    assert!(keys.revoke(alice, created.key.id).await.unwrap());
    assert!(!keys.revoke(alice, created.key.id).await.unwrap(), "revoked already");
    assert!(keys.authenticate(secret, Utc::now()).await.unwrap().is_none(), "refused at once");
    assert!(keys.list(alice).await.unwrap().iter().all(|key| key.id != created.key.id));
    assert!(!keys.revoke(alice, i64::MAX).await.unwrap(), "no such key");
}

/// Anything but a live key's exact secret answers `None`.
pub async fn malformed_and_unknown_secrets_are_refused(keys: &dyn ApiKeyStore, user: UserId) {
    let created = keys.create(user, "exact").await.unwrap();
    let secret = created.secret.expose_secret();
    let last = secret.chars().last().unwrap();
    let changed = format!("{}{}", &secret[..secret.len() - 1], if last == '0' { '1' } else { '0' });
    let candidates = [
        String::new(),
        KEY_PREFIX.to_owned(),
        format!("{KEY_PREFIX}short"),
        secret.to_uppercase(),
        format!("{secret}0"),
        secret[..secret.len() - 1].to_owned(),
        format!(" {secret}"),
        changed,
        secret[KEY_PREFIX.len()..].to_owned(),
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln".to_owned(),
        created.key.hint.clone(),
    ];
    for candidate in candidates {
        let found = keys.authenticate(&candidate, Utc::now()).await.unwrap();
        assert!(found.is_none(), "{candidate:?} authenticates");
    }
    assert!(keys.authenticate(secret, Utc::now()).await.unwrap().is_some());
    assert!(keys.revoke(user, created.key.id).await.unwrap());
}

/// Blank and over-long names are refused; the longest allowed is kept whole.
pub async fn names_are_checked(keys: &dyn ApiKeyStore, user: UserId) {
    for name in [String::new(), "   ".to_owned(), "x".repeat(MAX_NAME_CHARS + 1)] {
        let refused = keys.create(user, &name).await;
        assert!(matches!(refused, Err(ApiKeyError::InvalidName)), "{name:?}");
    }
    let longest = "é".repeat(MAX_NAME_CHARS);
    let created = keys.create(user, &longest).await.unwrap();
    assert_eq!(created.key.name, longest, "characters, not bytes");
    assert!(keys.revoke(user, created.key.id).await.unwrap());
}
