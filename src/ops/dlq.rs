//! `ace-sync dlq stats|list|replay`: what is parked in a queue's dead-letter queue, why, and
//! moving it back once the cause is fixed.
//!
//! The workers park a message with its reason (message attributes, see
//! [`crate::ports::queue::DEAD_LETTER_REASON`]) on its last receive; a message SQS moved by
//! itself (a worker that died on it every time) has none and is listed as such. Listing
//! receives each message and makes it visible again at once, so it changes nothing; replaying
//! sends a message back to its source queue, in its record's group and with a fresh
//! deduplication id, then deletes it from the dead-letter queue. Replaying is safe whatever the
//! message is: a job only names a record, and the reconciler reads both sides afresh.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use time::OffsetDateTime;

use crate::domain::job::{Job, Target};
use crate::ports::queue::{
    DEAD_LETTER_AT, DEAD_LETTER_REASON, JobQueue, JobSource, OutgoingMessage, QueueError,
    ReceivedMessage,
};

/// How long a listed message stays invisible before it is released (it is released at once;
/// this only bounds a crash in between).
const PEEK_VISIBILITY: Duration = Duration::from_secs(30);

/// What `list` shows of one parked message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parked {
    pub message_id: String,
    /// The Salesforce record (or AWS invitation) the job names, when it is a job this version
    /// reads.
    pub record: Option<String>,
    /// What triggered the job (`outbound_message`, `ace_event`, …), or `unreadable`.
    pub trigger: String,
    /// Why it was parked; `None` when SQS moved it after too many receives.
    pub reason: Option<String>,
    pub parked_at: Option<String>,
}

impl Parked {
    fn of(message: &ReceivedMessage) -> Parked {
        let (record, trigger) = match Job::decode(&message.body).map(Job::into_target) {
            Ok(Target::Record(job)) => (Some(job.record_id.to_string()), job.reason.label()),
            Ok(Target::Invitation(job)) => {
                (Some(job.invitation_id.to_string()), job.reason.label())
            }
            Err(_) => (None, "unreadable"),
        };
        Parked {
            message_id: message.message_id.clone(),
            record: record.or_else(|| message.group_id.clone()),
            trigger: trigger.to_owned(),
            reason: message.attributes.get(DEAD_LETTER_REASON).cloned(),
            parked_at: message.attributes.get(DEAD_LETTER_AT).cloned(),
        }
    }

    /// The reason as `stats` groups it: its first clause (the error before its causes).
    pub fn reason_kind(&self) -> String {
        match &self.reason {
            None => "(moved by SQS after too many receives; no reason recorded)".to_owned(),
            Some(reason) => {
                let head = reason.split(": ").next().unwrap_or(reason);
                head.chars().take(100).collect()
            }
        }
    }
}

/// Which parked messages to replay.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Only this record's.
    pub record: Option<String>,
    /// Only those whose reason contains this text.
    pub reason: Option<String>,
    /// At most this many.
    pub limit: Option<usize>,
}

impl Filter {
    fn matches(&self, parked: &Parked) -> bool {
        self.record
            .as_ref()
            .is_none_or(|r| parked.record.as_deref() == Some(r.as_str()))
            && self.reason.as_ref().is_none_or(|needle| {
                parked
                    .reason
                    .as_deref()
                    .is_some_and(|reason| reason.contains(needle.as_str()))
            })
    }
}

/// Every message on the dead-letter queue, left there (each is received, then released).
pub async fn list(dlq: &dyn JobSource) -> Result<Vec<Parked>, QueueError> {
    let mut received = Vec::new();
    loop {
        let batch = dlq.receive(10, Duration::ZERO).await?;
        if batch.is_empty() {
            break;
        }
        received.extend(batch);
    }
    let parked = received.iter().map(Parked::of).collect();
    for message in &received {
        dlq.change_visibility(&message.receipt, Duration::ZERO)
            .await?;
    }
    Ok(parked)
}

/// How many parked messages there are, by reason, most frequent first.
pub fn stats(parked: &[Parked]) -> Vec<(String, usize)> {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for message in parked {
        *counts.entry(message.reason_kind()).or_default() += 1;
    }
    let mut counts: Vec<(String, usize)> = counts.into_iter().collect();
    counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    counts
}

