//! The referrals' share of the periodic sweep: EventBridge delivers best effort (ace-api.md
//! §9), so the open referrals are listed now and then, and each becomes an invitation job. A
//! referral whose `Engagement Invitation Created` event was lost is brought in by the next
//! sweep; one already brought in costs a reconcile that changes nothing.

use time::OffsetDateTime;

use crate::domain::ids::{InvitationId, SfOrgId};
use crate::domain::referral::{InvitationReason, ReconcileInvitation};
use crate::ports::partner_central::{AceError, PartnerCentral};

/// One invitation job per open (`PENDING`) opportunity invitation sent to us, in the
/// sweep's time `bucket` (replicas sweeping in the same bucket queue each invitation once).
/// One ListEngagementInvitations read per 100 invitations.
pub async fn sweep_jobs(
    ace: &dyn PartnerCentral,
    org: &SfOrgId,
    bucket: i64,
) -> Result<Vec<ReconcileInvitation>, AceError> {
    let now = OffsetDateTime::now_utc();
    let open = ace.list_invitations(&["PENDING"]).await?;
    let mut jobs: Vec<ReconcileInvitation> = Vec::new();
    for summary in open {
        if summary
            .payload_type
            .as_deref()
            .is_some_and(|p| p != "OpportunityInvitation")
        {
            continue;
        }
        let Ok(id) = InvitationId::parse(&summary.id) else {
            tracing::warn!(
                invitation = summary.id,
                "ListEngagementInvitations listed an id that is not one; skipped"
            );
            continue;
        };
        if jobs.iter().any(|j| j.invitation_id == id) {
            continue;
        }
        jobs.push(ReconcileInvitation {
            org_id: org.clone(),
            invitation_id: id,
            reason: InvitationReason::Sweep { bucket },
            queued_at: now,
        });
    }
    Ok(jobs)
}
