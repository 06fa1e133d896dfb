//! The Partner Central port: what the worker asks of ACE, in the sync's own types (the typed
//! [`Opportunity`], ids, review status), never the SDK's. `adapters::partner_central` implements
//! it on `aws-sdk-partnercentralselling`; its errors are classified here, at the seam.
//!
//! Every write is idempotent or guarded: creation carries a ClientToken derived from the
//! Salesforce org, record and generation (a crash and retry can never create a second
//! opportunity), updates merge with ACE's current record and its `LastModifiedDate`, and an
//! update while AWS reviews the opportunity is answered with [`UpdateOutcome::Deferred`]
//! instead of a call ACE would refuse.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::ace::mapping::Submission;
use crate::ace::opportunity::{AceOpportunity, Opportunity, ReviewStatus};
use crate::domain::disposition::Classify;
use crate::domain::ids::{AceOpportunityId, ClientToken, SfOpportunityId, SfOrgId};

/// Where a new opportunity comes from, for its idempotency tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub org: SfOrgId,
    pub record: SfOpportunityId,
    /// 0 for the first opportunity of a record; raised only to create a new one on purpose
    /// (e.g. after AWS rejected the first).
    pub generation: u32,
}

/// A new opportunity and what goes with it.
#[derive(Debug, Clone, PartialEq)]
pub struct CreateRequest {
    pub origin: Origin,
    pub body: Opportunity,
    /// Partner solutions (`S-…`) associated right after creation.
    pub solutions: Vec<String>,
    /// AWS product codes associated after creation.
    pub aws_products: Vec<String>,
    /// When set, the opportunity is submitted for AWS review (StartEngagementFromOpportunityTask).
    pub submission: Option<Submission>,
}

/// The snapshot of a StartEngagement… task (asynchronous at AWS: it may still be running).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngagementTask {
    pub task_id: Option<String>,
    /// `IN_PROGRESS`, `COMPLETE` or `FAILED` (ace-api.md §3).
    pub status: Option<String>,
    pub reason_code: Option<String>,
    pub message: Option<String>,
    pub opportunity_id: Option<String>,
    pub engagement_id: Option<String>,
    pub engagement_invitation_id: Option<String>,
}

impl EngagementTask {
    pub fn failed(&self) -> bool {
        self.status.as_deref() == Some("FAILED")
    }
}

/// What `create` did.
#[derive(Debug, Clone, PartialEq)]
pub struct Created {
    pub id: AceOpportunityId,
    pub last_modified_date: OffsetDateTime,
    /// CreateOpportunity answered that the ClientToken was used before with another body, and
    /// the opportunity was found by its Salesforce id: the caller should update it. (A plain
    /// replay of the same request returns the same opportunity with `existed: false`.)
    pub existed: bool,
    /// Solutions and products associated by this call (those already there are skipped).
    pub associated: Vec<String>,
    /// The submission task, when the request asked for one and the opportunity was not
    /// submitted before.
    pub submission: Option<EngagementTask>,
}

/// What `update` (or `close`) did.
#[derive(Debug, Clone, PartialEq)]
pub enum UpdateOutcome {
    Updated {
        last_modified_date: OffsetDateTime,
        /// The ACE fields that changed.
        changed: Vec<String>,
        /// Changes not sent because ACE locks those fields now (ace-api.md §8).
        withheld: Vec<String>,
    },
    /// ACE holds these values already: no call was made.
    Unchanged { withheld: Vec<String> },
    /// AWS is reviewing the opportunity (`Submitted` / `In review`): try again later.
    Deferred { review_status: ReviewStatus },
    /// ACE takes no more changes (`Rejected`, or `Closed Lost`).
    Closed {
        review_status: Option<ReviewStatus>,
        stage: Option<String>,
    },
}

/// How a Salesforce close ends the ACE opportunity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Closing {
    /// Closed Won: stage `Launched`.
    Won,
    /// Closed Lost, with an ACE `ClosedLostReason`.
    Lost { reason: String },
}

/// One line of ListOpportunities.
#[derive(Debug, Clone, PartialEq)]
pub struct OpportunitySummary {
    pub id: AceOpportunityId,
    pub partner_opportunity_identifier: Option<String>,
    pub last_modified_date: Option<OffsetDateTime>,
    pub stage: Option<String>,
    pub review_status: Option<ReviewStatus>,
    pub company_name: Option<String>,
}

