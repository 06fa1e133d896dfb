//! End to end, driven the way production is driven: a rep's change in the Salesforce
//! simulator, its outbound message through the real ingress and moto's SQS, the worker, the
//! Partner Central simulator, its events back through SQS, and the write-back.

use std::time::{Duration, Instant};

use ace_sync::domain::ids::NotificationId;
use ace_sync::domain::sobject::FieldValue;
use ace_sync::worker::BatchReport;
use ace_sync_sandbox::partner_central::Fault;

use crate::helpers::sqs;
use crate::helpers::world::{self, Options, World, text};

const OPP: &str = "0065g00000QrStUAAV";

/// The world with one opportunity every rule accepts, `OPP`, at Prospecting.
async fn acme_world(options: Options) -> World {
    World::start(
        world::seed(vec![world::complete_opportunity(
            OPP,
            "Acme - Data Platform Migration",
            "Prospecting",
        )]),
        options,
    )
    .await
}

#[tokio::test]
async fn a_stage_change_is_created_submitted_approved_and_written_back() {
    let world = acme_world(Options::default()).await;

    world
        .rep_changes(OPP, &[("StageName", text("Needs Analysis"))])
        .await;
    let report = world.drain_changes().await;
    // The change, then the check of its submission task once AWS has finished it.
    assert_eq!((report.retried, report.permanent), (0, 0), "{report:?}");
    assert!(report.done >= 1, "{report:?}");

    let created = world.ace_for(OPP);
    assert_eq!(created.len(), 1, "one ACE opportunity: {created:?}");
    let ace_id = created[0]["Id"].as_str().unwrap().to_owned();
    assert_eq!(
        world.sf_field(OPP, "ACE_Opportunity_Id__c").as_deref(),
        Some(ace_id.as_str())
    );
    assert_eq!(
        world.sf_field(OPP, "ACE_Review_Status__c").as_deref(),
        Some("Submitted")
    );
    assert_eq!(
        world.sf_field(OPP, "ACE_Sync_Status__c").as_deref(),
        Some("Waiting for AWS review")
    );

    world.pc.control().complete_reviews();
    world.drain_events().await;
    assert_eq!(
        world.sf_field(OPP, "ACE_Review_Status__c").as_deref(),
        Some("Approved")
    );
    assert_eq!(
        world.sf_field(OPP, "ACE_Sync_Status__c").as_deref(),
        Some("Synced")
    );
    let team = world.sf_field(OPP, "ACE_AWS_Team__c").unwrap_or_default();
    assert!(!team.is_empty(), "the AWS team is written back");
    assert!(world.pc.control().output_violations().is_empty());

    // The operating figures saw it: outcomes, calls, the submission (with its named AWS
    // contact and its lag) and the time in review.
    let metrics = world.worker.metrics().encode();
    for sample in [
        r#"ace_sync_sync_outcomes_total{outcome="created"} 1"#,
        r#"ace_sync_submissions_total{aws_field_contact="named"} 1"#,
        "ace_sync_submission_lag_seconds_count 1",
        r#"ace_sync_time_in_review_seconds_count{decision="approved"} 1"#,
        r#"ace_sync_reconciles_total{reason="outbound_message"} 1"#,
        r#"ace_sync_reconciles_total{reason="ace_event"} 1"#,
        r#"ace_sync_ace_calls_total{operation="CreateOpportunity",outcome="ok"} 1"#,
    ] {
        assert!(metrics.contains(sample), "missing {sample} in:\n{metrics}");
    }
    assert!(
        metrics.contains("ace_sync_salesforce_calls_total{"),
        "{metrics}"
    );
    assert!(
        metrics.contains("ace_sync_worker_queue_lag_seconds_count{worker=\"changes\"}"),
        "{metrics}"
    );
    // Nothing left behind on either queue, and the ingress is still ready.
    assert!(sqs::drain(&world.sqs, &world.changes.url).await.is_empty());
    assert!(sqs::drain(&world.sqs, &world.events.url).await.is_empty());
    let ready = reqwest::get(format!("{}/health/ready", world.ingress_address))
        .await
        .unwrap();
    assert_eq!(ready.status().as_u16(), 200);
}

const OPP2: &str = "0065g00000QrStVAAV";

