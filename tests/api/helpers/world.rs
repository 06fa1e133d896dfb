//! The whole system for end-to-end tests, driven the way production is driven: a Salesforce
//! simulator whose workflow rule posts outbound messages into the real ingress, moto's SQS for
//! both queues, the Partner Central simulator delivering EventBridge-shaped events to the
//! events queue, and workers that the test drives step by step.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use ace_sync::config::Settings;
use ace_sync::domain::ids::SfRecordId;
use ace_sync::domain::sobject::FieldValue;
use ace_sync::startup::{Application, Role};
use ace_sync::worker::{BatchReport, Worker};
use ace_sync_sandbox::partner_central::{self as pc, SimConfig as PcConfig, SimHandle};
use ace_sync_sandbox::salesforce::{
    DeliveryOutcome, NotificationState, OutboundConfig, SalesforceSim, Seed, SimConfig as SfConfig,
};
use tokio_util::sync::CancellationToken;
use url::Url;

use super::sqs::{self, FifoQueue};

pub use super::fixtures::*;

/// What a test may change before the world starts.
pub struct Options {
    pub pc: PcConfig,
    /// Extra settings TOML for the worker process.
    pub worker_settings: Vec<String>,
    /// While this is false, Partner Central's events are lost on the way to the events queue
    /// (EventBridge delivers best effort, ace-api.md §9).
    pub events_delivered: Arc<AtomicBool>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            // Submissions and acceptances run asynchronously, as AWS's do: the task ends a
            // moment after the call (not within it), and the worker has to come back for it.
            pc: PcConfig {
                tasks: pc::TaskTiming::After(Duration::from_millis(200)),
                ..PcConfig::for_tests()
            },
            worker_settings: Vec::new(),
            events_delivered: Arc::new(AtomicBool::new(true)),
        }
    }
}

/// An event sink that loses events while its gate is closed.
#[derive(Debug)]
struct LossyBus {
    inner: pc::SqsEventSink,
    open: Arc<AtomicBool>,
}

#[async_trait::async_trait]
impl pc::EventSink for LossyBus {
    async fn deliver(&self, event: &pc::SimEvent) -> Result<(), pc::SinkError> {
        if self.open.load(Ordering::SeqCst) {
            self.inner.deliver(event).await
        } else {
            Ok(())
        }
    }
}

/// The running world.
pub struct World {
    pub sf: SalesforceSim,
    pub pc: SimHandle,
    pub changes: FifoQueue,
    pub events: FifoQueue,
    pub sqs: aws_sdk_sqs::Client,
    pub ingress_address: String,
    pub worker: Application,
    /// The environment a separate `ace-sync work` process needs to join this world.
    pub worker_env: Vec<(String, String)>,
    /// The worker's settings, as TOML layers.
    worker_layers: Vec<String>,
    shutdown: CancellationToken,
}

