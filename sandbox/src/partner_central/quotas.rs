//! The service's request quotas (ace-api.md §10): a token bucket per class for the rate (write
//! 1/s, read 10/s) and a rolling 24-hour window for the daily limit (10,000 and 100,000).
//! Operations outside the two documented classes are not limited.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

const DAY: Duration = Duration::from_secs(24 * 60 * 60);

/// The operations of the write class (ace-api.md §10).
const WRITE_OPERATIONS: &[&str] = &[
    "CreateOpportunity",
    "UpdateOpportunity",
    "AssociateOpportunity",
    "DisassociateOpportunity",
    "RejectEngagementInvitation",
    "AssignOpportunity",
    "StartEngagementFromOpportunityTask",
    "StartEngagementByAcceptingInvitationTask",
];

/// The operations of the read class.
const READ_OPERATIONS: &[&str] = &[
    "GetOpportunity",
    "GetAwsOpportunitySummary",
    "ListOpportunities",
    "ListSolutions",
    "GetEngagementInvitation",
    "ListEngagementInvitations",
];

/// One class's limits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateQuota {
    /// Sustained requests per second (the bucket's refill rate).
    pub per_second: f64,
    /// Requests that may arrive at once (the bucket's size).
    pub burst: u32,
    /// Requests per rolling 24 hours.
    pub per_day: u64,
}

/// The limits the simulator enforces.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QuotaConfig {
    pub enabled: bool,
    pub write: RateQuota,
    pub read: RateQuota,
}

impl QuotaConfig {
    /// The documented quotas of a partner account.
    pub fn aws() -> QuotaConfig {
        QuotaConfig {
            enabled: true,
            write: RateQuota {
                per_second: 1.0,
                burst: 1,
                per_day: 10_000,
            },
            read: RateQuota {
                per_second: 10.0,
                burst: 10,
                per_day: 100_000,
            },
        }
    }

    /// No limits: for tests that are not about quotas.
    pub fn unlimited() -> QuotaConfig {
        QuotaConfig {
            enabled: false,
            ..Self::aws()
        }
    }
}

impl Default for QuotaConfig {
    fn default() -> Self {
        Self::aws()
    }
}

/// Which limit a call hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuotaExceeded {
    Rate,
    Daily,
}

#[derive(Debug)]
struct Class {
    quota: RateQuota,
    tokens: f64,
    refilled_at: Instant,
    accepted: VecDeque<Instant>,
}

impl Class {
    fn new(quota: RateQuota, now: Instant) -> Class {
        Class {
            quota,
            tokens: f64::from(quota.burst),
            refilled_at: now,
            accepted: VecDeque::new(),
        }
    }

    fn admit(&mut self, now: Instant) -> Result<(), QuotaExceeded> {
        let elapsed = now
            .saturating_duration_since(self.refilled_at)
            .as_secs_f64();
        self.tokens =
            (self.tokens + elapsed * self.quota.per_second).min(f64::from(self.quota.burst));
        self.refilled_at = now;
        while self
            .accepted
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= DAY)
        {
            self.accepted.pop_front();
        }
        if self.accepted.len() as u64 >= self.quota.per_day {
            return Err(QuotaExceeded::Daily);
        }
        if self.tokens < 1.0 {
            return Err(QuotaExceeded::Rate);
        }
        self.tokens -= 1.0;
        self.accepted.push_back(now);
        Ok(())
    }
}

/// The quota state of one simulated partner account.
#[derive(Debug)]
pub struct Quotas {
    enabled: bool,
    write: Class,
    read: Class,
}

impl Quotas {
    pub fn new(config: QuotaConfig) -> Quotas {
        let now = Instant::now();
        Quotas {
            enabled: config.enabled,
            write: Class::new(config.write, now),
            read: Class::new(config.read, now),
        }
    }

    /// Admits a call of `operation` at `now`, or says which limit it hit.
    pub fn admit(&mut self, operation: &str, now: Instant) -> Result<(), QuotaExceeded> {
        if !self.enabled {
            return Ok(());
        }
        if WRITE_OPERATIONS.contains(&operation) {
            self.write.admit(now)
        } else if READ_OPERATIONS.contains(&operation) {
            self.read.admit(now)
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_burst_over_the_rate_is_refused_until_the_bucket_refills() {
        let mut q = Quotas::new(QuotaConfig::aws());
        let t0 = Instant::now();
        assert_eq!(q.admit("CreateOpportunity", t0), Ok(()));
        assert_eq!(q.admit("UpdateOpportunity", t0), Err(QuotaExceeded::Rate));
        assert_eq!(
            q.admit("UpdateOpportunity", t0 + Duration::from_millis(500)),
            Err(QuotaExceeded::Rate)
        );
        assert_eq!(
            q.admit("UpdateOpportunity", t0 + Duration::from_millis(1000)),
            Ok(())
        );
        // Reads have their own bucket of 10.
        for _ in 0..10 {
            assert_eq!(q.admit("GetOpportunity", t0), Ok(()));
        }
        assert_eq!(q.admit("ListOpportunities", t0), Err(QuotaExceeded::Rate));
        // Undocumented operations are not limited.
        assert_eq!(q.admit("GetEngagement", t0), Ok(()));
    }

    #[test]
    fn the_daily_limit_is_a_rolling_window() {
        let config = QuotaConfig {
            enabled: true,
            write: RateQuota {
                per_second: 1000.0,
                burst: 1000,
                per_day: 2,
            },
            ..QuotaConfig::aws()
        };
        let mut q = Quotas::new(config);
        let t0 = Instant::now();
        assert_eq!(q.admit("CreateOpportunity", t0), Ok(()));
        assert_eq!(
            q.admit("CreateOpportunity", t0 + Duration::from_secs(3600)),
            Ok(())
        );
        assert_eq!(
            q.admit("CreateOpportunity", t0 + Duration::from_secs(7200)),
            Err(QuotaExceeded::Daily)
        );
        // The first call leaves the window 24 h after it was made.
        assert_eq!(q.admit("CreateOpportunity", t0 + DAY), Ok(()));
    }

    #[test]
    fn unlimited_admits_everything() {
        let mut q = Quotas::new(QuotaConfig::unlimited());
        let t0 = Instant::now();
        for _ in 0..100 {
            assert_eq!(q.admit("CreateOpportunity", t0), Ok(()));
        }
    }
}
