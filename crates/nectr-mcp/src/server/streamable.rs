//! The Streamable HTTP transport at `/mcp`: rmcp's `StreamableHttpService` (sessions in
//! memory) behind one actix handler for `POST`, `GET` and `DELETE`. Before rmcp sees a request,
//! the handler checks its `Host` and `Origin`, authenticates its API key and, when it names a
//! session, that the session was opened with a key of the same user; it remembers which user
//! opened each session from the `Mcp-Session-Id` that rmcp issues on `initialize`. A `POST`
//! without a session (an `initialize`) first takes a slot of the user's cap, which the session
//! keeps until it ends (`DELETE`, or rmcp ending it).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use actix_web::http::Method;
use actix_web::{HttpRequest, HttpResponse, Resource, web};
use bytes::Bytes;
use nectr_domain::UserId;
use rmcp::transport::common::http_header::HEADER_SESSION_ID;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};

use super::auth::{Caller, authenticate};
use super::guard::AllowedHosts;
use super::handler::NectrMcp;
use super::http_error::Refusal;
use super::slots::Slot;
use super::{Shared, bridge};

/// The largest request body accepted (rmcp's own limit).
const MAX_BODY: usize = 4 * 1024 * 1024;

/// rmcp's service and which user opened each of its sessions.
pub(crate) struct Streamable {
    service: StreamableHttpService<NectrMcp, LocalSessionManager>,
    sessions: Arc<LocalSessionManager>,
    owners: Mutex<HashMap<String, Owner>>,
}

/// Who opened a session, and the slot of theirs it holds.
struct Owner {
    user: UserId,
    _slot: Slot,
}

impl Streamable {
    /// The service for `handler`, checking hosts as `hosts` does.
    pub(crate) fn new(handler: NectrMcp, hosts: &AllowedHosts, keep_alive: Duration) -> Self {
        let sessions = Arc::new(LocalSessionManager::default());
        let config = StreamableHttpServerConfig::default()
            .with_allowed_hosts(hosts.names().iter().cloned())
            .with_sse_keep_alive(Some(keep_alive));
        let service =
            StreamableHttpService::new(move || Ok(handler.clone()), sessions.clone(), config);
        Self { service, sessions, owners: Mutex::new(HashMap::new()) }
    }

    /// Ends every session and stream, and refuses what comes after.
    pub(crate) fn close(&self) {
        self.service.config.cancellation_token.cancel();
    }

    fn owners(&self) -> std::sync::MutexGuard<'_, HashMap<String, Owner>> {
        self.owners.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn owner(&self, session: &str) -> Option<UserId> {
        self.owners().get(session).map(|owner| owner.user)
    }

    /// Forgets the sessions rmcp has ended by itself (an idle timeout, a failed handshake),
    /// giving their slots back.
    async fn forget_ended(&self) {
        let live: HashSet<String> =
            self.sessions.sessions.read().await.keys().map(|id| id.to_string()).collect();
        self.owners().retain(|id, _| live.contains(id));
    }

    /// Records who opened `session`, with the slot it holds.
    fn opened(&self, session: String, user: UserId, slot: Slot) {
        self.owners().insert(session, Owner { user, _slot: slot });
    }

    fn ended(&self, session: &str) {
        self.owners().remove(session);
    }
}

/// `/mcp`: `POST` (messages), `GET` (a session's event stream) and `DELETE` (ending a
/// session); any other method is 405 before authentication, as on the other MCP routes.
pub(crate) fn resource(shared: web::Data<Shared>) -> Resource {
    web::resource("/mcp")
        .app_data(shared)
        .app_data(web::PayloadConfig::new(MAX_BODY))
        .route(web::post().to(handle))
        .route(web::get().to(handle))
        .route(web::delete().to(handle))
        .default_service(web::to(super::sse::method_not_allowed))
}

fn session_of(request: &HttpRequest) -> Option<String> {
    request
        .headers()
        .get(HEADER_SESSION_ID)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
}

async fn handle(
    shared: web::Data<Shared>,
    request: HttpRequest,
    body: Bytes,
) -> Result<HttpResponse, Refusal> {
    shared.hosts.admit(request.headers())?;
    let caller: Caller = authenticate(shared.keys.as_ref(), request.headers()).await?;
    let streamable = &shared.streamable;
    let session = session_of(&request);
    let slot = match (&session, request.method()) {
        (None, &Method::POST) => {
            streamable.forget_ended().await;
            Some(shared.slots.take(caller.user)?)
        }
        _ => None,
    };
    let foreign = session
        .as_deref()
        .and_then(|id| streamable.owner(id))
        .is_some_and(|owner| owner != caller.user);
    if foreign {
        tracing::warn!(
            user_id = caller.user.get(),
            "refused a request on another user's MCP session"
        );
        return Err(Refusal::ForeignSession);
    }
    let answer = streamable.service.handle(bridge::request(&request, body, caller)).await;
    let issued = answer
        .headers()
        .get(HEADER_SESSION_ID)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let status = answer.status();
    match (session, issued, slot) {
        (None, Some(issued), Some(slot)) => streamable.opened(issued, caller.user, slot),
        (Some(session), _, _)
            if status == http::StatusCode::NOT_FOUND
                || (request.method() == Method::DELETE && status.is_success()) =>
        {
            streamable.ended(&session);
        }
        _ => {}
    }
    Ok(bridge::response(answer).await)
}
