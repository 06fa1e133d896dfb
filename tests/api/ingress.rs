//! The ingress against a real SQS-compatible server: what Salesforce sends, what ends up on
//! the queue, and what is refused.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ace_sync::domain::job::{Reason, Reconcile};
use ace_sync::domain::sobject::parse_datetime;

use crate::helpers::app::{ACK, MULTI, SINGLE, TestApp, message_with};
use crate::helpers::{env, sqs};

const SESSION_ID: &str = "00D5g00000ABCde!AQ4AQ.REDACTED.EXAMPLE.TOKEN";

fn notification(job: &Reconcile) -> &str {
    match &job.reason {
        Reason::OutboundMessage {
            notification_id, ..
        } => notification_id.as_str(),
        other => panic!("an outbound-message job, not {other:?}"),
    }
}

async fn assert_fault(response: reqwest::Response, status: u16, code: &str, mentions: &str) {
    assert_eq!(response.status().as_u16(), status);
    assert_eq!(
        response.headers()["content-type"],
        "text/xml; charset=utf-8"
    );
    let body = response.text().await.unwrap();
    assert!(body.contains("<soapenv:Fault>"), "{body}");
    assert!(
        body.contains(&format!("<faultcode>{code}</faultcode>")),
        "{body}"
    );
    assert!(!body.contains("<Ack>"), "a fault never acks: {body}");
    assert!(
        body.contains(mentions),
        "expected the fault to mention {mentions:?}: {body}"
    );
}

#[tokio::test]
async fn the_single_sample_is_acked_and_queued() {
    let app = TestApp::spawn(&[]).await;
    let response = app.post_outbound(SINGLE).await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/xml; charset=utf-8"
    );
    assert_eq!(response.text().await.unwrap(), ACK);

    let jobs = app.queued_jobs().await;
    assert_eq!(jobs.len(), 1);
    let job = &jobs[0];
    assert_eq!(job.org_id.as_str(), "00D5g00000ABCdeEAH");
    assert_eq!(notification(job), "04l5g00000AbCdEAAV");
    assert_eq!(job.record_id.as_str(), "0065g00000QrStUAAV");
    assert_eq!(
        job.changed_at,
        Some(parse_datetime("2026-08-14T18:27:02.000Z").unwrap()),
        "the SystemModstamp is kept for deduplication and the lag figures"
    );
}

#[tokio::test]
async fn the_multi_sample_queues_each_notification_in_its_own_group() {
    let app = TestApp::spawn(&[]).await;
    let response = app.post_outbound(MULTI).await;
    assert_eq!(response.status().as_u16(), 200);
    let mut jobs = app.queued_jobs().await;
    jobs.sort_by_key(|j| j.group_id().to_string());
    let ids: Vec<_> = jobs.iter().map(|j| j.record_id.to_string()).collect();
    assert_eq!(ids, ["0065g00000QrStVAAV", "0065g00000QrStWAAV"]);
    let notifications: Vec<_> = jobs.iter().map(notification).collect();
    assert_eq!(notifications.len(), 2);
    assert_ne!(notifications[0], notifications[1]);
    // The SessionId the message carried is in no queued job.
    for job in &jobs {
        assert!(!job.encode().contains("AQ4AQ"), "{}", job.encode());
    }
}

