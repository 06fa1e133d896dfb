//! The roles one binary runs: what a worker-only process serves, and what it refuses to
//! start without.

use std::process::Command;

use ace_sync::config::Settings;
use ace_sync::startup::{Application, Dependencies, QueueHandle, Role};
use ace_sync_sandbox::salesforce::{SalesforceSim, Seed, SimConfig};
use tokio_util::sync::CancellationToken;

#[tokio::test]
async fn a_worker_process_serves_health_and_metrics_but_takes_no_outbound_messages() {
    let sf = SalesforceSim::start(SimConfig::new(Seed::small()))
        .await
        .unwrap();
    let sf_settings = sf.settings_toml();
    let settings = Settings::from_toml_layers(&[
        "[http]\nport = 0\nworkers = 1\n[ace]\nendpoint_url = \"http://127.0.0.1:9\"\n",
        &sf_settings,
    ])
    .unwrap();
    // The test hands in the queue (a worker process would take an SQS queue URL).
    let queue = QueueHandle::memory(&settings.queue, "worker-role");
    let app = Application::build_with(
        settings,
        Role::Work,
        Dependencies {
            changes: Some(QueueHandle::Memory(queue)),
            ..Dependencies::default()
        },
    )
    .await
    .expect("worker");
    assert_eq!(
        app.workers().len(),
        1,
        "the changes worker; no events queue is configured"
    );
    let base = format!("http://127.0.0.1:{}", app.port());
    let shutdown = CancellationToken::new();
    let running = tokio::spawn(app.run_until_stopped(shutdown.clone()));

    let http = reqwest::Client::new();
    assert_eq!(
        http.get(format!("{base}/health/live"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        http.get(format!("{base}/health/ready"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let metrics = http
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    // The worker's own figures are registered (families appear once they have samples).
    assert!(
        metrics.contains("# TYPE ace_sync_submission_lag_seconds histogram"),
        "{metrics}"
    );
    assert!(
        metrics.contains("# TYPE ace_sync_salesforce_api_usage gauge"),
        "{metrics}"
    );
    let post = http
        .post(format!("{base}/salesforce/outbound-message"))
        .header("content-type", "text/xml")
        .body(ace_sync::ingress::samples::SINGLE)
        .send()
        .await
        .unwrap();
    assert_eq!(
        post.status(),
        404,
        "only the ingress takes outbound messages"
    );

    shutdown.cancel();
    running.await.unwrap().unwrap();
}

const QUEUE: &str = "https://sqs.us-east-1.amazonaws.com/123456789012/ace-sync-changes.fifo";
const ORG: &str = "[\"00D5g00000ABCdeEAH\"]";

/// `ace-sync ROLE` with nothing but `env` (and no environment of the caller's).
fn start(role: &str, env: &[(&str, &str)]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_ace-sync"))
        .arg(role)
        .env_clear()
        .env("ACE_SYNC_HTTP__PORT", "0")
        .envs(env.iter().copied())
        .output()
        .expect("run ace-sync")
}

#[test]
fn serve_and_work_refuse_the_in_memory_queue_and_say_what_to_set() {
    for role in ["serve", "work"] {
        let output = start(role, &[("ACE_SYNC_SALESFORCE__ORG_IDS", ORG)]);
        assert_eq!(output.status.code(), Some(1), "{role}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("key `queue.changes_queue_url` (ACE_SYNC_QUEUE__CHANGES_QUEUE_URL)")
                && stderr.contains("in-memory queue"),
            "{role}: {stderr}"
        );
    }
    // And the org is not assumed: there is no default one.
    let output = start("serve", &[("ACE_SYNC_QUEUE__CHANGES_QUEUE_URL", QUEUE)]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("key `salesforce.org_ids`"), "{stderr}");
}

#[test]
fn an_ingress_reachable_from_other_hosts_refuses_to_start_without_a_shared_secret() {
    let open = [
        ("ACE_SYNC_SALESFORCE__ORG_IDS", ORG),
        ("ACE_SYNC_QUEUE__CHANGES_QUEUE_URL", QUEUE),
        ("ACE_SYNC_HTTP__HOST", "0.0.0.0"),
    ];
    let output = start("serve", &open);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("key `ingress.shared_secret`") && stderr.contains("0.0.0.0"),
        "{stderr}"
    );
    // The check says so too, before anything starts.
    let checked = Command::new(env!("CARGO_BIN_EXE_ace-sync"))
        .args(["config", "check", "--role", "serve"])
        .env_clear()
        .envs(open)
        .output()
        .unwrap();
    assert_eq!(checked.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&checked.stderr).contains("key `ingress.shared_secret`"));
}

#[test]
fn a_worker_without_salesforce_credentials_refuses_to_start_and_says_why() {
    let output = start(
        "work",
        &[
            ("ACE_SYNC_SALESFORCE__ORG_IDS", ORG),
            ("ACE_SYNC_QUEUE__CHANGES_QUEUE_URL", QUEUE),
        ],
    );
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("the workers need a Salesforce client"),
        "{stderr}"
    );
    assert!(
        stderr.contains("salesforce."),
        "names the missing key: {stderr}"
    );
}

#[test]
fn a_visibility_timeout_shorter_than_the_worst_case_is_refused() {
    let err = Settings::from_toml_layers(&["[worker]\nvisibility_timeout = \"2m\""]).unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("key `worker.visibility_timeout`"),
        "{message}"
    );
    assert!(message.contains("worst-case processing time"), "{message}");
    // Lowering what makes the worst case long makes the same timeout acceptable.
    let fine = Settings::from_toml_layers(&[
        "[worker]\nvisibility_timeout = \"2m\"\nconcurrency = 2\n[ace]\ncall_timeout = \"2s\"\nmax_attempts = 2\n[salesforce]\nrequest_timeout = \"10s\"\n[queue.memory]\nvisibility_timeout = \"2m\"",
    ]);
    assert!(fine.is_ok(), "{:?}", fine.err().map(|e| e.to_string()));
}
