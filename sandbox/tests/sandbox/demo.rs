//! `ace-sync demo`, the README's first command: the real binary on a machine with nothing
//! configured runs the whole loop, and its timeline shows each opportunity's key steps and end
//! state; a demo whose opportunities do not end where they should fails and says which.

use std::process::{Command, Output};
use std::time::Duration;

use ace_sync::config::Settings;
use ace_sync_sandbox::demo::{DemoConfig, DemoError};

use crate::helpers::{env, sqs};

fn run_demo(envs: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ace-sync-dev"))
        .arg("demo")
        // Nothing from the caller's environment may be needed.
        .env_clear()
        .envs(envs.iter().copied())
        .output()
        .expect("run ace-sync demo")
}

/// The lines of scenario `n` ("n. Name (id): title" up to the next scenario or the summary).
fn section(stdout: &str, n: usize) -> String {
    let heading = format!("{n}. ");
    let mut lines = stdout.lines().skip_while(|l| !l.starts_with(&heading));
    let mut out: Vec<&str> = lines.next().into_iter().collect();
    out.extend(lines.take_while(|l| !l.is_empty()));
    assert!(!out.is_empty(), "no scenario {n} in:\n{stdout}");
    out.join("\n")
}

/// Each of `steps` appears in `text`, in this order.
fn assert_in_order(text: &str, steps: &[&str]) {
    let mut from = 0;
    for step in steps {
        match text[from..].find(step) {
            Some(at) => from += at + step.len(),
            None => panic!("{step:?} missing (or out of order) after position {from} in:\n{text}"),
        }
    }
}

/// The ACE ids the timeline says were created.
fn created_ids(text: &str) -> Vec<String> {
    text.split("CreateOpportunity → ")
        .skip(1)
        .map(|rest| {
            rest.chars()
                .take_while(char::is_ascii_alphanumeric)
                .collect()
        })
        .collect()
}

fn assert_succeeded(output: &Output) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "demo failed: {stdout}{stderr}");
    assert!(
        stderr.trim().is_empty(),
        "the demo's logs stay quiet: {stderr}"
    );
    stdout
}

/// What every run of the demo must show, whatever its queues.
fn assert_each_opportunity_ended_where_it_should(stdout: &str) {
    // 1. Synced, submitted, approved; the AWS team written back.
    let approved = section(stdout, 1);
    assert_in_order(
        &approved,
        &[
            "rep         moves the stage Qualification → Needs Analysis",
            "outbound    POST to the ingress: job queued, acked in",
            "worker      picks the job up and reads the record",
            "ACE         ListOpportunities, CreateOpportunity → O",
            "StartEngagementFromOpportunityTask",
            "write-back  ACE id O",
            "Waiting for AWS review",
            "AWS         review Submitted → In review",
            "AWS         review In review → Approved",
            "GetAwsOpportunitySummary",
            "write-back  review Approved · Synced · AWS team (3)",
            "✓ Approved in ACE as O",
        ],
    );
    assert_eq!(created_ids(&approved).len(), 1, "{approved}");

    // 2. Pre-flight findings written back with no ACE call; fixed; synced and approved.
    let findings = section(stdout, 2);
    assert_in_order(
        &findings,
        &[
            "rep         moves the stage Qualification → Needs Analysis",
            "job queued, acked",
            "write-back  Needs attention · findings:",
            "• Use Cases is required",
            "• Close Date is",
            "rep         fixes the findings",
            "job queued, acked",
            "CreateOpportunity → O",
            "findings cleared",
            "review In review → Approved",
            "write-back  review Approved · Synced",
            "✓ findings written back without an ACE call",
        ],
    );
    let before_fix = &findings[..findings.find("fixes the findings").unwrap()];
    assert!(
        !before_fix.contains("ACE  "),
        "no ACE call before the fix: {findings}"
    );

    // 3. Rejected by AWS, fixed, resubmitted as a new ACE opportunity, approved.
    let rejected = section(stdout, 3);
    assert_in_order(
        &rejected,
        &[
            "rep         moves the stage Qualification → Needs Analysis",
            "CreateOpportunity → O",
            "Suggestion:",
            "review In review → Rejected",
            "write-back  review Rejected · Needs attention",
            "AWS rejected the opportunity",
            "rep         rewrites the business problem",
            "CreateOpportunity → O",
            "previous ACE ids O",
            "review In review → Approved",
            "write-back  review Approved · Synced",
            "Rejected; resubmitted as O",
        ],
    );
    let ids = created_ids(&rejected);
    assert_eq!(ids.len(), 2, "{rejected}");
    assert_ne!(ids[0], ids[1], "the resubmission is a new ACE opportunity");
    assert!(
        rejected.contains(&format!("✓ {} Rejected; resubmitted as {}", ids[0], ids[1])),
        "{rejected}"
    );

    // 4. Approved, then Closed Won → Launched.
    let won = section(stdout, 4);
    assert_in_order(
        &won,
        &[
            "review In review → Approved",
            "rep         closes the deal: stage → Closed Won",
            "job queued, acked",
            "UpdateOpportunity",
            "write-back  ACE stage Launched",
            "✓ Approved as O",
            "then Launched in ACE",
        ],
    );

    assert!(
        stdout.contains("All 4 opportunities ended where they should"),
        "{stdout}"
    );
    assert!(!stdout.contains('✗'), "{stdout}");
}

