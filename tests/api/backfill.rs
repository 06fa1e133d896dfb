//! `ace-sync backfill` and `ace-sync reconcile [--report]`, run as an operator runs them: the
//! production binary against the simulators and moto, then the worker drains what they queued.

use ace_sync::domain::ids::{ClientToken, SfOpportunityId, TokenPurpose};
use ace_sync::domain::sobject::FieldValue;

use crate::helpers::world::{self, Options, PROCESS_SETTINGS, World, text};

/// Runs the production binary with the world's settings; (success, stdout, stderr).
async fn cli(world: &World, args: &[&str]) -> (bool, String, String) {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_ace-sync"))
        .args(args)
        .envs(
            world
                .worker_env
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str())),
        )
        .envs(PROCESS_SETTINGS.iter().copied())
        .env("NO_COLOR", "1")
        .output()
        .await
        .expect("run ace-sync");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The line of `record` in a report.
fn line_of<'a>(out: &'a str, record: &str) -> &'a str {
    out.lines()
        .find(|l| l.trim_start().starts_with(record))
        .unwrap_or_else(|| panic!("no line for {record} in:\n{out}"))
}

/// An opportunity another connector created in ACE for `record`, before ace-sync: the same
/// mapped body, sent with the real client.
async fn made_elsewhere(world: &World, record: &str) -> String {
    let reconciler = world.worker.reconciler().expect("a worker");
    let id = SfOpportunityId::parse(record).unwrap();
    let preview = reconciler.preview(&id, false).await.unwrap().unwrap();
    let token = ClientToken::derive(&world.sf.org_id(), &id, TokenPurpose::CreateOpportunity, 99);
    let created = reconciler
        .partner_central()
        .create(&preview.assessment.mapped.body, &token)
        .await
        .expect("the other connector's create");
    created.id.to_string()
}

#[tokio::test]
async fn a_backfill_links_what_ace_has_creates_the_rest_once_and_its_dry_run_changes_nothing() {
    let ids = world::opportunity_ids(5);
    let [create, by_identifier, by_field, not_yet, blocked] =
        [0, 1, 2, 3, 4].map(|i| ids[i].as_str());
    let mut seed = world::seed(vec![
        world::complete_opportunity(create, "Acme - Data Platform Migration", "Qualification"),
        world::complete_opportunity(by_identifier, "Acme - Lakehouse", "Qualification"),
        world::complete_opportunity(by_field, "Acme - Streaming", "Qualification"),
        world::complete_opportunity(not_yet, "Acme - Early Idea", "Prospecting"),
        world::complete_opportunity(blocked, "Acme - Vague", "Qualification"),
    ]);
    world::edit_seed(&mut seed, blocked, |fields| {
        fields.insert(
            "ACE_Business_Problem__c".to_owned(),
            FieldValue::Text("TBD".to_owned()),
        );
    });
    let world = World::start(seed, Options::default()).await;
    let existing = made_elsewhere(&world, by_identifier).await;
    let kept_in_field = made_elsewhere(&world, by_field).await;
    world
        .sf
        .update_as_integration_user(
            &by_field.parse().unwrap(),
            &[("APN_CRM_Id__c", text(&kept_in_field))],
        )
        .unwrap();
    let (ace_writes, sf_writes) = (world.ace_writes(), world.sf_writes());

    // The dry run says what would happen, and does none of it.
    let (ok, out, err) = cli(
        &world,
        &["backfill", "--dry-run", "--link-from", "APN_CRM_Id__c"],
    )
    .await;
    assert!(ok, "{out}\n{err}");
    // The report alone on standard output (logs go to standard error).
    assert!(out.starts_with("5 record(s) selected\n"), "{out}");
    assert!(line_of(&out, create).contains("create"), "{out}");
    assert!(
        line_of(&out, by_identifier).contains(&format!(
            "link      {existing} (PartnerOpportunityIdentifier)"
        )),
        "{out}"
    );
    assert!(
        line_of(&out, by_field).contains(&format!("{kept_in_field} (from APN_CRM_Id__c)")),
        "{out}"
    );
    assert!(line_of(&out, not_yet).contains("not yet"), "{out}");
    assert!(line_of(&out, blocked).contains("blocked"), "{out}");
    assert!(out.contains("pre-flight findings by kind"), "{out}");
    assert!(out.contains("error"), "{out}");
    assert_eq!(
        (world.ace_writes(), world.sf_writes()),
        (ace_writes, sf_writes)
    );
    assert!(world.peek_changes().await.is_empty());
    assert!(
        world
            .sf_field(by_identifier, "ACE_Opportunity_Id__c")
            .is_none()
    );

    // The backfill links, then queues a reconcile of every record past the creation stage.
    let (ok, out, err) = cli(&world, &["backfill", "--link-from", "APN_CRM_Id__c"]).await;
    assert!(ok, "{out}\n{err}");
    assert!(
        out.contains("2 record(s) linked, 4 reconcile job(s) queued"),
        "{out}"
    );
    world.drain_changes().await;
    assert_eq!(
        world.sf_field(by_identifier, "ACE_Opportunity_Id__c"),
        Some(existing.clone())
    );
    assert_eq!(
        world.sf_field(by_field, "ACE_Opportunity_Id__c"),
        Some(kept_in_field.clone())
    );
    for record in [create, by_identifier, by_field] {
        assert_eq!(world.ace_for(record).len(), 1, "{record}");
        assert_eq!(
            world.sf_field(record, "ACE_Sync_Status__c").as_deref(),
            Some("Synced"),
            "{record}"
        );
    }
    assert!(world.ace_for(not_yet).is_empty());
    assert!(world.ace_for(blocked).is_empty());
    assert_eq!(
        world.sf_field(blocked, "ACE_Sync_Status__c").as_deref(),
        Some("Needs attention")
    );

    // Run again: nothing is created twice.
    let (ok, out, err) = cli(&world, &["backfill"]).await;
    assert!(ok, "{out}\n{err}");
    world.drain_changes().await;
    for record in [create, by_identifier, by_field] {
        assert_eq!(world.ace_for(record).len(), 1, "{record}");
    }
}

