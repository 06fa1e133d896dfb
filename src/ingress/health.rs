//! Liveness, readiness and the Prometheus metrics endpoint.

use actix_web::{HttpResponse, get, web};
use serde::Serialize;
use utoipa::ToSchema;

use super::IngressState;

/// A health answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok`, `unavailable` (the queue does not answer) or `degraded` (a deployment problem).
    pub status: &'static str,
    /// Which queue backs the ingress: `sqs` or `memory`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue: Option<&'static str>,
    /// Why the service is not ready.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The process is up. Checks nothing else, so an orchestrator does not restart a healthy
/// process because a dependency is down.
#[utoipa::path(
    tag = "operations",
    operation_id = "live",
    responses((status = 200, description = "The process is serving requests.", body = Health)),
)]
#[get("/health/live")]
pub async fn live() -> HttpResponse {
    HttpResponse::Ok().json(Health {
        status: "ok",
        queue: None,
        reason: None,
    })
}

/// The queue answers, so outbound messages can be accepted (one cheap call,
/// `GetQueueAttributes` on SQS), and the workers met no deployment problem they have not seen
/// fixed since (`degraded`, with what to fix).
#[utoipa::path(
    tag = "operations",
    operation_id = "ready",
    responses(
        (status = 200, description = "The queue answers; outbound messages can be accepted.", body = Health),
        (status = 503, description = "The queue does not answer (outbound messages would be refused with 503), or the workers are held up by a deployment problem (`degraded`: the reason says what to fix).", body = Health),
    ),
)]
#[get("/health/ready")]
pub async fn ready(state: web::Data<IngressState>) -> HttpResponse {
    let queue = Some(state.queue.kind());
    let outages = state.outages.open();
    if !outages.is_empty() {
        let reason = outages
            .iter()
            .map(|o| format!("{} since {}: {}", o.kind.label(), o.since, o.reason))
            .collect::<Vec<_>>()
            .join("; ");
        return HttpResponse::ServiceUnavailable().json(Health {
            status: "degraded",
            queue,
            reason: Some(reason),
        });
    }
    match state.queue.ping().await {
        Ok(()) => HttpResponse::Ok().json(Health {
            status: "ok",
            queue,
            reason: None,
        }),
        Err(e) => {
            tracing::warn!(error = %crate::telemetry::error_chain(&e), "readiness check failed");
            HttpResponse::ServiceUnavailable().json(Health {
                status: "unavailable",
                queue,
                reason: Some(e.to_string()),
            })
        }
    }
}

/// Prometheus metrics in the OpenMetrics text format.
#[utoipa::path(
    tag = "operations",
    operation_id = "metrics",
    responses((status = 200, description = "Counters and histograms of outbound messages, rejections by reason, enqueue latency and SQS calls.", content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8", body = String)),
)]
#[get("/metrics")]
pub async fn metrics(state: web::Data<IngressState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
        .body(state.registry.encode())
}
