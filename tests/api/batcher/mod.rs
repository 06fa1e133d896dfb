//! The batcher that shares SendMessageBatch calls between concurrent requests: driven through
//! its public API against a scripted stand-in for SQS (so what each call holds and answers is
//! decided by the test), then through the ingress against moto and a server that never answers.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ace_sync::adapters::batcher::{self, BatchPolicy, BatcherMetrics, BatcherTask, BatchingQueue};
use ace_sync::ports::queue::{EnqueueError, JobQueue, OutgoingMessage};
use futures_util::future::join_all;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::registry::Registry;
use tokio::sync::Semaphore;

use crate::helpers::app::{SINGLE, TestApp, message_with};
use crate::helpers::sqs::FifoQueue;
use stand_in::{StandIn, Verdict};

mod stand_in;

fn policy(linger: Duration) -> BatchPolicy {
    BatchPolicy {
        max_entries: 10,
        max_bytes: 262_144,
        linger,
        max_calls_in_flight: 16,
        attempts: 4,
        deadline: Duration::from_secs(20),
    }
}

struct Running {
    queue: BatchingQueue,
    task: BatcherTask,
    stand_in: Arc<StandIn>,
    registry: Registry,
    retried: Counter,
}

fn start(stand_in: StandIn, policy: BatchPolicy) -> Running {
    let stand_in = Arc::new(stand_in);
    let mut registry = Registry::default();
    let retried = Counter::default();
    let metrics = BatcherMetrics::register(&mut registry, retried.clone());
    let (queue, task) = batcher::spawn(stand_in.clone(), policy, metrics);
    Running {
        queue,
        task,
        stand_in,
        registry,
        retried,
    }
}

impl Running {
    /// Messages waiting in the batcher now, from its gauge.
    fn waiting(&self) -> i64 {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry).unwrap();
        text.lines()
            .find_map(|l| l.strip_prefix("queue_batch_waiting_entries "))
            .and_then(|v| v.trim().parse().ok())
            .expect("the waiting gauge")
    }
}

fn message(group: &str, body: &str) -> OutgoingMessage {
    OutgoingMessage {
        group_id: group.to_owned(),
        dedup_id: body.to_owned(),
        body: body.to_owned(),
    }
}

/// Polls `condition` until it holds, or fails the test after 10 s.
async fn eventually(what: &str, condition: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

#[tokio::test]
async fn one_requests_entries_are_split_into_full_calls() {
    let running = start(StandIn::accepting(), policy(Duration::ZERO));
    let messages: Vec<_> = (0..25)
        .map(|i| message(&format!("g{i}"), &format!("m{i}")))
        .collect();
    running.queue.enqueue(messages).await.unwrap();
    let mut sizes = running.stand_in.call_sizes();
    sizes.sort_unstable();
    assert_eq!(sizes, [5, 10, 10]);

    // The byte limit splits calls too.
    let running = start(
        StandIn::accepting(),
        BatchPolicy {
            max_bytes: 1000,
            ..policy(Duration::ZERO)
        },
    );
    let messages: Vec<_> = (0..5)
        .map(|i| message(&format!("g{i}"), &format!("{i}{}", "x".repeat(399))))
        .collect();
    running.queue.enqueue(messages).await.unwrap();
    assert_eq!(running.stand_in.call_sizes(), [2, 2, 1]);
    let too_big = running
        .queue
        .enqueue(vec![message("g", &"y".repeat(1001))])
        .await;
    assert!(
        matches!(too_big, Err(EnqueueError::TooLarge { size: 1001, .. })),
        "{too_big:?}"
    );
}

#[tokio::test]
async fn concurrent_requests_share_a_call_and_a_partial_call_goes_after_the_linger() {
    // A long linger: ten single-message requests fill one call, which goes at once.
    let running = start(StandIn::accepting(), policy(Duration::from_secs(5)));
    let requests = (0..10).map(|i| {
        running
            .queue
            .enqueue(vec![message(&format!("g{i}"), &format!("m{i}"))])
    });
    let started = Instant::now();
    for result in join_all(requests).await {
        result.unwrap();
    }
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "a full call does not linger"
    );
    assert_eq!(running.stand_in.call_sizes(), [10]);

    // Three requests do not fill a call: it goes once the first has lingered.
    let running = start(StandIn::accepting(), policy(Duration::from_millis(200)));
    let requests = (0..3).map(|i| {
        running
            .queue
            .enqueue(vec![message(&format!("g{i}"), &format!("m{i}"))])
    });
    for result in join_all(requests).await {
        result.unwrap();
    }
    assert_eq!(running.stand_in.call_sizes(), [3]);
}

