//! The hand-over between the record reconciler and the invitation reconcile. A record made
//! from an AWS referral is the invitation reconcile's until it names its ACE opportunity:
//! the record reconciler, which every change of the record reaches (a rep's decision comes
//! as any change does, through the Flow's outbound message), queues an invitation job for it
//! and does nothing else. Once accepted, the record syncs as any other, except that ACE's
//! `PartnerOpportunityIdentifier` is left as AWS made it.

use time::OffsetDateTime;

use super::fields::{self, InvitationStatus};
use crate::ace::mapping::MappedOpportunity;
use crate::domain::ids::{InvitationId, SfOrgId};
use crate::domain::referral::{InvitationReason, ReconcileInvitation};
use crate::domain::sobject::{FieldValue, SObject};
use crate::worker::reconcile::fields as sync_fields;

/// What the record reconciler does with a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handover {
    /// Not a referral's, or an accepted one's: reconcile it.
    NotReferral,
    /// A referral that was rejected or expired, or whose invitation id is not one: nothing
    /// to share with ACE, and nothing to answer.
    Closed,
    /// A referral not yet accepted: the invitation reconcile's.
    Invitation(InvitationId),
}

/// Decides from the record alone (its invitation id, status and ACE id).
pub fn classify(record: &SObject) -> Handover {
    let Some(invitation) = fields::invitation_of(record) else {
        return Handover::NotReferral;
    };
    if sync_fields::ace_id(record).is_some() {
        return Handover::NotReferral;
    }
    match invitation {
        Err(raw) => {
            tracing::warn!(
                invitation = raw,
                "the record's ACE Invitation Id is not an invitation id; the record is left alone"
            );
            Handover::Closed
        }
        Ok(id) => match InvitationStatus::of(record) {
            Some(InvitationStatus::Rejected | InvitationStatus::Expired) => Handover::Closed,
            _ => Handover::Invitation(id),
        },
    }
}

/// The invitation job a hand-over queues, deduplicated on the record's modstamp (the same
/// state of the record handed over twice is one job).
pub fn job(org: &SfOrgId, invitation: InvitationId, record: &SObject) -> ReconcileInvitation {
    ReconcileInvitation {
        org_id: org.clone(),
        invitation_id: invitation,
        reason: InvitationReason::Record {
            record_id: record.id.clone(),
            modstamp: record
                .get("SystemModstamp")
                .and_then(FieldValue::as_datetime),
        },
        queued_at: OffsetDateTime::now_utc(),
    }
}

/// An accepted referral's opportunity was approved before it was ours, and ACE locks
/// `PartnerOpportunityIdentifier` once approved (ace-api.md §8): the record is linked
/// through `ACE_Opportunity_Id__c` instead, and the identifier is not sent.
pub fn keep_partner_identifier(record: &SObject, mapped: &mut MappedOpportunity) {
    if fields::invitation_of(record).is_some() {
        mapped.body.partner_opportunity_identifier = None;
        mapped.sources.remove("PartnerOpportunityIdentifier");
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::domain::ids::SfRecordId;

    fn record(fields: &[(&str, &str)]) -> SObject {
        SObject {
            sobject_type: "Opportunity".into(),
            id: SfRecordId::parse("0065g00000QrStUAAV").unwrap(),
            fields: fields
                .iter()
                .map(|(k, v)| ((*k).to_owned(), FieldValue::Text((*v).to_owned())))
                .collect::<BTreeMap<_, _>>(),
        }
    }

    #[test]
    fn only_referrals_not_yet_accepted_are_handed_over() {
        let id = "engi-v7p8z56whnauo";
        let invitation = InvitationId::parse(id).unwrap();
        let cases: &[(&[(&str, &str)], Handover)] = &[
            (&[], Handover::NotReferral),
            (&[(fields::INVITATION_ID, "")], Handover::NotReferral),
            (
                &[(fields::INVITATION_ID, id)],
                Handover::Invitation(invitation.clone()),
            ),
            (
                &[
                    (fields::INVITATION_ID, id),
                    (fields::INVITATION_STATUS, "Pending"),
                    (fields::DECISION, "Accept"),
                ],
                Handover::Invitation(invitation.clone()),
            ),
            // Accepted, and the acceptance written: syncs as any other record.
            (
                &[
                    (fields::INVITATION_ID, id),
                    (fields::INVITATION_STATUS, "Accepted"),
                    (sync_fields::ACE_ID, "O1234567"),
                ],
                Handover::NotReferral,
            ),
            // Accepted at AWS, not yet written: the invitation reconcile finishes it.
            (
                &[
                    (fields::INVITATION_ID, id),
                    (fields::INVITATION_STATUS, "Accepted"),
                ],
                Handover::Invitation(invitation.clone()),
            ),
            (
                &[
                    (fields::INVITATION_ID, id),
                    (fields::INVITATION_STATUS, "Rejected"),
                    (fields::DECISION, "Accept"),
                ],
                Handover::Closed,
            ),
            (
                &[
                    (fields::INVITATION_ID, id),
                    (fields::INVITATION_STATUS, "Expired"),
                ],
                Handover::Closed,
            ),
            (&[(fields::INVITATION_ID, "not-an-id")], Handover::Closed),
        ];
        for (fields, expected) in cases {
            assert_eq!(&classify(&record(fields)), expected, "{fields:?}");
        }
    }

    #[test]
    fn a_hand_over_of_the_same_record_state_is_one_job() {
        let org = SfOrgId::parse("00D5g00000ABCde").unwrap();
        let invitation = InvitationId::parse("engi-v7p8z56whnauo").unwrap();
        let mut r = record(&[]);
        r.fields.insert(
            "SystemModstamp".into(),
            FieldValue::Datetime(
                crate::domain::sobject::parse_datetime("2026-08-14T18:27:02Z").unwrap(),
            ),
        );
        let a = job(&org, invitation.clone(), &r);
        let b = job(&org, invitation, &r);
        assert_eq!(a.dedup_id(), b.dedup_id());
        assert_eq!(a.group_id().as_str(), "engi-v7p8z56whnauo");
    }
}
