//! `nectr repos add | list | remove`: repositories registered without the dashboard.

use std::io::Read as _;
use std::path::Path;

use anyhow::{Context as _, bail};
use nectr_domain::{
    AccessToken, Installation, InstallationRepository, NewInstallation, RepoFullName,
    UserRepository, UserUpsert, WebhookSecret,
};
use nectr_persistence::SeaOrmStore;

/// The GitHub id of the local user that owns headless registrations; GitHub's ids start at 1.
const HEADLESS_GITHUB_ID: i64 = 0;

/// Reads a secret from a file, or from standard input for `-`; one trailing newline is dropped.
///
/// # Errors
/// When the file cannot be read or the secret is empty.
pub fn read_secret(path: &Path, what: &str) -> anyhow::Result<String> {
    let mut text = String::new();
    if path == Path::new("-") {
        std::io::stdin()
            .read_to_string(&mut text)
            .with_context(|| format!("cannot read the {what} from standard input"))?;
    } else {
        text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the {what} from {}", path.display()))?;
    }
    let secret = text.trim_end_matches(['\n', '\r']).to_owned();
    if secret.trim().is_empty() {
        bail!("the {what} is empty");
    }
    Ok(secret)
}

/// The repository's active registrations.
async fn registered(store: &SeaOrmStore, repo: &RepoFullName) -> anyhow::Result<Vec<Installation>> {
    Ok(store
        .list_active()
        .await?
        .into_iter()
        .filter(|installation| installation.repo.eq_ignore_case(repo))
        .collect())
}

/// Registers a repository.
///
/// # Errors
/// When the name is invalid, the repository is registered already, or storage fails.
pub async fn add(
    store: &SeaOrmStore,
    repo: &str,
    repo_id: i64,
    hook_id: Option<i64>,
    secret: WebhookSecret,
    token: Option<AccessToken>,
) -> anyhow::Result<Installation> {
    let repo = RepoFullName::parse(repo).with_context(|| format!("{repo:?} is not OWNER/NAME"))?;
    if !registered(store, &repo).await?.is_empty() {
        bail!("{repo} is registered already; `nectr repos remove {repo}` first to replace it");
    }
    let owner = store
        .upsert_by_github_id(UserUpsert {
            github_id: HEADLESS_GITHUB_ID,
            github_username: "nectr-cli".to_owned(),
            github_access_token: AccessToken::new(""),
            email: None,
            avatar_url: None,
            name: Some("Registered with nectr repos add".to_owned()),
        })
        .await?;
    Ok(InstallationRepository::create(
        store,
        NewInstallation {
            user_id: owner.id,
            repo,
            github_repo_id: Some(repo_id),
            webhook_id: hook_id,
            webhook_secret: Some(secret),
            installation_id: None,
            access_token: token,
        },
    )
    .await?)
}

/// The registered repositories as a table.
///
/// # Errors
/// When storage fails.
pub async fn list(store: &SeaOrmStore) -> anyhow::Result<String> {
    let mut rows =
        vec![["REPOSITORY", "REPO ID", "HOOK ID", "VERIFIED", "TOKEN", "SINCE"].map(str::to_owned)];
    for installation in store.list_active().await? {
        rows.push([
            installation.repo.to_string(),
            installation.github_repo_id.map_or_else(|| "-".to_owned(), |id| id.to_string()),
            installation.webhook_id.map_or_else(|| "-".to_owned(), |id| id.to_string()),
            installation
                .verified_at
                .map_or_else(|| "not yet".to_owned(), |at| at.format("%Y-%m-%d %H:%M").to_string()),
            if installation.access_token.is_some() { "own" } else { "user's" }.to_owned(),
            installation.installed_at.format("%Y-%m-%d").to_string(),
        ]);
    }
    Ok(table(&rows))
}

/// Rows as left-aligned columns two spaces apart, one line each; the first row is the header.
pub(crate) fn table<const COLUMNS: usize>(rows: &[[String; COLUMNS]]) -> String {
    let widths: Vec<usize> = (0..COLUMNS)
        .map(|column| rows.iter().map(|row| row[column].chars().count()).max().unwrap_or(0))
        .collect();
    let mut table = String::new();
    for row in rows {
        let cells: Vec<String> =
            row.iter().zip(&widths).map(|(cell, width)| format!("{cell:<width$}")).collect();
        table.push_str(cells.join("  ").trim_end());
        table.push('\n');
    }
    table
}

/// Deactivates a repository's registrations; answers how many.
///
/// # Errors
/// When the name is invalid, nothing is registered under it, or storage fails.
pub async fn remove(store: &SeaOrmStore, repo: &str) -> anyhow::Result<usize> {
    let repo = RepoFullName::parse(repo).with_context(|| format!("{repo:?} is not OWNER/NAME"))?;
    let found = registered(store, &repo).await?;
    if found.is_empty() {
        bail!("{repo} is not registered");
    }
    for installation in &found {
        store.deactivate(installation.id).await?;
    }
    Ok(found.len())
}
