//! The Salesforce org as the worker sees it: who we are, read opportunities (with their
//! account's fields), and write ACE's answers back, touching only fields that changed.
//!
//! No HTTP type appears here: the adapter on the REST API (`adapters::salesforce`) turns the
//! wire into these values, and classifies every failure as retryable or permanent
//! ([`Classify`]) so the worker never inspects a status code.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use url::Url;

use crate::domain::disposition::{Classify, OutageKind};
use crate::domain::ids::{SfOpportunityId, SfOrgId, SfRecordId, SfUserId};
use crate::domain::sobject::{FieldValue, SObject};

/// The org and user our access token belongs to, from the token response's `id` URL
/// (`…/id/<org18>/<user18>`, salesforce.md §3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub org_id: SfOrgId,
    /// The integration user: `LastModifiedById` of every record we write.
    pub user_id: SfUserId,
    /// Where every REST call goes; never the host an outbound message names (salesforce.md
    /// §1.10, rule 7).
    pub instance_url: Url,
}

/// What a write-back did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteOutcome {
    /// Every desired value was already in place, so nothing was sent: a no-op PATCH would
    /// still bump `SystemModstamp` and run the org's automation (salesforce.md §6).
    Unchanged,
    /// These fields were sent (API names, sorted).
    Updated { fields: Vec<String> },
}

/// What an upsert by External ID did (salesforce.md §4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upserted {
    pub id: SfRecordId,
    /// Created (201) rather than updated.
    pub created: bool,
}

/// Salesforce's error codes, as `errorCode` (single-record calls) or `statusCode`
/// (sObject Collections) spell them. The ones the sync acts on have a variant of their own;
/// any other is kept verbatim in [`ErrorCode::Other`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    InvalidSessionId,
    RequestLimitExceeded,
    UnableToLockRow,
    EntityIsDeleted,
    NotFound,
    InvalidField,
    InvalidFieldForInsertUpdate,
    FieldCustomValidationException,
    StringTooLong,
    InvalidOrNullForRestrictedPicklist,
    MalformedId,
    MalformedQuery,
    RequiredFieldMissing,
    JsonParserError,
    InvalidType,
    InvalidCrossReferenceKey,
    AllOrNoneOperationRolledBack,
    Other(String),
}

impl ErrorCode {
    const NAMED: &'static [(&'static str, ErrorCode)] = &[
        ("INVALID_SESSION_ID", ErrorCode::InvalidSessionId),
        ("REQUEST_LIMIT_EXCEEDED", ErrorCode::RequestLimitExceeded),
        ("UNABLE_TO_LOCK_ROW", ErrorCode::UnableToLockRow),
        ("ENTITY_IS_DELETED", ErrorCode::EntityIsDeleted),
        ("NOT_FOUND", ErrorCode::NotFound),
        ("INVALID_FIELD", ErrorCode::InvalidField),
        (
            "INVALID_FIELD_FOR_INSERT_UPDATE",
            ErrorCode::InvalidFieldForInsertUpdate,
        ),
        (
            "FIELD_CUSTOM_VALIDATION_EXCEPTION",
            ErrorCode::FieldCustomValidationException,
        ),
        ("STRING_TOO_LONG", ErrorCode::StringTooLong),
        (
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            ErrorCode::InvalidOrNullForRestrictedPicklist,
        ),
        ("MALFORMED_ID", ErrorCode::MalformedId),
        ("MALFORMED_QUERY", ErrorCode::MalformedQuery),
        ("REQUIRED_FIELD_MISSING", ErrorCode::RequiredFieldMissing),
        ("JSON_PARSER_ERROR", ErrorCode::JsonParserError),
        ("INVALID_TYPE", ErrorCode::InvalidType),
        (
            "INVALID_CROSS_REFERENCE_KEY",
            ErrorCode::InvalidCrossReferenceKey,
        ),
        (
            "ALL_OR_NONE_OPERATION_ROLLED_BACK",
            ErrorCode::AllOrNoneOperationRolledBack,
        ),
    ];

    pub fn parse(code: &str) -> ErrorCode {
        Self::NAMED
            .iter()
            .find(|(name, _)| *name == code)
            .map(|(_, c)| c.clone())
            .unwrap_or_else(|| ErrorCode::Other(code.to_owned()))
    }

    /// The code as Salesforce spells it.
    pub fn as_str(&self) -> &str {
        match self {
            ErrorCode::Other(code) => code,
            named => Self::NAMED
                .iter()
                .find(|(_, c)| c == named)
                .map(|(name, _)| *name)
                .unwrap_or("UNKNOWN"),
        }
    }

    /// Lock contention and the API limits pass; everything else Salesforce refuses is about
    /// the request or the record and will be refused again (salesforce.md §4, error table).
    /// An invalid session after a fresh token is a race with an admin revoking sessions, so
    /// it is worth another attempt with another token.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            ErrorCode::UnableToLockRow
                | ErrorCode::RequestLimitExceeded
                | ErrorCode::InvalidSessionId
        )
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One entry of Salesforce's error array.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    /// The fields the error is about; often empty.
    pub fields: Vec<String>,
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)?;
        if !self.fields.is_empty() {
            write!(f, " (fields: {})", self.fields.join(", "))?;
        }
        Ok(())
    }
}

