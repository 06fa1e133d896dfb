//! `deploy/aws/ace-sync.yaml`: cfn-lint passes on it, and what the code relies on holds —
//! the changes queue is FIFO without content-based deduplication, Partner Central's events reach
//! the events queue only through the stack's rule, every container stops later than ace-sync's
//! shutdown grace and has a health check, and the settings given to the containers load.

use std::process::Command;
use std::time::Duration;

use ace_sync::config::Settings;
use serde_json::{Value, json};

use super::support::{read_deploy, repository, run_ok, venv_tool};
use super::yaml;

fn template() -> Value {
    yaml::document(&read_deploy("aws/ace-sync.yaml"))
}

fn resource<'a>(template: &'a Value, logical_id: &str) -> &'a Value {
    let found = &template["Resources"][logical_id];
    assert!(!found.is_null(), "no resource {logical_id}");
    &found["Properties"]
}

#[test]
fn cfn_lint_passes() {
    run_ok(
        Command::new(venv_tool("cfn-lint"))
            .current_dir(repository())
            .arg("deploy/aws/ace-sync.yaml"),
    );
}

#[test]
fn the_queues_are_what_ingress_and_workers_expect() {
    let template = template();
    let changes = resource(&template, "ChangesQueue");
    assert_eq!(changes["FifoQueue"], true);
    assert_eq!(
        changes["ContentBasedDeduplication"], false,
        "ace-sync sets deduplication ids"
    );
    assert_eq!(
        changes["RedrivePolicy"]["deadLetterTargetArn"],
        json!({"Fn::GetAtt": ["ChangesDeadLetterQueue", "Arn"]})
    );
    assert_eq!(
        resource(&template, "ChangesDeadLetterQueue")["FifoQueue"],
        true
    );
    assert_eq!(
        resource(&template, "EventsQueue")["RedrivePolicy"]["deadLetterTargetArn"],
        json!({"Fn::GetAtt": ["EventsDeadLetterQueue", "Arn"]})
    );
}

#[test]
fn partner_central_events_reach_the_events_queue_through_the_rule_alone() {
    let template = template();
    let rule = resource(&template, "PartnerCentralEventsRule");
    assert_eq!(
        rule["EventPattern"],
        json!({"source": ["aws.partnercentral-selling"], "detail": {"catalog": [{"Ref": "Catalog"}]}})
    );
    assert_eq!(
        rule["Targets"][0]["Arn"],
        json!({"Fn::GetAtt": ["EventsQueue", "Arn"]})
    );
    let policy = resource(&template, "EventsQueuePolicy");
    let statement = &policy["PolicyDocument"]["Statement"][0];
    assert_eq!(
        statement["Principal"],
        json!({"Service": "events.amazonaws.com"})
    );
    assert_eq!(statement["Action"], "sqs:SendMessage");
    assert_eq!(
        statement["Condition"],
        json!({"ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": ["PartnerCentralEventsRule", "Arn"]}}})
    );
    let region = &template["Rules"]["PartnerCentralRegion"]["Assertions"][0]["Assert"];
    assert_eq!(
        region,
        &json!({"Fn::Equals": [{"Ref": "AWS::Region"}, "us-east-1"]})
    );
}

/// The literal environment of a container definition, as TOML-free `(name, value)` pairs.
fn environment(container: &Value) -> Vec<(String, String)> {
    container["Environment"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| {
            Some((
                e["Name"].as_str()?.to_owned(),
                e["Value"].as_str()?.to_owned(),
            ))
        })
        .collect()
}

#[test]
fn containers_stop_after_the_shutdown_grace_and_report_their_health() {
    let template = template();
    for task in ["IngressTaskDefinition", "WorkerTaskDefinition"] {
        let ace_sync = &resource(&template, task)["ContainerDefinitions"][0];
        let env = environment(ace_sync);
        let grace = env
            .iter()
            .find(|(name, _)| name == "ACE_SYNC_WORKER__SHUTDOWN_GRACE")
            .map(|(_, value)| humantime_serde::re::humantime::parse_duration(value).unwrap())
            .unwrap_or(Settings::defaults().worker.shutdown_grace);
        let stop = Duration::from_secs(ace_sync["StopTimeout"].as_u64().expect("a StopTimeout"));
        assert!(
            stop > grace,
            "{task}: StopTimeout {stop:?} is not above the grace {grace:?}"
        );
        assert!(
            stop <= Duration::from_secs(120),
            "{task}: Fargate allows at most 120 s"
        );
        // The ingress is healthy while it can queue (readiness); a worker while it runs
        // (liveness): one held up by a deployment problem must keep its messages, not be
        // replaced again and again.
        let expected = if task == "WorkerTaskDefinition" {
            json!([
                "CMD",
                "ace-sync",
                "healthcheck",
                "--url",
                "http://127.0.0.1:8080/health/live"
            ])
        } else {
            json!(["CMD", "ace-sync", "healthcheck"])
        };
        assert_eq!(ace_sync["HealthCheck"]["Command"], expected, "{task}");
        assert_eq!(ace_sync["ReadonlyRootFilesystem"], true, "{task}");
        // The literal settings load (the ones from parameters are the operator's to check).
        let overrides: Vec<String> = env
            .iter()
            .filter(|(name, _)| name == "ACE_SYNC_WORKER__SHUTDOWN_GRACE")
            .map(|(_, value)| format!("[worker]\nshutdown_grace = \"{value}\""))
            .collect();
        let layers: Vec<&str> = overrides.iter().map(String::as_str).collect();
        Settings::from_toml_layers(&layers).expect("the container's settings load");
    }
    let target_group = resource(&template, "IngressTargetGroup");
    assert_eq!(target_group["HealthCheckPath"], "/health/ready");
}
