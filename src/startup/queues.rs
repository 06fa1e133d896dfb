//! The queues a process uses: SQS, as the settings name them, or the embedded in-memory one.

use std::sync::Arc;

use crate::adapters::memory_queue::MemoryQueue;
use crate::adapters::sqs::{self, SendPolicy, SqsMetrics, SqsQueue};
use crate::config::{QueueSettings, Settings};
use crate::ports::queue::{JobQueue, JobSource};

/// A queue, as configured.
#[derive(Debug, Clone)]
pub enum QueueHandle {
    Sqs(SqsQueue),
    Memory(MemoryQueue),
}

impl QueueHandle {
    pub fn as_job_queue(&self) -> Arc<dyn JobQueue> {
        match self {
            QueueHandle::Sqs(q) => Arc::new(q.clone()),
            QueueHandle::Memory(q) => Arc::new(q.clone()),
        }
    }

    pub fn as_job_source(&self) -> Arc<dyn JobSource> {
        match self {
            QueueHandle::Sqs(q) => Arc::new(q.clone()),
            QueueHandle::Memory(q) => Arc::new(q.clone()),
        }
    }

    async fn sqs(settings: &Settings, url: &url::Url, metrics: SqsMetrics) -> QueueHandle {
        let client = sqs::client(&settings.queue).await;
        QueueHandle::Sqs(
            SqsQueue::new(
                client,
                url,
                SendPolicy::from_settings(&settings.queue),
                metrics,
            )
            .with_receive_visibility(settings.worker.visibility_timeout),
        )
    }

    /// The opportunity-changes queue the settings name, or the embedded one.
    pub async fn changes(settings: &Settings, metrics: SqsMetrics) -> QueueHandle {
        match &settings.queue.changes_queue_url {
            Some(url) => Self::sqs(settings, url, metrics).await,
            None => {
                tracing::warn!(
                    "NO SQS QUEUE CONFIGURED: using the embedded in-memory queue. It is NOT durable: \
                     outbound messages acknowledged to Salesforce are lost if this process stops. \
                     Set queue.changes_queue_url (ACE_SYNC_QUEUE__CHANGES_QUEUE_URL) for production."
                );
                QueueHandle::Memory(memory(&settings.queue, "ace-sync-changes"))
            }
        }
    }

    /// The bulk lane's queue the settings name, if any.
    pub async fn bulk(settings: &Settings, metrics: SqsMetrics) -> Option<QueueHandle> {
        match &settings.queue.bulk_queue_url {
            Some(url) => Some(Self::sqs(settings, url, metrics).await),
            None => None,
        }
    }

    /// The Partner Central events queue the settings name, if any.
    pub async fn events(settings: &Settings, metrics: SqsMetrics) -> Option<QueueHandle> {
        match &settings.queue.events_queue_url {
            Some(url) => Some(Self::sqs(settings, url, metrics).await),
            None => None,
        }
    }
}

fn memory(settings: &QueueSettings, name: &str) -> MemoryQueue {
    MemoryQueue::new(name, settings.memory.clone())
}

impl QueueHandle {
    /// Messages on the queue, visible or in flight.
    pub async fn depth(&self) -> Result<usize, crate::ports::queue::QueueError> {
        match self {
            QueueHandle::Sqs(q) => q.depth().await,
            QueueHandle::Memory(q) => Ok(q.depth()),
        }
    }

    /// An embedded in-memory queue with the configured semantics.
    pub fn memory(settings: &QueueSettings, name: &str) -> MemoryQueue {
        memory(settings, name)
    }
}