/// The OAuth error codes of the token endpoint (salesforce.md §3, error table).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenErrorCode {
    InvalidGrant,
    InvalidClientId,
    InvalidAppAccess,
    UnsupportedGrantType,
    InvalidRequest,
    Other(String),
}

impl TokenErrorCode {
    pub fn parse(code: &str) -> TokenErrorCode {
        match code {
            "invalid_grant" => Self::InvalidGrant,
            "invalid_client_id" => Self::InvalidClientId,
            "invalid_app_access" => Self::InvalidAppAccess,
            "unsupported_grant_type" => Self::UnsupportedGrantType,
            "invalid_request" => Self::InvalidRequest,
            other => Self::Other(other.to_owned()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Self::InvalidGrant => "invalid_grant",
            Self::InvalidClientId => "invalid_client_id",
            Self::InvalidAppAccess => "invalid_app_access",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::InvalidRequest => "invalid_request",
            Self::Other(code) => code,
        }
    }
}

impl fmt::Display for TokenErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What went wrong talking to Salesforce. `operation` names the call (`token`, `query`,
/// `update`, `composite_update`) for logs and metrics.
#[derive(Debug, thiserror::Error)]
pub enum SalesforceError {
    /// The client is not configured, or its configuration cannot work (a key that does not
    /// parse, a username missing). Fix the settings; retrying will not help.
    #[error("the Salesforce client is misconfigured: {problem}")]
    Config { problem: String },
    /// The token endpoint refused our assertion. Salesforce's `error_description` says why,
    /// e.g. `user hasn't approved this consumer` or `audience is invalid`.
    #[error("Salesforce refused the JWT bearer token request: {error}: {description}")]
    TokenRefused {
        error: TokenErrorCode,
        description: String,
    },
    /// The token belongs to an org that is not in `salesforce.org_ids`: a refreshed sandbox or
    /// the wrong connected app.
    #[error("the token is for org {org_id}, which is not in salesforce.org_ids")]
    OrgNotAllowed { org_id: SfOrgId },
    /// Salesforce answered with an error status. `errors` is its error array, empty when the
    /// body was not one (e.g. an HTML maintenance page); `body_excerpt` then holds its start.
    #[error(
        "Salesforce refused {operation} with HTTP {status}{}",
        describe(errors, body_excerpt)
    )]
    Api {
        operation: &'static str,
        status: u16,
        errors: Vec<ApiError>,
        body_excerpt: Option<String>,
    },
    /// One record of an sObject Collections call failed; the others may have succeeded.
    #[error("Salesforce refused the update of {id}: {}", join(errors))]
    RecordFailed { id: String, errors: Vec<ApiError> },
    /// A query by id found no record: it never existed, or is deleted (SOQL does not return
    /// records in the Recycle Bin).
    #[error("no Opportunity {id} in Salesforce (deleted, or never existed)")]
    NoSuchRecord { id: SfOpportunityId },
    /// An External ID matched several records (HTTP 300 on an upsert, or several rows of a
    /// query by it): a field that is not unique, or a record copied by hand. A person must
    /// choose; retrying changes nothing.
    #[error("several {object} records hold {field} = {value:?}: {}", .ids.join(", "))]
    Ambiguous {
        object: String,
        field: String,
        value: String,
        ids: Vec<String>,
    },
    #[error("Salesforce did not answer {operation} within {after:?}")]
    Timeout {
        operation: &'static str,
        after: Duration,
    },
    /// The connection failed before Salesforce answered.
    #[error("could not reach Salesforce for {operation}")]
    Transport {
        operation: &'static str,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// Salesforce answered 2xx with a body we do not understand.
    #[error("unexpected answer from Salesforce to {operation}: {detail}")]
    UnexpectedResponse {
        operation: &'static str,
        detail: String,
    },
}

fn describe(errors: &[ApiError], excerpt: &Option<String>) -> String {
    match (errors.is_empty(), excerpt) {
        (false, _) => format!(": {}", join(errors)),
        (true, Some(body)) => format!(": {body:?}"),
        (true, None) => String::new(),
    }
}

fn join(errors: &[ApiError]) -> String {
    errors
        .iter()
        .map(ApiError::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// How long to leave a record alone after Salesforce said the org is over its API limit:
/// the daily limit is a rolling 24 h window, so retrying within seconds only burns attempts.
pub const LIMIT_EXCEEDED_BACKOFF: Duration = Duration::from_secs(300);

impl SalesforceError {
    /// When only an operator can fix this (the connected app, the certificate, the
    /// integration user's access, the org's fields), what kind of outage it is. Errors about
    /// one record's values, and transient ones, are not.
    pub fn deployment_problem(&self) -> Option<OutageKind> {
        let setup = |errors: &[ApiError]| {
            errors.iter().any(|e| {
                matches!(
                    e.code,
                    ErrorCode::InvalidField
                        | ErrorCode::InvalidType
                        | ErrorCode::MalformedQuery
                        | ErrorCode::InvalidFieldForInsertUpdate
                ) || matches!(&e.code, ErrorCode::Other(code) if code.starts_with("INSUFFICIENT_ACCESS") || code == "API_DISABLED_FOR_ORG" || code == "API_CURRENTLY_DISABLED")
            })
        };
        match self {
            Self::Config { .. } | Self::TokenRefused { .. } | Self::OrgNotAllowed { .. } => {
                Some(OutageKind::SalesforceAuth)
            }
            Self::Api { status: 401, .. } if self.retry_hint().is_none() => {
                Some(OutageKind::SalesforceAuth)
            }
            Self::Api { status: 403, .. } => Some(OutageKind::SalesforceAccess),
            Self::Api { errors, .. } | Self::RecordFailed { errors, .. } if setup(errors) => {
                Some(OutageKind::SalesforceAccess)
            }
            Self::UnexpectedResponse { .. } => Some(OutageKind::Unexpected),
            _ => None,
        }
    }

    /// The error codes Salesforce gave, if any.
    pub fn codes(&self) -> Vec<&ErrorCode> {
        match self {
            Self::Api { errors, .. } | Self::RecordFailed { errors, .. } => {
                errors.iter().map(|e| &e.code).collect()
            }
            _ => Vec::new(),
        }
    }
}

impl Classify for SalesforceError {
    fn retry_hint(&self) -> Option<Option<Duration>> {
        let codes_hint = |errors: &[ApiError]| {
            if errors
                .iter()
                .any(|e| e.code == ErrorCode::RequestLimitExceeded)
            {
                Some(Some(LIMIT_EXCEEDED_BACKOFF))
            } else if errors.iter().any(|e| e.code.is_transient()) {
                Some(None)
            } else {
                None
            }
        };
        match self {
            Self::Config { .. }
            | Self::TokenRefused { .. }
            | Self::OrgNotAllowed { .. }
            | Self::NoSuchRecord { .. }
            | Self::Ambiguous { .. }
            | Self::UnexpectedResponse { .. } => None,
            Self::Timeout { .. } | Self::Transport { .. } => Some(None),
            Self::RecordFailed { errors, .. } => codes_hint(errors),
            // UNABLE_TO_LOCK_ROW sometimes comes with HTTP 500, so the codes decide first; a
            // 5xx without a transient code is still the server's problem.
            Self::Api { status, errors, .. } => {
                codes_hint(errors).or_else(|| (*status >= 500).then_some(None))
            }
        }
    }
}

/// Which Opportunities [`SalesforceOrg::find_opportunity_ids`] selects: every condition that
/// is set must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OpportunityQuery {
    /// `SystemModstamp` at or after this instant.
    pub modified_since: Option<time::OffsetDateTime>,
    /// `StageName` one of these (API values, as the mapping names them).
    pub stages: Vec<String>,
    /// `ACE_Sync_Status__c` one of these.
    pub sync_statuses: Vec<String>,
    /// At most this many (the newest first).
    pub limit: usize,
}

/// A Salesforce org, reached as the integration user.
#[async_trait]
pub trait SalesforceOrg: Send + Sync + fmt::Debug {
    /// The org, user and instance of our session (minting a token if there is none yet).
    async fn identity(&self) -> Result<Identity, SalesforceError>;

    /// One Opportunity, by one SOQL query. `fields` are API names, relationship fields
    /// included (`Account.Name`); they come back flattened into [`SObject::fields`] under the
    /// same dotted names. `Id` is always selected. Null values are absent.
    async fn read_opportunity(
        &self,
        id: &SfOpportunityId,
        fields: &[String],
    ) -> Result<SObject, SalesforceError>;

    /// Several Opportunities, in as few queries as the URL length allows. Records that do not
    /// exist are missing from the answer; the order is Salesforce's.
    async fn read_opportunities(
        &self,
        ids: &[SfOpportunityId],
        fields: &[String],
    ) -> Result<Vec<SObject>, SalesforceError>;

    /// Sets `desired` on the record `current` describes, sending only the fields whose value
    /// differs from `current` (`None` clears a field). No call at all when nothing differs.
    async fn write_back(
        &self,
        current: &SObject,
        desired: &BTreeMap<String, Option<FieldValue>>,
    ) -> Result<WriteOutcome, SalesforceError>;

    /// [`write_back`](Self::write_back) for many records, through sObject Collections (at
    /// most 200 records per call, `allOrNone=false`). One result per change, in order; the
    /// outer error means a whole call failed.
    async fn write_back_many(
        &self,
        changes: Vec<(SObject, BTreeMap<String, Option<FieldValue>>)>,
    ) -> Result<Vec<Result<WriteOutcome, SalesforceError>>, SalesforceError>;

    /// The Opportunity whose External ID `field` holds `value` (one SOQL query, `fields` as
    /// for [`read_opportunity`](Self::read_opportunity)); `None` when no record does,
    /// [`SalesforceError::Ambiguous`] when several do. AWS referrals find their record by
    /// `ACE_Invitation_Id__c`, and ACE's events find an accepted referral's by
    /// `ACE_Opportunity_Id__c`.
    async fn find_opportunity(
        &self,
        field: &str,
        value: &str,
        fields: &[String],
    ) -> Result<Option<SObject>, SalesforceError>;

    /// Upsert by External ID (`PATCH /sobjects/Opportunity/{field}/{value}`): creates the
    /// record when no record holds `value`, else updates it; a retry after a lost answer
    /// updates what the first call created, so one value never makes two records.
    async fn upsert_opportunity(
        &self,
        field: &str,
        value: &str,
        values: &BTreeMap<String, Option<FieldValue>>,
    ) -> Result<Upserted, SalesforceError>;

    /// Ids of the `object` records whose `field` equals `value` (one SOQL query), e.g. the
    /// accounts named like a referral's customer.
    async fn find_ids(
        &self,
        object: &str,
        field: &str,
        value: &str,
    ) -> Result<Vec<SfRecordId>, SalesforceError>;

    /// The ids of the Opportunities `query` selects, most recently modified first (one SOQL
    /// query, its pages followed up to `query.limit` records): what the sweep and the
    /// operator commands look at.
    async fn find_opportunity_ids(
        &self,
        query: &OpportunityQuery,
    ) -> Result<Vec<SfOpportunityId>, SalesforceError>;

    /// Creates an `object` record (`POST /sobjects/{object}`); its id.
    async fn create_record(
        &self,
        object: &str,
        values: &BTreeMap<String, FieldValue>,
    ) -> Result<SfRecordId, SalesforceError>;

    /// Whether the record was last modified by us: an echo of our own write-back
    /// (salesforce.md §6, guard 5). Needs `LastModifiedById` among the fields read.
    fn is_own_change(&self, record: &SObject, identity: &Identity) -> bool {
        record
            .get("LastModifiedById")
            .and_then(FieldValue::as_text)
            .and_then(|id| SfUserId::parse(id).ok())
            .is_some_and(|id| id == identity.user_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: u16, code: &str) -> SalesforceError {
        SalesforceError::Api {
            operation: "update",
            status,
            errors: vec![ApiError {
                code: ErrorCode::parse(code),
                message: "m".into(),
                fields: vec![],
            }],
            body_excerpt: None,
        }
    }

    #[test]
    fn codes_round_trip_and_unknown_ones_are_kept() {
        for (name, _) in ErrorCode::NAMED {
            assert_eq!(ErrorCode::parse(name).as_str(), *name);
        }
        assert_eq!(
            ErrorCode::parse("DUPLICATE_VALUE"),
            ErrorCode::Other("DUPLICATE_VALUE".into())
        );
        assert_eq!(
            ErrorCode::parse("DUPLICATE_VALUE").as_str(),
            "DUPLICATE_VALUE"
        );
    }

    #[test]
    fn classification_follows_the_error_table() {
        assert_eq!(api(400, "UNABLE_TO_LOCK_ROW").retry_hint(), Some(None));
        assert_eq!(api(500, "UNABLE_TO_LOCK_ROW").retry_hint(), Some(None));
        assert_eq!(
            api(403, "REQUEST_LIMIT_EXCEEDED").retry_hint(),
            Some(Some(LIMIT_EXCEEDED_BACKOFF))
        );
        for permanent in [
            "ENTITY_IS_DELETED",
            "NOT_FOUND",
            "INVALID_FIELD",
            "FIELD_CUSTOM_VALIDATION_EXCEPTION",
            "STRING_TOO_LONG",
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            "MALFORMED_ID",
            "SOMETHING_NEW",
        ] {
            assert!(!api(400, permanent).is_retryable(), "{permanent}");
        }
        let html_503 = SalesforceError::Api {
            operation: "query",
            status: 503,
            errors: vec![],
            body_excerpt: Some("<html>".into()),
        };
        assert!(html_503.is_retryable());
        assert!(
            !SalesforceError::TokenRefused {
                error: TokenErrorCode::InvalidGrant,
                description: "audience is invalid".into()
            }
            .is_retryable()
        );
        assert!(
            SalesforceError::Timeout {
                operation: "query",
                after: Duration::from_secs(1)
            }
            .is_retryable()
        );
    }
}