impl Drop for World {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

impl World {
    pub async fn start(seed: Seed, options: Options) -> World {
        let endpoint = super::env::sqs_endpoint();
        let sqs_client = sqs::client(&endpoint);
        let changes = sqs::fifo_queue(&sqs_client, "e2e-changes", 5).await;
        let events = sqs::fifo_queue(&sqs_client, "e2e-events", 5).await;
        let shutdown = CancellationToken::new();

        // Partner Central, publishing its events to the events queue as EventBridge would.
        let mut pc_config = options.pc;
        pc_config.event_sinks.push(Arc::new(LossyBus {
            inner: pc::sqs_event_sink(&events.url, "us-east-1", Some(&endpoint)).await,
            open: options.events_delivered.clone(),
        }));
        let pc = pc::start(pc_config)
            .await
            .expect("Partner Central simulator");

        // The ingress process.
        let base = format!(
            "[http]\nport = 0\nworkers = 1\n[queue]\nchanges_queue_url = \"{}\"\nevents_queue_url = \"{}\"\nendpoint_url = \"{endpoint}\"\nsend_deadline = \"5s\"\ncall_timeout = \"2s\"\n[salesforce]\norg_ids = [\"{}\"]\n",
            changes.url, events.url, seed.org_id
        );
        let ingress =
            Application::build_role(Settings::from_toml_layers(&[&base]).unwrap(), Role::Serve)
                .await
                .expect("ingress");
        let ingress_address = format!("http://127.0.0.1:{}", ingress.port());
        tokio::spawn(ingress.run_until_stopped(shutdown.clone()));

        // Salesforce, whose Flow posts outbound messages to the ingress.
        let mut sf_config = SfConfig::new(seed);
        let mut outbound = OutboundConfig::new(
            Url::parse(&format!("{ingress_address}/salesforce/outbound-message")).unwrap(),
        );
        outbound.retry_base = Duration::from_millis(20);
        outbound.retry_cap = Duration::from_millis(200);
        outbound.send_timeout = Duration::from_secs(10);
        sf_config.outbound = Some(outbound);
        let sf = SalesforceSim::start(sf_config)
            .await
            .expect("Salesforce simulator");

        // The worker process, its workers driven by the test.
        let ace = format!(
            "[ace]\nendpoint_url = \"{}\"\ncatalog = \"Sandbox\"\nwrites_per_second = 1000.0\nwrite_burst = 100\nretry_base_delay = \"10ms\"\n[worker]\nwait = \"0s\"\nretry_base = \"0s\"\nretry_cap = \"0s\"\n",
            pc.endpoint_url()
        );
        let sf_settings = sf.settings_toml();
        let mut worker_layers = vec![base.clone(), sf_settings, ace];
        worker_layers.extend(options.worker_settings);
        let layers: Vec<&str> = worker_layers.iter().map(String::as_str).collect();
        let settings = Settings::from_toml_layers(&layers).expect("worker settings");
        let worker = Application::build_role(settings, Role::Work)
            .await
            .expect("worker");

        let worker_env = vec![
            (
                "ACE_SYNC_QUEUE__CHANGES_QUEUE_URL".to_owned(),
                changes.url.clone(),
            ),
            (
                "ACE_SYNC_QUEUE__EVENTS_QUEUE_URL".to_owned(),
                events.url.clone(),
            ),
            ("ACE_SYNC_QUEUE__ENDPOINT_URL".to_owned(), endpoint.clone()),
            (
                "ACE_SYNC_ACE__ENDPOINT_URL".to_owned(),
                pc.endpoint_url().to_owned(),
            ),
            (
                "ACE_SYNC_ACE__WRITES_PER_SECOND".to_owned(),
                "1000.0".to_owned(),
            ),
            ("ACE_SYNC_ACE__WRITE_BURST".to_owned(), "100".to_owned()),
            (
                "ACE_SYNC_SALESFORCE__LOGIN_URL".to_owned(),
                sf.base_url().to_string(),
            ),
            (
                "ACE_SYNC_SALESFORCE__CONSUMER_KEY".to_owned(),
                sf.consumer_key().to_owned(),
            ),
            (
                "ACE_SYNC_SALESFORCE__ORG_IDS".to_owned(),
                format!("[\"{}\"]", sf.org_id()),
            ),
            (
                "ACE_SYNC_SALESFORCE__USERNAME".to_owned(),
                sf.username().to_owned(),
            ),
            (
                "ACE_SYNC_SALESFORCE__PRIVATE_KEY_PATH".to_owned(),
                sf.private_key_path().to_string_lossy().into_owned(),
            ),
        ];
        World {
            sf,
            pc,
            changes,
            events,
            sqs: sqs_client,
            ingress_address,
            worker,
            worker_env,
            worker_layers,
            shutdown,
        }
    }

