//! GitHub settings: where GitHub is, who Nectr is there, and how politely it calls.

use nectr_domain::code_host::CodeHostError;
use nectr_domain::secret::redacted;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

/// How Nectr reaches GitHub. Serializes with every secret redacted (`print-config`).
#[derive(Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct GitHubConfig {
    /// The REST API's base URL: `https://api.github.com`, or `https://HOST/api/v3` for GitHub
    /// Enterprise Server.
    pub api_url: String,
    /// The web base URL, for OAuth: `https://github.com`, or `https://HOST` for Enterprise Server.
    pub web_url: String,
    /// `GITHUB_PAT`: a token used when no user's token or App installation applies.
    #[serde(serialize_with = "redacted::optional_secret")]
    pub pat: Option<SecretString>,
    /// `GITHUB_CLIENT_ID`: the OAuth App's client id.
    pub client_id: Option<String>,
    /// `GITHUB_CLIENT_SECRET`: the OAuth App's client secret.
    #[serde(serialize_with = "redacted::optional_secret")]
    pub client_secret: Option<SecretString>,
    /// `GITHUB_WEBHOOK_SECRET`: the fallback webhook secret.
    #[serde(serialize_with = "redacted::optional_secret")]
    pub webhook_secret: Option<SecretString>,
    /// A GitHub App, when reviews should post as a bot.
    pub app: Option<GitHubAppConfig>,
    /// The `User-Agent` GitHub requires.
    pub user_agent: String,
    /// Connect and read timeout of one request, in seconds.
    pub request_timeout_seconds: u64,
    /// Requests in flight at once, across all identities.
    pub max_concurrent_requests: usize,
    /// Content-creating requests per minute (GitHub documents 80).
    pub writes_per_minute: u32,
    /// Retries of a read after a server or network error.
    pub read_retries: u32,
    /// First wait before retrying a read, in milliseconds; doubles, with jitter.
    pub retry_base_delay_ms: u64,
    /// Wait after a secondary rate limit without `retry-after`, in seconds (GitHub: at least 60);
    /// doubles on each repeat.
    pub secondary_limit_wait_seconds: u64,
    /// Longest rate-limit wait Nectr sits out before reporting the limit instead, in seconds.
    pub max_rate_limit_wait_seconds: u64,
    /// Attempts at contributor statistics while GitHub answers 202 (computing).
    pub stats_attempts: u32,
    /// First wait between those attempts, in milliseconds; doubles.
    pub stats_delay_ms: u64,
    /// Largest file Nectr downloads, in bytes.
    pub max_file_bytes: u64,
}

/// A GitHub App: reviews post as its bot, and rate limits scale with installations.
#[derive(Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GitHubAppConfig {
    /// `GITHUB_APP_ID`.
    pub app_id: u64,
    /// `GITHUB_APP_PRIVATE_KEY`: the App's RSA private key in PEM; literal `\n` sequences are
    /// read as line breaks, as the original service did.
    #[serde(serialize_with = "redacted::secret")]
    pub private_key: SecretString,
    /// `GITHUB_APP_WEBHOOK_SECRET`: the App's webhook secret.
    #[serde(serialize_with = "redacted::optional_secret")]
    pub webhook_secret: Option<SecretString>,
}

impl Default for GitHubConfig {
    fn default() -> Self {
        Self {
            api_url: "https://api.github.com".to_owned(),
            web_url: "https://github.com".to_owned(),
            pat: None,
            client_id: None,
            client_secret: None,
            webhook_secret: None,
            app: None,
            user_agent: concat!("nectr/", env!("CARGO_PKG_VERSION")).to_owned(),
            request_timeout_seconds: 30,
            max_concurrent_requests: 8,
            writes_per_minute: 80,
            read_retries: 3,
            retry_base_delay_ms: 500,
            secondary_limit_wait_seconds: 60,
            max_rate_limit_wait_seconds: 900,
            stats_attempts: 5,
            stats_delay_ms: 2000,
            max_file_bytes: 1024 * 1024,
        }
    }
}

impl GitHubConfig {
    /// Checks what can be checked without a network: the URLs and the App key.
    ///
    /// # Errors
    /// [`CodeHostError::NotConfigured`] naming the setting.
    pub fn validate(&self) -> Result<(), CodeHostError> {
        for (name, url) in [("GITHUB_API_URL", &self.api_url), ("GITHUB_WEB_URL", &self.web_url)] {
            let parsed = url
                .parse::<http::Uri>()
                .ok()
                .filter(|uri| uri.scheme().is_some() && uri.host().is_some());
            if parsed.is_none() {
                return Err(CodeHostError::NotConfigured(format!(
                    "{name} is not an absolute URL: {url}"
                )));
            }
        }
        if let Some(app) = &self.app {
            crate::app::AppAuth::new(app)?;
        }
        Ok(())
    }
}

impl std::fmt::Debug for GitHubConfig {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let set = |present: bool| if present { "[redacted]" } else { "[not set]" };
        formatter
            .debug_struct("GitHubConfig")
            .field("api_url", &self.api_url)
            .field("web_url", &self.web_url)
            .field("pat", &set(self.pat.is_some()))
            .field("client_id", &self.client_id)
            .field("client_secret", &set(self.client_secret.is_some()))
            .field("webhook_secret", &set(self.webhook_secret.is_some()))
            .field("app", &self.app.as_ref().map(|app| app.app_id))
            .field("max_concurrent_requests", &self.max_concurrent_requests)
            .field("writes_per_minute", &self.writes_per_minute)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for GitHubAppConfig {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("GitHubAppConfig")
            .field("app_id", &self.app_id)
            .field("private_key", &"[redacted]")
            .finish_non_exhaustive()
    }
}
