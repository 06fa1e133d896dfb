//! `deploy/aws/ace-sync.yaml`: cfn-lint passes on it, and what the code relies on holds —
//! the changes queue is FIFO without content-based deduplication, Partner Central's events reach
//! the events queue only through the stack's rule, every container stops later than ace-sync's
//! shutdown grace and has a health check, the settings given to the containers load, and the
//! ingress serves the API with what it reads with and the keys that may call it.

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

/// Every variable a container gets, literal or from a secret (`Fn::If` branches included).
fn variable_names(container: &Value) -> Vec<String> {
    let mut names: Vec<String> = environment(container).into_iter().map(|(n, _)| n).collect();
    for secret in container["Secrets"].as_array().into_iter().flatten() {
        let secret = match secret["Fn::If"].as_array() {
            Some(branches) => &branches[1],
            None => secret,
        };
        names.extend(secret["Name"].as_str().map(str::to_owned));
    }
    names
}

#[test]
fn the_ingress_serves_the_api_with_the_clients_and_the_keys_it_needs() {
    let template = template();
    let ingress = &resource(&template, "IngressTaskDefinition")["ContainerDefinitions"][0];
    let worker = &resource(&template, "WorkerTaskDefinition")["ContainerDefinitions"][0];
    let env = environment(ingress);
    assert!(env.contains(&("ACE_SYNC_API__ENABLED".to_owned(), "true".to_owned())));
    let names = variable_names(ingress);
    // The API reads with the workers' Salesforce client, catalog and mapping.
    for name in variable_names(worker) {
        if name.starts_with("ACE_SYNC_SALESFORCE__") || name.starts_with("ACE_SYNC_ACE__") {
            assert!(names.contains(&name), "the ingress lacks {name}");
        }
    }
    // Each key's scopes come with its key, from a secret.
    let scoped: Vec<&str> = env
        .iter()
        .filter_map(|(name, _)| name.strip_suffix("__SCOPES"))
        .collect();
    assert_eq!(scoped.len(), 2, "{env:?}");
    for key in scoped {
        assert!(names.contains(&format!("{key}__KEY")), "{key} has no key");
    }
    let rule = resource(&template, "ApiRule");
    assert_eq!(
        rule["Conditions"][0]["PathPatternConfig"]["Values"],
        json!(["/api/v1/*"])
    );
    assert_eq!(
        rule["Actions"][0]["TargetGroupArn"],
        json!({"Ref": "IngressTargetGroup"})
    );
}