/// Moves the parked messages `filter` selects back to `source`; how many it moved.
pub async fn replay(
    dlq: &dyn JobSource,
    source: &dyn JobQueue,
    filter: &Filter,
) -> Result<usize, ReplayError> {
    let mut moved = 0;
    let mut skipped = Vec::new();
    let stamp = OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000;
    loop {
        if filter.limit.is_some_and(|limit| moved >= limit) {
            break;
        }
        let batch = dlq.receive(10, Duration::ZERO).await?;
        if batch.is_empty() {
            break;
        }
        for message in batch {
            let parked = Parked::of(&message);
            if !filter.matches(&parked) || filter.limit.is_some_and(|limit| moved >= limit) {
                skipped.push(message);
                continue;
            }
            let back = OutgoingMessage {
                group_id: message
                    .group_id
                    .clone()
                    .or(parked.record.clone())
                    .unwrap_or_else(|| message.message_id.clone()),
                dedup_id: format!("replay:{}:{stamp}", message.message_id),
                body: message.body.clone(),
            };
            source
                .enqueue(vec![back])
                .await
                .map_err(ReplayError::Enqueue)?;
            dlq.delete(std::slice::from_ref(&message.receipt)).await?;
            moved += 1;
        }
    }
    for message in skipped {
        dlq.change_visibility(&message.receipt, Duration::ZERO)
            .await?;
    }
    Ok(moved)
}

/// Why a replay stopped.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error(transparent)]
    Queue(#[from] QueueError),
    #[error("a message could not be put back on its source queue")]
    Enqueue(#[source] crate::ports::queue::EnqueueError),
}

/// `list` as an operator reads it.
pub fn render_list(parked: &[Parked]) -> String {
    let mut out = String::new();
    for message in parked {
        let _ = writeln!(
            out,
            "{}  record {}  trigger {}  parked {}\n    {}",
            message.message_id,
            message.record.as_deref().unwrap_or("-"),
            message.trigger,
            message.parked_at.as_deref().unwrap_or("-"),
            message
                .reason
                .as_deref()
                .unwrap_or("(moved by SQS after too many receives; no reason recorded)")
        );
    }
    out
}

/// The visibility a listing uses, for the adapters that take one per receive.
pub fn peek_visibility() -> Duration {
    PEEK_VISIBILITY
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::memory_queue::MemoryQueue;
    use crate::config::MemoryQueueSettings;
    use crate::domain::ids::SfOrgId;
    use crate::domain::job::{Reason, Reconcile};

    fn job(record: &str) -> OutgoingMessage {
        let reconcile = Reconcile {
            org_id: SfOrgId::parse("00D5g00000ABCdeEAH").unwrap(),
            record_id: record.parse().unwrap(),
            reason: Reason::Manual {
                request_id: format!("test-{record}"),
            },
            changed_at: None,
            queued_at: OffsetDateTime::now_utc(),
        };
        OutgoingMessage::from(&reconcile)
    }

    fn settings() -> MemoryQueueSettings {
        MemoryQueueSettings {
            visibility_timeout: Duration::from_secs(30),
            max_receive_count: 1,
            deduplication_window: Duration::from_secs(300),
        }
    }

    #[tokio::test]
    async fn parked_messages_are_listed_by_reason_and_replayed_selectively() {
        let source = MemoryQueue::new("changes", settings());
        let dlq = source.dead_letter_queue().unwrap().clone();
        for (record, reason) in [
            ("0065g00000QrStUAAV", "Partner Central is unavailable: 503"),
            ("0065g00000QrStVAAV", "Partner Central is unavailable: 503"),
            ("0065g00000QrStWAAV", "the token was refused: invalid_grant"),
        ] {
            source.enqueue(vec![job(record)]).await.unwrap();
            let received = source.receive(1, Duration::ZERO).await.unwrap();
            source.dead_letter(&received[0], reason).await.unwrap();
        }
        let parked = list(&dlq).await.unwrap();
        assert_eq!(parked.len(), 3);
        assert!(parked.iter().all(|p| p.trigger == "manual"));
        assert_eq!(
            stats(&parked),
            [
                ("Partner Central is unavailable".to_owned(), 2),
                ("the token was refused".to_owned(), 1)
            ]
        );
        // Listing left them there.
        assert_eq!(list(&dlq).await.unwrap().len(), 3);

        let filter = Filter {
            reason: Some("invalid_grant".into()),
            ..Filter::default()
        };
        assert_eq!(replay(&dlq, &source, &filter).await.unwrap(), 1);
        let back = source.receive(10, Duration::ZERO).await.unwrap();
        assert_eq!(back.len(), 1);
        assert_eq!(back[0].group_id.as_deref(), Some("0065g00000QrStWAAV"));
        assert_eq!(list(&dlq).await.unwrap().len(), 2);
        assert_eq!(replay(&dlq, &source, &Filter::default()).await.unwrap(), 2);
        assert!(list(&dlq).await.unwrap().is_empty());
    }
}
