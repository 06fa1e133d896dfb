//! Workers: take messages off a queue, hand each to a [`Processor`], and turn its
//! [`Disposition`] into what the queue understands.
//!
//! - `Done` → delete (batched); `Permanent` → the processor has recorded the failure where
//!   someone can act on it, so delete too; `Retry` → `ChangeMessageVisibility` with
//!   exponential back-off and jitter. A message that keeps failing is moved to the
//!   dead-letter queue by the queue's redrive policy, not by us.
//! - Order: messages of one FIFO group (one Salesforce record) are processed one after the
//!   other; when one of them is retried, the rest of its group in the same batch is released
//!   unprocessed, so nothing overtakes it. Different groups run concurrently, bounded by a
//!   semaphore.
//! - Gate: a worker may have a [`LaneGate`]; while it is closed (the bulk lane's share of the
//!   ACE write budget is spent) the worker receives nothing, so its jobs wait on the queue
//!   instead of being received, failed and counted towards the dead-letter queue.
//! - Shutdown: when the token fires, no new receive starts; received messages not yet started
//!   are handed back at once; messages in flight get `shutdown_grace` to finish; anything still
//!   unfinished then is neither deleted nor released, so the queue hands it out again after its
//!   visibility timeout.

pub mod bulk;
pub mod changes;
pub mod events;
mod group;
mod metrics;
pub mod reconcile;
// AWS referrals: the invitation reconcile.
pub mod referrals;
pub mod sweep;

pub use self::group::backoff;
pub use self::metrics::WorkerMetrics;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::domain::disposition::Disposition;
use crate::ports::lanes::LaneGate;
use crate::ports::queue::{JobSource, Receipt, ReceivedMessage};

/// Does the work for one message. Implementations never panic on bad input: a message they
/// cannot understand is `Permanent`.
#[async_trait]
pub trait Processor: Send + Sync {
    async fn process(&self, message: &ReceivedMessage) -> Disposition;

    /// A label for logs and metrics.
    fn name(&self) -> &'static str;

    /// For a processor whose messages only name what to look at (not what to do): which of
    /// one group's messages, received together, stands for all of them. The others are
    /// deleted unprocessed, since one run covers them all. `None` (the default) processes
    /// each message.
    fn coalesce(&self, _group: &[ReceivedMessage]) -> Option<usize> {
        None
    }

    /// The message is about to be parked in the dead-letter queue after its last receive
    /// (`reason`: the failure of this last attempt): say so where someone will see it.
    async fn exhausted(&self, _message: &ReceivedMessage, _reason: &str) {}
}

/// How a worker consumes its queue.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Messages processed at the same time (across groups).
    pub concurrency: usize,
    /// Long-poll wait of each receive (SQS allows up to 20 s).
    pub wait: Duration,
    /// First retry delay; doubled per receive, with full jitter.
    pub retry_base: Duration,
    /// Longest retry delay.
    pub retry_cap: Duration,
    /// Time in-flight messages get to finish after shutdown is requested.
    pub shutdown_grace: Duration,
}

/// What one pass over a batch did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchReport {
    pub received: usize,
    pub done: usize,
    pub retried: usize,
    pub permanent: usize,
    /// Released unprocessed behind a retried message of the same group.
    pub deferred: usize,
    /// Held until their time (a check-again job received early).
    pub later: usize,
    /// Deleted unprocessed: another message of their group, processed instead, covered them.
    pub coalesced: usize,
    /// Parked in the dead-letter queue with their reason.
    pub dead_lettered: usize,
}

impl BatchReport {
    fn add(&mut self, other: BatchReport) {
        self.received += other.received;
        self.done += other.done;
        self.retried += other.retried;
        self.permanent += other.permanent;
        self.deferred += other.deferred;
        self.later += other.later;
        self.coalesced += other.coalesced;
        self.dead_lettered += other.dead_lettered;
    }
}

/// A queue consumer.
pub struct Worker {
    source: Arc<dyn JobSource>,
    processor: Arc<dyn Processor>,
    config: WorkerConfig,
    metrics: WorkerMetrics,
    permits: Arc<Semaphore>,
    redrive_limit: tokio::sync::OnceCell<Option<u32>>,
    gate: Option<Arc<dyn LaneGate>>,
}

