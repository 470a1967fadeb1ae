//! `GET /health` (the original's report, with the context providers), `GET /health/live` and
//! `GET /health/ready`.
//!
//! A context provider is reported by its last call for a review (`healthy`, or `degraded` with
//! the kind of failure, and when), or `unknown` before its first: `/health` never calls it, so it
//! stays as fast as the database's ping. A degraded provider leaves `status` alone, since
//! reviews go on without it.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, SecondsFormat, Utc};
use nectr_domain::context::ProviderHealth;
use nectr_domain::health::ProviderReport;
use serde::Serialize;

use crate::ApiState;
use crate::get_only;

pub(crate) fn routes(config: &mut web::ServiceConfig) {
    config
        .service(get_only("/health", report))
        .service(get_only("/health/live", live))
        .service(get_only("/health/ready", ready));
}

#[derive(Serialize)]
struct HealthBody<'a> {
    status: &'a str,
    service: &'a str,
    version: &'a str,
    environment: &'a str,
    uptime_seconds: f64,
    database: &'a str,
    neo4j: &'a str,
    context_providers: Vec<ProviderBody<'a>>,
}

/// One context provider in the report.
#[derive(Serialize)]
struct ProviderBody<'a> {
    name: &'a str,
    /// `unknown` (not asked since Nectr started), `healthy` (its last call answered) or
    /// `degraded` (its last call failed).
    status: &'static str,
    /// When its last call ended; `null` before the first.
    checked_at: Option<String>,
    /// How its last call failed (`timeout`, `unreachable`, `refused`, `protocol_error`,
    /// `tool_failed`, `no_suitable_tool`, `unexpected`); `null` when it answered.
    last_error: Option<&'static str>,
}

impl<'a> From<&'a ProviderReport> for ProviderBody<'a> {
    fn from(report: &'a ProviderReport) -> Self {
        let (status, checked_at, last_error) = match report.health {
            ProviderHealth::Unknown => ("unknown", None, None),
            ProviderHealth::Answered { at } => ("healthy", Some(timestamp(at)), None),
            ProviderHealth::Failed { at, failure } => {
                ("degraded", Some(timestamp(at)), Some(failure.as_str()))
            }
        };
        Self { name: &report.name, status, checked_at, last_error }
    }
}

fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

async fn report(state: web::Data<ApiState>) -> HttpResponse {
    let report = state.health.report().await;
    let uptime = state.started_at.elapsed().as_secs_f64();
    HttpResponse::Ok().json(HealthBody {
        status: report.status.as_str(),
        service: &state.config.service_name,
        version: &state.config.version,
        environment: &state.config.environment,
        uptime_seconds: (uptime * 10.0).round() / 10.0,
        database: report.database.as_str(),
        neo4j: report.neo4j.as_str(),
        context_providers: report.context_providers.iter().map(ProviderBody::from).collect(),
    })
}

async fn live() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "status": "alive" }))
}

async fn ready(state: web::Data<ApiState>) -> HttpResponse {
    if state.health.ready().await {
        HttpResponse::Ok().json(serde_json::json!({ "status": "ready" }))
    } else {
        crate::error::error_response(
            actix_web::http::StatusCode::SERVICE_UNAVAILABLE,
            "database_unavailable",
            "the database is unreachable",
        )
    }
}
