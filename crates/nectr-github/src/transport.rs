//! One pooled octocrab client and the manners Nectr keeps with GitHub: a cap on requests in
//! flight, paced writes, primary and secondary rate limits waited out, reads retried with jittered
//! backoff, writes never retried unless GitHub said it did not perform them, and every failure
//! mapped to the port's error without a token in it.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use http::header::{ACCEPT, AUTHORIZATION, HeaderMap, HeaderValue, USER_AGENT};
use http::{Method, StatusCode};
use http_body_util::BodyExt;
use http_body_util::combinators::BoxBody;
use nectr_domain::code_host::CodeHostError;
use nectr_domain::retry_after::RetryAfter;
use octocrab::Octocrab;
use tokio::sync::Semaphore;

use crate::GitHubConfig;

/// GitHub's JSON media type.
pub(crate) const JSON: &str = "application/vnd.github+json";
/// The unified diff of a pull request.
pub(crate) const DIFF: &str = "application/vnd.github.v3.diff";
/// Pages GitHub allows per listing request.
const PER_PAGE: u32 = 100;
/// A listing longer than this many pages is a bug or an attack, not a repository.
const MAX_PAGES: usize = 1000;

/// A request to GitHub.
pub(crate) struct Call<'a> {
    pub(crate) method: Method,
    /// An absolute URL.
    pub(crate) url: String,
    /// The full `Authorization` header value, when the call is authenticated.
    pub(crate) authorization: Option<&'a str>,
    pub(crate) accept: &'a str,
    pub(crate) body: Option<&'a serde_json::Value>,
}

/// A response from GitHub, body read.
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Vec<u8>,
}

impl Reply {
    /// The body as JSON.
    pub(crate) fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, CodeHostError> {
        serde_json::from_slice(&self.body).map_err(|error| {
            CodeHostError::Unexpected(anyhow::anyhow!("GitHub sent unexpected JSON: {error}"))
        })
    }

    /// The URL of the next page, from the `Link` header.
    fn next_page(&self) -> Option<String> {
        let link = self.headers.get(http::header::LINK)?.to_str().ok()?;
        // `<url>; rel="next", <url>; rel="last"`; URLs may hold commas, so split on `<`.
        link.split('<').skip(1).find_map(|part| {
            let (target, parameters) = part.split_once('>')?;
            parameters.split(',').next()?.contains("rel=\"next\"").then(|| target.to_owned())
        })
    }
}

/// The shared client.
pub(crate) struct Transport {
    octocrab: Octocrab,
    pub(crate) config: GitHubConfig,
    in_flight: Semaphore,
    /// No request leaves before this instant (a rate limit is being waited out).
    blocked_until: Mutex<Option<Instant>>,
    /// The next content-creating request may leave at this instant.
    next_write_at: tokio::sync::Mutex<Instant>,
}

impl Transport {
    pub(crate) fn new(config: GitHubConfig) -> Result<Self, CodeHostError> {
        let timeout = Duration::from_secs(config.request_timeout_seconds.max(1));
        let octocrab = Octocrab::builder()
            .base_uri(config.api_url.as_str())
            .map_err(|_| {
                CodeHostError::NotConfigured(format!("invalid GitHub API URL {}", config.api_url))
            })?
            .set_connect_timeout(Some(timeout))
            .set_read_timeout(Some(timeout))
            .build()
            .map_err(|error| {
                CodeHostError::Unexpected(anyhow::anyhow!(
                    "cannot build the GitHub client: {error}"
                ))
            })?;
        Ok(Self {
            octocrab,
            in_flight: Semaphore::new(config.max_concurrent_requests.max(1)),
            blocked_until: Mutex::new(None),
            next_write_at: tokio::sync::Mutex::new(Instant::now()),
            config,
        })
    }

    /// A URL on the REST API.
    pub(crate) fn api(&self, path: &str) -> String {
        format!("{}{path}", self.config.api_url.trim_end_matches('/'))
    }

    /// A URL on the web host (OAuth).
    pub(crate) fn web(&self, path: &str) -> String {
        format!("{}{path}", self.config.web_url.trim_end_matches('/'))
    }