    /// Another worker process of this world (a replica), built from the same settings; its
    /// workers and sweep are driven by the test.
    pub async fn another_worker(&self) -> Application {
        let layers: Vec<&str> = self.worker_layers.iter().map(String::as_str).collect();
        let settings = Settings::from_toml_layers(&layers).expect("worker settings");
        Application::build_role(settings, Role::Work)
            .await
            .expect("worker")
    }

    fn changes_worker(&self) -> &Arc<Worker> {
        &self.worker.workers()[0]
    }

    fn events_worker(&self) -> &Arc<Worker> {
        &self.worker.workers()[1]
    }

    /// A rep changes fields of an opportunity; waits until Salesforce's outbound message for
    /// it (if the change fires one) has been acknowledged by the ingress.
    pub async fn rep_changes(&self, id: &str, changes: &[(&str, Option<FieldValue>)]) {
        let before = self.delivered();
        self.sf
            .update_as_user(&id.parse().unwrap(), changes)
            .expect("the simulated org takes the change");
        let fired = self
            .sf
            .wait_for_notifications(Duration::from_secs(20), |list| {
                list.iter()
                    .filter(|n| n.state == NotificationState::Delivered)
                    .count()
                    > before
            })
            .await;
        assert!(
            fired,
            "no outbound message was acknowledged for the change to {id}"
        );
    }

    fn delivered(&self) -> usize {
        self.sf
            .notifications()
            .iter()
            .filter(|n| n.state == NotificationState::Delivered)
            .count()
    }

    /// One receive from the changes queue (waiting up to `wait`) and what came of it.
    pub async fn drain_changes_once(&self, wait: Duration) -> BatchReport {
        self.changes_worker()
            .drain_once(wait)
            .await
            .expect("changes queue")
    }

    /// Processes the changes queue, again and again as held jobs (check-agains) come due,
    /// until `done` holds; fails after `timeout`.
    pub async fn drain_changes_until(
        &self,
        timeout: Duration,
        what: &str,
        mut done: impl FnMut() -> bool,
    ) {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            self.drain_changes_once(Duration::from_millis(200)).await;
            if done() {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out after {timeout:?} waiting until {what}"
            );
        }
    }

    /// Processes opportunity changes until the queue is empty, held check-again jobs
    /// included (they come due within seconds while a submission task runs).
    pub async fn drain_changes(&self) -> BatchReport {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        let mut total = self
            .changes_worker()
            .run_until_idle()
            .await
            .expect("changes queue");
        while self.queue_counts(&self.changes.url).await != (0, 0) {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the changes queue did not empty within a minute: {total:?}"
            );
            let report = self.drain_changes_once(Duration::from_millis(500)).await;
            total.done += report.done;
            total.retried += report.retried;
            total.permanent += report.permanent;
            total.coalesced += report.coalesced;
            total.received += report.received;
        }
        total
    }

    /// Lets Partner Central deliver its pending events, then processes them until the events
    /// queue is empty, and the reconciles they queued until the changes queue is (the report
    /// is the events worker's).
    pub async fn drain_events(&self) -> BatchReport {
        self.pc.control().flush_events().await;
        let report = self
            .events_worker()
            .run_until_idle()
            .await
            .expect("events queue");
        self.drain_changes().await;
        report
    }

    /// A field of a Salesforce record, as text.
    pub fn sf_field(&self, id: &str, field: &str) -> Option<String> {
        let id: SfRecordId = id.parse().unwrap();
        self.sf
            .record(&id)
            .and_then(|r| r.fields.get(field).map(FieldValue::to_text))
    }

    /// The ACE opportunities whose PartnerOpportunityIdentifier is `id`.
    pub fn ace_for(&self, id: &str) -> Vec<serde_json::Value> {
        self.pc
            .control()
            .opportunities()
            .into_iter()
            .filter(|o| o["PartnerOpportunityIdentifier"] == id)
            .collect()
    }
}

