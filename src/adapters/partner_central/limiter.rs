//! The write limiter in front of every Partner Central write: one quota per partner account
//! (1 write/s and 10,000 per rolling 24 hours, ace-api.md §10), spent by priority.
//!
//! The quota's state ([`QuotaState`], with its arithmetic) lives in a [`QuotaStore`]: in this
//! process ([`MemoryQuotaStore`], the embedded default), or in one DynamoDB item that every
//! process of the deployment shares (`adapters::dynamodb_quota`). A [`WriteLimiter`] is one
//! lane's handle on it; `PartnerCentralClient` waits on it before every write attempt.
//!
//! **Leases, so that the shared item is not the bottleneck.** A store operation reserves time
//! slots, not permission for one call: an interactive writer that finds no slot in hand
//! reserves one for itself and one for every other interactive writer of the process waiting
//! behind it (up to `lease` slots), in one conditional write, and they each sleep until their
//! slot. At 1 write/s that is at most one store operation per write, and fewer under load; a
//! slot is a point in time, so a slot not used in time is dropped, never saved up.
//!
//! **Priority.** Interactive writers reserve slots ahead (they queue for the rate); bulk
//! writers take only a slot that starts now, one at a time, and stand aside while an
//! interactive writer of their own process is waiting. So a bulk backlog, in any number of
//! processes, holds at most one slot ahead of an interactive write. A bulk writer that cannot
//! get a slot within `bulk_max_wait`, or whose share of the daily budget is spent, fails with
//! `QuotaExceeded` (the job is retried later), and the bulk worker's [`LaneGate`] stops it
//! taking jobs until the budget refills.
//!
//! **Throttles.** A `ThrottlingException` despite all this (another client of the account,
//! clock skew, a lowered quota) halves the shared rate for every process and moves the next
//! slot past the back-off; the rate recovers over `throttle_recovery`.

use std::collections::VecDeque;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use tokio::time::Instant;

pub use super::quota::{Decision, QuotaPolicy, QuotaState, Request, Usage};
pub use super::quota_metrics::QuotaMetrics;
use crate::config::AceSettings;
use crate::domain::lane::Lane;
use crate::ports::lanes::LaneGate;
use crate::ports::partner_central::AceError;

/// Slots a writer that keeps waking too late for them takes before it goes anyway.
const LATE_RETRIES: u32 = 3;

/// Lateness always tolerated, in milliseconds.
const LATE_FLOOR_MS: u64 = 25;

/// Why the shared quota could not be read or written.
pub type QuotaStoreError = Box<dyn std::error::Error + Send + Sync>;

/// Where the quota's state lives; `apply` is atomic across every user of the store.
#[async_trait]
pub trait QuotaStore: Send + Sync + fmt::Debug {
    async fn apply(
        &self,
        request: Request,
        now_ms: u64,
    ) -> Result<(Decision, Usage), QuotaStoreError>;

    /// A label for logs ("memory", "dynamodb").
    fn kind(&self) -> &'static str;
}

/// The quota of this process alone: the embedded default, when no table is configured.
#[derive(Debug)]
pub struct MemoryQuotaStore {
    policy: QuotaPolicy,
    state: Mutex<QuotaState>,
}

impl MemoryQuotaStore {
    pub fn new(policy: QuotaPolicy) -> Self {
        Self {
            policy,
            state: Mutex::new(QuotaState::default()),
        }
    }
}

#[async_trait]
impl QuotaStore for MemoryQuotaStore {
    async fn apply(
        &self,
        request: Request,
        now_ms: u64,
    ) -> Result<(Decision, Usage), QuotaStoreError> {
        // A poisoned lock only means another task panicked while holding it; the state is
        // plain data and still sound.
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let decision = state.apply(&self.policy, request, now_ms);
        Ok((decision, state.usage(&self.policy, now_ms)))
    }

    fn kind(&self) -> &'static str {
        "memory"
    }
}

/// Milliseconds since the Unix epoch: the time base every process shares.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

async fn sleep_until_ms(at_ms: u64) {
    let wait = at_ms.saturating_sub(now_ms());
    if wait > 0 {
        tokio::time::sleep(Duration::from_millis(wait)).await;
    }
}

/// What the lanes of one process share.
#[derive(Debug)]
struct Shared {
    store: Arc<dyn QuotaStore>,
    /// The full-rate spacing, for pacing bulk's polls and for the rate metric.
    spacing: Duration,
    lease_max: u32,
    bulk_max_wait: Duration,
    /// Interactive slots this process reserved and has not handed out, earliest first.
    lease: tokio::sync::Mutex<VecDeque<u64>>,
    interactive_waiting: AtomicUsize,
    metrics: QuotaMetrics,
}

