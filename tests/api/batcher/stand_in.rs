//! A scripted stand-in for SQS's SendMessageBatch, behind the batcher's [`BatchSender`] port:
//! the test decides how each entry is answered and when calls return, and reads what each call
//! held.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ace_sync::adapters::batcher::{BatchSender, EntryFailure};
use ace_sync::ports::queue::{OutgoingMessage, QueueError};
use async_trait::async_trait;
use tokio::sync::Semaphore;

/// How the stand-in answers one entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Accept,
    /// Failed, SQS's fault: worth another try.
    Transient,
    /// Failed, the sender's fault.
    Refuse,
}

type Decide = Box<dyn Fn(&OutgoingMessage, usize) -> Verdict + Send + Sync>;

/// A scripted SQS: records every call, answers each entry as `decide` says (given the entry
/// and how many times its body was sent before), optionally waits for a permit of `gate`
/// before answering, and notes whether a message group was ever in two calls at once.
pub struct StandIn {
    decide: Decide,
    gate: Option<Arc<Semaphore>>,
    jitter: Option<Duration>,
    pub seen: Mutex<Seen>,
}

#[derive(Default)]
pub struct Seen {
    pub calls: Vec<Vec<String>>,
    pub accepted: Vec<OutgoingMessage>,
    sent: HashMap<String, usize>,
    groups_in_flight: HashSet<String>,
    pub overlaps: Vec<String>,
}

impl std::fmt::Debug for StandIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StandIn")
    }
}

impl StandIn {
    pub fn new(
        decide: impl Fn(&OutgoingMessage, usize) -> Verdict + Send + Sync + 'static,
    ) -> Self {
        Self {
            decide: Box::new(decide),
            gate: None,
            jitter: None,
            seen: Mutex::new(Seen::default()),
        }
    }

    pub fn accepting() -> Self {
        Self::new(|_, _| Verdict::Accept)
    }

    /// Calls answer after a random delay of up to `jitter`.
    pub fn with_jitter(mut self, jitter: Duration) -> Self {
        self.jitter = Some(jitter);
        self
    }

    pub fn gated(mut self, gate: Arc<Semaphore>) -> Self {
        self.gate = Some(gate);
        self
    }

    pub fn call_sizes(&self) -> Vec<usize> {
        self.seen
            .lock()
            .unwrap()
            .calls
            .iter()
            .map(Vec::len)
            .collect()
    }

    pub fn sent_bodies(&self) -> Vec<String> {
        let seen = self.seen.lock().unwrap();
        seen.calls.iter().flatten().cloned().collect()
    }
}

#[async_trait]
impl BatchSender for StandIn {
    async fn send_batch(
        &self,
        entries: &[OutgoingMessage],
    ) -> Result<Vec<EntryFailure>, QueueError> {
        {
            let mut seen = self.seen.lock().unwrap();
            seen.calls
                .push(entries.iter().map(|e| e.body.clone()).collect());
            for entry in entries {
                if !seen.groups_in_flight.insert(entry.group_id.clone()) {
                    seen.overlaps.push(entry.group_id.clone());
                }
            }
        }
        if let Some(gate) = &self.gate {
            gate.acquire().await.expect("gate open").forget();
        }
        if let Some(jitter) = self.jitter {
            let micros = fastrand::u64(0..=jitter.as_micros() as u64);
            tokio::time::sleep(Duration::from_micros(micros)).await;
        }
        let mut seen = self.seen.lock().unwrap();
        let mut failures = Vec::new();
        for (index, entry) in entries.iter().enumerate() {
            seen.groups_in_flight.remove(&entry.group_id);
            let before = seen.sent.entry(entry.body.clone()).or_insert(0);
            let verdict = (self.decide)(entry, *before);
            *before += 1;
            match verdict {
                Verdict::Accept => seen.accepted.push(entry.clone()),
                Verdict::Transient | Verdict::Refuse => failures.push(EntryFailure {
                    index,
                    retryable: verdict == Verdict::Transient,
                    error: QueueError::Unavailable {
                        operation: "SendMessageBatch",
                        source: "injected by the test".into(),
                    },
                }),
            }
        }
        Ok(failures)
    }

    async fn ping(&self) -> Result<(), QueueError> {
        Ok(())
    }

    fn kind(&self) -> &'static str {
        "stand-in"
    }
}