impl World {
    /// Posts an outbound message to the ingress as Salesforce would; the HTTP status.
    pub async fn post_outbound_message(&self, body: &str) -> u16 {
        reqwest::Client::new()
            .post(format!(
                "{}/salesforce/outbound-message",
                self.ingress_address
            ))
            .header("Content-Type", "text/xml; charset=utf-8")
            .header("SOAPAction", "\"\"")
            .body(body.to_owned())
            .send()
            .await
            .expect("the ingress answers")
            .status()
            .as_u16()
    }

    /// The SOAP envelopes Salesforce has delivered (acknowledged), oldest first.
    pub fn delivered_bodies(&self) -> Vec<String> {
        self.sf
            .deliveries()
            .into_iter()
            .filter(|d| d.outcome == DeliveryOutcome::Acked)
            .map(|d| d.body)
            .collect()
    }

    /// Partner Central calls that write (each counts against ACE's write quota).
    pub fn ace_writes(&self) -> u64 {
        self.pc
            .control()
            .call_counts()
            .iter()
            .filter(|(op, _)| ACE_WRITES.contains(&op.as_str()))
            .map(|(_, n)| n)
            .sum()
    }

    /// Writes to Salesforce so far (PATCH requests of any outcome).
    pub fn sf_writes(&self) -> usize {
        self.sf
            .requests()
            .iter()
            .filter(|r| r.method == "PATCH")
            .count()
    }

    /// Every Partner Central call so far.
    pub fn ace_calls(&self) -> u64 {
        self.pc.control().call_counts().values().sum()
    }

    /// Messages on a queue: (visible, in flight). moto's approximate counts are exact.
    pub async fn queue_counts(&self, url: &str) -> (u64, u64) {
        sqs::counts(&self.sqs, url).await
    }

    /// The record reconcile jobs on the changes queue, left where they are.
    pub async fn peek_changes(&self) -> Vec<ace_sync::domain::job::Reconcile> {
        self.peek_jobs()
            .await
            .into_iter()
            .filter_map(ace_sync::domain::job::Job::into_reconcile)
            .collect()
    }

    /// Every job on the changes queue, left where they are (each is received, then made
    /// visible again at once).
    pub async fn peek_jobs(&self) -> Vec<ace_sync::domain::job::Job> {
        let mut receipts = Vec::new();
        let mut jobs = Vec::new();
        loop {
            let out = self
                .sqs
                .receive_message()
                .queue_url(&self.changes.url)
                .max_number_of_messages(10)
                .visibility_timeout(30)
                .wait_time_seconds(0)
                .send()
                .await
                .expect("receive");
            if out.messages().is_empty() {
                break;
            }
            for message in out.messages() {
                let body = message.body().unwrap_or_default();
                jobs.push(ace_sync::domain::job::Job::decode(body).expect("a job"));
                receipts.push(message.receipt_handle().unwrap_or_default().to_owned());
            }
        }
        for receipt in receipts {
            self.sqs
                .change_message_visibility()
                .queue_url(&self.changes.url)
                .receipt_handle(receipt)
                .visibility_timeout(0)
                .send()
                .await
                .expect("release");
        }
        jobs
    }

