//! The queue ports on Amazon SQS (FIFO for opportunity changes), through `aws-sdk-sqs`.
//!
//! Enqueueing uses `SendMessageBatch`: at most 10 entries and at most `batch_max_bytes` of
//! payload per call (SQS's limits), with the batches of one enqueue sent concurrently. Entries
//! SQS reports as failed through no fault of ours are sent again, with back-off, until they are
//! accepted, the attempts run out or the deadline passes.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sqs::types::{
    DeleteMessageBatchRequestEntry, MessageSystemAttributeName, QueueAttributeName,
    SendMessageBatchRequestEntry,
};
use futures_util::future::join_all;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;
use url::Url;

use crate::config::QueueSettings;
use crate::ports::queue::{
    EnqueueError, JobQueue, JobSource, OutgoingMessage, QueueError, Receipt, ReceivedMessage,
};

/// SQS's per-call entry limit for batch operations.
pub const MAX_BATCH_ENTRIES: usize = 10;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    operation: &'static str,
    outcome: &'static str,
}

/// SQS call counters, by operation and outcome.
#[derive(Debug, Clone, Default)]
pub struct SqsMetrics {
    calls: Family<CallLabels, Counter>,
    entries_retried: Counter,
}

impl SqsMetrics {
    pub fn register(registry: &mut Registry) -> Self {
        let metrics = Self::default();
        registry.register(
            "sqs_calls",
            "SQS API calls by operation and outcome (ok, failed: the call itself failed, partial: some batch entries failed)",
            metrics.calls.clone(),
        );
        registry.register(
            "sqs_entries_retried",
            "SendMessageBatch entries sent again after SQS reported them failed",
            metrics.entries_retried.clone(),
        );
        metrics
    }

    fn call(&self, operation: &'static str, outcome: &'static str) {
        self.calls
            .get_or_create(&CallLabels { operation, outcome })
            .inc();
    }
}

/// How the adapter sends.
#[derive(Debug, Clone)]
pub struct SendPolicy {
    pub batch_max_bytes: usize,
    pub attempts: u32,
    pub deadline: Duration,
}

impl SendPolicy {
    pub fn from_settings(settings: &QueueSettings) -> Self {
        Self {
            batch_max_bytes: settings.batch_max_bytes,
            attempts: settings.send_attempts,
            deadline: settings.send_deadline,
        }
    }
}

/// One SQS queue.
#[derive(Clone)]
pub struct SqsQueue {
    client: Client,
    url: String,
    fifo: bool,
    /// Set on every receive when given, overriding the queue's own default.
    receive_visibility: Option<Duration>,
    policy: SendPolicy,
    metrics: SqsMetrics,
}

impl std::fmt::Debug for SqsQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqsQueue")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

/// An SQS client from the default AWS credential chain, with the configured region, call
/// timeout and (for local servers) endpoint.
pub async fn client(settings: &QueueSettings) -> Client {
    use aws_config::retry::RetryConfig;
    use aws_config::timeout::TimeoutConfig;
    let shared = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(settings.region.clone()))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(settings.call_timeout.min(Duration::from_secs(3)))
                .operation_attempt_timeout(settings.call_timeout)
                .build(),
        )
        // The adapter retries failed batch entries itself, with its own deadline; one quick
        // SDK retry covers a dropped connection.
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(2)
                .with_initial_backoff(Duration::from_millis(50)),
        )
        .load()
        .await;
    let mut config = aws_sdk_sqs::config::Builder::from(&shared);
    if let Some(endpoint) = &settings.endpoint_url {
        config = config.endpoint_url(endpoint.as_str().trim_end_matches('/'));
    }
    Client::from_conf(config.build())
}

