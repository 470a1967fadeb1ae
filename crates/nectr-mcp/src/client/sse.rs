//! The legacy HTTP+SSE transport of MCP (protocol 2024-11-05), for servers that predate
//! Streamable HTTP, written on rmcp's `Transport` trait (rmcp ships no SSE client).
//!
//! The client opens `GET <url>` as an event stream; the server's first `endpoint` event names
//! the URL to `POST` messages to (same origin only: the bearer token goes nowhere else); the
//! server's messages arrive as `message` events on the stream.

use std::borrow::Cow;
use std::pin::Pin;

use futures_util::{Stream, StreamExt};
use reqwest::Url;
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use rmcp::RoleClient;
use rmcp::model::{ClientJsonRpcMessage, ServerJsonRpcMessage};
use rmcp::transport::Transport;
use secrecy::{ExposeSecret, SecretString};

/// Why the legacy transport failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SseError {
    /// The HTTP request failed.
    #[error("HTTP: {0}")]
    Http(#[from] reqwest::Error),
    /// The server answered with an HTTP error status.
    #[error("HTTP {0}")]
    Status(reqwest::StatusCode),
    /// The server answered something else than the transport.
    #[error("{0}")]
    Protocol(Cow<'static, str>),
}

type Events = Pin<Box<dyn Stream<Item = Result<Event, SseError>> + Send>>;

/// One server-sent event.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Event {
    /// Its `event:` name (`message` when there is none).
    pub(crate) name: String,
    /// Its `data:` lines, joined by line breaks.
    pub(crate) data: String,
}

/// The client half of the legacy HTTP+SSE transport, connected.
pub(crate) struct SseTransport {
    http: reqwest::Client,
    endpoint: Url,
    token: Option<SecretString>,
    events: Events,
}

impl SseTransport {
    /// Opens the event stream at `url` and waits for the `endpoint` event.
    ///
    /// # Errors
    /// [`SseError`] when the stream cannot be opened or names no usable endpoint.
    pub(crate) async fn connect(
        http: reqwest::Client,
        url: &Url,
        token: Option<SecretString>,
    ) -> Result<Self, SseError> {
        let mut request = http.get(url.clone()).header(ACCEPT, "text/event-stream");
        if let Some(token) = &token {
            request = request.bearer_auth(token.expose_secret());
        }
        let response = request.send().await?;
        if !response.status().is_success() {
            return Err(SseError::Status(response.status()));
        }
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        if !content_type.starts_with("text/event-stream") {
            return Err(SseError::Protocol(
                format!("GET answered {content_type:?}, not an event stream").into(),
            ));
        }
        let mut events = events(response.bytes_stream());
        let endpoint = loop {
            match events.next().await {
                Some(Ok(event)) if event.name == "endpoint" => break event.data,
                Some(Ok(_)) => {}
                Some(Err(error)) => return Err(error),
                None => {
                    return Err(SseError::Protocol("the stream ended before `endpoint`".into()));
                }
            }
        };
        let endpoint = url.join(endpoint.trim()).map_err(|error| {
            SseError::Protocol(format!("the endpoint {endpoint:?} is no URL: {error}").into())
        })?;
        if endpoint.origin() != url.origin() {
            return Err(SseError::Protocol(
                format!("the endpoint {endpoint} is on another origin than {url}").into(),
            ));
        }
        Ok(Self { http, endpoint, token, events })
    }
}

impl Transport<RoleClient> for SseTransport {
    type Error = SseError;

    fn send(
        &mut self,
        item: ClientJsonRpcMessage,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send + 'static {
        let mut request = self.http.post(self.endpoint.clone()).json(&item);
        if let Some(token) = &self.token {
            request = request.bearer_auth(token.expose_secret());
        }
        async move {
            let response = request.send().await?;
            match response.status().is_success() {
                true => Ok(()),
                false => Err(SseError::Status(response.status())),
            }
        }
    }

