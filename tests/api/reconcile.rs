//! The reconciler end to end, on the defects an edge-triggered sync had: each test drives the
//! world the way production is driven (a rep's change, its outbound message, moto's SQS, the
//! worker, the Partner Central simulator) into one of the situations where a sync that
//! replays what it was told, rather than reading both sides, goes wrong.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use ace_sync::domain::ids::{NotificationId, SfOrgId};
use ace_sync::domain::job::{Reason, Reconcile};
use ace_sync::domain::sobject::FieldValue;
use ace_sync::ports::queue::OutgoingMessage;
use ace_sync_sandbox::partner_central::{Fault, ReviewDecision, SimConfig, TaskTiming};
use time::OffsetDateTime;

use crate::helpers::sqs;
use crate::helpers::world::{self, ACME_ACCOUNT, Options, World, text};

const OPP: &str = "0065g00000QrStUAAV";
const PROCESS_DEADLINE: Duration = Duration::from_secs(60);

async fn acme_world() -> World {
    World::start(
        world::seed(vec![world::complete_opportunity(
            OPP,
            "Acme - Data Platform Migration",
            "Prospecting",
        )]),
        Options::default(),
    )
    .await
}

/// The ACE opportunity the record points at, as ACE holds it.
fn ace_of(world: &World) -> serde_json::Value {
    let id = world
        .sf_field(OPP, "ACE_Opportunity_Id__c")
        .expect("the record names its ACE opportunity");
    world.pc.control().opportunity(&id).expect("ACE has it")
}

fn strings(value: &serde_json::Value) -> Vec<String> {
    let mut items: Vec<String> = value
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    items.sort();
    items
}

/// Shared to ACE (Qualification: created, not submitted).
async fn shared(world: &World) {
    world
        .rep_changes(OPP, &[("StageName", text("Qualification"))])
        .await;
    world.drain_changes().await;
    assert_eq!(
        world.sf_field(OPP, "ACE_Review_Status__c").as_deref(),
        Some("Pending Submission")
    );
}

#[tokio::test]
async fn an_update_that_meets_a_conflict_is_planned_again_and_applied() {
    let world = acme_world().await;
    shared(&world).await;
    // AWS edits the opportunity at the moment we update it, twice in a row: each
    // UpdateOpportunity carries a LastModifiedDate that is stale by the time it arrives.
    world
        .pc
        .control()
        .inject_fault("UpdateOpportunity", Fault::Conflict, 2);
    world
        .rep_changes(
            OPP,
            &[
                ("NextStep", text("Architecture review on Monday")),
                ("StageName", text("Needs Analysis")),
            ],
        )
        .await;
    world.drain_changes().await;
    assert_eq!(world.pc.control().call_count("UpdateOpportunity"), 3);
    assert_eq!(
        ace_of(&world)["LifeCycle"]["NextSteps"],
        "Architecture review on Monday",
        "the change reached ACE"
    );
    assert_eq!(
        world.sf_field(OPP, "ACE_Sync_Status__c").as_deref(),
        Some("Waiting for AWS review"),
        "and the submission followed: {:?}",
        world.sf_field(OPP, "ACE_Findings__c")
    );
    assert_eq!(world.queue_counts(&world.changes.dlq_url).await, (0, 0));
}

#[tokio::test]
async fn aws_products_changed_after_creation_are_associated_and_disassociated() {
    let world = acme_world().await;
    shared(&world).await;
    assert_eq!(
        strings(&ace_of(&world)["RelatedEntityIdentifiers"]["AwsProducts"]),
        ["AWSGlue", "AmazonRedshift"]
    );
    let products = FieldValue::Multi(vec!["AmazonS3".into(), "AWSGlue".into()]);
    world
        .rep_changes(
            OPP,
            &[
                ("AWS_Products__c", Some(products)),
                ("StageName", text("Needs Analysis")),
            ],
        )
        .await;
    world.drain_changes().await;
    assert_eq!(
        strings(&ace_of(&world)["RelatedEntityIdentifiers"]["AwsProducts"]),
        ["AWSGlue", "AmazonS3"]
    );
    assert_eq!(world.pc.control().call_count("DisassociateOpportunity"), 1);
}