#[tokio::test]
async fn messages_waiting_behind_their_group_do_not_linger_again() {
    // Twenty messages for one record go one call at a time (the group's order); only the first
    // lingers, the others have waited long enough behind it.
    let running = start(StandIn::accepting(), policy(Duration::from_millis(200)));
    let requests = (0..20).map(|i| {
        running
            .queue
            .enqueue(vec![message("hot", &format!("m{i:02}"))])
    });
    let started = Instant::now();
    for result in join_all(requests).await {
        result.unwrap();
    }
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "took {:?}: each message lingered",
        started.elapsed()
    );
    assert_eq!(running.stand_in.call_sizes(), [1; 20]);
    let expected: Vec<String> = (0..20).map(|i| format!("m{i:02}")).collect();
    assert_eq!(running.stand_in.sent_bodies(), expected);
}

#[tokio::test]
async fn a_partly_failed_call_fails_exactly_the_requests_owning_the_failed_entries() {
    let stand_in = StandIn::new(|m, before| match (m.body.as_str(), before) {
        ("r2-b", _) => Verdict::Refuse,
        // Fails once, then is accepted when sent again.
        ("r4-a", 0) => Verdict::Transient,
        _ => Verdict::Accept,
    });
    let running = start(stand_in, policy(Duration::from_secs(5)));
    let requests = (0..5).map(|r| {
        running.queue.enqueue(vec![
            message(&format!("r{r}-a"), &format!("r{r}-a")),
            message(&format!("r{r}-b"), &format!("r{r}-b")),
        ])
    });
    let results = join_all(requests).await;
    assert_eq!(
        running.stand_in.call_sizes()[0],
        10,
        "one shared call first"
    );
    for (r, result) in results.iter().enumerate() {
        if r == 2 {
            match result {
                Err(EnqueueError::NotAccepted {
                    rejected, total, ..
                }) => assert_eq!((*rejected, *total), (1, 2)),
                other => panic!("request 2 owns the refused entry: {other:?}"),
            }
        } else {
            assert!(result.is_ok(), "request {r}: {result:?}");
        }
    }
    assert_eq!(running.retried.get(), 1, "r4-a was sent again");
    assert_eq!(running.stand_in.call_sizes(), [10, 1]);
}

#[tokio::test]
async fn entries_that_keep_failing_fail_their_request_after_the_attempts() {
    let running = start(
        StandIn::new(|_, _| Verdict::Transient),
        BatchPolicy {
            attempts: 3,
            ..policy(Duration::ZERO)
        },
    );
    let result = running.queue.enqueue(vec![message("g", "m")]).await;
    assert!(
        matches!(
            result,
            Err(EnqueueError::NotAccepted {
                rejected: 1,
                total: 1,
                ..
            })
        ),
        "{result:?}"
    );
    assert_eq!(running.stand_in.call_sizes(), [1, 1, 1]);
    assert_eq!(running.waiting(), 0);
}

#[tokio::test]
async fn a_request_whose_caller_went_away_is_not_sent_and_leaves_nothing_behind() {
    let gate = Arc::new(Semaphore::new(0));
    let running = start(
        StandIn::accepting().gated(gate.clone()),
        policy(Duration::ZERO),
    );
    // A's message is in flight (held at the gate); B's waits behind it in the same group, C's
    // is in flight in a group of its own.
    let queue = running.queue.clone();
    let a = tokio::spawn(async move { queue.enqueue(vec![message("g1", "a")]).await });
    eventually("A's call is in flight", || {
        running.stand_in.call_sizes() == [1]
    })
    .await;
    let queue = running.queue.clone();
    let b = tokio::spawn(async move { queue.enqueue(vec![message("g1", "b")]).await });
    let queue = running.queue.clone();
    let c = tokio::spawn(async move { queue.enqueue(vec![message("g2", "c")]).await });
    eventually("C's call is in flight and B waits", || {
        running.stand_in.call_sizes().len() == 2 && running.waiting() == 1
    })
    .await;

    // B's and C's clients go away.
    b.abort();
    c.abort();
    assert!(b.await.unwrap_err().is_cancelled());
    assert!(c.await.unwrap_err().is_cancelled());
    gate.add_permits(10);
    a.await.unwrap().unwrap();

    // B was never sent; C, already in flight, was; nothing waits any more and the batcher
    // still serves.
    eventually("nothing waits", || running.waiting() == 0).await;
    let mut sent = running.stand_in.sent_bodies();
    sent.sort();
    assert_eq!(sent, ["a", "c"]);
    running
        .queue
        .enqueue(vec![message("g1", "d")])
        .await
        .unwrap();
    assert_eq!(running.waiting(), 0);
}

