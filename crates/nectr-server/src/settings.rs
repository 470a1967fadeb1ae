//! Layered configuration: the embedded defaults, `config/{APP_ENV}.toml`, the original service's
//! environment variable names (from `.env`, then the process environment), then
//! `NECTR__SECTION__KEY` variables. Sources are passed in as values, so tests need not touch the
//! process environment.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Format, Serialized, Toml};
use nectr_github::GitHubConfig;

use crate::workers::WorkerSettings;
use nectr_domain::secret::redacted;
use nectr_persistence::{CipherConfig, DatabaseConfig, TokenCipher};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer, Serialize};

/// The embedded defaults: `config/default.toml` at build time.
pub const EMBEDDED_DEFAULTS: &str = include_str!("../../../config/default.toml");

/// Secret keys that must never protect a production deployment.
const KNOWN_DEFAULT_SECRET_KEYS: [&str; 6] =
    ["", "your-secret-key", "nectr-development-secret-key", "change-me", "changeme", "secret"];

/// The original service's variable names and where each lands.
const LEGACY_VARIABLES: [(&str, &str, Kind); 42] = [
    ("APP_NAME", "application.name", Kind::Text),
    ("APP_ENV", "application.environment", Kind::Text),
    ("HOST", "application.host", Kind::Text),
    ("PORT", "application.port", Kind::Integer),
    ("LOG_LEVEL", "application.log_level", Kind::Text),
    ("FRONTEND_URL", "application.frontend_url", Kind::Text),
    ("BACKEND_URL", "application.backend_url", Kind::Text),
    ("DATABASE_URL", "database.url", Kind::Text),
    ("SECRET_KEY", "security.secret_key", Kind::Text),
    ("JWT_SECRET", "security.jwt_secret", Kind::Text),
    ("TOKEN_ENCRYPTION_KEYS", "security.token_encryption_keys", Kind::Text),
    ("ACCESS_TOKEN_EXPIRE_MINUTES", "security.access_token_expire_minutes", Kind::Integer),
    ("NECTR_WORKERS", "application.workers", Kind::Integer),
    ("DB_MAX_CONNECTIONS", "database.max_connections", Kind::Integer),
    ("SHUTDOWN_TIMEOUT_SECONDS", "application.shutdown_timeout_seconds", Kind::Integer),
    ("GITHUB_API_URL", "github.api_url", Kind::Text),
    ("GITHUB_WEB_URL", "github.web_url", Kind::Text),
    ("GITHUB_PAT", "github.pat", Kind::Text),
    ("GITHUB_CLIENT_ID", "github.client_id", Kind::Text),
    ("GITHUB_CLIENT_SECRET", "github.client_secret", Kind::Text),
    ("GITHUB_WEBHOOK_SECRET", "github.webhook_secret", Kind::Text),
    ("GITHUB_APP_ID", "github.app.app_id", Kind::Integer),
    ("GITHUB_APP_PRIVATE_KEY", "github.app.private_key", Kind::Text),
    ("GITHUB_APP_WEBHOOK_SECRET", "github.app.webhook_secret", Kind::Text),
    ("ANTHROPIC_API_KEY", "review.anthropic.api_key", Kind::Text),
    ("ANTHROPIC_MODEL", "review.anthropic.model", Kind::Text),
    ("PARALLEL_REVIEW_AGENTS", "review.parallel_agents", Kind::Bool),
    ("OPENAI_API_KEY", "review.openai.api_key", Kind::Text),
    ("OPENAI_BASE_URL", "review.openai.base_url", Kind::Text),
    ("OPENAI_MODEL", "review.openai.model", Kind::Text),
    ("MEM0_API_KEY", "memory.mem0_api_key", Kind::Text),
    ("LINEAR_MCP_URL", "context.linear.url", Kind::Text),
    ("LINEAR_API_KEY", "context.linear.token", Kind::Text),
    ("SENTRY_MCP_URL", "context.sentry.url", Kind::Text),
    ("SENTRY_AUTH_TOKEN", "context.sentry.token", Kind::Text),
    ("SENTRY_ORG", "context.sentry.organization", Kind::Text),
    ("SENTRY_PROJECT", "context.sentry.project", Kind::Text),
    ("SLACK_MCP_URL", "context.slack.url", Kind::Text),
    ("SLACK_BOT_TOKEN", "context.slack.token", Kind::Text),
    ("NEO4J_URI", "graph.neo4j_uri", Kind::Text),
    ("NEO4J_USERNAME", "graph.neo4j_username", Kind::Text),
    ("NEO4J_PASSWORD", "graph.neo4j_password", Kind::Text),
];

