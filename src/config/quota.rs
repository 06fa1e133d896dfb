//! `[ace.quota]`: Partner Central's write quota as the deployment spends it (ace-api.md §10),
//! and the rules its keys must follow.

use std::time::Duration;

use serde::Deserialize;
use url::Url;

/// `[ace.quota]`: the account's write quota, shared by every process of the deployment.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuotaSettings {
    /// The DynamoDB table holding the shared quota; the in-process bucket when unset.
    #[serde(default)]
    pub table: Option<String>,
    /// The item of the table: one per Partner Central account.
    pub key: String,
    pub region: String,
    #[serde(default)]
    pub endpoint_url: Option<Url>,
    /// Writes per rolling window (Partner Central: 10,000 per 24 hours).
    pub writes_per_day: u64,
    #[serde(with = "humantime_serde")]
    pub window: Duration,
    /// Writes of the window bulk work may not use.
    pub interactive_reserve: u64,
    /// Added to the spacing of writes, for network jitter between processes and ACE.
    #[serde(with = "humantime_serde")]
    pub margin: Duration,
    /// How long the rate takes to climb back to the quota after ACE throttled.
    #[serde(with = "humantime_serde")]
    pub throttle_recovery: Duration,
    /// Write slots one operation on the table reserves at most.
    pub lease: u32,
    /// How long a bulk write waits for a slot before the job is retried later.
    #[serde(with = "humantime_serde")]
    pub bulk_max_wait: Duration,
}

impl QuotaSettings {
    pub(super) fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.writes_per_day == 0 {
            problems.push("key `ace.quota.writes_per_day`: must be at least 1".to_owned());
        }
        if self.interactive_reserve >= self.writes_per_day {
            problems.push(format!(
                "key `ace.quota.interactive_reserve`: {} leaves bulk work nothing of ace.quota.writes_per_day ({}); keep it below",
                self.interactive_reserve, self.writes_per_day
            ));
        }
        if self.window < Duration::from_secs(60) {
            problems.push(
                "key `ace.quota.window`: expected at least 1m (Partner Central's is 24h)"
                    .to_owned(),
            );
        }
        if self.margin > Duration::from_secs(1) {
            problems.push("key `ace.quota.margin`: expected at most 1s".to_owned());
        }
        if !(1..=50).contains(&self.lease) {
            problems.push(format!(
                "key `ace.quota.lease`: expected 1 to 50, found {}",
                self.lease
            ));
        }
        if self.table.as_deref().is_some_and(|t| {
            !(3..=255).contains(&t.len())
                || !t
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b))
        }) {
            problems.push("key `ace.quota.table`: a DynamoDB table name is 3 to 255 letters, digits, _ - and .".to_owned());
        }
        if self.key.is_empty() {
            problems.push("key `ace.quota.key`: must not be empty".to_owned());
        }
        problems
    }
}
