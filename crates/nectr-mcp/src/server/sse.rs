//! The legacy HTTP+SSE transport (MCP 2024-11-05), for clients configured for the original
//! service: `GET /mcp/sse` opens a session whose event stream starts with an `endpoint` event
//! naming `/mcp/messages/?session_id=…`; the client `POST`s its JSON-RPC messages there (202
//! Accepted) and the answers go out on the stream as `message` events. rmcp no longer ships
//! this transport, so it is written here on rmcp's `Transport` trait: two channels between the
//! HTTP handlers and an rmcp service per session. A session ends when its stream closes (the
//! client went away, or the service ended), and gives its user's slot back; an unknown session
//! is 404.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Mutex, PoisonError};

use actix_web::http::StatusCode;
use actix_web::http::header::{self, CacheControl, CacheDirective};
use actix_web::{HttpRequest, HttpResponse, Resource, ResponseError, web};
use bytes::Bytes;
use futures_util::stream::{self, Stream};
use nectr_domain::UserId;
use rmcp::model::{ClientJsonRpcMessage, GetExtensions};
use rmcp::service::{RxJsonRpcMessage, TxJsonRpcMessage};
use rmcp::transport::Transport;
use rmcp::{RoleServer, ServiceExt};
use serde::Deserialize;
use tokio::sync::{mpsc, watch};

use super::auth::{Caller, authenticate};
use super::http_error::{self, Refusal};
use super::slots::Slot;
use super::{Shared, bridge};

/// Messages a session's service may have waiting to be read from a client.
const INBOX: usize = 32;
/// Messages a session's stream may have waiting to be sent to a client.
const OUTBOX: usize = 32;
/// The largest message accepted.
const MAX_MESSAGE: usize = 4 * 1024 * 1024;

/// One open session: its owner, and the way into its service.
struct Session {
    owner: UserId,
    inbox: mpsc::Sender<ClientJsonRpcMessage>,
}

/// The open SSE sessions, by id, and the signal that closes every stream.
pub(crate) struct SseSessions {
    sessions: Mutex<HashMap<String, Session>>,
    closing: watch::Sender<bool>,
}

impl Default for SseSessions {
    fn default() -> Self {
        Self { sessions: Mutex::default(), closing: watch::Sender::new(false) }
    }
}

impl SseSessions {
    /// Closes every stream (and so every session); a stream opened later closes at once.
    pub(crate) fn close_all(&self) {
        self.closing.send_replace(true);
        self.sessions().clear();
    }

    fn sessions(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        self.sessions.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn open(&self, id: &str, session: Session) {
        self.sessions().insert(id.to_owned(), session);
    }

    /// The session's owner and inbox, when it is open.
    fn find(&self, id: &str) -> Option<(UserId, mpsc::Sender<ClientJsonRpcMessage>)> {
        self.sessions().get(id).map(|session| (session.owner, session.inbox.clone()))
    }

    fn close(&self, id: &str) {
        self.sessions().remove(id);
    }

    /// How many sessions are open.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.sessions().len()
    }
}

/// The stream of a session has closed (or its client went away).
#[derive(Debug, thiserror::Error)]
#[error("the event stream of this MCP session is closed")]
pub(crate) struct StreamClosed;

/// rmcp's side of a session: it reads what clients `POST` and writes what the stream sends.
pub(crate) struct ChannelTransport {
    outbox: mpsc::Sender<TxJsonRpcMessage<RoleServer>>,
    inbox: mpsc::Receiver<RxJsonRpcMessage<RoleServer>>,
}

impl Transport<RoleServer> for ChannelTransport {
    type Error = StreamClosed;

    fn send(
        &mut self,
        item: TxJsonRpcMessage<RoleServer>,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send + 'static {
        let outbox = self.outbox.clone();
        async move { outbox.send(item).await.map_err(|_| StreamClosed) }
    }

    fn receive(&mut self) -> impl Future<Output = Option<RxJsonRpcMessage<RoleServer>>> + Send {
        self.inbox.recv()
    }

    fn close(&mut self) -> impl Future<Output = Result<(), Self::Error>> + Send {
        self.inbox.close();
        std::future::ready(Ok(()))
    }
}

/// `GET /mcp/sse`.
pub(crate) fn stream_resource(shared: web::Data<Shared>) -> Resource {
    web::resource("/mcp/sse")
        .app_data(shared)
        .route(web::get().to(open))
        .default_service(web::to(method_not_allowed))
}

/// `POST /mcp/messages?session_id=…` (also reached as `/mcp/messages/?session_id=…`).
pub(crate) fn messages_resource(shared: web::Data<Shared>) -> Resource {
    web::resource("/mcp/messages")
        .app_data(shared)
        .app_data(web::PayloadConfig::new(MAX_MESSAGE))
        .route(web::post().to(post))
        .default_service(web::to(method_not_allowed))
}

/// 405 `method_not_allowed`, for a method an MCP route does not take.
pub(super) async fn method_not_allowed() -> HttpResponse {
    Refusal::Method.error_response()
}

/// Removes its session, and gives its slot back, when the stream that holds it is dropped.
struct Closer {
    shared: web::Data<Shared>,
    id: String,
    _slot: Slot,
}

impl Drop for Closer {
    fn drop(&mut self) {
        self.shared.sse.close(&self.id);
        tracing::debug!(session = %self.id, "an MCP SSE session ended");
    }
}

/// One server-sent event.
fn event(name: &str, data: &str) -> Bytes {
    Bytes::from(format!("event: {name}\ndata: {data}\n\n"))
}