#[derive(Clone, Copy)]
enum Kind {
    Text,
    Integer,
    Bool,
}

/// The prefix of Nectr's own variables; `__` separates section and key.
const PREFIX: &str = "NECTR__";

/// Which environment Nectr runs in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    /// A developer's machine: readable logs, default secrets tolerated.
    Development,
    /// A deployment: JSON logs, secure cookies, no default secrets.
    Production,
    /// The test suite.
    Test,
}

impl Environment {
    /// The lower-case name, also the name of its configuration file.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Development => "development",
            Self::Production => "production",
            Self::Test => "test",
        }
    }

    fn parse(text: &str) -> Result<Self, SettingsError> {
        match text.trim().to_ascii_lowercase().as_str() {
            "development" | "dev" | "local" => Ok(Self::Development),
            "production" | "prod" => Ok(Self::Production),
            "test" => Ok(Self::Test),
            _ => Err(SettingsError::Invalid(format!(
                "APP_ENV must be development, production or test, not {text:?}"
            ))),
        }
    }
}

/// Everything Nectr is configured with. Serializes with every secret redacted (`print-config`).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The HTTP server and the process.
    pub application: ApplicationSettings,
    /// The main database.
    pub database: DatabaseConfig,
    /// Keys and sessions.
    pub security: SecuritySettings,
    /// GitHub: where it is and who Nectr is there.
    #[serde(default)]
    pub github: GitHubConfig,
    /// The review workers.
    #[serde(default)]
    pub workers: WorkerSettings,
    /// What reviews may do.
    #[serde(default)]
    pub review: ReviewSettings,
    /// Project memory.
    #[serde(default)]
    pub memory: crate::memory::MemorySettings,
    /// Context providers (Linear, Sentry, Slack MCP servers).
    #[serde(default)]
    pub context: crate::context::ContextSettings,
    /// The MCP server.
    #[serde(default)]
    pub mcp_server: crate::mcp::McpServerSettings,
    /// The code graph.
    #[serde(default)]
    pub graph: crate::graph::GraphSettings,
}

/// Which reviewer reviews, and what reviews may do on GitHub.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReviewSettings {
    /// Post `APPROVE` reviews when the verdict approves (off: Nectr posts `COMMENT`).
    pub allow_approve: bool,
    /// Post `REQUEST_CHANGES` reviews when the verdict asks for changes (off: `COMMENT`).
    pub allow_request_changes: bool,
    /// `auto`, `offline`, `anthropic` or `openai`.
    pub provider: Provider,
    /// A provider to use while the main one is unavailable (`anthropic` or `openai`).
    pub fallback: Option<Provider>,
    /// `PARALLEL_REVIEW_AGENTS`: security, performance and style/tests agents, then synthesis.
    pub parallel_agents: bool,
    /// Most model turns per review.
    pub max_rounds: u32,
    /// Longest model answer per turn, in tokens.
    pub max_tokens: u32,
    /// Longest tool result sent to the model, in characters.
    pub max_tool_result_chars: usize,
    /// One model request's timeout, in seconds.
    pub request_timeout_seconds: u64,
    /// Retries of a model request on 429, 5xx, 529 and network errors.
    pub retries: u32,
    /// First retry wait without `retry-after`, in milliseconds; doubles per retry.
    pub retry_base_ms: u64,
    /// Longest `retry-after` waited out in place; longer ones retry the review later.
    pub max_retry_wait_seconds: u64,
    /// Anthropic's Messages API.
    pub anthropic: AnthropicSettings,
    /// An OpenAI-compatible server.
    pub openai: OpenAiSettings,
    /// Dollars per million tokens, by model id (a model id matches its longest key prefix).
    pub prices: std::collections::BTreeMap<String, nectr_domain::llm::Price>,
    /// Skip lockfiles, vendored, generated and minified files.
    pub default_exclusions: bool,
    /// More files to skip: `*`, `**` and `?` patterns (a pattern without `/` matches file names).
    pub exclude: Vec<String>,
    /// Which rules the offline reviewer runs.
    pub offline: OfflineSettings,
}

