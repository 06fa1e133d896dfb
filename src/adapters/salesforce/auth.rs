//! The OAuth 2.0 JWT bearer flow (salesforce.md §3) and the token cache every task shares.
//!
//! The assertion is RS256-signed with the connected app's key: `iss` = consumer key, `sub` =
//! username, `aud` = login/test/My Domain URL, `exp` in seconds and within Salesforce's three
//! minutes. The answer has no refresh token and no lifetime, so a token is used until
//! Salesforce says `401 INVALID_SESSION_ID`; then exactly one caller mints a new one while the
//! others wait for it (single flight), and each retries its call once.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::{Deserialize, Serialize};
use url::Url;

use super::{ClientConfig, SalesforceMetrics};
use crate::domain::ids::{SfOrgId, SfUserId};
use crate::ports::salesforce::{Identity, SalesforceError, TokenErrorCode};
use crate::secret::Secret;

/// How far ahead the assertion's `exp` is: inside Salesforce's 3 minutes with room for a
/// clock that runs a little fast.
const ASSERTION_LIFETIME: Duration = Duration::from_secs(150);

/// The OAuth grant type of the JWT bearer flow (RFC 7523).
pub const JWT_BEARER_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// An access token and what it is for.
pub struct Session {
    pub access_token: Secret,
    pub identity: Identity,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("access_token", &self.access_token)
            .field("identity", &self.identity)
            .finish()
    }
}

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    exp: u64,
}

/// The documented success answer; unknown fields (`issued_at`, `signature`) are ignored.
#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    instance_url: String,
    id: String,
}

#[derive(Deserialize)]
struct TokenErrorBody {
    error: String,
    #[serde(default)]
    error_description: String,
}

/// Signs assertions and exchanges them for access tokens.
pub struct JwtBearer {
    token_url: Url,
    audience: String,
    consumer_key: String,
    username: String,
    key: EncodingKey,
    timeout: Duration,
}

impl fmt::Debug for JwtBearer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtBearer")
            .field("token_url", &self.token_url.as_str())
            .field("audience", &self.audience)
            .field("consumer_key", &self.consumer_key)
            .field("username", &self.username)
            .field("key", &"[redacted]")
            .finish()
    }
}

impl JwtBearer {
    /// Parses the key and signs a trial assertion, so a key that cannot work is a
    /// configuration error at start rather than at the first message.
    pub fn new(config: &ClientConfig) -> Result<JwtBearer, SalesforceError> {
        let key = EncodingKey::from_rsa_pem(config.private_key_pem.expose().as_bytes()).map_err(
            |e| SalesforceError::Config {
                problem: format!(
                    "the Salesforce private key is not an RSA private key in PEM form (PKCS#8 or PKCS#1): {e}"
                ),
            },
        )?;
        let token_url = config
            .login_url
            .join("/services/oauth2/token")
            .map_err(|e| SalesforceError::Config {
                problem: format!("`salesforce.login_url` cannot hold a token endpoint: {e}"),
            })?;
        let bearer = JwtBearer {
            token_url,
            audience: config.audience.clone(),
            consumer_key: config.consumer_key.clone(),
            username: config.username.clone(),
            key,
            timeout: config.request_timeout,
        };
        bearer.assertion()?;
        Ok(bearer)
    }

    /// A fresh signed assertion.
    pub fn assertion(&self) -> Result<Secret, SalesforceError> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let claims = Claims {
            iss: &self.consumer_key,
            sub: &self.username,
            aud: &self.audience,
            // Seconds, not milliseconds (salesforce.md §3: a common bug).
            exp: (now + ASSERTION_LIFETIME).as_secs(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims, &self.key)
            .map(Secret::new)
            .map_err(|e| SalesforceError::Config {
                problem: format!("cannot sign a JWT with the Salesforce private key: {e}"),
            })
    }

    /// One token request.
    async fn mint(&self, http: &reqwest::Client) -> Result<Session, SalesforceError> {
        const OP: &str = "token";
        let assertion = self.assertion()?;
        let response = http
            .post(self.token_url.clone())
            .form(&[
                ("grant_type", JWT_BEARER_GRANT),
                ("assertion", assertion.expose()),
            ])
            .timeout(self.timeout)
            .send()
            .await
            .map_err(|e| transport_error(OP, self.timeout, e))?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|e| transport_error(OP, self.timeout, e))?;
        if status.is_success() {
            let token: TokenResponse =
                serde_json::from_slice(&body).map_err(|e| SalesforceError::UnexpectedResponse {
                    operation: OP,
                    detail: format!("the token response is not the documented JSON: {e}"),
                })?;
            let identity = identity_of(&token)?;
            return Ok(Session {
                access_token: Secret::new(token.access_token),
                identity,
            });
        }
        // OAuth errors are 400 with a JSON body; anything else is the endpoint's trouble
        // (maintenance pages are HTML), classified by status like any other call.
        match serde_json::from_slice::<TokenErrorBody>(&body) {
            Ok(refusal) if status.is_client_error() => Err(SalesforceError::TokenRefused {
                error: TokenErrorCode::parse(&refusal.error),
                description: refusal.error_description,
            }),
            _ => Err(SalesforceError::Api {
                operation: OP,
                status: status.as_u16(),
                errors: Vec::new(),
                body_excerpt: super::rest::excerpt(&body),
            }),
        }
    }
}

