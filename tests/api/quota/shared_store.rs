//! The shared quota item itself, driven with explicit clock values so that what is checked is
//! the arithmetic and the conditional writes, not the machine's speed: several "processes"
//! (each its own DynamoDB client and store) racing on one item, a bulk backlog beside an
//! interactive write, and the daily budget.

use std::time::Duration;

use ace_sync::adapters::dynamodb_quota::DynamoDbQuotaStore;
use ace_sync::adapters::partner_central::limiter::{
    Decision, QuotaPolicy, QuotaStore, Request, now_ms,
};
use ace_sync::domain::lane::Lane;
use futures_util::future::join_all;

use crate::helpers::{dynamodb, env};

fn policy(per_window: u64, reserve: u64) -> QuotaPolicy {
    QuotaPolicy {
        spacing: Duration::from_secs(1),
        burst: 1,
        per_window,
        window: Duration::from_secs(24 * 3600),
        interactive_reserve: reserve,
        recovery: Duration::from_secs(300),
    }
}

/// `n` stores on one fresh table, each with a client of its own, as separate processes have.
async fn processes(n: usize, policy: &QuotaPolicy) -> Vec<DynamoDbQuotaStore> {
    let endpoint = env::sqs_endpoint();
    let table = dynamodb::quota_table(&dynamodb::client(&endpoint)).await;
    (0..n)
        .map(|_| {
            DynamoDbQuotaStore::new(
                dynamodb::client(&endpoint),
                &table,
                "partner-central-writes",
                policy.clone(),
            )
        })
        .collect()
}

fn slots(decision: Decision) -> Vec<u64> {
    match decision {
        Decision::Granted {
            first_ms,
            spacing_ms,
            count,
        } => (0..count)
            .map(|i| (first_ms as f64 + spacing_ms * f64::from(i)).ceil() as u64)
            .collect(),
        other => panic!("expected slots, got {other:?}"),
    }
}

#[tokio::test]
async fn processes_racing_on_one_item_never_get_the_same_slot() {
    let policy = policy(10_000, 2_000);
    let stores = processes(3, &policy).await;
    let t0 = now_ms();
    // Each process reserves ten leases of one to three slots, all three at once.
    let runs = stores.iter().enumerate().map(|(p, store)| async move {
        let mut granted = Vec::new();
        for i in 0..10u32 {
            let request = Request::Reserve {
                lane: Lane::Interactive,
                slots: 1 + (i + p as u32) % 3,
            };
            let (decision, _) = store
                .apply(request, t0 + u64::from(i))
                .await
                .expect("store");
            granted.extend(slots(decision));
        }
        granted
    });
    let mut all: Vec<u64> = join_all(runs).await.into_iter().flatten().collect();
    all.sort();
    assert_eq!(all.len(), 60, "every slot asked for was granted");
    for pair in all.windows(2) {
        assert!(
            pair[1] - pair[0] >= 999,
            "two slots {} ms apart: {all:?}",
            pair[1] - pair[0]
        );
    }
    let (_, usage) = stores[0].apply(Request::Observe, t0).await.unwrap();
    assert_eq!(usage.used, 60, "the window counts every slot once");
}

#[tokio::test]
async fn a_bulk_backlog_in_three_processes_delays_an_interactive_write_by_one_slot_at_most() {
    let policy = policy(10_000, 2_000);
    let mut stores = processes(4, &policy).await;
    let interactive = stores.pop().unwrap();
    let t0 = now_ms();
    let mut bulk_slots = 0;
    // Three processes with bulk work waiting ask for a slot every 250 ms for 20 s; a rep's
    // change needs a write at 2.5 s, 7.5 s, 12.5 s and 17.5 s.
    for step in 0..80u64 {
        let now = t0 + step * 250;
        let asks = stores.iter().map(|store| async move {
            let bulk = Request::Reserve {
                lane: Lane::Bulk,
                slots: 1,
            };
            store.apply(bulk, now).await.expect("store").0
        });
        for decision in join_all(asks).await {
            match decision {
                Decision::Granted { first_ms, .. } => {
                    assert!(
                        first_ms <= now + 1,
                        "bulk only takes a slot that starts now"
                    );
                    bulk_slots += 1;
                }
                Decision::Busy { retry_at_ms } => assert!(retry_at_ms > now),
                other => panic!("{other:?}"),
            }
        }
        if step % 20 == 10 {
            let ask = Request::Reserve {
                lane: Lane::Interactive,
                slots: 1,
            };
            let (decision, _) = interactive.apply(ask, now).await.expect("store");
            let slot = slots(decision)[0];
            assert!(
                slot <= now + 1001,
                "the interactive write starts {} ms after it asked, behind the bulk backlog",
                slot - now
            );
        }
    }
    // Bulk used what the interactive writes left: one slot a second, less those four.
    assert!(
        (15..=21).contains(&bulk_slots),
        "{bulk_slots} bulk slots in 20 s"
    );
}

#[tokio::test]
async fn bulk_stops_at_its_share_of_the_day_and_interactive_work_keeps_the_reserve() {
    let policy = QuotaPolicy {
        spacing: Duration::from_millis(10),
        ..policy(10, 4)
    };
    let stores = processes(2, &policy).await;
    let (bulk, interactive) = (&stores[0], &stores[1]);
    let t0 = now_ms();
    let mut now = t0;
    let mut bulk_writes = 0;
    let refill = loop {
        let ask = Request::Reserve {
            lane: Lane::Bulk,
            slots: 1,
        };
        match bulk.apply(ask, now).await.expect("store").0 {
            Decision::Granted { .. } => bulk_writes += 1,
            Decision::Spent { refill_at_ms } => break refill_at_ms,
            Decision::Busy { .. } => {}
            other => panic!("{other:?}"),
        }
        now += 10;
    };
    assert_eq!(bulk_writes, 6, "bulk stops with the reserve of 4 left");
    assert!(
        refill >= t0 + 24 * 3600 * 1000,
        "bulk waits for the window to roll"
    );
    let (_, usage) = interactive.apply(Request::Observe, now).await.unwrap();
    assert_eq!((usage.bulk_left, usage.interactive_left), (0, 4));
    assert!(usage.bulk_refill_ms.is_some(), "the bulk gate is closed");
    let ask = Request::Reserve {
        lane: Lane::Interactive,
        slots: 10,
    };
    let (decision, usage) = interactive.apply(ask, now).await.expect("store");
    assert_eq!(
        slots(decision).len(),
        4,
        "interactive work gets the reserve"
    );
    assert_eq!(usage.interactive_left, 0);
    assert!(matches!(
        interactive.apply(ask, now).await.unwrap().0,
        Decision::Spent { .. }
    ));
    // Two days on, the window has rolled for both lanes.
    let tomorrow = t0 + 2 * 24 * 3600 * 1000;
    let bulk_ask = Request::Reserve {
        lane: Lane::Bulk,
        slots: 1,
    };
    assert_eq!(
        slots(bulk.apply(bulk_ask, tomorrow).await.unwrap().0).len(),
        1
    );
}
