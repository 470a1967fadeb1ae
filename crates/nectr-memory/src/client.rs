//! Mem0's HTTP client: `Authorization: Token KEY`, a timeout per request, retries with backoff on
//! 408, 429, 5xx and network errors (honouring `retry-after` in seconds), and errors mapped to
//! the port's.

use std::time::Duration;

use nectr_domain::memory::MemoryStoreError;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

/// Where and how to reach Mem0.
#[derive(Clone, Debug)]
pub struct Mem0Config {
    /// `https://api.mem0.ai` or a compatible server.
    pub base_url: String,
    /// `MEM0_API_KEY`.
    pub api_key: SecretString,
    /// Time allowed for one request.
    pub timeout: Duration,
    /// Retries after the first attempt.
    pub retries: u32,
    /// The first backoff; doubles per retry.
    pub base_delay: Duration,
}

impl Mem0Config {
    /// The hosted platform with `api_key`, 15-second requests and three retries.
    pub fn platform(api_key: SecretString) -> Self {
        Self {
            base_url: "https://api.mem0.ai".to_owned(),
            api_key,
            timeout: Duration::from_secs(15),
            retries: 3,
            base_delay: Duration::from_millis(500),
        }
    }
}

/// One Mem0 answer: its status and JSON body (`Null` when empty).
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) body: Value,
}

/// The HTTP side of the adapter.
#[derive(Clone, Debug)]
pub(crate) struct Client {
    http: reqwest::Client,
    config: Mem0Config,
}

fn retryable(status: u16) -> bool {
    matches!(status, 408 | 429 | 500 | 502 | 503 | 504)
}

fn retry_after(response: &reqwest::Response) -> Option<Duration> {
    let value = response.headers().get("retry-after")?.to_str().ok()?;
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

impl Client {
    pub(crate) fn new(config: Mem0Config) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            .user_agent(concat!("nectr/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self { http, config })
    }

    /// Sends one request, retrying what may pass later; answers any status below 500 except
    /// 408 and 429 (the caller decides what a 404 means).
    pub(crate) async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Answer, MemoryStoreError> {
        let url = format!("{}{path}", self.config.base_url.trim_end_matches('/'));
        let mut attempt = 0;
        loop {
            let mut request = self
                .http
                .request(method.clone(), &url)
                .header("authorization", format!("Token {}", self.config.api_key.expose_secret()));
            if let Some(body) = body {
                request = request.json(body);
            }
            let failure = match request.send().await {
                Ok(response) if !retryable(response.status().as_u16()) => {
                    return read(response).await;
                }
                Ok(response) => {
                    let wait = retry_after(&response);
                    (format!("Mem0 answered {}", response.status().as_u16()), wait)
                }
                Err(error) => (format!("Mem0 is unreachable: {error}"), None),
            };
            if attempt >= self.config.retries {
                return Err(MemoryStoreError::Unavailable(failure.0));
            }
            let backoff = self.config.base_delay.saturating_mul(2_u32.saturating_pow(attempt));
            tokio::time::sleep(failure.1.unwrap_or(backoff).min(Duration::from_secs(30))).await;
            attempt += 1;
        }
    }

    /// Like [`Client::send`], but any status other than 2xx is an error.
    pub(crate) async fn expect_ok(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, MemoryStoreError> {
        let answer = self.send(method, path, body).await?;
        match answer.status {
            200..=299 => Ok(answer.body),
            _ => Err(refusal(&answer)),
        }
    }
}

/// The error of an answer that is not a success: a refused key, or Mem0's message.
pub(crate) fn refusal(answer: &Answer) -> MemoryStoreError {
    match answer.status {
        401 | 403 => MemoryStoreError::Unexpected(anyhow::anyhow!(
            "Mem0 refused the API key ({})",
            answer.status
        )),
        status => MemoryStoreError::Unexpected(anyhow::anyhow!(
            "Mem0 answered {status}: {}",
            message(&answer.body)
        )),
    }
}

async fn read(response: reqwest::Response) -> Result<Answer, MemoryStoreError> {
    let status = response.status().as_u16();
    let text = response.text().await.map_err(|error| {
        MemoryStoreError::Unavailable(format!("reading Mem0's answer: {error}"))
    })?;
    let body = match text.trim() {
        "" => Value::Null,
        text => serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned())),
    };
    Ok(Answer { status, body })
}

/// Mem0's error message (`error`, `message`, `detail`, `details.message`), or the body's start.
fn message(body: &Value) -> String {
    let found = ["/error", "/message", "/detail", "/details/message"]
        .iter()
        .find_map(|pointer| body.pointer(pointer).and_then(Value::as_str));
    match found {
        Some(text) => text.to_owned(),
        None => body.to_string().chars().take(300).collect(),
    }
}
