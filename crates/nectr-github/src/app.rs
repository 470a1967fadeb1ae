//! GitHub App identity: an RS256 JWT signed with the App's key, exchanged for installation
//! tokens that are cached until shortly before they expire.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use http::Method;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use nectr_domain::code_host::CodeHostError;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

use crate::GitHubAppConfig;
use crate::transport::{Call, JSON, Transport};

/// A cached token is renewed when less than this much of its life is left.
const RENEW_BEFORE: Duration = Duration::minutes(5);

#[derive(Serialize)]
struct Claims {
    iat: i64,
    exp: i64,
    iss: String,
}

#[derive(Deserialize)]
struct InstallationToken {
    token: String,
    expires_at: DateTime<Utc>,
}

/// Signs App JWTs and caches installation tokens.
pub(crate) struct AppAuth {
    app_id: u64,
    key: EncodingKey,
    tokens: Mutex<HashMap<i64, (SecretString, DateTime<Utc>)>>,
}

impl AppAuth {
    pub(crate) fn new(config: &GitHubAppConfig) -> Result<Self, CodeHostError> {
        let pem = config.private_key.expose_secret().replace("\\n", "\n");
        let key = EncodingKey::from_rsa_pem(pem.as_bytes()).map_err(|_| {
            CodeHostError::NotConfigured(
                "GITHUB_APP_PRIVATE_KEY is not an RSA private key in PEM".to_owned(),
            )
        })?;
        Ok(Self { app_id: config.app_id, key, tokens: Mutex::new(HashMap::new()) })
    }

    /// A JWT for the App itself: issued a minute in the past against clock drift, valid nine
    /// minutes (GitHub allows ten).
    pub(crate) fn jwt(&self) -> Result<String, CodeHostError> {
        let now = Utc::now().timestamp();
        let claims = Claims { iat: now - 60, exp: now + 540, iss: self.app_id.to_string() };
        jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims, &self.key).map_err(|error| {
            CodeHostError::Unexpected(anyhow::anyhow!("cannot sign the App JWT: {error}"))
        })
    }

    /// A valid installation token, from the cache or freshly exchanged. The lock is held during
    /// the exchange so concurrent callers do not each fetch one.
    pub(crate) async fn installation_token(
        &self,
        transport: &Transport,
        installation_id: i64,
    ) -> Result<SecretString, CodeHostError> {
        let mut tokens = self.tokens.lock().await;
        if let Some((token, expires_at)) = tokens.get(&installation_id)
            && *expires_at - RENEW_BEFORE > Utc::now()
        {
            return Ok(token.clone());
        }
        let authorization = format!("Bearer {}", self.jwt()?);
        let reply = transport
            .send_ok(&Call {
                method: Method::POST,
                url: transport.api(&format!("/app/installations/{installation_id}/access_tokens")),
                authorization: Some(&authorization),
                accept: JSON,
                body: None,
            })
            .await?;
        let fresh: InstallationToken = reply.json()?;
        let token = SecretString::from(fresh.token);
        tokens.insert(installation_id, (token.clone(), fresh.expires_at));
        Ok(token)
    }
}
