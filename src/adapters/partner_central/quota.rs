//! The account's write quota as a value: what every process of a deployment shares, and the
//! pure function that spends it. The stores (in-process, or one DynamoDB item) only keep this
//! value and apply [`QuotaState::apply`] to it atomically; the arithmetic lives here, once.
//!
//! - **Rate**: a token bucket in its GCRA form (ace-api.md §10: 1 write/s). `tat` is the
//!   theoretical arrival time of the next write, in milliseconds since the Unix epoch, so it
//!   means the same to every process. Reserving a write gives its slot: `max(now, tat - τ)`,
//!   τ being the burst allowance, and moves `tat` one spacing on.
//! - **Lanes**: interactive work may reserve slots in the future (it queues for the rate);
//!   bulk work may only take a slot that starts now. So whatever bulk does, an interactive
//!   write waits at most one slot for it, and bulk gets exactly the slots interactive leaves.
//! - **Daily cap**: writes are counted in buckets of `window / WINDOW_BUCKETS` by slot start; the
//!   rolling window's use is the sum of the buckets that overlap it (a bucket is counted
//!   whole, so the count errs high, never low). Bulk may use the window's writes but
//!   `interactive_reserve`; interactive may use them all.
//! - **Throttling**: when ACE throttles anyway (clock skew, another client of the account, a
//!   lowered quota), the shared rate halves for everyone and climbs back linearly over
//!   `recovery`; the next slot also moves past the back-off.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::domain::lane::Lane;

/// Buckets the rolling window is counted in (15 minutes each for 24 hours).
pub const WINDOW_BUCKETS: u64 = 96;

/// The slowest the rate adapts down to, as a share of the quota.
const MIN_FACTOR: f64 = 1.0 / 16.0;

/// The quota's rules; every process of a deployment must use the same.
#[derive(Debug, Clone, PartialEq)]
pub struct QuotaPolicy {
    /// The spacing of writes at the full rate: `1 / writes_per_second` plus the margin.
    pub spacing: Duration,
    /// Writes that may start back to back.
    pub burst: u32,
    /// Writes per rolling window.
    pub per_window: u64,
    /// The rolling window (24 hours at ACE).
    pub window: Duration,
    /// Writes of the window that only interactive work may use.
    pub interactive_reserve: u64,
    /// How long the rate takes to recover after a throttle.
    pub recovery: Duration,
}

impl QuotaPolicy {
    fn spacing_ms(&self) -> f64 {
        self.spacing.as_secs_f64() * 1000.0
    }

    fn bucket_ms(&self) -> u64 {
        (self.window.as_millis() as u64 / WINDOW_BUCKETS).max(1)
    }

    fn window_ms(&self) -> u64 {
        self.window.as_millis() as u64
    }

    /// The writes of the window `lane` may use.
    pub fn limit(&self, lane: Lane) -> u64 {
        match lane {
            Lane::Interactive => self.per_window,
            Lane::Bulk => self.per_window.saturating_sub(self.interactive_reserve),
        }
    }
}

/// The shared state.
#[derive(Debug, Clone, PartialEq)]
pub struct QuotaState {
    /// When the next write may start at the sustained rate (ms since the epoch).
    pub tat_ms: f64,
    /// Writes by bucket (`slot start / bucket length`).
    pub counts: BTreeMap<u64, u64>,
    /// When ACE last throttled (ms since the epoch), and the rate factor it left.
    pub throttled_at_ms: u64,
    pub factor_at_throttle: f64,
}

impl Default for QuotaState {
    fn default() -> Self {
        Self {
            tat_ms: 0.0,
            counts: BTreeMap::new(),
            throttled_at_ms: 0,
            factor_at_throttle: 1.0,
        }
    }
}

/// What is asked of the quota.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Request {
    /// Up to `slots` write slots for `lane` (bulk gets at most those that start now).
    Reserve { lane: Lane, slots: u32 },
    /// ACE throttled a write: slow everyone down, and start nothing before `now + back_off`.
    Throttled { back_off: Duration },
    /// Nothing: only the [`Usage`].
    Observe,
}

/// The answer to a [`Request`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Decision {
    /// `count` slots, the first at `first_ms`, `spacing_ms` apart.
    Granted {
        first_ms: u64,
        spacing_ms: f64,
        count: u32,
    },
    /// (Bulk) the rate is taken by earlier reservations: ask again at `retry_at_ms`.
    Busy { retry_at_ms: u64 },
    /// The lane's share of the rolling window is spent until `refill_at_ms`.
    Spent { refill_at_ms: u64 },
    /// Recorded (throttles, observations).
    Noted,
}

