//! The two lanes in one worker process, driven step by step: what reaches the bulk queue, that
//! a record's repeated bulk jobs coalesce into one reconcile, and the daily budget: bulk stops
//! at its share and stops taking jobs, while a rep's change still reaches ACE within the
//! interactive reserve.

use std::time::Duration;

use ace_sync::domain::job::{Reason, Reconcile};
use time::OffsetDateTime;

use crate::helpers::app::{SINGLE, TestApp, message_with};
use crate::helpers::world::{self, Options, World, text};
use crate::helpers::{dynamodb, env, sqs};

/// A world whose worker has a bulk queue (and, with `quota`, an `[ace.quota]` of its own).
async fn world_with_bulk(ids: &[String], seeded_stage: &str, quota: &str) -> (World, String) {
    let client = sqs::shared_client();
    let bulk = sqs::fifo_queue(&client, "bulk", 5).await;
    let settings = format!("[queue]\nbulk_queue_url = \"{}\"\n{quota}", bulk.url);
    let world = World::start(
        world::seed(
            ids.iter()
                .enumerate()
                .map(|(i, id)| {
                    world::complete_opportunity(id, &format!("Acme - Lane {i}"), seeded_stage)
                })
                .collect(),
        ),
        Options {
            worker_settings: vec![settings],
            ..Options::default()
        },
    )
    .await;
    (world, bulk.url)
}

fn backfill(world: &World, id: &str) -> Reconcile {
    Reconcile {
        org_id: world.sf.org_id(),
        record_id: id.parse().unwrap(),
        reason: Reason::Backfill,
        changed_at: None,
        queued_at: OffsetDateTime::now_utc(),
    }
}

#[tokio::test]
async fn a_mass_updates_notifications_go_to_the_bulk_queue_and_a_reps_save_does_not() {
    let client = sqs::shared_client();
    let bulk = sqs::fifo_queue(&client, "bulk", 5).await;
    let app = TestApp::spawn(&[&format!(
        "[queue]\nbulk_queue_url = \"{}\"\nbulk_notifications = 10",
        bulk.url
    )])
    .await;
    // Twelve records of one transaction (one SystemModstamp), as a mass update sends them.
    let response = app.post_outbound(message_with(12)).await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(sqs::counts(&client, &bulk.url).await, (12, 0));
    assert_eq!(sqs::counts(&client, &app.queue.url).await, (0, 0));
    // A rep's save, and a few records edited together, are interactive.
    for body in [SINGLE.to_owned(), message_with(3)] {
        let response = app.post_outbound(body).await;
        assert_eq!(response.status().as_u16(), 200);
    }
    assert_eq!(sqs::counts(&client, &app.queue.url).await, (4, 0));
    assert_eq!(sqs::counts(&client, &bulk.url).await, (12, 0));
}

#[tokio::test]
async fn a_backfill_queued_through_the_lanes_is_reconciled_once_per_record_by_the_bulk_worker() {
    let ids = world::opportunity_ids(3);
    let (world, bulk_url) = world_with_bulk(&ids, "Qualification", "").await;
    let lanes = world.worker.lanes();
    assert!(lanes.has_bulk_queue());
    // Each record twice: by the backfill, and by the sweep running meanwhile.
    let jobs: Vec<Reconcile> = ids
        .iter()
        .map(|id| backfill(&world, id))
        .chain(ids.iter().map(|id| Reconcile {
            reason: Reason::Sweep { bucket: 1 },
            ..backfill(&world, id)
        }))
        .collect();
    lanes.enqueue(&jobs).await.expect("queued");
    assert_eq!(world.queue_counts(&bulk_url).await, (6, 0));
    assert_eq!(world.queue_counts(&world.changes.url).await, (0, 0));

    let bulk = world.worker.bulk_worker().expect("a bulk worker");
    let report = bulk.run_until_idle().await.expect("bulk queue");
    assert_eq!(report.received, 6, "{report:?}");
    assert_eq!(report.coalesced, 3, "one reconcile per record: {report:?}");
    for id in &ids {
        assert_eq!(world.ace_for(id).len(), 1, "{id}: one ACE opportunity");
        assert!(world.sf_field(id, "ACE_Opportunity_Id__c").is_some());
    }
    assert_eq!(world.queue_counts(&bulk_url).await, (0, 0));
}

#[tokio::test]
async fn bulk_stops_at_its_share_of_the_daily_budget_and_a_reps_change_still_reaches_ace() {
    let ids = world::opportunity_ids(6);
    let endpoint = env::sqs_endpoint();
    let table = dynamodb::quota_table(&dynamodb::client(&endpoint)).await;
    // A day of 16 writes, 8 of them kept for interactive work (the quota scaled down; the
    // rolling window is still 24 hours).
    let quota = format!(
        "[ace.quota]\ntable = \"{table}\"\nendpoint_url = \"{endpoint}\"\nwrites_per_day = 16\ninteractive_reserve = 8\n"
    );
    let (world, bulk_url) = world_with_bulk(&ids, "Qualification", &quota).await;
    let (backfilled, rep) = ids.split_at(5);
    let jobs: Vec<Reconcile> = backfilled.iter().map(|id| backfill(&world, id)).collect();
    world.worker.lanes().enqueue(&jobs).await.expect("queued");

    let bulk = world.worker.bulk_worker().expect("a bulk worker");
    bulk.run_until_idle().await.expect("bulk queue");
    // Bulk's share is 16 - 8: every slot it took is counted, written or (woken too late on a
    // loaded machine) not.
    let metrics = world.worker.metrics().encode();
    assert!(
        metrics.contains("ace_sync_ace_write_budget_used 8\n")
            && metrics.contains("ace_sync_ace_write_budget_remaining{lane=\"bulk\"} 0"),
        "{metrics}"
    );
    let bulk_writes = world.ace_writes();
    assert!((1..=8).contains(&bulk_writes), "{bulk_writes} bulk writes");
    let (visible, in_flight) = world.queue_counts(&bulk_url).await;
    assert!(
        visible + in_flight > 0,
        "the bulk jobs not done wait on their queue"
    );
    let report = bulk.drain_once(Duration::ZERO).await.expect("bulk queue");
    assert_eq!(report.received, 0, "the bulk worker's gate is closed");

    // A rep creates an opportunity: it reaches ACE on the interactive reserve.
    world
        .rep_changes(&rep[0], &[("StageName", text("Needs Analysis"))])
        .await;
    world.drain_changes().await;
    assert!(
        world.sf_field(&rep[0], "ACE_Opportunity_Id__c").is_some(),
        "the rep's opportunity is in ACE"
    );
    let writes = world.ace_writes();
    assert!(
        writes > bulk_writes && writes <= 16,
        "{writes} writes of 16"
    );
}