fn field<'a>(opportunity: &'a serde_json::Value, path: &str) -> &'a serde_json::Value {
    path.split('.')
        .fold(opportunity, |value, segment| &value[segment])
}

#[tokio::test]
async fn preflight_findings_are_written_back_without_an_ace_call_and_a_fix_syncs() {
    let mut opportunity =
        world::complete_opportunity(OPP, "Acme - Data Platform Migration", "Prospecting");
    opportunity.fields.remove("ACE_Business_Problem__c");
    let mut seed = world::seed(vec![opportunity]);
    world::edit_seed(&mut seed, world::ACME_ACCOUNT, |account| {
        account.remove("Website");
    });
    let world = World::start(seed, Options::default()).await;

    // Qualification is where the default mapping creates the opportunity in ACE.
    world
        .rep_changes(OPP, &[("StageName", text("Qualification"))])
        .await;
    let report = world.drain_changes().await;
    assert_eq!(report.done, 1, "{report:?}");
    assert_eq!(
        world.sf_field(OPP, "ACE_Sync_Status__c").as_deref(),
        Some("Needs attention")
    );
    let findings = world.sf_field(OPP, "ACE_Findings__c").unwrap_or_default();
    assert!(
        findings.contains("ACE Business Problem (or Description)"),
        "the business problem is named as the rep knows it: {findings}"
    );
    assert!(
        findings.contains("Website"),
        "the account's website is named: {findings}"
    );
    assert_eq!(
        world.ace_calls(),
        0,
        "no ACE call at all: {:?}",
        world.pc.control().call_counts()
    );
    assert_eq!(world.sf_field(OPP, "ACE_Opportunity_Id__c"), None);

    // The rep fixes both. The account edit fires nothing; the opportunity edit does, because
    // the record says "Needs attention" (the Flow's second entry condition).
    world
        .sf
        .update_as_user(
            &world::ACME_ACCOUNT.parse().unwrap(),
            &[("Website", text("https://acme.example"))],
        )
        .unwrap();
    world
        .rep_changes(
            OPP,
            &[(
                "ACE_Business_Problem__c",
                text("Acme's plant managers wait until noon for yesterday's production reports because the on-premises warehouse misses its load window; they want Redshift and Glue to have them by 7 am."),
            )],
        )
        .await;
    let report = world.drain_changes().await;
    assert_eq!(report.done, 1, "{report:?}");
    let created = world.ace_for(OPP);
    assert_eq!(created.len(), 1, "{created:?}");
    assert_eq!(
        world.sf_field(OPP, "ACE_Opportunity_Id__c").as_deref(),
        created[0]["Id"].as_str()
    );
    assert_eq!(
        world.sf_field(OPP, "ACE_Sync_Status__c").as_deref(),
        Some("Synced")
    );
    let findings = world.sf_field(OPP, "ACE_Findings__c").unwrap_or_default();
    assert!(
        !findings.contains("Website") && !findings.contains("Business Problem"),
        "the fixed findings are gone: {findings}"
    );
    assert_eq!(
        field(&created[0], "Customer.Account.WebsiteUrl"),
        "https://acme.example"
    );
}