#[tokio::test]
async fn the_drift_report_lists_what_differs_and_changes_nothing_until_a_reconcile_is_queued() {
    let ids = world::opportunity_ids(2);
    let (edited, quiet) = (ids[0].as_str(), ids[1].as_str());
    let world = World::start(
        world::seed(vec![
            world::complete_opportunity(edited, "Acme - Data Platform Migration", "Prospecting"),
            world::complete_opportunity(quiet, "Acme - Lakehouse", "Prospecting"),
        ]),
        Options::default(),
    )
    .await;
    for record in [edited, quiet] {
        world
            .rep_changes(record, &[("StageName", text("Qualification"))])
            .await;
    }
    world.drain_changes().await;
    // An edit no outbound message carries.
    world
        .sf
        .update_as_user(
            &edited.parse().unwrap(),
            &[("NextStep", text("Architecture review booked"))],
        )
        .unwrap();
    let (ace_writes, sf_writes) = (world.ace_writes(), world.sf_writes());

    let (ok, out, err) = cli(&world, &["reconcile", "--report"]).await;
    assert!(ok, "{out}\n{err}");
    assert!(
        line_of(&out, edited).contains("Acme - Data Platform Migration"),
        "{out}"
    );
    assert!(out.contains("ACE: update LifeCycle.NextSteps"), "{out}");
    assert!(!out.contains(quiet), "{out}");
    assert!(out.contains("1 of 2 record(s) differ"), "{out}");
    assert_eq!(
        (world.ace_writes(), world.sf_writes()),
        (ace_writes, sf_writes)
    );
    assert!(world.peek_changes().await.is_empty());

    // A reconcile of the record, queued by the operator, brings ACE in line.
    let (ok, out, err) = cli(&world, &["reconcile", "--record", edited]).await;
    assert!(ok, "{out}\n{err}");
    assert!(out.contains("1 reconcile(s) queued"), "{out}");
    world.drain_changes().await;
    assert_eq!(
        world.ace_for(edited)[0]["LifeCycle"]["NextSteps"],
        "Architecture review booked"
    );
    let (ok, out, _) = cli(&world, &["reconcile", "--report"]).await;
    assert!(ok && out.contains("0 of 2 record(s) differ"), "{out}");
}
