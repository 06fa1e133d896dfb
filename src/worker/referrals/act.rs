//! Act: carries out a referral plan's writes: the rep's answer to AWS (accept or reject),
//! then, for an acceptance that completed, the account the record is linked to. Stops at the
//! first failure and says how far it got.
//!
//! Every write is safe to repeat: the acceptance carries a ClientToken derived from the org,
//! the invitation and the failed task it follows (a retry is the same task); a rejection
//! repeated after it succeeded is refused as a conflict, and the next reconcile observes the
//! invitation as rejected; the account is looked up by name before one is created.

use super::Failure;
use super::plan::{AccountPlan, Action, Plan};
use crate::domain::ids::{ClientToken, InvitationId, SfOrgId, SfRecordId};
use crate::ports::partner_central::{EngagementTask, PartnerCentral};
use crate::ports::salesforce::SalesforceOrg;

/// What acting did.
#[derive(Debug, Default)]
pub struct Acted {
    /// The acceptance task this reconcile started (or found again by its token).
    pub task: Option<EngagementTask>,
    /// The reason the invitation was rejected with, when this reconcile rejected it.
    pub rejected: Option<&'static str>,
    /// The account the accepted record is linked to.
    pub account: Option<SfRecordId>,
    /// Why acting stopped short.
    pub failure: Option<Failure>,
}

/// Carries out `plan`.
pub async fn act(
    ace: &dyn PartnerCentral,
    sf: &dyn SalesforceOrg,
    org: &SfOrgId,
    invitation: &InvitationId,
    plan: &Plan,
) -> Acted {
    let mut acted = Acted::default();
    if let Err(failure) = step(ace, sf, org, invitation, plan, &mut acted).await {
        tracing::info!(error = %crate::telemetry::error_chain(&failure), "acting on the referral stopped");
        acted.failure = Some(failure);
    }
    acted
}

async fn step(
    ace: &dyn PartnerCentral,
    sf: &dyn SalesforceOrg,
    org: &SfOrgId,
    invitation: &InvitationId,
    plan: &Plan,
    acted: &mut Acted,
) -> Result<(), Failure> {
    match &plan.action {
        Some(Action::Accept { after_task }) => {
            let token =
                ClientToken::for_invitation(org, invitation, after_task.as_deref().unwrap_or("-"));
            let task = ace.accept_invitation(invitation.as_str(), &token).await?;
            tracing::info!(status = ?task.status, "acceptance of the referral started at AWS");
            acted.task = Some(task);
        }
        Some(Action::Reject { reason }) => {
            ace.reject_invitation(invitation.as_str(), Some(reason))
                .await?;
            tracing::info!(reason, "referral rejected at AWS");
            acted.rejected = Some(reason);
        }
        None => {}
    }
    if let Some(account) = plan.acceptance.as_ref().and_then(|a| a.account.as_ref()) {
        acted.account = link_account(sf, account).await?;
    }
    Ok(())
}

/// The account named like the customer, or a new one.
async fn link_account(
    sf: &dyn SalesforceOrg,
    account: &AccountPlan,
) -> Result<Option<SfRecordId>, Failure> {
    let found = sf
        .find_ids("Account", &account.match_field, &account.name)
        .await?;
    if let Some(id) = found.into_iter().next() {
        tracing::info!(account = %id, "the referral's customer is an existing account");
        return Ok(Some(id));
    }
    let Some(values) = &account.create else {
        return Ok(None);
    };
    let id = sf.create_record("Account", values).await?;
    tracing::info!(account = %id, "account created for the referral's customer");
    Ok(Some(id))
}
