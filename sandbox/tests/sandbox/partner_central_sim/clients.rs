//! Other clients than the Rust SDK: boto3 agrees with the simulator, and `ace-sync-dev sandbox
//! partner-central` serves it as a process.

use super::*;

/// boto3, a second and independent client, agrees with the simulator.
#[tokio::test]
async fn boto3_agrees() {
    // Tasks end a moment after they start, as AWS's do, so boto3 sees them in progress.
    let sim = TestSim::start(SimConfig {
        tasks: TaskTiming::After(Duration::from_millis(200)),
        ..SimConfig::for_tests()
    })
    .await;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/boto3_agrees.py");
    let output = tokio::process::Command::new(env::venv_bin("python"))
        .arg(script)
        .arg(sim.handle.endpoint_url())
        .arg(in_days(100))
        .env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
        .env("AWS_SECRET_ACCESS_KEY", "secret")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .await
        .expect("run python");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "boto3 script failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("boto3 agrees"), "{stdout}");
    // What boto3 created is what the SDK reads back.
    let created = stdout
        .lines()
        .find_map(|l| l.strip_prefix("created "))
        .expect("id line")
        .trim()
        .to_owned();
    let got = get(&sim, &created).await;
    assert_eq!(
        got.project().and_then(|p| p.title()),
        Some("Updated by boto3")
    );
    // One update went through; the invalid one and the stale one were refused.
    assert_eq!(sim.control().call_count("UpdateOpportunity"), 3);
    assert_eq!(sim.control().call_count("CreateOpportunity"), 2);
    // What boto3 submitted is what the SDK reads back: in review, through one task.
    let submitted = stdout
        .lines()
        .find_map(|l| l.strip_prefix("submitted "))
        .expect("submitted line")
        .trim()
        .to_owned();
    assert_eq!(
        review_status(&get(&sim, &submitted).await),
        Some(ReviewStatus::Submitted)
    );
    assert_eq!(
        sim.control()
            .call_count("StartEngagementFromOpportunityTask"),
        5
    );
    assert_eq!(sim.control().tasks().len(), 2);
    sim.finish().await;
}

/// `ace-sync sandbox partner-central` serves the simulator, logs each call at debug with the
/// model's sensitive members redacted, and stops on SIGTERM.
#[tokio::test]
async fn the_sandbox_command_serves_and_its_debug_logs_hold_no_sensitive_values() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_ace-sync-dev"))
        .args([
            "sandbox",
            "partner-central",
            "--port",
            "0",
            "--no-quotas",
            "--review-delay",
            "1h",
            "--task-delay",
            "1h",
            "--invitation-expiry",
            "2h",
        ])
        .env("ACE_SYNC_TELEMETRY__FORMAT", "json")
        .env("ACE_SYNC_TELEMETRY__FILTER", "debug")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start ace-sync sandbox partner-central");
    let stdout = child.stdout.take().expect("stdout");
    let (endpoint_tx, endpoint_rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut lines = Vec::new();
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Ok(json) = serde_json::from_str::<Value>(&line)
                && json["fields"]["message"] == "partner central simulator ready"
            {
                let _ = endpoint_tx.send(
                    json["fields"]["endpoint_url"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                );
            }
            lines.push(line);
        }
        lines
    });
    let endpoint = endpoint_rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the sandbox reports its endpoint");
    let client = client(&endpoint, false);
    let contact = pcs::types::Contact::builder()
        .email("ceo@confidential-widgets.example")
        .first_name("Quinn")
        .build();
    let secret_company = "Confidential Widgets Holding";
    let mut c = customer();
    if let Some(account) = c.account.as_mut() {
        account.company_name = secret_company.to_owned();
    }
    c.contacts = Some(vec![contact]);
    let created = client
        .create_opportunity()
        .catalog("Sandbox")
        .client_token("cli-1")
        .customer(c)
        .project(project(GOOD_PROBLEM))
        .life_cycle(lifecycle())
        .send()
        .await
        .expect("create through the sandbox command");
    client
        .get_opportunity()
        .catalog("Sandbox")
        .identifier(created.id())
        .send()
        .await
        .expect("get");
    // --task-delay: the task is still in progress when its Start call answers.
    let task = client
        .start_engagement_from_opportunity_task()
        .catalog("Sandbox")
        .identifier(created.id())
        .aws_submission(
            AwsSubmission::builder()
                .involvement_type(SalesInvolvementType::CoSell)
                .build()
                .expect("submission"),
        )
        .send()
        .await
        .expect("start a task");
    assert_eq!(
        task.task_status(),
        Some(&pcs::types::TaskStatus::InProgress)
    );

    // AWS sends a referral through the sandbox's control endpoint; it waits --invitation-expiry.
    let referral: Value = reqwest::Client::new()
        .post(format!("{endpoint}/__sim/aws-referrals"))
        .json(&serde_json::json!({"Title": "Warehouse robotics"}))
        .send()
        .await
        .expect("post a referral")
        .json()
        .await
        .expect("json");
    let invitation = client
        .get_engagement_invitation()
        .catalog("Sandbox")
        .identifier(referral["Id"].as_str().expect("an id"))
        .send()
        .await
        .expect("the referral");
    assert_eq!(invitation.engagement_title(), Some("Warehouse robotics"));
    let waits = invitation.expiration_date().expect("expiry").secs()
        - invitation.invitation_date().expect("sent").secs();
    assert_eq!(waits, 2 * 3600);

    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().ok().flatten().is_none() {
        assert!(
            Instant::now() < deadline,
            "the sandbox did not stop on SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let logs = reader.join().expect("reader");
    let calls: Vec<&String> = logs
        .iter()
        .filter(|l| l.contains("partner central call"))
        .collect();
    assert_eq!(calls.len(), 4, "one debug line per call: {logs:#?}");
    // Create and Get carry sensitive members (the task's call carries none).
    assert!(
        calls[..2]
            .iter()
            .all(|l| l.contains("*** Sensitive Data Redacted ***"))
    );
    assert!(
        calls[0].contains("Software and Internet") || calls[0].contains("Retail"),
        "non-sensitive members stay readable"
    );
    for line in &logs {
        for secret in [
            secret_company,
            "ceo@confidential-widgets.example",
            "Quinn",
            "Signature=",
            "wJalrXUtnFEMI",
        ] {
            assert!(!line.contains(secret), "{secret} leaked: {line}");
        }
    }
}
