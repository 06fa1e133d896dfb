//! The rules that involve more than one key, or that serde cannot express: checked on every
//! load, so `config check` and start refuse the same settings with the same words.

use std::time::Duration;

use super::{SalesforceSettings, Settings};

impl Settings {
    /// Rules that involve more than one key, or that serde cannot express.
    pub(super) fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.http.body_limit_bytes < 1024 {
            problems.push(format!(
                "key `http.body_limit_bytes`: {} bytes cannot hold an outbound message; use at least 1024",
                self.http.body_limit_bytes
            ));
        }
        if let Some(secret) = &self.ingress.shared_secret {
            if secret.expose().len() < 16 {
                problems.push(
                    "key `ingress.shared_secret`: use at least 16 characters (it is all that stands between the internet and the queue when set)"
                        .to_owned(),
                );
            }
            if !secret
                .expose()
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
            {
                problems.push(
                    "key `ingress.shared_secret`: use only letters, digits and -._~ so it fits in a URL path unescaped"
                        .to_owned(),
                );
            }
        }
        if let Some(domain) = &self.salesforce.my_domain
            && (domain.contains('/') || domain.contains(':') || domain.is_empty())
        {
            problems.push(format!(
                "key `salesforce.my_domain`: expected a host name like acme.my.salesforce.com, found {domain:?}"
            ));
        }
        problems.extend(self.salesforce.problems());
        problems.extend(self.ingress_load_problems());
        problems.extend(self.api.problems());
        if !(1..=10).contains(&self.queue.send_attempts) {
            problems.push(format!(
                "key `queue.send_attempts`: expected 1 to 10, found {}",
                self.queue.send_attempts
            ));
        }
        if self.queue.send_deadline >= Duration::from_secs(60) {
            problems.push(
                "key `queue.send_deadline`: must be under 60s, Salesforce's outbound message timeout"
                    .to_owned(),
            );
        }
        // One SQS message must fit in one batch, and SQS refuses more than 1 MiB per call.
        if !(1024..=1024 * 1024).contains(&self.queue.batch_max_bytes) {
            problems.push(format!(
                "key `queue.batch_max_bytes`: expected 1024 to 1048576, found {}",
                self.queue.batch_max_bytes
            ));
        }
        if let Some(url) = &self.queue.changes_queue_url
            && !url.path().ends_with(".fifo")
        {
            problems.push(format!(
                "key `queue.changes_queue_url`: must be a FIFO queue (its name ends in .fifo) so each opportunity's changes stay in order; found {url}"
            ));
        }
        if self.queue.memory.max_receive_count == 0 {
            problems.push("key `queue.memory.max_receive_count`: must be at least 1".to_owned());
        }
        let ace = &self.ace;
        if !(ace.writes_per_second > 0.0 && ace.writes_per_second <= 1000.0) {
            problems.push(format!(
                "key `ace.writes_per_second`: expected more than 0 and at most 1000, found {}",
                ace.writes_per_second
            ));
        }
        if ace.write_burst == 0 {
            problems.push("key `ace.write_burst`: must be at least 1".to_owned());
        }
        if !(1..=10).contains(&ace.max_attempts) {
            problems.push(format!(
                "key `ace.max_attempts`: expected 1 to 10, found {}",
                ace.max_attempts
            ));
        }
        problems.extend(ace.quota.problems());
        if let Some(url) = &self.queue.bulk_queue_url
            && !url.path().ends_with(".fifo")
        {
            problems.push(format!(
                "key `queue.bulk_queue_url`: must be a FIFO queue (its name ends in .fifo); found {url}"
            ));
        }
        if self.queue.bulk_queue_url.is_some()
            && self.queue.bulk_queue_url == self.queue.changes_queue_url
        {
            problems.push("keys `queue.bulk_queue_url` and `queue.changes_queue_url`: the bulk lane needs a queue of its own".to_owned());
        }
        if ace.find_max_pages == 0 {
            problems.push("key `ace.find_max_pages`: must be at least 1".to_owned());
        }
        for id in &ace.solution_ids {
            if !crate::ace::rules::is_solution_id(id) {
                problems.push(format!(
                    "key `ace.solution_ids`: {id:?} is not a Partner Central solution id (S- followed by digits)"
                ));
            }
        }
        if !(1..=1000).contains(&self.worker.concurrency) {
            problems.push(format!(
                "key `worker.concurrency`: expected 1 to 1000, found {}",
                self.worker.concurrency
            ));
        }
        problems.extend(self.worker.sweep.problems());
        if self.worker.wait > Duration::from_secs(20) {
            problems.push("key `worker.wait`: SQS long polls at most 20s".to_owned());
        }
        // A message must not become visible again while a worker still holds it, or a second
        // worker would process it at the same time (STYLE.md, config).
        let worst = self.worst_case_processing();
        for (key, visibility) in [
            ("worker.visibility_timeout", self.worker.visibility_timeout),
            (
                "queue.memory.visibility_timeout",
                self.queue.memory.visibility_timeout,
            ),
        ] {
            if visibility <= worst {
                problems.push(format!(
                    "key `{key}`: {} is not longer than the worst-case processing time of one message, {} (from salesforce.request_timeout, ace.call_timeout × ace.max_attempts, and worker.concurrency at ace.writes_per_second); raise it or lower those",
                    humantime_serde::re::humantime::format_duration(visibility),
                    humantime_serde::re::humantime::format_duration(worst),
                ));
            }
        }
        if self.worker.visibility_timeout > Duration::from_secs(12 * 3600) {
            problems.push("key `worker.visibility_timeout`: SQS allows at most 12h".to_owned());
        }
        if let Err(e) = tracing_subscriber::EnvFilter::try_new(&self.telemetry.filter) {
            problems.push(format!("key `telemetry.filter`: {e}"));
        }
        if self.ace.mapping.is_some() && self.ace.mapping_file.is_some() {
            problems
                .push("keys `ace.mapping` and `ace.mapping_file`: give one, not both".to_owned());
        }
        problems
    }

    /// The longest one message can take: three Salesforce calls (read, write-back, a retry
    /// after a re-mint), eight ACE calls each with all its attempts (get, find, create,
    /// associations, submission, update), and waiting behind every other in-flight message's
    /// writes at the account's write quota (or, in the bulk lane, `ace.quota.bulk_max_wait`
    /// for each of six writes). Whole seconds, rounded up.
    pub fn worst_case_processing(&self) -> Duration {
        let salesforce = self.salesforce.request_timeout * 3;
        let ace = self.ace.call_timeout * 8 * self.ace.max_attempts.max(1);
        let writes = if self.ace.writes_per_second > 0.0 {
            Duration::from_secs_f64(
                self.worker.concurrency as f64 * 6.0 / self.ace.writes_per_second,
            )
        } else {
            Duration::ZERO
        };
        // A bulk reconcile's writes each wait at most `bulk_max_wait` for a slot the
        // interactive lane leaves.
        let bulk = match self.queue.bulk_queue_url {
            Some(_) => self.ace.quota.bulk_max_wait * 6,
            None => Duration::ZERO,
        };
        let total = salesforce + ace + writes.max(bulk);
        Duration::from_secs(total.as_secs() + u64::from(total.subsec_nanos() > 0))
    }

    /// The bounds of the ingress under load: batching and what may be in flight.
    fn ingress_load_problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.queue.batch_linger > Duration::from_millis(100) {
            problems.push(format!(
                "key `queue.batch_linger`: at most 100ms (every message may wait that long), found {}",
                humantime_serde::re::humantime::format_duration(self.queue.batch_linger)
            ));
        }
        if !(1..=256).contains(&self.queue.batch_calls_in_flight) {
            problems.push(format!(
                "key `queue.batch_calls_in_flight`: expected 1 to 256, found {}",
                self.queue.batch_calls_in_flight
            ));
        }
        if self.ingress.max_in_flight_notifications < crate::ingress::soap::MAX_NOTIFICATIONS {
            problems.push(format!(
                "key `ingress.max_in_flight_notifications`: at least {} (one message may carry that many), found {}",
                crate::ingress::soap::MAX_NOTIFICATIONS,
                self.ingress.max_in_flight_notifications
            ));
        }
        if self.ingress.max_in_flight_bytes < self.http.body_limit_bytes
            || self.ingress.max_in_flight_bytes > u32::MAX as usize
        {
            problems.push(format!(
                "key `ingress.max_in_flight_bytes`: at least http.body_limit_bytes ({}) so the largest message can be taken, and under 4 GiB; found {}",
                self.http.body_limit_bytes, self.ingress.max_in_flight_bytes
            ));
        }
        problems
    }
}