/// The org and user out of the token response's `id` URL, `…/id/<org18>/<user18>`.
fn identity_of(token: &TokenResponse) -> Result<Identity, SalesforceError> {
    let bad = |detail: String| SalesforceError::UnexpectedResponse {
        operation: "token",
        detail,
    };
    let instance_url = Url::parse(&token.instance_url)
        .map_err(|e| bad(format!("instance_url {:?}: {e}", token.instance_url)))?;
    let mut segments = token.id.trim_end_matches('/').rsplit('/');
    let (user, org, marker) = (segments.next(), segments.next(), segments.next());
    let (Some(user), Some(org), Some("id")) = (user, org, marker) else {
        return Err(bad(format!("id {:?} is not …/id/<org>/<user>", token.id)));
    };
    Ok(Identity {
        org_id: SfOrgId::parse(org).map_err(|e| bad(format!("org id in {:?}: {e}", token.id)))?,
        user_id: SfUserId::parse(user)
            .map_err(|e| bad(format!("user id in {:?}: {e}", token.id)))?,
        instance_url,
    })
}

pub(super) fn transport_error(
    operation: &'static str,
    timeout: Duration,
    e: reqwest::Error,
) -> SalesforceError {
    if e.is_timeout() {
        SalesforceError::Timeout {
            operation,
            after: timeout,
        }
    } else {
        // The URL may carry a query with record ids but never a secret: tokens travel in
        // headers and form bodies only.
        SalesforceError::Transport {
            operation,
            source: Box::new(e),
        }
    }
}

/// The session every task uses, and the single-flight re-mint.
#[derive(Debug)]
pub struct TokenCache {
    http: reqwest::Client,
    bearer: JwtBearer,
    allowed_orgs: Vec<SfOrgId>,
    /// Only ever locked for a clone or a store, never across an await.
    current: Mutex<Option<Arc<Session>>>,
    /// Held across the token request, so that concurrent callers wait for one mint instead
    /// of each making their own. Not on the hot path: only taken when there is no usable token.
    minting: tokio::sync::Mutex<()>,
    metrics: SalesforceMetrics,
}

impl TokenCache {
    pub fn new(
        http: reqwest::Client,
        bearer: JwtBearer,
        allowed_orgs: Vec<SfOrgId>,
        metrics: SalesforceMetrics,
    ) -> Self {
        Self {
            http,
            bearer,
            allowed_orgs,
            current: Mutex::new(None),
            minting: tokio::sync::Mutex::new(()),
            metrics,
        }
    }

    fn cached(&self) -> Option<Arc<Session>> {
        self.current
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// The current session, minting one if there is none.
    pub async fn session(&self) -> Result<Arc<Session>, SalesforceError> {
        match self.cached() {
            Some(session) => Ok(session),
            None => self.replace(None).await,
        }
    }

    /// A session other than `stale`, which Salesforce just refused: if another caller already
    /// replaced it, that one; otherwise a new one.
    pub async fn refresh(&self, stale: &Arc<Session>) -> Result<Arc<Session>, SalesforceError> {
        self.replace(Some(stale)).await
    }

    async fn replace(&self, stale: Option<&Arc<Session>>) -> Result<Arc<Session>, SalesforceError> {
        let _minting = self.minting.lock().await;
        if let Some(current) = self.cached() {
            let is_stale = stale.is_some_and(|stale| Arc::ptr_eq(stale, &current));
            if !is_stale {
                return Ok(current);
            }
        }
        let session = match self.bearer.mint(&self.http).await {
            Ok(session) => session,
            Err(e) => {
                let outcome = if matches!(e, SalesforceError::TokenRefused { .. }) {
                    "refused"
                } else {
                    "failed"
                };
                self.metrics.mint(outcome);
                return Err(e);
            }
        };
        self.metrics.mint("ok");
        if !self
            .allowed_orgs
            .iter()
            .any(|org| org.matches(&session.identity.org_id))
        {
            return Err(SalesforceError::OrgNotAllowed {
                org_id: session.identity.org_id.clone(),
            });
        }
        tracing::info!(
            org_id = %session.identity.org_id,
            user_id = %session.identity.user_id,
            instance_url = %session.identity.instance_url,
            "minted a Salesforce access token"
        );
        let session = Arc::new(session);
        *self
            .current
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(session.clone());
        Ok(session)
    }
}
