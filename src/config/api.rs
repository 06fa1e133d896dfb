//! `[api]`: the REST API that Salesforce Flows call through an External Service ("Check with
//! ACE", "Sync now", "ACE status"). Whether it is served, how long a call may take, and the
//! keys that may call it, each with the operations it may call.
//!
//! Off by default: once enabled, the process that serves it (the ingress role, or `all`) reads
//! opportunities from Salesforce and ACE, so it needs the Salesforce client and the mapping the
//! workers need (`Settings::runtime_problems` says so before start).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::time::Duration;

use serde::Deserialize;

use crate::secret::Secret;

/// External Services abandons a synchronous call after 120 seconds (Salesforce Help, "Use
/// Asynchronous Callbacks with External Services"): an answer must come well before.
pub const EXTERNAL_SERVICES_TIMEOUT: Duration = Duration::from_secs(120);

/// The shortest key accepted: 32 characters of the URL-safe alphabet carry about 190 bits.
pub const MIN_KEY_LENGTH: usize = 32;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiSettings {
    /// Serve `/api/v1/…` on the roles that serve HTTP for Salesforce (`serve`, `all`).
    pub enabled: bool,
    /// A call that has not finished within this long is answered 503, before External
    /// Services gives up on it.
    #[serde(with = "humantime_serde")]
    pub deadline: Duration,
    /// The keys that may call the API, by name (the name shows in logs and metrics; the key
    /// never does). Several keys may hold the same scopes, so a key can be rotated.
    #[serde(default)]
    pub keys: BTreeMap<String, ApiKeySettings>,
}

/// One API key.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiKeySettings {
    /// Sent as `Authorization: Bearer <key>`.
    pub key: Secret,
    /// The operations this key may call.
    pub scopes: BTreeSet<ApiScope>,
}

/// An operation of the API a key may be allowed to call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ApiScope {
    /// "Check with ACE": read the record, map it, run the pre-flight check. Writes nothing.
    Check,
    /// "ACE status": both sides and the planned next actions. Writes nothing.
    Status,
    /// "Sync now": queue a reconcile of the record.
    Sync,
}

impl ApiScope {
    pub fn as_str(self) -> &'static str {
        match self {
            ApiScope::Check => "check",
            ApiScope::Status => "status",
            ApiScope::Sync => "sync",
        }
    }
}

impl fmt::Display for ApiScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl ApiSettings {
    /// The rules serde cannot express. The keys themselves are never quoted.
    pub(super) fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.deadline.is_zero() || self.deadline >= EXTERNAL_SERVICES_TIMEOUT {
            problems.push(format!(
                "key `api.deadline`: expected more than 0s and less than {}s (External Services gives up on a call after {}s)",
                EXTERNAL_SERVICES_TIMEOUT.as_secs(),
                EXTERNAL_SERVICES_TIMEOUT.as_secs()
            ));
        }
        if self.enabled && self.keys.is_empty() {
            problems.push(
                "key `api.keys`: the API is enabled (api.enabled) but no key may call it; add one, e.g. [api.keys.salesforce] with key and scopes"
                    .to_owned(),
            );
        }
        let mut seen: Vec<(&str, &Secret)> = Vec::new();
        for (name, settings) in &self.keys {
            let at = format!("api.keys.{name}");
            if name.is_empty()
                || name.len() > 64
                || !name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            {
                problems.push(format!(
                    "key `{at}`: a key's name is 1 to 64 letters, digits, - and _ (it is shown in logs and metrics)"
                ));
            }
            let key = settings.key.expose();
            if key.len() < MIN_KEY_LENGTH {
                problems.push(format!(
                    "key `{at}.key`: use at least {MIN_KEY_LENGTH} characters"
                ));
            }
            if !key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
            {
                problems.push(format!(
                    "key `{at}.key`: use only letters, digits and -._~ (it travels in an HTTP header)"
                ));
            }
            if settings.scopes.is_empty() {
                problems.push(format!(
                    "key `{at}.scopes`: name at least one of check, status, sync"
                ));
            }
            if let Some((other, _)) = seen.iter().find(|(_, k)| *k == &settings.key) {
                problems.push(format!(
                    "key `{at}.key`: the same key as api.keys.{other}; give each name its own key"
                ));
            }
            seen.push((name, &settings.key));
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Settings;

    const KEY: &str = "k3y-0123456789abcdefghijklmnopqrstuv";

    #[test]
    fn the_api_is_off_by_default_and_needs_a_key_once_on() {
        let settings = Settings::defaults();
        assert!(!settings.api.enabled);
        assert!(settings.api.keys.is_empty());
        let err = Settings::from_toml_layers(&["[api]\nenabled = true"]).unwrap_err();
        assert!(err.to_string().contains("key `api.keys`"), "{err}");
    }

    #[test]
    fn keys_parse_with_their_scopes_and_bad_ones_are_named_without_being_quoted() {
        let ok = Settings::from_toml_layers(&[&format!(
            "[api]\nenabled = true\n[api.keys.flows]\nkey = \"{KEY}\"\nscopes = [\"check\", \"status\"]"
        )])
        .unwrap();
        let key = &ok.api.keys["flows"];
        assert_eq!(key.key.expose(), KEY);
        assert!(!format!("{ok:?}").contains(KEY));

        let err = Settings::from_toml_layers(&[
            "[api.keys.short]\nkey = \"tiny-secret\"\nscopes = []\n[api.keys.odd]\nkey = \"0123456789abcdef0123456789abcdef!\"\nscopes = [\"sync\"]\n[api]\ndeadline = \"2m\"",
        ])
        .unwrap_err();
        let text = err.to_string();
        for expected in [
            "api.keys.short.key`: use at least 32",
            "api.keys.short.scopes",
            "api.keys.odd.key`: use only letters",
            "api.deadline",
        ] {
            assert!(text.contains(expected), "{expected}: {text}");
        }
        assert!(!text.contains("tiny-secret"), "{text}");

        let err = Settings::from_toml_layers(&[&format!(
            "[api.keys.a]\nkey = \"{KEY}\"\nscopes = [\"sync\"]\n[api.keys.b]\nkey = \"{KEY}\"\nscopes = [\"check\"]"
        )])
        .unwrap_err();
        assert!(
            err.to_string().contains("the same key as api.keys.a"),
            "{err}"
        );

        let err = Settings::from_toml_layers(&[&format!(
            "[api.keys.a]\nkey = \"{KEY}\"\nscopes = [\"write\"]"
        )])
        .unwrap_err();
        assert!(err.to_string().contains("api.keys.a.scopes"), "{err}");
    }
}