/// `[review.offline]`: rules switched on or off against their defaults (a rule is on by default
/// when its precision measured on real history is at least 0.6; see `BENCHMARKS.md`).
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct OfflineSettings {
    /// Opt-in rules to run, by id (`missing-tests`, `todo`, …).
    pub enable: Vec<String>,
    /// Rules not to run, by id.
    pub disable: Vec<String>,
}

impl Default for ReviewSettings {
    fn default() -> Self {
        Self {
            allow_approve: false,
            allow_request_changes: false,
            provider: Provider::Auto,
            fallback: None,
            parallel_agents: false,
            max_rounds: 6,
            max_tokens: 8_192,
            max_tool_result_chars: 8_000,
            request_timeout_seconds: 300,
            retries: 3,
            retry_base_ms: 1_000,
            max_retry_wait_seconds: 60,
            anthropic: AnthropicSettings::default(),
            openai: OpenAiSettings::default(),
            prices: std::collections::BTreeMap::new(),
            default_exclusions: true,
            exclude: Vec::new(),
            offline: OfflineSettings::default(),
        }
    }
}

impl ReviewSettings {
    /// Which review events may be posted.
    pub fn policy(&self) -> nectr_domain::review::PostingPolicy {
        nectr_domain::review::PostingPolicy {
            allow_approve: self.allow_approve,
            allow_request_changes: self.allow_request_changes,
        }
    }

    /// Which files are not reviewed line by line.
    pub fn exclusions(&self) -> nectr_domain::pipeline::Exclusions {
        nectr_domain::pipeline::Exclusions {
            defaults: self.default_exclusions,
            globs: self.exclude.clone(),
        }
    }
}

/// Which reviewer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    /// Anthropic when `ANTHROPIC_API_KEY` is set, else an OpenAI-compatible server when its
    /// base URL and model are set, else the offline reviewer.
    #[default]
    Auto,
    /// The offline rules.
    Offline,
    /// Anthropic's Messages API.
    Anthropic,
    /// An OpenAI-compatible chat-completions server.
    Openai,
}

/// Anthropic's Messages API.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AnthropicSettings {
    /// `ANTHROPIC_API_KEY`.
    #[serde(serialize_with = "redacted::optional_secret")]
    pub api_key: Option<SecretString>,
    /// `ANTHROPIC_MODEL`.
    pub model: String,
    /// The API's address.
    pub base_url: String,
    /// The model's context window, in tokens.
    pub context_tokens: u32,
}

impl Default for AnthropicSettings {
    fn default() -> Self {
        Self {
            api_key: None,
            model: "claude-sonnet-4-5".to_owned(),
            base_url: "https://api.anthropic.com".to_owned(),
            context_tokens: 200_000,
        }
    }
}

