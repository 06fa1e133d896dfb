//! An in-process queue with the semantics of an SQS FIFO queue and its redrive policy, used
//! when no SQS queue is configured so that ace-sync runs on a machine with nothing else.
//!
//! It is **not durable**: whatever is on it is lost when the process stops, and a message it
//! acknowledged to Salesforce may therefore never be processed. `startup` says so loudly.

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::config::MemoryQueueSettings;
use crate::ports::queue::{
    EnqueueError, JobQueue, JobSource, OutgoingMessage, QueueError, Receipt, ReceivedMessage,
};

/// A handle to one in-memory queue; clones share the queue.
#[derive(Clone)]
pub struct MemoryQueue {
    inner: Arc<Inner>,
}

struct Inner {
    name: String,
    settings: MemoryQueueSettings,
    state: Mutex<State>,
    arrivals: Notify,
    dead_letters: Option<MemoryQueue>,
}

#[derive(Default)]
struct State {
    next_id: u64,
    /// In send order; FIFO order within a group is this order.
    messages: VecDeque<Stored>,
    /// Deduplication ids within the window, and the same in the order first seen, so that
    /// expiring them costs only what expires.
    seen: HashSet<String>,
    seen_order: VecDeque<(Instant, String)>,
}

struct Stored {
    message_id: String,
    group_id: String,
    body: String,
    sent_at_ms: u64,
    receive_count: u32,
    /// `Some` while in flight: the current receipt and when the message becomes visible again.
    in_flight: Option<(String, Instant)>,
}

impl std::fmt::Debug for MemoryQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryQueue")
            .field("name", &self.inner.name)
            .finish_non_exhaustive()
    }
}

impl MemoryQueue {
    /// A FIFO queue whose messages move to a dead-letter queue after
    /// `settings.max_receive_count` receives.
    pub fn new(name: &str, settings: MemoryQueueSettings) -> Self {
        let dead_letters = MemoryQueue::without_redrive(&format!("{name}-dlq"), settings.clone());
        Self::build(name, settings, Some(dead_letters))
    }

    /// A queue with no redrive policy (a dead-letter queue itself).
    pub fn without_redrive(name: &str, settings: MemoryQueueSettings) -> Self {
        Self::build(name, settings, None)
    }

    fn build(name: &str, settings: MemoryQueueSettings, dead_letters: Option<MemoryQueue>) -> Self {
        Self {
            inner: Arc::new(Inner {
                name: name.to_owned(),
                settings,
                state: Mutex::new(State::default()),
                arrivals: Notify::new(),
                dead_letters,
            }),
        }
    }

    /// The queue that receives messages past the redrive limit.
    pub fn dead_letter_queue(&self) -> Option<&MemoryQueue> {
        self.inner.dead_letters.as_ref()
    }

