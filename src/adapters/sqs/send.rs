//! The send path of the SQS adapter: one `SendMessageBatch` call ([`BatchSender`], what the
//! batcher drives), and the adapter's own unbatched [`JobQueue::enqueue`], which splits one
//! enqueue into calls and re-sends the entries SQS failed through no fault of ours.

use async_trait::async_trait;
use aws_sdk_sqs::types::{QueueAttributeName, SendMessageBatchRequestEntry};
use futures_util::future::join_all;

use super::{BatchEntryError, MAX_BATCH_ENTRIES, SqsQueue, classify};
use crate::adapters::batcher::{BatchSender, EntryFailure, backoff};
use crate::ports::queue::{EnqueueError, JobQueue, OutgoingMessage, QueueError};

impl SqsQueue {
    /// One `SendMessageBatch` call with `entries` (ids are their positions). `Ok` lists the
    /// entries SQS did not accept; `Err` means the call itself failed.
    async fn send_message_batch(
        &self,
        entries: &[OutgoingMessage],
    ) -> Result<Vec<EntryFailure>, QueueError> {
        let request_entries = entries.iter().enumerate().map(|(index, message)| {
            let mut entry = SendMessageBatchRequestEntry::builder()
                .id(index.to_string())
                .message_body(message.body.clone());
            if self.fifo {
                entry = entry
                    .message_group_id(message.group_id.clone())
                    .message_deduplication_id(message.dedup_id.clone());
            }
            entry.build()
        });
        let request_entries = request_entries
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| QueueError::Refused {
                operation: "SendMessageBatch",
                source: Box::new(e),
            })?;
        let result = self
            .client
            .send_message_batch()
            .queue_url(&self.url)
            .set_entries(Some(request_entries))
            .send()
            .await;
        let output = match result {
            Ok(output) => output,
            Err(e) => {
                self.metrics.call("SendMessageBatch", "failed");
                let error = classify("SendMessageBatch", e);
                tracing::warn!(error = %crate::telemetry::error_chain(&error), "SendMessageBatch failed");
                return Err(error);
            }
        };
        let failed = output.failed();
        self.metrics.call(
            "SendMessageBatch",
            if failed.is_empty() { "ok" } else { "partial" },
        );
        Ok(failed
            .iter()
            .filter_map(|entry| {
                let index = entry.id().parse::<usize>().ok()?;
                let error = BatchEntryError {
                    code: entry.code().to_owned(),
                    message: entry.message().unwrap_or_default().to_owned(),
                };
                tracing::warn!(
                    code = %error.code,
                    sender_fault = entry.sender_fault(),
                    "SQS did not accept a batch entry"
                );
                let retryable = !entry.sender_fault();
                let error = if retryable {
                    QueueError::Unavailable {
                        operation: "SendMessageBatch",
                        source: Box::new(error),
                    }
                } else {
                    QueueError::Refused {
                        operation: "SendMessageBatch",
                        source: Box::new(error),
                    }
                };
                Some(EntryFailure {
                    index,
                    retryable,
                    error,
                })
            })
            .collect())
    }

    /// Sends the given entries, re-sending those SQS failed through no fault of ours. Returns
    /// how many were not accepted in the end, and the last error seen. (The unbatched path:
    /// the ingress's sends go through the batcher instead, [`super::batcher`].)
    async fn send_batch(
        &self,
        messages: &[OutgoingMessage],
        batch: Vec<usize>,
    ) -> (usize, Option<QueueError>) {
        let mut pending = batch;
        let mut refused = 0;
        let mut last_error = None;
        for attempt in 0..self.policy.attempts {
            if attempt > 0 {
                tokio::time::sleep(backoff(attempt)).await;
                self.metrics.entries_retried.inc_by(pending.len() as u64);
            }
            let entries: Vec<OutgoingMessage> = pending
                .iter()
                .map(|&index| messages[index].clone())
                .collect();
            match self.send_message_batch(&entries).await {
                Ok(failed) => {
                    let mut still_pending = Vec::new();
                    for failure in failed {
                        let Some(&index) = pending.get(failure.index) else {
                            continue;
                        };
                        if failure.retryable {
                            still_pending.push(index);
                        } else {
                            refused += 1;
                        }
                        last_error = Some(failure.error);
                    }
                    pending = still_pending;
                }
                Err(error) => {
                    let retryable = matches!(
                        error,
                        QueueError::Unavailable { .. } | QueueError::Timeout { .. }
                    );
                    last_error = Some(error);
                    if !retryable {
                        break;
                    }
                }
            }
            if pending.is_empty() {
                break;
            }
        }
        (pending.len() + refused, last_error)
    }
}

