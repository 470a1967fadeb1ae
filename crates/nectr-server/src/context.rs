//! Context providers' settings (`[context]`: Linear, Sentry and Slack MCP servers, none by
//! default), and the providers built from them, which the pipeline's `ReviewContext` and
//! `/health` share. The original's variables keep working: `LINEAR_MCP_URL`, `LINEAR_API_KEY`,
//! `SENTRY_MCP_URL`, `SENTRY_AUTH_TOKEN`, `SLACK_MCP_URL`, with `SLACK_BOT_TOKEN`, `SENTRY_ORG`
//! and `SENTRY_PROJECT` beside them.

use std::sync::Arc;
use std::time::Duration;

use nectr_domain::context::{ContextProvider, ReviewContext};
use nectr_domain::secret::redacted;
use nectr_mcp::client::{
    LinearProvider, McpServerConfig, SentryProvider, SentryScope, SlackProvider,
};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

/// `[context]`: the MCP servers reviews take context from.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ContextSettings {
    /// Longest wait for a connection and the MCP handshake, in seconds.
    pub connect_timeout_seconds: u64,
    /// Longest wait for one MCP request, in seconds. A provider answers within the connect
    /// timeout and two call timeouts, or the review goes on without it.
    pub call_timeout_seconds: u64,
    /// Linear's MCP server: tickets the pull request names.
    pub linear: ServerSettings,
    /// Sentry's MCP server: recent errors in the changed files.
    pub sentry: SentrySettings,
    /// A Slack MCP server: discussions of the pull request and its tickets.
    pub slack: ServerSettings,
}

impl Default for ContextSettings {
    fn default() -> Self {
        Self {
            connect_timeout_seconds: 5,
            call_timeout_seconds: 10,
            linear: ServerSettings::default(),
            sentry: SentrySettings::default(),
            slack: ServerSettings::default(),
        }
    }
}

/// One MCP server.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerSettings {
    /// Its URL (`LINEAR_MCP_URL`, `SLACK_MCP_URL`); unset: not configured.
    pub url: Option<String>,
    /// Its bearer token (`LINEAR_API_KEY`, `SLACK_BOT_TOKEN`).
    #[serde(serialize_with = "redacted::optional_secret")]
    pub token: Option<SecretString>,
}

/// Sentry's MCP server and where the errors live.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SentrySettings {
    /// `SENTRY_MCP_URL`; unset: not configured.
    pub url: Option<String>,
    /// `SENTRY_AUTH_TOKEN`.
    #[serde(serialize_with = "redacted::optional_secret")]
    pub token: Option<SecretString>,
    /// `SENTRY_ORG`: the organization's slug (else the repository's owner).
    pub organization: Option<String>,
    /// `SENTRY_PROJECT`: the project's slug (else the repository's name).
    pub project: Option<String>,
}

impl ContextSettings {
    fn server(&self, url: &str, token: Option<&SecretString>) -> McpServerConfig {
        McpServerConfig {
            url: url.to_owned(),
            token: token.cloned(),
            connect_timeout: Duration::from_secs(self.connect_timeout_seconds.max(1)),
            call_timeout: Duration::from_secs(self.call_timeout_seconds.max(1)),
        }
    }

    /// The pipeline's context over `providers` ([`ContextSettings::providers`]), none when
    /// none is configured.
    pub fn review_context(providers: Vec<Arc<dyn ContextProvider>>) -> Option<ReviewContext> {
        (!providers.is_empty()).then(|| ReviewContext::new(providers))
    }

    /// Every configured provider, in the order Linear, Sentry, Slack. Reviews and `/health`
    /// share these instances: what `/health` reports is how their last calls went.
    ///
    /// # Errors
    /// When a configured URL is invalid.
    pub fn providers(&self) -> anyhow::Result<Vec<Arc<dyn ContextProvider>>> {
        let mut providers: Vec<Arc<dyn ContextProvider>> = Vec::new();
        if let Some(url) = self.linear.url.as_deref().filter(|url| configured(Some(url))) {
            let server = self.server(url, self.linear.token.as_ref());
            providers.push(Arc::new(LinearProvider::new(server)?));
        }
        if let Some(url) = self.sentry.url.as_deref().filter(|url| configured(Some(url))) {
            let server = self.server(url, self.sentry.token.as_ref());
            let scope = SentryScope {
                organization: self.sentry.organization.clone(),
                project: self.sentry.project.clone(),
            };
            providers.push(Arc::new(SentryProvider::new(server, scope)?));
        }
        if let Some(url) = self.slack.url.as_deref().filter(|url| configured(Some(url))) {
            let server = self.server(url, self.slack.token.as_ref());
            providers.push(Arc::new(SlackProvider::new(server)?));
        }
        Ok(providers)
    }
}

