//! Batch sends shared across requests: the messages of many concurrent enqueue calls go out
//! together in batch calls (SQS's `SendMessageBatch`), the way a well-tuned producer batches.
//!
//! One owner task holds every waiting message; enqueue calls reach it through a bounded
//! channel and wait on a one-shot answer, so nothing is shared but channels. A call goes out as
//! soon as it is full (`max_entries` messages, or `max_bytes` of bodies), or when the oldest
//! waiting message has lingered `linger`; an idle batcher has no timer running at all. At most
//! `max_calls_in_flight` calls run at once, and while they do, more messages gather.
//!
//! **Order within a message group.** SQS FIFO keeps the order in which it *receives* a group's
//! messages, and two batch calls in flight at once may be received in either order. So a group
//! has at most one message in flight at any time: its next message waits until the call
//! carrying the previous one has answered, and a message that failed and is tried again keeps
//! its place at the head of its group. Different groups fill a call side by side.
//!
//! **Answers.** An enqueue call is answered `Ok` only once SQS has accepted each of its own
//! messages. A message that fails for good (the sender's fault, attempts or deadline used up)
//! fails only the calls it belongs to. A caller that stopped waiting (its client went away,
//! its deadline passed) has its messages that are not yet sent dropped. On stop, waiting
//! messages are not sent and their callers are answered with an error; calls in flight finish.

mod owner;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::ports::queue::{EnqueueError, JobQueue, OutgoingMessage, QueueError};

/// How the batcher sends.
#[derive(Debug, Clone)]
pub struct BatchPolicy {
    /// Messages per call (SQS: 10).
    pub max_entries: usize,
    /// Bytes of message bodies per call.
    pub max_bytes: usize,
    /// How long a message may wait for others to fill its call.
    pub linger: Duration,
    pub max_calls_in_flight: usize,
    /// Sends of one message at most, the first included.
    pub attempts: u32,
    /// How long an enqueue call waits for its answer.
    pub deadline: Duration,
}

/// A message a batch call did not get onto the queue.
#[derive(Debug)]
pub struct EntryFailure {
    /// Its position in the call.
    pub index: usize,
    /// Whether sending it again may succeed (the queue's fault, not the message's).
    pub retryable: bool,
    pub error: QueueError,
}

/// One batch call to a queue, as the batcher needs it.
#[async_trait]
pub trait BatchSender: Send + Sync + fmt::Debug + 'static {
    /// Sends `entries` in one call. `Ok` lists the entries that failed (none: all accepted);
    /// `Err` means the call itself failed and no entry is known to be queued.
    async fn send_batch(
        &self,
        entries: &[OutgoingMessage],
    ) -> Result<Vec<EntryFailure>, QueueError>;

    async fn ping(&self) -> Result<(), QueueError>;

    fn kind(&self) -> &'static str;
}

/// The batcher's metric families.
#[derive(Debug, Clone)]
pub struct BatcherMetrics {
    entries_per_call: Histogram,
    call_seconds: Histogram,
    waiting: Gauge,
    retried: Counter,
}

impl BatcherMetrics {
    /// Registers the batcher's own families; `retried` counts messages sent again (the SQS
    /// adapter's counter, so both send paths count in one place).
    pub fn register(registry: &mut Registry, retried: Counter) -> Self {
        let metrics = Self::unregistered(retried);
        registry.register(
            "queue_batch_entries",
            "Messages per batch send call",
            metrics.entries_per_call.clone(),
        );
        registry.register(
            "queue_batch_call_duration_seconds",
            "Time from sending a batch call to its answer",
            metrics.call_seconds.clone(),
        );
        registry.register(
            "queue_batch_waiting_entries",
            "Messages waiting in the batcher for a send call",
            metrics.waiting.clone(),
        );
        metrics
    }

    /// Metrics nobody reads (tests).
    pub fn unregistered(retried: Counter) -> Self {
        Self {
            entries_per_call: Histogram::new((1..=10).map(f64::from)),
            // 250 µs to ~16 s.
            call_seconds: Histogram::new(exponential_buckets(0.00025, 2.0, 17)),
            waiting: Gauge::default(),
            retried,
        }
    }
}

