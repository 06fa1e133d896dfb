//! The bulk lane's processor: the sweep's, the backfill's and a mass update's reconcile jobs,
//! from the bulk queue. They are reconciled exactly as the changes queue's are (the same
//! [`ChangesProcessor`], coalescing a record's jobs received together), with a Partner Central
//! client whose writes take only the quota the interactive lane leaves, and with their
//! check-agains kept on the bulk queue, so that bulk work never moves into the interactive lane.

use async_trait::async_trait;

use super::Processor;
use super::changes::ChangesProcessor;
use crate::domain::disposition::Disposition;
use crate::ports::queue::ReceivedMessage;

/// Reconciles the records the bulk queue names.
pub struct BulkProcessor(ChangesProcessor);

impl BulkProcessor {
    /// `inner` reconciles with the bulk lane's Partner Central client and queues its
    /// check-agains on the bulk queue.
    pub fn new(inner: ChangesProcessor) -> Self {
        Self(inner)
    }
}

#[async_trait]
impl Processor for BulkProcessor {
    async fn process(&self, message: &ReceivedMessage) -> Disposition {
        self.0.process(message).await
    }

    fn name(&self) -> &'static str {
        "bulk"
    }

    fn coalesce(&self, group: &[ReceivedMessage]) -> Option<usize> {
        self.0.coalesce(group)
    }
}
