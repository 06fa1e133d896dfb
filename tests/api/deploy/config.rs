//! Configuration fit for containers, on the real `ace-sync` binary: the mapping and the
//! Salesforce key given as text (a ConfigMap or a secret in an environment variable) as well as
//! files; `config check` loads and validates both, reports every problem at once and names the
//! variable actually set; start refuses what the check reports; and settings still at their
//! demo defaults are warned about by both.

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use ace_sync::ace::mapping::DEFAULT_MAPPING;
use ace_sync_sandbox::salesforce::KeyPair;

use super::support::{Scratch, ace_sync, printed};

/// The Salesforce client settings of a worker, with the key given by `key` (a pair).
fn client<'a>(key: (&'a str, &'a str)) -> Vec<(&'a str, &'a str)> {
    vec![
        ("ACE_SYNC_SALESFORCE__CONSUMER_KEY", "3MVG9.test"),
        ("ACE_SYNC_SALESFORCE__USERNAME", "ace-sync@acme.example"),
        ("ACE_SYNC_SALESFORCE__ORG_IDS", "[\"00D000000000001EAA\"]"),
        key,
    ]
}

/// The demo's org id, which `config check` and start warn about.
const DEMO_ORG: &str = "[\"00D5g00000ABCdeEAH\"]";

/// An SQS queue URL (nothing is called at start or in the check).
const QUEUE: &str = "https://sqs.us-east-1.amazonaws.com/123456789012/ace-sync-changes.fifo";

fn check(env: &[(&str, &str)]) -> std::process::Output {
    ace_sync(&["config", "check"], env)
        .output()
        .expect("run ace-sync config check")
}