type Answer = oneshot::Sender<Result<(), EnqueueError>>;

struct Submit {
    messages: Vec<OutgoingMessage>,
    answer: Answer,
}

/// The enqueue side of a batcher: a [`JobQueue`] whose calls share batch sends.
#[derive(Clone)]
pub struct BatchingQueue {
    submissions: mpsc::Sender<Submit>,
    sender: Arc<dyn BatchSender>,
    max_bytes: usize,
    deadline: Duration,
}

impl fmt::Debug for BatchingQueue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BatchingQueue")
            .field("sender", &self.sender)
            .finish_non_exhaustive()
    }
}

/// The owner task of a batcher, to stop it.
#[derive(Debug)]
pub struct BatcherTask {
    stop: CancellationToken,
    task: JoinHandle<()>,
}

impl BatcherTask {
    /// Stops the batcher: waiting messages are not sent and their callers get an error; calls
    /// in flight are awaited. Returns when the owner task has finished.
    pub async fn stop(self) {
        self.stop.cancel();
        if let Err(e) = self.task.await {
            tracing::error!(error = %e, "the queue batcher failed");
        }
    }
}

/// Starts a batcher on the current runtime.
pub fn spawn(
    sender: Arc<dyn BatchSender>,
    policy: BatchPolicy,
    metrics: BatcherMetrics,
) -> (BatchingQueue, BatcherTask) {
    // Enough for every request of a busy server to be handed over without waiting; the
    // ingress bounds what is in flight before this.
    let (submissions, receiver) = mpsc::channel(1024);
    let stop = CancellationToken::new();
    let queue = BatchingQueue {
        submissions,
        sender: sender.clone(),
        max_bytes: policy.max_bytes,
        deadline: policy.deadline,
    };
    let owner = owner::Owner::new(sender, policy, metrics);
    let task = tokio::spawn(owner.run(receiver, stop.clone()));
    (queue, BatcherTask { stop, task })
}

#[async_trait]
impl JobQueue for BatchingQueue {
    async fn enqueue(&self, messages: Vec<OutgoingMessage>) -> Result<(), EnqueueError> {
        if let Some((index, message)) = messages
            .iter()
            .enumerate()
            .find(|(_, m)| m.body.len() > self.max_bytes)
        {
            return Err(EnqueueError::TooLarge {
                index,
                size: message.body.len(),
                limit: self.max_bytes,
            });
        }
        let total = messages.len();
        if total == 0 {
            return Ok(());
        }
        let not_accepted = |cause| EnqueueError::NotAccepted {
            rejected: total,
            total,
            cause,
        };
        let timeout = || QueueError::Timeout {
            operation: "SendMessageBatch",
            timeout: self.deadline,
        };
        let deadline = Instant::now() + self.deadline;
        let (answer, answered) = oneshot::channel();
        let submit = Submit { messages, answer };
        match tokio::time::timeout_at(deadline, self.submissions.send(submit)).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) => return Err(not_accepted(stopped())),
            Err(_) => return Err(not_accepted(timeout())),
        }
        // Giving up here drops `answered`; the batcher then drops what it has not sent yet.
        match tokio::time::timeout_at(deadline, answered).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(not_accepted(stopped())),
            Err(_) => Err(not_accepted(timeout())),
        }
    }

    async fn ping(&self) -> Result<(), QueueError> {
        self.sender.ping().await
    }

    fn kind(&self) -> &'static str {
        self.sender.kind()
    }
}

/// Why a message was not sent: the batcher stopped.
fn stopped() -> QueueError {
    QueueError::Unavailable {
        operation: "SendMessageBatch",
        source: "the ingress is shutting down".into(),
    }
}

/// Exponential back-off with full jitter: 50 ms, 100 ms, 200 ms … capped at 2 s.
pub fn backoff(attempt: u32) -> Duration {
    let ceiling = (50u64 << attempt.min(6)).min(2_000);
    Duration::from_millis(fastrand::u64(ceiling / 2..=ceiling))
}
