//! AWS referrals end to end (issue 12): Partner Central's simulator creates an engagement
//! invitation and publishes its events to moto's SQS; the events worker, the changes queue
//! and the invitation reconcile bring it into the Salesforce simulator as an opportunity; the
//! rep answers it there, and the record-triggered Flow's outbound message carries the answer
//! through the ingress, the record reconciler's hand-over and back to Partner Central.

use std::time::Duration;

use ace_sync::domain::ids::{SfOpportunityId, SfRecordId};
use ace_sync::domain::sobject::FieldValue;
use ace_sync::ports::queue::{JobQueue, OutgoingMessage};
use ace_sync::worker::referrals::sweep::sweep_jobs;
use ace_sync_sandbox::partner_central::{InvitationSpec, SimConfig as PcConfig, TaskTiming};
use ace_sync_sandbox::salesforce::Record;

use crate::helpers::world::{Options, World, seed, text};

const DECISION: &str = "ACE_Invitation_Decision__c";
const STATUS: &str = "ACE_Invitation_Status__c";
const DEADLINE: Duration = Duration::from_secs(30);

async fn referral_world(tasks: TaskTiming) -> World {
    World::start(
        seed(Vec::new()),
        Options {
            pc: PcConfig {
                tasks,
                ..PcConfig::for_tests()
            },
            ..Options::default()
        },
    )
    .await
}

/// The Salesforce records holding `invitation`.
fn records_of(world: &World, invitation: &str) -> Vec<Record> {
    world
        .sf
        .find_by("Opportunity", "ACE_Invitation_Id__c", invitation)
}

/// The one record holding `invitation`.
fn record_of(world: &World, invitation: &str) -> SfRecordId {
    match records_of(world, invitation).as_slice() {
        [one] => one.id.clone(),
        other => panic!("{} records hold {invitation}", other.len()),
    }
}

fn field(world: &World, id: &SfRecordId, name: &str) -> Option<String> {
    world
        .sf
        .record(id)
        .and_then(|r| r.fields.get(name).map(FieldValue::to_text))
}

/// An AWS referral, brought into Salesforce by its `Engagement Invitation Created` event.
async fn referred(world: &World) -> (String, SfRecordId) {
    let invitation = world
        .pc
        .control()
        .create_aws_invitation(&InvitationSpec::default())
        .expect("the simulator takes the default referral");
    world.drain_events().await;
    let record = record_of(world, &invitation);
    (invitation, record)
}

