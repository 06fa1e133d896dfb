//! The REST API Salesforce Flows call through an External Service: what a rep presses on an
//! opportunity, answered in JSON under `/api/v1`.
//!
//! | Operation (`operationId`) | Route | Scope |
//! |---|---|---|
//! | "Check with ACE" (`checkOpportunity`) | `GET /api/v1/opportunities/{opportunityId}/check` | `check` |
//! | "ACE status" (`getOpportunityStatus`) | `GET /api/v1/opportunities/{opportunityId}/status` | `status` |
//! | "Sync now" (`syncOpportunity`) | `POST /api/v1/opportunities/{opportunityId}/sync` | `sync` |
//! | the External Services schema | `GET /api/v1/openapi.json` | any key |
//!
//! Check and status read both sides through the reconciler's own steps
//! ([`Reconciler::preview`]) with clients that cannot write ([`read_only`]); sync now only
//! queues a reconcile job, so every change still goes through the one reconciler of the record's
//! FIFO group. One file per operation, plus [`auth`] (who may call), [`problem`] (how a refusal
//! reads), [`body`] (what the answers share) and [`spec`] (the document Salesforce imports).

pub mod auth;
pub mod body;
pub mod check;
pub mod params;
pub mod problem;
pub mod read_only;
pub mod spec;
pub mod status;
pub mod sync;

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use serde::Serialize;
use tracing::Instrument;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::config::ApiScope;
use crate::ports::queue::JobQueue;
use crate::worker::reconcile::Reconciler;
use auth::ApiKeys;
use problem::ApiError;

/// What the API's handlers share.
pub struct ApiState {
    /// A reconciler whose clients cannot write (see [`read_only`]): check and status use its
    /// read, assess, observe and plan steps.
    pub reconciler: Arc<Reconciler>,
    /// The changes queue, where "Sync now" puts its job.
    pub queue: Arc<dyn JobQueue>,
    pub keys: ApiKeys,
    /// How long one call may take (`api.deadline`).
    pub deadline: Duration,
    pub metrics: ApiMetrics,
}

/// Mounts the API's routes. Each is registered with `service`, so utoipa collects it into the
/// OpenAPI documents (`openapi.yaml` and [`spec::external_services`]).
pub fn routes(config: &mut ServiceConfig<'_>) {
    config
        .service(check::check)
        .service(status::status)
        .service(sync::sync)
        .service(spec::document);
}

/// Answers one call: authorizes it for `scope` (`None`: any key), then runs `work` within the
/// deadline, and counts the outcome. Nothing of the request is looked at before the key is
/// accepted, so an unauthenticated caller learns nothing about ids or parameters.
pub(crate) async fn answer<F, Fut, T>(
    state: &ApiState,
    request: &HttpRequest,
    operation: &'static str,
    scope: Option<ApiScope>,
    work: F,
) -> HttpResponse
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<(StatusCode, T), ApiError>>,
    T: Serialize,
{
    let started = Instant::now();
    let span = tracing::info_span!(
        "api",
        operation,
        key = tracing::field::Empty,
        // Recorded once it parses (`params::path_opportunity_id`).
        sf_opportunity_id = tracing::field::Empty,
    );
    let outcome = async {
        let key = match state.keys.authorize(request, scope) {
            Ok(key) => key,
            Err(refusal) => {
                state.metrics.refused(operation, refusal.reason());
                return Err(ApiError::Refused(refusal));
            }
        };
        tracing::Span::current().record("key", key);
        state.metrics.key_used(key);
        match tokio::time::timeout(state.deadline, work()).await {
            Ok(outcome) => outcome,
            Err(_) => Err(ApiError::Deadline(state.deadline)),
        }
    }
    .instrument(span.clone())
    .await;
    let response = match outcome {
        Ok((status, body)) => HttpResponse::build(status).json(body),
        Err(error) => {
            let _entered = span.enter();
            error.log();
            error.response()
        }
    };
    state
        .metrics
        .answered(operation, response.status(), started.elapsed());
    response
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    operation: &'static str,
    status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RefusalLabels {
    operation: &'static str,
    reason: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KeyLabel {
    key: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabel {
    operation: &'static str,
}

/// The API's metric families.
#[derive(Debug, Clone)]
pub struct ApiMetrics {
    calls: Family<CallLabels, Counter>,
    refusals: Family<RefusalLabels, Counter>,
    key_uses: Family<KeyLabel, Counter>,
    seconds: Family<OperationLabel, Histogram>,
}

impl ApiMetrics {
    pub fn register(registry: &mut Registry) -> Self {
        let metrics = Self {
            calls: Family::default(),
            refusals: Family::default(),
            key_uses: Family::default(),
            // 5 ms to ~80 s.
            seconds: Family::new_with_constructor(|| {
                Histogram::new(exponential_buckets(0.005, 2.0, 15))
            }),
        };
        registry.register(
            "api_calls",
            "Calls of the Salesforce API, by operation and HTTP status",
            metrics.calls.clone(),
        );
        registry.register(
            "api_refusals",
            "Calls of the Salesforce API refused before any work, by operation and reason (missing_key, malformed_key, unknown_key, scope)",
            metrics.refusals.clone(),
        );
        registry.register(
            "api_key_uses",
            "Accepted calls of the Salesforce API, by the name of the key (to see an old key fall out of use while rotating)",
            metrics.key_uses.clone(),
        );
        registry.register(
            "api_call_duration_seconds",
            "Time to answer a call of the Salesforce API, by operation",
            metrics.seconds.clone(),
        );
        metrics
    }

    fn refused(&self, operation: &'static str, reason: &'static str) {
        self.refusals
            .get_or_create(&RefusalLabels { operation, reason })
            .inc();
    }

    fn key_used(&self, key: &str) {
        self.key_uses
            .get_or_create(&KeyLabel {
                key: key.to_owned(),
            })
            .inc();
    }

    fn answered(&self, operation: &'static str, status: StatusCode, elapsed: Duration) {
        self.calls
            .get_or_create(&CallLabels {
                operation,
                status: status.as_u16(),
            })
            .inc();
        self.seconds
            .get_or_create(&OperationLabel { operation })
            .observe(elapsed.as_secs_f64());
    }
}