impl Worker {
    pub fn new(
        source: Arc<dyn JobSource>,
        processor: Arc<dyn Processor>,
        config: WorkerConfig,
        metrics: WorkerMetrics,
    ) -> Self {
        let permits = Arc::new(Semaphore::new(config.concurrency.max(1)));
        Self {
            source,
            processor,
            config,
            metrics,
            permits,
            redrive_limit: tokio::sync::OnceCell::new(),
            gate: None,
        }
    }

    /// Receives only while `gate` is open.
    pub fn with_gate(mut self, gate: Arc<dyn LaneGate>) -> Self {
        self.gate = Some(gate);
        self
    }

    /// How long to hold off receiving, if the gate is closed.
    async fn closed_for(&self) -> Option<Duration> {
        match &self.gate {
            Some(gate) => gate.closed_for().await,
            None => None,
        }
    }

    /// The queue's redrive limit, asked once; unknown (and asked again next time) while the
    /// queue does not answer.
    async fn redrive_limit(&self) -> Option<u32> {
        if let Some(limit) = self.redrive_limit.get() {
            return *limit;
        }
        match self.source.max_receive_count().await {
            Ok(limit) => *self.redrive_limit.get_or_init(|| async { limit }).await,
            Err(e) => {
                tracing::warn!(worker = self.processor.name(), error = %crate::telemetry::error_chain(&e), "the queue's redrive policy could not be read");
                None
            }
        }
    }

    fn batch_size(&self) -> usize {
        self.config.concurrency.clamp(1, 10)
    }

    fn max_batches(&self) -> usize {
        self.config.concurrency.max(1).div_ceil(10)
    }

    /// Receives once (waiting up to `wait`) and processes what came. Tests drive the worker
    /// with this, step by step.
    pub async fn drain_once(
        &self,
        wait: Duration,
    ) -> Result<BatchReport, crate::ports::queue::QueueError> {
        if self.closed_for().await.is_some() {
            return Ok(BatchReport::default());
        }
        let messages = self.source.receive(self.batch_size(), wait).await?;
        Ok(self
            .process_batch(messages, &CancellationToken::new())
            .await)
    }

    /// Processes until a receive comes back empty; returns what was done in total.
    pub async fn run_until_idle(&self) -> Result<BatchReport, crate::ports::queue::QueueError> {
        let mut total = BatchReport::default();
        loop {
            let report = self.drain_once(Duration::ZERO).await?;
            if report.received == 0 {
                return Ok(total);
            }
            total.add(report);
        }
    }

