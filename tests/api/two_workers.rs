//! Two real `ace-sync work` processes on one changes queue (as during a rolling deploy, or
//! with two replicas): a burst of rep changes and AWS review steps for the same records,
//! interleaved. Every record ends with ACE's latest review status and the rep's latest data
//! on both sides, and no write-back ever takes a record back to an older state.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::helpers::world::{self, Options, World, text};

const DEADLINE: Duration = Duration::from_secs(120);

/// The stages a rep moves through after the submission, each with the ACE stage it maps to.
const LATER_STAGES: &[(&str, &str)] = &[
    ("Value Proposition", "Technical Validation"),
    ("Id. Decision Makers", "Technical Validation"),
    ("Perception Analysis", "Business Validation"),
    ("Proposal/Price Quote", "Business Validation"),
];

fn review_rank(status: &str) -> u8 {
    match status {
        "Pending Submission" => 0,
        "Submitted" => 1,
        "In review" => 2,
        _ => 3,
    }
}

fn stage_rank(stage: &str) -> u8 {
    match stage {
        "Prospect" => 0,
        "Qualified" => 1,
        "Technical Validation" => 2,
        "Business Validation" => 3,
        "Committed" => 4,
        _ => 5,
    }
}

/// What ace-sync wrote to one field of each record, in order.
fn written(world: &World, field: &str) -> BTreeMap<String, Vec<String>> {
    let mut by_record: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for request in world.sf.requests() {
        if request.method != "PATCH" || request.status >= 300 {
            continue;
        }
        let Some(id) = request.path.rsplit('/').next() else {
            continue;
        };
        let Some(body) = &request.body else { continue };
        let Ok(body) = serde_json::from_str::<serde_json::Value>(body) else {
            continue;
        };
        if let Some(value) = body.get(field).and_then(|v| v.as_str()) {
            by_record
                .entry(id.to_owned())
                .or_default()
                .push(value.to_owned());
        }
    }
    by_record
}

#[tokio::test]
async fn two_workers_converge_every_record_and_never_take_one_back() {
    let ids = world::opportunity_ids(6);
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
    let mut first = world.spawn_worker(&[("ACE_SYNC_WORKER__CONCURRENCY", "4")]);
    let second = world.spawn_worker(&[("ACE_SYNC_WORKER__CONCURRENCY", "4")]);

    for id in &ids {
        world
            .rep_changes(id, &[("StageName", text("Needs Analysis"))])
            .await;
    }
    // The reps keep working while AWS reviews: every round changes each record, and AWS takes
    // one review step for every opportunity in review.
    for (round, (stage, _)) in LATER_STAGES.iter().enumerate() {
        world.pc.control().advance_reviews();
        for id in &ids {
            world
                .rep_changes(
                    id,
                    &[
                        ("StageName", text(stage)),
                        ("NextStep", text(&format!("Round {round}"))),
                    ],
                )
                .await;
        }
    }
    let (last_stage, last_ace_stage) = LATER_STAGES[LATER_STAGES.len() - 1];
    let last_step = format!("Round {}", LATER_STAGES.len() - 1);
    first
        .eventually(DEADLINE, "every submission reached AWS", || {
            ids.iter()
                .all(|id| world.sf_field(id, "ACE_Opportunity_Id__c").is_some())
                && world
                    .pc
                    .control()
                    .call_count("StartEngagementFromOpportunityTask")
                    >= ids.len() as u64
        })
        .await;
    world.pc.control().complete_reviews();

    first
        .eventually(DEADLINE, "every record converged on both sides", || {
            ids.iter().all(|id| {
                let Some(ace_id) = world.sf_field(id, "ACE_Opportunity_Id__c") else {
                    return false;
                };
                let Some(ace) = world.pc.control().opportunity(&ace_id) else {
                    return false;
                };
                world.sf_field(id, "ACE_Review_Status__c").as_deref() == Some("Approved")
                    && world.sf_field(id, "ACE_Sync_Status__c").as_deref() == Some("Synced")
                    && world.sf_field(id, "ACE_Stage__c").as_deref() == Some(last_ace_stage)
                    && ace["LifeCycle"]["ReviewStatus"] == "Approved"
                    && ace["LifeCycle"]["Stage"] == last_ace_stage
                    && ace["LifeCycle"]["NextSteps"] == last_step.as_str()
            })
        })
        .await;
    world.until_queues_empty(DEADLINE).await;

    for id in &ids {
        assert_eq!(world.ace_for(id).len(), 1, "{id}: one ACE opportunity");
        assert_eq!(world.sf_field(id, "StageName").as_deref(), Some(last_stage));
    }
    for (id, statuses) in written(&world, "ACE_Review_Status__c") {
        assert!(
            statuses
                .windows(2)
                .all(|w| review_rank(&w[0]) <= review_rank(&w[1])),
            "{id}: the review status went back: {statuses:?}"
        );
    }
    for (id, stages) in written(&world, "ACE_Stage__c") {
        assert!(
            stages
                .windows(2)
                .all(|w| stage_rank(&w[0]) <= stage_rank(&w[1])),
            "{id}: the ACE stage went back: {stages:?}"
        );
    }
    assert_eq!(world.queue_counts(&world.changes.dlq_url).await, (0, 0));
    assert_eq!(world.queue_counts(&world.events.dlq_url).await, (0, 0));
    drop(second);
}
