//! Third-party clients against the Salesforce simulator: simple-salesforce (Python), with its
//! own URL forms and login, must find the org a real one would be.

use std::process::Output;

use ace_sync::domain::ids::SfRecordId;
use ace_sync::domain::sobject::FieldValue;
use ace_sync_sandbox::salesforce::{SalesforceSim, Seed, SimConfig};

use crate::helpers::env;

/// The Acme opportunity of the small org.
const OPPORTUNITY: &str = "0065g00000QrStUAAV";

async fn small_org() -> SalesforceSim {
    SalesforceSim::start(SimConfig::new(Seed::small()))
        .await
        .expect("the simulator starts")
}

/// Runs a script of `sandbox/tests/python` with the org's URL and credentials first.
async fn python(sim: &SalesforceSim, script: &str, extra: &[&str]) -> Output {
    let path = format!("{}/tests/python/{script}", env!("CARGO_MANIFEST_DIR"));
    tokio::process::Command::new(env::venv_bin("python"))
        .arg(path)
        .arg(sim.base_url().as_str().trim_end_matches('/'))
        .arg(sim.consumer_key())
        .arg(sim.username())
        .arg(sim.private_key_path())
        .args(extra)
        .output()
        .await
        .expect("run python")
}

fn succeeded(output: &Output, marker: &str) {
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains(marker),
        "the script failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test]
async fn simple_salesforce_agrees() {
    let sim = small_org().await;
    let output = python(&sim, "simple_salesforce_agrees.py", &[OPPORTUNITY]).await;
    succeeded(&output, "simple-salesforce agrees");

    // What simple-salesforce changed is in the org, made by the integration user it signed in
    // as.
    let id: SfRecordId = OPPORTUNITY.parse().expect("id");
    let record = sim.record(&id).expect("the record");
    assert_eq!(
        record.fields.get("NextStep"),
        Some(&FieldValue::Text("Call the CFO".to_owned()))
    );
    assert_eq!(
        record.fields.get("LastModifiedById"),
        Some(&FieldValue::Text(sim.integration_user_id().to_string()))
    );
    assert_eq!(sim.token_requests(), 1);
    // The URL forms it used, as received (the trailing slashes trimmed before routing).
    let requests = sim.requests();
    let seen = |method: &str, suffix: &str| {
        requests
            .iter()
            .any(|r| r.method == method && r.path.ends_with(suffix) && r.status < 300)
    };
    assert!(seen("GET", "/query"), "{requests:#?}");
    assert!(seen("GET", "/sobjects"));
    assert!(seen("GET", "/sobjects/Opportunity"));
    assert!(seen("GET", "/sobjects/Opportunity/describe"));
    assert!(seen(
        "GET",
        &format!("/sobjects/Opportunity/{}", &OPPORTUNITY[..15])
    ));
    assert!(seen(
        "PATCH",
        &format!("/sobjects/Opportunity/{}", &OPPORTUNITY[..15])
    ));
    // Five refused: three updates, the unknown record, the bad query.
    let refused = requests.iter().filter(|r| r.status >= 400).count();
    assert_eq!(refused, 5, "{requests:#?}");
    sim.stop().await;
}

#[tokio::test]
async fn simple_salesforce_upserts() {
    let sim = small_org().await;
    // Two records hold the same ACE id (a record copied by hand): an upsert by it is a 300.
    let shared = "O1234567";
    for raw in ["0065g00000QrStVAAV", "0065g00000QrStWAAV"] {
        sim.update_as_integration_user(
            &raw.parse().expect("id"),
            &[(
                "ACE_Opportunity_Id__c",
                Some(FieldValue::Text(shared.to_owned())),
            )],
        )
        .expect("set");
    }
    let output = python(&sim, "simple_salesforce_upserts.py", &[shared]).await;
    succeeded(&output, "simple-salesforce upserts");
    let created: SfRecordId = String::from_utf8_lossy(&output.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("created "))
        .expect("the created id")
        .trim()
        .parse()
        .expect("an id");
    let record = sim.record(&created).expect("the referral's record");
    let text = |name: &str| record.fields.get(name).map(FieldValue::to_text);
    assert_eq!(
        text("ACE_Invitation_Id__c").as_deref(),
        Some("engi-8h2k4m6p9q1rs")
    );
    assert_eq!(
        text("ACE_Invitation_Decision__c").as_deref(),
        Some("Accept")
    );
    assert_eq!(text("ACE_Origin__c").as_deref(), Some("AWS Referral"));
    assert_eq!(
        text("CreatedById"),
        Some(sim.integration_user_id().to_string())
    );
    let accounts = sim
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/sobjects/Account") && r.status == 201)
        .count();
    assert_eq!(accounts, 1);
    sim.stop().await;
}