    /// Long-polls and processes until `shutdown` fires, then drains what is in flight.
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        let name = self.processor.name();
        tracing::info!(
            worker = name,
            concurrency = self.config.concurrency,
            "worker started"
        );
        let mut failures = 0u32;
        let mut batches: JoinSet<BatchReport> = JoinSet::new();
        'receiving: loop {
            // A received message's visibility timeout runs while it waits for a permit, so
            // receive no more than can be processed at once. Shutdown is watched here too:
            // waiting for a slot must not outlast the grace.
            while batches.len() >= self.max_batches() {
                tokio::select! {
                    _ = shutdown.cancelled() => break 'receiving,
                    _ = batches.join_next() => {}
                }
            }
            if let Some(wait) = self.closed_for().await {
                tracing::debug!(
                    worker = name,
                    wait_ms = wait.as_millis() as u64,
                    "gate closed: not receiving"
                );
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = tokio::time::sleep(wait) => continue,
                }
            }
            let received = tokio::select! {
                _ = shutdown.cancelled() => break,
                received = self.source.receive(self.batch_size(), self.config.wait) => received,
            };
            match received {
                Ok(messages) if messages.is_empty() => {
                    failures = 0;
                }
                Ok(messages) => {
                    failures = 0;
                    let worker = self.clone();
                    let token = shutdown.clone();
                    batches.spawn(async move { worker.process_batch(messages, &token).await });
                }
                Err(e) => {
                    failures += 1;
                    let delay = backoff(self.config.retry_base, self.config.retry_cap, failures);
                    tracing::warn!(
                        worker = name,
                        error = %crate::telemetry::error_chain(&e),
                        retry_in_ms = delay.as_millis() as u64,
                        "receiving from the queue failed"
                    );
                    tokio::select! {
                        _ = shutdown.cancelled() => break,
                        _ = tokio::time::sleep(delay) => {}
                    }
                }
            }
            while let Some(done) = batches.try_join_next() {
                if let Err(e) = done {
                    tracing::error!(worker = name, error = %e, "a batch task failed");
                }
            }
        }
        tracing::info!(
            worker = name,
            in_flight = batches.len(),
            "worker stopping; finishing in-flight messages"
        );
        let drained = tokio::time::timeout(self.config.shutdown_grace, async {
            while batches.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            // Dropping the set aborts what is left; those messages were not deleted and will
            // be delivered again after their visibility timeout.
            tracing::warn!(
                worker = name,
                unfinished = batches.len(),
                "shutdown grace elapsed; unfinished messages return to the queue"
            );
            batches.abort_all();
        }
        tracing::info!(worker = name, "worker stopped");
    }

    async fn process_batch(
        &self,
        messages: Vec<ReceivedMessage>,
        shutdown: &CancellationToken,
    ) -> BatchReport {
        let name = self.processor.name();
        let mut report = BatchReport {
            received: messages.len(),
            ..BatchReport::default()
        };
        // Group, keeping the queue's order within each group.
        let mut groups: BTreeMap<String, Vec<ReceivedMessage>> = BTreeMap::new();
        for message in messages {
            let group = message
                .group_id
                .clone()
                .unwrap_or_else(|| message.message_id.clone());
            groups.entry(group).or_default().push(message);
        }
        let redrive_limit = self.redrive_limit().await;
        let mut lanes: JoinSet<(BatchReport, Vec<Receipt>)> = JoinSet::new();
        for (_, group) in groups {
            let lane = group::Lane {
                source: self.source.clone(),
                processor: self.processor.clone(),
                permits: self.permits.clone(),
                metrics: self.metrics.clone(),
                config: self.config.clone(),
                shutdown: shutdown.clone(),
                redrive_limit,
            };
            lanes.spawn(group::process_group(group, lane));
        }
        let mut finished = Vec::new();
        while let Some(lane) = lanes.join_next().await {
            match lane {
                Ok((lane_report, receipts)) => {
                    report.add(BatchReport {
                        received: 0,
                        ..lane_report
                    });
                    finished.extend(receipts);
                }
                Err(e) => tracing::error!(worker = name, error = %e, "a processing task failed"),
            }
        }
        if !finished.is_empty()
            && let Err(e) = self.source.delete(&finished).await
        {
            // Not fatal: the messages come back and are processed again, which the
            // processors tolerate (they converge on the current state).
            tracing::warn!(worker = name, error = %crate::telemetry::error_chain(&e), "deleting finished messages failed");
        }
        report
    }
}

#[cfg(test)]
mod tests {
    use prometheus_client::registry::Registry;
    use std::sync::Mutex;

    use super::*;
    use crate::adapters::memory_queue::MemoryQueue;
    use crate::config::MemoryQueueSettings;
    use crate::ports::queue::{JobQueue, OutgoingMessage};

    /// Answers from a script keyed by message body, and records the order of calls.
    struct Scripted {
        answers: Mutex<BTreeMap<String, Vec<Disposition>>>,
        seen: Mutex<Vec<String>>,
    }

    #[async_trait]
    impl Processor for Scripted {
        async fn process(&self, message: &ReceivedMessage) -> Disposition {
            self.seen.lock().unwrap().push(message.body.clone());
            let mut answers = self.answers.lock().unwrap();
            match answers.get_mut(&message.body) {
                Some(list) if !list.is_empty() => list.remove(0),
                _ => Disposition::Done,
            }
        }

