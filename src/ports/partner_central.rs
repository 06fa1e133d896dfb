//! The Partner Central port: what the reconciler asks of ACE, in the sync's own types (the
//! typed [`Opportunity`], ids, review status), never the SDK's. `adapters::partner_central`
//! implements it on `aws-sdk-partnercentralselling`; its errors are classified here, at the seam.
//!
//! The operations are ACE's own, one call each (the adapter only adds the write limiter and
//! retries of throttling and transient failures): the reconciler reads once, plans, and then
//! writes exactly what its plan says. Creation and submission carry deterministic ClientTokens,
//! and updates carry the `LastModifiedDate` that was read, so a repeated or stale write is
//! either answered with the same result or refused, never applied twice.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::ace::mapping::Submission;
use crate::ace::opportunity::{
    AceOpportunity, Contact, ExpectedCustomerSpend, Opportunity, ReviewStatus,
};
use crate::domain::disposition::{Classify, OutageKind};
use crate::domain::ids::{AceOpportunityId, ClientToken};

/// What CreateOpportunity answered.
#[derive(Debug, Clone, PartialEq)]
pub struct Created {
    pub id: AceOpportunityId,
    pub last_modified_date: Option<OffsetDateTime>,
}

/// Something an opportunity is associated with (AssociateOpportunity's
/// `RelatedEntityType` and identifier).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum RelatedEntity {
    /// A partner solution (`S-…`).
    Solution(String),
    /// An AWS product code.
    AwsProduct(String),
}

impl fmt::Display for RelatedEntity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RelatedEntity::Solution(id) => write!(f, "solution {id}"),
            RelatedEntity::AwsProduct(code) => write!(f, "AWS product {code}"),
        }
    }
}

/// `TaskStatus` of an engagement task (ace-api.md §3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskStatus {
    InProgress,
    Complete,
    Failed,
    Other(String),
}

impl TaskStatus {
    pub fn parse(wire: &str) -> TaskStatus {
        match wire {
            "IN_PROGRESS" => TaskStatus::InProgress,
            "COMPLETE" => TaskStatus::Complete,
            "FAILED" => TaskStatus::Failed,
            other => TaskStatus::Other(other.to_owned()),
        }
    }
}

/// The snapshot of a StartEngagement… task: asynchronous at AWS, it may still be running.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngagementTask {
    pub task_id: Option<String>,
    pub status: TaskStatus,
    pub start_time: Option<OffsetDateTime>,
    /// AWS's `ReasonCode` when it failed (ace-api.md §7).
    pub reason_code: Option<String>,
    pub message: Option<String>,
    pub opportunity_id: Option<String>,
    pub engagement_id: Option<String>,
    pub engagement_invitation_id: Option<String>,
}

impl EngagementTask {
    pub fn failed(&self) -> bool {
        self.status == TaskStatus::Failed
    }

    /// A failure that says nothing about the opportunity (AWS was throttling or failing
    /// itself): trying again may succeed without anyone changing anything.
    pub fn failed_transiently(&self) -> bool {
        self.failed()
            && matches!(
                self.reason_code.as_deref(),
                Some(
                    "RequestThrottled"
                        | "InternalError"
                        | "ServiceQuotaExceeded"
                        | "OpportunityConflict"
                        | "EngagementConflict"
                        | "ResourceSnapshotConflict"
                        | "ResourceSnapshotJobConflict"
                        | "EngagementInvitationConflict"
                )
            )
    }
}

/// One line of ListOpportunities.
#[derive(Debug, Clone, PartialEq)]
pub struct OpportunitySummary {
    pub id: AceOpportunityId,
    pub partner_opportunity_identifier: Option<String>,
    pub last_modified_date: Option<OffsetDateTime>,
    pub created_date: Option<OffsetDateTime>,
    pub stage: Option<String>,
    pub review_status: Option<ReviewStatus>,
    pub company_name: Option<String>,
}

/// What a bounded listing of ListOpportunities found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Listing {
    /// Newest first (ListOpportunities' own order).
    pub opportunities: Vec<OpportunitySummary>,
    /// ListOpportunities calls made (reads of the read quota).
    pub reads: u32,
    /// Whether the listing reached its end; `false` when the page limit cut it short.
    pub complete: bool,
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

/// An engagement invitation in full: the opportunity AWS proposes, as far as AWS shares it
/// before acceptance (the customer's address, contacts and AWS account are withheld until
/// then, ace-api.md §3).
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
    /// AWS's people on the referral (`SenderContacts`, one to three).
    pub sender_contacts: Vec<Contact>,
    /// `Project.ExpectedCustomerSpend`.
    pub expected_customer_spend: Vec<ExpectedCustomerSpend>,
}