#[tokio::test]
async fn a_hundred_notifications_go_out_in_at_most_ten_batches() {
    let app = TestApp::spawn(&[]).await;
    let response = app.post_outbound(message_with(100)).await;
    assert_eq!(response.status().as_u16(), 200);
    let batches = app
        .metric(r#"ace_sync_sqs_calls_total{operation="SendMessageBatch",outcome="ok"}"#)
        .await;
    assert!(
        (1.0..=10.0).contains(&batches),
        "{batches} SendMessageBatch calls"
    );
    let jobs = app.queued_jobs().await;
    assert_eq!(jobs.len(), 100);
    let mut groups: Vec<_> = jobs.iter().map(|j| j.group_id().to_string()).collect();
    groups.sort();
    groups.dedup();
    assert_eq!(groups.len(), 100);
}

#[tokio::test]
async fn a_message_from_another_org_is_forbidden_and_nothing_is_queued() {
    let app = TestApp::spawn(&["[salesforce]\norg_ids = [\"00D5g00000ZZZzz\"]"]).await;
    let response = app.post_outbound(SINGLE).await;
    assert_fault(response, 403, "soapenv:Client", "00D5g00000ABCdeEAH").await;
    assert!(app.queued_jobs().await.is_empty());
    assert_eq!(
        app.metric(r#"ace_sync_outbound_message_rejections_total{reason="wrong_org"}"#)
            .await,
        1.0
    );
}

#[tokio::test]
async fn hostile_and_broken_bodies_are_refused_and_nothing_is_queued() {
    let app = TestApp::spawn(&[]).await;
    let dtd = SINGLE.replacen(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>",
        "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;&lol;\">]>",
        1,
    );
    let external = SINGLE
        .replacen(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>",
            "<?xml version=\"1.0\"?><!DOCTYPE e [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>",
            1,
        )
        .replace("Phase 1 &amp; 2", "&xxe;");
    let entity = SINGLE.replace("Phase 1 &amp; 2", "Phase &lol2; 2");
    let truncated = SINGLE[..SINGLE.len() - 40].to_owned();
    let malformed = SINGLE.replace("</sf:Name>", "</sf:Nmae>");
    let not_notifications = SINGLE
        .replace("<notifications xmlns", "<notification xmlns")
        .replace("</notifications>", "</notification>");
    let wrong_namespace = SINGLE.replace(
        "http://soap.sforce.com/2005/09/outbound",
        "http://soap.sforce.com/2005/09/inbound",
    );
    let cases: Vec<(&str, String, &str)> = vec![
        ("dtd", dtd, "DTD"),
        ("external entity", external, "DTD"),
        ("undefined entity", entity, "lol2"),
        (
            "truncated",
            truncated,
            "ends before the document is complete",
        ),
        ("malformed", malformed, "malformed XML"),
        (
            "not notifications",
            not_notifications,
            "notifications element",
        ),
        ("wrong namespace", wrong_namespace, "notifications element"),
        (
            "not xml",
            "{\"hello\": \"world\"}".to_owned(),
            "malformed XML",
        ),
    ];
    for (name, body, mentions) in cases {
        let response = app.post_outbound(body).await;
        assert_eq!(response.status().as_u16(), 400, "{name}");
        assert_fault(response, 400, "soapenv:Client", mentions).await;
    }
    let json = app
        .post_to("/salesforce/outbound-message", SINGLE, "application/json")
        .await;
    assert_fault(json, 400, "soapenv:Client", "application/json").await;
    let latin1 = app
        .post_to(
            "/salesforce/outbound-message",
            SINGLE,
            "text/xml; charset=ISO-8859-1",
        )
        .await;
    assert_fault(latin1, 400, "soapenv:Client", "UTF-8").await;
    assert!(app.queued_jobs().await.is_empty());
}

#[tokio::test]
async fn oversized_bodies_are_refused_without_being_read() {
    let app = TestApp::spawn(&["[http]\nbody_limit_bytes = 4096"]).await;
    // Announced by Content-Length.
    let big = message_with(10);
    assert!(big.len() > 4096);
    let response = app.post_outbound(big.clone()).await;
    assert_fault(response, 413, "soapenv:Client", "4096 bytes").await;
    // Streamed without a length (chunked): refused once the limit is passed.
    let (status, body) = post_chunked(&app.address, big.as_bytes(), 1024).await;
    assert_eq!(status, 413, "{body}");
    assert!(
        body.contains("4096 bytes") && body.contains("soapenv:Client"),
        "{body}"
    );
    assert!(app.queued_jobs().await.is_empty());
}

/// A raw HTTP/1.1 POST with `Transfer-Encoding: chunked`, so no Content-Length announces the
/// size. Returns the status and the response body as text.
async fn post_chunked(address: &str, body: &[u8], chunk: usize) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let host = address.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(host).await.unwrap();
    let head = format!(
        "POST /salesforce/outbound-message HTTP/1.1\r\nHost: {host}\r\nContent-Type: text/xml; charset=utf-8\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    for piece in body.chunks(chunk) {
        let frame = [format!("{:x}\r\n", piece.len()).as_bytes(), piece, b"\r\n"].concat();
        // The server may stop reading once it has refused the body.
        if stream.write_all(&frame).await.is_err() {
            break;
        }
    }
    let _ = stream.write_all(b"0\r\n\r\n").await;
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response).await;
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, text)
}