/// Narrows the search for an opportunity by its Salesforce id: ListOpportunities cannot filter
/// on PartnerOpportunityIdentifier, so it pages through what these filters leave.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FindHint {
    /// ACE's `CustomerCompanyName` filter (exact match).
    pub customer_company_name: Option<String>,
    /// Only opportunities modified at or after this instant.
    pub modified_after: Option<OffsetDateTime>,
}

/// A member of the AWS team on an opportunity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsTeamMember {
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// `AWSSalesRep`, `PDM`, `PSM`, … (AwsMemberBusinessTitle).
    pub business_title: Option<String>,
}

/// AWS's side of an opportunity (GetAwsOpportunitySummary): who at AWS works on it and how.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AwsSummary {
    pub involvement_type: Option<String>,
    pub involvement_type_change_reason: Option<String>,
    pub visibility: Option<String>,
    /// AWS's own stage (AwsOpportunityStage), not the partner's.
    pub stage: Option<String>,
    pub closed_lost_reason: Option<String>,
    pub next_steps: Option<String>,
    pub target_close_date: Option<String>,
    pub team: Vec<AwsTeamMember>,
    pub engagement_score: Option<String>,
    pub next_best_actions: Option<String>,
}

/// An engagement invitation (an AWS referral) as listed.
#[derive(Debug, Clone, PartialEq)]
pub struct InvitationSummary {
    pub id: String,
    pub arn: Option<String>,
    pub status: Option<String>,
    pub payload_type: Option<String>,
    pub engagement_title: Option<String>,
    pub sender_company_name: Option<String>,
    pub invitation_date: Option<OffsetDateTime>,
    pub expiration_date: Option<OffsetDateTime>,
}

/// An engagement invitation in full: the opportunity AWS proposes.
#[derive(Debug, Clone, PartialEq)]
pub struct Invitation {
    pub summary: InvitationSummary,
    pub invitation_message: Option<String>,
    pub rejection_reason: Option<String>,
    pub customer_company_name: Option<String>,
    pub customer_industry: Option<String>,
    pub customer_website_url: Option<String>,
    pub customer_country_code: Option<String>,
    pub project_title: Option<String>,
    pub business_problem: Option<String>,
    pub target_completion_date: Option<String>,
}

/// The port.
#[async_trait]
pub trait PartnerCentral: Send + Sync {
    /// The opportunity whose PartnerOpportunityIdentifier is `partner_id` (our Salesforce id).
    /// Pages through ListOpportunities narrowed by `hint`; one read call per 100 opportunities
    /// left by the filters, at most `ace.find_max_pages` calls.
    async fn find_by_partner_id(
        &self,
        partner_id: &str,
        hint: &FindHint,
    ) -> Result<Option<OpportunitySummary>, AceError>;

    /// CreateOpportunity, then AssociateOpportunity for each solution and product, then (when
    /// asked) StartEngagementFromOpportunityTask. Replaying the same origin returns the
    /// existing opportunity and resumes at the first step not done.
    async fn create(&self, request: &CreateRequest) -> Result<Created, AceError>;

    async fn get(&self, id: &AceOpportunityId) -> Result<AceOpportunity, AceError>;

    /// GetOpportunity → merge `desired` into it → UpdateOpportunity with the fetched
    /// LastModifiedDate, sending only what the review status allows and nothing at all when
    /// ACE already agrees. A ConflictException refetches and retries once.
    async fn update(
        &self,
        id: &AceOpportunityId,
        desired: &Opportunity,
    ) -> Result<UpdateOutcome, AceError>;

    /// Submits for AWS review with StartEngagementFromOpportunityTask; `token` makes a retry
    /// return the same task. A task that ends FAILED is returned as a `Validation` error
    /// carrying AWS's reason code and message.
    async fn submit(
        &self,
        id: &AceOpportunityId,
        submission: &Submission,
        token: &ClientToken,
    ) -> Result<EngagementTask, AceError>;

    /// SubmitOpportunity: submits without starting an engagement task (e.g. once more after
    /// `Action Required`, when the update did not resubmit it).
    async fn resubmit(
        &self,
        id: &AceOpportunityId,
        submission: &Submission,
    ) -> Result<(), AceError>;

    /// Moves the opportunity to `Launched` or `Closed Lost` (an update).
    async fn close(
        &self,
        id: &AceOpportunityId,
        closing: &Closing,
    ) -> Result<UpdateOutcome, AceError>;

    async fn aws_summary(&self, id: &AceOpportunityId) -> Result<AwsSummary, AceError>;

    /// Invitations sent to us, optionally only those with these statuses (`PENDING`, …).
    async fn list_invitations(&self, statuses: &[&str])
    -> Result<Vec<InvitationSummary>, AceError>;