/// How a [`WriteLimiter`] is built.
#[derive(Debug, Clone)]
pub struct LimiterConfig {
    pub policy: QuotaPolicy,
    /// Slots one store operation reserves at most.
    pub lease_max: u32,
    /// How long a bulk write waits for a slot before it gives up.
    pub bulk_max_wait: Duration,
}

impl LimiterConfig {
    /// The quota `[ace]` and `[ace.quota]` describe. The margin is added to the spacing of
    /// writes, at most a tenth of it (a fixed margin would swamp a raised quota).
    pub fn from_settings(settings: &AceSettings) -> Self {
        let quota = &settings.quota;
        let per_second =
            if settings.writes_per_second.is_finite() && settings.writes_per_second > 0.0 {
                settings.writes_per_second
            } else {
                1.0
            };
        let interval = Duration::from_secs_f64(1.0 / per_second);
        LimiterConfig {
            policy: QuotaPolicy {
                spacing: interval + quota.margin.min(interval / 10),
                burst: settings.write_burst.max(1),
                per_window: quota.writes_per_day,
                window: quota.window,
                interactive_reserve: quota.interactive_reserve,
                recovery: quota.throttle_recovery,
            },
            lease_max: quota.lease,
            bulk_max_wait: quota.bulk_max_wait,
        }
    }
}

/// One lane's handle on the process's write limiter. Cheap to clone; every handle of a
/// process shares the lease and the store.
#[derive(Debug, Clone)]
pub struct WriteLimiter {
    shared: Arc<Shared>,
    lane: Lane,
}

/// Counts an interactive writer as waiting while it lives.
struct Waiting<'a>(&'a AtomicUsize);