#[tokio::test]
async fn the_same_message_posted_twice_is_delivered_once() {
    let app = TestApp::spawn(&[]).await;
    for _ in 0..2 {
        assert_eq!(app.post_outbound(MULTI).await.status().as_u16(), 200);
    }
    let jobs = app.queued_jobs().await;
    assert_eq!(jobs.len(), 2, "two notifications, each once");
    // A redelivery carrying newer data (a later SystemModstamp) is a new job.
    let newer = SINGLE.replace(
        "<sf:SystemModstamp>2026-08-14T18:27:02.000Z</sf:SystemModstamp>",
        "<sf:SystemModstamp>2026-08-14T18:40:00.000Z</sf:SystemModstamp>",
    );
    assert_eq!(app.post_outbound(SINGLE).await.status().as_u16(), 200);
    assert_eq!(app.post_outbound(newer).await.status().as_u16(), 200);
    assert_eq!(app.queued_jobs().await.len(), 2);
}

#[tokio::test]
async fn the_shared_secret_is_required_in_the_path_or_header_when_configured() {
    let secret = "a-long-enough-shared-secret";
    let app = TestApp::spawn(&[&format!("[ingress]\nshared_secret = \"{secret}\"")]).await;
    let missing = app.post_outbound(SINGLE).await;
    assert_fault(missing, 403, "soapenv:Client", "shared secret").await;
    let wrong = app
        .post_to(
            "/salesforce/outbound-message/not-the-secret",
            SINGLE,
            "text/xml",
        )
        .await;
    assert_fault(wrong, 403, "soapenv:Client", "shared secret").await;
    assert!(app.queued_jobs().await.is_empty());

    let in_path = app
        .post_to(
            &format!("/salesforce/outbound-message/{secret}"),
            SINGLE,
            "text/xml",
        )
        .await;
    assert_eq!(in_path.status().as_u16(), 200);
    let in_header = app
        .http
        .post(format!("{}/salesforce/outbound-message", app.address))
        .header("content-type", "text/xml")
        .header("x-ace-sync-secret", secret)
        .body(MULTI)
        .send()
        .await
        .unwrap();
    assert_eq!(in_header.status().as_u16(), 200);
    assert_eq!(app.queued_jobs().await.len(), 3);
}

#[tokio::test]
async fn a_message_from_another_my_domain_is_forbidden() {
    let app = TestApp::spawn(&["[salesforce]\nmy_domain = \"globex.my.salesforce.com\""]).await;
    let response = app.post_outbound(SINGLE).await;
    assert_fault(response, 403, "soapenv:Client", "acme.my.salesforce.com").await;
    assert!(app.queued_jobs().await.is_empty());
}

#[tokio::test]
async fn health_reports_the_queue() {
    let app = TestApp::spawn(&[]).await;
    let live = app.get("/health/live").await;
    assert_eq!(live.status().as_u16(), 200);
    let ready = app.get("/health/ready").await;
    assert_eq!(ready.status().as_u16(), 200);
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(body["queue"], "sqs");
    assert_eq!(
        app.metric(r#"ace_sync_sqs_calls_total{operation="GetQueueAttributes",outcome="ok"}"#)
            .await,
        1.0
    );
}

#[tokio::test]
async fn an_unreachable_queue_gets_a_fault_and_no_ack_then_success_once_it_is_back() {
    let port = sqs::free_port();
    let moto = sqs::MotoProcess::start(port).await;
    let endpoint = moto.endpoint();
    let client = sqs::client(&endpoint);
    let queue = sqs::fifo_queue(&client, "outage", 5).await;
    let name = queue
        .url
        .rsplit('/')
        .next()
        .unwrap()
        .trim_end_matches(".fifo")
        .to_owned();
    let app = TestApp::spawn_on(
        &endpoint,
        queue.clone(),
        &["[queue]\nsend_deadline = \"3s\"\nsend_attempts = 3\ncall_timeout = \"1s\""],
    )
    .await;

    moto.stop();
    let response = app.post_outbound(SINGLE).await;
    assert_fault(response, 503, "soapenv:Server", "could not be queued").await;
    let ready = app.get("/health/ready").await;
    assert_eq!(ready.status().as_u16(), 503);

    // The server comes back (empty, as moto keeps nothing): the queue is created again at
    // the same URL and Salesforce's retry now succeeds.
    let moto = sqs::MotoProcess::start(port).await;
    let again = sqs::fifo_queue_named(&client, &name, 5).await;
    assert_eq!(again.url, queue.url);
    let response = app.post_outbound(SINGLE).await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.text().await.unwrap(), ACK);
    assert_eq!(app.queued_jobs().await.len(), 1);
    drop(moto);
}