fn configured(url: Option<&str>) -> bool {
    url.is_some_and(|url| !url.trim().is_empty())
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;
    use crate::settings::{ConfigSources, Settings};

    fn load(environment: &[(&str, &str)]) -> Settings {
        let sources = ConfigSources {
            config_dir: None,
            dotenv: Default::default(),
            environment: environment
                .iter()
                .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
                .collect(),
        };
        Settings::load(&sources).unwrap_or_else(|error| panic!("{error}"))
    }

    #[test]
    fn the_originals_variables_and_nectrs_own_configure_the_providers() {
        let settings = load(&[
            ("LINEAR_MCP_URL", "https://mcp.linear.app/mcp"),
            ("LINEAR_API_KEY", "lin_api_secret"),
            ("SENTRY_MCP_URL", "https://mcp.sentry.dev/sse"),
            ("SENTRY_AUTH_TOKEN", "sntrys_secret"),
            ("SENTRY_ORG", "acme"),
            ("SLACK_MCP_URL", "http://127.0.0.1:9000/mcp"),
            ("SLACK_BOT_TOKEN", "xoxb-secret"),
            ("NECTR__CONTEXT__CALL_TIMEOUT_SECONDS", "3"),
            ("NECTR__CONTEXT__SENTRY__PROJECT", "backend"),
        ]);
        let context = &settings.context;
        assert_eq!(context.linear.url.as_deref(), Some("https://mcp.linear.app/mcp"));
        assert_eq!(
            context.linear.token.as_ref().map(|token| token.expose_secret()),
            Some("lin_api_secret")
        );
        assert_eq!(context.sentry.organization.as_deref(), Some("acme"));
        assert_eq!(context.sentry.project.as_deref(), Some("backend"));
        assert_eq!(
            context.slack.token.as_ref().map(|token| token.expose_secret()),
            Some("xoxb-secret")
        );
        assert_eq!((context.connect_timeout_seconds, context.call_timeout_seconds), (5, 3));
        let providers = context.providers().unwrap_or_else(|error| panic!("{error}"));
        let names: Vec<&str> = providers.iter().map(|provider| provider.name()).collect();
        assert_eq!(names, ["linear", "sentry", "slack"]);
        assert!(ContextSettings::review_context(providers).is_some());

        let printed = settings.to_redacted_toml();
        for secret in ["lin_api_secret", "sntrys_secret", "xoxb-secret"] {
            assert!(!printed.contains(secret), "{secret} is printed:\n{printed}");
        }
        let parsed: toml::Table = printed.parse().unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(parsed["context"]["linear"]["token"].as_str(), Some("[redacted]"));
        assert_eq!(parsed["context"]["sentry"]["token"].as_str(), Some("[redacted]"));
        assert_eq!(parsed["context"]["slack"]["url"].as_str(), Some("http://127.0.0.1:9000/mcp"));
        assert!(!format!("{context:?}").contains("secret"), "Debug redacts too");
    }

    #[test]
    fn a_bad_url_stops_the_start() {
        let settings = load(&[("SENTRY_MCP_URL", "sentry please")]);
        let error = settings.validate().err().map(|error| error.to_string()).unwrap_or_default();
        assert!(error.contains("sentry please"), "{error}");
    }

    #[test]
    fn nothing_is_configured_by_default_and_a_bad_url_is_an_error() {
        let settings = ContextSettings::default();
        let providers = settings.providers().unwrap_or_else(|error| panic!("{error}"));
        assert!(providers.is_empty());
        assert!(ContextSettings::review_context(providers).is_none());
        let mut bad = ContextSettings::default();
        bad.linear.url = Some("not a url".to_owned());
        let error = bad.providers().err().map(|error| error.to_string()).unwrap_or_default();
        assert!(error.contains("not a url"), "{error}");
    }
}
