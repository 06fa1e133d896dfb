//! Who may call the API: `Authorization: Bearer <key>`, the key one of `api.keys`, holding
//! the scope of the operation. This is what a Named Credential sends: its External Credential
//! adds the header from a secret kept in Salesforce (README, "The API for Salesforce Flows").
//!
//! The key presented is compared with every configured key, each time, as SHA-256 digests in
//! constant time, so neither the time taken nor the key lengths say how close a guess came.
//! Keys are [`Secret`]s: no log line, error or metric carries one; a key is known by its name.

use std::collections::BTreeSet;

use actix_web::HttpRequest;
use actix_web::http::header::AUTHORIZATION;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::config::{ApiScope, ApiSettings};
use crate::secret::Secret;

/// The authentication scheme of the `Authorization` header.
pub const SCHEME: &str = "Bearer";

/// One configured key.
#[derive(Debug, Clone)]
struct Key {
    name: String,
    digest: [u8; 32],
    scopes: BTreeSet<ApiScope>,
}

/// The keys that may call the API.
#[derive(Debug, Clone)]
pub struct ApiKeys {
    keys: Vec<Key>,
}

/// Why a call was refused before any work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("no API key: send `Authorization: Bearer <key>`")]
    MissingKey,
    #[error(
        "the Authorization header is not `Bearer <key>` with one key of visible ASCII characters"
    )]
    MalformedKey,
    #[error("the API key is not one of this service's keys")]
    UnknownKey,
    #[error("the key `{key}` may not call this operation: it needs the scope `{scope}`")]
    Scope { key: String, scope: ApiScope },
}

impl Refusal {
    /// The label of the refusals metric.
    pub fn reason(&self) -> &'static str {
        match self {
            Refusal::MissingKey => "missing_key",
            Refusal::MalformedKey => "malformed_key",
            Refusal::UnknownKey => "unknown_key",
            Refusal::Scope { .. } => "scope",
        }
    }
}

fn digest(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

impl ApiKeys {
    pub fn from_settings(settings: &ApiSettings) -> ApiKeys {
        ApiKeys {
            keys: settings
                .keys
                .iter()
                .map(|(name, key)| Key {
                    name: name.clone(),
                    digest: digest(key.key.expose().as_bytes()),
                    scopes: key.scopes.clone(),
                })
                .collect(),
        }
    }

    /// The name of the key `presented` is, if it is one. Every key is compared, whatever
    /// matched before it.
    fn identify(&self, presented: &Secret) -> Option<&Key> {
        let presented = digest(presented.expose().as_bytes());
        let mut found = None;
        for key in &self.keys {
            if bool::from(key.digest.ct_eq(&presented)) {
                found = Some(key);
            }
        }
        found
    }

    /// The name of the key the request carries, if it may call an operation of `scope`
    /// (`None`: any key may).
    pub fn authorize(
        &self,
        request: &HttpRequest,
        scope: Option<ApiScope>,
    ) -> Result<&str, Refusal> {
        let presented = bearer(request)?;
        let key = self.identify(&presented).ok_or(Refusal::UnknownKey)?;
        match scope {
            Some(scope) if !key.scopes.contains(&scope) => Err(Refusal::Scope {
                key: key.name.clone(),
                scope,
            }),
            _ => Ok(&key.name),
        }
    }
}

/// The key of an `Authorization: Bearer <key>` header; exactly one such header.
fn bearer(request: &HttpRequest) -> Result<Secret, Refusal> {
    let mut headers = request.headers().get_all(AUTHORIZATION);
    let header = headers.next().ok_or(Refusal::MissingKey)?;
    if headers.next().is_some() {
        return Err(Refusal::MalformedKey);
    }
    let value = header.to_str().map_err(|_| Refusal::MalformedKey)?;
    let (scheme, key) = value.split_once(' ').ok_or(Refusal::MalformedKey)?;
    let key = key.trim();
    if !scheme.eq_ignore_ascii_case(SCHEME)
        || key.is_empty()
        || !key.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err(Refusal::MalformedKey);
    }
    Ok(Secret::new(key))
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;
    use crate::config::Settings;

    const CHECK: &str = "check-0123456789abcdefghijklmnopqrstu";
    const SYNC: &str = "sync-0123456789abcdefghijklmnopqrstuv";

    fn keys() -> ApiKeys {
        let settings = Settings::from_toml_layers(&[&format!(
            "[api.keys.flows]\nkey = \"{CHECK}\"\nscopes = [\"check\", \"status\"]\n[api.keys.admin]\nkey = \"{SYNC}\"\nscopes = [\"sync\"]"
        )])
        .unwrap();
        ApiKeys::from_settings(&settings.api)
    }

    fn with(header: Option<&str>) -> HttpRequest {
        let mut request = TestRequest::get();
        if let Some(value) = header {
            request = request.insert_header((AUTHORIZATION, value));
        }
        request.to_http_request()
    }

    #[test]
    fn a_key_is_accepted_for_its_scopes_only() {
        let keys = keys();
        let bearer = format!("Bearer {CHECK}");
        assert_eq!(
            keys.authorize(&with(Some(&bearer)), Some(ApiScope::Check)),
            Ok("flows")
        );
        assert_eq!(
            keys.authorize(&with(Some(&format!("bearer  {CHECK}"))), None),
            Ok("flows")
        );
        assert_eq!(
            keys.authorize(&with(Some(&bearer)), Some(ApiScope::Sync)),
            Err(Refusal::Scope {
                key: "flows".into(),
                scope: ApiScope::Sync
            })
        );
        assert_eq!(
            keys.authorize(&with(Some(&format!("Bearer {SYNC}"))), Some(ApiScope::Sync)),
            Ok("admin")
        );
    }

    #[test]
    fn missing_malformed_and_unknown_keys_are_told_apart_without_quoting_them() {
        let keys = keys();
        let refusal = |header: Option<&str>| {
            keys.authorize(&with(header), Some(ApiScope::Check))
                .unwrap_err()
        };
        assert_eq!(refusal(None), Refusal::MissingKey);
        assert_eq!(refusal(Some(CHECK)), Refusal::MalformedKey);
        assert_eq!(
            refusal(Some(&format!("Basic {CHECK}"))),
            Refusal::MalformedKey
        );
        assert_eq!(refusal(Some("Bearer ")), Refusal::MalformedKey);
        let near = format!("Bearer {}", &CHECK[..CHECK.len() - 1]);
        assert_eq!(refusal(Some(&near)), Refusal::UnknownKey);
        for r in [refusal(Some(&near)), refusal(Some(CHECK))] {
            assert!(!r.to_string().contains(&CHECK[..20]), "{r}");
        }
    }
}
