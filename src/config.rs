//! One typed `Settings` tree: the embedded, documented defaults (`config.default.toml`), then
//! an optional config file, then `ACE_SYNC_<SECTION>__<KEY>` environment variables. Unknown
//! keys are errors, values are typed where they are read, and cross-field rules are checked
//! before anything starts.
//!
//! - [`layers`]: the sources, and how every problem in them is found in one pass.
//! - `checks`: the cross-field rules.
//! - [`resources`]: what the settings point at (the mapping, the Salesforce key), loaded and
//!   checked as start would, and the settings still at their demo defaults.

mod api;
mod checks;
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

    /// Field kinds for Salesforce records read over REST: the standard ones plus the configured
    /// ones (`ingress.field_types`, named for where they were first used).
    pub fn field_types(&self) -> FieldTypes {
        let mut types = FieldTypes::standard();
        types.extend(&self.ingress.field_types);
        types
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
