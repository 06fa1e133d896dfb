//! One set of queue semantics, checked against both adapters: the embedded memory queue and
//! SQS (moto's server through aws-sdk-sqs). The worker relies on exactly these.

use std::sync::Arc;
use std::time::Duration;

use ace_sync::adapters::memory_queue::MemoryQueue;
use ace_sync::adapters::sqs::{SendPolicy, SqsMetrics, SqsQueue};
use ace_sync::config::MemoryQueueSettings;
use ace_sync::ports::queue::{JobQueue, JobSource, OutgoingMessage};

use crate::helpers::sqs;

const MAX_RECEIVES: u32 = 2;

/// A fresh queue and its dead-letter queue, as ports.
struct Fixture {
    queue: Arc<dyn JobQueue>,
    source: Arc<dyn JobSource>,
    dead_letters: Arc<dyn JobSource>,
}

fn memory() -> Fixture {
    let queue = MemoryQueue::new(
        "contract",
        MemoryQueueSettings {
            visibility_timeout: Duration::from_secs(30),
            max_receive_count: MAX_RECEIVES,
            deduplication_window: Duration::from_secs(300),
        },
    );
    let dlq = queue
        .dead_letter_queue()
        .expect("a dead-letter queue")
        .clone();
    Fixture {
        queue: Arc::new(queue.clone()),
        source: Arc::new(queue),
        dead_letters: Arc::new(dlq),
    }
}

async fn sqs() -> Fixture {
    let client = sqs::shared_client();
    let created = sqs::fifo_queue(&client, "contract", MAX_RECEIVES).await;
    let policy = SendPolicy {
        batch_max_bytes: 262_144,
        attempts: 3,
        deadline: Duration::from_secs(10),
    };
    let queue = SqsQueue::new(
        client.clone(),
        &created.url.parse().unwrap(),
        policy.clone(),
        SqsMetrics::default(),
    );
    let dlq = SqsQueue::new(
        client,
        &created.dlq_url.parse().unwrap(),
        policy,
        SqsMetrics::default(),
    );
    Fixture {
        queue: Arc::new(queue.clone()),
        source: Arc::new(queue),
        dead_letters: Arc::new(dlq),
    }
}

fn message(group: &str, n: u32) -> OutgoingMessage {
    OutgoingMessage {
        group_id: group.to_owned(),
        dedup_id: format!("{group}-{n}"),
        body: format!("{group}:{n}"),
    }
}

const NO_WAIT: Duration = Duration::ZERO;

async fn bodies(source: &dyn JobSource) -> Vec<String> {
    source
        .receive(10, NO_WAIT)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.body)
        .collect()
}

/// Within a group: send order, and nothing more of the group while one is in flight.
async fn groups_are_ordered_and_serial(f: Fixture) {
    f.queue
        .enqueue(vec![message("a", 1), message("a", 2), message("b", 1)])
        .await
        .unwrap();
    let first = f.source.receive(10, NO_WAIT).await.unwrap();
    let got: Vec<_> = first.iter().map(|m| m.body.as_str()).collect();
    let position = |body: &str| got.iter().position(|b| *b == body);
    assert!(
        position("a:1").is_some() && position("b:1").is_some(),
        "{got:?}"
    );
    if let Some(second) = position("a:2") {
        assert!(
            position("a:1").unwrap() < second,
            "group order kept within a batch: {got:?}"
        );
    }
    // While a:1 is in flight, a:2 is not handed out again or for the first time.
    let again = bodies(f.source.as_ref()).await;
    assert!(
        again.is_empty(),
        "group a is blocked while a:1 is in flight: {again:?}"
    );
    // Done with a:1 (and whatever else came): a:2 follows if it did not come already.
    let receipts: Vec<_> = first.iter().map(|m| m.receipt.clone()).collect();
    f.source.delete(&receipts).await.unwrap();
    let rest = bodies(f.source.as_ref()).await;
    if position("a:2").is_none() {
        assert_eq!(rest, ["a:2"]);
    } else {
        assert!(rest.is_empty(), "{rest:?}");
    }
}

/// The same deduplication id within the window is delivered once.
async fn duplicates_are_dropped(f: Fixture) {
    f.queue.enqueue(vec![message("a", 1)]).await.unwrap();
    f.queue.enqueue(vec![message("a", 1)]).await.unwrap();
    let got = f.source.receive(10, NO_WAIT).await.unwrap();
    assert_eq!(got.len(), 1);
    f.source.delete(&[got[0].receipt.clone()]).await.unwrap();
    assert!(bodies(f.source.as_ref()).await.is_empty());
}

/// A received message stays hidden until made visible again; the receive count grows; past
/// the redrive limit the message moves to the dead-letter queue.
async fn visibility_receive_count_and_dead_letters(f: Fixture) {
    f.queue.enqueue(vec![message("a", 1)]).await.unwrap();
    let first = f.source.receive(1, NO_WAIT).await.unwrap();
    assert_eq!(first[0].receive_count, 1);
    assert_eq!(first[0].group_id.as_deref(), Some("a"));
    assert!(
        bodies(f.source.as_ref()).await.is_empty(),
        "hidden while in flight"
    );

    f.source
        .change_visibility(&first[0].receipt, Duration::ZERO)
        .await
        .unwrap();
    let second = f.source.receive(1, NO_WAIT).await.unwrap();
    assert_eq!(second.len(), 1);
    assert_eq!(second[0].receive_count, 2);
    assert_eq!(second[0].message_id, first[0].message_id);

    f.source
        .change_visibility(&second[0].receipt, Duration::ZERO)
        .await
        .unwrap();
    // Received MAX_RECEIVES times already: the next receive moves it instead of delivering.
    assert!(bodies(f.source.as_ref()).await.is_empty());
    let dead = bodies(f.dead_letters.as_ref()).await;
    assert_eq!(dead, ["a:1"]);
}

/// A long poll returns as soon as a message arrives.
async fn long_polls_wake_on_arrival(f: Fixture) {
    let queue = f.queue.clone();
    let sender = tokio::spawn(async move {
        tokio::task::yield_now().await;
        queue.enqueue(vec![message("a", 1)]).await.unwrap();
    });
    let got = f.source.receive(10, Duration::from_secs(10)).await.unwrap();
    sender.await.unwrap();
    assert_eq!(got.len(), 1);
}

macro_rules! contract {
    ($name:ident) => {
        mod $name {
            #[tokio::test]
            async fn memory() {
                super::$name(super::memory()).await;
            }

            #[tokio::test]
            async fn sqs() {
                super::$name(super::sqs().await).await;
            }
        }
    };
}

contract!(groups_are_ordered_and_serial);
contract!(duplicates_are_dropped);
contract!(visibility_receive_count_and_dead_letters);
contract!(long_polls_wake_on_arrival);