#[tokio::test]
async fn on_stop_waiting_entries_fail_their_requests_and_calls_in_flight_finish() {
    let gate = Arc::new(Semaphore::new(0));
    let running = start(
        StandIn::accepting().gated(gate.clone()),
        BatchPolicy {
            max_calls_in_flight: 1,
            ..policy(Duration::ZERO)
        },
    );
    let queue = running.queue.clone();
    let a = tokio::spawn(async move { queue.enqueue(vec![message("g1", "a")]).await });
    eventually("A's call is in flight", || {
        running.stand_in.call_sizes() == [1]
    })
    .await;
    // B waits behind A's group, C for a free call.
    let queue = running.queue.clone();
    let b = tokio::spawn(async move { queue.enqueue(vec![message("g1", "b")]).await });
    let queue = running.queue.clone();
    let c = tokio::spawn(async move {
        queue
            .enqueue(vec![message("g2", "c"), message("g3", "c2")])
            .await
    });
    eventually("B and C wait", || running.waiting() == 3).await;

    let Running {
        queue,
        task,
        stand_in,
        ..
    } = running;
    let stopping = tokio::spawn(task.stop());
    for waiting in [b, c] {
        let result = waiting.await.unwrap();
        match result {
            Err(EnqueueError::NotAccepted { cause, .. }) => {
                assert!(
                    ace_sync::telemetry::error_chain(&cause).contains("shutting down"),
                    "{cause:?}"
                );
            }
            other => panic!("a waiting request fails on stop: {other:?}"),
        }
    }
    assert!(!stopping.is_finished(), "the call in flight is awaited");
    gate.add_permits(10);
    stopping.await.unwrap();
    a.await
        .unwrap()
        .expect("A was in flight and accepted: acked");
    assert_eq!(stand_in.sent_bodies(), ["a"], "nothing waiting was sent");
    let after = queue.enqueue(vec![message("g4", "late")]).await;
    assert!(
        matches!(after, Err(EnqueueError::NotAccepted { .. })),
        "{after:?}"
    );
}

#[tokio::test]
async fn a_groups_order_holds_under_concurrency_failures_and_retries() {
    // Calls answer after a random delay, and about one entry in eight fails the first time
    // it is sent, so calls overlap and retries happen while later messages wait.
    let stand_in = StandIn::new(|m, before| {
        let unlucky = m.body.bytes().map(u32::from).sum::<u32>() % 8 == 0;
        if unlucky && before == 0 {
            Verdict::Transient
        } else {
            Verdict::Accept
        }
    })
    .with_jitter(Duration::from_millis(3));
    let running = start(
        stand_in,
        BatchPolicy {
            attempts: 10,
            ..policy(Duration::from_micros(200))
        },
    );
    let groups = ["g0", "g1", "g2", "g3", "g4"];
    // 40 requests of 4 messages each, round-robin over 5 groups; join_all hands them to the
    // batcher in this order.
    let mut expected: HashMap<&str, Vec<String>> = HashMap::new();
    let mut requests = Vec::new();
    let mut n = 0;
    for _ in 0..40 {
        let mut messages = Vec::new();
        for _ in 0..4 {
            let group = groups[n % groups.len()];
            let body = format!("{group}-{n:04}");
            expected.entry(group).or_default().push(body.clone());
            messages.push(message(group, &body));
            n += 1;
        }
        requests.push(running.queue.enqueue(messages));
    }
    for result in join_all(requests).await {
        result.unwrap();
    }
    let seen = running.stand_in.seen.lock().unwrap();
    assert!(
        seen.overlaps.is_empty(),
        "a group was in two calls at once: {:?}",
        seen.overlaps
    );
    assert!(running.retried.get() > 0, "some entries were sent again");
    for group in groups {
        let accepted: Vec<_> = seen
            .accepted
            .iter()
            .filter(|m| m.group_id == group)
            .map(|m| m.body.clone())
            .collect();
        assert_eq!(&accepted, &expected[group], "order of {group}");
    }
}

