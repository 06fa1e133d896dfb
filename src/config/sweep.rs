//! `[worker.sweep]`: the periodic reconcile sweep every worker runs (`worker::sweep`), and the
//! bound its settings put on what it costs.

use std::time::Duration;

use serde::Deserialize;

/// ACE reads one reconcile of a record costs at most (GetOpportunity, and the submission
/// task's list or AWS's summary when the record needs them).
pub const READS_PER_RECONCILE: u64 = 2;

/// `[worker.sweep]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepSettings {
    /// Time between two sweeps; `0s` turns the sweep off. Sweeps start on multiples of it
    /// (wall-clock), so replicas sweep in the same time bucket and queue each record once.
    #[serde(with = "humantime_serde")]
    pub interval: Duration,
    /// How far back a sweep looks for changes on either side. Longer than `interval`, so a
    /// sweep that failed is made up by the next one.
    #[serde(with = "humantime_serde")]
    pub lookback: Duration,
    /// Every how many sweeps the records waiting on something outside (`Waiting for AWS
    /// review`, `Error`) are looked at too, whatever their age; 0 never.
    pub waiting_every: u32,
    /// Records queued per sweep at most (both sides and the waiting ones together); the
    /// newest first, the rest at the next sweep.
    pub max_records: u32,
    /// ListOpportunities reads (100 opportunities each) per sweep at most.
    pub max_ace_pages: u32,
    /// The share of Partner Central's daily read quota (100,000) the sweep may plan to use,
    /// in percent, counting its listings and the reconciles it queues at their worst.
    pub ace_read_share_percent: u32,
    /// Partner Central's read quota per rolling 24 hours (100,000, ace-api.md §10); raise it
    /// only if AWS raised yours.
    pub ace_reads_per_day: u64,
}

impl SweepSettings {
    /// Whether the sweep runs.
    pub fn enabled(&self) -> bool {
        !self.interval.is_zero()
    }

    /// Sweeps per day.
    pub fn per_day(&self) -> u64 {
        match self.interval.as_secs() {
            0 => 0,
            secs => 86_400_u64.div_ceil(secs),
        }
    }

    /// The most ACE reads one replica's sweeps can cost in a day: the listings (opportunities
    /// and open referrals, `ace_pages` each) and the reconciles they queue, at
    /// [`READS_PER_RECONCILE`] each.
    pub fn ace_reads_per_day_bound(&self) -> u64 {
        let per_sweep =
            2 * u64::from(self.max_ace_pages) + u64::from(self.max_records) * READS_PER_RECONCILE;
        self.per_day() * per_sweep
    }

    pub(super) fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if !self.enabled() {
            return problems;
        }
        if self.interval < Duration::from_secs(1) {
            problems.push(
                "key `worker.sweep.interval`: expected at least 1s, or 0s to turn the sweep off"
                    .to_owned(),
            );
        }
        if self.lookback < self.interval {
            problems.push(format!(
                "key `worker.sweep.lookback`: {} is shorter than worker.sweep.interval ({}); changes between two sweeps would be missed",
                humantime_serde::re::humantime::format_duration(self.lookback),
                humantime_serde::re::humantime::format_duration(self.interval),
            ));
        }
        if self.max_records == 0 || self.max_ace_pages == 0 {
            problems.push(
                "keys `worker.sweep.max_records` and `worker.sweep.max_ace_pages`: must be at least 1"
                    .to_owned(),
            );
        }
        if !(1..=100).contains(&self.ace_read_share_percent) {
            problems.push(format!(
                "key `worker.sweep.ace_read_share_percent`: expected 1 to 100, found {}",
                self.ace_read_share_percent
            ));
        } else {
            let allowed = self.ace_reads_per_day * u64::from(self.ace_read_share_percent) / 100;
            let bound = self.ace_reads_per_day_bound();
            if bound > allowed {
                problems.push(format!(
                    "keys `worker.sweep.*`: a sweep every {} of up to {} records and {} ListOpportunities pages can cost {bound} ACE reads a day, more than worker.sweep.ace_read_share_percent ({}%) of worker.sweep.ace_reads_per_day ({}); sweep less often or fewer records",
                    humantime_serde::re::humantime::format_duration(self.interval),
                    self.max_records,
                    self.max_ace_pages,
                    self.ace_read_share_percent,
                    self.ace_reads_per_day,
                ));
            }
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(interval: u64, max_records: u32) -> SweepSettings {
        SweepSettings {
            interval: Duration::from_secs(interval),
            lookback: Duration::from_secs(interval * 4),
            waiting_every: 4,
            max_records,
            max_ace_pages: 5,
            ace_read_share_percent: 40,
            ace_reads_per_day: 100_000,
        }
    }

    #[test]
    fn the_daily_read_bound_counts_listings_and_reconciles() {
        let s = settings(900, 200);
        assert_eq!(s.per_day(), 96);
        assert_eq!(s.ace_reads_per_day_bound(), 96 * (10 + 400));
        assert!(s.problems().is_empty(), "{:?}", s.problems());
    }

    #[test]
    fn a_sweep_that_could_spend_more_than_its_share_of_reads_is_refused() {
        let problems = settings(60, 2000).problems();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].contains("5774400 ACE reads a day"),
            "{problems:?}"
        );
    }

    #[test]
    fn a_lookback_shorter_than_the_interval_is_refused_and_zero_turns_the_sweep_off() {
        let mut s = settings(900, 10);
        s.lookback = Duration::from_secs(60);
        assert!(s.problems()[0].contains("worker.sweep.lookback"));
        s.interval = Duration::ZERO;
        assert!(!s.enabled() && s.problems().is_empty() && s.per_day() == 0);
    }
}
