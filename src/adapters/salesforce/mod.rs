//! The Salesforce port on the real Salesforce REST API, authenticated with the OAuth 2.0 JWT
//! bearer flow.
//!
//! - [`auth`]: the signed assertion, the token request and the shared token cache (one
//!   re-mint however many calls hit an expired session at once).
//! - [`rest`]: SOQL reads, PATCH write-backs and sObject Collections, with every error
//!   classified at the seam; `records`: records found and made by value (AWS referrals).
//! - [`wire`]: Salesforce's JSON turned into [`SObject`](crate::domain::sobject::SObject)
//!   values (numbers kept digit for digit) and back.

pub mod auth;
mod records;
pub mod rest;
pub mod wire;

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use url::Url;

use crate::config::Settings;
use crate::domain::ids::SfOrgId;
use crate::domain::sobject::FieldTypes;
use crate::ports::salesforce::SalesforceError;
use crate::secret::Secret;

pub use rest::SalesforceClient;

/// Everything the client needs, resolved from the settings (the key file read).
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Base of the token endpoint (`…/services/oauth2/token` is appended).
    pub login_url: Url,
    /// The JWT `aud`.
    pub audience: String,
    /// The JWT `iss`.
    pub consumer_key: String,
    /// The JWT `sub`.
    pub username: String,
    /// The RSA private key, PEM (PKCS#8 or PKCS#1).
    pub private_key_pem: Secret,
    /// Like `67.0`.
    pub api_version: String,
    pub request_timeout: Duration,
    /// Orgs whose tokens we accept (15-character compare).
    pub allowed_orgs: Vec<SfOrgId>,
    /// How to type the values read.
    pub field_types: FieldTypes,
}

impl ClientConfig {
    /// The client's configuration from the settings; `Config` errors name the missing key.
    pub fn from_settings(settings: &Settings) -> Result<ClientConfig, SalesforceError> {
        let sf = &settings.salesforce;
        let missing = |key: &str| SalesforceError::Config {
            problem: format!("`salesforce.{key}` is not set"),
        };
        let private_key_pem = match (&sf.private_key, &sf.private_key_path) {
            (Some(pem), _) => pem.clone(),
            (None, Some(path)) => {
                let text = std::fs::read_to_string(path).map_err(|e| SalesforceError::Config {
                    problem: format!(
                        "cannot read `salesforce.private_key_path` {}: {e}",
                        path.display()
                    ),
                })?;
                Secret::new(text)
            }
            (None, None) => return Err(missing("private_key_path")),
        };
        Ok(ClientConfig {
            login_url: sf.login_url.clone(),
            audience: sf
                .audience
                .clone()
                .unwrap_or_else(|| sf.login_url.as_str().trim_end_matches('/').to_owned()),
            consumer_key: sf
                .consumer_key
                .clone()
                .ok_or_else(|| missing("consumer_key"))?,
            username: sf.username.clone().ok_or_else(|| missing("username"))?,
            private_key_pem,
            api_version: sf.api_version.clone(),
            request_timeout: sf.request_timeout,
            allowed_orgs: sf.org_ids.clone(),
            field_types: settings.field_types(),
        })
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    operation: &'static str,
    outcome: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MintLabels {
    outcome: &'static str,
}

/// The client's metric families.
#[derive(Debug, Clone, Default)]
pub struct SalesforceMetrics {
    calls: Family<CallLabels, Counter>,
    token_mints: Family<MintLabels, Counter>,
    api_usage: Gauge,
    api_limit: Gauge,
}

impl SalesforceMetrics {
    pub fn register(registry: &mut Registry) -> Self {
        let metrics = Self::default();
        registry.register(
            "salesforce_calls",
            "Salesforce REST calls by operation and outcome (ok, rejected, server_error, timeout, transport, session_expired: answered 401 and re-sent with a new token)",
            metrics.calls.clone(),
        );
        registry.register(
            "salesforce_token_mints",
            "JWT bearer token requests by outcome (ok, refused, failed)",
            metrics.token_mints.clone(),
        );
        registry.register(
            "salesforce_api_usage",
            "API requests used in the org's rolling 24 h window, from Sforce-Limit-Info",
            metrics.api_usage.clone(),
        );
        registry.register(
            "salesforce_api_limit",
            "The org's API request limit for a rolling 24 h window, from Sforce-Limit-Info",
            metrics.api_limit.clone(),
        );
        metrics
    }

    fn call(&self, operation: &'static str, outcome: &'static str) {
        self.calls
            .get_or_create(&CallLabels { operation, outcome })
            .inc();
    }

    fn mint(&self, outcome: &'static str) {
        self.token_mints
            .get_or_create(&MintLabels { outcome })
            .inc();
    }

    /// Records `Sforce-Limit-Info: api-usage=18/5000` (other parts, like `api-bursts`, are
    /// ignored).
    fn limit_info(&self, header: &str) {
        if let Some((used, max)) = parse_limit_info(header) {
            self.api_usage.set(used);
            self.api_limit.set(max);
        }
    }

    /// Calls counted so far, for tests and the demo.
    pub fn calls(&self, operation: &'static str, outcome: &'static str) -> u64 {
        self.calls
            .get_or_create(&CallLabels { operation, outcome })
            .get()
    }

    /// Token requests made so far with this outcome.
    pub fn token_mints(&self, outcome: &'static str) -> u64 {
        self.token_mints
            .get_or_create(&MintLabels { outcome })
            .get()
    }

    /// The last `(used, limit)` Salesforce reported.
    pub fn api_usage(&self) -> (i64, i64) {
        (self.api_usage.get(), self.api_limit.get())
    }
}

/// `api-usage=N/M` out of a `Sforce-Limit-Info` header.
pub fn parse_limit_info(header: &str) -> Option<(i64, i64)> {
    header.split(';').find_map(|part| {
        let (used, max) = part.trim().strip_prefix("api-usage=")?.split_once('/')?;
        Some((used.trim().parse().ok()?, max.trim().parse().ok()?))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_info_is_parsed() {
        assert_eq!(parse_limit_info("api-usage=18/5000"), Some((18, 5000)));
        assert_eq!(
            parse_limit_info("api-bursts=2/50; api-usage=7/15000"),
            Some((7, 15000))
        );
        assert_eq!(parse_limit_info("api-usage=x/5000"), None);
        assert_eq!(parse_limit_info(""), None);
    }

    #[test]
    fn the_key_comes_from_the_file_or_the_setting() {
        let err = ClientConfig::from_settings(&Settings::defaults()).unwrap_err();
        assert!(matches!(err, SalesforceError::Config { .. }), "{err}");
        let settings = Settings::from_toml_layers(&[
            "[salesforce]\nconsumer_key = \"ck\"\nusername = \"u@x\"\nprivate_key_path = \"/nonexistent/key.pem\"",
        ])
        .unwrap();
        let err = ClientConfig::from_settings(&settings).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/key.pem"), "{err}");
        let settings = Settings::from_toml_layers(&[
            "[salesforce]\nconsumer_key = \"ck\"\nusername = \"u@x\"\nprivate_key = \"pem\"\nlogin_url = \"https://test.salesforce.com/\"",
        ])
        .unwrap();
        let config = ClientConfig::from_settings(&settings).unwrap();
        assert_eq!(config.audience, "https://test.salesforce.com");
        assert_eq!(config.private_key_pem.expose(), "pem");
    }
}
