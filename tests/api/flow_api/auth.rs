//! Every call is authenticated: no key, a malformed header or an unknown key is 401, a key
//! without the operation's scope 403, each counted by reason, none doing any work (no
//! Salesforce call, nothing queued). Two keys with the same scopes both work while one is
//! rotated. The keys never reach the logs, even at trace level.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::{ApiIngress, CHECK_KEY, NEXT_CHECK_KEY, SYNC_KEY};
use crate::helpers::world::{self, Options, World};

const OPP: &str = "0065g00000QrStUAAV";

async fn world() -> World {
    World::start(
        world::seed(vec![world::complete_opportunity(
            OPP,
            "Acme - Data Platform Migration",
            "Qualification",
        )]),
        Options::default(),
    )
    .await
}

#[tokio::test]
async fn calls_without_a_key_of_the_operations_scope_are_refused_counted_and_do_nothing() {
    let world = world().await;
    let api = ApiIngress::start(&world).await;
    let check = format!("/api/v1/opportunities/{OPP}/check");
    let status = format!("/api/v1/opportunities/{OPP}/status");
    let sync = format!("/api/v1/opportunities/{OPP}/sync");
    let salesforce_requests = world.sf.requests().len();

    let cases: [(&str, &str, Option<&str>, u16, &str); 8] = [
        ("GET", &check, None, 401, "missing_key"),
        ("GET", &status, None, 401, "missing_key"),
        ("POST", &sync, None, 401, "missing_key"),
        ("GET", "/api/v1/openapi.json", None, 401, "missing_key"),
        (
            "GET",
            &check,
            Some("not-one-of-ours-0123456789abcdefghij"),
            401,
            "unknown_key",
        ),
        // Almost a key: one character short.
        ("GET", &status, Some(&CHECK_KEY[1..]), 401, "unknown_key"),
        // A key of the Flows may not queue work.
        ("POST", &sync, Some(CHECK_KEY), 403, "scope"),
        ("POST", &sync, Some(NEXT_CHECK_KEY), 403, "scope"),
    ];
    for (method, path, key, expected, code) in cases {
        let answer = api.call(method, path, key).await;
        assert_eq!(
            answer.status, expected,
            "{method} {path}: {:?}",
            answer.body
        );
        assert_eq!(answer.body["code"], code, "{method} {path}");
        assert_eq!(answer.body["status"], expected);
        if expected == 401 {
            assert_eq!(
                answer.www_authenticate.as_deref(),
                Some("Bearer realm=\"ace-sync\"")
            );
        }
        let text = answer.body.to_string();
        assert!(!text.contains(&CHECK_KEY[5..]), "{text}");
    }
    // A malformed header: the key without its scheme.
    let answer = api
        .call_with_header(&check, "authorization", CHECK_KEY)
        .await;
    assert_eq!(
        (answer.0, answer.1["code"].as_str()),
        (401, Some("malformed_key"))
    );

    assert_eq!(
        world.sf.requests().len(),
        salesforce_requests,
        "no Salesforce call"
    );
    assert!(world.peek_changes().await.is_empty(), "nothing queued");
    for (sample, count) in [
        (
            r#"ace_sync_api_refusals_total{operation="check",reason="missing_key"}"#,
            1.0,
        ),
        (
            r#"ace_sync_api_refusals_total{operation="check",reason="unknown_key"}"#,
            1.0,
        ),
        (
            r#"ace_sync_api_refusals_total{operation="check",reason="malformed_key"}"#,
            1.0,
        ),
        (
            r#"ace_sync_api_refusals_total{operation="status",reason="unknown_key"}"#,
            1.0,
        ),
        (
            r#"ace_sync_api_refusals_total{operation="sync",reason="scope"}"#,
            2.0,
        ),
        (
            r#"ace_sync_api_refusals_total{operation="openapi",reason="missing_key"}"#,
            1.0,
        ),
        (
            r#"ace_sync_api_calls_total{operation="sync",status="403"}"#,
            2.0,
        ),
    ] {
        assert_eq!(api.metric(sample).await, count, "{sample}");
    }
}