/// An OpenAI-compatible chat-completions server.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct OpenAiSettings {
    /// `OPENAI_BASE_URL`, up to `/v1`.
    pub base_url: Option<String>,
    /// `OPENAI_API_KEY`, when the server wants one.
    #[serde(serialize_with = "redacted::optional_secret")]
    pub api_key: Option<SecretString>,
    /// `OPENAI_MODEL`.
    pub model: Option<String>,
    /// The model's context window, in tokens.
    pub context_tokens: u32,
    /// `json_schema`, `tools` or `prompt`.
    pub structured_output: nectr_agents::StructuredOutput,
    /// `max_tokens`, or `max_completion_tokens` for OpenAI's reasoning models.
    pub max_tokens_field: String,
}

impl Default for OpenAiSettings {
    fn default() -> Self {
        Self {
            base_url: None,
            api_key: None,
            model: None,
            context_tokens: 32_768,
            structured_output: nectr_agents::StructuredOutput::JsonSchema,
            max_tokens_field: "max_tokens".to_owned(),
        }
    }
}

/// The HTTP server and the process.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ApplicationSettings {
    /// Service name reported by `/health`.
    pub name: String,
    /// Where Nectr runs.
    pub environment: Environment,
    /// Address to listen on.
    pub host: String,
    /// Port to listen on; 0 picks a free one.
    pub port: u16,
    /// Log level or filter directives.
    pub log_level: String,
    /// The dashboard's URL.
    pub frontend_url: String,
    /// Nectr's public URL.
    pub backend_url: String,
    /// More CORS origins.
    pub extra_cors_origins: Vec<String>,
    /// HTTP worker threads; 0 means one per core.
    pub workers: usize,
    /// Grace period for in-flight requests on shutdown.
    pub shutdown_timeout_seconds: u64,
}

/// Keys and sessions.
#[derive(Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SecuritySettings {
    /// Signs sessions; derives the legacy encryption key.
    #[serde(serialize_with = "print::secret_key")]
    pub secret_key: SecretString,
    /// Fernet keys for secrets at rest, the encrypting one first.
    #[serde(deserialize_with = "comma_separated", serialize_with = "redacted::secrets")]
    pub token_encryption_keys: Vec<SecretString>,
    /// Session lifetime in minutes.
    pub access_token_expire_minutes: u64,
    /// `JWT_SECRET`: signs sessions. Without it, sessions are signed with a key derived from
    /// `secret_key` under a label of its own (never `secret_key` itself).
    #[serde(default, serialize_with = "redacted::optional_secret")]
    pub jwt_secret: Option<SecretString>,
    /// Mark cookies `Secure`; unset means "in production".
    #[serde(default)]
    pub cookie_secure: Option<bool>,
    /// The session cookie's `SameSite`: `lax` (default), `strict` or `none` (always `Secure`).
    /// The sign-in's state cookie is always `Lax`, for GitHub's cross-site redirect back.
    #[serde(default)]
    pub cookie_same_site: CookieSameSite,
    /// The OAuth scopes sign-in asks GitHub for.
    #[serde(default = "default_oauth_scopes")]
    pub oauth_scopes: Vec<String>,
}

/// The `SameSite` attribute of Nectr's cookies, as configured.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CookieSameSite {
    /// `Lax`: sent on same-site requests and top-level navigations.
    #[default]
    Lax,
    /// `Strict`: same-site requests only.
    Strict,
    /// `None`: everywhere (needs `Secure`; only for a dashboard on another site).
    None,
}

/// The original service's scopes: repositories, the profile, e-mail and organisations.
fn default_oauth_scopes() -> Vec<String> {
    ["repo", "read:user", "user:email", "read:org"].map(str::to_owned).to_vec()
}

impl fmt::Debug for SecuritySettings {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("SecuritySettings")
            .field("secret_key", &"[redacted]")
            .field(
                "token_encryption_keys",
                &format!("[{} redacted]", self.token_encryption_keys.len()),
            )
            .field("access_token_expire_minutes", &self.access_token_expire_minutes)
            .field("jwt_secret", &self.jwt_secret.as_ref().map(|_| "[redacted]"))
            .field("cookie_secure", &self.cookie_secure)
            .field("cookie_same_site", &self.cookie_same_site)
            .field("oauth_scopes", &self.oauth_scopes)
            .finish()
    }
}

