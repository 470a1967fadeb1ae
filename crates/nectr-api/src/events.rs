//! `GET /api/v1/events` and `GET /api/v1/events/{id}`: the deliveries of the signed-in user's
//! repositories (the original served every tenant's to anyone).

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use nectr_domain::history::{EventListing, EventQuery};
use nectr_domain::{EventId, EventStatus};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::CurrentUser;
use crate::openapi::ErrorDoc;
use crate::{ApiError, ApiState, get_only, params};

pub(crate) fn routes(config: &mut web::ServiceConfig) {
    config.service(get_only("/api/v1/events", list));
    config.service(get_only("/api/v1/events/{id}", one));
}

/// The event list's query.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct EventParams {
    /// 1 to 100 (default 20).
    limit: Option<u32>,
    /// Only events with this status.
    status: Option<String>,
}

/// One delivery.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct EventBody {
    /// Its id.
    id: i64,
    /// `<action>_pull_request`, `<action>_issue`, `push` or `unknown`.
    event_type: String,
    /// `github`.
    source: String,
    /// Where it is in its life.
    status: String,
    /// When it arrived.
    created_at: DateTime<Utc>,
}

impl From<EventListing> for EventBody {
    fn from(event: EventListing) -> Self {
        Self {
            id: event.id.get(),
            event_type: event.event_type,
            source: event.source,
            status: event.status.as_str().to_owned(),
            created_at: event.created_at,
        }
    }
}

/// The deliveries of the user's repositories, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/events",
    tag = "events",
    params(EventParams),
    responses(
        (status = 200, description = "The events", body = [EventBody]),
        (status = 400, description = "A bad parameter", body = ErrorDoc),
        (status = 401, description = "Not signed in", body = ErrorDoc),
    ),
    security(("session_cookie" = []), ("bearer" = []))
)]
pub(crate) async fn list(
    state: web::Data<ApiState>,
    user: CurrentUser,
    query: web::Query<EventParams>,
) -> Result<HttpResponse, ApiError> {
    let query = EventQuery {
        limit: params::limit(query.limit)?,
        status: params::named("status", query.status.as_deref(), |text| {
            text.parse::<EventStatus>().ok()
        })?,
    };
    let events = state.history.events(user.id, &query).await.map_err(internal)?;
    let bodies: Vec<EventBody> = events.into_iter().map(EventBody::from).collect();
    Ok(HttpResponse::Ok().json(bodies))
}

/// One delivery of the user's repositories; 404 for any other.
#[utoipa::path(
    get,
    path = "/api/v1/events/{id}",
    tag = "events",
    params(("id" = i64, Path, description = "The event's id")),
    responses(
        (status = 200, description = "The event", body = EventBody),
        (status = 401, description = "Not signed in", body = ErrorDoc),
        (status = 404, description = "No such event of this user's", body = ErrorDoc),
    ),
    security(("session_cookie" = []), ("bearer" = []))
)]
pub(crate) async fn one(
    state: web::Data<ApiState>,
    user: CurrentUser,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    match state.history.event(user.id, EventId::new(*id)).await.map_err(internal)? {
        Some(event) => Ok(HttpResponse::Ok().json(EventBody::from(event))),
        None => Err(ApiError::NotFound("Event not found".to_owned())),
    }
}

fn internal(error: impl std::error::Error + Send + Sync + 'static) -> ApiError {
    ApiError::Internal(anyhow::Error::new(error))
}