impl SqsQueue {
    pub fn new(client: Client, url: &Url, policy: SendPolicy, metrics: SqsMetrics) -> Self {
        Self {
            client,
            fifo: url.path().ends_with(".fifo"),
            receive_visibility: None,
            url: url.to_string(),
            policy,
            metrics,
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// Messages on the queue, visible or in flight (SQS's approximate counts).
    pub async fn depth(&self) -> Result<usize, QueueError> {
        let result = self
            .client
            .get_queue_attributes()
            .queue_url(&self.url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            .send()
            .await;
        let output = match result {
            Ok(output) => {
                self.metrics.call("GetQueueAttributes", "ok");
                output
            }
            Err(e) => {
                self.metrics.call("GetQueueAttributes", "failed");
                return Err(classify("GetQueueAttributes", e));
            }
        };
        let count = |name: QueueAttributeName| {
            output
                .attributes()
                .and_then(|a| a.get(&name))
                .and_then(|n| n.parse::<usize>().ok())
                .unwrap_or(0)
        };
        Ok(count(QueueAttributeName::ApproximateNumberOfMessages)
            + count(QueueAttributeName::ApproximateNumberOfMessagesNotVisible))
    }

    /// Received messages stay invisible for `timeout` (the worker's setting), whatever the
    /// queue's default is.
    pub fn with_receive_visibility(mut self, timeout: Duration) -> Self {
        self.receive_visibility = Some(timeout);
        self
    }

    /// Sends the given entries, re-sending those SQS failed through no fault of ours. Returns
    /// how many were not accepted in the end, and the last error seen.
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
            let entries = pending.iter().map(|&index| {
                let message = &messages[index];
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
            let entries = match entries.collect::<Result<Vec<_>, _>>() {
                Ok(entries) => entries,
                Err(e) => {
                    return (
                        pending.len() + refused,
                        Some(QueueError::Refused {
                            operation: "SendMessageBatch",
                            source: Box::new(e),
                        }),
                    );
                }
            };
            let result = self
                .client
                .send_message_batch()
                .queue_url(&self.url)
                .set_entries(Some(entries))
                .send()
                .await;
            match result {
                Ok(output) => {
                    let failed = output.failed();
                    self.metrics.call(
                        "SendMessageBatch",
                        if failed.is_empty() { "ok" } else { "partial" },
                    );
                    let mut still_pending = Vec::new();
                    for entry in failed {
                        let Ok(index) = entry.id().parse::<usize>() else {
                            continue;
                        };
                        let error = BatchEntryError {
                            code: entry.code().to_owned(),
                            message: entry.message().unwrap_or_default().to_owned(),
                        };
                        tracing::warn!(
                            code = %error.code,
                            sender_fault = entry.sender_fault(),
                            attempt = attempt + 1,
                            "SQS did not accept a batch entry"
                        );
                        if entry.sender_fault() {
                            refused += 1;
                            last_error = Some(QueueError::Refused {
                                operation: "SendMessageBatch",
                                source: Box::new(error),
                            });
                        } else {
                            still_pending.push(index);
                            last_error = Some(QueueError::Unavailable {
                                operation: "SendMessageBatch",
                                source: Box::new(error),
                            });
                        }
                    }
                    pending = still_pending;
                }
                Err(e) => {
                    self.metrics.call("SendMessageBatch", "failed");
                    let error = classify("SendMessageBatch", e);
                    tracing::warn!(error = %crate::telemetry::error_chain(&error), attempt = attempt + 1, "SendMessageBatch failed");
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

/// Exponential back-off with full jitter: 50 ms, 100 ms, 200 ms … capped at 2 s.
fn backoff(attempt: u32) -> Duration {
    let ceiling = (50u64 << attempt.min(6)).min(2_000);
    Duration::from_millis(fastrand::u64(ceiling / 2..=ceiling))
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

/// A failed batch entry, as SQS described it.
#[derive(Debug, thiserror::Error)]
#[error("{code}: {message}")]
struct BatchEntryError {
    code: String,
    message: String,
}

/// Sorts an SDK error into the port's error kinds.
fn classify<E>(operation: &'static str, err: SdkError<E>) -> QueueError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let unavailable = match &err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
        SdkError::ServiceError(service) => {
            let status = service.raw().status().as_u16();
            let code = service.err().code().unwrap_or_default();
            status >= 500
                || status == 429
                || matches!(
                    code,
                    "ThrottlingException" | "RequestThrottled" | "ServiceUnavailable"
                )
        }
        _ => false,
    };
    let source = err.into_service_error_or_dispatch();
    if unavailable {
        QueueError::Unavailable { operation, source }
    } else {
        QueueError::Refused { operation, source }
    }
}

/// `SdkError`'s own `Display` says little ("service error"); the service error beneath it
/// carries the code and message, so that is what we keep as the source.
trait IntoServiceErrorOrDispatch {
    fn into_service_error_or_dispatch(self) -> Box<dyn std::error::Error + Send + Sync>;
}

impl<E> IntoServiceErrorOrDispatch for SdkError<E>
where
    E: std::error::Error + Send + Sync + 'static,
{
    fn into_service_error_or_dispatch(self) -> Box<dyn std::error::Error + Send + Sync> {
        match self {
            SdkError::ServiceError(service) => Box::new(service.into_err()),
            other => Box::new(other),
        }
    }
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
impl JobSource for SqsQueue {
    async fn receive(
        &self,
        max: usize,
        wait: Duration,
    ) -> Result<Vec<ReceivedMessage>, QueueError> {
        let result = self
            .client
            .receive_message()
            .queue_url(&self.url)
            .max_number_of_messages(max.clamp(1, MAX_BATCH_ENTRIES) as i32)
            .wait_time_seconds(wait.as_secs().min(20) as i32)
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .message_system_attribute_names(MessageSystemAttributeName::MessageGroupId)
            .message_system_attribute_names(MessageSystemAttributeName::SentTimestamp)
            .set_visibility_timeout(
                self.receive_visibility
                    .map(|t| t.as_secs().min(12 * 3600) as i32),
            )
            .send()
            .await;
        let output = match result {
            Ok(output) => {
                self.metrics.call("ReceiveMessage", "ok");
                output
            }
            Err(e) => {
                self.metrics.call("ReceiveMessage", "failed");
                return Err(classify("ReceiveMessage", e));
            }
        };
        Ok(output
            .messages()
            .iter()
            .filter_map(|message| {
                let attribute = |name: MessageSystemAttributeName| {
                    message.attributes().and_then(|a| a.get(&name)).cloned()
                };
                Some(ReceivedMessage {
                    message_id: message.message_id()?.to_owned(),
                    body: message.body().unwrap_or_default().to_owned(),
                    receipt: Receipt::new(message.receipt_handle()?),
                    receive_count: attribute(MessageSystemAttributeName::ApproximateReceiveCount)
                        .and_then(|n| n.parse().ok())
                        .unwrap_or(1),
                    group_id: attribute(MessageSystemAttributeName::MessageGroupId),
                    sent_at_ms: attribute(MessageSystemAttributeName::SentTimestamp)
                        .and_then(|n| n.parse().ok()),
                })
            })
            .collect())
    }

    async fn delete(&self, receipts: &[Receipt]) -> Result<(), QueueError> {
        for chunk in receipts.chunks(MAX_BATCH_ENTRIES) {
            let entries = chunk
                .iter()
                .enumerate()
                .map(|(i, receipt)| {
                    DeleteMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .receipt_handle(receipt.as_str())
                        .build()
                })
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| QueueError::Refused {
                    operation: "DeleteMessageBatch",
                    source: Box::new(e),
                })?;
            let result = self
                .client
                .delete_message_batch()
                .queue_url(&self.url)
                .set_entries(Some(entries))
                .send()
                .await;
            match result {
                Ok(output) if output.failed().is_empty() => {
                    self.metrics.call("DeleteMessageBatch", "ok");
                }
                Ok(output) => {
                    self.metrics.call("DeleteMessageBatch", "partial");
                    let entry = &output.failed()[0];
                    return Err(QueueError::Unavailable {
                        operation: "DeleteMessageBatch",
                        source: Box::new(BatchEntryError {
                            code: entry.code().to_owned(),
                            message: entry.message().unwrap_or_default().to_owned(),
                        }),
                    });
                }
                Err(e) => {
                    self.metrics.call("DeleteMessageBatch", "failed");
                    return Err(classify("DeleteMessageBatch", e));
                }
            }
        }
        Ok(())
    }

    async fn change_visibility(
        &self,
        receipt: &Receipt,
        delay: Duration,
    ) -> Result<(), QueueError> {
        let seconds = crate::ports::queue::visibility_seconds(delay) as i32;
        let result = self
            .client
            .change_message_visibility()
            .queue_url(&self.url)
            .receipt_handle(receipt.as_str())
            .visibility_timeout(seconds)
            .send()
            .await;
        match result {
            Ok(_) => {
                self.metrics.call("ChangeMessageVisibility", "ok");
                Ok(())
            }
            Err(e) => {
                self.metrics.call("ChangeMessageVisibility", "failed");
                Err(classify("ChangeMessageVisibility", e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
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