/// Starts the real binary with `env`, waits until it logs the port it listens on.
struct ServeProcess {
    child: std::process::Child,
    port: u16,
    output: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl ServeProcess {
    fn start(env: &[(&str, String)]) -> ServeProcess {
        let mut command = Command::new(env!("CARGO_BIN_EXE_ace-sync"));
        command
            .arg("serve")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (key, value) in env {
            command.env(key, value);
        }
        let mut child = command.spawn().expect("start ace-sync serve");
        let stdout = child.stdout.take().expect("stdout");
        let output = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (port_tx, port_rx) = std::sync::mpsc::channel();
        let sink = output.clone();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Ok(json) = serde_json::from_str::<serde_json::Value>(&line)
                    && json["fields"]["message"] == "ingress listening"
                {
                    let _ = port_tx.send(json["fields"]["port"].as_u64().unwrap_or(0) as u16);
                }
                sink.lock().unwrap().push(line);
            }
        });
        let port = match port_rx.recv_timeout(Duration::from_secs(30)) {
            Ok(port) => port,
            Err(_) => {
                let _ = child.kill();
                let mut stderr = String::new();
                use std::io::Read;
                let _ = child.stderr.take().unwrap().read_to_string(&mut stderr);
                panic!("ace-sync serve did not report its port; stderr: {stderr}");
            }
        };
        ServeProcess {
            child,
            port,
            output,
            reader: Some(reader),
        }
    }

    /// Stops the process with SIGTERM and returns everything it wrote to stdout.
    fn stop(mut self) -> Vec<String> {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.child.try_wait().ok().flatten().is_none() {
            assert!(
                Instant::now() < deadline,
                "ace-sync did not stop on SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        self.output.lock().unwrap().clone()
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn the_session_id_and_the_shared_secret_reach_neither_the_logs_nor_the_queue_even_at_trace_level()
 {
    let endpoint = env::sqs_endpoint();
    let client = sqs::client(&endpoint);
    let queue = sqs::fifo_queue(&client, "session", 5).await;
    let shared_secret = "s3cret-in-the-outbound-message-url";
    let process = ServeProcess::start(&[
        ("ACE_SYNC_INGRESS__SHARED_SECRET", shared_secret.into()),
        ("ACE_SYNC_HTTP__PORT", "0".into()),
        ("ACE_SYNC_QUEUE__CHANGES_QUEUE_URL", queue.url.clone()),
        ("ACE_SYNC_QUEUE__ENDPOINT_URL", endpoint.clone()),
        (
            "ACE_SYNC_SALESFORCE__ORG_IDS",
            "[\"00D5g00000ABCdeEAH\"]".into(),
        ),
        ("ACE_SYNC_TELEMETRY__FORMAT", "json".into()),
        ("ACE_SYNC_TELEMETRY__FILTER", "trace".into()),
    ]);
    assert!(MULTI.contains(SESSION_ID));
    // The secret in the path, as the README's outbound message is set up; and a wrong one.
    let post = |path: String| {
        reqwest::Client::new()
            .post(format!("http://127.0.0.1:{}{path}", process.port))
            .header("content-type", "text/xml; charset=utf-8")
            .body(MULTI)
            .send()
    };
    let response = post(format!("/salesforce/outbound-message/{shared_secret}"))
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let wrong = post("/salesforce/outbound-message/s3cret-guessed-wrongly-by-someone".into())
        .await
        .unwrap();
    assert_eq!(wrong.status().as_u16(), 403);
    let queued = sqs::drain(&client, &queue.url).await;
    let logs = process.stop();

    assert_eq!(queued.len(), 2);
    assert!(
        logs.iter()
            .any(|l| l.contains("outbound message queued and acknowledged")),
        "the capture holds the request's log lines"
    );
    assert!(
        logs.len() > 20,
        "trace level logs plenty: {} lines",
        logs.len()
    );
    let secret_part = SESSION_ID.split('!').nth(1).unwrap();
    for line in logs.iter().chain(queued.iter()) {
        assert!(!line.contains(secret_part), "session id leaked: {line}");
        assert!(!line.contains("s3cret"), "a shared secret leaked: {line}");
    }
}

#[test]
fn configuration_errors_name_the_key_and_where_it_came_from() {
    let run = |env: &[(&str, &str)]| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_ace-sync"));
        command.args(["config", "check"]);
        for (k, v) in env {
            command.env(k, v);
        }
        command.output().expect("run ace-sync")
    };
    let bad_port = run(&[("ACE_SYNC_HTTP__PORT", "eighty")]);
    assert_eq!(bad_port.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&bad_port.stderr);
    assert!(stderr.contains("key `http.port`"), "{stderr}");
    assert!(stderr.contains("ACE_SYNC_HTTP__PORT"), "{stderr}");

    let unknown = run(&[("ACE_SYNC_HTTP__PROT", "8080")]);
    assert_eq!(unknown.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&unknown.stderr);
    assert!(stderr.contains("unknown key `http.prot`"), "{stderr}");

    let dir = std::env::temp_dir().join(sqs::unique_name("config"));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("ace-sync.toml");
    std::fs::write(&file, "[queue]\nsend_attempts = 0\n").unwrap();
    let from_file = run(&[("ACE_SYNC_CONFIG", file.to_str().unwrap())]);
    assert_eq!(from_file.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&from_file.stderr);
    assert!(stderr.contains("queue.send_attempts"), "{stderr}");
    std::fs::remove_dir_all(&dir).unwrap();

    let fine = run(&[
        ("ACE_SYNC_SALESFORCE__ORG_IDS", "[\"00D5g00000ABCdeEAH\"]"),
        (
            "ACE_SYNC_QUEUE__CHANGES_QUEUE_URL",
            "https://sqs.us-east-1.amazonaws.com/123456789012/changes.fifo",
        ),
    ]);
    assert_eq!(
        fine.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&fine.stderr)
    );
}

#[tokio::test]
async fn the_healthcheck_command_probes_a_running_instance() {
    let app = TestApp::spawn(&[]).await;
    let run = |url: String| {
        Command::new(env!("CARGO_BIN_EXE_ace-sync"))
            .args(["healthcheck", "--url", &url, "--timeout", "2s"])
            .output()
            .expect("run ace-sync healthcheck")
    };
    let url = format!("{}/health/ready", app.address);
    let ok = tokio::task::spawn_blocking(move || run(url)).await.unwrap();
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let closed = format!("http://127.0.0.1:{}/health/ready", sqs::free_port());
    let down = tokio::task::spawn_blocking(move || run(closed))
        .await
        .unwrap();
    assert_eq!(down.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&down.stderr).contains("cannot reach"));
}

