//! Real `ace-sync work` processes sharing one quota table, against the Partner Central
//! simulator at ACE's real write quota (1 write/s, a bucket of one): the simulator is the
//! judge. Every write it admitted came no sooner than its bucket allows, so "no
//! ThrottlingException in its call log" is "the processes together stayed within the quota".

use std::time::Duration;

use ace_sync_sandbox::partner_central::{QuotaConfig, RateQuota, SimConfig as PcConfig};

use crate::helpers::world::{self, ACE_WRITES, Options, World, text};
use crate::helpers::{dynamodb, env};

const DEADLINE: Duration = Duration::from_secs(240);

/// Reads are not what this is about: they get a quota no reconcile reaches.
fn writes_at_aws_quota() -> PcConfig {
    PcConfig {
        quotas: QuotaConfig {
            enabled: true,
            write: QuotaConfig::aws().write,
            read: RateQuota {
                per_second: 10_000.0,
                burst: 10_000,
                per_day: 10_000_000,
            },
        },
        ..PcConfig::for_tests()
    }
}

#[tokio::test]
async fn three_worker_processes_share_one_quota_and_partner_central_throttles_nothing() {
    let ids = world::opportunity_ids(6);
    let world = World::start(
        world::seed(
            ids.iter()
                .enumerate()
                .map(|(i, id)| {
                    world::complete_opportunity(id, &format!("Acme - Shared {i}"), "Prospecting")
                })
                .collect(),
        ),
        Options {
            pc: writes_at_aws_quota(),
            ..Options::default()
        },
    )
    .await;
    let endpoint = env::sqs_endpoint();
    let table = dynamodb::quota_table(&dynamodb::client(&endpoint)).await;
    let settings = [
        ("ACE_SYNC_ACE__WRITES_PER_SECOND", "1"),
        ("ACE_SYNC_ACE__WRITE_BURST", "1"),
        ("ACE_SYNC_ACE__QUOTA__TABLE", table.as_str()),
        ("ACE_SYNC_ACE__QUOTA__ENDPOINT_URL", endpoint.as_str()),
        // Loopback jitter on a loaded machine: writes 1.1 s apart at the simulator's 1/s.
        ("ACE_SYNC_ACE__QUOTA__MARGIN", "100ms"),
        ("ACE_SYNC_WORKER__CONCURRENCY", "2"),
        ("ACE_SYNC_WORKER__VISIBILITY_TIMEOUT", "60s"),
    ];
    let mut workers = [
        world.spawn_worker(&settings),
        world.spawn_worker(&settings),
        world.spawn_worker(&settings),
    ];
    for id in &ids {
        world
            .rep_changes(id, &[("StageName", text("Needs Analysis"))])
            .await;
    }
    workers[0]
        .eventually(
            DEADLINE,
            "every opportunity was created and submitted",
            || {
                // A throttled write ends the wait at once: the assertion below says which.
                let throttled = world
                    .pc
                    .control()
                    .call_log()
                    .iter()
                    .any(|call| call.error == Some("ThrottlingException"));
                let done = ids
                    .iter()
                    .all(|id| world.sf_field(id, "ACE_Opportunity_Id__c").is_some())
                    && world
                        .pc
                        .control()
                        .call_count("StartEngagementFromOpportunityTask")
                        >= ids.len() as u64;
                throttled || done
            },
        )
        .await;

    let log = world.pc.control().call_log();
    let writes: Vec<_> = log
        .iter()
        .filter(|call| ACE_WRITES.contains(&call.operation.as_str()))
        .collect();
    let throttled: Vec<_> = writes
        .iter()
        .filter(|call| call.error == Some("ThrottlingException"))
        .map(|call| call.operation.as_str())
        .collect();
    assert!(
        throttled.is_empty(),
        "Partner Central throttled {} of {} writes: {throttled:?}",
        throttled.len(),
        writes.len()
    );
    assert!(writes.len() >= 3 * ids.len(), "{} writes", writes.len());
    for worker in &mut workers {
        assert!(
            worker
                .log()
                .contains("ACE write quota shared through DynamoDB"),
            "{}",
            worker.log()
        );
    }
}

#[tokio::test]
async fn a_worker_whose_quota_table_cannot_be_read_does_not_start() {
    let ids = world::opportunity_ids(1);
    let world = World::start(
        world::seed(vec![world::complete_opportunity(
            &ids[0],
            "Acme - No table",
            "Prospecting",
        )]),
        Options::default(),
    )
    .await;
    let endpoint = env::sqs_endpoint();
    let mut worker = world.spawn_worker(&[
        ("ACE_SYNC_ACE__QUOTA__TABLE", "ace-sync-no-such-table"),
        ("ACE_SYNC_ACE__QUOTA__ENDPOINT_URL", endpoint.as_str()),
    ]);
    let status = worker.exit_status(Duration::from_secs(60)).await;
    assert!(!status.success(), "{status}");
    let log = worker.log();
    assert!(
        log.contains("ace.quota.table ace-sync-no-such-table"),
        "the reason names the setting: {log}"
    );
}
