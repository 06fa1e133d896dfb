//! The two lanes of reconcile jobs as one place to queue them: [`Lanes`] sends each job to
//! the changes queue (interactive) or the bulk queue by its lane (`domain::lane`), and to the
//! changes queue when no bulk queue is configured, so a job is never lost for want of one.
//!
//! The sweep and the backfill queue through [`Lanes::enqueue`]; the ingress sees `Lanes` as its
//! [`JobQueue`], one outbound message per call, which is how a mass update's notifications are
//! told apart from a rep's save. [`LaneGate`] is how a lane's worker learns that its share of
//! the write quota is spent, so that it stops taking jobs instead of failing them.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::domain::job::{Job, Reconcile};
use crate::domain::lane::{Lane, lanes_of_message};
use crate::ports::queue::{EnqueueError, JobQueue, OutgoingMessage, QueueError};

/// Where reconcile jobs go, by lane.
#[derive(Debug, Clone)]
pub struct Lanes {
    changes: Arc<dyn JobQueue>,
    bulk: Option<Arc<dyn JobQueue>>,
    /// Notifications of one outbound message changed together that make it a mass update
    /// (`queue.bulk_notifications`); 0 turns the recognition off.
    bulk_threshold: usize,
}

impl Lanes {
    pub fn new(
        changes: Arc<dyn JobQueue>,
        bulk: Option<Arc<dyn JobQueue>>,
        bulk_threshold: usize,
    ) -> Self {
        Self {
            changes,
            bulk,
            bulk_threshold,
        }
    }

    /// The queue of `lane`: the bulk queue, or the changes queue when there is none.
    pub fn queue(&self, lane: Lane) -> &Arc<dyn JobQueue> {
        match (lane, &self.bulk) {
            (Lane::Bulk, Some(bulk)) => bulk,
            _ => &self.changes,
        }
    }

    /// Whether bulk work has a queue of its own.
    pub fn has_bulk_queue(&self) -> bool {
        self.bulk.is_some()
    }

    /// Queues each job in its reason's lane (a sweep's or a backfill's jobs go to the bulk
    /// queue). Jobs queued together in one call are also looked at as one batch, as an
    /// outbound message's are: see [`lanes_of_message`].
    pub async fn enqueue(&self, jobs: &[Reconcile]) -> Result<(), EnqueueError> {
        let lanes = lanes_of_message(jobs, self.bulk_threshold);
        let messages = jobs.iter().map(OutgoingMessage::from).collect();
        self.send(messages, lanes).await
    }

    async fn send(
        &self,
        messages: Vec<OutgoingMessage>,
        lanes: Vec<Lane>,
    ) -> Result<(), EnqueueError> {
        let mut interactive = Vec::new();
        let mut bulk = Vec::new();
        for (message, lane) in messages.into_iter().zip(lanes) {
            match lane {
                Lane::Bulk if self.bulk.is_some() => bulk.push(message),
                _ => interactive.push(message),
            }
        }
        let (first, second) = tokio::join!(
            async {
                match interactive.is_empty() {
                    true => Ok(()),
                    false => self.changes.enqueue(interactive).await,
                }
            },
            async {
                match (&self.bulk, bulk.is_empty()) {
                    (Some(queue), false) => queue.enqueue(bulk).await,
                    _ => Ok(()),
                }
            }
        );
        first.and(second)
    }
}

#[async_trait]
impl JobQueue for Lanes {
    /// One outbound message's jobs (the ingress's call), routed as [`Lanes::enqueue`] routes
    /// them. A body that is not a job this version reads goes to the changes queue, where the
    /// worker refuses it on its own.
    async fn enqueue(&self, messages: Vec<OutgoingMessage>) -> Result<(), EnqueueError> {
        if self.bulk.is_none() {
            return self.changes.enqueue(messages).await;
        }
        let decoded: Vec<Option<Reconcile>> = messages
            .iter()
            .map(|m| Job::decode(&m.body).ok().and_then(Job::into_reconcile))
            .collect();
        let jobs: Vec<Reconcile> = decoded.iter().flatten().cloned().collect();
        let mut job_lanes = lanes_of_message(&jobs, self.bulk_threshold).into_iter();
        let lanes = decoded
            .iter()
            .map(|job| match job {
                Some(_) => job_lanes.next().unwrap_or(Lane::Interactive),
                None => Lane::Interactive,
            })
            .collect();
        self.send(messages, lanes).await
    }

    async fn ping(&self) -> Result<(), QueueError> {
        self.changes.ping().await
    }

    fn kind(&self) -> &'static str {
        self.changes.kind()
    }
}

/// Tells a lane's worker to stop taking jobs for a while: its share of the write quota is
/// spent, and a job taken now would only wait or fail.
#[async_trait]
pub trait LaneGate: Send + Sync {
    /// `Some(wait)` while the lane must not take jobs: look again after `wait`.
    async fn closed_for(&self) -> Option<Duration>;
}