    async fn get_invitation(&self, id: &str) -> Result<Invitation, AceError>;

    /// StartEngagementByAcceptingInvitationTask: accepts and creates our opportunity.
    async fn accept_invitation(
        &self,
        id: &str,
        token: &ClientToken,
    ) -> Result<EngagementTask, AceError>;

    async fn reject_invitation(&self, id: &str, reason: Option<&str>) -> Result<(), AceError>;
}

/// One entry of a ValidationException's ErrorList.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field_name: Option<String>,
    pub message: String,
    /// `REQUIRED_FIELD_MISSING`, `INVALID_ENUM_VALUE`, … (ValidationExceptionErrorCode).
    pub code: String,
}

/// Why a Partner Central call failed, classified at the seam.
#[derive(Debug, thiserror::Error)]
pub enum AceError {
    /// ACE refused the request's content; the ErrorList says what.
    #[error("{operation}: ACE refused the request ({reason}): {message}{}", field_errors(.errors))]
    Validation {
        operation: &'static str,
        /// `REQUEST_VALIDATION_FAILED` or `BUSINESS_VALIDATION_FAILED`.
        reason: String,
        message: String,
        errors: Vec<FieldError>,
    },
    #[error("{operation}: not found: {message}")]
    NotFound {
        operation: &'static str,
        message: String,
    },
    #[error("{operation}: access denied{}: {message}", .reason.as_deref().map(|r| format!(" ({r})")).unwrap_or_default())]
    AccessDenied {
        operation: &'static str,
        reason: Option<String>,
        message: String,
    },
    /// A conflict that a refetch did not resolve (a stale LastModifiedDate twice, or a
    /// ClientToken reused with another body).
    #[error("{operation}: conflict: {message}")]
    Conflict {
        operation: &'static str,
        message: String,
    },
    /// Throttled even after backing off.
    #[error("{operation}: throttled by Partner Central: {message}")]
    Throttled {
        operation: &'static str,
        message: String,
    },
    #[error("{operation}: service quota exceeded: {message}")]
    QuotaExceeded {
        operation: &'static str,
        message: String,
    },
    /// 5xx, timeouts, connection failures.
    #[error("{operation}: Partner Central is unavailable")]
    Unavailable {
        operation: &'static str,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// An answer we cannot use (e.g. an opportunity id that is not one).
    #[error("{operation}: unexpected answer from Partner Central: {what}")]
    Unexpected {
        operation: &'static str,
        what: String,
    },
    /// A later step failed after the opportunity was created: the id is known, and a retry
    /// resumes from there.
    #[error("{step} failed after opportunity {id} was created")]
    Incomplete {
        id: AceOpportunityId,
        step: &'static str,
        #[source]
        source: Box<AceError>,
    },
}

fn field_errors(errors: &[FieldError]) -> String {
    if errors.is_empty() {
        return String::new();
    }
    let list: Vec<String> = errors
        .iter()
        .map(|e| match &e.field_name {
            Some(field) => format!("{field} ({}): {}", e.code, e.message),
            None => format!("{}: {}", e.code, e.message),
        })
        .collect();
    format!(" [{}]", list.join("; "))
}

impl AceError {
    /// The opportunity created before the failure, if any.
    pub fn created_id(&self) -> Option<&AceOpportunityId> {
        match self {
            AceError::Incomplete { id, .. } => Some(id),
            _ => None,
        }
    }

    /// The error that decides what to do (an `Incomplete`'s cause).
    pub fn root(&self) -> &AceError {
        match self {
            AceError::Incomplete { source, .. } => source.root(),
            other => other,
        }
    }
}

impl Classify for AceError {
    fn retry_hint(&self) -> Option<Option<Duration>> {
        match self {
            AceError::Throttled { .. } | AceError::Unavailable { .. } => Some(None),
            // Quotas are per rolling 24 hours (ace-api.md §10): not worth retrying soon.
            AceError::QuotaExceeded { .. } => Some(Some(Duration::from_secs(15 * 60))),
            AceError::Incomplete { source, .. } => source.retry_hint(),
            AceError::Validation { .. }
            | AceError::NotFound { .. }
            | AceError::AccessDenied { .. }
            | AceError::Conflict { .. }
            | AceError::Unexpected { .. } => None,
        }
    }
}

impl fmt::Display for Closing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Closing::Won => f.write_str("Launched"),
            Closing::Lost { reason } => write!(f, "Closed Lost ({reason})"),
        }
    }
}
