//! The queue contract: a job names *which* Salesforce record (or AWS referral, see
//! [`super::referral`]) to reconcile and *why*, never what to do (the reconciler reads both
//! sides and decides). Versioned JSON, one tagged
//! variant per shape; an old shape stays decodable for as long as messages of that shape can
//! still be on a queue (14 days on SQS).
//!
//! Every job for a record goes through the changes FIFO queue with the record id as its
//! message group, so SQS runs one reconcile per record at a time across every process.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::ids::{AceOpportunityId, ActionId, InvitationId, NotificationId, SfOrgId, SfRecordId};
use super::referral::ReconcileInvitation;
use super::sobject::{FieldValue, SObject};

/// A unit of work on the changes queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum Job {
    /// Bring one Salesforce record and its ACE opportunity into agreement.
    #[serde(rename = "reconcile.v1")]
    ReconcileV1(Reconcile),
    /// The shape the ingress queued before reconcile jobs (the whole record, as Salesforce
    /// sent it). Still read, as a reconcile of its record, until none can be left on a queue.
    #[serde(rename = "salesforce.record_changed.v1")]
    RecordChangedV1(RecordChanged),
    /// Bring one AWS referral (an engagement invitation) and its Salesforce record into
    /// agreement (worker/referrals).
    #[serde(rename = "reconcile_invitation.v1")]
    ReconcileInvitationV1(ReconcileInvitation),
}

/// What a job names: a record, or an AWS referral.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    Record(Reconcile),
    Invitation(ReconcileInvitation),
}

/// Reconcile one record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reconcile {
    /// The org the record belongs to; the worker refuses a job for another org than the one
    /// it is connected to.
    pub org_id: SfOrgId,
    /// The Salesforce record (an Opportunity) to reconcile.
    pub record_id: SfRecordId,
    pub reason: Reason,
    /// When the change that triggered this happened at its source (Salesforce's
    /// `SystemModstamp`, or the event's time), for the lag figures. Absent when unknown.
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub changed_at: Option<OffsetDateTime>,
    /// When the job was queued.
    #[serde(with = "time::serde::rfc3339")]
    pub queued_at: OffsetDateTime,
}

/// Why a record is looked at. It changes nothing in what the reconciler does (that is decided
/// from both sides as they are now); it is kept for logs, metrics and deduplication.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Reason {
    /// A Salesforce outbound message notification.
    OutboundMessage {
        notification_id: NotificationId,
        action_id: ActionId,
    },
    /// A Partner Central EventBridge event about the record's ACE opportunity.
    AceEvent {
        /// EventBridge's event id.
        event_id: String,
        detail_type: String,
        ace_id: AceOpportunityId,
    },
    /// The reconciler asked to be run again (a submission task still running, a change ACE
    /// refused while AWS reviewed).
    CheckAgain {
        /// How many times in a row it asked.
        attempt: u32,
        /// Not before this instant: FIFO queues have no per-message delay, so a worker that
        /// receives the job earlier holds it (invisible) until then.
        #[serde(with = "time::serde::rfc3339")]
        not_before: OffsetDateTime,
    },
    /// The periodic sweep, in the time bucket that dedupes replicas sweeping at once.
    Sweep { bucket: i64 },
    /// The first load, or a move from another connector.
    Backfill,
    /// An operator or a rep asked for it (e.g. "Sync now").
    Manual { request_id: String },
    /// The AWS referral the record came from was accepted and the record now names its ACE
    /// opportunity (worker/referrals): from here on it syncs as any other.
    Referral { invitation_id: InvitationId },
}

impl Reason {
    /// A short label for logs and metrics.
    pub fn label(&self) -> &'static str {
        match self {
            Reason::OutboundMessage { .. } => "outbound_message",
            Reason::AceEvent { .. } => "ace_event",
            Reason::CheckAgain { .. } => "check_again",
            Reason::Sweep { .. } => "sweep",
            Reason::Backfill => "backfill",
            Reason::Manual { .. } => "manual",
            Reason::Referral { .. } => "referral",
        }
    }
}

/// The legacy job: one notification of an outbound message with the fields Salesforce sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordChanged {
    pub org_id: SfOrgId,
    pub action_id: ActionId,
    pub notification_id: NotificationId,
    pub record: SObject,
    #[serde(with = "time::serde::rfc3339")]
    pub received_at: OffsetDateTime,
}

