//! The task roles of `deploy/aws/ace-sync.yaml` grant exactly what the code calls, on exactly
//! the resources it calls it on.
//!
//! How the needed permissions are derived, so a new SDK call without a permission fails here:
//!
//! 1. **Operations.** The SDK crates' own operation modules (`src/operation/<name>.rs` of
//!    `aws-sdk-sqs` and `aws-sdk-partnercentralselling`, found with `cargo metadata`) give every
//!    operation's fluent-builder method (`send_message_batch`) and name (`SendMessageBatch`).
//!    The product's sources (`src/**/*.rs`, `#[cfg(test)]` modules left out) are scanned for
//!    calls of those methods with no argument (`.send_message_batch()`), which is how the
//!    fluent builders start.
//! 2. **Actions.** An operation's IAM action is its name under the service's prefix:
//!    `sqs:` and `partnercentral:` (the prefix of Partner Central Selling in AWS's Service
//!    Authorization Reference, "Actions, resources, and condition keys for AWS Partner Central
//!    Selling", and the `arnNamespace` of its Smithy model). Two corrections from AWS's
//!    documentation: SQS's batch operations are authorized by their single-message actions
//!    (SQS Developer Guide, "Amazon SQS batch actions"), and some Partner Central operations
//!    also need the actions AWS lists as their `requiredActions` (the `aws.iam#iamAction`
//!    trait of the service's Smithy model, `aws/api-models-aws`), in [`REQUIRED_ACTIONS`];
//!    every Partner Central operation the code calls must have an entry there, so each new one
//!    is looked up.
//! 3. **Roles.** Partner Central is the worker's (and no file under `src/ingress` may call
//!    it), except what the API reads: the ingress role serves the API (`src/api`), whose
//!    read-only client (`src/api/read_only.rs`) forwards some port methods to the adapter;
//!    the operations those methods' bodies in `src/adapters/partner_central` start are the
//!    ingress's too. An SQS operation belongs to a side of the queue: sending to the roles
//!    whose modules (`src/ingress` and `src/api` for the ingress, `src/worker`) use the
//!    `JobQueue` port, receiving, deleting and changing visibility to those that use
//!    `JobSource`, and `GetQueueAttributes` to every role, because every role serves
//!    `/health/ready`, which asks the changes queue. An SQS operation in no side fails the test
//!    until it is given one.
//! 4. **Resources.** Sending touches the changes and the bulk queues (a mass update goes to the
//!    bulk queue, a bulk reconcile's check-again stays there); the readiness check touches the
//!    changes queue; consuming touches the changes, the events and the bulk queues, and their
//!    dead-letter queues (reading the redrive policy, finding the dead-letter queue, parking a
//!    message there: `src/adapters/sqs/redrive.rs`); Partner Central actions are allowed on
//!    `*` only under a `partnercentral:Catalog` condition bound to the stack's `Catalog`.
//! 5. **DynamoDB** (`aws-sdk-dynamodb`, prefix `dynamodb:`): the shared write quota is the
//!    worker's, on the quota table only.
//!
//! The template must grant that and nothing more: no wildcard action, no other action, no
//! other resource. The one addition that is not ace-sync's own code is the metrics collector
//! beside the worker, whose log-writing actions are allowed on its log group only.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use regex::Regex;
use serde_json::{Value, json};

use super::support::{read_deploy, repository, run_ok};
use super::yaml;

