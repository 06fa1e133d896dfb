//! The batcher's owner task: every waiting message, grouped by message group, and the calls
//! in flight. Only this task touches them (see [`super`] for the rules it keeps).

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures_util::FutureExt;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::{
    Answer, BatchPolicy, BatchSender, BatcherMetrics, EntryFailure, Submit, backoff, stopped,
};
use crate::ports::queue::{EnqueueError, OutgoingMessage, QueueError};

/// A message waiting to be sent, and whose it is.
struct Entry {
    message: OutgoingMessage,
    request: usize,
    attempt: u32,
    /// When it reached the batcher: its linger runs from then, however long it then waited
    /// behind its group's call in flight.
    queued: Instant,
}

/// One enqueue call being served.
struct Request {
    total: usize,
    /// Entries not yet accepted, failed or dropped.
    unresolved: usize,
    accepted: usize,
    /// `None` once answered.
    answer: Option<Answer>,
}

impl Request {
    /// Nobody waits for this request's answer any more.
    fn abandoned(&self) -> bool {
        self.answer.as_ref().is_none_or(|a| a.is_closed())
    }
}

#[derive(Default)]
struct Group {
    entries: VecDeque<Entry>,
    /// A message of the group is in a call in flight, or waits to be tried again.
    busy: bool,
}

/// A batch call in flight: its messages, and whose each is.
struct Call {
    messages: Vec<OutgoingMessage>,
    owners: Vec<(usize, u32)>,
}

type CallResult = (Call, Result<Vec<EntryFailure>, QueueError>);

pub(super) struct Owner {
    sender: Arc<dyn BatchSender>,
    policy: BatchPolicy,
    metrics: BatcherMetrics,
    requests: Vec<Option<Request>>,
    free_slots: Vec<usize>,
    groups: HashMap<String, Group>,
    /// Groups with a message to send and none in flight, oldest first.
    ready: VecDeque<String>,
    /// Groups waiting to try their head message again, and when.
    retrying: Vec<(Instant, String)>,
    /// When the oldest ready message has lingered long enough to go in a call that is not full.
    linger_until: Option<Instant>,
    calls: JoinSet<CallResult>,
    waiting: usize,
    stopping: bool,
}

impl Owner {
    pub(super) fn new(
        sender: Arc<dyn BatchSender>,
        policy: BatchPolicy,
        metrics: BatcherMetrics,
    ) -> Self {
        Self {
            sender,
            policy,
            metrics,
            requests: Vec::new(),
            free_slots: Vec::new(),
            groups: HashMap::new(),
            ready: VecDeque::new(),
            retrying: Vec::new(),
            linger_until: None,
            calls: JoinSet::new(),
            waiting: 0,
            stopping: false,
        }
    }

    pub(super) async fn run(
        mut self,
        mut submissions: mpsc::Receiver<Submit>,
        stop: CancellationToken,
    ) {
        loop {
            self.dispatch(Instant::now());
            self.metrics.waiting.set(self.waiting as i64);
            if self.stopping && self.calls.is_empty() {
                break;
            }
            let wake = self.next_wake();
            tokio::select! {
                biased;
                () = stop.cancelled(), if !self.stopping => self.stop(),
                Some(done) = self.calls.join_next(), if !self.calls.is_empty() => match done {
                    Ok((call, result)) => self.complete(call, result),
                    // Send tasks catch their panics and are never aborted.
                    Err(e) => tracing::error!(error = %e, "a batch send task failed"),
                },
                received = submissions.recv(), if !self.stopping => match received {
                    Some(submit) => {
                        self.accept(submit);
                        // Take what else has arrived, so it is batched in this round.
                        for _ in 0..256 {
                            match submissions.try_recv() {
                                Ok(submit) => self.accept(submit),
                                Err(_) => break,
                            }
                        }
                    }
                    // Every handle is gone, so nobody waits for an answer.
                    None => self.stop(),
                },
                () = sleep_until(wake), if wake.is_some() => self.wake_retries(Instant::now()),
            }
        }
        submissions.close();
        while let Ok(submit) = submissions.try_recv() {
            self.accept(submit);
        }
        self.metrics.waiting.set(0);
    }