/// A list given either as a TOML array or as one comma-separated string.
fn comma_separated<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<SecretString>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Form {
        Text(String),
        List(Vec<String>),
    }
    let items = match Form::deserialize(deserializer)? {
        Form::Text(text) => text.split(',').map(str::to_owned).collect(),
        Form::List(items) => items,
    };
    Ok(items
        .into_iter()
        .map(|item| item.trim().to_owned())
        .filter(|item| !item.is_empty())
        .map(SecretString::from)
        .collect())
}

/// Why configuration could not be loaded or is unacceptable.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// A file or variable could not be read or has the wrong type.
    #[error("invalid configuration: {0}")]
    Load(#[from] Box<figment::Error>),
    /// A value is out of range or unsafe.
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

/// Where configuration comes from.
#[derive(Clone, Debug, Default)]
pub struct ConfigSources {
    /// The folder holding `default.toml` and `{environment}.toml`; missing files are skipped.
    pub config_dir: Option<PathBuf>,
    /// Variables from a `.env` file.
    pub dotenv: HashMap<String, String>,
    /// The process environment, which wins over `.env`.
    pub environment: HashMap<String, String>,
}

impl ConfigSources {
    /// The real sources: `config/` (or `NECTR_CONFIG_DIR`), `.env` in the working directory (when
    /// present) and the process environment.
    ///
    /// # Errors
    /// [`SettingsError::Invalid`] when the `.env` file exists but cannot be parsed.
    pub fn from_process(env_file: &Path) -> Result<Self, SettingsError> {
        let environment: HashMap<String, String> = std::env::vars().collect();
        let config_dir = environment
            .get("NECTR_CONFIG_DIR")
            .map_or_else(|| PathBuf::from("config"), PathBuf::from);
        let dotenv = if env_file.exists() {
            dotenvy::from_path_iter(env_file)
                .and_then(Iterator::collect::<Result<HashMap<_, _>, _>>)
                .map_err(|error| {
                    SettingsError::Invalid(format!("cannot read {}: {error}", env_file.display()))
                })?
        } else {
            HashMap::new()
        };
        Ok(Self { config_dir: Some(config_dir), dotenv, environment })
    }

    /// A variable's value: the process environment first, then `.env`.
    fn variable(&self, name: &str) -> Option<&str> {
        self.environment.get(name).or_else(|| self.dotenv.get(name)).map(String::as_str)
    }
}

impl Settings {
    /// Loads the effective configuration.
    ///
    /// # Errors
    /// [`SettingsError`] when a source is malformed or a value has the wrong type.
    pub fn load(sources: &ConfigSources) -> Result<Self, SettingsError> {
        let environment = Self::environment_of(sources)?;
        let mut figment = Figment::from(Toml::string(EMBEDDED_DEFAULTS));
        if let Some(dir) = &sources.config_dir {
            for name in ["default.toml".to_owned(), format!("{}.toml", environment.as_str())] {
                let path = dir.join(name);
                if path.is_file() {
                    figment = figment.merge(Toml::file_exact(path));
                }
            }
        }
        for (name, key, kind) in LEGACY_VARIABLES {
            // The original's `.env` files carry empty values (`GITHUB_PAT=`) for "not set".
            let Some(value) = sources.variable(name).filter(|value| !value.trim().is_empty())
            else {
                continue;
            };
            figment = figment.merge(Serialized::default(key, legacy_value(name, value, kind)?));
        }
        figment =
            figment.merge(Serialized::default("application.environment", environment.as_str()));
        let mut prefixed: Vec<(&String, &String)> = sources
            .dotenv
            .iter()
            .filter(|(name, _)| !sources.environment.contains_key(*name))
            .chain(sources.environment.iter())
            .filter(|(name, _)| name.starts_with(PREFIX))
            .collect();
        prefixed.sort();
        for (name, value) in prefixed {
            let key = name[PREFIX.len()..].to_ascii_lowercase().replace("__", ".");
            let value: figment::value::Value = value.parse().unwrap_or_else(|never| match never {});
            figment = figment.merge(Serialized::default(&key, value));
        }
        figment.extract::<Self>().map_err(|error| SettingsError::Load(Box::new(error)))
    }

    /// `NECTR__APPLICATION__ENVIRONMENT`, else `APP_ENV`, else development.
    fn environment_of(sources: &ConfigSources) -> Result<Environment, SettingsError> {
        let named = sources
            .variable("NECTR__APPLICATION__ENVIRONMENT")
            .or_else(|| sources.variable("APP_ENV"));
        named.map_or(Ok(Environment::Development), Environment::parse)
    }

    /// Checks what loading cannot: in production, secrets must not be missing or defaults.
    ///
    /// # Errors
    /// [`SettingsError::Invalid`] naming the problem.
    pub fn validate(&self) -> Result<(), SettingsError> {
        if self.application.environment == Environment::Production && self.uses_default_secret_key()
        {
            return Err(SettingsError::Invalid(
                "SECRET_KEY is missing or a known default; Nectr refuses to start in production \
                 without a secret key of your own (for example: openssl rand -hex 32)"
                    .to_owned(),
            ));
        }
        TokenCipher::new(&self.cipher_config())
            .map_err(|error| SettingsError::Invalid(error.to_string()))?;
        self.github.validate().map_err(|error| SettingsError::Invalid(error.to_string()))?;
        self.context.providers().map_err(|error| SettingsError::Invalid(error.to_string()))?;
        Ok(())
    }

    /// True when the secret key is empty or one of the well-known defaults.
    pub fn uses_default_secret_key(&self) -> bool {
        let key = self.security.secret_key.expose_secret().trim();
        KNOWN_DEFAULT_SECRET_KEYS.contains(&key)
    }

    /// The keys for secrets at rest.
    pub fn cipher_config(&self) -> CipherConfig {
        CipherConfig {
            encryption_keys: self
                .security
                .token_encryption_keys
                .iter()
                .map(|key| key.expose_secret().to_owned())
                .collect(),
            secret_key: Some(self.security.secret_key.expose_secret().to_owned()),
        }
    }

    /// Whether cookies are marked `Secure`: as configured, else in production.
    pub fn secure_cookies(&self) -> bool {
        self.security
            .cookie_secure
            .unwrap_or(self.application.environment == Environment::Production)
    }

    /// The origins CORS allows: the original's defaults, `FRONTEND_URL` and any extras.
    pub fn cors_origins(&self) -> Vec<String> {
        let mut origins: Vec<String> =
            nectr_api::DEFAULT_CORS_ORIGINS.iter().map(|origin| (*origin).to_owned()).collect();
        let frontend = self.application.frontend_url.trim_end_matches('/').to_owned();
        origins.push(frontend);
        origins.extend(self.application.extra_cors_origins.iter().cloned());
        origins.sort();
        origins.dedup();
        origins
    }
}

fn legacy_value(
    name: &str,
    value: &str,
    kind: Kind,
) -> Result<figment::value::Value, SettingsError> {
    match kind {
        Kind::Text => Ok(figment::value::Value::from(value.to_owned())),
        Kind::Integer => {
            value.trim().parse::<u64>().map(figment::value::Value::from).map_err(|_| {
                SettingsError::Invalid(format!("{name} must be a whole number, not {value:?}"))
            })
        }
        Kind::Bool => match value.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Ok(figment::value::Value::from(true)),
            "false" | "0" | "no" | "off" => Ok(figment::value::Value::from(false)),
            _ => {
                Err(SettingsError::Invalid(format!("{name} must be true or false, not {value:?}")))
            }
        },
    }
}

mod print;

#[cfg(test)]
mod tests;