#[tokio::test]
async fn an_update_during_review_is_deferred_then_replayed_when_the_review_ends() {
    let world = acme_world(Options::default()).await;
    world
        .rep_changes(OPP, &[("StageName", text("Needs Analysis"))])
        .await;
    world.drain_changes().await;
    let ace_id = world
        .sf_field(OPP, "ACE_Opportunity_Id__c")
        .expect("created");
    // AWS starts reviewing; the event brings "In review" to the record.
    world.pc.control().advance_reviews();
    world.drain_events().await;
    assert_eq!(
        world.sf_field(OPP, "ACE_Review_Status__c").as_deref(),
        Some("In review")
    );

    // The rep moves on while AWS reviews.
    let updates_before = world.pc.control().call_count("UpdateOpportunity");
    world
        .rep_changes(
            OPP,
            &[
                ("StageName", text("Value Proposition")),
                (
                    "NextStep",
                    text("Architecture review with Acme's data team on Friday"),
                ),
            ],
        )
        .await;
    let report = world.drain_changes().await;
    assert_eq!(report.done, 1, "{report:?}");
    assert_eq!(
        world.pc.control().call_count("UpdateOpportunity"),
        updates_before,
        "no UpdateOpportunity while ACE locks the opportunity"
    );
    assert_eq!(
        world.sf_field(OPP, "ACE_Sync_Status__c").as_deref(),
        Some("Waiting for AWS review")
    );
    let opportunity = world.pc.control().opportunity(&ace_id).unwrap();
    assert_eq!(field(&opportunity, "LifeCycle.Stage"), "Qualified");

    // AWS approves; the event replays the pending change.
    world.pc.control().complete_reviews();
    world.drain_events().await;
    let opportunity = world.pc.control().opportunity(&ace_id).unwrap();
    assert_eq!(
        field(&opportunity, "LifeCycle.Stage"),
        "Technical Validation",
        "{opportunity:#}"
    );
    assert_eq!(
        field(&opportunity, "LifeCycle.NextSteps"),
        "Architecture review with Acme's data team on Friday"
    );
    assert!(world.pc.control().call_count("UpdateOpportunity") > updates_before);
    assert_eq!(
        world.sf_field(OPP, "ACE_Review_Status__c").as_deref(),
        Some("Approved")
    );
    assert_eq!(
        world.sf_field(OPP, "ACE_Sync_Status__c").as_deref(),
        Some("Synced")
    );
    assert_eq!(
        world.sf_field(OPP, "ACE_Stage__c").as_deref(),
        Some("Technical Validation")
    );
    // What the replay's own event brings changes nothing more.
    let writes = world.ace_writes();
    world.drain_events().await;
    assert_eq!(world.ace_writes(), writes);
    assert_eq!(world.ace_for(OPP).len(), 1);
}

#[tokio::test]
async fn closed_won_launches_and_closed_lost_closes_with_the_reason() {
    let world = World::start(
        world::seed(vec![
            world::complete_opportunity(OPP, "Acme - Data Platform Migration", "Prospecting"),
            world::complete_opportunity(OPP2, "Acme - Analytics Pilot", "Prospecting"),
        ]),
        Options::default(),
    )
    .await;
    for id in [OPP, OPP2] {
        world
            .rep_changes(id, &[("StageName", text("Needs Analysis"))])
            .await;
    }
    world.drain_changes().await;
    world.pc.control().complete_reviews();
    world.drain_events().await;
    for id in [OPP, OPP2] {
        assert_eq!(
            world.sf_field(id, "ACE_Review_Status__c").as_deref(),
            Some("Approved"),
            "{id}"
        );
    }

    world
        .rep_changes(OPP, &[("StageName", text("Closed Won"))])
        .await;
    world
        .rep_changes(
            OPP2,
            &[
                ("StageName", text("Closed Lost")),
                (
                    "ACE_Closed_Lost_Reason__c",
                    text("Lost to Competitor - Google"),
                ),
            ],
        )
        .await;
    let report = world.drain_changes().await;
    assert_eq!(report.done, 2, "{report:?}");
    world.drain_events().await;

    let won = &world.ace_for(OPP)[0];
    assert_eq!(field(won, "LifeCycle.Stage"), "Launched", "{won:#}");
    assert_eq!(
        world.sf_field(OPP, "ACE_Stage__c").as_deref(),
        Some("Launched")
    );
    let lost = &world.ace_for(OPP2)[0];
    assert_eq!(field(lost, "LifeCycle.Stage"), "Closed Lost", "{lost:#}");
    assert_eq!(
        field(lost, "LifeCycle.ClosedLostReason"),
        "Lost to Competitor - Google"
    );
    assert_eq!(
        world.sf_field(OPP2, "ACE_Stage__c").as_deref(),
        Some("Closed Lost")
    );
    for id in [OPP, OPP2] {
        assert_eq!(
            world.sf_field(id, "ACE_Sync_Status__c").as_deref(),
            Some("Synced"),
            "{id}"
        );
    }
    assert!(world.pc.control().output_violations().is_empty());
}

/// A copy of an outbound message with another notification id: how Salesforce's own retries
/// look once SQS's five-minute deduplication window has passed.
fn renotified(body: &str, notification: &str) -> String {
    let start = body.find("<Notification>").expect("a notification");
    let id_start = start + body[start..].find("<Id>").unwrap() + "<Id>".len();
    let id_end = id_start + body[id_start..].find("</Id>").unwrap();
    format!("{}{notification}{}", &body[..id_start], &body[id_end..])
}

