//! `nectr api-keys create | list | revoke`: personal API keys managed from the command line, for
//! set-ups without the dashboard. Users are named by their GitHub login; `create` prints the new
//! secret alone on the last line of its output, so that a script can take it with `tail -1`.

use anyhow::{Context as _, bail};
use nectr_domain::User;
use nectr_domain::api_keys::{ApiKey, ApiKeyStore, CreatedApiKey};
use nectr_persistence::SeaOrmStore;
use secrecy::ExposeSecret;

use crate::repos::table;

/// The one user whose GitHub login is `login` (ignoring case).
///
/// # Errors
/// When no user, or more than one, has that login, or storage fails.
pub async fn owner(store: &SeaOrmStore, login: &str) -> anyhow::Result<User> {
    let mut users = store
        .users_by_login(login.trim())
        .await
        .with_context(|| format!("cannot look up the user {login:?}"))?;
    match users.len() {
        0 => bail!(
            "no user with the GitHub login {login:?} is known to this Nectr: users are added when \
             they sign in on the dashboard (`nectr repos add` adds the user nectr-cli)"
        ),
        1 => Ok(users.remove(0)),
        _ => {
            let ids: Vec<String> = users.iter().map(|user| user.github_id.to_string()).collect();
            bail!(
                "{} users have the login {login:?} (GitHub ids {}): the one whose login is out of \
                 date changes it by signing in again",
                users.len(),
                ids.join(", ")
            )
        }
    }
}

/// Creates a key for the user `login`.
///
/// # Errors
/// When the user is unknown, the name is empty or too long, or storage fails.
pub async fn create(store: &SeaOrmStore, login: &str, name: &str) -> anyhow::Result<CreatedApiKey> {
    let user = owner(store, login).await?;
    Ok(ApiKeyStore::create(store, user.id, name).await?)
}

/// What `create` prints: what was made, then the secret alone on the last line.
pub fn created_message(created: &CreatedApiKey, login: &str) -> String {
    format!(
        "created API key {} {:?} for {login}; it is shown only this once (send it as \
         `Authorization: Bearer <key>`):\n{}\n",
        created.key.id,
        created.key.name,
        created.secret.expose_secret()
    )
}

fn when(at: Option<chrono::DateTime<chrono::Utc>>) -> String {
    at.map_or_else(|| "never".to_owned(), |at| at.format("%Y-%m-%d %H:%M").to_string())
}

/// The keys of the user `login`, as a table; never their secrets.
///
/// # Errors
/// When the user is unknown or storage fails.
pub async fn list(store: &SeaOrmStore, login: &str) -> anyhow::Result<String> {
    let user = owner(store, login).await?;
    let keys: Vec<ApiKey> = ApiKeyStore::list(store, user.id).await?;
    let mut rows = vec![["ID", "NAME", "HINT", "CREATED", "LAST USED"].map(str::to_owned)];
    for key in keys {
        rows.push([
            key.id.to_string(),
            key.name,
            format!("{}…", key.hint),
            when(Some(key.created_at)),
            when(key.last_used_at),
        ]);
    }
    Ok(table(&rows))
}

/// Revokes the key `id` of the user `login`.
///
/// # Errors
/// When the user is unknown, has no such key, or storage fails.
pub async fn revoke(store: &SeaOrmStore, login: &str, id: i64) -> anyhow::Result<()> {
    let user = owner(store, login).await?;
    match ApiKeyStore::revoke(store, user.id, id).await? {
        true => Ok(()),
        false => bail!("{login} has no API key {id} (`nectr api-keys list --user {login}`)"),
    }
}