/// Splits messages into SendMessageBatch calls of at most 10 entries and `max_bytes` of body.
/// Every message must fit on its own (checked by the caller).
pub fn plan_batches(messages: &[OutgoingMessage], max_bytes: usize) -> Vec<Vec<usize>> {
    let mut batches = Vec::new();
    let mut current = Vec::new();
    let mut current_bytes = 0;
    for (index, message) in messages.iter().enumerate() {
        let size = message.body.len();
        if !current.is_empty()
            && (current.len() == MAX_BATCH_ENTRIES || current_bytes + size > max_bytes)
        {
            batches.push(std::mem::take(&mut current));
            current_bytes = 0;
        }
        current.push(index);
        current_bytes += size;
    }
    if !current.is_empty() {
        batches.push(current);
    }
    batches
}

#[async_trait]
impl JobQueue for SqsQueue {
    async fn enqueue(&self, messages: Vec<OutgoingMessage>) -> Result<(), EnqueueError> {
        let limit = self.policy.batch_max_bytes;
        if let Some((index, message)) = messages
            .iter()
            .enumerate()
            .find(|(_, m)| m.body.len() > limit)
        {
            return Err(EnqueueError::TooLarge {
                index,
                size: message.body.len(),
                limit,
            });
        }
        let total = messages.len();
        let batches = plan_batches(&messages, limit);
        let sends = join_all(
            batches
                .into_iter()
                .map(|batch| self.send_batch(&messages, batch)),
        );
        let results = match tokio::time::timeout(self.policy.deadline, sends).await {
            Ok(results) => results,
            Err(_) => {
                return Err(EnqueueError::NotAccepted {
                    rejected: total,
                    total,
                    cause: QueueError::Timeout {
                        operation: "SendMessageBatch",
                        timeout: self.policy.deadline,
                    },
                });
            }
        };
        let rejected: usize = results.iter().map(|(rejected, _)| rejected).sum();
        if rejected == 0 {
            return Ok(());
        }
        let cause = results
            .into_iter()
            .filter_map(|(_, error)| error)
            .next_back()
            .unwrap_or(QueueError::Unavailable {
                operation: "SendMessageBatch",
                source: "entries were not accepted".into(),
            });
        Err(EnqueueError::NotAccepted {
            rejected,
            total,
            cause,
        })
    }

    async fn ping(&self) -> Result<(), QueueError> {
        let result = self
            .client
            .get_queue_attributes()
            .queue_url(&self.url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await;
        match result {
            Ok(_) => {
                self.metrics.call("GetQueueAttributes", "ok");
                Ok(())
            }
            Err(e) => {
                self.metrics.call("GetQueueAttributes", "failed");
                Err(classify("GetQueueAttributes", e))
            }
        }
    }

    fn kind(&self) -> &'static str {
        "sqs"
    }
}

#[async_trait]
impl BatchSender for SqsQueue {
    async fn send_batch(
        &self,
        entries: &[OutgoingMessage],
    ) -> Result<Vec<EntryFailure>, QueueError> {
        self.send_message_batch(entries).await
    }

    async fn ping(&self) -> Result<(), QueueError> {
        JobQueue::ping(self).await
    }

    fn kind(&self) -> &'static str {
        JobQueue::kind(self)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn message(size: usize) -> OutgoingMessage {
        OutgoingMessage {
            group_id: "g".into(),
            dedup_id: "d".into(),
            body: "x".repeat(size),
        }
    }

    #[test]
    fn batches_hold_at_most_ten_entries() {
        let messages: Vec<_> = (0..100).map(|_| message(100)).collect();
        let batches = plan_batches(&messages, 262_144);
        assert_eq!(batches.len(), 10);
        assert!(batches.iter().all(|b| b.len() == 10));
        let flat: Vec<usize> = batches.into_iter().flatten().collect();
        assert_eq!(flat, (0..100).collect::<Vec<_>>());
    }

    #[test]
    fn batches_stay_within_the_byte_limit() {
        let messages: Vec<_> = (0..5).map(|_| message(400)).collect();
        let batches = plan_batches(&messages, 1000);
        assert_eq!(batches, vec![vec![0, 1], vec![2, 3], vec![4]]);
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        for attempt in 1..20 {
            let delay = backoff(attempt);
            assert!(delay <= Duration::from_secs(2), "{delay:?}");
            assert!(delay >= Duration::from_millis(25), "{delay:?}");
        }
    }
}
