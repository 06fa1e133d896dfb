//! The three operations against both simulators: a check finds what ACE would refuse and makes
//! no ACE call; status shows both sides and the next actions and writes nothing; sync now
//! queues a manual reconcile in the record's group, and on a record already in sync changes
//! nothing, in ACE or in Salesforce.

use ace_sync::domain::job::Reason;
use ace_sync::domain::sobject::FieldValue;
use serde_json::Value;

use super::{ApiIngress, CHECK_KEY, SYNC_KEY};
use crate::helpers::world::{self, Options, World};

/// A record every rule accepts at Prospecting, one at Qualification, and one with findings.
struct Records {
    clean: String,
    qualified: String,
    with_findings: String,
}

async fn world() -> (World, Records) {
    let ids = world::opportunity_ids(3);
    let records = Records {
        clean: ids[0].clone(),
        qualified: ids[1].clone(),
        with_findings: ids[2].clone(),
    };
    let mut seed = world::seed(vec![
        world::complete_opportunity(&records.clean, "Acme - Data Platform", "Prospecting"),
        world::complete_opportunity(&records.qualified, "Acme - Lakehouse", "Qualification"),
        world::complete_opportunity(&records.with_findings, "Acme - Pilot", "Prospecting"),
    ]);
    world::edit_seed(&mut seed, &records.with_findings, |fields| {
        fields.remove("Use_Cases__c");
        let past = time::OffsetDateTime::now_utc().date() - time::Duration::days(30);
        fields.insert("CloseDate".into(), FieldValue::Date(past));
    });
    (World::start(seed, Options::default()).await, records)
}

/// A well-formed opportunity id no record has.
fn unknown_id() -> String {
    world::opportunity_ids(10).pop().unwrap()
}

