//! Running the ingress for a test: in-process on port 0 over a fresh moto FIFO queue, or as a
//! real `ace-sync` process.

use std::time::Duration;

use ace_sync::config::Settings;
use ace_sync::domain::job::{Job, Reconcile};
use ace_sync::startup::Application;
use tokio_util::sync::CancellationToken;

use super::sqs::{self, FifoQueue};

pub use ace_sync::ingress::samples::{ACK, MULTI, SINGLE, message_with};

/// An ingress serving on a free port, stopped when dropped.
pub struct TestApp {
    pub address: String,
    pub queue: FifoQueue,
    pub sqs: aws_sdk_sqs::Client,
    pub http: reqwest::Client,
    shutdown: CancellationToken,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// The org of the sample outbound messages (and of the Salesforce simulator's seed).
pub const SAMPLE_ORG: &str = "00D5g00000ABCdeEAH";

/// Settings for a test: port 0, the given queue on the given SQS endpoint, the sample org,
/// then `extra` TOML.
pub fn settings(endpoint: &str, queue_url: &str, extra: &[&str]) -> Settings {
    let base = format!(
        "[http]\nport = 0\nworkers = 2\n[queue]\nchanges_queue_url = \"{queue_url}\"\nendpoint_url = \"{endpoint}\"\nsend_deadline = \"5s\"\ncall_timeout = \"2s\"\n[salesforce]\norg_ids = [\"{SAMPLE_ORG}\"]\n"
    );
    let mut layers = vec![base.as_str()];
    layers.extend_from_slice(extra);
    Settings::from_toml_layers(&layers).expect("test settings")
}

impl TestApp {
    /// An ingress over a fresh FIFO queue on the shared moto server.
    pub async fn spawn(extra: &[&str]) -> TestApp {
        let endpoint = super::env::sqs_endpoint();
        let client = sqs::client(&endpoint);
        let queue = sqs::fifo_queue(&client, "ingress", 5).await;
        Self::spawn_on(&endpoint, queue, extra).await
    }

    /// An ingress over `queue` on the SQS server at `endpoint`.
    pub async fn spawn_on(endpoint: &str, queue: FifoQueue, extra: &[&str]) -> TestApp {
        let settings = settings(endpoint, &queue.url, extra);
        let app = Application::build(settings)
            .await
            .expect("build application");
        let address = format!("http://127.0.0.1:{}", app.port());
        let shutdown = CancellationToken::new();
        tokio::spawn(app.run_until_stopped(shutdown.clone()));
        TestApp {
            address,
            queue,
            sqs: sqs::client(endpoint),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("http client"),
            shutdown,
        }
    }

    /// Posts an outbound message the way Salesforce does.
    pub async fn post_outbound(&self, body: impl Into<String>) -> reqwest::Response {
        self.post_to(
            "/salesforce/outbound-message",
            body,
            "text/xml; charset=utf-8",
        )
        .await
    }

    pub async fn post_to(
        &self,
        path: &str,
        body: impl Into<String>,
        content_type: &str,
    ) -> reqwest::Response {
        self.http
            .post(format!("{}{path}", self.address))
            .header("content-type", content_type)
            .header("soapaction", "\"\"")
            .body(body.into())
            .send()
            .await
            .expect("request")
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.address))
            .send()
            .await
            .expect("request")
    }

    /// Every job on the queue now, decoded (the queue is drained).
    pub async fn queued_jobs(&self) -> Vec<Reconcile> {
        sqs::drain(&self.sqs, &self.queue.url)
            .await
            .iter()
            .map(|body| match Job::decode(body).expect("a job") {
                Job::ReconcileV1(job) => job,
                other => panic!("the ingress queues reconcile jobs, not {other:?}"),
            })
            .collect()
    }

    /// The value of one metric sample from /metrics, e.g.
    /// `ace_sync_sqs_calls_total{operation="SendMessageBatch",outcome="ok"}`; 0 when absent.
    pub async fn metric(&self, sample: &str) -> f64 {
        let text = self
            .get("/metrics")
            .await
            .text()
            .await
            .expect("metrics body");
        text.lines()
            .find_map(|line| line.strip_prefix(sample).map(str::trim))
            .and_then(|value| value.parse().ok())
            .unwrap_or(0.0)
    }
}