/// Partner Central operations and the further actions AWS requires for them (Smithy model,
/// `aws.iam#iamAction.requiredActions`); an empty list where AWS lists none.
const REQUIRED_ACTIONS: &[(&str, &[&str])] = &[
    ("AssociateOpportunity", &[]),
    ("CreateOpportunity", &[]),
    ("DisassociateOpportunity", &[]),
    ("GetAwsOpportunitySummary", &[]),
    ("GetEngagementInvitation", &[]),
    ("GetOpportunity", &[]),
    ("ListEngagementByAcceptingInvitationTasks", &[]),
    ("ListEngagementFromOpportunityTasks", &[]),
    ("ListEngagementInvitations", &[]),
    ("ListOpportunities", &[]),
    ("ListSolutions", &[]),
    ("RejectEngagementInvitation", &[]),
    (
        "StartEngagementByAcceptingInvitationTask",
        &[
            "CreateOpportunity",
            "SubmitOpportunity",
            "GetEngagementInvitation",
            "AcceptEngagementInvitation",
            "CreateResourceSnapshotJob",
            "StartResourceSnapshotJob",
        ],
    ),
    (
        "StartEngagementFromOpportunityTask",
        &[
            "CreateEngagement",
            "SubmitOpportunity",
            "GetOpportunity",
            "CreateResourceSnapshotJob",
            "CreateEngagementInvitation",
            "StartResourceSnapshotJob",
        ],
    ),
    ("SubmitOpportunity", &[]),
    ("UpdateOpportunity", &[]),
];

/// What the collector beside the worker needs (deploy/aws/ace-sync.yaml, metrics-collector).
const METRICS_COLLECTOR_ACTIONS: &[&str] = &[
    "logs:CreateLogStream",
    "logs:DescribeLogStreams",
    "logs:PutLogEvents",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Role {
    Ingress,
    Worker,
}

/// The template's task role of each role.
const TASK_ROLES: &[(Role, &str)] = &[
    (Role::Ingress, "IngressTaskRole"),
    (Role::Worker, "WorkerTaskRole"),
];

/// Where a permission applies: a resource of the template, or `*` under the catalog condition.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Scope {
    Resource(String),
    AnyInCatalog,
}

type Grants = BTreeMap<Role, BTreeMap<String, BTreeSet<Scope>>>;

/// `(method, Name)` of every operation of an SDK crate.
fn sdk_operations(package: &str) -> BTreeMap<String, String> {
    let host = String::from_utf8(run_ok(Command::new("rustc").arg("-vV")).stdout).unwrap();
    let host = host
        .lines()
        .find_map(|line| line.strip_prefix("host: "))
        .expect("rustc -vV names the host");
    let metadata = run_ok(
        Command::new(env!("CARGO"))
            .current_dir(repository())
            .args(["metadata", "--format-version", "1", "--locked", "--offline"])
            .args(["--filter-platform", host]),
    );
    let metadata: Value = serde_json::from_slice(&metadata.stdout).expect("cargo metadata JSON");
    let manifest = metadata["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == package)
        .and_then(|p| p["manifest_path"].as_str())
        .unwrap_or_else(|| panic!("{package} is not a dependency"));
    let dir = Path::new(manifest).parent().unwrap().join("src/operation");
    let declaration = Regex::new(r"(?m)^pub struct ([A-Z][A-Za-z0-9]*);").unwrap();
    let mut operations = BTreeMap::new();
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).unwrap();
            if let Some(name) = declaration.captures(&text) {
                let method = path.file_stem().unwrap().to_str().unwrap().to_owned();
                operations.insert(method, name[1].to_owned());
            }
        }
    }
    assert!(
        operations.len() > 5,
        "no operations found in {}",
        dir.display()
    );
    operations
}

/// The product's Rust sources, relative to the repository, without their test modules.
fn product_sources() -> Vec<(String, String)> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let root = repository();
    let mut files = Vec::new();
    walk(&root.join("src"), &mut files);
    let test_module = Regex::new(r"(?m)^#\[cfg\(test\)\]\s*\n\s*mod ").unwrap();
    files
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).unwrap();
            let text = match test_module.find(&text) {
                Some(found) => text[..found.start()].to_owned(),
                None => text,
            };
            let relative = path
                .strip_prefix(&root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            (relative, text)
        })
        .collect()
}

/// The operations of `operations` that `text` starts a fluent builder for.
fn called(text: &str, operations: &BTreeMap<String, String>) -> BTreeSet<String> {
    let call = Regex::new(r"\.\s*([a-z][a-z0-9_]*)\(\s*\)").unwrap();
    call.captures_iter(text)
        .filter_map(|c| operations.get(&c[1]).cloned())
        .collect()
}

fn add(grants: &mut Grants, roles: &[Role], action: String, scopes: &[Scope]) {
    for role in roles {
        grants
            .entry(*role)
            .or_default()
            .entry(action.clone())
            .or_default()
            .extend(scopes.iter().cloned());
    }
}

