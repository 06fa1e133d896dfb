//! The queue contract for AWS referrals: a job names *which* engagement invitation to
//! reconcile and *why*, never what to do (the invitation reconcile reads the invitation and
//! its Salesforce record and decides). It rides the changes FIFO queue as
//! [`Job::ReconcileInvitationV1`](super::job::Job::ReconcileInvitationV1), with the
//! invitation id as its message group, so one reconcile per invitation runs at a time across
//! every process, whichever trigger queued it.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::ids::{InvitationId, SfOrgId, SfRecordId};

/// Reconcile one AWS referral with its Salesforce record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReconcileInvitation {
    /// The org the record is (or will be) in; refused by a worker connected to another.
    pub org_id: SfOrgId,
    pub invitation_id: InvitationId,
    pub reason: InvitationReason,
    #[serde(with = "time::serde::rfc3339")]
    pub queued_at: OffsetDateTime,
}

/// Why an invitation is looked at: for logs, metrics and deduplication only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum InvitationReason {
    /// A Partner Central `Engagement Invitation …` event.
    AceEvent {
        event_id: String,
        detail_type: String,
    },
    /// The record reconciler handed the invitation's record over: a rep's decision, or a
    /// record that holds an invitation and no ACE opportunity yet.
    Record {
        record_id: SfRecordId,
        /// The record's `SystemModstamp` when it was handed over.
        #[serde(
            default,
            with = "time::serde::rfc3339::option",
            skip_serializing_if = "Option::is_none"
        )]
        modstamp: Option<OffsetDateTime>,
    },
    /// The invitation reconcile asked to be run again (an acceptance task still running).
    CheckAgain {
        attempt: u32,
        /// Not before this instant (FIFO queues have no per-message delay).
        #[serde(with = "time::serde::rfc3339")]
        not_before: OffsetDateTime,
    },
    /// The periodic sweep of open invitations, in its time bucket.
    Sweep { bucket: i64 },
}

impl InvitationReason {
    /// A short label for logs and metrics.
    pub fn label(&self) -> &'static str {
        match self {
            InvitationReason::AceEvent { .. } => "ace_event",
            InvitationReason::Record { .. } => "record",
            InvitationReason::CheckAgain { .. } => "check_again",
            InvitationReason::Sweep { .. } => "sweep",
        }
    }
}

/// Serializes a borrowed invitation job exactly as `Job::ReconcileInvitationV1` does.
#[derive(Serialize)]
#[serde(tag = "type")]
enum JobRef<'a> {
    #[serde(rename = "reconcile_invitation.v1")]
    ReconcileInvitationV1(&'a ReconcileInvitation),
}

impl ReconcileInvitation {
    /// The queue message body.
    pub fn encode(&self) -> String {
        // Serializing plain data with string keys cannot fail.
        serde_json::to_string(&JobRef::ReconcileInvitationV1(self)).unwrap_or_default()
    }

    /// The FIFO message group: one reconcile per invitation at a time. Invitation ids
    /// (`engi-…`) never collide with record ids, the record jobs' groups.
    pub fn group_id(&self) -> &InvitationId {
        &self.invitation_id
    }

    /// SQS's deduplication id: a repeat of the same trigger is dropped, any new one kept
    /// (the event's id; the record's modstamp; the sweep's bucket; the check's attempt and
    /// time).
    pub fn dedup_id(&self) -> String {
        let invitation = &self.invitation_id;
        match &self.reason {
            InvitationReason::AceEvent { event_id, .. } => format!(
                "iev:{}",
                event_id
                    .chars()
                    .filter(|c| c.is_ascii_graphic())
                    .take(100)
                    .collect::<String>()
            ),
            InvitationReason::Record { modstamp, .. } => format!(
                "handover:{invitation}:{}",
                modstamp.map_or(self.queued_at.unix_timestamp() * 1000, |at| {
                    (at.unix_timestamp_nanos() / 1_000_000) as i64
                })
            ),
            InvitationReason::CheckAgain { attempt, .. } => format!(
                "iagain:{invitation}:{attempt}:{}",
                self.queued_at.unix_timestamp()
            ),
            InvitationReason::Sweep { bucket } => format!("isweep:{invitation}:{bucket}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::job::{Job, Target};
    use crate::domain::sobject::parse_datetime;

    fn job(reason: InvitationReason) -> ReconcileInvitation {
        ReconcileInvitation {
            org_id: SfOrgId::parse("00D5g00000ABCdeEAH").unwrap(),
            invitation_id: InvitationId::parse("engi-v7p8z56whnauo").unwrap(),
            reason,
            queued_at: parse_datetime("2026-08-14T18:27:03Z").unwrap(),
        }
    }

    #[test]
    fn invitation_jobs_round_trip_as_their_own_variant() {
        let sweep = job(InvitationReason::Sweep { bucket: 7 });
        let body = sweep.encode();
        assert!(
            body.starts_with(r#"{"type":"reconcile_invitation.v1""#),
            "{body}"
        );
        let decoded = Job::decode(&body).unwrap();
        assert_eq!(decoded, Job::ReconcileInvitationV1(sweep.clone()));
        assert_eq!(decoded.encode(), body);
        assert!(matches!(decoded.into_target(), Target::Invitation(j) if j == sweep));
        assert!(Job::decode(&body.replace("engi-v7p8z56whnauo", "engi-x")).is_err());
        assert!(Job::decode(&body.replace(r#""org_id""#, r#""x":1,"org_id""#)).is_err());
    }

    #[test]
    fn dedup_ids_repeat_only_for_the_same_trigger() {
        let record = |at: &str| InvitationReason::Record {
            record_id: SfRecordId::parse("0065g00000QrStUAAV").unwrap(),
            modstamp: Some(parse_datetime(at).unwrap()),
        };
        assert_eq!(
            job(record("2026-08-14T18:27:02Z")).dedup_id(),
            job(record("2026-08-14T18:27:02Z")).dedup_id()
        );
        assert_ne!(
            job(record("2026-08-14T18:27:02Z")).dedup_id(),
            job(record("2026-08-14T18:29:02Z")).dedup_id()
        );
        assert_ne!(
            job(InvitationReason::Sweep { bucket: 1 }).dedup_id(),
            job(InvitationReason::Sweep { bucket: 2 }).dedup_id()
        );
        let event = job(InvitationReason::AceEvent {
            event_id: "ü".repeat(3) + &"e".repeat(300),
            detail_type: "Engagement Invitation Created".into(),
        });
        for id in [
            event.dedup_id(),
            job(record("2026-08-14T18:27:02Z")).dedup_id(),
        ] {
            assert!(
                id.len() <= 128 && id.chars().all(|c| c.is_ascii_graphic()),
                "{id}"
            );
        }
    }
}
