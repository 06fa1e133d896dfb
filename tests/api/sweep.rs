//! The periodic sweep: what no outbound message and no event carries still reaches the other
//! side, replicas sweeping at once queue each record once, and with the quota's table only one
//! of them sweeps a bucket.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use ace_sync::domain::job::Reason;
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;

use crate::helpers::world::{self, Options, World, text};
use crate::helpers::{dynamodb, env};

fn ace_of(world: &World, id: &str) -> serde_json::Value {
    let found = world.ace_for(id);
    assert_eq!(found.len(), 1, "one ACE opportunity for {id}: {found:?}");
    found.into_iter().next().unwrap()
}

/// The worker settings that share the write quota (and the sweep's claims) through `table`.
fn quota_table_settings(table: &str, endpoint: &str) -> String {
    format!("[ace.quota]\ntable = \"{table}\"\nendpoint_url = \"{endpoint}\"\n")
}

/// A world whose records `ids` are complete and in the creation stage.
async fn in_qualification(ids: &[String], options: Options) -> World {
    let records = ids
        .iter()
        .map(|id| {
            world::complete_opportunity(id, "Acme - Data Platform Migration", "Qualification")
        })
        .collect();
    World::start(world::seed(records), options).await
}

#[tokio::test]
async fn a_lost_review_event_and_an_edit_no_outbound_message_carries_reach_the_other_side_in_one_sweep()
 {
    let ids = world::opportunity_ids(2);
    let (reviewed, edited) = (ids[0].as_str(), ids[1].as_str());
    let delivered = Arc::new(AtomicBool::new(true));
    let world = World::start(
        world::seed(vec![
            world::complete_opportunity(reviewed, "Acme - Data Platform Migration", "Prospecting"),
            world::complete_opportunity(edited, "Globex - Analytics Lakehouse", "Prospecting"),
        ]),
        Options {
            events_delivered: delivered.clone(),
            ..Options::default()
        },
    )
    .await;
    world
        .rep_changes(reviewed, &[("StageName", text("Needs Analysis"))])
        .await;
    world
        .rep_changes(edited, &[("StageName", text("Qualification"))])
        .await;
    world.drain_changes().await;
    world.drain_events().await;
    assert_eq!(
        world.sf_field(reviewed, "ACE_Sync_Status__c").as_deref(),
        Some("Waiting for AWS review")
    );
    assert_eq!(
        world.sf_field(edited, "ACE_Sync_Status__c").as_deref(),
        Some("Synced")
    );

    // AWS approves the first; EventBridge loses every event of it.
    delivered.store(false, Ordering::SeqCst);
    world.pc.control().complete_reviews();
    world.drain_events().await;
    // The rep edits the second without changing its stage: the Flow sends nothing.
    let notifications = world.sf.notifications().len();
    world
        .sf
        .update_as_user(
            &edited.parse().unwrap(),
            &[("NextStep", text("Architecture review booked"))],
        )
        .unwrap();
    assert_eq!(world.sf.notifications().len(), notifications);
    world.drain_changes().await;
    assert_eq!(
        world.sf_field(reviewed, "ACE_Review_Status__c").as_deref(),
        Some("Submitted"),
        "nothing told the record"
    );
    assert!(
        ace_of(&world, edited)["LifeCycle"]
            .get("NextSteps")
            .is_none(),
        "nothing told ACE"
    );

    // One sweep.
    let sweeper = world.worker.sweeper().expect("a worker sweeps").clone();
    let bucket = sweeper.bucket_of(OffsetDateTime::now_utc());
    let report = sweeper.sweep(bucket).await;
    assert!(report.failures.is_empty(), "{report:?}");
    let jobs = world.peek_changes().await;
    let mut swept: Vec<&str> = jobs.iter().map(|j| j.record_id.as_str()).collect();
    swept.sort();
    let mut expected = vec![reviewed, edited];
    expected.sort();
    assert_eq!(swept, expected, "each record once: {jobs:?}");
    assert!(
        jobs.iter().all(|j| j.reason == Reason::Sweep { bucket }
            && j.org_id.as_str() == world.sf.org_id().as_str())
    );
    assert_eq!(report.records(), 2, "{report:?}");
    assert!(
        report.ace_reads >= 1 && report.salesforce_calls >= 1,
        "{report:?}"
    );
    world.drain_changes().await;

    assert_eq!(
        world.sf_field(reviewed, "ACE_Review_Status__c").as_deref(),
        Some("Approved")
    );
    assert_eq!(
        world.sf_field(reviewed, "ACE_Sync_Status__c").as_deref(),
        Some("Synced")
    );
    assert_eq!(
        ace_of(&world, edited)["LifeCycle"]["NextSteps"],
        "Architecture review booked"
    );
    let metrics = world.worker.metrics().encode();
    assert!(
        metrics.contains(r#"ace_sync_sweeps_total{outcome="complete"} 1"#),
        "{metrics}"
    );
    assert!(
        metrics.contains("ace_sync_sweep_ace_reads_per_day_bound "),
        "{metrics}"
    );
}

#[tokio::test]
async fn two_replicas_sweeping_at_once_queue_each_record_once() {
    let ids = world::opportunity_ids(3);
    let world = in_qualification(&ids, Options::default()).await;
    let replica = world.another_worker().await;
    let (one, two) = (
        world.worker.sweeper().expect("a sweeper").clone(),
        replica.sweeper().expect("a sweeper").clone(),
    );
    let bucket = one.bucket_of(OffsetDateTime::now_utc());
    let (first, second) = tokio::join!(one.sweep(bucket), two.sweep(bucket));
    // Each replica found and queued the three records...
    for report in [&first, &second] {
        assert!(report.failures.is_empty(), "{report:?}");
        assert_eq!(report.salesforce, 3, "{report:?}");
    }
    // ...and the queue holds each once.
    let jobs = world.peek_changes().await;
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for job in &jobs {
        *counts.entry(job.record_id.to_string()).or_default() += 1;
    }
    let expected: BTreeMap<String, usize> = ids.iter().map(|id| (id.clone(), 1)).collect();
    assert_eq!(counts, expected, "{jobs:?}");

    // The next bucket's sweep is a new trigger.
    one.sweep(bucket + 1).await;
    assert_eq!(world.peek_changes().await.len(), 6);
}

#[tokio::test]
async fn with_the_quota_table_one_replica_sweeps_each_bucket_and_the_others_stand_down() {
    let ids = world::opportunity_ids(2);
    let endpoint = env::sqs_endpoint();
    let table = dynamodb::quota_table(&dynamodb::client(&endpoint)).await;
    let world = in_qualification(
        &ids,
        Options {
            worker_settings: vec![quota_table_settings(&table, &endpoint)],
            ..Options::default()
        },
    )
    .await;
    let replica = world.another_worker().await;
    let (one, two) = (
        world.worker.sweeper().expect("a sweeper").clone(),
        replica.sweeper().expect("a sweeper").clone(),
    );
    let bucket = one.bucket_of(OffsetDateTime::now_utc());
    let (first, second) = tokio::join!(one.sweep(bucket), two.sweep(bucket));
    let (swept, stood_down) = match (first.claimed_elsewhere, second.claimed_elsewhere) {
        (false, true) => (first, second),
        (true, false) => (second, first),
        _ => panic!("exactly one replica sweeps a bucket: {first:?} {second:?}"),
    };
    assert!(swept.failures.is_empty(), "{swept:?}");
    assert_eq!(swept.salesforce, 2, "{swept:?}");
    assert!(swept.ace_reads >= 1, "{swept:?}");
    // The other listed nothing on either side and queued nothing.
    assert_eq!(
        (stood_down.ace_reads, stood_down.salesforce, stood_down.ace),
        (0, 0, 0),
        "{stood_down:?}"
    );
    assert_eq!(world.peek_changes().await.len(), 2);

    // A bucket once claimed is not swept again, even by the process that swept it...
    assert!(one.sweep(bucket).await.claimed_elsewhere);
    // ...and the next one is swept once more, by one of them.
    let (first, second) = tokio::join!(one.sweep(bucket + 1), two.sweep(bucket + 1));
    assert_eq!(
        [&first, &second]
            .iter()
            .filter(|r| r.claimed_elsewhere)
            .count(),
        1,
        "{first:?} {second:?}"
    );
    assert_eq!(world.peek_changes().await.len(), 4);
    // `one` stood down at least once (the bucket it had already claimed).
    let metrics = world.worker.metrics().encode();
    assert!(
        metrics.contains(r#"ace_sync_sweeps_total{outcome="claimed_elsewhere"}"#),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_sweep_whose_claim_cannot_be_made_sweeps_anyway() {
    let ids = world::opportunity_ids(1);
    let endpoint = env::sqs_endpoint();
    let dynamo = dynamodb::client(&endpoint);
    let table = dynamodb::quota_table(&dynamo).await;
    let world = in_qualification(
        &ids,
        Options {
            worker_settings: vec![quota_table_settings(&table, &endpoint)],
            ..Options::default()
        },
    )
    .await;
    // The table goes away after the start: every claim fails.
    dynamo
        .delete_table()
        .table_name(&table)
        .send()
        .await
        .expect("delete the table");
    let sweeper = world.worker.sweeper().expect("a sweeper").clone();
    let report = sweeper
        .sweep(sweeper.bucket_of(OffsetDateTime::now_utc()))
        .await;
    assert!(!report.claimed_elsewhere, "{report:?}");
    assert_eq!(report.salesforce, 1, "{report:?}");
    assert_eq!(world.peek_changes().await.len(), 1);
}

#[tokio::test]
async fn the_worker_sweeps_by_itself_every_interval() {
    let ids = world::opportunity_ids(1);
    let world = in_qualification(
        &ids,
        Options {
            // As often as the read bound lets a test sweep (17,280 sweeps a day).
            worker_settings: vec![
                "[worker.sweep]\ninterval = \"5s\"\nlookback = \"1h\"\nmax_records = 1\nmax_ace_pages = 1\nace_read_share_percent = 100\n"
                    .to_owned(),
            ],
            ..Options::default()
        },
    )
    .await;
    // Nothing told ace-sync about the record: it was seeded at its stage.
    assert!(world.ace_for(&ids[0]).is_empty());
    let stop = CancellationToken::new();
    let sweeper = world.worker.sweeper().expect("a sweeper").clone();
    let running = tokio::spawn(sweeper.run(stop.clone()));
    world
        .drain_changes_until(
            Duration::from_secs(30),
            "the swept record is in ACE",
            || !world.ace_for(&ids[0]).is_empty(),
        )
        .await;
    stop.cancel();
    running.await.unwrap();
    assert_eq!(
        world.sf_field(&ids[0], "ACE_Sync_Status__c").as_deref(),
        Some("Synced")
    );
}