fn texts(value: &Value) -> Vec<&str> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn a_check_finds_what_ace_would_refuse_and_what_it_would_send_without_calling_ace() {
    let (world, records) = world().await;
    let api = ApiIngress::start(&world).await;

    // Before moving the stage to Needs Analysis: what would ACE say?
    let answer = api
        .check(&records.with_findings, "?stage=Needs%20Analysis", CHECK_KEY)
        .await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert!(answer.content_type.starts_with("application/json"));
    let body = &answer.body;
    assert_eq!(body["opportunityId"], records.with_findings.as_str());
    assert_eq!(body["stage"], "Needs Analysis");
    assert_eq!(body["stageIsCurrent"], false);
    assert_eq!(body["phase"], "submit");
    assert_eq!(body["aceWouldAccept"], false);
    assert!(body["errorCount"].as_i64().unwrap() >= 2, "{body}");
    assert!(
        body["summary"]
            .as_str()
            .unwrap()
            .starts_with("ACE would refuse it"),
        "{body}"
    );
    let findings = body["findings"].as_array().unwrap();
    let use_cases = findings
        .iter()
        .find(|f| f["salesforceField"] == "Use_Cases__c")
        .unwrap_or_else(|| panic!("no finding names Use_Cases__c: {body}"));
    assert_eq!(use_cases["severity"], "error");
    assert_eq!(use_cases["fieldLabel"], "Use Cases");
    assert!(
        findings
            .iter()
            .any(|f| f["salesforceField"] == "CloseDate" && f["severity"] == "error"),
        "{body}"
    );
    assert!(
        body["findingsText"]
            .as_str()
            .unwrap()
            .contains("• Use Cases is required"),
        "{body}"
    );

    // A clean record at its own stage: nothing goes to ACE yet, and it would take it.
    let answer = api.check(&records.clean, "", CHECK_KEY).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    let body = &answer.body;
    assert_eq!(
        (&body["stage"], &body["stageIsCurrent"], &body["phase"]),
        (
            &Value::from("Prospecting"),
            &Value::from(true),
            &Value::from("notYet")
        )
    );
    assert!(
        body["whatHappens"]
            .as_str()
            .unwrap()
            .contains("once it reaches Qualification"),
        "{body}"
    );

    // The same record at the submission stage: the request and the submission ACE would get.
    let answer = api
        .check(&records.clean, "?stage=needs%20analysis", SYNC_KEY)
        .await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    let body = &answer.body;
    assert_eq!(body["stage"], "Needs Analysis", "as the mapping spells it");
    assert_eq!(body["aceWouldAccept"], true, "{body}");
    assert_eq!(body["errorCount"], 0);
    assert_eq!(body["submission"], "Co-Sell, Full visibility");
    assert_eq!(texts(&body["awsProducts"]), ["AmazonRedshift", "AWSGlue"]);
    assert_eq!(texts(&body["solutions"]), ["S-1234567"]);
    let request: Value = serde_json::from_str(body["aceRequest"].as_str().unwrap()).unwrap();
    assert_eq!(
        request["PartnerOpportunityIdentifier"],
        records.clean.as_str()
    );
    assert_eq!(request["LifeCycle"]["Stage"], "Qualified");
    assert!(body["aceOpportunityId"].is_null());

    // No ACE call, no write, nothing queued.
    assert_eq!(
        world.ace_calls(),
        0,
        "{:?}",
        world.pc.control().call_counts()
    );
    assert_eq!(world.sf_writes(), 0);
    assert!(world.peek_changes().await.is_empty());
    assert_eq!(
        api.metric(r#"ace_sync_api_calls_total{operation="check",status="200"}"#)
            .await,
        3.0
    );
}

#[tokio::test]
async fn a_check_refuses_what_is_not_a_question_it_can_answer_saying_why() {
    let (world, records) = world().await;
    let api = ApiIngress::start(&world).await;
    let cases = [
        (
            "/api/v1/opportunities/0015g00000LmNoPAAV/check".to_owned(),
            400,
            "invalid_opportunity_id",
            "is not a Salesforce opportunity id: expected a opportunity id (prefix \"006\")",
        ),
        (
            format!(
                "/api/v1/opportunities/{}/check?stage=Negotiating",
                records.clean
            ),
            400,
            "invalid_parameter",
            "the mapping has no stage \"Negotiating\"; its stages are: Prospecting, Qualification",
        ),
        (
            format!(
                "/api/v1/opportunities/{}/check?stgae=Qualification",
                records.clean
            ),
            400,
            "invalid_parameter",
            "unknown query parameter `stgae`; this operation takes: stage",
        ),
        (
            format!("/api/v1/opportunities/{}/check", unknown_id()),
            404,
            "not_found",
            "no opportunity 0065g00000Bn",
        ),
        (
            format!("/api/v1/opportunities/{}/status?verbose=1", records.clean),
            400,
            "invalid_parameter",
            "this operation takes no query parameter",
        ),
    ];
    for (path, status, code, detail) in cases {
        let answer = api.call("GET", &path, Some(CHECK_KEY)).await;
        assert_eq!(answer.status, status, "{path}: {:?}", answer.body);
        assert_eq!(answer.body["status"], status);
        assert_eq!(answer.body["code"], code, "{path}");
        let text = answer.body["detail"].as_str().unwrap();
        assert!(text.contains(detail), "{path}: {text}");
    }
    assert_eq!(world.ace_calls(), 0);
}

#[tokio::test]
async fn status_shows_both_sides_and_the_next_actions_and_sync_now_makes_them_agree() {
    let (world, records) = world().await;
    let api = ApiIngress::start(&world).await;
    let id = records.qualified.as_str();

    // At Qualification and never synced: ACE has nothing; a reconcile would create it.
    let answer = api.status(id, CHECK_KEY).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    let body = &answer.body;
    assert_eq!(body["phase"], "share");
    assert_eq!(body["inSync"], false);
    assert_eq!(body["ace"]["link"], "unlinked");
    assert!(body["lastSynced"].is_null());
    assert_eq!(
        body["nextActions"][0]["operation"], "CreateOpportunity",
        "{body}"
    );
    assert!(
        body["nextActions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["description"] == "Associate AWS product AmazonRedshift."),
        "{body}"
    );
    assert_eq!(world.ace_writes(), 0, "status writes nothing to ACE");
    assert_eq!(world.sf_writes(), 0, "nor to Salesforce");

    // Sync now: a manual reconcile in the record's group, answered 202.
    let answer = api.sync(id, SYNC_KEY).await;
    assert_eq!(answer.status, 202, "{:?}", answer.body);
    let queued = &answer.body;
    assert_eq!(queued["reason"], "manual");
    assert_eq!(queued["messageGroupId"], id);
    let org = world.sf.org_id().to_string();
    assert!(
        queued["organizationId"]
            .as_str()
            .unwrap()
            .starts_with(&org[..15]),
        "{queued}"
    );
    let jobs = world.peek_changes().await;
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    assert_eq!(jobs[0].record_id.as_str(), id);
    assert_eq!(
        jobs[0].reason,
        Reason::Manual {
            request_id: queued["requestId"].as_str().unwrap().to_owned()
        }
    );
    world.drain_changes().await;
    let created = world.ace_for(id);
    assert_eq!(created.len(), 1, "{created:?}");
    let ace_id = created[0]["Id"].as_str().unwrap();

    // Now both sides agree, and status says so.
    let answer = api.status(id, CHECK_KEY).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    let body = &answer.body;
    assert_eq!(body["inSync"], true, "{body}");
    assert_eq!(body["summary"], "In sync: ACE and the record agree.");
    assert_eq!(body["ace"]["link"], "linked");
    assert_eq!(body["ace"]["aceOpportunityId"], ace_id);
    assert_eq!(body["ace"]["reviewStatus"], "Pending Submission");
    assert_eq!(body["ace"]["stage"], "Qualified");
    assert_eq!(body["salesforce"]["aceOpportunityId"], ace_id);
    assert_eq!(body["salesforce"]["syncStatus"], "Synced");
    assert!(body["lastSynced"].is_string(), "{body}");
    assert_eq!(body["nextActions"], Value::Array(Vec::new()));
    assert_eq!(body["recordChanges"], Value::Array(Vec::new()));

    // Sync now on a record already in sync: the reconcile runs and changes nothing.
    let (ace_writes, sf_writes) = (world.ace_writes(), world.sf_writes());
    let answer = api.sync(id, SYNC_KEY).await;
    assert_eq!(answer.status, 202, "{:?}", answer.body);
    let report = world.drain_changes().await;
    assert_eq!(report.done, 1, "{report:?}");
    assert_eq!(world.ace_writes(), ace_writes, "nothing written to ACE");
    assert_eq!(
        world.sf_writes(),
        sf_writes,
        "nothing written to Salesforce"
    );
    assert_eq!(world.ace_for(id).len(), 1);
}

#[tokio::test]
async fn sync_now_before_the_creation_stage_says_nothing_goes_to_ace_yet() {
    let (world, records) = world().await;
    let api = ApiIngress::start(&world).await;
    let answer = api.sync(&records.clean, SYNC_KEY).await;
    assert_eq!(answer.status, 202, "{:?}", answer.body);
    assert_eq!(answer.body["phase"], "notYet");
    let message = answer.body["message"].as_str().unwrap();
    assert!(
        message.contains("once it reaches Qualification"),
        "{message}"
    );
    world.drain_changes().await;
    assert!(world.ace_for(&records.clean).is_empty());
    assert_eq!(world.ace_writes(), 0);

    let unknown = api.sync(&unknown_id(), SYNC_KEY).await;
    assert_eq!(unknown.status, 404, "{:?}", unknown.body);
    assert!(
        world.peek_changes().await.is_empty(),
        "nothing queued for it"
    );
}
