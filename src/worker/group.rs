//! One FIFO group's messages, in order: each is processed, then settled with the queue as
//! its [`Disposition`] says (deleted, delayed, held back behind a retried one, or parked in
//! the dead-letter queue with its reason on its last receive).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use super::metrics::WorkerLabel;
use super::{BatchReport, Processor, WorkerConfig, WorkerMetrics};
use crate::domain::disposition::Disposition;
use crate::ports::queue::{JobSource, Receipt, ReceivedMessage};

/// Moves a message to the dead-letter queue with its reason; when that fails, it is left for
/// the queue's own redrive (it returns after its visibility timeout, past the limit).
async fn park(
    source: &dyn JobSource,
    metrics: &WorkerMetrics,
    name: &'static str,
    message: &ReceivedMessage,
    reason: &str,
    report: &mut BatchReport,
) {
    match source.dead_letter(message, reason).await {
        Ok(()) => {
            report.dead_lettered += 1;
            metrics.outcome(name, "dead_lettered");
        }
        Err(e) => {
            tracing::warn!(worker = name, error = %crate::telemetry::error_chain(&e), "moving a message to the dead-letter queue failed; the queue's redrive moves it");
        }
    }
}

/// What a group's messages run with.
pub(super) struct Lane {
    pub source: Arc<dyn JobSource>,
    pub processor: Arc<dyn Processor>,
    pub permits: Arc<Semaphore>,
    pub metrics: WorkerMetrics,
    pub config: WorkerConfig,
    pub shutdown: CancellationToken,
    /// The queue's redrive limit: on this receive, a message that would be retried is
    /// dead-lettered instead, with its reason.
    pub redrive_limit: Option<u32>,
}

/// Runs one group's messages in order. Returns the report and the receipts to delete.
pub(super) async fn process_group(
    group: Vec<ReceivedMessage>,
    lane: Lane,
) -> (BatchReport, Vec<Receipt>) {
    let Lane {
        source,
        processor,
        permits,
        metrics,
        config,
        shutdown,
        redrive_limit,
    } = lane;
    let name = processor.name();
    let mut report = BatchReport::default();
    let mut finished = Vec::new();
    let mut held_back: Option<Duration> = None;
    let mut group = group;
    if group.len() > 1
        && let Some(keep) = processor.coalesce(&group)
        && keep < group.len()
    {
        let kept = group.swap_remove(keep);
        report.coalesced += group.len();
        for _ in &group {
            metrics.outcome(name, "coalesced");
        }
        finished.extend(group.drain(..).map(|m| m.receipt));
        group.push(kept);
    }
    for message in group {
        if let Some(delay) = held_back {
            // Behind a retried message of the same record: release it for later, untouched.
            // The FIFO queue will not hand it out before the earlier one is done.
            if let Err(e) = source.change_visibility(&message.receipt, delay).await {
                tracing::warn!(worker = name, error = %crate::telemetry::error_chain(&e), "releasing a held-back message failed");
            }
            report.deferred += 1;
            metrics.outcome(name, "deferred");
            continue;
        }
        if shutdown.is_cancelled() {
            // Not started, and this worker is stopping: hand it back at once, undeleted, so
            // another worker takes it without waiting out the visibility timeout.
            if let Err(e) = source
                .change_visibility(&message.receipt, Duration::ZERO)
                .await
            {
                tracing::warn!(worker = name, error = %crate::telemetry::error_chain(&e), "releasing an unstarted message failed; it returns after its visibility timeout");
            }
            held_back = Some(Duration::ZERO);
            continue;
        }
        let Ok(_permit) = permits.clone().acquire_owned().await else {
            break;
        };
        if let Some(sent_at) = message.sent_at_ms {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis() as u64)
                .unwrap_or(sent_at);
            metrics
                .queue_lag
                .get_or_create(&WorkerLabel { worker: name })
                .observe(now.saturating_sub(sent_at) as f64 / 1000.0);
        }
        let gauge = metrics
            .in_flight
            .get_or_create(&WorkerLabel { worker: name })
            .clone();
        gauge.inc();
        let disposition = processor.process(&message).await;
        gauge.dec();
        // An outage is retried like a failure, at the longest back-off.
        let (disposition, outage) = match disposition {
            Disposition::Outage { reason } => (
                Disposition::Retry {
                    after: config.retry_cap,
                    reason,
                },
                true,
            ),
            other => (other, false),
        };
        match disposition {
            Disposition::Done => {
                report.done += 1;
                metrics.outcome(name, "done");
                finished.push(message.receipt);
            }
            Disposition::Permanent { reason } => {
                report.permanent += 1;
                metrics.outcome(name, "permanent");
                tracing::warn!(worker = name, message_id = %message.message_id, reason = %reason, "message failed permanently; recorded and removed from the queue");
                finished.push(message.receipt);
            }
            Disposition::Later { after } => {
                report.later += 1;
                metrics.outcome(name, "later");
                tracing::debug!(worker = name, message_id = %message.message_id, in_ms = after.as_millis() as u64, "not yet; held until its time");
                if let Err(e) = source.change_visibility(&message.receipt, after).await {
                    tracing::warn!(worker = name, error = %crate::telemetry::error_chain(&e), "holding a message failed; it returns after its visibility timeout");
                }
                held_back = Some(after);
            }
            Disposition::Outage { .. } => unreachable!("outages are retried above"),
            Disposition::DeadLetter { reason } => {
                tracing::error!(worker = name, message_id = %message.message_id, reason = %reason, "message cannot be processed; parked in the dead-letter queue");
                park(&*source, &metrics, name, &message, &reason, &mut report).await;
            }
            Disposition::Retry { after, reason } => {
                if redrive_limit.is_some_and(|limit| message.receive_count >= limit) {
                    // The last receive the queue allows: say so where someone will see it,
                    // then park the message with its reason instead of letting the queue
                    // move it without a word.
                    processor.exhausted(&message, &reason).await;
                    park(&*source, &metrics, name, &message, &reason, &mut report).await;
                    continue;
                }
                let delay = after.max(backoff(
                    config.retry_base,
                    config.retry_cap,
                    message.receive_count,
                ));
                report.retried += 1;
                metrics.outcome(name, if outage { "outage" } else { "retry" });
                tracing::info!(
                    worker = name,
                    message_id = %message.message_id,
                    receive_count = message.receive_count,
                    retry_in_ms = delay.as_millis() as u64,
                    reason = %reason,
                    "message will be retried"
                );
                if let Err(e) = source.change_visibility(&message.receipt, delay).await {
                    tracing::warn!(worker = name, error = %crate::telemetry::error_chain(&e), "delaying a retried message failed; it returns after its visibility timeout");
                }
                held_back = Some(delay);
            }
        }
    }
    (report, finished)
}

/// Exponential back-off with full jitter: about `base * 2^(attempt-1)`, capped.
pub fn backoff(base: Duration, cap: Duration, attempt: u32) -> Duration {
    let exponent = attempt.saturating_sub(1).min(20);
    let ceiling = base.saturating_mul(1u32 << exponent).min(cap);
    let ceiling_ms = ceiling.as_millis() as u64;
    if ceiling_ms == 0 {
        return Duration::ZERO;
    }
    Duration::from_millis(fastrand::u64(ceiling_ms / 2..=ceiling_ms))
}