#[tokio::test]
async fn a_field_the_rep_clears_is_cleared_in_ace_too() {
    let world = acme_world().await;
    world
        .rep_changes(
            OPP,
            &[
                ("StageName", text("Qualification")),
                ("NextStep", text("Kick-off with Acme's data team")),
            ],
        )
        .await;
    world.drain_changes().await;
    assert_eq!(
        ace_of(&world)["LifeCycle"]["NextSteps"],
        "Kick-off with Acme's data team"
    );
    world
        .rep_changes(
            OPP,
            &[("NextStep", None), ("StageName", text("Needs Analysis"))],
        )
        .await;
    world.drain_changes().await;
    let ace = ace_of(&world);
    assert!(
        ace["LifeCycle"]
            .get("NextSteps")
            .is_none_or(|v| v.is_null()),
        "cleared in ACE too: {ace}"
    );
    assert_eq!(ace["Project"]["Title"], "Acme - Data Platform Migration");
}

#[tokio::test]
async fn a_resubmission_whose_write_back_was_lost_is_found_and_the_rejected_id_kept_once() {
    let mut opportunity =
        world::complete_opportunity(OPP, "Acme - Data Platform Migration", "Prospecting");
    opportunity.fields.insert(
        "ACE_Business_Problem__c".into(),
        FieldValue::Text("Acme wants to migrate to AWS.".into()),
    );
    let world = World::start(world::seed(vec![opportunity]), Options::default()).await;
    world
        .rep_changes(OPP, &[("StageName", text("Needs Analysis"))])
        .await;
    world.drain_changes().await;
    let rejected = world.sf_field(OPP, "ACE_Opportunity_Id__c").unwrap();
    world.pc.control().decide_review(
        &rejected,
        ReviewDecision::Reject {
            reason: "Other".into(),
            comments: "The business problem is too generic.".into(),
        },
    );
    world.drain_events().await;
    assert_eq!(
        world.sf_field(OPP, "ACE_Review_Status__c").as_deref(),
        Some("Rejected")
    );

    // The rep fixes the record; the worker resubmitting it dies while its CreateOpportunity
    // is in flight, and another worker takes over.
    world.pc.control().hold("CreateOpportunity");
    let mut first = world.spawn_worker(&[]);
    world
        .rep_changes(
            OPP,
            &[(
                "ACE_Business_Problem__c",
                text("Acme's nightly warehouse load overruns twice a week, so plant managers get yesterday's output reports at noon instead of 7 am; Redshift with Glue pipelines would cut the load to under an hour."),
            )],
        )
        .await;
    first
        .eventually(PROCESS_DEADLINE, "the resubmission reached ACE", || {
            world.pc.control().held("CreateOpportunity") == 1
        })
        .await;
    first.kill().await;
    let mut second = world.spawn_worker(&[]);
    second
        .eventually(
            PROCESS_DEADLINE,
            "the new worker sent its CreateOpportunity",
            || world.pc.control().held("CreateOpportunity") >= 2,
        )
        .await;
    world.pc.control().release("CreateOpportunity");
    second
        .eventually(
            PROCESS_DEADLINE,
            "the record points at the resubmission",
            || {
                world
                    .sf_field(OPP, "ACE_Opportunity_Id__c")
                    .is_some_and(|id| id != rejected)
                    && world.sf_field(OPP, "ACE_Sync_Status__c").as_deref()
                        == Some("Waiting for AWS review")
            },
        )
        .await;
    world.until_queues_empty(PROCESS_DEADLINE).await;
    let all = world.ace_for(OPP);
    assert_eq!(
        all.len(),
        2,
        "the rejected one and one resubmission: {all:?}\n{}",
        second.log()
    );
    assert_eq!(
        world.sf_field(OPP, "ACE_Previous_Ids__c").as_deref(),
        Some(rejected.as_str()),
        "the rejected id, once"
    );
}