/// The port. Reads spend the read quota (10/s), writes the write quota (1/s, ace-api.md §10).
#[async_trait]
pub trait PartnerCentral: Send + Sync {
    /// Opportunities whose PartnerOpportunityIdentifier is `partner_id` (our Salesforce id),
    /// newest first, among those modified at or after `modified_after`. ListOpportunities
    /// cannot filter on the identifier, so this pages through what the date filter leaves: one
    /// read per 100 opportunities, at most `ace.find_max_pages` reads.
    async fn find_by_partner_id(
        &self,
        partner_id: &str,
        modified_after: Option<OffsetDateTime>,
    ) -> Result<Vec<OpportunitySummary>, AceError>;

    /// Opportunities of the catalog modified at or after `after` (ListOpportunities with
    /// `AfterLastModifiedDate`), newest first, in at most `max_pages` reads of 100: what the
    /// sweep looks at on ACE's side.
    async fn list_modified_since(
        &self,
        after: OffsetDateTime,
        max_pages: u32,
    ) -> Result<Listing, AceError>;

    /// GetOpportunity.
    async fn get(&self, id: &AceOpportunityId) -> Result<AceOpportunity, AceError>;

    /// CreateOpportunity. Repeating it with the same token and body answers the same
    /// opportunity; the same token with another body is a `Conflict`.
    async fn create(&self, body: &Opportunity, token: &ClientToken) -> Result<Created, AceError>;

    /// UpdateOpportunity: replaces the whole record (ace-api.md §6) with `body`, if ACE's
    /// `LastModifiedDate` is still `last_modified_date` (else `Conflict`). Answers the new
    /// `LastModifiedDate`.
    async fn update(
        &self,
        id: &AceOpportunityId,
        body: &Opportunity,
        last_modified_date: OffsetDateTime,
    ) -> Result<OffsetDateTime, AceError>;

    /// AssociateOpportunity.
    async fn associate(
        &self,
        id: &AceOpportunityId,
        entity: &RelatedEntity,
    ) -> Result<(), AceError>;

    /// DisassociateOpportunity.
    async fn disassociate(
        &self,
        id: &AceOpportunityId,
        entity: &RelatedEntity,
    ) -> Result<(), AceError>;

    /// StartEngagementFromOpportunityTask: submits for AWS review. `token` makes a repeat
    /// answer the same task. A task that failed is an answer, not an error (ace-api.md §7).
    async fn start_engagement(
        &self,
        id: &AceOpportunityId,
        submission: &Submission,
        token: &ClientToken,
    ) -> Result<EngagementTask, AceError>;

    /// The most recent StartEngagementFromOpportunityTask of this opportunity
    /// (ListEngagementFromOpportunityTasks, newest first, one result).
    async fn latest_engagement_task(
        &self,
        id: &AceOpportunityId,
    ) -> Result<Option<EngagementTask>, AceError>;

    /// GetAwsOpportunitySummary.
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

    /// The most recent StartEngagementByAcceptingInvitationTask of this invitation
    /// (ListEngagementByAcceptingInvitationTasks, newest first, one result): a read, so an
    /// acceptance is followed without spending the write quota.
    async fn latest_acceptance_task(&self, id: &str) -> Result<Option<EngagementTask>, AceError>;
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
    /// A stale `LastModifiedDate` (someone else changed the opportunity since it was read), or
    /// a ClientToken reused with another body.
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
    /// When only an operator can fix this, what kind of outage it is: Partner Central denies
    /// the account or role, or does not know something the settings name (a solution), or
    /// answers what this version cannot read.
    pub fn deployment_problem(&self) -> Option<OutageKind> {
        match self {
            AceError::AccessDenied { .. } | AceError::NotFound { .. } => {
                Some(OutageKind::PartnerCentralAccess)
            }
            AceError::Unexpected { .. } => Some(OutageKind::Unexpected),
            _ => None,
        }
    }
}

impl Classify for AceError {
    fn retry_hint(&self) -> Option<Option<Duration>> {
        match self {
            AceError::Throttled { .. } | AceError::Unavailable { .. } => Some(None),
            // Quotas are per rolling 24 hours (ace-api.md §10): not worth retrying soon.
            AceError::QuotaExceeded { .. } => Some(Some(Duration::from_secs(15 * 60))),
            // Someone changed the opportunity between our read and our write: read again and
            // plan anew (ace-api.md §6). A ClientToken reused with another body (the other
            // operations' conflict) will not go away by itself.
            AceError::Conflict { operation, .. } if *operation == "UpdateOpportunity" => {
                Some(Some(Duration::ZERO))
            }
            AceError::Conflict { .. }
            | AceError::Validation { .. }
            | AceError::NotFound { .. }
            | AceError::AccessDenied { .. }
            | AceError::Unexpected { .. } => None,
        }
    }
}
