//! The API is off by default, and an enabled API needs what it reads with: `config check`
//! refuses `serve` without a Salesforce client (a worker-only process serves no API, so `work`
//! does not care), start refuses the same, and a well-configured `serve` passes the check.

use std::process::{Command, Output};

use ace_sync::config::Settings;
use ace_sync::startup::{Application, Role, StartupError};
use ace_sync_sandbox::salesforce::KeyPair;

use super::{CHECK_KEY, api_settings};

/// `ace-sync config check` with `env` and nothing else of the caller's `ACE_SYNC_*`.
fn config_check(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ace-sync"));
    command.args(["config", "check"]).args(args);
    for (name, _) in std::env::vars() {
        if name.starts_with("ACE_SYNC_") {
            command.env_remove(name);
        }
    }
    command
        .envs(env.iter().copied())
        .output()
        .expect("run ace-sync")
}

fn printed(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// An ingress that needs nothing more (its queue and org), and the API's settings.
const SERVE: &[(&str, &str)] = &[
    (
        "ACE_SYNC_QUEUE__CHANGES_QUEUE_URL",
        "https://sqs.us-east-1.amazonaws.com/123456789012/ace-sync-changes.fifo",
    ),
    ("ACE_SYNC_SALESFORCE__ORG_IDS", "[\"00D5g00000ABCdeEAH\"]"),
];
const API: &[(&str, &str)] = &[
    ("ACE_SYNC_API__ENABLED", "true"),
    ("ACE_SYNC_API__KEYS__FLOWS__KEY", CHECK_KEY),
    ("ACE_SYNC_API__KEYS__FLOWS__SCOPES", "[check, status]"),
];

/// The ingress's settings, then `api`.
fn serve_with(api: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
    SERVE.iter().chain(api).copied().collect()
}

#[test]
fn an_enabled_api_without_a_salesforce_client_is_refused_by_the_check() {
    let output = config_check(&["--role", "serve"], &serve_with(API));
    assert_eq!(output.status.code(), Some(2), "{}", printed(&output));
    let text = printed(&output);
    assert!(
        text.contains("key `api.enabled`: the API reads opportunities from Salesforce"),
        "{text}"
    );
    assert!(!text.contains(CHECK_KEY), "the key is not echoed: {text}");

    // Off, the same serve needs nothing more.
    let off = config_check(&["--role", "serve"], &serve_with(&API[1..]));
    assert_eq!(off.status.code(), Some(0), "{}", printed(&off));

    // On but with no key.
    let keyless = config_check(&["--role", "serve"], &serve_with(&API[..1]));
    assert_eq!(keyless.status.code(), Some(2), "{}", printed(&keyless));
    assert!(
        printed(&keyless).contains("key `api.keys`"),
        "{}",
        printed(&keyless)
    );
}

#[test]
fn an_enabled_api_with_its_salesforce_client_passes_the_check() {
    let dir = std::env::temp_dir().join(format!("ace-sync-api-{:016x}", fastrand::u64(..)));
    std::fs::create_dir_all(&dir).unwrap();
    let key = dir.join("salesforce.key");
    std::fs::write(&key, KeyPair::generate().unwrap().private_pem().expose()).unwrap();
    let mut env = serve_with(API);
    env.extend([
        ("ACE_SYNC_SALESFORCE__CONSUMER_KEY", "3MVG9.test"),
        ("ACE_SYNC_SALESFORCE__USERNAME", "ace-sync@acme.example"),
        (
            "ACE_SYNC_SALESFORCE__PRIVATE_KEY_PATH",
            key.to_str().unwrap(),
        ),
    ]);
    let output = config_check(&["--role", "serve"], &env);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(output.status.code(), Some(0), "{}", printed(&output));
}

#[tokio::test]
async fn start_refuses_an_enabled_api_without_a_salesforce_client() {
    let settings = Settings::from_toml_layers(&[
        "[http]\nport = 0\nworkers = 1\n[salesforce]\norg_ids = [\"00D5g00000ABCdeEAH\"]\n\
         [queue]\nchanges_queue_url = \"https://sqs.us-east-1.amazonaws.com/123456789012/x.fifo\"\n",
        &api_settings(),
    ])
    .unwrap();
    let error = match Application::build_role(settings, Role::Serve).await {
        Ok(_) => panic!("the ingress started an API it cannot serve"),
        Err(error) => error,
    };
    assert!(matches!(error, StartupError::ApiSalesforce(_)), "{error:?}");
    assert!(error.to_string().contains("api.enabled"), "{error}");
}