fn notification_id(key15: &str) -> String {
    NotificationId::parse(key15).unwrap().to_string()
}

#[tokio::test]
async fn duplicate_and_out_of_order_deliveries_converge_on_one_ace_opportunity() {
    let world = acme_world(Options::default()).await;
    // Two changes before the worker gets to either: the first message finds the record
    // already at the second stage, the second finds nothing left to do.
    world
        .rep_changes(OPP, &[("StageName", text("Qualification"))])
        .await;
    world
        .rep_changes(OPP, &[("StageName", text("Value Proposition"))])
        .await;
    // Salesforce sends the newer message again, byte for byte: the queue deduplicates it.
    // (moto deduplicates only against messages still on the queue, SQS for five minutes, so
    // the repeat comes while the original is queued.)
    let delivered = world.delivered_bodies();
    assert_eq!(delivered.len(), 2);
    let (older, newer) = (&delivered[0], &delivered[1]);
    assert_eq!(world.post_outbound_message(newer).await, 200);
    let queued = world.peek_changes().await;
    assert_eq!(
        queued.len(),
        2,
        "the exact repeat was deduplicated: {queued:?}"
    );
    world.drain_changes().await;
    let counts = world.pc.control().call_counts();
    assert_eq!(counts.get("CreateOpportunity"), Some(&1), "{counts:?}");
    assert_eq!(
        counts.get("StartEngagementFromOpportunityTask"),
        Some(&1),
        "{counts:?}"
    );
    assert_eq!(counts.get("UpdateOpportunity"), None, "{counts:?}");
    let created = world.ace_for(OPP);
    assert_eq!(created.len(), 1, "{created:?}");
    assert_eq!(
        field(&created[0], "LifeCycle.Stage"),
        "Technical Validation"
    );

    // Then the repeats that get through: the newer message as another notification, and the
    // older one, stale, after it.
    let writes_to_salesforce = world.sf_writes();
    for body in [
        renotified(newer, &notification_id("04l5g00000DuPlA")),
        renotified(older, &notification_id("04l5g00000OlDeA")),
    ] {
        assert_eq!(world.post_outbound_message(&body).await, 200);
    }
    let report = world.drain_changes().await;
    assert_eq!(report.done + report.coalesced, 2, "{report:?}");
    let writes = |counts: &std::collections::BTreeMap<String, u64>| {
        world::ACE_WRITES
            .iter()
            .map(|op| counts.get(*op).copied().unwrap_or(0))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        writes(&world.pc.control().call_counts()),
        writes(&counts),
        "repeats read ACE, and find nothing to write"
    );
    assert_eq!(world.sf_writes(), writes_to_salesforce, "and no write-back");
    let created = world.ace_for(OPP);
    assert_eq!(created.len(), 1, "{created:?}");
    assert_eq!(
        field(&created[0], "LifeCycle.Stage"),
        "Technical Validation",
        "the stale message did not take the stage back"
    );

    world.pc.control().complete_reviews();
    world.drain_events().await;
    assert_eq!(
        world.sf_field(OPP, "ACE_Sync_Status__c").as_deref(),
        Some("Synced")
    );
    assert_eq!(world.ace_for(OPP).len(), 1);
}

/// Receives (long-polling) until a message comes back from its back-off.
async fn drain_until_something_happens(world: &World) -> BatchReport {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let report = world.drain_changes_once(Duration::from_secs(2)).await;
        if report.received > 0 {
            return report;
        }
        assert!(Instant::now() < deadline, "the message never came back");
    }
}

