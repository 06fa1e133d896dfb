//! The HTTP side: Salesforce outbound messages in, health and metrics out. The ingress knows
//! the queue only through [`crate::ports::queue::JobQueue`].

pub mod admission;
pub mod health;
pub mod openapi;
pub mod outbound_message;
pub mod samples;
pub mod soap;
pub mod verify;

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::metrics::MetricsRegistry;
use crate::ports::queue::JobQueue;
use admission::Admission;
use verify::Verifier;

/// What Salesforce is answered with, ack or fault.
pub const SOAP_CONTENT_TYPE: &str = "text/xml; charset=utf-8";

/// Everything the handlers need, shared by all HTTP workers.
#[derive(Debug, Clone)]
pub struct IngressState {
    pub queue: Arc<dyn JobQueue>,
    pub verifier: Verifier,
    pub body_limit: usize,
    pub admission: Admission,
    pub metrics: IngressMetrics,
    pub registry: MetricsRegistry,
    /// The deployment problems the process's workers met and have not seen fixed.
    pub outages: crate::health::Outages,
}

/// Mounts the operations routes only (health and metrics): what a worker-only process serves.
pub fn operations_routes(config: &mut ServiceConfig<'_>) {
    config
        .service(health::live)
        .service(health::ready)
        .service(health::metrics);
}

/// Mounts the ingress routes. Each is registered with `service`, so utoipa collects it into
/// the OpenAPI document (`openapi::document`).
pub fn routes(config: &mut ServiceConfig<'_>) {
    config
        .service(outbound_message::receive)
        .service(outbound_message::receive_with_secret)
        .service(health::live)
        .service(health::ready)
        .service(health::metrics);
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabel {
    outcome: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabel {
    reason: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SObjectLabel {
    sobject_type: String,
}

/// The ingress's metric families.
#[derive(Debug, Clone)]
pub struct IngressMetrics {
    messages: Family<OutcomeLabel, Counter>,
    notifications: Family<SObjectLabel, Counter>,
    rejections: Family<ReasonLabel, Counter>,
    enqueue_seconds: Histogram,
    request_seconds: Histogram,
}

impl IngressMetrics {
    pub fn register(registry: &mut Registry) -> Self {
        let metrics = Self {
            messages: Family::default(),
            notifications: Family::default(),
            rejections: Family::default(),
            // 250 µs to ~33 s.
            enqueue_seconds: Histogram::new(exponential_buckets(0.00025, 2.0, 18)),
            request_seconds: Histogram::new(exponential_buckets(0.00025, 2.0, 18)),
        };
        registry.register(
            "outbound_messages",
            "Salesforce outbound messages by outcome (acked, rejected)",
            metrics.messages.clone(),
        );
        registry.register(
            "notifications",
            "Notifications queued, by sObject type",
            metrics.notifications.clone(),
        );
        registry.register(
            "outbound_message_rejections",
            "Outbound messages not acknowledged, by reason",
            metrics.rejections.clone(),
        );
        registry.register(
            "enqueue_duration_seconds",
            "Time to put one outbound message's notifications on the queue",
            metrics.enqueue_seconds.clone(),
        );
        registry.register(
            "outbound_message_duration_seconds",
            "Time from request to acknowledgement, for acknowledged outbound messages",
            metrics.request_seconds.clone(),
        );
        metrics
    }

    fn acked(&self, _notifications: usize, elapsed: Duration) {
        self.messages
            .get_or_create(&OutcomeLabel { outcome: "acked" })
            .inc();
        self.request_seconds.observe(elapsed.as_secs_f64());
    }

    fn rejected(&self, reason: &'static str) {
        self.messages
            .get_or_create(&OutcomeLabel {
                outcome: "rejected",
            })
            .inc();
        self.rejections.get_or_create(&ReasonLabel { reason }).inc();
    }

    /// Counts queued notifications, `count` of one sObject type.
    fn notifications(&self, sobject_type: &str, count: u64) {
        self.notifications
            .get_or_create(&SObjectLabel {
                sobject_type: sobject_type.to_owned(),
            })
            .inc_by(count);
    }

    fn enqueue_latency(&self, elapsed: Duration) {
        self.enqueue_seconds.observe(elapsed.as_secs_f64());
    }
}