/// An SQS endpoint that takes connections and never answers.
fn silent_sqs() -> (String, Arc<std::sync::atomic::AtomicUsize>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let connections = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = connections.clone();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            let Ok(stream) = stream else { break };
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            held.push(stream);
        }
    });
    (endpoint, connections)
}

#[tokio::test]
async fn past_the_in_flight_bound_a_message_is_refused_with_503_and_counted() {
    let (endpoint, connections) = silent_sqs();
    let queue = FifoQueue {
        url: format!("{endpoint}/000000000000/silent.fifo"),
        dlq_url: format!("{endpoint}/000000000000/silent-dlq.fifo"),
    };
    let app = TestApp::spawn_on(
        &endpoint,
        queue,
        &["[ingress]\nmax_in_flight_notifications = 100\n[queue]\nsend_deadline = \"2s\"\ncall_timeout = \"1s\"\nsend_attempts = 2"],
    )
    .await;
    // A hundred notifications hold the whole bound while SQS does not answer.
    let full = {
        let http = app.http.clone();
        let url = format!("{}/salesforce/outbound-message", app.address);
        tokio::spawn(async move {
            http.post(url)
                .header("content-type", "text/xml; charset=utf-8")
                .body(message_with(100))
                .send()
                .await
                .unwrap()
        })
    };
    eventually("a SendMessageBatch call is in flight", || {
        connections.load(std::sync::atomic::Ordering::SeqCst) > 0
    })
    .await;
    let refused = app.post_outbound(SINGLE).await;
    assert_eq!(refused.status().as_u16(), 503);
    let body = refused.text().await.unwrap();
    assert!(
        body.contains("soapenv:Server") && body.contains("limit of 100 notifications"),
        "{body}"
    );
    assert!(!body.contains("<Ack>"));
    assert_eq!(
        app.metric(r#"ace_sync_outbound_message_rejections_total{reason="overloaded"}"#)
            .await,
        1.0
    );

    // The first message fails at its deadline (no ack) and gives its share back: the next
    // one is refused by the queue, not by the bound.
    let first = full.await.unwrap();
    assert_eq!(first.status().as_u16(), 503);
    assert!(first.text().await.unwrap().contains("could not be queued"));
    let next = app.post_outbound(SINGLE).await;
    assert_eq!(next.status().as_u16(), 503);
    assert!(next.text().await.unwrap().contains("could not be queued"));
    assert_eq!(
        app.metric(r#"ace_sync_outbound_message_rejections_total{reason="overloaded"}"#)
            .await,
        1.0
    );
}

#[tokio::test]
async fn concurrent_messages_share_send_message_batch_calls_on_sqs() {
    // A long linger, so the calls are shared however the requests are scheduled.
    let app = TestApp::spawn(&["[queue]\nbatch_linger = \"100ms\""]).await;
    let bodies: Vec<String> = (0..5)
        .map(|i| {
            // Five messages of four notifications each, for twenty distinct records.
            message_with(4)
                .replace("0065g00000R", &format!("0065g0000{i}R"))
                .replace("04l5g00000N", &format!("04l5g0000{i}N"))
        })
        .collect();
    let responses = join_all(bodies.into_iter().map(|b| app.post_outbound(b))).await;
    for response in responses {
        assert_eq!(response.status().as_u16(), 200);
    }
    let calls = app
        .metric(r#"ace_sync_sqs_calls_total{operation="SendMessageBatch",outcome="ok"}"#)
        .await;
    assert!(calls <= 3.0, "{calls} calls for 20 notifications");
    let jobs = app.queued_jobs().await;
    assert_eq!(jobs.len(), 20);
}