    fn next_wake(&self) -> Option<Instant> {
        let retry = self.retrying.iter().map(|(at, _)| *at).min();
        let linger = if self.ready.is_empty() || self.calls.len() >= self.policy.max_calls_in_flight
        {
            None
        } else {
            self.linger_until
        };
        match (retry, linger) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn accept(&mut self, submit: Submit) {
        let Submit { messages, answer } = submit;
        if self.stopping {
            let total = messages.len();
            let _ = answer.send(Err(EnqueueError::NotAccepted {
                rejected: total,
                total,
                cause: stopped(),
            }));
            return;
        }
        let request = Request {
            total: messages.len(),
            unresolved: messages.len(),
            accepted: 0,
            answer: Some(answer),
        };
        let slot = match self.free_slots.pop() {
            Some(slot) => {
                self.requests[slot] = Some(request);
                slot
            }
            None => {
                self.requests.push(Some(request));
                self.requests.len() - 1
            }
        };
        let queued = Instant::now();
        for message in messages {
            self.waiting += 1;
            let group = match self.groups.get_mut(&message.group_id) {
                Some(group) => group,
                None => {
                    self.ready.push_back(message.group_id.clone());
                    self.linger_until = earliest(self.linger_until, queued + self.policy.linger);
                    self.groups.entry(message.group_id.clone()).or_default()
                }
            };
            group.entries.push_back(Entry {
                message,
                request: slot,
                attempt: 0,
                queued,
            });
        }
    }

    /// Starts every call that may start now.
    fn dispatch(&mut self, now: Instant) {
        while !self.ready.is_empty() && self.calls.len() < self.policy.max_calls_in_flight {
            let lingered = self.linger_until.is_none_or(|until| until <= now);
            if self.ready.len() < self.policy.max_entries && !lingered {
                return;
            }
            let call = self.next_call();
            if !call.messages.is_empty() {
                self.metrics
                    .entries_per_call
                    .observe(call.messages.len() as f64);
                let sender = self.sender.clone();
                let call_seconds = self.metrics.call_seconds.clone();
                self.calls.spawn(async move {
                    let started = std::time::Instant::now();
                    // A panic in the sender fails the call's messages like any failed call,
                    // rather than leaving their groups busy for good.
                    let result = AssertUnwindSafe(sender.send_batch(&call.messages))
                        .catch_unwind()
                        .await
                        .unwrap_or_else(|_| {
                            Err(QueueError::Unavailable {
                                operation: "SendMessageBatch",
                                source: "the send task panicked".into(),
                            })
                        });
                    call_seconds.observe(started.elapsed().as_secs_f64());
                    (call, result)
                });
            }
        }
        if self.ready.is_empty() {
            self.linger_until = None;
        }
    }

    /// The next call: the head message of each ready group, oldest group first, up to the
    /// entry and byte limits. A group that gives a message is busy until the call answers.
    fn next_call(&mut self) -> Call {
        let mut call = Call {
            messages: Vec::with_capacity(self.policy.max_entries),
            owners: Vec::with_capacity(self.policy.max_entries),
        };
        let mut bytes = 0;
        while call.messages.len() < self.policy.max_entries {
            let Some(key) = self.ready.front() else {
                break;
            };
            let Some(group) = self.groups.get_mut(key) else {
                self.ready.pop_front();
                continue;
            };
            let head = loop {
                let Some(head) = group.entries.front() else {
                    break None;
                };
                let abandoned = self.requests[head.request]
                    .as_ref()
                    .is_none_or(Request::abandoned);
                if !abandoned {
                    break Some(head);
                }
                if let Some(dropped) = group.entries.pop_front() {
                    self.waiting -= 1;
                    resolve(
                        &mut self.requests,
                        &mut self.free_slots,
                        dropped.request,
                        Outcome::Dropped,
                    );
                }
            };
            let Some(head) = head else {
                if let Some(key) = self.ready.pop_front() {
                    self.groups.remove(&key);
                }
                continue;
            };
            let size = head.message.body.len();
            if !call.messages.is_empty() && bytes + size > self.policy.max_bytes {
                break;
            }
            let Some(entry) = group.entries.pop_front() else {
                break;
            };
            group.busy = true;
            self.ready.pop_front();
            self.waiting -= 1;
            bytes += size;
            call.owners.push((entry.request, entry.attempt));
            call.messages.push(entry.message);
        }
        call
    }

    /// Settles a call's messages: answers the requests they complete, and puts the ones worth
    /// another try back at the head of their groups.
    fn complete(&mut self, call: Call, result: Result<Vec<EntryFailure>, QueueError>) {
        let count = call.messages.len();
        let mut failures: Vec<Option<(bool, QueueError)>> = (0..count).map(|_| None).collect();
        match result {
            Ok(failed) => {
                for failure in failed {
                    if let Some(slot) = failures.get_mut(failure.index) {
                        *slot = Some((failure.retryable, failure.error));
                    }
                }
            }
            Err(error) => {
                let retryable = matches!(
                    error,
                    QueueError::Unavailable { .. } | QueueError::Timeout { .. }
                );
                let shared = Arc::new(error);
                for slot in &mut failures {
                    *slot = Some((retryable, share(&shared)));
                }
            }
        }
        let mut delay_for_attempt = None;
        for ((message, (request, attempt)), failure) in
            call.messages.into_iter().zip(call.owners).zip(failures)
        {
            let group_id = message.group_id.clone();
            match failure {
                None => {
                    resolve(
                        &mut self.requests,
                        &mut self.free_slots,
                        request,
                        Outcome::Accepted,
                    );
                    self.release(group_id);
                }
                Some((true, _))
                    if attempt + 1 < self.policy.attempts
                        && !self.stopping
                        && self.requests[request]
                            .as_ref()
                            .is_some_and(|r| !r.abandoned()) =>
                {
                    // Tried again at the head of its group, after one back-off for the whole
                    // call, so the call's failed messages go out together again.
                    let at = *delay_for_attempt
                        .get_or_insert_with(|| Instant::now() + backoff(attempt + 1));
                    self.metrics.retried.inc();
                    self.waiting += 1;
                    let group = self.groups.entry(group_id.clone()).or_default();
                    group.busy = true;
                    group.entries.push_front(Entry {
                        message,
                        request,
                        attempt: attempt + 1,
                        // Back-off is its wait; it goes as soon as its group is ready again.
                        queued: at.checked_sub(self.policy.linger).unwrap_or(at),
                    });
                    self.retrying.push((at, group_id));
                }
                Some((_, error)) => {
                    resolve(
                        &mut self.requests,
                        &mut self.free_slots,
                        request,
                        Outcome::Failed(error),
                    );
                    self.release(group_id);
                }
            }
        }
    }

    /// The group's message in flight is settled: its next one may go.
    fn release(&mut self, group_id: String) {
        let Some(group) = self.groups.get_mut(&group_id) else {
            return;
        };
        group.busy = false;
        if self.stopping {
            self.fail_group(&group_id);
        } else if let Some(head) = group.entries.front() {
            self.linger_until = earliest(self.linger_until, head.queued + self.policy.linger);
            self.ready.push_back(group_id);
        } else {
            self.groups.remove(&group_id);
        }
    }

    fn wake_retries(&mut self, now: Instant) {
        let (due, later): (Vec<_>, Vec<_>) = std::mem::take(&mut self.retrying)
            .into_iter()
            .partition(|(at, _)| *at <= now);
        self.retrying = later;
        for (_, group_id) in due {
            self.release(group_id);
        }
    }

    /// Answers every waiting message's request with an error; calls in flight finish.
    fn stop(&mut self) {
        self.stopping = true;
        self.ready.clear();
        self.linger_until = None;
        for (_, group_id) in std::mem::take(&mut self.retrying) {
            if let Some(group) = self.groups.get_mut(&group_id) {
                group.busy = false;
            }
        }
        let groups: Vec<String> = self.groups.keys().cloned().collect();
        for group_id in groups {
            self.fail_group(&group_id);
        }
    }

    /// Fails every message of a group that is not in flight, and forgets the group unless a
    /// call in flight still carries one of its messages.
    fn fail_group(&mut self, group_id: &str) {
        let Some(group) = self.groups.get_mut(group_id) else {
            return;
        };
        for entry in std::mem::take(&mut group.entries) {
            self.waiting -= 1;
            resolve(
                &mut self.requests,
                &mut self.free_slots,
                entry.request,
                Outcome::Failed(stopped()),
            );
        }
        if !group.busy {
            self.groups.remove(group_id);
        }
    }
}

/// The earlier of a deadline and a candidate.
fn earliest(current: Option<Instant>, candidate: Instant) -> Option<Instant> {
    Some(current.map_or(candidate, |c| c.min(candidate)))
}

enum Outcome {
    Accepted,
    Failed(QueueError),
    /// Not sent: nobody waits for it any more.
    Dropped,
}

/// Settles one entry of a request, answers the request when that decides it, and frees its
/// slot once every entry is settled.
fn resolve(
    requests: &mut [Option<Request>],
    free_slots: &mut Vec<usize>,
    slot: usize,
    outcome: Outcome,
) {
    let Some(request) = requests.get_mut(slot).and_then(Option::as_mut) else {
        return;
    };
    request.unresolved -= 1;
    match outcome {
        Outcome::Accepted => {
            request.accepted += 1;
            if request.accepted == request.total
                && let Some(answer) = request.answer.take()
            {
                let _ = answer.send(Ok(()));
            }
        }
        Outcome::Failed(cause) => {
            // The first failure decides: the caller hears at once, without waiting for the
            // request's other messages.
            if let Some(answer) = request.answer.take() {
                let _ = answer.send(Err(EnqueueError::NotAccepted {
                    rejected: request.total - request.accepted,
                    total: request.total,
                    cause,
                }));
            }
        }
        Outcome::Dropped => {}
    }
    if request.unresolved == 0 {
        requests[slot] = None;
        free_slots.push(slot);
    }
}

/// A copy of a call's error for each request it fails (errors are not `Clone`).
fn share(error: &Arc<QueueError>) -> QueueError {
    let source: Box<dyn std::error::Error + Send + Sync> = Box::new(Shared(error.clone()));
    match error.as_ref() {
        QueueError::Unavailable { operation, .. } => QueueError::Unavailable { operation, source },
        QueueError::Refused { operation, .. } => QueueError::Refused { operation, source },
        QueueError::Timeout { operation, timeout } => QueueError::Timeout {
            operation,
            timeout: *timeout,
        },
    }
}

/// One error shared by every request a failed call carried.
#[derive(Debug)]
struct Shared(Arc<QueueError>);

impl fmt::Display for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The variant's own text is already the outer error's; say what lies beneath it.
        match std::error::Error::source(self.0.as_ref()) {
            Some(source) => write!(f, "{source}"),
            None => write!(f, "{}", self.0),
        }
    }
}

impl std::error::Error for Shared {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        std::error::Error::source(self.0.as_ref()).and_then(std::error::Error::source)
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
