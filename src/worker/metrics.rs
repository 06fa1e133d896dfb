//! The workers' metric families: messages by outcome, queue lag, messages in flight.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct OutcomeLabels {
    worker: &'static str,
    outcome: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct WorkerLabel {
    pub(super) worker: &'static str,
}

/// Worker metric families.
#[derive(Debug, Clone)]
pub struct WorkerMetrics {
    pub(super) outcomes: Family<OutcomeLabels, Counter>,
    pub(super) queue_lag: Family<WorkerLabel, Histogram, fn() -> Histogram>,
    pub(super) in_flight: Family<WorkerLabel, Gauge>,
}

impl WorkerMetrics {
    pub fn register(registry: &mut Registry) -> Self {
        let metrics = Self {
            outcomes: Family::default(),
            // 10 ms to ~ 23 h.
            queue_lag: Family::new_with_constructor(lag_histogram),
            in_flight: Family::default(),
        };
        registry.register(
            "worker_messages",
            "Queue messages processed, by worker and outcome (done, retry, permanent, deferred, later, coalesced)",
            metrics.outcomes.clone(),
        );
        registry.register(
            "worker_queue_lag_seconds",
            "Time from a message's first send to the start of its processing",
            metrics.queue_lag.clone(),
        );
        registry.register(
            "worker_in_flight",
            "Messages being processed now",
            metrics.in_flight.clone(),
        );
        metrics
    }

    pub(super) fn outcome(&self, worker: &'static str, outcome: &'static str) {
        self.outcomes
            .get_or_create(&OutcomeLabels { worker, outcome })
            .inc();
    }
}

fn lag_histogram() -> Histogram {
    // 10 ms to ~ 23 h.
    Histogram::new(exponential_buckets(0.01, 2.0, 24))
}
