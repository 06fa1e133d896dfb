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

#[cfg(test)]
mod tests {
    use crate::config::Settings;

    #[test]
    fn the_quota_defaults_to_this_process_at_aws_limits() {
        let settings = Settings::defaults();
        let quota = &settings.ace.quota;
        assert_eq!(quota.table, None, "the in-process bucket is the default");
        assert_eq!(
            (quota.writes_per_day, quota.interactive_reserve),
            (10_000, 2_000)
        );
        assert_eq!(quota.window, std::time::Duration::from_secs(24 * 3600));
        assert_eq!(settings.queue.bulk_queue_url, None);
        assert_eq!(settings.queue.bulk_notifications, 10);
    }

    #[test]
    fn quota_and_bulk_settings_are_checked() {
        let err = Settings::from_toml_layers(&[
            "[ace.quota]\nwrites_per_day = 100\ninteractive_reserve = 100\nlease = 0\ntable = \"x\"",
            "[queue]\nbulk_queue_url = \"https://sqs.us-east-1.amazonaws.com/1/bulk\"",
        ])
        .unwrap_err()
        .to_string();
        for key in [
            "ace.quota.interactive_reserve",
            "ace.quota.lease",
            "ace.quota.table",
            "queue.bulk_queue_url",
        ] {
            assert!(err.contains(key), "{key}: {err}");
        }
        let ok = Settings::from_toml_layers(&[
            "[ace.quota]\ntable = \"ace-sync-quota\"\nwindow = \"1h\"",
            "[queue]\nbulk_queue_url = \"https://sqs.us-east-1.amazonaws.com/1/bulk.fifo\"",
        ])
        .unwrap();
        assert_eq!(ok.ace.quota.table.as_deref(), Some("ace-sync-quota"));
    }
}
