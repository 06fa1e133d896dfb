//! The write-rate limiter in front of every Partner Central write. The quota is per partner
//! account (1 write/s by default, ace-api.md §10), so one limiter is shared by every task of
//! the process: startup builds it once and hands the same `Arc` to each client.
//!
//! A token bucket in its GCRA form: each write reserves the next free slot, at most `burst`
//! slots ahead of now, and waits for it. When ACE throttles anyway (another process of the same
//! account, a lowered quota), [`WriteLimiter::back_off`] moves every later slot back, so all
//! tasks slow down, not only the one that was throttled.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

#[derive(Debug)]
pub struct WriteLimiter {
    interval: Duration,
    burst: u32,
    /// The theoretical arrival time of the next write: when the bucket is full again.
    next: Mutex<Option<Instant>>,
}

impl WriteLimiter {
    /// `per_second` writes per second on average, `burst` of them back to back.
    pub fn new(per_second: f64, burst: u32) -> WriteLimiter {
        let per_second = if per_second.is_finite() && per_second > 0.0 {
            per_second
        } else {
            1.0
        };
        WriteLimiter {
            interval: Duration::from_secs_f64(1.0 / per_second),
            burst: burst.max(1),
            next: Mutex::new(None),
        }
    }

    /// The spacing of writes at the quota.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Reserves the next slot as of `now` and returns when it starts.
    pub fn reserve(&self, now: Instant) -> Instant {
        // A poisoned lock only means another task panicked while holding it; the slot
        // arithmetic is still sound.
        let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
        let tat = next.map_or(now, |t| t.max(now));
        let allowance = self.interval * (self.burst - 1);
        let start = tat.checked_sub(allowance).map_or(now, |s| s.max(now));
        *next = Some(tat + self.interval);
        start
    }

    /// Waits for the next write slot.
    pub async fn acquire(&self) {
        let start = self.reserve(Instant::now());
        tokio::time::sleep_until(start).await;
    }

    /// Keeps every write from starting before `now + delay`.
    pub fn back_off(&self, now: Instant, delay: Duration) {
        let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
        let until = now + delay;
        *next = Some(next.map_or(until, |t| t.max(until)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_are_spaced_at_the_quota() {
        let limiter = WriteLimiter::new(1.0, 1);
        let t0 = Instant::now();
        let starts: Vec<Duration> = (0..5).map(|_| limiter.reserve(t0) - t0).collect();
        assert_eq!(
            starts,
            (0..5).map(Duration::from_secs).collect::<Vec<_>>(),
            "a burst of five at 1/s starts at 0, 1, 2, 3, 4 s"
        );
    }

    #[test]
    fn a_burst_allowance_lets_that_many_through_at_once() {
        let limiter = WriteLimiter::new(2.0, 3);
        let t0 = Instant::now();
        let starts: Vec<Duration> = (0..5).map(|_| limiter.reserve(t0) - t0).collect();
        let ms = |m| Duration::from_millis(m);
        assert_eq!(starts, vec![ms(0), ms(0), ms(0), ms(500), ms(1000)]);
    }

    #[test]
    fn an_idle_limiter_does_not_save_up_more_than_the_burst() {
        let limiter = WriteLimiter::new(1.0, 1);
        let t0 = Instant::now();
        limiter.reserve(t0);
        let later = t0 + Duration::from_secs(60);
        assert_eq!(limiter.reserve(later), later);
        assert_eq!(limiter.reserve(later), later + Duration::from_secs(1));
    }

    #[test]
    fn backing_off_delays_every_later_write() {
        let limiter = WriteLimiter::new(10.0, 1);
        let t0 = Instant::now();
        limiter.reserve(t0);
        limiter.back_off(t0, Duration::from_secs(2));
        assert_eq!(limiter.reserve(t0), t0 + Duration::from_secs(2));
        assert_eq!(
            limiter.reserve(t0),
            t0 + Duration::from_secs(2) + Duration::from_millis(100)
        );
    }
}