    /// Sends a call with Nectr's manners (see the module documentation). Any status comes back;
    /// only rate limits that cannot be waited out and exhausted retries are errors.
    pub(crate) async fn send(&self, call: &Call<'_>) -> Result<Reply, CodeHostError> {
        let is_write = !matches!(call.method, Method::GET | Method::HEAD);
        let mut read_failures = 0;
        let mut rate_limit_strikes = 0;
        loop {
            self.wait_out_block().await?;
            if is_write {
                self.pace_write().await;
            }
            let outcome = {
                let _permit = self.in_flight.acquire().await.map_err(|_| {
                    CodeHostError::Unexpected(anyhow::anyhow!("the GitHub client is shut down"))
                })?;
                self.execute(call).await
            };
            let reply = match outcome {
                Ok(reply) => reply,
                Err(network) if !is_write && read_failures < self.config.read_retries => {
                    read_failures += 1;
                    tracing::warn!(error = %network, attempt = read_failures, "GitHub request failed; retrying");
                    tokio::time::sleep(self.backoff(read_failures)).await;
                    continue;
                }
                Err(network) => return Err(CodeHostError::Unavailable(network)),
            };
            if let Some(limit) =
                rate_limit(&reply, self.config.secondary_limit_wait_seconds, rate_limit_strikes)
            {
                // GitHub did not perform a rate-limited request, so even a write may be repeated.
                rate_limit_strikes += 1;
                let max_wait = Duration::from_secs(self.config.max_rate_limit_wait_seconds);
                if limit.wait > max_wait || rate_limit_strikes > 5 {
                    return Err(CodeHostError::RateLimited { reset_at: Some(limit.reset_at) });
                }
                tracing::warn!(
                    wait_ms = limit.wait.as_millis() as u64,
                    "GitHub rate limit; waiting"
                );
                self.block_for(limit.wait);
                continue;
            }
            if reply.status.is_server_error()
                && !is_write
                && read_failures < self.config.read_retries
            {
                read_failures += 1;
                tracing::warn!(
                    status = reply.status.as_u16(),
                    attempt = read_failures,
                    "GitHub server error; retrying"
                );
                tokio::time::sleep(self.backoff(read_failures)).await;
                continue;
            }
            self.note_primary_limit(&reply.headers);
            return Ok(reply);
        }
    }

    /// Sends a call and maps any status outside 2xx to the port's error.
    pub(crate) async fn send_ok(&self, call: &Call<'_>) -> Result<Reply, CodeHostError> {
        let reply = self.send(call).await?;
        if reply.status.is_success() {
            return Ok(reply);
        }
        Err(error_for(&reply))
    }

    /// GETs every page of a JSON array listing. `url` may carry a query already.
    pub(crate) async fn get_all<T: serde::de::DeserializeOwned>(
        &self,
        url: String,
        authorization: Option<&str>,
    ) -> Result<Vec<T>, CodeHostError> {
        self.get_all_wrapped(url, authorization, None).await
    }

    /// As [`Transport::get_all`], for listings that wrap their array in an object field.
    pub(crate) async fn get_all_wrapped<T: serde::de::DeserializeOwned>(
        &self,
        url: String,
        authorization: Option<&str>,
        field: Option<&str>,
    ) -> Result<Vec<T>, CodeHostError> {
        let separator = if url.contains('?') { '&' } else { '?' };
        let mut next = Some(format!("{url}{separator}per_page={PER_PAGE}"));
        let mut items = Vec::new();
        let mut pages = 0;
        while let Some(url) = next.take() {
            pages += 1;
            if pages > MAX_PAGES {
                return Err(CodeHostError::Unexpected(anyhow::anyhow!(
                    "GitHub listing has over {MAX_PAGES} pages"
                )));
            }
            let reply = self
                .send_ok(&Call {
                    method: Method::GET,
                    url,
                    authorization,
                    accept: JSON,
                    body: None,
                })
                .await?;
            let page: Vec<T> = match field {
                None => reply.json()?,
                Some(field) => {
                    let mut wrapper: serde_json::Value = reply.json()?;
                    serde_json::from_value(wrapper[field].take()).map_err(|error| {
                        CodeHostError::Unexpected(anyhow::anyhow!(
                            "GitHub sent unexpected JSON: {error}"
                        ))
                    })?
                }
            };
            items.extend(page);
            next = reply.next_page();
        }
        Ok(items)
    }