#[test]
fn every_problem_is_reported_at_once_naming_the_variable_set() {
    let output = check(&[
        ("ACE_SYNC_FOO__BAR", "1"),
        ("ACE_SYNC_HTTP__PORT", "eighty"),
        ("ACE_SYNC_WORKER__CONCURRENCY", "0"),
        ("ACE_SYNC_INGRESS__SHARED_SECRET", "short"),
    ]);
    assert_eq!(output.status.code(), Some(2), "{}", printed(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    for expected in [
        "unknown key `foo` (from environment variable ACE_SYNC_FOO__BAR)",
        "key `http.port`: invalid type: found string \"eighty\", expected u16 (from environment variable ACE_SYNC_HTTP__PORT)",
        "key `worker.concurrency`: expected 1 to 1000, found 0 (from environment variable ACE_SYNC_WORKER__CONCURRENCY)",
        "key `ingress.shared_secret`: use at least 16 characters",
    ] {
        assert!(
            stderr.contains(expected),
            "missing {expected:?} in:\n{stderr}"
        );
    }
    assert!(
        !stderr.contains("\"short\""),
        "the secret is not echoed: {stderr}"
    );
}

#[test]
fn the_key_and_the_mapping_files_are_loaded_and_validated() {
    let dir = Scratch::new("config-files");
    let not_a_key = dir.write(
        "not-a-key.pem",
        "-----BEGIN PRIVATE KEY-----\nc2VjcmV0aXNo\n-----END PRIVATE KEY-----\n",
    );
    let wrong_stage = DEFAULT_MAPPING.replace(
        "create_at = \"Qualification\"",
        "create_at = \"Qualifcation\"",
    );
    assert_ne!(
        wrong_stage, DEFAULT_MAPPING,
        "the default mapping changed shape"
    );
    let mapping = dir.write("mapping.toml", &wrong_stage);
    let missing = dir.path().join("missing.pem");

    // A key file that is not an RSA key, and a mapping that names no stage of its own.
    let mut env = client((
        "ACE_SYNC_SALESFORCE__PRIVATE_KEY_PATH",
        not_a_key.to_str().unwrap(),
    ));
    env.push(("ACE_SYNC_ACE__MAPPING_FILE", mapping.to_str().unwrap()));
    let output = check(&env);
    assert_eq!(output.status.code(), Some(2), "{}", printed(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("key `salesforce.private_key_path`: not an RSA private key"),
        "{stderr}"
    );
    assert!(
        stderr.contains("key `ace.mapping_file`: [trigger] create_at: \"Qualifcation\""),
        "{stderr}"
    );
    assert!(
        !stderr.contains("c2VjcmV0aXNo"),
        "the key is never printed: {stderr}"
    );

    // Files that are not there.
    let env = [
        client((
            "ACE_SYNC_SALESFORCE__PRIVATE_KEY_PATH",
            missing.to_str().unwrap(),
        )),
        vec![("ACE_SYNC_ACE__MAPPING_FILE", "/nonexistent/mapping.toml")],
    ]
    .concat();
    let output = check(&env);
    assert_eq!(output.status.code(), Some(2), "{}", printed(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("cannot read"), "{stderr}");
    assert!(stderr.contains("missing.pem"), "{stderr}");
    assert!(stderr.contains("/nonexistent/mapping.toml"), "{stderr}");

    // A worker with no Salesforce client at all.
    let output = ace_sync(&["config", "check", "--role", "work"], &[])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", printed(&output));
    assert!(printed(&output).contains("the workers need a Salesforce client"));
}

#[test]
fn the_mapping_and_the_key_can_be_given_as_text() {
    let keys = KeyPair::generate().expect("an RSA key");
    let mapping = DEFAULT_MAPPING.replace(
        "description = \"Standard Salesforce org to ACE (ace-sync default)\"",
        "description = \"Acme's mapping, from a ConfigMap\"",
    );
    let mut env = client((
        "ACE_SYNC_SALESFORCE__PRIVATE_KEY",
        keys.private_pem().expose(),
    ));
    env.push(("ACE_SYNC_ACE__MAPPING", &mapping));
    let output = check(&env);
    assert_eq!(output.status.code(), Some(0), "{}", printed(&output));
    assert!(printed(&output).contains("configuration is valid"));

    // The same text, broken, is checked like a file.
    let broken = mapping.replace("[trigger]", "[triggers]");
    let mut env = client((
        "ACE_SYNC_SALESFORCE__PRIVATE_KEY",
        keys.private_pem().expose(),
    ));
    env.push(("ACE_SYNC_ACE__MAPPING", &broken));
    let output = check(&env);
    assert_eq!(output.status.code(), Some(2), "{}", printed(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("key `ace.mapping`:"), "{stderr}");
    assert!(stderr.contains("triggers"), "{stderr}");

    // Both forms at once are ambiguous.
    let mut env = client((
        "ACE_SYNC_SALESFORCE__PRIVATE_KEY",
        keys.private_pem().expose(),
    ));
    env.push(("ACE_SYNC_ACE__MAPPING", &mapping));
    env.push(("ACE_SYNC_ACE__MAPPING_FILE", "/etc/ace-sync/mapping.toml"));
    let output = check(&env);
    assert_eq!(output.status.code(), Some(2), "{}", printed(&output));
    assert!(printed(&output).contains("give one, not both"));
}

#[test]
fn start_refuses_what_the_check_reports() {
    let keys = KeyPair::generate().expect("an RSA key");
    let broken = DEFAULT_MAPPING.replace("ace = \"Project.Title\"", "ace = \"Project.Titel\"");
    let mut env = client((
        "ACE_SYNC_SALESFORCE__PRIVATE_KEY",
        keys.private_pem().expose(),
    ));
    env.push(("ACE_SYNC_ACE__MAPPING", &broken));
    env.push(("ACE_SYNC_HTTP__PORT", "0"));
    env.push(("ACE_SYNC_QUEUE__CHANGES_QUEUE_URL", QUEUE));
    let checked = check(&env);
    assert_eq!(checked.status.code(), Some(2), "{}", printed(&checked));
    let problem = "Project.Titel";
    assert!(printed(&checked).contains(problem), "{}", printed(&checked));

    let started = ace_sync(&["work"], &env)
        .output()
        .expect("run ace-sync work");
    assert_eq!(started.status.code(), Some(1), "{}", printed(&started));
    let stderr = String::from_utf8_lossy(&started.stderr);
    assert!(stderr.contains("the mapping cannot be used"), "{stderr}");
    assert!(stderr.contains(problem), "{stderr}");
}

#[test]
fn demo_defaults_are_reported_by_the_check() {
    let output = check(&[
        ("ACE_SYNC_SALESFORCE__ORG_IDS", DEMO_ORG),
        ("ACE_SYNC_QUEUE__CHANGES_QUEUE_URL", QUEUE),
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", printed(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    for key in ["salesforce.org_ids", "ingress.shared_secret"] {
        assert!(
            stdout.contains(&format!("warning: `{key}`")),
            "{key}: {stdout}"
        );
    }
    let keys = KeyPair::generate().expect("an RSA key");
    let worker = client((
        "ACE_SYNC_SALESFORCE__PRIVATE_KEY",
        keys.private_pem().expose(),
    ));
    // `all` (a Salesforce client is configured) may use the in-memory queue, with a warning.
    let output = check(&worker);
    for warning in [
        "warning: `ace.catalog` is `Sandbox`",
        "warning: `queue.changes_queue_url` is unset",
    ] {
        assert!(
            String::from_utf8_lossy(&output.stdout).contains(warning),
            "{}",
            printed(&output)
        );
    }

    // Production values: no warning left.
    let production = [
        worker,
        vec![
            ("ACE_SYNC_ACE__CATALOG", "AWS"),
            ("ACE_SYNC_ACE__SOLUTION_IDS", "[\"S-0000001\"]"),
            (
                "ACE_SYNC_INGRESS__SHARED_SECRET",
                "0123456789abcdef-long-enough",
            ),
            ("ACE_SYNC_QUEUE__CHANGES_QUEUE_URL", QUEUE),
        ],
    ]
    .concat();
    let output = check(&production);
    assert_eq!(output.status.code(), Some(0), "{}", printed(&output));
    assert!(
        !printed(&output).contains("warning:"),
        "{}",
        printed(&output)
    );
}

#[test]
fn demo_defaults_are_logged_as_warnings_at_start() {
    let mut child = ace_sync(
        &["serve"],
        &[
            ("ACE_SYNC_HTTP__PORT", "0"),
            ("ACE_SYNC_TELEMETRY__FORMAT", "json"),
            ("ACE_SYNC_SALESFORCE__ORG_IDS", DEMO_ORG),
            ("ACE_SYNC_QUEUE__CHANGES_QUEUE_URL", QUEUE),
        ],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::null())
    .spawn()
    .expect("start ace-sync serve");
    let stdout = child.stdout.take().expect("stdout");
    let (lines, received) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    // Read the log until the server says it listens (or a generous deadline passes).
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut log = Vec::new();
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match received.recv_timeout(left) {
            Ok(line) => {
                let listening = line.contains("ingress listening");
                log.push(line);
                if listening {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    child.kill().expect("stop ace-sync serve");
    let _ = child.wait();
    let warnings: Vec<&String> = log
        .iter()
        .filter(|line| line.contains("\"level\":\"WARN\"") && line.contains("demo default"))
        .collect();
    assert!(
        log.iter().any(|line| line.contains("ingress listening")),
        "the ingress never said it listens: {log:#?}"
    );
    for key in ["salesforce.org_ids", "ingress.shared_secret"] {
        assert!(
            warnings.iter().any(|line| line.contains(key)),
            "no warning about {key}: {log:#?}"
        );
    }
}