/// What is left, for metrics and for the bulk worker's gate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Usage {
    /// Writes counted in the rolling window (reserved ones included).
    pub used: u64,
    pub interactive_left: u64,
    pub bulk_left: u64,
    /// When the earliest counted writes leave the window (ms since the epoch); `None` when
    /// nothing is counted.
    pub next_refill_ms: Option<u64>,
    /// When bulk may write again, if its share is spent.
    pub bulk_refill_ms: Option<u64>,
    /// The share of the quota's rate in force (1 unless ACE throttled recently).
    pub rate_factor: f64,
}

impl QuotaState {
    /// The rate factor at `now`: back to 1 linearly over `recovery` after a throttle.
    pub fn factor(&self, policy: &QuotaPolicy, now_ms: u64) -> f64 {
        if self.factor_at_throttle >= 1.0 {
            return 1.0;
        }
        let recovery = policy.recovery.as_millis().max(1) as f64;
        let since = now_ms.saturating_sub(self.throttled_at_ms) as f64;
        let factor = self.factor_at_throttle + (1.0 - self.factor_at_throttle) * (since / recovery);
        factor.clamp(MIN_FACTOR, 1.0)
    }

    fn spacing_ms(&self, policy: &QuotaPolicy, now_ms: u64) -> f64 {
        policy.spacing_ms() / self.factor(policy, now_ms)
    }

    /// Forgets buckets wholly outside the window.
    fn prune(&mut self, policy: &QuotaPolicy, now_ms: u64) {
        let start = now_ms.saturating_sub(policy.window_ms());
        let bucket = policy.bucket_ms();
        self.counts.retain(|b, _| (b + 1) * bucket > start);
    }

    /// Writes counted in the window at `now` (buckets overlapping it, and reserved slots).
    pub fn used(&self, policy: &QuotaPolicy, now_ms: u64) -> u64 {
        let start = now_ms.saturating_sub(policy.window_ms());
        let bucket = policy.bucket_ms();
        self.counts
            .iter()
            .filter(|(b, _)| (*b + 1) * bucket > start)
            .map(|(_, n)| n)
            .sum()
    }

    /// When at most `limit - need` writes will be counted, as buckets leave the window.
    fn refill_at(&self, policy: &QuotaPolicy, now_ms: u64, limit: u64, need: u64) -> u64 {
        let mut used = self.used(policy, now_ms);
        let target = limit.saturating_sub(need);
        let bucket = policy.bucket_ms();
        for (b, n) in &self.counts {
            if used <= target {
                break;
            }
            used = used.saturating_sub(*n);
            let leaves = (b + 1) * bucket + policy.window_ms();
            if used <= target {
                return leaves.max(now_ms);
            }
        }
        now_ms
    }

    /// What is left at `now`.
    pub fn usage(&self, policy: &QuotaPolicy, now_ms: u64) -> Usage {
        let used = self.used(policy, now_ms);
        let bulk_limit = policy.limit(Lane::Bulk);
        let bucket = policy.bucket_ms();
        let start = now_ms.saturating_sub(policy.window_ms());
        Usage {
            used,
            interactive_left: policy.limit(Lane::Interactive).saturating_sub(used),
            bulk_left: bulk_limit.saturating_sub(used),
            next_refill_ms: self
                .counts
                .keys()
                .find(|b| (*b + 1) * bucket > start)
                .map(|b| (b + 1) * bucket + policy.window_ms()),
            bulk_refill_ms: (used >= bulk_limit)
                .then(|| self.refill_at(policy, now_ms, bulk_limit, 1)),
            rate_factor: self.factor(policy, now_ms),
        }
    }

    /// Applies `request` at `now`.
    pub fn apply(&mut self, policy: &QuotaPolicy, request: Request, now_ms: u64) -> Decision {
        self.prune(policy, now_ms);
        match request {
            Request::Observe => Decision::Noted,
            Request::Throttled { back_off } => {
                let factor = (self.factor(policy, now_ms) / 2.0).max(MIN_FACTOR);
                self.factor_at_throttle = factor;
                self.throttled_at_ms = now_ms;
                self.tat_ms = self
                    .tat_ms
                    .max(now_ms as f64 + back_off.as_secs_f64() * 1000.0);
                Decision::Noted
            }
            Request::Reserve { lane, slots } => self.reserve(policy, lane, slots.max(1), now_ms),
        }
    }

