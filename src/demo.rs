//! `ace-sync demo`: the service's main job on embedded defaults, on a machine with nothing
//! else — no AWS account, no Salesforce org. It starts the ingress on the in-memory queue,
//! sends it the outbound messages Salesforce would send, and shows what was acknowledged and
//! what landed on the queue. Exits non-zero when anything did not go as it should.

use std::time::Instant;

use tokio_util::sync::CancellationToken;

use crate::adapters::memory_queue::MemoryQueue;
use crate::config::Settings;
use crate::domain::job::SyncJob;
use crate::ports::queue::JobSource;
use crate::startup::{Application, Dependencies, QueueHandle, Role, StartupError};

const SAMPLES: &[(&str, &str)] = &[
    (
        "one notification (a stage change to Proposal/Price Quote)",
        crate::ingress::samples::SINGLE,
    ),
    (
        "two notifications batched (Closed Won, Closed Lost)",
        crate::ingress::samples::MULTI,
    ),
];

/// Why the demo failed.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error(transparent)]
    Startup(#[from] StartupError),
    #[error("posting to the ingress failed")]
    Http(#[from] reqwest::Error),
    #[error("the embedded demo settings are invalid: {0}")]
    Settings(#[from] crate::config::ConfigError),
    #[error("{0}")]
    Unexpected(String),
}

/// Runs the demo, printing as it goes.
pub async fn run(mut out: impl std::io::Write) -> Result<(), DemoError> {
    let settings = Settings::from_toml_layers(&["[http]\nport = 0\nworkers = 1\n"])?;
    let queue = MemoryQueue::new("ace-sync-demo", settings.queue.memory.clone());
    let app = Application::build_with(
        settings,
        Role::Serve,
        Dependencies {
            changes: Some(QueueHandle::Memory(queue.clone())),
            ..Dependencies::default()
        },
    )
    .await?;
    let base = format!("http://127.0.0.1:{}", app.port());
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(app.run_until_stopped(shutdown.clone()));
    let say = |out: &mut dyn std::io::Write, line: String| {
        let _ = writeln!(out, "{line}");
    };
    say(
        &mut out,
        format!(
            "ace-sync ingress listening on {base} (embedded in-memory queue: fine for a demo, not durable)\n"
        ),
    );

    let http = reqwest::Client::new();
    let mut problems = Vec::new();
    let mut expected_jobs = 0;
    for (what, body) in SAMPLES {
        let started = Instant::now();
        let response = http
            .post(format!("{base}/salesforce/outbound-message"))
            .header("content-type", "text/xml; charset=utf-8")
            .header("soapaction", "\"\"")
            .body(*body)
            .send()
            .await?;
        let status = response.status().as_u16();
        let text = response.text().await?;
        let acked = status == 200 && text.contains("<Ack>true</Ack>");
        say(
            &mut out,
            format!(
                "Salesforce → POST /salesforce/outbound-message: {what}\n  ← {status} {} in {} ms",
                if acked { "Ack" } else { "no ack" },
                started.elapsed().as_millis()
            ),
        );
        if !acked {
            problems.push(format!("{what}: answered {status} without an ack: {text}"));
        }
        expected_jobs += body.matches("<Notification>").count();
    }

    // A message from an org this deployment does not serve is refused, and queues nothing.
    let foreign = SAMPLES[0]
        .1
        .replace("00D5g00000ABCdeEAH", "00D5g00000ZZZzz");
    let response = http
        .post(format!("{base}/salesforce/outbound-message"))
        .header("content-type", "text/xml; charset=utf-8")
        .body(foreign)
        .send()
        .await?;
    let status = response.status().as_u16();
    say(
        &mut out,
        format!(
            "Salesforce (another org) → POST /salesforce/outbound-message\n  ← {status} SOAP fault (refused, nothing queued)"
        ),
    );
    if status != 403 {
        problems.push(format!(
            "a foreign org's message answered {status}, not 403"
        ));
    }

    say(
        &mut out,
        "\nOn the queue, one job per notification:".to_owned(),
    );
    let received = queue
        .receive(10, std::time::Duration::ZERO)
        .await
        .map_err(|e| DemoError::Unexpected(e.to_string()))?;
    for message in &received {
        match SyncJob::decode(&message.body) {
            Ok(SyncJob::RecordChangedV1(job)) => say(
                &mut out,
                format!(
                    "  {} {} (notification {}): stage {:?}, {} fields",
                    job.record.sobject_type,
                    job.record.id,
                    job.notification_id,
                    job.record.text("StageName").unwrap_or_default(),
                    job.record.fields.len()
                ),
            ),
            Err(e) => problems.push(format!("a queued message is not a job: {e}")),
        }
    }
    if received.len() != expected_jobs {
        problems.push(format!(
            "{} jobs on the queue, expected {expected_jobs}",
            received.len()
        ));
    }
    if received.iter().any(|m| m.body.contains("AQ4AQ")) {
        problems.push("a queued job contains the outbound message's SessionId".to_owned());
    }

    shutdown.cancel();
    let _ = server.await;
    if problems.is_empty() {
        say(
            &mut out,
            "\nDemo finished: every message was handled as it should be.".to_owned(),
        );
        Ok(())
    } else {
        Err(DemoError::Unexpected(problems.join("; ")))
    }
}