#[tokio::test]
async fn a_renamed_account_does_not_hide_an_opportunity_whose_write_back_was_lost() {
    let world = acme_world().await;
    world
        .rep_changes(OPP, &[("StageName", text("Qualification"))])
        .await;
    // Every write to Salesforce fails (UNABLE_TO_LOCK_ROW): the worker creates the ACE
    // opportunity and cannot write its id back. A long back-off keeps it from trying again
    // before it is killed.
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
            "the write-back after the create failed",
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
    world.sf.set_faults(|f| f.lock_failures = 0);
    // Meanwhile the customer's account is renamed (what ACE holds carries the old name).
    world
        .sf
        .update_as_user(
            &ACME_ACCOUNT.parse().unwrap(),
            &[("Name", text("Acme Industries"))],
        )
        .unwrap();

    let mut second = world.spawn_worker(&[]);
    second
        .eventually(PROCESS_DEADLINE, "the record is synced", || {
            world.sf_field(OPP, "ACE_Sync_Status__c").as_deref() == Some("Synced")
        })
        .await;
    let all = world.ace_for(OPP);
    assert_eq!(all.len(), 1, "no duplicate: {all:?}\n{}", second.log());
    assert_eq!(
        world.sf_field(OPP, "ACE_Opportunity_Id__c").as_deref(),
        all[0]["Id"].as_str()
    );
    assert_eq!(
        all[0]["Customer"]["Account"]["CompanyName"], "Acme Industries",
        "and the new name reached ACE"
    );
}