fn queue(name: &str) -> Scope {
    Scope::Resource(name.to_owned())
}

/// What the code needs, per role (see the module doc).
fn needed() -> Grants {
    let sources = product_sources();
    let sqs = sdk_operations("aws-sdk-sqs");
    let partner_central = sdk_operations("aws-sdk-partnercentralselling");
    let dynamodb = sdk_operations("aws-sdk-dynamodb");
    let uses = |dir: &str, port: &str| {
        sources
            .iter()
            .any(|(path, text)| path.starts_with(dir) && text.contains(port))
    };
    let sides = |port: &str| -> Vec<Role> {
        let mut roles: Vec<Role> = [
            (Role::Ingress, "src/ingress/"),
            (Role::Ingress, "src/api/"),
            (Role::Worker, "src/worker/"),
        ]
        .into_iter()
        .filter(|(_, dir)| uses(dir, port))
        .map(|(role, _)| role)
        .collect();
        roles.dedup();
        roles
    };
    let (senders, consumers) = (sides("JobQueue"), sides("JobSource"));
    assert!(senders.contains(&Role::Ingress) && consumers.contains(&Role::Worker));

    let mut grants = Grants::new();
    let mut partner_central_calls = BTreeSet::new();
    for (path, text) in &sources {
        let pc = called(text, &partner_central);
        assert!(
            pc.is_empty() || !path.starts_with("src/ingress/"),
            "{path} calls Partner Central ({pc:?}); only the worker may"
        );
        partner_central_calls.extend(pc);
        let quota = called(text, &dynamodb);
        assert!(
            quota.is_empty() || !path.starts_with("src/ingress/"),
            "{path} calls DynamoDB ({quota:?}); only the worker spends the write quota"
        );
        for operation in quota {
            add(
                &mut grants,
                &[Role::Worker],
                format!("dynamodb:{operation}"),
                &[queue("QuotaTable")],
            );
        }
        for operation in called(text, &sqs) {
            let action = format!("sqs:{}", operation.trim_end_matches("Batch"));
            // The dead-letter side of a consumed queue: its redrive policy, and parking a
            // message there with its reason (the workers, on a message's last receive).
            if path.ends_with("adapters/sqs/redrive.rs") {
                let (queues, dead_letters) = (
                    [
                        queue("ChangesQueue"),
                        queue("EventsQueue"),
                        queue("BulkQueue"),
                    ],
                    [
                        queue("ChangesDeadLetterQueue"),
                        queue("EventsDeadLetterQueue"),
                        queue("BulkDeadLetterQueue"),
                    ],
                );
                match operation.as_str() {
                    "GetQueueAttributes" => add(&mut grants, &consumers, action, &queues),
                    "GetQueueUrl" | "SendMessage" => {
                        add(&mut grants, &consumers, action, &dead_letters)
                    }
                    other => panic!(
                        "{path} calls SQS {other}, which this test gives no role yet: add it to a side in tests/api/deploy/iam.rs and to the template"
                    ),
                }
                continue;
            }
            match operation.as_str() {
                "SendMessage" | "SendMessageBatch" => add(
                    &mut grants,
                    &senders,
                    action,
                    &[queue("ChangesQueue"), queue("BulkQueue")],
                ),
                "ReceiveMessage"
                | "DeleteMessage"
                | "DeleteMessageBatch"
                | "ChangeMessageVisibility"
                | "ChangeMessageVisibilityBatch" => add(
                    &mut grants,
                    &consumers,
                    action,
                    &[
                        queue("ChangesQueue"),
                        queue("EventsQueue"),
                        queue("BulkQueue"),
                    ],
                ),
                "GetQueueAttributes" => add(
                    &mut grants,
                    &[Role::Ingress, Role::Worker],
                    action,
                    &[queue("ChangesQueue")],
                ),
                other => panic!(
                    "{path} calls SQS {other}, which this test gives no role yet: add it to a side in tests/api/deploy/iam.rs and to the template"
                ),
            }
        }
    }
    assert!(
        !partner_central_calls.is_empty(),
        "no Partner Central call found"
    );
    let api_reads = api_operations(&sources, &partner_central);
    assert!(
        !api_reads.is_empty() && api_reads.is_subset(&partner_central_calls),
        "the API reads {api_reads:?}"
    );
    let roles_of = |operation: &str| -> Vec<Role> {
        if api_reads.contains(operation) {
            vec![Role::Ingress, Role::Worker]
        } else {
            vec![Role::Worker]
        }
    };
    for operation in partner_central_calls {
        let (_, required) = REQUIRED_ACTIONS
            .iter()
            .find(|(name, _)| *name == operation)
            .unwrap_or_else(|| {
                panic!("look up {operation}'s requiredActions in AWS's Smithy model and add it to REQUIRED_ACTIONS")
            });
        for action in std::iter::once(operation.as_str()).chain(required.iter().copied()) {
            add(
                &mut grants,
                &roles_of(&operation),
                format!("partnercentral:{action}"),
                &[Scope::AnyInCatalog],
            );
        }
    }
    grants
}