#[tokio::test]
async fn two_keys_with_the_same_scopes_both_work_while_one_is_rotated() {
    let world = world().await;
    let api = ApiIngress::start(&world).await;
    for key in [CHECK_KEY, NEXT_CHECK_KEY, NEXT_CHECK_KEY] {
        let answer = api.check(OPP, "", key).await;
        assert_eq!(answer.status, 200, "{:?}", answer.body);
    }
    assert_eq!(api.sync(OPP, SYNC_KEY).await.status, 202);
    for (sample, count) in [
        (r#"ace_sync_api_key_uses_total{key="flows"}"#, 1.0),
        (r#"ace_sync_api_key_uses_total{key="flows-next"}"#, 2.0),
        (r#"ace_sync_api_key_uses_total{key="admin"}"#, 1.0),
    ] {
        assert_eq!(api.metric(sample).await, count, "{sample}");
    }
}

impl ApiIngress {
    /// A GET with one raw header; the status and JSON body.
    async fn call_with_header(
        &self,
        path: &str,
        name: &str,
        value: &str,
    ) -> (u16, serde_json::Value) {
        let response = reqwest::Client::new()
            .get(format!("{}{path}", self.base))
            .header(name, value)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap())
    }
}

#[tokio::test]
async fn api_keys_reach_neither_the_logs_nor_the_answers_even_at_trace_level() {
    let world = world().await;
    let mut command = Command::new(env!("CARGO_BIN_EXE_ace-sync"));
    command
        .arg("serve")
        .envs(
            world
                .worker_env
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str())),
        )
        .envs([
            ("ACE_SYNC_HTTP__PORT", "0"),
            ("ACE_SYNC_TELEMETRY__FORMAT", "json"),
            ("ACE_SYNC_TELEMETRY__FILTER", "trace"),
            ("ACE_SYNC_API__ENABLED", "true"),
            ("ACE_SYNC_API__KEYS__FLOWS__KEY", CHECK_KEY),
            ("ACE_SYNC_API__KEYS__FLOWS__SCOPES", "[check, status]"),
            ("ACE_SYNC_API__KEYS__ADMIN__KEY", SYNC_KEY),
            ("ACE_SYNC_API__KEYS__ADMIN__SCOPES", "[sync]"),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("start ace-sync serve");
    let stdout = child.stdout.take().unwrap();
    let (lines_tx, lines_rx) = std::sync::mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = lines_tx.send(line);
        }
    });
    let mut lines = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    let port = loop {
        let line = lines_rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .unwrap_or_else(|_| panic!("ace-sync serve did not report its port: {lines:?}"));
        let json: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
        lines.push(line);
        if json["fields"]["message"] == "ingress listening" {
            break json["fields"]["port"].as_u64().unwrap();
        }
    };

    let base = format!("http://127.0.0.1:{port}/api/v1/opportunities/{OPP}");
    let http = reqwest::Client::new();
    let mut answers = Vec::new();
    for (method, path, key) in [
        ("GET", "check", CHECK_KEY),
        ("GET", "status", CHECK_KEY),
        ("POST", "sync", SYNC_KEY),
        ("POST", "sync", CHECK_KEY),
        ("GET", "check", &SYNC_KEY[..SYNC_KEY.len() - 1]),
    ] {
        let request = match method {
            "GET" => http.get(format!("{base}/{path}")),
            _ => http.post(format!("{base}/{path}")),
        };
        let response = request.bearer_auth(key).send().await.unwrap();
        answers.push(format!(
            "{} {}",
            response.status(),
            response.text().await.unwrap()
        ));
    }
    assert!(answers[0].starts_with("200"), "{answers:?}");
    assert!(answers[2].starts_with("202"), "{answers:?}");
    assert!(answers[3].starts_with("403"), "{answers:?}");
    assert!(answers[4].starts_with("401"), "{answers:?}");

    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let status = child.wait().expect("ace-sync serve exits");
    assert!(status.success(), "{status}");
    let _ = reader.join();
    lines.extend(lines_rx.try_iter());
    assert!(
        lines.iter().any(|l| l.contains("API call refused")),
        "the capture holds the API's log lines: {lines:?}"
    );
    assert!(lines.len() > 20, "trace level logs plenty: {}", lines.len());
    for line in lines.iter().chain(&answers) {
        for key in [CHECK_KEY, SYNC_KEY] {
            // Any 16 characters of a key would be a leak.
            assert!(!line.contains(&key[8..24]), "a key leaked: {line}");
        }
    }
}
