//! The write quota's metrics: what is left of the rolling window per lane and when it refills,
//! the rate in force, how long writes wait for their slots, and what the limiter refused.

use std::sync::atomic::AtomicU64;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use super::quota::Usage;
use crate::domain::lane::Lane;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LaneLabel {
    lane: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RefusalLabels {
    lane: &'static str,
    reason: &'static str,
}

/// The quota's metrics. Every process reports the shared figures it last saw: aggregate
/// them with `max`, not `sum`.
#[derive(Debug, Clone)]
pub struct QuotaMetrics {
    remaining: Family<LaneLabel, Gauge>,
    used: Gauge,
    refill_seconds: Gauge<f64, AtomicU64>,
    rate: Gauge<f64, AtomicU64>,
    wait: Family<LaneLabel, Histogram, fn() -> Histogram>,
    refusals: Family<RefusalLabels, Counter>,
    store_errors: Counter,
}

fn wait_histogram() -> Histogram {
    // 1 ms to ~ 9 min.
    Histogram::new(exponential_buckets(0.001, 2.0, 20))
}

impl Default for QuotaMetrics {
    fn default() -> Self {
        Self {
            remaining: Family::default(),
            used: Gauge::default(),
            refill_seconds: Gauge::default(),
            rate: Gauge::default(),
            wait: Family::new_with_constructor(wait_histogram),
            refusals: Family::default(),
            store_errors: Counter::default(),
        }
    }
}

impl QuotaMetrics {
    pub fn register(registry: &mut Registry) -> Self {
        let m = Self::default();
        registry.register(
            "ace_write_budget_remaining",
            "ACE writes each lane may still make in the rolling 24-hour window (bulk reaches 0 first: the rest is the interactive reserve)",
            m.remaining.clone(),
        );
        registry.register(
            "ace_write_budget_used",
            "ACE writes counted in the rolling 24-hour window, by every process of the deployment (reserved slots included)",
            m.used.clone(),
        );
        registry.register(
            "ace_write_budget_refill_seconds",
            "Seconds until the oldest counted writes leave the rolling window and the budget grows again (0: nothing counted)",
            m.refill_seconds.clone(),
        );
        registry.register(
            "ace_write_rate",
            "ACE writes per second in force for the deployment (below the quota for a while after a throttle)",
            m.rate.clone(),
        );
        registry.register(
            "ace_write_wait_seconds",
            "Time a write waited for its slot, by lane",
            m.wait.clone(),
        );
        registry.register(
            "ace_write_refusals",
            "Writes the limiter refused, by lane and reason (spent: the lane's share of the daily budget; busy: no slot within bulk_max_wait; store: the shared quota unreachable; late: a slot missed because the process stalled, another taken)",
            m.refusals.clone(),
        );
        registry.register(
            "ace_quota_store_errors",
            "Failed reads or writes of the shared quota (the DynamoDB table)",
            m.store_errors.clone(),
        );
        m
    }

    pub(super) fn observe(&self, usage: &Usage, spacing: Duration, now_ms: u64) {
        for (lane, left) in [
            (Lane::Interactive, usage.interactive_left),
            (Lane::Bulk, usage.bulk_left),
        ] {
            self.remaining
                .get_or_create(&LaneLabel { lane: lane.label() })
                .set(left.min(i64::MAX as u64) as i64);
        }
        self.used.set(usage.used.min(i64::MAX as u64) as i64);
        let refill = usage
            .next_refill_ms
            .map_or(0.0, |at| at.saturating_sub(now_ms) as f64 / 1000.0);
        self.refill_seconds.set(refill);
        let full = 1.0 / spacing.as_secs_f64().max(1e-6);
        self.rate.set(full * usage.rate_factor);
    }

    pub(super) fn refused(&self, lane: Lane, reason: &'static str) {
        self.refusals
            .get_or_create(&RefusalLabels {
                lane: lane.label(),
                reason,
            })
            .inc();
    }
}

impl QuotaMetrics {
    pub(super) fn waited(&self, lane: Lane, waited: Duration) {
        self.wait
            .get_or_create(&LaneLabel { lane: lane.label() })
            .observe(waited.as_secs_f64());
    }

    pub(super) fn store_error(&self) {
        self.store_errors.inc();
    }
}