        fn name(&self) -> &'static str {
            "scripted"
        }
    }

    fn queue() -> MemoryQueue {
        MemoryQueue::new(
            "worker-test",
            MemoryQueueSettings {
                visibility_timeout: Duration::from_secs(30),
                max_receive_count: 3,
                deduplication_window: Duration::from_secs(300),
            },
        )
    }

    fn config() -> WorkerConfig {
        WorkerConfig {
            concurrency: 4,
            wait: Duration::ZERO,
            retry_base: Duration::ZERO,
            retry_cap: Duration::ZERO,
            shutdown_grace: Duration::from_secs(5),
        }
    }

    fn message(group: &str, body: &str) -> OutgoingMessage {
        OutgoingMessage {
            group_id: group.into(),
            dedup_id: body.into(),
            body: body.into(),
        }
    }

    #[tokio::test]
    async fn done_and_permanent_delete_retry_comes_back() {
        let queue = queue();
        queue
            .enqueue(vec![
                message("a", "a1"),
                message("b", "b1"),
                message("c", "c1"),
            ])
            .await
            .unwrap();
        let processor = Arc::new(Scripted {
            answers: Mutex::new(BTreeMap::from([
                (
                    "b1".to_owned(),
                    vec![Disposition::Permanent {
                        reason: "bad".into(),
                    }],
                ),
                (
                    "c1".to_owned(),
                    vec![Disposition::Retry {
                        after: Duration::ZERO,
                        reason: "busy".into(),
                    }],
                ),
            ])),
            seen: Mutex::new(Vec::new()),
        });
        let worker = Worker::new(
            Arc::new(queue.clone()),
            processor.clone(),
            config(),
            WorkerMetrics::register(&mut Registry::default()),
        );
        let first = worker.drain_once(Duration::ZERO).await.unwrap();
        assert_eq!(
            first,
            BatchReport {
                received: 3,
                done: 1,
                retried: 1,
                permanent: 1,
                deferred: 0,
                later: 0,
                coalesced: 0,
                dead_lettered: 0,
            }
        );
        let total = worker.run_until_idle().await.unwrap();
        assert_eq!(
            total.done, 1,
            "the retried message succeeds the second time"
        );
        assert_eq!(queue.depth(), 0);
    }

    #[tokio::test]
    async fn a_retry_holds_back_the_rest_of_its_group() {
        let queue = queue();
        queue
            .enqueue(vec![
                message("a", "a1"),
                message("a", "a2"),
                message("a", "a3"),
            ])
            .await
            .unwrap();
        let processor = Arc::new(Scripted {
            answers: Mutex::new(BTreeMap::from([(
                "a1".to_owned(),
                vec![Disposition::Retry {
                    after: Duration::ZERO,
                    reason: "locked".into(),
                }],
            )])),
            seen: Mutex::new(Vec::new()),
        });
        let worker = Worker::new(
            Arc::new(queue.clone()),
            processor.clone(),
            config(),
            WorkerMetrics::register(&mut Registry::default()),
        );
        let first = worker.drain_once(Duration::ZERO).await.unwrap();
        assert_eq!(first.retried, 1);
        assert_eq!(first.deferred, 2);
        worker.run_until_idle().await.unwrap();
        assert_eq!(*processor.seen.lock().unwrap(), ["a1", "a1", "a2", "a3"]);
    }

    /// Never finishes: a message stuck on a slow dependency. Says when it has started.
    struct Stuck(tokio::sync::Notify);

    #[async_trait]
    impl Processor for Stuck {
        async fn process(&self, _message: &ReceivedMessage) -> Disposition {
            self.0.notify_one();
            std::future::pending().await
        }

        fn name(&self) -> &'static str {
            "stuck"
        }
    }

    #[tokio::test]
    async fn shutdown_waits_no_longer_than_the_grace_and_keeps_unfinished_messages() {
        let queue = queue();
        queue.enqueue(vec![message("a", "a1")]).await.unwrap();
        let stuck = Arc::new(Stuck(tokio::sync::Notify::new()));
        let worker = Arc::new(Worker::new(
            Arc::new(queue.clone()),
            stuck.clone(),
            WorkerConfig {
                // One batch at a time: the loop waits for a slot while the batch is stuck.
                concurrency: 1,
                shutdown_grace: Duration::from_millis(50),
                ..config()
            },
            WorkerMetrics::register(&mut Registry::default()),
        ));
        let shutdown = CancellationToken::new();
        let running = tokio::spawn(worker.run(shutdown.clone()));
        tokio::time::timeout(Duration::from_secs(5), stuck.0.notified())
            .await
            .expect("the message is being processed");
        shutdown.cancel();
        tokio::time::timeout(Duration::from_secs(5), running)
            .await
            .expect("the worker stops within its grace")
            .unwrap();
        assert_eq!(queue.depth(), 1, "the unfinished message is not deleted");
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        let base = Duration::from_secs(1);
        let cap = Duration::from_secs(60);
        for attempt in 1..30 {
            let delay = backoff(base, cap, attempt);
            let ceiling = base * (1 << (attempt - 1).min(20)).min(60);
            assert!(delay <= ceiling.min(cap), "{attempt}: {delay:?}");
            assert!(delay >= ceiling.min(cap) / 2, "{attempt}: {delay:?}");
        }
    }
}
