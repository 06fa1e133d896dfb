//! Queues: the ingress puts jobs on one, workers take them off.
//!
//! The semantics are those of an SQS FIFO queue, which both adapters keep: messages of one
//! group are delivered in the order sent and one at a time (no later message of a group is
//! handed out while an earlier one is in flight), a deduplication id seen within the window is
//! dropped, a received message stays invisible for the visibility timeout, and a message
//! received more than the redrive limit moves to the dead-letter queue.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;

use crate::domain::disposition::Classify;

/// A message to enqueue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMessage {
    /// FIFO message group: ordering and one-at-a-time delivery apply within a group.
    pub group_id: String,
    /// Messages with the same id within the deduplication window are delivered once.
    pub dedup_id: String,
    pub body: String,
}

impl From<&crate::domain::job::Reconcile> for OutgoingMessage {
    fn from(job: &crate::domain::job::Reconcile) -> Self {
        OutgoingMessage {
            group_id: job.group_id().to_string(),
            dedup_id: job.dedup_id(),
            body: job.encode(),
        }
    }
}

/// The visibility timeout SQS takes for `delay`: whole seconds (rounded up, so a message held
/// for 300 ms is not visible again at once), at most 12 hours.
pub fn visibility_seconds(delay: Duration) -> u64 {
    let seconds = delay.as_secs() + u64::from(delay.subsec_nanos() > 0);
    seconds.min(12 * 60 * 60)
}

/// An opaque handle to one receipt of a message, used to delete it or delay it.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Receipt(String);

impl Receipt {
    pub fn new(handle: impl Into<String>) -> Self {
        Self(handle.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Receipt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Receipt handles are long; the head is enough to tell them apart in logs.
        let head: String = self.0.chars().take(12).collect();
        write!(f, "Receipt({head}…)")
    }
}

/// A message taken off a queue.
#[derive(Debug, Clone)]
pub struct ReceivedMessage {
    pub message_id: String,
    pub body: String,
    pub receipt: Receipt,
    /// How many times the message has been received, this time included.
    pub receive_count: u32,
    pub group_id: Option<String>,
    /// When the message was first sent, in milliseconds since the Unix epoch.
    pub sent_at_ms: Option<u64>,
}

/// What failed when talking to a queue.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// The queue could not be reached or answered with a server-side error.
    #[error("{operation} failed: the queue is unavailable")]
    Unavailable {
        operation: &'static str,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The queue refused the request; repeating it will not help.
    #[error("{operation} was refused by the queue")]
    Refused {
        operation: &'static str,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("{operation} did not finish within {timeout:?}")]
    Timeout {
        operation: &'static str,
        timeout: Duration,
    },
}

impl Classify for QueueError {
    fn retry_hint(&self) -> Option<Option<Duration>> {
        match self {
            QueueError::Unavailable { .. } | QueueError::Timeout { .. } => Some(None),
            QueueError::Refused { .. } => None,
        }
    }
}

/// Why not every message of an enqueue call is on the queue.
#[derive(Debug, thiserror::Error)]
pub enum EnqueueError {
    #[error("{rejected} of {total} messages were not accepted by the queue")]
    NotAccepted {
        rejected: usize,
        total: usize,
        #[source]
        cause: QueueError,
    },
    #[error("message {index} is {size} bytes, over the queue's limit of {limit} bytes")]
    TooLarge {
        index: usize,
        size: usize,
        limit: usize,
    },
}

/// Where the ingress puts jobs.
#[async_trait]
pub trait JobQueue: Send + Sync + fmt::Debug {
    /// Puts every message on the queue, or fails; on failure some messages may be queued
    /// and others not, which is safe because a repeat is deduplicated.
    async fn enqueue(&self, messages: Vec<OutgoingMessage>) -> Result<(), EnqueueError>;

    /// A cheap check that the queue exists and answers.
    async fn ping(&self) -> Result<(), QueueError>;

    /// A label for logs, health answers and metrics ("sqs", "memory").
    fn kind(&self) -> &'static str;
}

/// Where workers take jobs from.
#[async_trait]
pub trait JobSource: Send + Sync + fmt::Debug {
    /// Up to `max` (≤ 10) messages, waiting up to `wait` for the first one to arrive.
    async fn receive(&self, max: usize, wait: Duration)
    -> Result<Vec<ReceivedMessage>, QueueError>;

    /// Deletes received messages: they are done.
    async fn delete(&self, receipts: &[Receipt]) -> Result<(), QueueError>;

    /// Makes a received message visible again after `delay` (0 = now).
    async fn change_visibility(&self, receipt: &Receipt, delay: Duration)
    -> Result<(), QueueError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visibility_is_whole_seconds_rounded_up_and_capped() {
        assert_eq!(visibility_seconds(Duration::ZERO), 0);
        assert_eq!(visibility_seconds(Duration::from_millis(1)), 1);
        assert_eq!(visibility_seconds(Duration::from_millis(999)), 1);
        assert_eq!(visibility_seconds(Duration::from_secs(2)), 2);
        assert_eq!(visibility_seconds(Duration::from_millis(2_001)), 3);
        assert_eq!(visibility_seconds(Duration::from_secs(86_400)), 43_200);
    }
}