    fn reserve(&mut self, policy: &QuotaPolicy, lane: Lane, slots: u32, now_ms: u64) -> Decision {
        let limit = policy.limit(lane);
        let left = limit.saturating_sub(self.used(policy, now_ms));
        if left == 0 {
            return Decision::Spent {
                refill_at_ms: self.refill_at(policy, now_ms, limit, 1),
            };
        }
        let spacing = self.spacing_ms(policy, now_ms);
        let allowance = spacing * f64::from(policy.burst.max(1) - 1);
        let now = now_ms as f64;
        let wanted = u64::from(slots).min(left);
        let mut first = None;
        let mut count = 0u32;
        while u64::from(count) < wanted {
            let start = now.max(self.tat_ms - allowance);
            // Bulk never queues for the rate: only a slot that starts now is its to take.
            if lane == Lane::Bulk && start > now {
                if count == 0 {
                    return Decision::Busy {
                        retry_at_ms: start.ceil() as u64,
                    };
                }
                break;
            }
            self.tat_ms = self.tat_ms.max(start) + spacing;
            let start_ms = start.ceil() as u64;
            *self
                .counts
                .entry(start_ms / policy.bucket_ms())
                .or_insert(0) += 1;
            first.get_or_insert(start_ms);
            count += 1;
        }
        Decision::Granted {
            first_ms: first.unwrap_or(now_ms),
            spacing_ms: spacing,
            count,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: u64 = 1_800_000_000_000;

    fn policy() -> QuotaPolicy {
        QuotaPolicy {
            spacing: Duration::from_secs(1),
            burst: 1,
            per_window: 10,
            window: Duration::from_secs(960),
            interactive_reserve: 4,
            recovery: Duration::from_secs(100),
        }
    }

    fn granted(decision: Decision) -> (u64, u32) {
        match decision {
            Decision::Granted {
                first_ms, count, ..
            } => (first_ms, count),
            other => panic!("expected a grant, got {other:?}"),
        }
    }

    #[test]
    fn interactive_writes_queue_one_spacing_apart() {
        let mut state = QuotaState::default();
        let p = policy();
        let ask = |lane, slots| Request::Reserve { lane, slots };
        assert_eq!(
            granted(state.apply(&p, ask(Lane::Interactive, 3), T0)),
            (T0, 3)
        );
        assert_eq!(
            granted(state.apply(&p, ask(Lane::Interactive, 1), T0)),
            (T0 + 3000, 1),
            "the fourth write of the same instant starts after the three before it"
        );
    }

    #[test]
    fn bulk_takes_only_a_slot_that_starts_now() {
        let mut state = QuotaState::default();
        let p = policy();
        let bulk = Request::Reserve {
            lane: Lane::Bulk,
            slots: 5,
        };
        assert_eq!(granted(state.apply(&p, bulk, T0)), (T0, 1));
        assert_eq!(
            state.apply(&p, bulk, T0 + 10),
            Decision::Busy {
                retry_at_ms: T0 + 1000
            }
        );
        // An interactive write arriving behind a bulk backlog waits for one slot at most.
        let interactive = Request::Reserve {
            lane: Lane::Interactive,
            slots: 1,
        };
        assert_eq!(
            granted(state.apply(&p, interactive, T0 + 10)),
            (T0 + 1000, 1)
        );
        // ... and bulk waits for it.
        assert_eq!(
            state.apply(&p, bulk, T0 + 1000),
            Decision::Busy {
                retry_at_ms: T0 + 2000
            }
        );
        assert_eq!(granted(state.apply(&p, bulk, T0 + 2000)), (T0 + 2000, 1));
    }

    #[test]
    fn an_idle_bucket_saves_up_no_more_than_the_burst() {
        let mut state = QuotaState::default();
        let p = QuotaPolicy {
            burst: 3,
            ..policy()
        };
        let ask = |slots| Request::Reserve {
            lane: Lane::Interactive,
            slots,
        };
        granted(state.apply(&p, ask(1), T0));
        let later = T0 + 60_000;
        let Decision::Granted {
            first_ms, count, ..
        } = state.apply(&p, ask(5), later)
        else {
            panic!()
        };
        assert_eq!((first_ms, count), (later, 5));
        // Three at once, then one a second: the next write is at +3 s.
        assert_eq!(granted(state.apply(&p, ask(1), later)), (later + 3000, 1));
    }

    #[test]
    fn bulk_stops_at_its_share_and_interactive_keeps_the_reserve() {
        let mut state = QuotaState::default();
        let p = policy(); // 10 a window, 4 kept for interactive
        let mut at = T0;
        for _ in 0..6 {
            let bulk = Request::Reserve {
                lane: Lane::Bulk,
                slots: 1,
            };
            granted(state.apply(&p, bulk, at));
            at += 1000;
        }
        let bulk = Request::Reserve {
            lane: Lane::Bulk,
            slots: 1,
        };
        let Decision::Spent { refill_at_ms } = state.apply(&p, bulk, at) else {
            panic!("bulk's share is spent")
        };
        // The first bucket (10 s long) leaves the 960 s window 970 s after T0's bucket began.
        assert!(refill_at_ms > T0 + 960_000 && refill_at_ms <= T0 + 970_000);
        let usage = state.usage(&p, at);
        assert_eq!(
            (usage.used, usage.bulk_left, usage.interactive_left),
            (6, 0, 4)
        );
        assert_eq!(usage.bulk_refill_ms, Some(refill_at_ms));
        let interactive = Request::Reserve {
            lane: Lane::Interactive,
            slots: 10,
        };
        assert_eq!(
            granted(state.apply(&p, interactive, at)).1,
            4,
            "the reserve"
        );
        assert!(matches!(
            state.apply(&p, interactive, at),
            Decision::Spent { .. }
        ));
        // A day later everything has left the window.
        let next_day = T0 + 2 * 960_000;
        assert_eq!(granted(state.apply(&p, bulk, next_day)), (next_day, 1));
        assert_eq!(state.counts.values().sum::<u64>(), 1, "old buckets pruned");
    }

    #[test]
    fn no_window_ever_counts_more_than_the_quota() {
        // Greedy interactive demand for three windows: every window of the quota's length
        // holds at most `per_window` slot starts.
        let mut state = QuotaState::default();
        let p = QuotaPolicy {
            spacing: Duration::from_millis(10),
            ..policy()
        };
        let mut starts = Vec::new();
        let mut now = T0;
        while now < T0 + 3 * 960_000 {
            let ask = Request::Reserve {
                lane: Lane::Interactive,
                slots: 2,
            };
            match state.apply(&p, ask, now) {
                Decision::Granted {
                    first_ms,
                    spacing_ms,
                    count,
                } => {
                    for i in 0..count {
                        starts.push(first_ms + (spacing_ms * f64::from(i)) as u64);
                    }
                }
                Decision::Spent { refill_at_ms } => now = refill_at_ms.max(now + 1),
                other => panic!("{other:?}"),
            }
            now += 7_000;
        }
        assert!(starts.len() > 20, "{}", starts.len());
        for &s in &starts {
            let in_window = starts
                .iter()
                .filter(|&&t| t >= s && t < s + 960_000)
                .count();
            assert!(in_window <= 10, "{in_window} writes in the window from {s}");
        }
    }

    #[test]
    fn a_throttle_halves_the_rate_for_everyone_and_it_recovers() {
        let mut state = QuotaState::default();
        let p = policy();
        let ask = Request::Reserve {
            lane: Lane::Interactive,
            slots: 2,
        };
        granted(state.apply(&p, ask, T0));
        state.apply(
            &p,
            Request::Throttled {
                back_off: Duration::from_secs(5),
            },
            T0 + 100,
        );
        assert_eq!(state.factor(&p, T0 + 100), 0.5);
        let Decision::Granted {
            first_ms,
            spacing_ms,
            ..
        } = state.apply(&p, ask, T0 + 200)
        else {
            panic!()
        };
        assert_eq!(first_ms, T0 + 5100, "nothing starts during the back-off");
        assert!((spacing_ms - 2000.0).abs() < 5.0, "{spacing_ms}");
        assert!((state.factor(&p, T0 + 100 + 50_000) - 0.75).abs() < 1e-9);
        assert_eq!(state.factor(&p, T0 + 100 + 100_000), 1.0);
        // Repeated throttles slow down to a floor, never to a stop.
        for i in 0..20 {
            state.apply(
                &p,
                Request::Throttled {
                    back_off: Duration::ZERO,
                },
                T0 + 200_000 + i,
            );
        }
        assert_eq!(state.factor(&p, T0 + 200_019), MIN_FACTOR);
    }
}
