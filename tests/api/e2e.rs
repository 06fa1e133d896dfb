//! End to end, driven the way production is driven: a rep's change in the Salesforce
//! simulator, its outbound message through the real ingress and moto's SQS, the worker, the
//! Partner Central simulator, its events back through SQS, and the write-back.

use crate::helpers::sqs;
use crate::helpers::world::{self, Options, World, text};

const OPP: &str = "0065g00000QrStUAAV";

#[tokio::test]
async fn a_stage_change_is_created_submitted_approved_and_written_back() {
    let world = World::start(
        world::seed(vec![world::complete_opportunity(
            OPP,
            "Acme - Data Platform Migration",
            "Prospecting",
        )]),
        Options::default(),
    )
    .await;

    world
        .rep_changes(OPP, &[("StageName", text("Needs Analysis"))])
        .await;
    let report = world.drain_changes().await;
    assert_eq!(report.done, 1, "{report:?}");

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
    // Nothing left behind on either queue, and the ingress is still ready.
    assert!(sqs::drain(&world.sqs, &world.changes.url).await.is_empty());
    assert!(sqs::drain(&world.sqs, &world.events.url).await.is_empty());
    let ready = reqwest::get(format!("{}/health/ready", world.ingress_address))
        .await
        .unwrap();
    assert_eq!(ready.status().as_u16(), 200);
}