#[tokio::test]
async fn a_retryable_ace_error_backs_off_and_then_succeeds() {
    let world = acme_world(Options {
        worker_settings: vec!["[worker]\nretry_base = \"2s\"\nretry_cap = \"2s\"\n".into()],
        ..Options::default()
    })
    .await;
    // As many failures as the client makes attempts (ace.max_attempts = 4): the call fails.
    world
        .pc
        .control()
        .inject_fault("CreateOpportunity", Fault::InternalServer, 4);
    world
        .rep_changes(OPP, &[("StageName", text("Needs Analysis"))])
        .await;
    let first = world.drain_changes_once(Duration::ZERO).await;
    assert_eq!((first.received, first.retried), (1, 1), "{first:?}");
    assert_eq!(world.pc.control().call_count("CreateOpportunity"), 4);
    assert!(world.ace_for(OPP).is_empty());
    // Backed off: the message is on the queue, invisible for a while (1–2 s here).
    assert_eq!(world.queue_counts(&world.changes.url).await, (0, 1));
    assert_eq!(world.sf_field(OPP, "ACE_Sync_Status__c"), None);

    // When it comes back, ACE throttles just as long; then it answers.
    world
        .pc
        .control()
        .inject_fault("CreateOpportunity", Fault::Throttling, 4);
    let retried = drain_until_something_happens(&world).await;
    assert_eq!((retried.received, retried.retried), (1, 1), "{retried:?}");
    assert_eq!(world.pc.control().call_count("CreateOpportunity"), 8);
    assert_eq!(world.queue_counts(&world.changes.url).await, (0, 1));
    let done = drain_until_something_happens(&world).await;
    assert_eq!((done.received, done.done), (1, 1), "{done:?}");
    assert_eq!(world.ace_for(OPP).len(), 1);
    assert_eq!(world.pc.control().call_count("CreateOpportunity"), 9);
    // The submission task's end is checked again a moment later.
    world.drain_changes().await;
    assert_eq!(
        world.sf_field(OPP, "ACE_Review_Status__c").as_deref(),
        Some("Submitted")
    );
    assert_eq!(world.queue_counts(&world.changes.url).await, (0, 0));
}

#[tokio::test]
async fn a_permanent_ace_error_lands_on_the_record_and_the_message_is_not_retried() {
    let world = acme_world(Options::default()).await;
    world
        .pc
        .control()
        .inject_fault("CreateOpportunity", Fault::AccessDenied, 100);
    world
        .rep_changes(OPP, &[("StageName", text("Needs Analysis"))])
        .await;
    let report = world.drain_changes().await;
    assert_eq!((report.received, report.permanent), (1, 1), "{report:?}");
    assert_eq!(
        world.pc.control().call_count("CreateOpportunity"),
        1,
        "access denied is not retried"
    );
    assert_eq!(
        world.sf_field(OPP, "ACE_Sync_Status__c").as_deref(),
        Some("Error")
    );
    let findings = world.sf_field(OPP, "ACE_Findings__c").unwrap_or_default();
    assert!(
        findings.contains("not authorized to perform: partnercentral:CreateOpportunity"),
        "{findings}"
    );
    // Removed from the queue, not left to reach the dead-letter queue.
    assert_eq!(world.queue_counts(&world.changes.url).await, (0, 0));
    assert_eq!(world.queue_counts(&world.changes.dlq_url).await, (0, 0));
    assert!(world.ace_for(OPP).is_empty());
}