impl SalesforceSettings {
    /// The REST client's settings are optional as a whole, but once one is given the others
    /// it needs must be too.
    pub(super) fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.client_configured() {
            if self.consumer_key.as_deref().is_none_or(str::is_empty) {
                problems.push("key `salesforce.consumer_key`: required once any of the JWT bearer settings is given (the connected app's consumer key)".to_owned());
            }
            if self.username.as_deref().is_none_or(str::is_empty) {
                problems.push("key `salesforce.username`: required once any of the JWT bearer settings is given (the integration user's username)".to_owned());
            }
            match (&self.private_key, &self.private_key_path) {
                (Some(_), Some(_)) => problems.push(
                    "keys `salesforce.private_key` and `salesforce.private_key_path`: give one, not both"
                        .to_owned(),
                ),
                (None, None) => problems.push(
                    "key `salesforce.private_key_path` (or `salesforce.private_key`): required once any of the JWT bearer settings is given"
                        .to_owned(),
                ),
                _ => {}
            }
        }
        if !matches!(self.login_url.scheme(), "https" | "http") {
            problems.push(format!(
                "key `salesforce.login_url`: expected an https URL like https://login.salesforce.com, found {}",
                self.login_url
            ));
        }
        let version_ok = self
            .api_version
            .split_once('.')
            .is_some_and(|(major, minor)| {
                minor == "0"
                    && major.parse::<u32>().is_ok_and(|m| (31..=99).contains(&m))
                    && !major.starts_with('0')
            });
        if !version_ok {
            problems.push(format!(
                "key `salesforce.api_version`: expected a version like \"67.0\" (31.0 or later), found {:?}",
                self.api_version
            ));
        }
        if self.request_timeout.is_zero() || self.request_timeout > Duration::from_secs(600) {
            problems.push(
                "key `salesforce.request_timeout`: expected more than 0s and at most 10m (Salesforce's own REST timeout)"
                    .to_owned(),
            );
        }
        problems
    }
}