    /// Opens a GET whose body is streamed: chunks of it arrive on the answered channel (a bounded
    /// one, so a slow reader slows the download instead of buffering it). A status outside 2xx is
    /// the port's error; a failure midway arrives as the channel's last item.
    pub(crate) async fn open_stream(
        &self,
        call: &Call<'_>,
    ) -> Result<tokio::sync::mpsc::Receiver<Result<Vec<u8>, String>>, CodeHostError> {
        self.wait_out_block().await?;
        let response = {
            let _permit = self.in_flight.acquire().await.map_err(|_| {
                CodeHostError::Unexpected(anyhow::anyhow!("the GitHub client is shut down"))
            })?;
            self.start(call).await.map_err(CodeHostError::Unavailable)?
        };
        let (parts, mut body) = response.into_parts();
        if !parts.status.is_success() {
            let body = body.collect().await.map_err(describe_transport_error);
            let body = body.map_err(CodeHostError::Unavailable)?.to_bytes().to_vec();
            return Err(error_for(&Reply { status: parts.status, headers: parts.headers, body }));
        }
        let (sender, receiver) = tokio::sync::mpsc::channel(4);
        tokio::spawn(async move {
            loop {
                let item = match body.frame().await {
                    None => return,
                    Some(Ok(frame)) => match frame.into_data() {
                        Ok(data) => Ok(data.to_vec()),
                        Err(_) => continue,
                    },
                    Some(Err(error)) => Err(describe_transport_error(error)),
                };
                let failed = item.is_err();
                if sender.send(item).await.is_err() || failed {
                    return;
                }
            }
        });
        Ok(receiver)
    }

    async fn execute(&self, call: &Call<'_>) -> Result<Reply, String> {
        let response = self.start(call).await?;
        let (parts, body) = response.into_parts();
        let body = body.collect().await.map_err(describe_transport_error)?.to_bytes().to_vec();
        Ok(Reply { status: parts.status, headers: parts.headers, body })
    }

    async fn start(
        &self,
        call: &Call<'_>,
    ) -> Result<http::Response<BoxBody<bytes::Bytes, octocrab::Error>>, String> {
        let mut builder = http::Request::builder()
            .method(call.method.clone())
            .uri(call.url.as_str())
            .header(ACCEPT, call.accept)
            .header(USER_AGENT, self.config.user_agent.as_str())
            .header("x-github-api-version", "2022-11-28");
        if let Some(authorization) = call.authorization {
            let mut value = HeaderValue::from_str(authorization)
                .map_err(|_| "malformed credentials".to_owned())?;
            value.set_sensitive(true);
            builder = builder.header(AUTHORIZATION, value);
        }
        let request =
            self.octocrab.build_request(builder, call.body).map_err(|error| error.to_string())?;
        self.octocrab.execute(request).await.map_err(describe_transport_error)
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let base = self.config.retry_base_delay_ms.saturating_mul(1 << attempt.min(10));
        Duration::from_millis(base / 2 + jitter(base / 2 + 1))
    }

    fn block_for(&self, wait: Duration) {
        let until = Instant::now() + wait;
        let mut blocked =
            self.blocked_until.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        *blocked = Some(blocked.map_or(until, |current| current.max(until)));
    }

    async fn wait_out_block(&self) -> Result<(), CodeHostError> {
        let until = *self.blocked_until.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let Some(until) = until else { return Ok(()) };
        let now = Instant::now();
        if until <= now {
            return Ok(());
        }
        let wait = until - now;
        if wait > Duration::from_secs(self.config.max_rate_limit_wait_seconds) {
            let reset_at = Utc::now() + chrono::Duration::from_std(wait).unwrap_or_default();
            return Err(CodeHostError::RateLimited { reset_at: Some(reset_at) });
        }
        tokio::time::sleep(wait).await;
        Ok(())
    }

    async fn pace_write(&self) {
        let interval = Duration::from_secs(60) / self.config.writes_per_minute.max(1);
        let mut next = self.next_write_at.lock().await;
        let now = Instant::now();
        if *next > now {
            tokio::time::sleep(*next - now).await;
        }
        *next = Instant::now() + interval;
    }

    /// When a successful reply says the primary budget is spent, hold later requests until it
    /// resets rather than collecting 403s.
    fn note_primary_limit(&self, headers: &HeaderMap) {
        if header_number(headers, "x-ratelimit-remaining") == Some(0)
            && let Some(reset) = header_number(headers, "x-ratelimit-reset")
        {
            let wait = seconds_until(reset);
            if !wait.is_zero() {
                self.block_for(wait);
            }
        }
    }
}

fn describe_transport_error(error: octocrab::Error) -> String {
    // octocrab's errors name the URI at most, never the Authorization header.
    format!("network error talking to GitHub: {error}")
}

