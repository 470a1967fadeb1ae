//! `GET /health` (the original's report), `GET /health/live` and `GET /health/ready`.

use actix_web::{HttpResponse, web};
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