fn metric_lines(world: &World, needle: &str) -> Vec<String> {
    world
        .worker
        .metrics()
        .encode()
        .lines()
        .filter(|l| l.contains(needle))
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn a_referral_comes_in_is_accepted_from_salesforce_and_then_syncs_as_any_record() {
    let world = referral_world(TaskTiming::Immediate).await;
    let spec = InvitationSpec::default();
    let (invitation, record) = referred(&world).await;

    // What AWS shares before acceptance, and nothing it withholds.
    let f = |name| field(&world, &record, name);
    assert_eq!(f("Name").as_deref(), Some(spec.title.as_str()));
    assert_eq!(f("StageName").as_deref(), Some("Prospecting"));
    assert_eq!(
        f("CloseDate").as_deref(),
        Some(spec.target_completion_date.as_str())
    );
    assert_eq!(f(STATUS).as_deref(), Some("Pending"));
    assert_eq!(f("ACE_Origin__c").as_deref(), Some("AWS Referral"));
    assert_eq!(
        f("ACE_Customer_Company__c").as_deref(),
        Some("Northwind Traders")
    );
    assert_eq!(f("ACE_Customer_Industry__c").as_deref(), Some("Retail"));
    assert_eq!(f("ACE_Customer_Country__c").as_deref(), Some("US"));
    assert_eq!(
        f("ACE_Business_Problem__c").as_deref(),
        Some(spec.business_problem.as_str())
    );
    assert_eq!(f("ACE_Expected_Monthly_Spend__c").as_deref(), Some("8000"));
    assert!(
        f("ACE_AWS_Contact__c")
            .unwrap_or_default()
            .contains("Dana Whitfield <dana.whitfield@aws-sales.example>"),
        "{:?}",
        f("ACE_AWS_Contact__c")
    );
    assert!(f("ACE_Invitation_Expires__c").is_some());
    assert!(
        f("ACE_Findings__c")
            .unwrap_or_default()
            .contains("Accept or reject it by"),
        "{:?}",
        f("ACE_Findings__c")
    );
    for withheld in [
        "ACE_Customer_Contacts__c",
        "AccountId",
        "ACE_Opportunity_Id__c",
    ] {
        assert_eq!(f(withheld), None, "{withheld} before acceptance");
    }
    let control = world.pc.control();
    assert_eq!(
        control.call_count("StartEngagementByAcceptingInvitationTask"),
        0
    );
    // Not the record reconciler's to plan until accepted: a preview of it plans nothing.
    let reconciler = world.worker.reconciler().unwrap();
    let opportunity = SfOpportunityId::try_from(&record).unwrap();
    let preview = reconciler
        .preview(&opportunity, true)
        .await
        .unwrap()
        .expect("the record");
    assert!(preview.ace.is_none() && !preview.drifts(), "{preview:?}");

    // The rep accepts it in Salesforce.
    world
        .rep_changes(record.as_str(), &[(DECISION, text("Accept"))])
        .await;
    world.drain_changes().await;
    assert_eq!(
        control.invitation_status(&invitation).as_deref(),
        Some("ACCEPTED")
    );
    let ace_id = f("ACE_Opportunity_Id__c").expect("the ACE id is written back");
    assert!(control.opportunity(&ace_id).is_some(), "ACE has it");
    assert!(
        control
            .tasks()
            .iter()
            .any(|t| t["EngagementInvitationId"] == invitation.as_str()
                && t["OpportunityId"] == ace_id.as_str()
                && t["TaskStatus"] == "COMPLETE"),
        "the opportunity is the one the acceptance created: {:?}",
        control.tasks()
    );
    assert_eq!(
        control.call_count("CreateOpportunity"),
        0,
        "accepted, not created"
    );
    assert_eq!(control.opportunities().len(), 1);
    assert_eq!(f(STATUS).as_deref(), Some("Accepted"));
    assert!(
        f("ACE_Customer_Contacts__c").unwrap_or_default().contains(
            "Priya Raman <ops.director@northwind.example>, Director of Customer Operations"
        ),
        "{:?}",
        f("ACE_Customer_Contacts__c")
    );
    let account: SfRecordId = f("AccountId").expect("an account").parse().unwrap();
    let a = |name| field(&world, &account, name);
    assert_eq!(a("Name").as_deref(), Some("Northwind Traders"));
    assert_eq!(a("Website").as_deref(), Some("https://northwind.example"));
    assert_eq!(a("BillingStreet").as_deref(), Some("2200 Harbor Way"));
    assert_eq!(a("BillingCity").as_deref(), Some("Seattle"));
    assert_eq!(a("BillingStateCode").as_deref(), Some("WA"));
    assert_eq!(a("BillingPostalCode").as_deref(), Some("98121"));
    assert_eq!(a("BillingCountryCode").as_deref(), Some("US"));

    // The record reconciler took it from there: ACE's review and AWS's team on the record,
    // and nothing held back (the identifier AWS's approval locked is not sent).
    assert_eq!(f("ACE_Review_Status__c").as_deref(), Some("Approved"));
    assert_eq!(
        f("ACE_Sync_Status__c").as_deref(),
        Some("Synced"),
        "{:?}",
        f("ACE_Findings__c")
    );
    let findings = f("ACE_Findings__c").unwrap_or_default();
    assert!(!findings.contains("can no longer change"), "{findings}");
    assert!(f("ACE_AWS_Team__c").is_some_and(|t| !t.is_empty()));
    assert!(
        control
            .call_log()
            .iter()
            .filter(|c| c.operation == "UpdateOpportunity")
            .all(|c| c.error.is_none()),
        "no update ACE refused: {:?}",
        control.call_log()
    );

    // ACE's events about the accepted opportunity find the record by its ACE id.
    world.drain_events().await;
    assert!(
        metric_lines(&world, "outcome=\"not_linked\"").is_empty(),
        "{:?}",
        metric_lines(&world, "ace_events")
    );
    assert!(
        !metric_lines(
            &world,
            "detail_type=\"Opportunity Updated\",outcome=\"queued\""
        )
        .is_empty(),
        "{:?}",
        metric_lines(&world, "ace_events")
    );

    // From now on the record syncs as any other: a stage change reaches ACE.
    world
        .rep_changes(record.as_str(), &[("StageName", text("Qualification"))])
        .await;
    world.drain_changes().await;
    let opportunity = control.opportunity(&ace_id).unwrap();
    assert_eq!(opportunity["LifeCycle"]["Stage"], "Qualified");
    assert_eq!(f("ACE_Stage__c").as_deref(), Some("Qualified"));
    assert_eq!(f("ACE_Sync_Status__c").as_deref(), Some("Synced"));
    assert_eq!(control.call_count("CreateOpportunity"), 0);
}

#[tokio::test]
async fn a_referral_rejected_in_salesforce_is_rejected_at_aws_with_its_reason() {
    let world = referral_world(TaskTiming::Immediate).await;
    let (invitation, record) = referred(&world).await;
    let control = world.pc.control();
    let f = |name| field(&world, &record, name);

    // A rejection needs one of AWS's reasons: the record says so, AWS hears nothing.
    world
        .rep_changes(record.as_str(), &[(DECISION, text("Reject"))])
        .await;
    world.drain_changes().await;
    assert_eq!(f("ACE_Sync_Status__c").as_deref(), Some("Needs attention"));
    assert!(
        f("ACE_Findings__c")
            .unwrap_or_default()
            .contains("choose an ACE Invitation Rejection Reason"),
        "{:?}",
        f("ACE_Findings__c")
    );
    assert_eq!(control.call_count("RejectEngagementInvitation"), 0);

    // The reason (any edit of a record that needs attention is sent).
    world
        .rep_changes(
            record.as_str(),
            &[(
                "ACE_Invitation_Rejection_Reason__c",
                text("Unable to support"),
            )],
        )
        .await;
    world.drain_changes().await;
    assert_eq!(
        control.invitation_status(&invitation).as_deref(),
        Some("REJECTED")
    );
    assert_eq!(control.call_count("RejectEngagementInvitation"), 1);
    assert_eq!(f(STATUS).as_deref(), Some("Rejected"));
    assert_eq!(f("ACE_Sync_Status__c").as_deref(), Some("Synced"));
    assert!(
        f("ACE_Findings__c")
            .unwrap_or_default()
            .contains("rejected at AWS (Unable to support)"),
        "{:?}",
        f("ACE_Findings__c")
    );

    // Its event, and any later change of the record, change nothing at AWS.
    world.drain_events().await;
    world
        .rep_changes(record.as_str(), &[("StageName", text("Qualification"))])
        .await;
    world.drain_changes().await;
    assert_eq!(control.call_count("RejectEngagementInvitation"), 1);
    assert_eq!(control.call_count("CreateOpportunity"), 0);
    assert_eq!(f("ACE_Opportunity_Id__c"), None);
    assert_eq!(f(STATUS).as_deref(), Some("Rejected"));
}

#[tokio::test]
async fn an_expired_referral_is_marked_expired_and_no_longer_answered() {
    let world = referral_world(TaskTiming::Immediate).await;
    let (invitation, record) = referred(&world).await;
    let control = world.pc.control();
    assert!(control.expire_invitation(&invitation));
    world.drain_events().await;
    let f = |name| field(&world, &record, name);
    assert_eq!(f(STATUS).as_deref(), Some("Expired"));
    assert!(
        f("ACE_Findings__c")
            .unwrap_or_default()
            .contains("expired on"),
        "{:?}",
        f("ACE_Findings__c")
    );

    world
        .rep_changes(record.as_str(), &[(DECISION, text("Accept"))])
        .await;
    world.drain_changes().await;
    assert_eq!(
        control.call_count("StartEngagementByAcceptingInvitationTask"),
        0
    );
    assert_eq!(control.call_count("CreateOpportunity"), 0);
    assert_eq!(f(STATUS).as_deref(), Some("Expired"));
    assert_eq!(f("ACE_Opportunity_Id__c"), None);
}

#[tokio::test]
async fn an_invitation_makes_one_record_however_often_it_is_delivered_or_swept() {
    let options = Options::default();
    let gate = options.events_delivered.clone();
    let world = World::start(seed(Vec::new()), options).await;
    let control = world.pc.control();
    let ace = world.worker.reconciler().unwrap().partner_central().clone();
    let org = world.sf.org_id();
    let changes = world.changes_queue_port();

    // Its event is lost; the sweep brings it in.
    gate.store(false, std::sync::atomic::Ordering::SeqCst);
    let invitation = control
        .create_aws_invitation(&InvitationSpec::default())
        .unwrap();
    let other = control
        .create_aws_invitation(&InvitationSpec {
            title: "Data lake for Contoso".into(),
            ..InvitationSpec::default()
        })
        .unwrap();
    assert!(control.expire_invitation(&other));
    control.flush_events().await;
    gate.store(true, std::sync::atomic::Ordering::SeqCst);
    assert!(records_of(&world, &invitation).is_empty());

    let swept = sweep_jobs(ace.as_ref(), &org, 1).await.expect("sweep");
    let swept_ids: Vec<&str> = swept.iter().map(|j| j.invitation_id.as_str()).collect();
    assert_eq!(swept_ids, [invitation.as_str()], "only the open referral");
    changes
        .enqueue(swept.iter().map(OutgoingMessage::from).collect())
        .await
        .unwrap();
    world.drain_changes().await;
    let record = record_of(&world, &invitation);

    // Then its event arrives after all, twice (EventBridge delivers at least once), and a
    // later sweep lists it again.
    let created = control
        .events()
        .into_iter()
        .find(|e| {
            e["detail-type"] == "Engagement Invitation Created"
                && e["detail"]["engagementInvitation"]["id"] == invitation.as_str()
        })
        .expect("the simulator published the event");
    for copy in 0..2 {
        world
            .sqs
            .send_message()
            .queue_url(&world.events.url)
            .message_body(created.to_string())
            .message_group_id(&invitation)
            .message_deduplication_id(format!("late-{copy}"))
            .send()
            .await
            .unwrap();
    }
    world.drain_events().await;
    let again = sweep_jobs(ace.as_ref(), &org, 2).await.unwrap();
    changes
        .enqueue(again.iter().map(OutgoingMessage::from).collect())
        .await
        .unwrap();
    world.drain_changes().await;

    assert_eq!(
        record_of(&world, &invitation),
        record,
        "still the one record"
    );
    assert!(
        records_of(&world, &other).is_empty(),
        "an expired one is not brought in"
    );
    let upserts = world
        .sf
        .requests()
        .iter()
        .filter(|r| r.method == "PATCH" && r.path.contains("/ACE_Invitation_Id__c/"))
        .count();
    assert_eq!(upserts, 1, "created once");
    let outcomes = metric_lines(&world, "ace_sync_referrals_total");
    assert!(
        outcomes
            .iter()
            .any(|l| l.contains("outcome=\"created\"} 1")),
        "{outcomes:?}"
    );
    assert!(
        outcomes
            .iter()
            .any(|l| l.contains("outcome=\"unchanged\"") && !l.ends_with(" 0")),
        "the later triggers were reconciled and changed nothing: {outcomes:?}"
    );
}

#[tokio::test]
async fn a_failed_acceptance_is_shown_on_the_record_and_saving_it_again_tries_again() {
    let world = referral_world(TaskTiming::Manual).await;
    let (invitation, record) = referred(&world).await;
    let control = world.pc.control();
    let f = |name| field(&world, &record, name);

    world
        .rep_changes(record.as_str(), &[(DECISION, text("Accept"))])
        .await;
    // The task runs until AWS ends it: the worker checks it again and again meanwhile.
    world
        .drain_changes_until(DEADLINE, "the acceptance has started", || {
            f("ACE_Findings__c")
                .unwrap_or_default()
                .contains("Accepting the referral")
        })
        .await;
    assert_eq!(
        control.call_count("StartEngagementByAcceptingInvitationTask"),
        1
    );

    // AWS fails the task; the check that follows it finds out.
    let failed = control.fail_tasks(
        "InvitationAccessDenied",
        "You do not have access to this engagement invitation.",
    );
    assert_eq!(failed.len(), 1);
    world
        .drain_changes_until(DEADLINE, "the failure is on the record", || {
            f("ACE_Sync_Status__c").as_deref() == Some("Needs attention")
        })
        .await;
    let findings = f("ACE_Findings__c").unwrap_or_default();
    assert!(
        findings.contains(
            "AWS did not accept the referral: You do not have access to this engagement invitation. (InvitationAccessDenied)"
        ),
        "{findings}"
    );
    assert_eq!(f("ACE_Opportunity_Id__c"), None);
    assert_eq!(f(STATUS).as_deref(), Some("Pending"));
    assert_eq!(
        control.invitation_status(&invitation).as_deref(),
        Some("PENDING")
    );
    assert_eq!(
        control.call_count("StartEngagementByAcceptingInvitationTask"),
        1,
        "a failure is not retried by itself"
    );

    // The rep saves the record again: a new acceptance (a new task), which AWS completes.
    world
        .rep_changes(record.as_str(), &[("NextStep", text("Call Northwind"))])
        .await;
    let tasks_of_invitation = || {
        control
            .tasks()
            .into_iter()
            .filter(|t| t["EngagementInvitationId"] == invitation.as_str())
            .count()
    };
    world
        .drain_changes_until(DEADLINE, "a second acceptance has started", || {
            tasks_of_invitation() == 2
        })
        .await;
    assert_eq!(control.finish_tasks().len(), 1);
    world
        .drain_changes_until(DEADLINE, "the acceptance is on the record", || {
            f("ACE_Opportunity_Id__c").is_some()
        })
        .await;
    assert_eq!(f(STATUS).as_deref(), Some("Accepted"));
    assert_eq!(
        control.invitation_status(&invitation).as_deref(),
        Some("ACCEPTED")
    );
}

impl World {
    /// The changes queue as the product's port.
    fn changes_queue_port(&self) -> std::sync::Arc<dyn JobQueue> {
        self.worker.changes_queue().as_job_queue()
    }
}