/// The Partner Central operations the API can call: the port methods its read-only client
/// forwards (`self.0.<method>(` in `impl PartnerCentral for ReadOnlyAce`), and the SDK
/// operations each of those methods' bodies in the adapter starts, directly or through the
/// adapter's own methods they call.
fn api_operations(
    sources: &[(String, String)],
    operations: &BTreeMap<String, String>,
) -> BTreeSet<String> {
    let read_only = &sources
        .iter()
        .find(|(path, _)| path == "src/api/read_only.rs")
        .expect("src/api/read_only.rs")
        .1;
    let start = read_only
        .find("impl PartnerCentral for ReadOnlyAce")
        .expect("the read-only Partner Central client");
    let block = &read_only[start..];
    let block = &block[..block.find("\n}\n").unwrap_or(block.len())];
    let forwarded: BTreeSet<String> = Regex::new(r"self\.0\.([a-z_]+)\(")
        .unwrap()
        .captures_iter(block)
        .map(|c| c[1].to_owned())
        .collect();
    assert!(
        !forwarded.is_empty(),
        "the read-only client forwards nothing"
    );
    // Every method of the adapter, by name, with its body (to the next method).
    let method = Regex::new(r"async fn ([a-z_]+)\(").unwrap();
    let mut bodies: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for (path, text) in sources {
        if !path.starts_with("src/adapters/partner_central/") {
            continue;
        }
        let starts: Vec<(usize, String)> = method
            .captures_iter(text)
            .map(|c| (c.get(0).unwrap().start(), c[1].to_owned()))
            .collect();
        for (i, (at, name)) in starts.iter().enumerate() {
            let end = starts.get(i + 1).map_or(text.len(), |(next, _)| *next);
            bodies
                .entry(name.clone())
                .or_default()
                .push(&text[*at..end]);
        }
    }
    // The forwarded methods, and the adapter's own methods they call (`self.list_pages(`).
    let helper = Regex::new(r"self\.([a-z_]+)\(").unwrap();
    let mut todo: Vec<String> = forwarded.into_iter().collect();
    let mut visited = BTreeSet::new();
    let mut found = BTreeSet::new();
    while let Some(name) = todo.pop() {
        if !visited.insert(name.clone()) {
            continue;
        }
        for body in bodies.get(&name).into_iter().flatten() {
            found.extend(called(body, operations));
            todo.extend(helper.captures_iter(body).map(|c| c[1].to_owned()));
        }
    }
    found
}

fn as_list(value: &Value) -> Vec<Value> {
    match value {
        Value::Array(items) => items.clone(),
        Value::Null => Vec::new(),
        one => vec![one.clone()],
    }
}