/// Why a queue message is not a job this version understands.
#[derive(Debug, thiserror::Error)]
#[error("queue message is not a job this version of ace-sync understands")]
pub struct JobDecodeError(#[from] serde_json::Error);

impl Job {
    pub fn encode(&self) -> String {
        // Serializing plain data with string keys cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn decode(body: &str) -> Result<Job, JobDecodeError> {
        Ok(serde_json::from_str(body)?)
    }

    /// The org the job is for.
    pub fn org_id(&self) -> &SfOrgId {
        match self {
            Job::ReconcileV1(job) => &job.org_id,
            Job::RecordChangedV1(change) => &change.org_id,
            Job::ReconcileInvitationV1(job) => &job.org_id,
        }
    }

    /// The record reconcile this job asks for (a legacy job becomes one); `None` for a job
    /// about an AWS referral.
    pub fn into_reconcile(self) -> Option<Reconcile> {
        match self.into_target() {
            Target::Record(job) => Some(job),
            Target::Invitation(_) => None,
        }
    }

    /// What this job names.
    pub fn into_target(self) -> Target {
        Target::Record(match self {
            Job::ReconcileInvitationV1(job) => return Target::Invitation(job),
            Job::ReconcileV1(job) => job,
            Job::RecordChangedV1(change) => Reconcile {
                changed_at: change
                    .record
                    .get("SystemModstamp")
                    .and_then(FieldValue::as_datetime),
                org_id: change.org_id,
                record_id: change.record.id,
                reason: Reason::OutboundMessage {
                    notification_id: change.notification_id,
                    action_id: change.action_id,
                },
                queued_at: change.received_at,
            },
        })
    }
}

/// Serializes a borrowed reconcile job exactly as [`Job::ReconcileV1`] does.
#[derive(Serialize)]
#[serde(tag = "type")]
enum JobRef<'a> {
    #[serde(rename = "reconcile.v1")]
    ReconcileV1(&'a Reconcile),
}

impl Reconcile {
    /// The queue message body: the job as [`Job::ReconcileV1`].
    pub fn encode(&self) -> String {
        // Serializing plain data with string keys cannot fail.
        serde_json::to_string(&JobRef::ReconcileV1(self)).unwrap_or_default()
    }

    /// The FIFO message group: all jobs for one record run one at a time, in order.
    pub fn group_id(&self) -> &SfRecordId {
        &self.record_id
    }

    /// SQS's deduplication id (≤ 128 characters of alphanumerics and punctuation), chosen so
    /// that a repeat of the *same* trigger is dropped and any new one is kept:
    /// - an outbound message: its notification id and `SystemModstamp` (a redelivery with a
    ///   newer modstamp carries a newer change, salesforce.md §1.9);
    /// - an ACE event: EventBridge's event id;
    /// - the sweep: the record and the sweep's time bucket, so that replicas sweeping at once
    ///   queue the record once;
    /// - a check-again: the record, the attempt and the time it was asked;
    /// - a manual request: its request id;
    /// - an accepted referral: the record and the invitation (it is accepted once).
    pub fn dedup_id(&self) -> String {
        let modstamp = self
            .changed_at
            .map(|at| (at.unix_timestamp_nanos() / 1_000_000).to_string());
        match &self.reason {
            Reason::OutboundMessage {
                notification_id, ..
            } => match modstamp {
                Some(ms) => format!("{notification_id}:{ms}"),
                None => notification_id.to_string(),
            },
            Reason::AceEvent { event_id, .. } => format!("ev:{}", clip(event_id)),
            Reason::Sweep { bucket } => format!("sweep:{}:{bucket}", self.record_id),
            Reason::CheckAgain { attempt, .. } => format!(
                "again:{}:{attempt}:{}",
                self.record_id,
                self.queued_at.unix_timestamp()
            ),
            Reason::Backfill => format!(
                "backfill:{}:{}",
                self.record_id,
                self.queued_at.unix_timestamp()
            ),
            Reason::Manual { request_id } => format!("manual:{}", clip(request_id)),
            Reason::Referral { invitation_id } => {
                format!("referral:{}:{invitation_id}", self.record_id)
            }
        }
    }
}

/// Keeps an outside id within SQS's deduplication id alphabet and length.
fn clip(raw: &str) -> String {
    raw.chars()
        .filter(|c| c.is_ascii_graphic())
        .take(100)
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::domain::sobject::parse_datetime;

    fn org() -> SfOrgId {
        SfOrgId::parse("00D5g00000ABCdeEAH").unwrap()
    }

    fn record() -> SfRecordId {
        SfRecordId::parse("0065g00000QrStUAAV").unwrap()
    }

    fn outbound(modstamp: Option<&str>) -> Reconcile {
        Reconcile {
            org_id: org(),
            record_id: record(),
            reason: Reason::OutboundMessage {
                notification_id: NotificationId::parse("04l5g00000AbCdEAAV").unwrap(),
                action_id: ActionId::parse("04k5g000000XYZaAAO").unwrap(),
            },
            changed_at: modstamp.map(|at| parse_datetime(at).unwrap()),
            queued_at: parse_datetime("2026-08-14T18:27:03Z").unwrap(),
        }
    }

    #[test]
    fn jobs_round_trip_and_carry_their_version_tag() {
        let job = Job::ReconcileV1(outbound(Some("2026-08-14T18:27:02.000Z")));
        let body = job.encode();
        assert_eq!(outbound(Some("2026-08-14T18:27:02.000Z")).encode(), body);
        assert!(body.starts_with(r#"{"type":"reconcile.v1""#), "{body}");
        assert!(body.contains(r#""kind":"outbound_message""#), "{body}");
        assert_eq!(Job::decode(&body).unwrap(), job);
    }

    #[test]
    fn unknown_versions_and_unknown_fields_are_refused() {
        let body = Job::ReconcileV1(outbound(None)).encode();
        assert!(Job::decode(&body.replace("reconcile.v1", "reconcile.v9")).is_err());
        assert!(Job::decode(&body.replace(r#""org_id""#, r#""x":1,"org_id""#)).is_err());
    }

    #[test]
    fn a_legacy_record_changed_job_is_a_reconcile_of_its_record() {
        let mut fields = BTreeMap::new();
        fields.insert(
            "SystemModstamp".to_owned(),
            FieldValue::Datetime(parse_datetime("2026-08-14T18:27:02Z").unwrap()),
        );
        let legacy = Job::RecordChangedV1(RecordChanged {
            org_id: org(),
            action_id: ActionId::parse("04k5g000000XYZaAAO").unwrap(),
            notification_id: NotificationId::parse("04l5g00000AbCdEAAV").unwrap(),
            record: SObject {
                sobject_type: "Opportunity".into(),
                id: record(),
                fields,
            },
            received_at: parse_datetime("2026-08-14T18:27:03Z").unwrap(),
        });
        let reconcile = Job::decode(&legacy.encode())
            .unwrap()
            .into_reconcile()
            .unwrap();
        assert_eq!(reconcile, outbound(Some("2026-08-14T18:27:02Z")));
    }

    #[test]
    fn dedup_ids_repeat_only_for_the_same_trigger() {
        let a = outbound(Some("2026-08-14T18:27:02.000Z")).dedup_id();
        let b = outbound(Some("2026-08-14T18:27:02.000Z")).dedup_id();
        let c = outbound(Some("2026-08-14T18:29:00.000Z")).dedup_id();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(outbound(None).dedup_id(), "04l5g00000AbCdEAAV");

        let sweep = |bucket| Reconcile {
            reason: Reason::Sweep { bucket },
            ..outbound(None)
        };
        assert_eq!(sweep(7).dedup_id(), sweep(7).dedup_id());
        assert_ne!(sweep(7).dedup_id(), sweep(8).dedup_id());

        let event = Reconcile {
            reason: Reason::AceEvent {
                event_id: "01234567-0123-0123-0123-0123456789ab".into(),
                detail_type: "Opportunity Updated".into(),
                ace_id: AceOpportunityId::parse("O1234567").unwrap(),
            },
            ..outbound(None)
        };
        assert_eq!(event.dedup_id(), "ev:01234567-0123-0123-0123-0123456789ab");
        let long = Reconcile {
            reason: Reason::Manual {
                request_id: "é".repeat(10) + &"x".repeat(300),
            },
            ..outbound(None)
        };
        for id in [a, event.dedup_id(), long.dedup_id()] {
            assert!(
                id.len() <= 128 && id.chars().all(|c| c.is_ascii_graphic()),
                "{id}"
            );
        }
    }
}
