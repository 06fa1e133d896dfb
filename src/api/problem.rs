//! How the API says no: one JSON body for every refusal, shaped after RFC 9457's problem
//! details (`status`, `title`, `detail`, plus a stable `code`), served as `application/json`
//! because External Services reads no other error media type. Errors are classified here by
//! who can fix them: the caller (4xx), or a dependency that may come back (503) or needs an
//! administrator (502).

use std::time::Duration;

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::http::header::{HeaderValue, WWW_AUTHENTICATE};
use serde::Serialize;
use utoipa::ToSchema;

use super::auth::Refusal;
use crate::domain::disposition::Classify;
use crate::domain::ids::{IdError, SfOpportunityId};
use crate::ports::partner_central::AceError;
use crate::ports::queue::EnqueueError;
use crate::ports::salesforce::SalesforceError;
use crate::worker::reconcile::PreviewError;

/// Why a call was not answered as asked.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Problem {
    /// The HTTP status, repeated for a Flow (which sees the body, not the status line).
    pub status: u16,
    /// What went wrong, in a few words.
    pub title: String,
    /// What went wrong and what to do about it.
    pub detail: String,
    /// A stable code for automation, e.g. `not_found`, `invalid_parameter`, `scope`.
    pub code: String,
}

/// A call that failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    Refused(Refusal),
    #[error("`{raw}` is not a Salesforce opportunity id")]
    InvalidId {
        raw: String,
        #[source]
        source: IdError,
    },
    #[error("{0}")]
    InvalidParameter(String),
    #[error(
        "no opportunity {0} in Salesforce: it is deleted, never existed, or ace-sync's integration user cannot see it"
    )]
    NotFound(SfOpportunityId),
    #[error(transparent)]
    Salesforce(#[from] SalesforceError),
    #[error(transparent)]
    Ace(#[from] AceError),
    #[error("the reconcile could not be queued")]
    Queue(#[source] EnqueueError),
    #[error("ace-sync did not finish within api.deadline ({}s); try again", .0.as_secs())]
    Deadline(Duration),
}

impl From<PreviewError> for ApiError {
    fn from(error: PreviewError) -> Self {
        match error {
            PreviewError::Salesforce(e) => ApiError::Salesforce(e),
            PreviewError::Ace(e) => ApiError::Ace(e),
        }
    }
}

impl ApiError {
    fn status(&self) -> StatusCode {
        match self {
            ApiError::Refused(Refusal::Scope { .. }) => StatusCode::FORBIDDEN,
            ApiError::Refused(_) => StatusCode::UNAUTHORIZED,
            ApiError::InvalidId { .. } | ApiError::InvalidParameter(_) => StatusCode::BAD_REQUEST,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            // Worth trying again shortly; anything else needs someone to fix the deployment.
            ApiError::Salesforce(e) if e.retry_hint().is_some() => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Ace(e) if e.retry_hint().is_some() => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Salesforce(_) | ApiError::Ace(_) => StatusCode::BAD_GATEWAY,
            ApiError::Queue(_) | ApiError::Deadline(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            ApiError::Refused(refusal) => refusal.reason(),
            ApiError::InvalidId { .. } => "invalid_opportunity_id",
            ApiError::InvalidParameter(_) => "invalid_parameter",
            ApiError::NotFound(_) => "not_found",
            ApiError::Salesforce(_) => "salesforce",
            ApiError::Ace(_) => "ace",
            ApiError::Queue(_) => "queue",
            ApiError::Deadline(_) => "deadline",
        }
    }

    fn title(&self) -> &'static str {
        match self {
            ApiError::Refused(Refusal::Scope { .. }) => "This key may not call this operation",
            ApiError::Refused(_) => "Not authenticated",
            ApiError::InvalidId { .. } | ApiError::InvalidParameter(_) => "Invalid request",
            ApiError::NotFound(_) => "No such opportunity",
            ApiError::Salesforce(_) => "Salesforce could not be read",
            ApiError::Ace(_) => "Partner Central could not be read",
            ApiError::Queue(_) => "The sync could not be queued",
            ApiError::Deadline(_) => "Took too long",
        }
    }

    /// The body. Errors from Salesforce, ACE and the queue carry their whole chain: none holds
    /// a secret, and the administrator reading the Flow's fault needs the cause.
    pub fn problem(&self) -> Problem {
        Problem {
            status: self.status().as_u16(),
            title: self.title().to_owned(),
            detail: crate::telemetry::error_chain(self),
            code: self.code().to_owned(),
        }
    }

    pub fn response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status());
        if self.status() == StatusCode::UNAUTHORIZED {
            response.insert_header((
                WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"ace-sync\""),
            ));
        }
        response.json(self.problem())
    }

    /// Logs the failure at the level its cause deserves: a caller's mistake is routine, a
    /// dependency's failure is a warning.
    pub fn log(&self) {
        let error = crate::telemetry::error_chain(self);
        match self {
            ApiError::Salesforce(_)
            | ApiError::Ace(_)
            | ApiError::Queue(_)
            | ApiError::Deadline(_) => {
                tracing::warn!(status = self.status().as_u16(), error = %error, "API call failed");
            }
            _ => {
                tracing::info!(status = self.status().as_u16(), error = %error, "API call refused")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_and_failures_get_the_status_of_who_can_fix_them() {
        let status = |e: ApiError| e.problem().status;
        assert_eq!(status(ApiError::Refused(Refusal::MissingKey)), 401);
        assert_eq!(
            status(ApiError::Refused(Refusal::Scope {
                key: "k".into(),
                scope: crate::config::ApiScope::Sync
            })),
            403
        );
        assert_eq!(
            status(super::super::params::opportunity_id("001000000000001").unwrap_err()),
            400
        );
        let transient = SalesforceError::Timeout {
            operation: "query",
            after: Duration::from_secs(1),
        };
        assert_eq!(status(transient.into()), 503);
        let config = SalesforceError::Config {
            problem: "no key".into(),
        };
        assert_eq!(status(config.into()), 502);
        let problem = ApiError::Deadline(Duration::from_secs(60)).problem();
        assert_eq!((problem.status, problem.code.as_str()), (503, "deadline"));
    }
}
