//! Observe: an AWS referral and its Salesforce record as they are now, in as few reads as its
//! state calls for: the record by its invitation id (one SOQL query); the invitation
//! (GetEngagementInvitation); once an acceptance is wanted or done, the latest acceptance
//! task (ListEngagementByAcceptingInvitationTasks, a read, not the write quota); once that
//! completed, the opportunity it created (GetOpportunity).

use time::OffsetDateTime;

use super::Failure;
use super::fields::{self, Decision, InvitationStatus};
use crate::ace::opportunity::AceOpportunity;
use crate::domain::ids::{AceOpportunityId, InvitationId, SfUserId};
use crate::domain::sobject::{FieldValue, SObject};
use crate::ports::partner_central::{
    AceError, EngagementTask, Invitation, PartnerCentral, TaskStatus,
};
use crate::ports::salesforce::SalesforceOrg;
use crate::worker::reconcile::fields as sync_fields;

/// Both sides of a referral.
#[derive(Debug, Clone)]
pub struct Observed {
    pub invitation: Option<Invitation>,
    pub record: Option<SObject>,
    pub task: Option<EngagementTask>,
    pub opportunity: Option<AceOpportunity>,
    /// A rep changed the record after the latest acceptance task started.
    pub changed_since_task: bool,
}

/// Whether the record already names its ACE opportunity: the record reconciler's from then
/// on, and nothing for this one to do.
pub fn linked(record: &SObject) -> bool {
    sync_fields::ace_id(record).is_some()
}

/// Whether the record shows the referral ended (rejected or expired): nothing can change any
/// more, and AWS may no longer show a rejected invitation (ace-api.md §3: "after rejection,
/// access to the opportunity is lost"), so it is not read again.
pub fn ended(record: &SObject) -> bool {
    matches!(
        InvitationStatus::of(record),
        Some(InvitationStatus::Rejected | InvitationStatus::Expired)
    )
}

/// Reads the referral `id` and the record holding it; `fields` are what the record is read
/// with, `us` is the integration user.
pub async fn observe(
    ace: &dyn PartnerCentral,
    sf: &dyn SalesforceOrg,
    id: &InvitationId,
    fields: &[String],
    us: &SfUserId,
) -> Result<Observed, Failure> {
    let record = sf
        .find_opportunity(fields::INVITATION_ID, id.as_str(), fields)
        .await?;
    let mut observed = Observed {
        invitation: None,
        record,
        task: None,
        opportunity: None,
        changed_since_task: false,
    };
    if observed
        .record
        .as_ref()
        .is_some_and(|r| linked(r) || ended(r))
    {
        return Ok(observed);
    }
    observed.invitation = match ace.get_invitation(id.as_str()).await {
        Ok(invitation) => Some(invitation),
        Err(AceError::NotFound { .. }) => None,
        Err(e) => return Err(e.into()),
    };
    let status = observed
        .invitation
        .as_ref()
        .and_then(|i| i.summary.status.as_deref())
        .and_then(InvitationStatus::from_ace);
    let accept_wanted = observed
        .record
        .as_ref()
        .and_then(Decision::of)
        .is_some_and(|d| d == Decision::Accept);
    let wants_task = match status {
        Some(InvitationStatus::Accepted) => true,
        Some(InvitationStatus::Pending | InvitationStatus::Expired) => {
            accept_wanted && observed.record.is_some()
        }
        _ => false,
    };
    if !wants_task {
        return Ok(observed);
    }
    observed.task = ace.latest_acceptance_task(id.as_str()).await?;
    if let (Some(task), Some(record)) = (&observed.task, &observed.record) {
        observed.changed_since_task = changed_by_rep_since(record, task.start_time, us);
    }
    let created = observed
        .task
        .as_ref()
        .filter(|t| t.status == TaskStatus::Complete)
        .and_then(|t| t.opportunity_id.as_deref())
        .and_then(|id| AceOpportunityId::parse(id).ok());
    if let Some(opportunity) = created {
        observed.opportunity = match ace.get(&opportunity).await {
            Ok(opportunity) => Some(opportunity),
            // AWS creates it as the task ends: not readable yet.
            Err(AceError::NotFound { .. }) => None,
            Err(e) => return Err(e.into()),
        };
    }
    Ok(observed)
}

/// Whether someone other than ace-sync changed the record after `since`.
fn changed_by_rep_since(record: &SObject, since: Option<OffsetDateTime>, us: &SfUserId) -> bool {
    let by_us = record
        .get("LastModifiedById")
        .and_then(FieldValue::as_text)
        .and_then(|id| SfUserId::parse(id).ok())
        .is_some_and(|id| &id == us);
    let modified = record
        .get("SystemModstamp")
        .or_else(|| record.get("LastModifiedDate"))
        .and_then(FieldValue::as_datetime);
    !by_us
        && match (modified, since) {
            (Some(modified), Some(since)) => modified > since,
            _ => false,
        }
}
