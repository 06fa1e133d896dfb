//! Partner Central's events about AWS referrals (ace-api.md §9): every `Engagement
//! Invitation …` event about an opportunity invitation to us becomes an invitation job on the
//! changes queue, in the invitation's message group; the invitation reconcile reads the
//! invitation afresh, so an event's order or repetition changes nothing. And an accepted
//! referral's opportunity, which names no Salesforce record (`PartnerOpportunityIdentifier`
//! is AWS's to set), is found by the record that names it.

use serde::Deserialize;
use time::OffsetDateTime;

use crate::domain::disposition::{Classify, Disposition};
use crate::domain::ids::{AceOpportunityId, InvitationId, SfOpportunityId};
use crate::domain::referral::{InvitationReason, ReconcileInvitation};
use crate::ports::queue::{JobQueue, OutgoingMessage};
use crate::ports::salesforce::{SalesforceError, SalesforceOrg};
use crate::worker::reconcile::fields as sync_fields;

/// The detail-types of referral events.
pub const DETAIL_TYPES: &[&str] = &[
    "Engagement Invitation Created",
    "Engagement Invitation Accepted",
    "Engagement Invitation Rejected",
    "Engagement Invitation Expired",
];

#[derive(Debug, Deserialize)]
struct Event {
    #[serde(default)]
    id: Option<String>,
    detail: Detail,
}

#[derive(Debug, Deserialize)]
struct Detail {
    #[serde(rename = "engagementInvitation")]
    invitation: Option<EventInvitation>,
}

#[derive(Debug, Deserialize)]
struct EventInvitation {
    id: String,
    #[serde(rename = "participantType", default)]
    participant_type: Option<String>,
    #[serde(rename = "payloadType", default)]
    payload_type: Option<String>,
}

/// What became of an invitation event: an outcome for the events metric, and the message's
/// disposition.
pub async fn on_event(
    body: &str,
    detail_type: &str,
    sf: &dyn SalesforceOrg,
    changes: &dyn JobQueue,
) -> (&'static str, Disposition) {
    let event: Event = match serde_json::from_str(body) {
        Ok(event) => event,
        Err(e) => {
            return (
                "invalid",
                Disposition::Permanent {
                    reason: format!("an engagement invitation event that does not parse: {e}"),
                },
            );
        }
    };
    let Some(invitation) = event.detail.invitation else {
        return (
            "invalid",
            Disposition::Permanent {
                reason: "an engagement invitation event without its engagementInvitation".into(),
            },
        );
    };
    // Invitations we sent (our submissions to AWS) and leads are not referrals.
    let received = invitation
        .participant_type
        .as_deref()
        .is_none_or(|p| p.eq_ignore_ascii_case("Receiver"));
    let opportunity = invitation
        .payload_type
        .as_deref()
        .is_none_or(|p| p == "OpportunityInvitation");
    if !received || !opportunity {
        return ("not_referral", Disposition::Done);
    }
    let Ok(id) = InvitationId::parse(&invitation.id) else {
        return (
            "invalid",
            Disposition::Permanent {
                reason: format!("{:?} is not an engagement invitation id", invitation.id),
            },
        );
    };
    let org = match sf.identity().await {
        Ok(identity) => identity.org_id,
        Err(e) => return ("failed", retry_or_keep(&e)),
    };
    let job = ReconcileInvitation {
        org_id: org,
        invitation_id: id.clone(),
        reason: InvitationReason::AceEvent {
            event_id: event.id.unwrap_or_else(|| {
                format!("{id}@{}", OffsetDateTime::now_utc().unix_timestamp_nanos())
            }),
            detail_type: detail_type.to_owned(),
        },
        queued_at: OffsetDateTime::now_utc(),
    };
    match changes.enqueue(vec![OutgoingMessage::from(&job)]).await {
        Ok(()) => {
            tracing::debug!(invitation = %id, detail_type, "invitation reconcile queued");
            ("queued", Disposition::Done)
        }
        Err(e) => (
            "failed",
            Disposition::Retry {
                after: std::time::Duration::ZERO,
                reason: crate::telemetry::error_chain(&e),
            },
        ),
    }
}

/// The record of an accepted referral's opportunity: the one naming it in
/// `ACE_Opportunity_Id__c`.
pub async fn record_of(
    sf: &dyn SalesforceOrg,
    id: &AceOpportunityId,
) -> Result<Option<SfOpportunityId>, SalesforceError> {
    let found = sf
        .find_opportunity(sync_fields::ACE_ID, id.as_str(), &[])
        .await?;
    Ok(found.and_then(|record| SfOpportunityId::try_from(&record.id).ok()))
}

/// A failure reading Salesforce: retried when it may pass; otherwise the message is kept
/// (the deployment's to fix), so it reaches the dead-letter queue and its alarm.
pub fn retry_or_keep(e: &SalesforceError) -> Disposition {
    Disposition::Retry {
        after: match e.retry_hint() {
            Some(after) => after.unwrap_or_default(),
            None => super::KEEP_FOR_OPERATOR,
        },
        reason: crate::telemetry::error_chain(e),
    }
}