#[tokio::test]
async fn the_ingress_serves_on_a_socket_bound_before_it_was_built() {
    // Whoever must know the address first (the demo's Salesforce simulator) binds it.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let settings = ace_sync::config::Settings::from_toml_layers(&[
        "[http]\nport = 1\nworkers = 1\n[salesforce]\norg_ids = [\"00D5g00000ABCdeEAH\"]\n",
    ])
    .unwrap();
    let queue = ace_sync::adapters::memory_queue::MemoryQueue::new(
        "bound-first",
        settings.queue.memory.clone(),
    );
    let app = ace_sync::startup::Application::build_with(
        settings,
        ace_sync::startup::Role::Serve,
        ace_sync::startup::Dependencies {
            changes: Some(ace_sync::startup::QueueHandle::Memory(queue.clone())),
            listener: Some(listener),
            ..Default::default()
        },
    )
    .await
    .expect("build");
    assert_eq!(app.port(), port, "not http.port");
    let shutdown = tokio_util::sync::CancellationToken::new();
    let server = tokio::spawn(app.run_until_stopped(shutdown.clone()));
    let answer = reqwest::Client::new()
        .post(format!(
            "http://127.0.0.1:{port}/salesforce/outbound-message"
        ))
        .header("content-type", "text/xml; charset=utf-8")
        .body(SINGLE)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 200);
    assert_eq!(queue.depth(), 1);
    shutdown.cancel();
    server.await.unwrap().unwrap();
}