/// What one task role of the template grants.
fn granted(template: &Value, logical_id: &str) -> BTreeMap<String, BTreeSet<Scope>> {
    let role = &template["Resources"][logical_id];
    assert_eq!(role["Type"], "AWS::IAM::Role", "{logical_id}");
    assert!(
        role["Properties"]["ManagedPolicyArns"].is_null(),
        "{logical_id}: a managed policy cannot be checked; write the statements out"
    );
    let mut grants: BTreeMap<String, BTreeSet<Scope>> = BTreeMap::new();
    for policy in as_list(&role["Properties"]["Policies"]) {
        for statement in as_list(&policy["PolicyDocument"]["Statement"]) {
            assert_eq!(statement["Effect"], "Allow", "{statement}");
            assert!(statement["NotAction"].is_null() && statement["NotResource"].is_null());
            let actions = as_list(&statement["Action"]);
            let resources = as_list(&statement["Resource"]);
            for action in &actions {
                let action = action.as_str().expect("a literal action").to_owned();
                assert!(
                    !action.contains('*'),
                    "{logical_id}: wildcard action {action}"
                );
                for resource in &resources {
                    let scope = match resource {
                        Value::String(s) if s == "*" => {
                            assert_eq!(
                                statement["Condition"],
                                json!({"StringEquals": {"partnercentral:Catalog": {"Ref": "Catalog"}}}),
                                "{logical_id}: {action} on * must be limited to the stack's catalog"
                            );
                            Scope::AnyInCatalog
                        }
                        other => match other["Fn::GetAtt"].as_array() {
                            Some(pair) if pair[1] == "Arn" => {
                                Scope::Resource(pair[0].as_str().unwrap().to_owned())
                            }
                            _ => panic!(
                                "{logical_id}: {action} on {other}, not a resource of the stack"
                            ),
                        },
                    };
                    grants.entry(action.clone()).or_default().insert(scope);
                }
            }
        }
    }
    grants
}

#[test]
fn each_task_role_grants_exactly_what_the_code_calls() {
    let template = yaml::document(&read_deploy("aws/ace-sync.yaml"));
    let mut needed = needed();
    for action in METRICS_COLLECTOR_ACTIONS {
        add(
            &mut needed,
            &[Role::Worker],
            (*action).to_owned(),
            &[queue("MetricsLogGroup")],
        );
    }
    for (role, logical_id) in TASK_ROLES {
        let granted = granted(&template, logical_id);
        let needed = needed.remove(role).unwrap_or_default();
        let missing: Vec<_> = needed
            .keys()
            .filter(|a| !granted.contains_key(*a))
            .collect();
        let extra: Vec<_> = granted
            .keys()
            .filter(|a| !needed.contains_key(*a))
            .collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "{logical_id}: missing {missing:?}, not needed {extra:?}"
        );
        for (action, scopes) in &needed {
            assert_eq!(
                &granted[action], scopes,
                "{logical_id}: {action} is granted on other resources than it needs"
            );
        }
    }
}

#[test]
fn the_execution_role_reads_only_the_stacks_secrets() {
    let template = yaml::document(&read_deploy("aws/ace-sync.yaml"));
    let role = &template["Resources"]["TaskExecutionRole"]["Properties"];
    let statements: Vec<Value> = as_list(&role["Policies"])
        .iter()
        .flat_map(|p| as_list(&p["PolicyDocument"]["Statement"]))
        .collect();
    assert_eq!(statements.len(), 1, "{statements:?}");
    assert_eq!(statements[0]["Action"], "secretsmanager:GetSecretValue");
    assert_eq!(
        statements[0]["Resource"],
        json!([
            {"Ref": "SalesforcePrivateKeySecret"},
            {"Ref": "SharedSecret"},
            {"Ref": "ApiCheckKeySecret"},
            {"Ref": "ApiSyncKeySecret"},
            {"Fn::If": ["HasMapping", {"Ref": "MappingSecretArn"}, {"Ref": "AWS::NoValue"}]}
        ])
    );
}

#[test]
fn the_readme_lists_the_permissions_the_code_needs() {
    let readme = std::fs::read_to_string(repository().join("README.md")).unwrap();
    let section = readme
        .split_once("Permissions, per role")
        .map(|(_, rest)| rest.split("\n## ").next().unwrap_or(rest))
        .expect("the README's permissions list");
    for (_, actions) in needed() {
        for action in actions.keys() {
            assert!(
                section.contains(&format!("`{action}`")),
                "the README does not list {action}"
            );
        }
    }
}
