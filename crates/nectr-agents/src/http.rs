//! What the providers share: one POST of JSON with retries on 429, 500, 502, 503, 504, 529 and
//! network errors, honouring `retry-after` (waits longer than `max_wait` are not slept through:
//! the error carries them so the queue retries the review later), and clear errors for the
//! statuses retrying cannot fix.

use std::time::Duration;

use nectr_domain::llm::LlmError;
use nectr_domain::retry_after::RetryAfter;
use serde_json::Value;

/// Retry behaviour.
#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub retries: u32,
    /// First backoff without `retry-after`; doubles per retry.
    pub base_delay: Duration,
    /// Longest wait slept through.
    pub max_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self { retries: 3, base_delay: Duration::from_secs(1), max_wait: Duration::from_secs(60) }
    }
}

/// A provider's HTTP client: this timeout per request, ten seconds to connect.
///
/// # Errors
/// When the TLS back end cannot be set up.
pub fn client(timeout: Duration) -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(Duration::from_secs(10))
        .user_agent(concat!("nectr/", env!("CARGO_PKG_VERSION")))
        .build()?)
}

fn retryable(status: u16) -> bool {
    matches!(status, 408 | 429 | 500 | 502 | 503 | 504 | 529)
}

/// The wait a `retry-after` header asks for: seconds or an HTTP date.
fn retry_after(response: &reqwest::Response) -> Option<Duration> {
    let value = response.headers().get("retry-after")?.to_str().ok()?;
    RetryAfter::parse(value).map(RetryAfter::wait)
}

/// The provider's error message in a JSON error body (Anthropic's `error.message`, OpenAI's
/// `error.message`, or a bare `message`/`error` string), else the body's start.
fn error_message(body: &str) -> String {
    let parsed: Option<Value> = serde_json::from_str(body).ok();
    let message = parsed.as_ref().and_then(|value| {
        value
            .pointer("/error/message")
            .or_else(|| value.get("message"))
            .or_else(|| value.get("error").filter(|error| error.is_string()))
            .and_then(Value::as_str)
            .map(str::to_owned)
    });
    message.unwrap_or_else(|| body.chars().take(300).collect())
}

/// Sends `body` to `url` with `headers`, retrying per `policy`; answers the JSON body of a 2xx.
///
/// # Errors
/// [`LlmError::Unavailable`] once retries are spent, [`LlmError::Rejected`] for other 4xx,
/// [`LlmError::Malformed`] for a 2xx that is not JSON.
pub async fn post_json(
    client: &reqwest::Client,
    url: &str,
    headers: &[(&str, String)],
    body: &Value,
    policy: RetryPolicy,
) -> Result<Value, LlmError> {
    let mut attempt = 0;
    loop {
        let mut request = client.post(url).json(body);
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let (message, wait) = match request.send().await {
            Ok(response) if response.status().is_success() => {
                let text = response.text().await.map_err(|error| LlmError::Unavailable {
                    message: format!("reading the answer failed: {error}"),
                    retry_after: None,
                })?;
                return serde_json::from_str(&text).map_err(|error| {
                    LlmError::Malformed(format!("the body is not JSON: {error}"))
                });
            }
            Ok(response) => {
                let status = response.status().as_u16();
                let wait = retry_after(&response);
                let text = response.text().await.unwrap_or_default();
                let message = error_message(&text);
                if !retryable(status) {
                    return Err(LlmError::Rejected { status, message });
                }
                (format!("{status}: {message}"), wait)
            }
            Err(error) => (format!("request failed: {error}"), None),
        };
        let backoff = policy.base_delay.saturating_mul(2_u32.saturating_pow(attempt));
        let wait = wait.unwrap_or(backoff);
        if attempt >= policy.retries || wait > policy.max_wait {
            return Err(LlmError::Unavailable {
                message: format!("{message} (after {} attempts)", attempt + 1),
                retry_after: Some(wait),
            });
        }
        tracing::warn!(url, attempt, wait_ms = wait.as_millis() as u64, %message, "model call failed; retrying");
        tokio::time::sleep(wait).await;
        attempt += 1;
    }
}