    /// Waits (polling, up to `timeout`) until the changes and events queues are both empty:
    /// the reconciles that events queue have run too.
    pub async fn until_queues_empty(&self, timeout: Duration) {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let changes = self.queue_counts(&self.changes.url).await;
            let events = self.queue_counts(&self.events.url).await;
            if changes == (0, 0) && events == (0, 0) {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the queues still hold messages after {timeout:?}: changes {changes:?}, events {events:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// The settings a worker process gets on top of [`World::worker_env`]: short timeouts, so the
/// visibility timeout (which must exceed the worst-case processing time, 12 s with these) is
/// short enough for a test to wait for a message to come back.
pub const PROCESS_SETTINGS: &[(&str, &str)] = &[
    // A worker serves health and metrics; several run at once in the tests.
    ("ACE_SYNC_HTTP__PORT", "0"),
    ("ACE_SYNC_SALESFORCE__REQUEST_TIMEOUT", "1s"),
    ("ACE_SYNC_ACE__CALL_TIMEOUT", "1s"),
    ("ACE_SYNC_ACE__MAX_ATTEMPTS", "1"),
    ("ACE_SYNC_ACE__RETRY_BASE_DELAY", "10ms"),
    ("ACE_SYNC_WORKER__VISIBILITY_TIMEOUT", "13s"),
    ("ACE_SYNC_WORKER__WAIT", "1s"),
    ("ACE_SYNC_WORKER__RETRY_BASE", "200ms"),
    ("ACE_SYNC_WORKER__RETRY_CAP", "1s"),
    ("ACE_SYNC_TELEMETRY__FILTER", "info"),
];

/// A real `ace-sync work` process joined to a [`World`]. Killed when dropped.
pub struct WorkerProcess {
    child: tokio::process::Child,
    log: std::path::PathBuf,
}

impl World {
    /// Starts `ace-sync work` with [`World::worker_env`], [`PROCESS_SETTINGS`] and `extra`
    /// (which wins); its output goes to a log file that [`WorkerProcess::log`] reads.
    pub fn spawn_worker(&self, extra: &[(&str, &str)]) -> WorkerProcess {
        let log = std::env::temp_dir().join(format!(
            "ace-sync-e2e-worker-{:016x}.log",
            fastrand::u64(..)
        ));
        let file = std::fs::File::create(&log).expect("worker log file");
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_ace-sync"));
        command
            .arg("work")
            .envs(
                self.worker_env
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str())),
            )
            .envs(PROCESS_SETTINGS.iter().copied())
            .envs(extra.iter().copied())
            .env("NO_COLOR", "1")
            .stdin(std::process::Stdio::null())
            .stdout(file.try_clone().expect("log file handle"))
            .stderr(file)
            .kill_on_drop(true);
        let child = command.spawn().expect("start ace-sync work");
        WorkerProcess { child, log }
    }
}

impl WorkerProcess {
    /// SIGKILL: no chance to finish anything. Waits until the process is gone.
    pub async fn kill(&mut self) {
        self.child.kill().await.expect("SIGKILL the worker");
    }

    /// SIGTERM: the graceful shutdown.
    pub async fn terminate(&self) {
        let pid = self.child.id().expect("the worker is running");
        let status = tokio::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .await
            .expect("run kill");
        assert!(status.success(), "kill -TERM {pid} failed");
    }

    /// Waits for the process to exit on its own, at most `timeout`.
    pub async fn exit_status(&mut self, timeout: Duration) -> std::process::ExitStatus {
        match tokio::time::timeout(timeout, self.child.wait()).await {
            Ok(status) => status.expect("wait for the worker"),
            Err(_) => panic!(
                "the worker did not exit within {timeout:?}; its log:\n{}",
                self.log()
            ),
        }
    }

    /// Polls `done` every 25 ms until it holds, failing at once (with the log) if the process exits,
    /// and with the log if `timeout` passes.
    pub async fn eventually(
        &mut self,
        timeout: Duration,
        what: &str,
        mut done: impl FnMut() -> bool,
    ) {
        let deadline = tokio::time::Instant::now() + timeout;
        while !done() {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "the worker exited ({status}) before {what}; its log:\n{}",
                    self.log()
                );
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out after {timeout:?} waiting until {what}; the worker's log:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// What the process has logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
        let _ = std::fs::remove_file(&self.log);
    }
}

/// The Partner Central operations that write.
pub const ACE_WRITES: &[&str] = &[
    "CreateOpportunity",
    "UpdateOpportunity",
    "AssociateOpportunity",
    "DisassociateOpportunity",
    "StartEngagementFromOpportunityTask",
    "SubmitOpportunity",
];

pub fn text(s: &str) -> Option<FieldValue> {
    Some(FieldValue::Text(s.to_owned()))
}
