//! The OAuth 2.0 token endpoint with the JWT bearer grant: the assertion is checked as
//! Salesforce checks it (issuer, signature, audience, a lifetime within three minutes, a known
//! user) and answered with Salesforce's error pairs (salesforce.md §3).

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use actix_web::{HttpResponse, web};
use jsonwebtoken::{Algorithm, Validation};
use serde::Deserialize;

use super::{json, json_string};
use crate::salesforce::Shared;

/// How far ahead an assertion's `exp` may be (salesforce.md §3: "within 3 minutes").
const MAX_ASSERTION_LIFETIME_SECS: u64 = 180;

/// What an `exp` of exactly three minutes may carry beyond it: the client's rounding and the
/// clocks' skew (simple-salesforce signs `now + 3 min` rounded to the second; Salesforce takes
/// it, so some leeway exists; how much is UNCONFIRMED).
const CLOCK_SKEW_SECS: u64 = 5;
#[derive(Deserialize)]
struct Claims {
    iss: Option<String>,
    sub: Option<String>,
    aud: Option<serde_json::Value>,
    /// A NumericDate; some clients (simple-salesforce) send it as a string of digits.
    exp: Option<serde_json::Value>,
}

fn oauth_error(error: &str, description: &str) -> HttpResponse {
    json(
        400,
        format!(
            r#"{{"error":{},"error_description":{}}}"#,
            json_string(error),
            json_string(description)
        ),
    )
}

pub(super) async fn token(shared: web::Data<Shared>, body: web::Bytes) -> HttpResponse {
    let (latency, refusal) = {
        let mut org = shared.lock();
        org.token_requests += 1;
        (org.faults.latency, org.faults.token_refusal.clone())
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    if let Some((error, description)) = refusal {
        return oauth_error(&error, &description);
    }
    let form: BTreeMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    if form.get("grant_type").map(String::as_str) != Some(crate::salesforce::JWT_BEARER_GRANT) {
        return oauth_error("unsupported_grant_type", "grant type not supported");
    }
    let Some(assertion) = form.get("assertion") else {
        return oauth_error("invalid_grant", "invalid assertion");
    };
    let Ok(unverified) = jsonwebtoken::dangerous::insecure_decode::<Claims>(assertion) else {
        return oauth_error("invalid_grant", "invalid assertion");
    };
    let claims = unverified.claims;
    let mut org = shared.lock();
    if claims.iss.as_deref() != Some(org.consumer_key.as_str()) {
        return oauth_error("invalid_client_id", "client identifier invalid");
    }
    let mut validation = Validation::new(Algorithm::RS256);
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    if jsonwebtoken::decode::<serde_json::Value>(assertion, &shared.public_key, &validation)
        .is_err()
    {
        return oauth_error("invalid_grant", "invalid assertion");
    }
    let audiences: Vec<String> = match &claims.aud {
        Some(serde_json::Value::String(a)) => vec![a.clone()],
        Some(serde_json::Value::Array(list)) => list
            .iter()
            .filter_map(|a| a.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    };
    let audience_ok = audiences.iter().any(|a| {
        shared
            .audiences
            .iter()
            .any(|accepted| accepted == a.trim_end_matches('/'))
    });
    if !audience_ok {
        return oauth_error("invalid_grant", "audience is invalid");
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let exp = claims.exp.as_ref().and_then(|exp| match exp {
        serde_json::Value::Number(n) => n.as_u64(),
        serde_json::Value::String(s) => s.trim().parse::<u64>().ok(),
        _ => None,
    });
    match exp {
        None => return oauth_error("invalid_grant", "invalid assertion"),
        Some(exp) if exp <= now => {
            return oauth_error("invalid_grant", "expired authorization code");
        }
        // Milliseconds instead of seconds land here, the documented common bug.
        Some(exp) if exp > now + MAX_ASSERTION_LIFETIME_SECS + CLOCK_SKEW_SECS => {
            return oauth_error("invalid_grant", "invalid assertion");
        }
        Some(_) => {}
    }
    let Some(user) = claims
        .sub
        .as_deref()
        .and_then(|name| org.user_by_name(name))
        .cloned()
    else {
        return oauth_error("invalid_grant", "user hasn't approved this consumer");
    };
    let access_token = org.open_session(user.id.clone());
    let base = shared.base_url.as_str().trim_end_matches('/');
    json(
        200,
        format!(
            r#"{{"access_token":{},"scope":"api","instance_url":{},"id":{},"token_type":"Bearer"}}"#,
            json_string(&access_token),
            json_string(base),
            json_string(&format!("{base}/id/{}/{}", org.org_id, user.id)),
        ),
    )
}
