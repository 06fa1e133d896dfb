//! Nothing lost, nothing silent: a deployment problem keeps the messages (and says what to
//! fix) until it is fixed; a change that fails on every receive the queue allows is shown on
//! its record and parked in the dead-letter queue with its reason, and `ace-sync dlq` lists it
//! and brings it back.

use std::process::Command;
use std::time::Duration;

use ace_sync_sandbox::partner_central::Fault;

use crate::helpers::world::{self, Options, World, text};

const DEADLINE: Duration = Duration::from_secs(60);

fn ids() -> Vec<String> {
    world::opportunity_ids(3)
}

async fn world_of(ids: &[String], options: Options) -> World {
    World::start(
        world::seed(
            ids.iter()
                .enumerate()
                .map(|(i, id)| {
                    world::complete_opportunity(id, &format!("Acme - Project {i}"), "Prospecting")
                })
                .collect(),
        ),
        options,
    )
    .await
}

#[tokio::test]
async fn expired_salesforce_credentials_keep_every_change_until_they_are_fixed() {
    let ids = ids();
    // Retries a second apart, so the test can watch the messages wait.
    let world = world_of(
        &ids,
        Options {
            worker_settings: vec!["[worker]\nretry_base = \"1s\"\nretry_cap = \"1s\"\n".into()],
            ..Options::default()
        },
    )
    .await;
    // The connected app's certificate expired: Salesforce refuses every new token.
    world.sf.set_faults(|f| {
        f.token_refusal = Some((
            "invalid_grant".into(),
            "invalid assertion: the certificate has expired".into(),
        ));
    });
    world.sf.expire_all_sessions();
    for id in &ids {
        world
            .rep_changes(id, &[("StageName", text("Qualification"))])
            .await;
    }
    let first = world.drain_changes_once(Duration::ZERO).await;
    assert_eq!(
        (first.retried, first.permanent, first.done),
        (3, 0, 0),
        "{first:?}"
    );
    // Kept, not dropped; nothing reached ACE or the dead-letter queue; the worker says why.
    let (visible, in_flight) = world.queue_counts(&world.changes.url).await;
    assert_eq!(visible + in_flight, 3);
    assert_eq!(world.queue_counts(&world.changes.dlq_url).await, (0, 0));
    assert_eq!(world.ace_calls(), 0);
    let open = world.worker.outages().open();
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!(open[0].kind.label(), "salesforce_auth");
    assert!(
        open[0].reason.contains("certificate has expired"),
        "{open:?}"
    );
    let metrics = world.worker.metrics().encode();
    assert!(
        metrics.contains(r#"ace_sync_outage{kind="salesforce_auth"} 1"#),
        "{metrics}"
    );

    // An administrator uploads the new certificate: every change syncs.
    world.sf.set_faults(|f| f.token_refusal = None);
    world
        .drain_changes_until(DEADLINE, "every change synced", || {
            ids.iter().all(|id| {
                world.sf_field(id, "ACE_Opportunity_Id__c").is_some()
                    && world.sf_field(id, "ACE_Sync_Status__c").as_deref() == Some("Synced")
            })
        })
        .await;
    for id in &ids {
        assert_eq!(world.ace_for(id).len(), 1, "{id}");
    }
    assert!(world.worker.outages().open().is_empty());
    assert!(
        world
            .worker
            .metrics()
            .encode()
            .contains(r#"ace_sync_outage{kind="salesforce_auth"} 0"#)
    );
}

#[tokio::test]
async fn a_change_that_fails_every_time_is_shown_on_its_record_parked_and_replayed() {
    let ids = ids();
    let id = &ids[0];
    let world = world_of(&ids[..1], Options::default()).await;
    // Partner Central fails every CreateOpportunity, however often it is retried.
    world
        .pc
        .control()
        .inject_fault("CreateOpportunity", Fault::InternalServer, 10_000);
    world
        .rep_changes(id, &[("StageName", text("Qualification"))])
        .await;
    // The queue allows five receives (tests/api/helpers: fifo_queue(…, 5)); the last one
    // parks the message.
    let report = world.drain_changes().await;
    assert_eq!(report.dead_lettered, 1, "{report:?}");
    assert_eq!(
        world.sf_field(id, "ACE_Sync_Status__c").as_deref(),
        Some("Error")
    );
    let findings = world.sf_field(id, "ACE_Findings__c").unwrap_or_default();
    assert!(
        findings.contains("gave up") && findings.contains("after 5 attempts"),
        "{findings}"
    );
    assert!(findings.contains("unavailable"), "the cause: {findings}");
    assert!(findings.contains("ace-sync dlq replay"), "{findings}");
    assert_eq!(world.queue_counts(&world.changes.url).await, (0, 0));

    // The operator's view, through the real binary on the same queues.
    let dlq = |args: &[&str]| {
        let output = Command::new(env!("CARGO_BIN_EXE_ace-sync"))
            .arg("dlq")
            .args(args)
            .env_clear()
            .envs(
                world
                    .worker_env
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str())),
            )
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", "us-east-1")
            .output()
            .expect("run ace-sync dlq");
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(
            output.status.success(),
            "{stdout}{}",
            String::from_utf8_lossy(&output.stderr)
        );
        stdout
    };
    let stats = dlq(&["stats"]);
    assert!(stats.contains("1 message(s) parked"), "{stats}");
    assert!(stats.contains("CreateOpportunity"), "{stats}");
    let list = dlq(&["list"]);
    assert!(
        list.contains(id.as_str()) && list.contains("outbound_message"),
        "{list}"
    );

    // Fixed at AWS's end; the operator replays it, and it syncs.
    world.pc.control().clear_faults();
    let replayed = dlq(&["replay", "--record", id]);
    assert!(replayed.contains("1 message(s) moved back"), "{replayed}");
    assert_eq!(world.queue_counts(&world.changes.dlq_url).await, (0, 0));
    world.drain_changes().await;
    assert_eq!(
        world.sf_field(id, "ACE_Sync_Status__c").as_deref(),
        Some("Synced")
    );
    assert_eq!(world.ace_for(id).len(), 1);
}