#[test]
fn the_demo_runs_on_embedded_defaults_and_each_opportunity_ends_where_it_should() {
    let stdout = assert_succeeded(&run_demo(&[]));
    assert!(
        stdout.contains("queues in-memory (fine for a demo, not durable)"),
        "{stdout}"
    );
    assert_each_opportunity_ended_where_it_should(&stdout);
    // Relative times and step durations, aligned.
    assert!(stdout.contains("   +0.00s          rep"), "{stdout}");
}

#[tokio::test]
async fn the_demo_uses_the_sqs_queues_the_settings_name() {
    let endpoint = env::sqs_endpoint();
    let client = sqs::client(&endpoint);
    let changes = sqs::fifo_queue(&client, "demo-changes", 5).await;
    let events = sqs::fifo_queue(&client, "demo-events", 5).await;
    let envs: Vec<(String, String)> = [
        ("ACE_SYNC_QUEUE__CHANGES_QUEUE_URL", changes.url.as_str()),
        ("ACE_SYNC_QUEUE__EVENTS_QUEUE_URL", events.url.as_str()),
        ("ACE_SYNC_QUEUE__ENDPOINT_URL", endpoint.as_str()),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    // The binary blocks while it runs; the test's runtime stays free.
    let output = tokio::task::spawn_blocking(move || {
        let envs: Vec<(&str, &str)> = envs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        run_demo(&envs)
    })
    .await
    .unwrap();
    let stdout = assert_succeeded(&output);
    assert!(
        stdout.contains(&format!(
            "queues changes on {}, events on {}",
            changes.url, events.url
        )),
        "{stdout}"
    );
    assert_each_opportunity_ended_where_it_should(&stdout);
    // Everything taken off the queues was finished with.
    assert!(sqs::drain(&client, &changes.url).await.is_empty());
    assert!(sqs::drain(&client, &events.url).await.is_empty());
    assert!(sqs::drain(&client, &changes.dlq_url).await.is_empty());
}

#[tokio::test]
async fn a_demo_whose_opportunities_do_not_end_where_they_should_fails_naming_them() {
    // AWS never decides within a step's deadline: no opportunity reaches its end state.
    let config = DemoConfig {
        in_review_after: Duration::from_millis(50),
        decision_after: Duration::from_secs(3600),
        step_deadline: Duration::from_millis(1500),
        ..DemoConfig::default()
    };
    let mut out = Vec::new();
    let result = ace_sync_sandbox::demo::run_with(&Settings::defaults(), &config, &mut out).await;
    let stdout = String::from_utf8_lossy(&out);
    let Err(DemoError::Failed { failures, total }) = result else {
        panic!("expected the demo to fail: {result:?}\n{stdout}");
    };
    assert_eq!(total, 4);
    let failed: Vec<usize> = failures.iter().map(|f| f.number).collect();
    assert_eq!(failed, [1, 2, 3, 4], "{stdout}");
    assert!(
        failures
            .iter()
            .all(|f| f.problem.contains("waited 1.50s for AWS's")),
        "{failures:?}"
    );
    let message = DemoError::Failed {
        failures: failures.clone(),
        total,
    }
    .to_string();
    assert!(
        message.starts_with("4 of 4 opportunities did not end where they should"),
        "{message}"
    );
    assert!(message.contains("2. Globex - Analytics Pilot"), "{message}");
    // What happened before the missing decision is still on the timeline.
    assert_in_order(
        &section(&stdout, 2),
        &[
            "write-back  Needs attention · findings:",
            "fixes the findings",
            "AWS         review Submitted → In review",
            "✗ waited 1.50s for AWS's approval to be written back",
        ],
    );
    assert!(stdout.contains("4 of 4 opportunities did not end where they should"));
}