/// A small jitter without a random-number dependency: the clock's nanoseconds.
fn jitter(range_ms: u64) -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| u64::from(elapsed.subsec_nanos()));
    nanos % range_ms.max(1)
}

fn header_number(headers: &HeaderMap, name: &str) -> Option<u64> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

/// The wait a `retry-after` header asks for: seconds or an HTTP date.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get("retry-after")?.to_str().ok()?;
    RetryAfter::parse(value).map(RetryAfter::wait)
}

fn seconds_until(epoch_seconds: u64) -> Duration {
    let now = Utc::now().timestamp();
    let reset = i64::try_from(epoch_seconds).unwrap_or(i64::MAX);
    Duration::from_secs(u64::try_from(reset.saturating_sub(now)).unwrap_or(0))
        + Duration::from_millis(250)
}

struct RateLimit {
    wait: Duration,
    reset_at: DateTime<Utc>,
}

/// Whether a reply is a rate limit, and how long to wait before trying again.
fn rate_limit(reply: &Reply, secondary_wait_seconds: u64, strikes: u32) -> Option<RateLimit> {
    if !matches!(reply.status, StatusCode::FORBIDDEN | StatusCode::TOO_MANY_REQUESTS) {
        return None;
    }
    let headers = &reply.headers;
    let wait = if let Some(wait) = retry_after(headers) {
        wait
    } else if header_number(headers, "x-ratelimit-remaining") == Some(0)
        && let Some(reset) = header_number(headers, "x-ratelimit-reset")
    {
        seconds_until(reset)
    } else if reply.status == StatusCode::TOO_MANY_REQUESTS
        || String::from_utf8_lossy(&reply.body).to_ascii_lowercase().contains("rate limit")
    {
        Duration::from_secs(secondary_wait_seconds.saturating_mul(1 << strikes.min(6)))
    } else {
        return None;
    };
    let reset_at = Utc::now() + chrono::Duration::from_std(wait).unwrap_or_default();
    Some(RateLimit { wait, reset_at })
}

/// Maps a reply outside 2xx to the port's error.
pub(crate) fn error_for(reply: &Reply) -> CodeHostError {
    let message = github_message(&reply.body);
    match reply.status {
        StatusCode::UNAUTHORIZED => CodeHostError::Unauthorized,
        StatusCode::NOT_FOUND | StatusCode::GONE => CodeHostError::NotFound,
        StatusCode::FORBIDDEN => {
            CodeHostError::Forbidden { missing_scope: missing_scope(&reply.headers), message }
        }
        StatusCode::UNPROCESSABLE_ENTITY => CodeHostError::ValidationFailed(message),
        StatusCode::TOO_MANY_REQUESTS => {
            let reset_at = header_number(&reply.headers, "x-ratelimit-reset")
                .and_then(|reset| Utc.timestamp_opt(i64::try_from(reset).ok()?, 0).single());
            CodeHostError::RateLimited { reset_at }
        }
        status if status.is_server_error() => {
            CodeHostError::Unavailable(format!("GitHub answered {status}"))
        }
        status => CodeHostError::Unexpected(anyhow::anyhow!("GitHub answered {status}: {message}")),
    }
}

/// GitHub's `message`, with the `errors` it lists.
fn github_message(body: &[u8]) -> String {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) else {
        return String::from_utf8_lossy(body).chars().take(200).collect();
    };
    let mut message = value["message"].as_str().unwrap_or("no message").to_owned();
    let details: Vec<String> = value["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|error| match error {
            serde_json::Value::String(text) => Some(text.clone()),
            other => {
                other["message"].as_str().or_else(|| other["code"].as_str()).map(str::to_owned)
            }
        })
        .collect();
    if !details.is_empty() {
        message = format!("{message}: {}", details.join("; "));
    }
    message
}