#[tokio::test]
async fn a_rejected_opportunity_is_fixed_by_the_rep_and_resubmitted_as_a_new_one() {
    let mut opportunity =
        world::complete_opportunity(OPP, "Acme - Data Platform Migration", "Prospecting");
    // Long enough for the pre-flight check (20 characters), too generic for AWS's reviewer.
    opportunity.fields.insert(
        "ACE_Business_Problem__c".into(),
        FieldValue::Text("Acme wants to migrate to AWS.".into()),
    );
    let world = World::start(world::seed(vec![opportunity]), Options::default()).await;
    world
        .rep_changes(OPP, &[("StageName", text("Needs Analysis"))])
        .await;
    world.drain_changes().await;
    let first = world
        .sf_field(OPP, "ACE_Opportunity_Id__c")
        .expect("created");
    world.pc.control().complete_reviews();
    world.drain_events().await;
    assert_eq!(
        world.sf_field(OPP, "ACE_Review_Status__c").as_deref(),
        Some("Rejected")
    );
    assert_eq!(
        world.sf_field(OPP, "ACE_Sync_Status__c").as_deref(),
        Some("Needs attention")
    );
    let findings = world.sf_field(OPP, "ACE_Findings__c").unwrap_or_default();
    assert!(findings.contains("AWS rejected"), "{findings}");
    assert!(findings.contains("too generic"), "{findings}");
    let metrics = world.worker.metrics().encode();
    assert!(
        metrics.contains("ace_sync_rejections_total{reason=")
            && metrics.contains(r#"ace_sync_time_in_review_seconds_count{decision="rejected"} 1"#),
        "the rejection is counted by reason, and its time in review: {metrics}"
    );

    // The rep says what the customer actually needs; the edit fires because of the status.
    world
        .rep_changes(
            OPP,
            &[(
                "ACE_Business_Problem__c",
                text("Acme's nightly warehouse load overruns twice a week, so plant managers get yesterday's output reports at noon instead of 7 am; Redshift with Glue pipelines would cut the load to under an hour."),
            )],
        )
        .await;
    let report = world.drain_changes().await;
    assert_eq!((report.retried, report.permanent), (0, 0), "{report:?}");
    let second = world
        .sf_field(OPP, "ACE_Opportunity_Id__c")
        .expect("resubmitted");
    assert_ne!(second, first, "a new ACE opportunity");
    assert_eq!(
        world.sf_field(OPP, "ACE_Previous_Ids__c").as_deref(),
        Some(first.as_str())
    );
    assert_eq!(
        world.sf_field(OPP, "ACE_Review_Status__c").as_deref(),
        Some("Submitted")
    );
    assert_eq!(
        world.pc.control().review_status(&first).as_deref(),
        Some("Rejected")
    );
    assert_eq!(world.ace_for(OPP).len(), 2);

    world.pc.control().complete_reviews();
    world.drain_events().await;
    assert_eq!(
        world.pc.control().review_status(&second).as_deref(),
        Some("Approved")
    );
    assert_eq!(
        world.sf_field(OPP, "ACE_Review_Status__c").as_deref(),
        Some("Approved")
    );
    assert_eq!(
        world.sf_field(OPP, "ACE_Sync_Status__c").as_deref(),
        Some("Synced")
    );
    assert_eq!(world.sf_field(OPP, "ACE_Findings__c"), None);
}

// --- Real `ace-sync work` processes: crashes and shutdowns --------------------------------

const PROCESS_DEADLINE: Duration = Duration::from_secs(60);

/// Whether the record shows a finished sync: an ACE id and `Synced`.
fn synced(world: &World, id: &str) -> bool {
    world.sf_field(id, "ACE_Opportunity_Id__c").is_some()
        && world.sf_field(id, "ACE_Sync_Status__c").as_deref() == Some("Synced")
}

/// The record's first status after a restart is its final one; anything but `Synced` is shown
/// with what the worker wrote.
fn assert_synced(world: &World, id: &str) {
    assert!(
        synced(world, id),
        "{id}: status {:?}, ACE id {:?}, findings {:?}",
        world.sf_field(id, "ACE_Sync_Status__c"),
        world.sf_field(id, "ACE_Opportunity_Id__c"),
        world.sf_field(id, "ACE_Findings__c"),
    );
}

#[tokio::test]
async fn a_worker_killed_between_create_and_write_back_restarts_without_a_duplicate() {
    let world = acme_world(Options::default()).await;
    world
        .rep_changes(OPP, &[("StageName", text("Qualification"))])
        .await;
    // From now on every write to Salesforce fails retryably (UNABLE_TO_LOCK_ROW): the worker
    // gets as far as ACE, and no further. A long back-off keeps it from trying again before
    // it is killed.
    world.sf.set_faults(|f| {
        f.lock_failures = u32::MAX;
        f.lock_status = 400;
    });
    let mut first = world.spawn_worker(&[
        ("ACE_SYNC_WORKER__RETRY_BASE", "5s"),
        ("ACE_SYNC_WORKER__RETRY_CAP", "5s"),
    ]);
    first
        .eventually(
            PROCESS_DEADLINE,
            "the write-back after CreateOpportunity failed",
            || {
                world.pc.control().call_count("CreateOpportunity") == 1
                    && world
                        .sf
                        .requests()
                        .iter()
                        .any(|r| r.method == "PATCH" && r.status >= 400)
            },
        )
        .await;
    first.kill().await;
    assert_eq!(world.ace_for(OPP).len(), 1);
    assert_eq!(
        world.sf_field(OPP, "ACE_Opportunity_Id__c"),
        None,
        "the write-back was lost"
    );

    // While no worker runs, the rep keeps working on the record: what ACE would now receive
    // differs from what the lost create sent, so a replay of the create is not enough.
    world.sf.set_faults(|f| f.lock_failures = 0);
    world
        .sf
        .update_as_user(
            &OPP.parse().unwrap(),
            &[("NextStep", text("Kick-off with Acme's data team"))],
        )
        .unwrap();

    let mut second = world.spawn_worker(&[]);
    second
        .eventually(
            PROCESS_DEADLINE,
            "the restarted worker wrote a sync status",
            || world.sf_field(OPP, "ACE_Sync_Status__c").is_some(),
        )
        .await;
    assert_synced(&world, OPP);
    let created = world.ace_for(OPP);
    assert_eq!(
        created.len(),
        1,
        "no duplicate: {created:?}\n{}",
        second.log()
    );
    assert_eq!(
        world.sf_field(OPP, "ACE_Opportunity_Id__c").as_deref(),
        created[0]["Id"].as_str()
    );
    assert_eq!(
        field(&created[0], "LifeCycle.NextSteps"),
        "Kick-off with Acme's data team"
    );
    world.until_queues_empty(PROCESS_DEADLINE).await;
    second.terminate().await;
    assert!(second.exit_status(PROCESS_DEADLINE).await.success());
    assert_eq!(world.queue_counts(&world.changes.dlq_url).await, (0, 0));
}

#[tokio::test]
async fn a_worker_killed_with_its_create_in_flight_restarts_without_a_duplicate() {
    let world = acme_world(Options::default()).await;
    // CreateOpportunity reaches ACE and waits there: the worker dies before ACE has stored
    // anything, so the restarted worker's lookup by Salesforce id finds nothing.
    world.pc.control().hold("CreateOpportunity");
    let mut first = world.spawn_worker(&[]);
    world
        .rep_changes(OPP, &[("StageName", text("Qualification"))])
        .await;
    first
        .eventually(
            PROCESS_DEADLINE,
            "the first CreateOpportunity reached ACE",
            || world.pc.control().held("CreateOpportunity") == 1,
        )
        .await;
    first.kill().await;

    let mut second = world.spawn_worker(&[]);
    second
        .eventually(
            PROCESS_DEADLINE,
            "the restarted worker sent its CreateOpportunity",
            || world.pc.control().held("CreateOpportunity") == 2,
        )
        .await;
    assert!(world.ace_for(OPP).is_empty(), "nothing stored yet");
    // ACE processes both: the dead worker's request and the new one, with the same ClientToken.
    world.pc.control().release("CreateOpportunity");
    second
        .eventually(
            PROCESS_DEADLINE,
            "the restarted worker wrote a sync status",
            || world.sf_field(OPP, "ACE_Sync_Status__c").is_some(),
        )
        .await;
    assert_synced(&world, OPP);
    second
        .eventually(PROCESS_DEADLINE, "ACE processed both requests", || {
            world.pc.control().held("CreateOpportunity") == 0
                && world.pc.control().call_count("CreateOpportunity") >= 2
        })
        .await;
    let created = world.ace_for(OPP);
    assert_eq!(
        created.len(),
        1,
        "no duplicate: {created:?}\n{}",
        second.log()
    );
    assert_eq!(
        world.sf_field(OPP, "ACE_Opportunity_Id__c").as_deref(),
        created[0]["Id"].as_str()
    );
}

#[tokio::test]
async fn sigterm_finishes_what_is_in_flight_and_leaves_the_rest_on_the_queue() {
    let ids = world::opportunity_ids(4);
    let world = World::start(
        world::seed(
            ids.iter()
                .enumerate()
                .map(|(i, id)| {
                    world::complete_opportunity(id, &format!("Acme - Project {i}"), "Prospecting")
                })
                .collect(),
        ),
        Options::default(),
    )
    .await;
    for id in &ids {
        world
            .rep_changes(id, &[("StageName", text("Qualification"))])
            .await;
    }
    // Slow Salesforce answers keep messages in flight long enough to be caught by SIGTERM.
    world
        .sf
        .set_faults(|f| f.latency = Duration::from_millis(150));
    let mut worker = world.spawn_worker(&[
        ("ACE_SYNC_WORKER__CONCURRENCY", "2"),
        ("ACE_SYNC_WORKER__SHUTDOWN_GRACE", "30s"),
    ]);
    worker
        .eventually(PROCESS_DEADLINE, "a message is being processed", || {
            world.pc.control().call_count("CreateOpportunity") >= 1
        })
        .await;
    worker.terminate().await;
    let status = worker.exit_status(PROCESS_DEADLINE).await;
    assert!(status.success(), "{status:?}\n{}", worker.log());

    let finished = ids.iter().filter(|id| synced(&world, id)).count();
    assert!(
        finished >= 1,
        "the message in flight at SIGTERM was finished"
    );
    for id in &ids {
        let expected = usize::from(synced(&world, id));
        assert_eq!(world.ace_for(id).len(), expected, "{id}: nothing half done");
    }
    // Finished messages deleted, every other one still on the queue (beside them, the
    // reconciles that the finished records' ACE events queued).
    let mut waiting: Vec<String> = world
        .peek_changes()
        .await
        .into_iter()
        .filter(|job| job.reason.label() == "outbound_message")
        .map(|job| job.record_id.to_string())
        .collect();
    waiting.sort();
    let mut unfinished: Vec<String> = ids
        .iter()
        .filter(|id| !synced(&world, id))
        .map(|id| id.to_string())
        .collect();
    unfinished.sort();
    assert_eq!(waiting, unfinished);

    // A new worker syncs the rest.
    world.sf.set_faults(|f| f.latency = Duration::ZERO);
    let mut worker = world.spawn_worker(&[]);
    worker
        .eventually(PROCESS_DEADLINE, "every record is synced", || {
            ids.iter().all(|id| synced(&world, id))
        })
        .await;
    for id in &ids {
        assert_eq!(world.ace_for(id).len(), 1, "{id}");
    }
    world.until_queues_empty(PROCESS_DEADLINE).await;
    worker.terminate().await;
    assert!(worker.exit_status(PROCESS_DEADLINE).await.success());
}

#[tokio::test]
async fn sigterm_past_the_grace_leaves_the_unfinished_message_on_the_queue() {
    let world = acme_world(Options::default()).await;
    // The message cannot finish: its CreateOpportunity waits at ACE. A longer call timeout
    // (and so a longer visibility timeout) keeps the client from giving up first.
    world.pc.control().hold("CreateOpportunity");
    let mut worker = world.spawn_worker(&[
        ("ACE_SYNC_ACE__CALL_TIMEOUT", "2s"),
        ("ACE_SYNC_WORKER__VISIBILITY_TIMEOUT", "21s"),
        ("ACE_SYNC_WORKER__SHUTDOWN_GRACE", "0s"),
    ]);
    world
        .rep_changes(OPP, &[("StageName", text("Qualification"))])
        .await;
    worker
        .eventually(
            PROCESS_DEADLINE,
            "the CreateOpportunity reached ACE",
            || world.pc.control().held("CreateOpportunity") == 1,
        )
        .await;
    worker.terminate().await;
    let status = worker.exit_status(PROCESS_DEADLINE).await;
    let log = worker.log();
    assert!(status.success(), "{status:?}\n{log}");
    assert!(
        log.contains("shutdown grace elapsed; unfinished messages return to the queue"),
        "{log}"
    );
    // Not deleted, not released: invisible until its visibility timeout, then back.
    assert_eq!(world.queue_counts(&world.changes.url).await, (0, 1));
    assert_eq!(world.sf_field(OPP, "ACE_Opportunity_Id__c"), None);

    // ACE gets round to the request of the worker that has gone; a new worker finds the
    // message again and finishes the sync.
    world.pc.control().release("CreateOpportunity");
    let mut worker = world.spawn_worker(&[]);
    worker
        .eventually(
            PROCESS_DEADLINE,
            "the new worker wrote a sync status",
            || world.sf_field(OPP, "ACE_Sync_Status__c").is_some(),
        )
        .await;
    assert_synced(&world, OPP);
    assert_eq!(world.ace_for(OPP).len(), 1, "{}", worker.log());
    world.until_queues_empty(PROCESS_DEADLINE).await;
    worker.terminate().await;
    assert!(worker.exit_status(PROCESS_DEADLINE).await.success());
    assert_eq!(world.queue_counts(&world.changes.dlq_url).await, (0, 0));
}