#[tokio::test]
async fn a_job_for_another_org_is_refused_without_an_ace_call() {
    let world = acme_world().await;
    shared(&world).await;
    // An edit the Flow does not send: the record and ACE now differ, and only a trigger from
    // the record's own org may sync it.
    world
        .sf
        .update_as_user(&OPP.parse().unwrap(), &[("NextStep", text("Pricing call"))])
        .unwrap();
    let calls = world.pc.control().call_counts();
    let other_org = SfOrgId::parse("00D5g00000ZZZzzEAH").unwrap();
    assert!(!other_org.matches(&world.sf.org_id()));
    let job = Reconcile {
        org_id: other_org,
        record_id: OPP.parse().unwrap(),
        reason: Reason::OutboundMessage {
            notification_id: NotificationId::parse("04l5g00000AbCdEAAV").unwrap(),
            action_id: "04k5g000000XYZaAAO".parse().unwrap(),
        },
        changed_at: None,
        queued_at: OffsetDateTime::now_utc(),
    };
    sqs::send_fifo(&world.sqs, &world.changes.url, &OutgoingMessage::from(&job)).await;
    let report = world.drain_changes().await;
    assert_eq!((report.received, report.permanent), (1, 1), "{report:?}");
    assert_eq!(
        world.pc.control().call_counts(),
        calls,
        "no ACE call for another org's job"
    );
    assert!(ace_of(&world)["LifeCycle"].get("NextSteps").is_none());
    let metrics = world.worker.metrics().encode();
    assert!(
        metrics.contains(r#"ace_sync_sync_outcomes_total{outcome="wrong_org"} 1"#),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_review_whose_events_were_lost_reaches_the_record_at_the_next_trigger() {
    let delivered = Arc::new(AtomicBool::new(true));
    let world = World::start(
        world::seed(vec![world::complete_opportunity(
            OPP,
            "Acme - Data Platform Migration",
            "Prospecting",
        )]),
        Options {
            events_delivered: delivered.clone(),
            ..Options::default()
        },
    )
    .await;
    world
        .rep_changes(OPP, &[("StageName", text("Needs Analysis"))])
        .await;
    world.drain_changes().await;
    world.drain_events().await;
    assert_eq!(
        world.sf_field(OPP, "ACE_Sync_Status__c").as_deref(),
        Some("Waiting for AWS review")
    );
    // AWS approves; EventBridge loses every event of it.
    delivered.store(false, Ordering::SeqCst);
    world.pc.control().complete_reviews();
    world.drain_events().await;
    assert_eq!(
        world.sf_field(OPP, "ACE_Review_Status__c").as_deref(),
        Some("Submitted"),
        "nothing told the record"
    );
    delivered.store(true, Ordering::SeqCst);

    // The next trigger, whatever it is about, brings the whole state.
    world
        .rep_changes(
            OPP,
            &[
                ("StageName", text("Value Proposition")),
                ("NextStep", text("Sizing workshop")),
            ],
        )
        .await;
    world.drain_changes().await;
    assert_eq!(
        world.sf_field(OPP, "ACE_Review_Status__c").as_deref(),
        Some("Approved")
    );
    assert_eq!(
        world.sf_field(OPP, "ACE_Sync_Status__c").as_deref(),
        Some("Synced")
    );
    assert!(world.sf_field(OPP, "ACE_AWS_Team__c").is_some());
    let ace = ace_of(&world);
    assert_eq!(ace["LifeCycle"]["Stage"], "Technical Validation");
    assert_eq!(ace["LifeCycle"]["NextSteps"], "Sizing workshop");
}

#[tokio::test]
async fn a_submission_task_is_followed_to_its_end_and_a_fixed_record_is_submitted_anew() {
    let world = World::start(
        world::seed(vec![world::complete_opportunity(
            OPP,
            "Acme - Data Platform Migration",
            "Prospecting",
        )]),
        Options {
            // Tasks end when the test says, as AWS's end when AWS is done.
            pc: SimConfig {
                tasks: TaskTiming::Manual,
                ..SimConfig::for_tests()
            },
            ..Options::default()
        },
    )
    .await;
    let control = world.pc.control();
    control.fail_next_tasks(
        "OpportunityValidationFailed",
        "The expected spend does not match the customer's size.",
        1,
    );
    world
        .rep_changes(OPP, &[("StageName", text("Needs Analysis"))])
        .await;
    // (The task does not end by itself: drain what is due, not until the queue is empty.)
    world
        .drain_changes_until(PROCESS_DEADLINE, "the submission is made", || {
            control.call_count("StartEngagementFromOpportunityTask") == 1
        })
        .await;
    // Still running: not recorded as submitted, and looked at again.
    assert_eq!(
        world.sf_field(OPP, "ACE_Review_Status__c").as_deref(),
        Some("Pending Submission")
    );
    assert_eq!(
        world.sf_field(OPP, "ACE_Sync_Status__c").as_deref(),
        Some("Waiting for AWS review")
    );
    // The check-again job waits on the queue, held until it is due.
    let (visible, held) = world.queue_counts(&world.changes.url).await;
    assert_eq!(
        visible + held,
        1,
        "one check-again job: {}",
        world.worker.metrics().encode()
    );

    // AWS's task fails later: the record says why.
    control.finish_tasks();
    world
        .drain_changes_until(PROCESS_DEADLINE, "the failure reaches the record", || {
            world.sf_field(OPP, "ACE_Sync_Status__c").as_deref() == Some("Needs attention")
        })
        .await;
    let findings = world.sf_field(OPP, "ACE_Findings__c").unwrap_or_default();
    assert!(
        findings.contains("does not match the customer's size"),
        "{findings}"
    );
    assert_eq!(
        control
            .review_status(&world.sf_field(OPP, "ACE_Opportunity_Id__c").unwrap())
            .as_deref(),
        Some("Pending Submission")
    );

    // The rep fixes the record: a new submission (a new ClientToken), not the old failure.
    world
        .rep_changes(
            OPP,
            &[(
                "ACE_Expected_Monthly_Spend__c",
                Some(FieldValue::Number(
                    ace_sync::domain::sobject::Decimal::parse("4000").unwrap(),
                )),
            )],
        )
        .await;
    world
        .drain_changes_until(PROCESS_DEADLINE, "the fixed record is submitted", || {
            control.call_count("StartEngagementFromOpportunityTask") == 2
        })
        .await;
    control.finish_tasks();
    world
        .drain_changes_until(PROCESS_DEADLINE, "the record shows the submission", || {
            world.sf_field(OPP, "ACE_Review_Status__c").as_deref() == Some("Submitted")
        })
        .await;
    let tasks = control.tasks();
    assert_eq!(tasks.len(), 2, "{tasks:?}");
    assert_ne!(tasks[0]["TaskId"], tasks[1]["TaskId"]);
    assert_eq!(
        world.sf_field(OPP, "ACE_Sync_Status__c").as_deref(),
        Some("Waiting for AWS review")
    );
    assert!(world.sf_field(OPP, "ACE_Submitted_At__c").is_some());
}