impl<'a> Waiting<'a> {
    fn new(count: &'a AtomicUsize) -> Self {
        count.fetch_add(1, Ordering::SeqCst);
        Self(count)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl WriteLimiter {
    /// The interactive lane of a limiter over `store`.
    pub fn with_store(
        store: Arc<dyn QuotaStore>,
        config: &LimiterConfig,
        metrics: QuotaMetrics,
    ) -> Self {
        Self {
            shared: Arc::new(Shared {
                store,
                spacing: config.policy.spacing,
                lease_max: config.lease_max.max(1),
                bulk_max_wait: config.bulk_max_wait,
                lease: tokio::sync::Mutex::new(VecDeque::new()),
                interactive_waiting: AtomicUsize::new(0),
                metrics,
            }),
            lane: Lane::Interactive,
        }
    }

    /// An in-process limiter at `per_second` writes per second, `burst` back to back, with no
    /// daily cap: for tests and tools that only need the rate.
    pub fn new(per_second: f64, burst: u32) -> WriteLimiter {
        let per_second = if per_second.is_finite() && per_second > 0.0 {
            per_second
        } else {
            1.0
        };
        let config = LimiterConfig {
            policy: QuotaPolicy {
                spacing: Duration::from_secs_f64(1.0 / per_second),
                burst: burst.max(1),
                per_window: u64::MAX / 2,
                window: Duration::from_secs(24 * 3600),
                interactive_reserve: 0,
                recovery: Duration::from_secs(300),
            },
            lease_max: 10,
            bulk_max_wait: Duration::from_secs(60),
        };
        Self::with_store(
            Arc::new(MemoryQuotaStore::new(config.policy.clone())),
            &config,
            QuotaMetrics::default(),
        )
    }

    /// The same limiter, for `lane`'s writes.
    pub fn for_lane(&self, lane: Lane) -> WriteLimiter {
        Self {
            shared: self.shared.clone(),
            lane,
        }
    }

    pub fn lane(&self) -> Lane {
        self.lane
    }

    /// Where the quota lives ("memory", "dynamodb").
    pub fn store_kind(&self) -> &'static str {
        self.shared.store.kind()
    }

    /// Waits for this lane's next write slot, or says why there is none.
    pub async fn acquire(&self, operation: &'static str) -> Result<(), AceError> {
        let started = Instant::now();
        let result = match self.lane {
            Lane::Interactive => self.acquire_interactive(operation).await,
            Lane::Bulk => self.acquire_bulk(operation).await,
        };
        if result.is_ok() {
            self.shared.metrics.waited(self.lane, started.elapsed());
        }
        result
    }

    /// Whether a writer woken for `slot` is still within it. One woken much later (the
    /// process stalled) would land on the next writer's slot, perhaps another process's, so it
    /// takes another (the missed one stays counted). Lateness under the timer's and the
    /// scheduler's resolution ([`LATE_FLOOR_MS`]) is not worth a slot.
    fn on_time(&self, slot: u64) -> bool {
        let late = now_ms().saturating_sub(slot);
        if late <= (self.shared.spacing.as_millis() as u64 / 2).max(LATE_FLOOR_MS) {
            return true;
        }
        self.shared.metrics.refused(self.lane, "late");
        tracing::debug!(
            lane = self.lane.label(),
            late_ms = late,
            "woke too late for a write slot; taking another"
        );
        false
    }

    async fn acquire_interactive(&self, operation: &'static str) -> Result<(), AceError> {
        for _ in 0..LATE_RETRIES {
            let slot = self.interactive_slot(operation).await?;
            sleep_until_ms(slot).await;
            if self.on_time(slot) {
                return Ok(());
            }
        }
        // Still late: go (a throttle, if it comes, slows everyone down).
        Ok(())
    }

    async fn interactive_slot(&self, operation: &'static str) -> Result<u64, AceError> {
        let shared = &self.shared;
        let slot = {
            // Counted until its slot is assigned (not while it sleeps until the slot): the
            // writers a reservation is made for, and the ones bulk stands aside for.
            let _waiting = Waiting::new(&shared.interactive_waiting);
            // Held across the store call on purpose: the writers queued here are the ones
            // the reservation is made for.
            let mut lease = shared.lease.lock().await;
            let now = now_ms();
            // A slot whose time passed unused is gone: spent late, it would crowd the next.
            while lease.front().is_some_and(|slot| *slot < now) {
                lease.pop_front();
            }
            match lease.pop_front() {
                Some(slot) => slot,
                None => {
                    let want = shared.interactive_waiting.load(Ordering::SeqCst).max(1) as u32;
                    let request = Request::Reserve {
                        lane: Lane::Interactive,
                        slots: want.min(shared.lease_max),
                    };
                    match self.apply(operation, request, now).await? {
                        Decision::Granted {
                            first_ms,
                            spacing_ms,
                            count,
                        } => {
                            for i in 1..count {
                                let at = first_ms as f64 + spacing_ms * f64::from(i);
                                lease.push_back(at.ceil() as u64);
                            }
                            first_ms
                        }
                        Decision::Spent { refill_at_ms } => {
                            return Err(self.spent(operation, refill_at_ms, now));
                        }
                        Decision::Busy { retry_at_ms } => retry_at_ms,
                        Decision::Noted => now,
                    }
                }
            }
        };
        Ok(slot)
    }

    async fn acquire_bulk(&self, operation: &'static str) -> Result<(), AceError> {
        let shared = &self.shared;
        let deadline = Instant::now() + shared.bulk_max_wait;
        let mut late = 0;
        loop {
            let now = now_ms();
            let mut retry_at = None;
            if shared.interactive_waiting.load(Ordering::SeqCst) > 0 {
                // This process's interactive writers go first.
                retry_at = Some(now + shared.spacing.as_millis() as u64);
            } else {
                let request = Request::Reserve {
                    lane: Lane::Bulk,
                    slots: 1,
                };
                match self.apply(operation, request, now).await? {
                    Decision::Granted { first_ms, .. } => {
                        sleep_until_ms(first_ms).await;
                        late += 1;
                        if self.on_time(first_ms) || late >= LATE_RETRIES {
                            return Ok(());
                        }
                        continue;
                    }
                    Decision::Busy { retry_at_ms } => retry_at = Some(retry_at_ms),
                    Decision::Spent { refill_at_ms } => {
                        return Err(self.spent(operation, refill_at_ms, now));
                    }
                    Decision::Noted => {}
                }
            }
            let retry_at = retry_at.unwrap_or(now);
            let wait = Duration::from_millis(retry_at.saturating_sub(now));
            if Instant::now() + wait > deadline {
                shared.metrics.refused(Lane::Bulk, "busy");
                return Err(AceError::QuotaExceeded {
                    operation,
                    message: format!(
                        "ace-sync's write limiter: interactive work took every write slot for {}; bulk work waits for a later turn",
                        humantime_serde::re::humantime::format_duration(shared.bulk_max_wait)
                    ),
                });
            }
            // Processes polling at the same instant would collide on the shared item.
            let jitter = fastrand::u64(0..=shared.spacing.as_millis() as u64 / 20);
            tokio::time::sleep(wait + Duration::from_millis(jitter)).await;
        }
    }

    async fn apply(
        &self,
        operation: &'static str,
        request: Request,
        now: u64,
    ) -> Result<Decision, AceError> {
        match self.shared.store.apply(request, now).await {
            Ok((decision, usage)) => {
                self.shared
                    .metrics
                    .observe(&usage, self.shared.spacing, now);
                Ok(decision)
            }
            Err(source) => {
                self.shared.metrics.store_error();
                self.shared.metrics.refused(self.lane, "store");
                Err(AceError::Unavailable { operation, source })
            }
        }
    }

    fn spent(&self, operation: &'static str, refill_at_ms: u64, now: u64) -> AceError {
        self.shared.metrics.refused(self.lane, "spent");
        let wait = Duration::from_secs(refill_at_ms.saturating_sub(now).div_ceil(1000));
        tracing::warn!(
            lane = self.lane.label(),
            refills_in = %humantime_serde::re::humantime::format_duration(wait),
            "the daily ACE write budget of this lane is spent"
        );
        AceError::QuotaExceeded {
            operation,
            message: format!(
                "ace-sync's daily ACE write budget for {} work is spent; it refills in {}",
                self.lane.label(),
                humantime_serde::re::humantime::format_duration(wait)
            ),
        }
    }

    /// ACE throttled a write that waited for its slot: every process slows down, and nothing
    /// starts before `back_off` from now.
    pub async fn throttled(&self, back_off: Duration) {
        let now = now_ms();
        if let Err(e) = self
            .apply("Throttled", Request::Throttled { back_off }, now)
            .await
        {
            tracing::warn!(error = %crate::telemetry::error_chain(&e), "could not slow the shared write rate down");
        }
        // The slots in hand were cut at the old rate.
        self.shared.lease.lock().await.clear();
    }

    /// The shared figures now (and the metrics refreshed from them).
    pub async fn usage(&self) -> Result<Usage, AceError> {
        let now = now_ms();
        match self.shared.store.apply(Request::Observe, now).await {
            Ok((_, usage)) => {
                self.shared
                    .metrics
                    .observe(&usage, self.shared.spacing, now);
                Ok(usage)
            }
            Err(source) => {
                self.shared.metrics.store_error();
                Err(AceError::Unavailable {
                    operation: "QuotaUsage",
                    source,
                })
            }
        }
    }
}

/// The bulk lane's gate: closed while bulk's share of the daily budget is spent (and, for
/// safety, for a few seconds when the shared quota cannot be read).
#[async_trait]
impl LaneGate for WriteLimiter {
    async fn closed_for(&self) -> Option<Duration> {
        let now = now_ms();
        match self.usage().await {
            Ok(usage) => match self.lane {
                Lane::Bulk => usage.bulk_refill_ms.map(|at| {
                    Duration::from_millis(at.saturating_sub(now))
                        .clamp(Duration::from_millis(100), Duration::from_secs(60))
                }),
                Lane::Interactive => None,
            },
            Err(e) => {
                tracing::warn!(lane = self.lane.label(), error = %crate::telemetry::error_chain(&e), "the shared write quota cannot be read");
                (self.lane == Lane::Bulk).then_some(Duration::from_secs(5))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(per_window: u64, reserve: u64) -> LimiterConfig {
        LimiterConfig {
            policy: QuotaPolicy {
                spacing: Duration::from_millis(20),
                burst: 1,
                per_window,
                window: Duration::from_secs(3600),
                interactive_reserve: reserve,
                recovery: Duration::from_secs(60),
            },
            lease_max: 4,
            bulk_max_wait: Duration::from_secs(5),
        }
    }

    fn limiter(config: &LimiterConfig) -> WriteLimiter {
        WriteLimiter::with_store(
            Arc::new(MemoryQuotaStore::new(config.policy.clone())),
            config,
            QuotaMetrics::default(),
        )
    }

    #[tokio::test]
    async fn concurrent_interactive_writers_share_one_reservation() {
        let config = config(1000, 0);
        let limiter = limiter(&config);
        let writers = (0..4).map(|_| {
            let limiter = limiter.clone();
            tokio::spawn(async move {
                limiter.acquire("CreateOpportunity").await.unwrap();
                now_ms()
            })
        });
        let mut done: Vec<u64> = futures_util::future::join_all(writers)
            .await
            .into_iter()
            .map(Result::unwrap)
            .collect();
        done.sort();
        for pair in done.windows(2) {
            assert!(pair[1] - pair[0] >= 19, "{done:?}");
        }
        let usage = limiter.usage().await.unwrap();
        assert_eq!(usage.used, 4, "no slot reserved beyond the writers");
    }

    #[tokio::test]
    async fn the_bulk_lane_is_refused_once_its_share_is_spent_and_its_gate_closes() {
        let config = config(5, 3);
        let interactive = limiter(&config);
        let bulk = interactive.for_lane(Lane::Bulk);
        assert_eq!(bulk.closed_for().await, None);
        bulk.acquire("UpdateOpportunity").await.unwrap();
        bulk.acquire("UpdateOpportunity").await.unwrap();
        let refused = bulk.acquire("UpdateOpportunity").await.unwrap_err();
        assert!(
            matches!(refused, AceError::QuotaExceeded { .. }),
            "{refused:?}"
        );
        assert!(bulk.closed_for().await.is_some(), "the bulk worker pauses");
        assert_eq!(interactive.closed_for().await, None);
        for _ in 0..3 {
            interactive.acquire("CreateOpportunity").await.unwrap();
        }
        assert!(interactive.acquire("CreateOpportunity").await.is_err());
    }
}