/// The session's events: the endpoint first, then each message of the service as it comes, a
/// keep-alive comment whenever the stream has been idle; it ends when the service does, or when
/// every session is closed.
fn events(
    endpoint: String,
    outbox: mpsc::Receiver<TxJsonRpcMessage<RoleServer>>,
    closer: Closer,
) -> impl Stream<Item = Result<Bytes, std::convert::Infallible>> {
    let period = closer.shared.keep_alive;
    let ticker = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    let closing = closer.shared.sse.closing.subscribe();
    let first = stream::once(std::future::ready(Ok(event("endpoint", &endpoint))));
    let state = (outbox, ticker, closing, closer);
    let rest = stream::unfold(state, |(mut outbox, mut ticker, mut closing, closer)| async move {
        let bytes = tokio::select! {
            _ = closing.wait_for(|closed| *closed) => return None,
            message = outbox.recv() => match serde_json::to_string(&message?) {
                Ok(json) => event("message", &json),
                Err(error) => {
                    tracing::error!(error = %error, "an MCP message could not be serialised");
                    return None;
                }
            },
            _ = ticker.tick() => Bytes::from_static(b": keep-alive\n\n"),
        };
        Some((Ok(bytes), (outbox, ticker, closing, closer)))
    });
    stream::StreamExt::chain(first, rest)
}

async fn open(shared: web::Data<Shared>, request: HttpRequest) -> Result<HttpResponse, Refusal> {
    shared.hosts.admit(request.headers())?;
    let caller = authenticate(shared.keys.as_ref(), request.headers()).await?;
    let slot = shared.slots.take(caller.user)?;
    let id = uuid::Uuid::new_v4().simple().to_string();
    let (inbox, inbox_reader) = mpsc::channel(INBOX);
    let (outbox_writer, outbox) = mpsc::channel(OUTBOX);
    shared.sse.open(&id, Session { owner: caller.user, inbox });
    let transport = ChannelTransport { outbox: outbox_writer, inbox: inbox_reader };
    let handler = shared.handler.clone();
    let session = id.clone();
    tokio::spawn(async move {
        match handler.serve(transport).await {
            Ok(running) => {
                let quit = running.waiting().await;
                tracing::debug!(session = %session, reason = ?quit.ok(), "an MCP SSE session's service ended");
            }
            Err(error) => {
                tracing::info!(session = %session, error = %error, "an MCP SSE session ended before initialising")
            }
        }
    });
    tracing::info!(user_id = caller.user.get(), key_id = caller.key, "an MCP SSE session opened");
    let endpoint = format!("/mcp/messages/?session_id={id}");
    let closer = Closer { shared: shared.clone(), id, _slot: slot };
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(CacheControl(vec![CacheDirective::NoCache]))
        .insert_header((header::HeaderName::from_static("x-accel-buffering"), "no"))
        .streaming(events(endpoint, outbox, closer)))
}

#[derive(Deserialize)]
struct SessionQuery {
    session_id: Option<String>,
}

async fn post(
    shared: web::Data<Shared>,
    request: HttpRequest,
    body: Bytes,
) -> Result<HttpResponse, Refusal> {
    shared.hosts.admit(request.headers())?;
    let caller: Caller = authenticate(shared.keys.as_ref(), request.headers()).await?;
    let id = web::Query::<SessionQuery>::from_query(request.query_string())
        .ok()
        .and_then(|query| query.into_inner().session_id)
        .filter(|id| !id.is_empty());
    let id = id.ok_or(Refusal::NoSession)?;
    let (owner, inbox) = shared.sse.find(&id).ok_or(Refusal::UnknownSession)?;
    if owner != caller.user {
        tracing::warn!(
            user_id = caller.user.get(),
            "refused a message on another user's MCP session"
        );
        return Err(Refusal::ForeignSession);
    }
    let mut message: ClientJsonRpcMessage = match serde_json::from_slice(&body) {
        Ok(message) => message,
        Err(error) => {
            return Ok(http_error::json_error(
                StatusCode::BAD_REQUEST,
                "invalid_message",
                &format!("not a JSON-RPC message of MCP: {error}"),
            ));
        }
    };
    let parts = bridge::parts(&request, caller);
    match &mut message {
        ClientJsonRpcMessage::Request(request) => {
            request.request.extensions_mut().insert(parts);
        }
        ClientJsonRpcMessage::Notification(notification) => {
            notification.notification.extensions_mut().insert(parts);
        }
        ClientJsonRpcMessage::Response(_) | ClientJsonRpcMessage::Error(_) => {}
    }
    match inbox.send(message).await {
        Ok(()) => Ok(HttpResponse::Accepted().finish()),
        Err(_) => Err(Refusal::UnknownSession),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_framed_as_server_sent_events() {
        assert_eq!(
            event("endpoint", "/mcp/messages/?session_id=ab"),
            Bytes::from_static(b"event: endpoint\ndata: /mcp/messages/?session_id=ab\n\n")
        );
    }

    #[tokio::test]
    async fn a_closed_session_is_gone_and_its_service_reads_the_end() {
        let sessions = SseSessions::default();
        let (inbox, mut reader) = mpsc::channel(1);
        sessions.open("s1", Session { owner: UserId::new(1), inbox });
        assert!(sessions.find("s1").is_some_and(|(owner, _)| owner == UserId::new(1)));
        sessions.close("s1");
        assert_eq!(sessions.len(), 0);
        assert!(sessions.find("s1").is_none());
        assert!(reader.recv().await.is_none(), "the service sees its inbox closed");

        let (inbox, mut reader) = mpsc::channel(1);
        sessions.open("s2", Session { owner: UserId::new(2), inbox });
        let mut closing = sessions.closing.subscribe();
        sessions.close_all();
        assert_eq!(sessions.len(), 0);
        assert!(reader.recv().await.is_none());
        assert!(closing.wait_for(|closed| *closed).await.is_ok(), "every stream is told");
    }
}
