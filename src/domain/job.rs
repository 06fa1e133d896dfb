//! The queue contract between the ingress and the workers: one `SyncJob` per Salesforce
//! notification, as versioned JSON. A new shape gets a new variant; old variants stay
//! decodable for as long as messages of that shape can still be on a queue (14 days on SQS).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::ids::{ActionId, NotificationId, SfOrgId, SfRecordId};
use super::sobject::{FieldValue, SObject};

/// A unit of work on the opportunity-changes queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum SyncJob {
    /// A record changed in Salesforce and an outbound message told us so.
    #[serde(rename = "salesforce.record_changed.v1")]
    RecordChangedV1(RecordChanged),
}

/// One notification of an outbound message. The field values are what Salesforce sent at
/// delivery time; the worker treats them as a trigger and reads the record again, because a
/// redelivery may carry newer data than the first attempt (salesforce.md §1.6). The
/// message's `SessionId` is deliberately not part of this type.
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
#[error("queue message is not a SyncJob this version of ace-sync understands")]
pub struct JobDecodeError(#[from] serde_json::Error);

impl SyncJob {
    pub fn encode(&self) -> String {
        // Serializing plain data with string keys cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn decode(body: &str) -> Result<SyncJob, JobDecodeError> {
        Ok(serde_json::from_str(body)?)
    }

    /// A short label for logs and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            SyncJob::RecordChangedV1(_) => "salesforce.record_changed.v1",
        }
    }

    /// The FIFO message group: all jobs for one record are processed in order, one at a time.
    pub fn group_id(&self) -> &SfRecordId {
        match self {
            SyncJob::RecordChangedV1(job) => &job.record.id,
        }
    }

    /// SQS's deduplication key. A redelivery of the same notification with the same
    /// `SystemModstamp` is the same job; one with a newer modstamp carries newer data and is
    /// kept (salesforce.md §1.9). SQS allows 128 characters of alphanumerics and punctuation.
    pub fn dedup_id(&self) -> String {
        match self {
            SyncJob::RecordChangedV1(job) => match job.record.get("SystemModstamp") {
                Some(FieldValue::Datetime(at)) => format!(
                    "{}:{}",
                    job.notification_id,
                    at.unix_timestamp_nanos() / 1_000_000
                ),
                Some(other) => format!("{}:{}", job.notification_id, other.to_text()),
                None => job.notification_id.to_string(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::domain::sobject::parse_datetime;

    fn job(modstamp: Option<&str>) -> SyncJob {
        let mut fields = BTreeMap::new();
        if let Some(at) = modstamp {
            fields.insert(
                "SystemModstamp".to_owned(),
                FieldValue::Datetime(parse_datetime(at).unwrap()),
            );
        }
        SyncJob::RecordChangedV1(RecordChanged {
            org_id: SfOrgId::parse("00D5g00000ABCdeEAH").unwrap(),
            action_id: ActionId::parse("04k5g000000XYZaAAO").unwrap(),
            notification_id: NotificationId::parse("04l5g00000AbCdEAAV").unwrap(),
            record: SObject {
                sobject_type: "Opportunity".into(),
                id: SfRecordId::parse("0065g00000QrStUAAV").unwrap(),
                fields,
            },
            received_at: parse_datetime("2026-08-14T18:27:03Z").unwrap(),
        })
    }

    #[test]
    fn jobs_round_trip_and_carry_their_version_tag() {
        let job = job(Some("2026-08-14T18:27:02.000Z"));
        let body = job.encode();
        assert!(
            body.starts_with(r#"{"type":"salesforce.record_changed.v1""#),
            "{body}"
        );
        assert_eq!(SyncJob::decode(&body).unwrap(), job);
    }

    #[test]
    fn unknown_versions_are_refused() {
        let body = job(None).encode().replace(".v1", ".v9");
        assert!(SyncJob::decode(&body).is_err());
    }

    #[test]
    fn dedup_ids_follow_the_modstamp() {
        let a = job(Some("2026-08-14T18:27:02.000Z")).dedup_id();
        let b = job(Some("2026-08-14T18:27:02.000Z")).dedup_id();
        let c = job(Some("2026-08-14T18:29:00.000Z")).dedup_id();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(job(None).dedup_id(), "04l5g00000AbCdEAAV");
        assert!(a.len() <= 128);
    }
}