    async fn receive(&mut self) -> Option<ServerJsonRpcMessage> {
        loop {
            match self.events.next().await? {
                Ok(event) if event.name == "message" => {
                    match serde_json::from_str::<ServerJsonRpcMessage>(&event.data) {
                        Ok(message) => return Some(message),
                        Err(error) => {
                            tracing::warn!(error = %error, "an MCP server sent a message that is not JSON-RPC");
                        }
                    }
                }
                Ok(_) => {}
                Err(error) => {
                    tracing::warn!(error = %error, "an MCP server's event stream failed");
                    return None;
                }
            }
        }
    }

    async fn close(&mut self) -> Result<(), Self::Error> {
        self.events = Box::pin(futures_util::stream::empty());
        Ok(())
    }
}

/// The events of a `text/event-stream` body, parsed as the HTML standard says: lines end in
/// LF, CRLF or CR; `field: value` (one optional space); comments start with `:`; a blank line
/// dispatches the event, when it has data.
fn events<S, B, E>(body: S) -> Events
where
    S: Stream<Item = Result<B, E>> + Send + 'static,
    B: AsRef<[u8]> + Send,
    E: Into<SseError>,
{
    let state = (Box::pin(body), Parser::default());
    Box::pin(futures_util::stream::unfold(state, |(mut body, mut parser)| async move {
        loop {
            if let Some(event) = parser.next_event() {
                return Some((Ok(event), (body, parser)));
            }
            match body.next().await {
                Some(Ok(chunk)) => parser.feed(chunk.as_ref()),
                Some(Err(error)) => return Some((Err(error.into()), (body, parser))),
                None => return None,
            }
        }
    }))
}

/// An incremental event-stream parser.
#[derive(Default)]
pub(crate) struct Parser {
    pending: Vec<u8>,
    skip_line_feed: bool,
    current: Event,
    has_data: bool,
    ready: std::collections::VecDeque<Event>,
}

impl Parser {
    /// Takes in a chunk of the body.
    pub(crate) fn feed(&mut self, chunk: &[u8]) {
        for &byte in chunk {
            if self.skip_line_feed {
                self.skip_line_feed = false;
                if byte == b'\n' {
                    continue;
                }
            }
            match byte {
                b'\n' | b'\r' => {
                    self.skip_line_feed = byte == b'\r';
                    let line = std::mem::take(&mut self.pending);
                    self.line(&String::from_utf8_lossy(&line));
                }
                other => self.pending.push(other),
            }
        }
    }

    /// The next complete event.
    pub(crate) fn next_event(&mut self) -> Option<Event> {
        self.ready.pop_front()
    }

    fn line(&mut self, line: &str) {
        if line.is_empty() {
            let event = std::mem::take(&mut self.current);
            if std::mem::take(&mut self.has_data) {
                let name = match event.name.is_empty() {
                    true => "message".to_owned(),
                    false => event.name,
                };
                self.ready.push_back(Event { name, data: event.data });
            }
            return;
        }
        if line.starts_with(':') {
            return;
        }
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line, ""),
        };
        match field {
            "event" => value.clone_into(&mut self.current.name),
            "data" => {
                if self.has_data {
                    self.current.data.push('\n');
                }
                self.current.data.push_str(value);
                self.has_data = true;
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Event, Parser};

    fn parse(chunks: &[&str]) -> Vec<Event> {
        let mut parser = Parser::default();
        let mut events = Vec::new();
        for chunk in chunks {
            parser.feed(chunk.as_bytes());
            while let Some(event) = parser.next_event() {
                events.push(event);
            }
        }
        events
    }

    fn event(name: &str, data: &str) -> Event {
        Event { name: name.to_owned(), data: data.to_owned() }
    }

    #[test]
    fn events_are_parsed_across_chunks_and_line_endings() {
        let events = parse(&[
            "event: endpoint\r\ndata: /message?sessionId=1\r\n\r\n: a comment\n",
            "data: {\"a\":\ndata:1}\n",
            "\nevent:message\rdata: x\r\r",
            "event: ping\n\n",
        ]);
        assert_eq!(
            events,
            [
                event("endpoint", "/message?sessionId=1"),
                event("message", "{\"a\":\n1}"),
                event("message", "x")
            ]
        );
    }
}