    /// Messages on the queue, visible or in flight.
    pub fn depth(&self) -> usize {
        self.lock().messages.len()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves consistent data behind (every mutation is a
        // single step), so a poisoned lock is still usable.
        self.inner
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn push(&self, message: OutgoingMessage) {
        let now = Instant::now();
        let mut state = self.lock();
        let window = self.inner.settings.deduplication_window;
        while let Some((at, _)) = state.seen_order.front() {
            if now.duration_since(*at) < window {
                break;
            }
            if let Some((_, id)) = state.seen_order.pop_front() {
                state.seen.remove(&id);
            }
        }
        if state.seen.contains(&message.dedup_id) {
            return;
        }
        state.seen.insert(message.dedup_id.clone());
        state.seen_order.push_back((now, message.dedup_id));
        state.next_id += 1;
        let message_id = format!("{}-{}", self.inner.name, state.next_id);
        state.messages.push_back(Stored {
            message_id,
            group_id: message.group_id,
            body: message.body,
            sent_at_ms: unix_ms(),
            receive_count: 0,
            in_flight: None,
        });
    }

    /// Takes what can be delivered now. Returns the messages and, when there are none, the
    /// instant at which an in-flight message becomes visible again.
    fn take_visible(&self, max: usize) -> (Vec<ReceivedMessage>, Option<Instant>) {
        let now = Instant::now();
        let visibility = self.inner.settings.visibility_timeout;
        let max_receives = self.inner.settings.max_receive_count;
        let mut guard = self.lock();
        let state: &mut State = &mut guard;
        let mut out = Vec::new();
        let mut blocked_groups: Vec<String> = Vec::new();
        let mut to_dead_letter = Vec::new();
        let mut next_visible: Option<Instant> = None;
        let next_id = &mut state.next_id;
        for (index, stored) in state.messages.iter_mut().enumerate() {
            if out.len() >= max {
                break;
            }
            if blocked_groups.contains(&stored.group_id) {
                continue;
            }
            if let Some((_, visible_at)) = &stored.in_flight
                && *visible_at > now
            {
                next_visible = Some(next_visible.map_or(*visible_at, |n| n.min(*visible_at)));
                blocked_groups.push(stored.group_id.clone());
                continue;
            }
            if self.inner.dead_letters.is_some() && stored.receive_count >= max_receives {
                to_dead_letter.push(index);
                continue;
            }
            *next_id += 1;
            let receipt = format!("{}:{}:{}", self.inner.name, stored.message_id, next_id);
            stored.receive_count += 1;
            stored.in_flight = Some((receipt.clone(), now + visibility));
            out.push(ReceivedMessage {
                message_id: stored.message_id.clone(),
                body: stored.body.clone(),
                receipt: Receipt::new(receipt),
                receive_count: stored.receive_count,
                group_id: Some(stored.group_id.clone()),
                sent_at_ms: Some(stored.sent_at_ms),
            });
        }
        let moved: Vec<Stored> = to_dead_letter
            .into_iter()
            .rev()
            .filter_map(|index| state.messages.remove(index))
            .collect();
        drop(guard);
        if let Some(dlq) = &self.inner.dead_letters {
            for stored in moved.into_iter().rev() {
                tracing::warn!(
                    queue = %self.inner.name,
                    message_id = %stored.message_id,
                    receive_count = stored.receive_count,
                    "message moved to the dead-letter queue after too many receives"
                );
                dlq.push(OutgoingMessage {
                    dedup_id: stored.message_id.clone(),
                    group_id: stored.group_id,
                    body: stored.body,
                });
            }
        }
        (out, next_visible)
    }
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

#[async_trait]
impl JobQueue for MemoryQueue {
    async fn enqueue(&self, messages: Vec<OutgoingMessage>) -> Result<(), EnqueueError> {
        for message in messages {
            self.push(message);
        }
        self.inner.arrivals.notify_waiters();
        Ok(())
    }

    async fn ping(&self) -> Result<(), QueueError> {
        Ok(())
    }

    fn kind(&self) -> &'static str {
        "memory"
    }
}

#[async_trait]
impl JobSource for MemoryQueue {
    async fn receive(
        &self,
        max: usize,
        wait: Duration,
    ) -> Result<Vec<ReceivedMessage>, QueueError> {
        let deadline = Instant::now() + wait;
        loop {
            // Register for wake-ups before looking, so an arrival between the look and the
            // wait is not missed.
            let arrival = self.inner.arrivals.notified();
            let (messages, next_visible) = self.take_visible(max.clamp(1, 10));
            if !messages.is_empty() {
                return Ok(messages);
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(Vec::new());
            }
            let wake = next_visible.map_or(deadline, |at| at.min(deadline));
            let _ = tokio::time::timeout_at(wake, arrival).await;
        }
    }

    async fn delete(&self, receipts: &[Receipt]) -> Result<(), QueueError> {
        let mut state = self.lock();
        state.messages.retain(|stored| {
            !matches!(&stored.in_flight, Some((receipt, _)) if receipts.iter().any(|r| r.as_str() == receipt))
        });
        Ok(())
    }

    async fn change_visibility(
        &self,
        receipt: &Receipt,
        delay: Duration,
    ) -> Result<(), QueueError> {
        let mut state = self.lock();
        let stored = state.messages.iter_mut().find(
            |stored| matches!(&stored.in_flight, Some((current, _)) if current == receipt.as_str()),
        );
        match stored {
            Some(stored) => {
                if let Some((_, visible_at)) = &mut stored.in_flight {
                    // Whole seconds, as SQS takes them.
                    let seconds = crate::ports::queue::visibility_seconds(delay);
                    *visible_at = Instant::now() + Duration::from_secs(seconds);
                }
                drop(state);
                self.inner.arrivals.notify_waiters();
                Ok(())
            }
            None => Err(QueueError::Refused {
                operation: "ChangeMessageVisibility",
                source: "the receipt handle is not that of a message in flight".into(),
            }),
        }
    }
}