/// The scope GitHub wanted (`x-accepted-oauth-scopes`) that the token lacks (`x-oauth-scopes`).
fn missing_scope(headers: &HeaderMap) -> Option<String> {
    let list = |name: &str| -> Vec<String> {
        headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(|text| {
                text.split(',')
                    .map(|scope| scope.trim().to_owned())
                    .filter(|scope| !scope.is_empty())
                    .collect()
            })
            .unwrap_or_default()
    };
    let granted = list("x-oauth-scopes");
    let missing: Vec<String> = list("x-accepted-oauth-scopes")
        .into_iter()
        .filter(|scope| !granted.contains(scope))
        .collect();
    (!missing.is_empty()).then(|| missing.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(status: u16, headers: &[(&'static str, &str)], body: &str) -> Reply {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.insert(*name, HeaderValue::from_str(value).unwrap());
        }
        Reply {
            status: StatusCode::from_u16(status).unwrap(),
            headers: map,
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn finds_the_next_page_in_link_headers() {
        let page = reply(
            200,
            &[("link", "<https://x/a?page=2>; rel=\"next\", <https://x/a?page=5>; rel=\"last\"")],
            "[]",
        );
        assert_eq!(page.next_page().as_deref(), Some("https://x/a?page=2"));
        let commas = reply(
            200,
            &[(
                "link",
                "<https://x/a?p=a,b&page=5>; rel=\"last\", <https://x/a?p=a,b&page=2>; rel=\"next\"",
            )],
            "[]",
        );
        assert_eq!(commas.next_page().as_deref(), Some("https://x/a?p=a,b&page=2"));
        let last = reply(200, &[("link", "<https://x/a?page=1>; rel=\"prev\"")], "[]");
        assert_eq!(last.next_page(), None);
    }

    #[test]
    fn recognises_primary_and_secondary_limits() {
        let secondary = reply(
            403,
            &[("retry-after", "7")],
            r#"{"message":"You have exceeded a secondary rate limit"}"#,
        );
        assert_eq!(rate_limit(&secondary, 60, 0).unwrap().wait, Duration::from_secs(7));
        let without_header =
            reply(403, &[], r#"{"message":"You have exceeded a secondary rate limit"}"#);
        assert_eq!(rate_limit(&without_header, 60, 1).unwrap().wait, Duration::from_secs(120));
        let reset = (Utc::now().timestamp() + 30).to_string();
        let primary =
            reply(403, &[("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", &reset)], "{}");
        let wait = rate_limit(&primary, 60, 0).unwrap().wait;
        assert!(wait > Duration::from_secs(25) && wait <= Duration::from_secs(31), "{wait:?}");
        let forbidden = reply(403, &[], r#"{"message":"Resource not accessible by integration"}"#);
        assert!(rate_limit(&forbidden, 60, 0).is_none());
    }

    #[test]
    fn a_retry_after_given_as_an_http_date_is_waited_out_and_a_past_one_is_not() {
        let date = |seconds: i64| {
            (Utc::now() + chrono::Duration::seconds(seconds))
                .format("%a, %d %b %Y %H:%M:%S GMT")
                .to_string()
        };
        let limited = reply(429, &[("retry-after", &date(30))], "{}");
        let wait = rate_limit(&limited, 60, 0).unwrap().wait;
        assert!(wait > Duration::from_secs(27) && wait <= Duration::from_secs(30), "{wait:?}");
        let past = reply(403, &[("retry-after", &date(-60))], r#"{"message":"rate limit"}"#);
        assert_eq!(rate_limit(&past, 60, 0).unwrap().wait, Duration::ZERO);
        let seconds = reply(429, &[("retry-after", "12")], "{}");
        assert_eq!(rate_limit(&seconds, 60, 0).unwrap().wait, Duration::from_secs(12));
    }

    #[test]
    fn maps_statuses_to_port_errors_with_githubs_words() {
        let invalid = reply(
            422,
            &[],
            r#"{"message":"Unprocessable Entity","errors":["Line could not be resolved"]}"#,
        );
        match error_for(&invalid) {
            CodeHostError::ValidationFailed(message) => {
                assert_eq!(message, "Unprocessable Entity: Line could not be resolved")
            }
            other => panic!("{other:?}"),
        }
        let scoped = reply(
            403,
            &[("x-accepted-oauth-scopes", "repo, admin:repo_hook"), ("x-oauth-scopes", "repo")],
            r#"{"message":"Must have admin rights"}"#,
        );
        match error_for(&scoped) {
            CodeHostError::Forbidden { missing_scope, message } => {
                assert_eq!(missing_scope.as_deref(), Some("admin:repo_hook"));
                assert_eq!(message, "Must have admin rights");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(error_for(&reply(404, &[], "{}")), CodeHostError::NotFound));
        assert!(matches!(error_for(&reply(401, &[], "{}")), CodeHostError::Unauthorized));
        assert!(matches!(error_for(&reply(502, &[], "<html>")), CodeHostError::Unavailable(_)));
    }
}
