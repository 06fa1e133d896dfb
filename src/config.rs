//! One typed `Settings` tree: the embedded, documented defaults (`config.default.toml`), then
//! an optional config file, then `ACE_SYNC_<SECTION>__<KEY>` environment variables. Unknown
//! keys are errors, values are typed where they are read, and cross-field rules are checked
//! before anything starts.
//!
//! - [`layers`]: the sources, and how every problem in them is found in one pass.
//! - [`resources`]: what the settings point at (the mapping, the Salesforce key), loaded and
//!   checked as start would, and the settings still at their demo defaults.

mod api;
mod layers;
mod quota;
mod resources;
mod sweep;

use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use url::Url;

use crate::ace::opportunity::Catalog;
use crate::domain::ids::SfOrgId;
use crate::domain::sobject::FieldTypes;
use crate::secret::Secret;

pub use api::{ApiKeySettings, ApiScope, ApiSettings};
pub use layers::config_path_from_env;
pub use quota::QuotaSettings;
pub use resources::DemoDefault;
pub use sweep::SweepSettings;

/// The embedded defaults, also printed by `ace-sync config defaults`.
pub const DEFAULTS: &str = include_str!("config.default.toml");

/// Prefix of the environment variables that override settings.
pub const ENV_PREFIX: &str = "ACE_SYNC_";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub http: HttpSettings,
    pub ingress: IngressSettings,
    pub salesforce: SalesforceSettings,
    pub queue: QueueSettings,
    pub ace: AceSettings,
    pub worker: WorkerSettings,
    pub api: ApiSettings,
    pub telemetry: TelemetrySettings,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkerSettings {
    pub concurrency: usize,
    #[serde(with = "humantime_serde")]
    pub wait: Duration,
    #[serde(with = "humantime_serde")]
    pub visibility_timeout: Duration,
    #[serde(with = "humantime_serde")]
    pub retry_base: Duration,
    #[serde(with = "humantime_serde")]
    pub retry_cap: Duration,
    #[serde(with = "humantime_serde")]
    pub shutdown_grace: Duration,
    /// The longest wait between two checks of a running submission task.
    #[serde(with = "humantime_serde")]
    pub check_again_cap: Duration,
    /// Checks in a row before leaving the record to the next trigger.
    pub check_again_max: u32,
    /// The periodic reconcile sweep.
    pub sweep: SweepSettings,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSettings {
    pub host: IpAddr,
    pub port: u16,
    pub workers: usize,
    pub body_limit_bytes: usize,
    #[serde(with = "humantime_serde")]
    pub client_request_timeout: Duration,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IngressSettings {
    #[serde(default)]
    pub shared_secret: Option<Secret>,
    #[serde(default)]
    pub field_types: FieldTypes,
    /// Notifications being queued at once, over every request; a message that would pass it
    /// is refused with 503 (Salesforce retries it).
    pub max_in_flight_notifications: usize,
    /// Bytes of request bodies being read and parsed at once, likewise.
    pub max_in_flight_bytes: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SalesforceSettings {
    pub org_ids: Vec<SfOrgId>,
    #[serde(default)]
    pub my_domain: Option<String>,
    /// Where the JWT bearer token is requested: login, test (sandbox) or My Domain URL.
    pub login_url: Url,
    /// The JWT `aud`; `login_url` when unset.
    #[serde(default)]
    pub audience: Option<String>,
    /// The connected app's consumer key (the JWT `iss`).
    #[serde(default)]
    pub consumer_key: Option<String>,
    /// The integration user's username (the JWT `sub`).
    #[serde(default)]
    pub username: Option<String>,
    /// A PEM file holding the connected app's RSA private key.
    #[serde(default)]
    pub private_key_path: Option<PathBuf>,
    /// The PEM text itself, e.g. from ACE_SYNC_SALESFORCE__PRIVATE_KEY.
    #[serde(default)]
    pub private_key: Option<Secret>,
    /// REST API version, like "67.0".
    pub api_version: String,
    /// Timeout of each call to Salesforce, token requests included.
    #[serde(with = "humantime_serde")]
    pub request_timeout: Duration,
}

impl SalesforceSettings {
    /// Whether the REST client is configured at all; the worker requires it, `serve` does not.
    pub fn client_configured(&self) -> bool {
        self.consumer_key.is_some()
            || self.username.is_some()
            || self.private_key.is_some()
            || self.private_key_path.is_some()
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueSettings {
    #[serde(default)]
    pub changes_queue_url: Option<Url>,
    #[serde(default)]
    pub events_queue_url: Option<Url>,
    /// The bulk lane's FIFO queue (sweep, backfill, mass updates); without it bulk work
    /// travels on the changes queue.
    #[serde(default)]
    pub bulk_queue_url: Option<Url>,
    /// Notifications of one outbound message changed in one transaction that make them a
    /// mass update (bulk lane); 0 turns the recognition off.
    pub bulk_notifications: usize,
    pub region: String,
    #[serde(default)]
    pub endpoint_url: Option<Url>,
    pub batch_max_bytes: usize,
    pub send_attempts: u32,
    #[serde(with = "humantime_serde")]
    pub send_deadline: Duration,
    #[serde(with = "humantime_serde")]
    pub call_timeout: Duration,
    /// How long the ingress's first waiting message may wait for others to fill its
    /// SendMessageBatch call (a full call goes at once).
    #[serde(with = "humantime_serde")]
    pub batch_linger: Duration,
    /// SendMessageBatch calls the ingress has in flight at once at most.
    pub batch_calls_in_flight: usize,
    pub memory: MemoryQueueSettings,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemoryQueueSettings {
    #[serde(with = "humantime_serde")]
    pub visibility_timeout: Duration,
    pub max_receive_count: u32,
    #[serde(with = "humantime_serde")]
    pub deduplication_window: Duration,
}

/// The Partner Central Selling API (ACE) and the mapping to it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AceSettings {
    /// `AWS` for real opportunities, `Sandbox` for testing.
    pub catalog: Catalog,
    pub region: String,
    /// An endpoint override (the local simulator); AWS's endpoint otherwise.
    #[serde(default)]
    pub endpoint_url: Option<Url>,
    /// The mapping file; the embedded default mapping when unset.
    #[serde(default)]
    pub mapping_file: Option<PathBuf>,
    /// The mapping's TOML text itself, e.g. from ACE_SYNC_ACE__MAPPING filled from a
    /// ConfigMap or a secret; an alternative to `mapping_file`.
    #[serde(default)]
    pub mapping: Option<String>,
    /// Partner solutions to associate; when set, they replace the mapping's (solution ids
    /// differ between the Sandbox and AWS catalogs).
    #[serde(default)]
    pub solution_ids: Vec<String>,
    /// Partner Central's write quota for the account, shared by every task of the process.
    pub writes_per_second: f64,
    /// How many writes may go out back to back before the rate applies.
    pub write_burst: u32,
    #[serde(with = "humantime_serde")]
    pub call_timeout: Duration,
    /// Attempts per call for throttling and transient failures, the first included.
    pub max_attempts: u32,
    #[serde(with = "humantime_serde")]
    pub retry_base_delay: Duration,
    /// ListOpportunities pages (100 each) read at most when looking an opportunity up by its
    /// Salesforce id.
    pub find_max_pages: u32,
    /// The write quota shared by every process, and how it is spent.
    pub quota: QuotaSettings,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelemetrySettings {
    pub format: LogFormat,
    pub filter: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Pretty,
    Json,
}

/// A configuration problem, naming the key and where its value came from.
#[derive(Debug)]
pub struct ConfigError {
    problems: Vec<String>,
}

impl ConfigError {
    pub fn many(problems: Vec<String>) -> Self {
        Self { problems }
    }

    pub fn problems(&self) -> &[String] {
        &self.problems
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.problems.as_slice() {
            [one] => write!(f, "invalid configuration: {one}"),
            many => {
                writeln!(f, "invalid configuration:")?;
                for problem in many {
                    writeln!(f, "  - {problem}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for ConfigError {}

impl Settings {
    /// Defaults, then `file` (which must exist when given), then the process environment.
    /// Every problem is reported, each with the source that set the key.
    pub fn load(file: Option<&Path>) -> Result<Settings, ConfigError> {
        let (layers, problems) = layers::from_sources(file, std::env::vars_os());
        layers.extract(problems)
    }

    /// Defaults overlaid with TOML documents, in order; no file, no environment. For tests and
    /// for the embedded demo.
    pub fn from_toml_layers(documents: &[&str]) -> Result<Settings, ConfigError> {
        let mut problems = Vec::new();
        let mut all = vec![layers::Layer::defaults()];
        for (index, text) in documents.iter().enumerate() {
            match layers::Layer::text(index, text) {
                Ok(layer) => all.push(layer),
                Err(problem) => problems.push(problem),
            }
        }
        layers::Layers::new(all).extract(problems)
    }

    /// The embedded defaults alone.
    pub fn defaults() -> Settings {
        // The defaults are tested to load (`tests::defaults_load`).
        Self::from_toml_layers(&[]).unwrap_or_else(|e| panic!("embedded defaults are invalid: {e}"))
    }

    /// Rules that involve more than one key, or that serde cannot express.
    fn problems(&self) -> Vec<String> {
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

    /// Field kinds for Salesforce records read over REST: the standard ones plus the configured
    /// ones (`ingress.field_types`, named for where they were first used).
    pub fn field_types(&self) -> FieldTypes {
        let mut types = FieldTypes::standard();
        types.extend(&self.ingress.field_types);
        types
    }
}

impl SalesforceSettings {
    /// The REST client's settings are optional as a whole, but once one is given the others
    /// it needs must be too.
    fn problems(&self) -> Vec<String> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_load() {
        let settings = Settings::defaults();
        assert_eq!(settings.http.port, 8080);
        assert!(settings.queue.changes_queue_url.is_none());
        assert_eq!(settings.telemetry.format, LogFormat::Pretty);
    }

    #[test]
    fn unknown_keys_are_named() {
        let err = Settings::from_toml_layers(&["[http]\nprot = 1"]).unwrap_err();
        assert_eq!(err.problems().len(), 1, "{err}");
        assert!(
            err.problems()[0].contains("unknown key `http.prot`"),
            "{err}"
        );
    }

    #[test]
    fn bad_values_are_named() {
        let err = Settings::from_toml_layers(&["[http]\nport = \"eighty\""]).unwrap_err();
        assert!(err.to_string().contains("key `http.port`"), "{err}");
        let err = Settings::from_toml_layers(&["[salesforce]\norg_ids = [\"00X\"]"]).unwrap_err();
        assert!(err.to_string().contains("salesforce.org_ids"), "{err}");
        let err = Settings::from_toml_layers(&["[queue]\nsend_deadline = \"soon\""]).unwrap_err();
        assert!(err.to_string().contains("queue.send_deadline"), "{err}");
    }

    #[test]
    fn cross_field_rules_are_checked() {
        let err = Settings::from_toml_layers(&[
            "[queue]\nchanges_queue_url = \"https://sqs.us-east-1.amazonaws.com/1/plain\"",
        ])
        .unwrap_err();
        assert!(err.to_string().contains("FIFO"), "{err}");
        let err =
            Settings::from_toml_layers(&["[ingress]\nshared_secret = \"short\""]).unwrap_err();
        assert!(err.to_string().contains("ingress.shared_secret"), "{err}");
        assert!(
            !err.to_string().contains("short\""),
            "the secret itself is not echoed: {err}"
        );
    }

    #[test]
    fn secrets_are_redacted_in_debug() {
        let settings = Settings::from_toml_layers(&[
            "[ingress]\nshared_secret = \"correct-horse-battery-staple\"",
        ])
        .unwrap();
        let debug = format!("{settings:?}");
        assert!(!debug.contains("correct-horse"), "{debug}");
        assert!(debug.contains("[redacted]"));
    }

    #[test]
    fn ace_settings_default_to_the_sandbox_at_aws_write_quota() {
        let ace = Settings::defaults().ace;
        assert_eq!(ace.catalog, Catalog::Sandbox);
        assert_eq!(ace.region, "us-east-1");
        assert_eq!(ace.writes_per_second, 1.0);
        assert!(ace.endpoint_url.is_none());
        let settings = Settings::from_toml_layers(&[
            "[ace]\ncatalog = \"AWS\"\nsolution_ids = [\"S-0000001\"]\nendpoint_url = \"http://127.0.0.1:8787\"",
        ])
        .unwrap();
        assert_eq!(settings.ace.catalog, Catalog::Aws);
        assert_eq!(settings.ace.solution_ids, ["S-0000001"]);
        let err = Settings::from_toml_layers(&["[ace]\ncatalog = \"Prod\""]).unwrap_err();
        assert!(err.to_string().contains("ace.catalog"), "{err}");
        let err = Settings::from_toml_layers(&[
            "[ace]\nsolution_ids = [\"soln-1\"]\nwrites_per_second = 0",
        ])
        .unwrap_err();
        assert!(err.to_string().contains("ace.solution_ids"), "{err}");
        assert!(err.to_string().contains("ace.writes_per_second"), "{err}");
    }

    #[test]
    fn salesforce_client_settings_are_optional_but_complete_when_given() {
        let settings = Settings::defaults();
        assert!(!settings.salesforce.client_configured());
        assert_eq!(settings.salesforce.api_version, "67.0");
        let err = Settings::from_toml_layers(&["[salesforce]\nusername = \"int@acme.example\""])
            .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("salesforce.consumer_key"), "{text}");
        assert!(text.contains("salesforce.private_key_path"), "{text}");
        let err = Settings::from_toml_layers(&["[salesforce]\napi_version = \"v67\""]).unwrap_err();
        assert!(err.to_string().contains("salesforce.api_version"), "{err}");
        let ok = Settings::from_toml_layers(&[
            "[salesforce]\nconsumer_key = \"3MVG9x\"\nusername = \"int@acme.example\"\nprivate_key = \"-----BEGIN PRIVATE KEY-----\"",
        ])
        .unwrap();
        assert!(ok.salesforce.client_configured());
        assert!(!format!("{ok:?}").contains("BEGIN PRIVATE KEY"));
    }

    #[test]
    fn configured_field_types_extend_the_standard_ones() {
        use crate::domain::sobject::FieldKind;
        let settings = Settings::from_toml_layers(&[
            "[ingress.field_types.Opportunity]\nRenewal_Date__c = \"date\"",
        ])
        .unwrap();
        let types = settings.field_types();
        assert_eq!(
            types.kind_of("Opportunity", "Renewal_Date__c"),
            FieldKind::Date
        );
        assert_eq!(
            types.kind_of("Opportunity", "Use_Cases__c"),
            FieldKind::Multipicklist
        );
        assert_eq!(types.kind_of("Opportunity", "CloseDate"), FieldKind::Date);
        assert_eq!(types.kind_of("Opportunity", "Name"), FieldKind::Text);
    }
}
