//! `POST /api/v1/webhooks/github`: GitHub's deliveries, verified and stored by the intake.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use nectr_domain::EventId;
use nectr_domain::connections::AppInstallationChange;
use nectr_domain::webhook::{Delivery, IntakeError, IntakeOutcome, MAX_DELIVERY_BYTES};
use serde_json::json;

use crate::ApiState;
use crate::error::{ApiError, error_response, method_not_allowed};

pub(crate) fn routes(config: &mut web::ServiceConfig) {
    config.service(
        web::resource("/api/v1/webhooks/github")
            .app_data(web::PayloadConfig::new(MAX_DELIVERY_BYTES))
            .route(web::post().to(receive))
            .default_service(web::to(method_not_allowed)),
    );
}

/// A header's value as text, trimmed; `None` when absent or blank. Bytes beyond visible ASCII
/// (which HTTP allows) are kept as replacement characters, so that the intake refuses such a
/// value as malformed rather than as missing.
fn header(request: &HttpRequest, name: &str) -> Option<String> {
    request
        .headers()
        .get(name)
        .map(|value| String::from_utf8_lossy(value.as_bytes()).trim().to_owned())
        .filter(|value| !value.is_empty())
}

/// Connects or disconnects what an App installation change names. A failure is logged: the
/// delivery stays pending, and the next start applies it.
async fn apply_app_change(state: &ApiState, event_id: EventId, change: &AppInstallationChange) {
    match state.app_changes.settle(event_id, change).await {
        Ok(outcome) => tracing::info!(?outcome, "GitHub App installation change applied"),
        Err(error) => {
            tracing::error!(error = %error, "cannot apply a GitHub App installation change now; it is applied at the next start")
        }
    }
}

async fn receive(
    state: web::Data<ApiState>,
    request: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    // A GitHub App's installation changes connect and disconnect repositories, once the intake
    // has verified and stored their first delivery.
    let app_change = header(&request, "x-github-event")
        .and_then(|event| AppInstallationChange::from_delivery(&event, &body));
    let delivery = Delivery {
        event: header(&request, "x-github-event"),
        delivery_id: header(&request, "x-github-delivery"),
        hook_id: header(&request, "x-github-hook-id").and_then(|value| value.parse().ok()),
        signature: header(&request, "x-hub-signature-256"),
        body: Vec::from(body),
    };
    match state.webhooks.receive(delivery).await {
        Ok(IntakeOutcome::Received { event_id, event_type, job }) => {
            if let Some(change) = app_change {
                apply_app_change(&state, event_id, &change).await;
            }
            HttpResponse::Ok().json(json!({
                "status": "received",
                "event_id": event_id.get(),
                "event_type": event_type,
                "review_queued": job.is_some(),
            }))
        }
        Ok(IntakeOutcome::Duplicate { event_id, delivery_id }) => HttpResponse::Ok().json(json!({
            "status": "duplicate_skipped",
            "detail": format!("Delivery {delivery_id} was received already"),
            "event_id": event_id.get(),
        })),
        Err(IntakeError::MissingHeader(name)) => error_response(
            StatusCode::UNAUTHORIZED,
            "missing_signature",
            &format!("missing header {name}"),
        ),
        Err(IntakeError::NoSecret) => error_response(
            StatusCode::UNAUTHORIZED,
            "unknown_webhook",
            "no webhook secret is known for this repository; connect it first",
        ),
        Err(IntakeError::BadSignature) => error_response(
            StatusCode::UNAUTHORIZED,
            "invalid_signature",
            "Invalid webhook signature",
        ),
        Err(error @ IntakeError::InvalidHeader { .. }) => {
            error_response(StatusCode::BAD_REQUEST, "invalid_header", &error.to_string())
        }
        Err(error @ IntakeError::InvalidBody(_)) => {
            error_response(StatusCode::BAD_REQUEST, "invalid_body", &error.to_string())
        }
        Err(IntakeError::MalformedJson { event_id, reason }) => {
            HttpResponse::BadRequest().json(json!({
                "code": "invalid_json",
                "detail": format!("the delivery is not valid JSON: {reason}"),
                "event_id": event_id.get(),
            }))
        }
        Err(IntakeError::Unexpected(error)) => {
            use actix_web::ResponseError as _;
            ApiError::Internal(error).error_response()
        }
    }
}