#[tokio::test]
async fn readiness_says_degraded_and_why_while_an_outage_is_open() {
    use ace_sync::config::Settings;
    use ace_sync::health::OutageKind;
    use ace_sync::startup::{Application, Dependencies, QueueHandle, Role};

    let settings = Settings::from_toml_layers(&[
        "[http]\nport = 0\nworkers = 1\n[salesforce]\norg_ids = [\"00D5g00000ABCdeEAH\"]\n",
    ])
    .unwrap();
    let queue = QueueHandle::memory(&settings.queue, "readiness");
    let app = Application::build_with(
        settings,
        Role::Serve,
        Dependencies {
            changes: Some(QueueHandle::Memory(queue)),
            ..Dependencies::default()
        },
    )
    .await
    .unwrap();
    let outages = app.outages().clone();
    let url = format!("http://127.0.0.1:{}/health/ready", app.port());
    let shutdown = tokio_util::sync::CancellationToken::new();
    let running = tokio::spawn(app.run_until_stopped(shutdown.clone()));

    assert_eq!(reqwest::get(&url).await.unwrap().status().as_u16(), 200);
    outages.report(
        OutageKind::PartnerCentralAccess,
        "GetOpportunity: access denied: not authorized to perform partnercentral:GetOpportunity",
    );
    let response = reqwest::get(&url).await.unwrap();
    assert_eq!(response.status().as_u16(), 503);
    let body = response.text().await.unwrap();
    assert!(
        body.contains("\"degraded\"")
            && body.contains("partner_central_access")
            && body.contains("not authorized"),
        "{body}"
    );
    outages.clear();
    assert_eq!(reqwest::get(&url).await.unwrap().status().as_u16(), 200);
    shutdown.cancel();
    running.await.unwrap().unwrap();
}
