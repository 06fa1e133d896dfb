//! The whole system for end-to-end tests, driven the way production is driven: a Salesforce
//! simulator whose workflow rule posts outbound messages into the real ingress, moto's SQS for
//! both queues, the Partner Central simulator delivering EventBridge-shaped events to the
//! events queue, and workers that the test drives step by step.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use ace_sync::config::Settings;
use ace_sync::domain::ids::SfRecordId;
use ace_sync::domain::sobject::{Decimal, FieldValue};
use ace_sync::sim::partner_central::{self as pc, SimConfig as PcConfig, SimHandle};
use ace_sync::sim::salesforce::{
    NotificationState, OutboundConfig, SalesforceSim, Seed, SeedRecord, SimConfig as SfConfig,
};
use ace_sync::startup::{Application, Role};
use ace_sync::worker::{BatchReport, Worker};
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;
use url::Url;

use super::sqs::{self, FifoQueue};

pub const ACME_ACCOUNT: &str = "0015g00000LmNoPAAV";

/// What a test may change before the world starts.
pub struct Options {
    pub pc: PcConfig,
    /// Extra settings TOML for the worker process.
    pub worker_settings: Vec<String>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            pc: PcConfig::for_tests(),
            worker_settings: Vec::new(),
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
    #[allow(dead_code)] // for tests that run the worker as a real process
    pub worker_env: Vec<(String, String)>,
    shutdown: CancellationToken,
}

impl Drop for World {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// An opportunity every rule of the default mapping accepts, at `stage`.
pub fn complete_opportunity(id: &str, name: &str, stage: &str) -> SeedRecord {
    let close = OffsetDateTime::now_utc().date() + time::Duration::days(90);
    let text = |s: &str| FieldValue::Text(s.to_owned());
    let multi = |v: &[&str]| FieldValue::Multi(v.iter().map(|s| (*s).to_owned()).collect());
    let fields: BTreeMap<String, FieldValue> = [
        ("Name", text(name)),
        ("AccountId", text(ACME_ACCOUNT)),
        ("StageName", text(stage)),
        ("CloseDate", FieldValue::Date(close)),
        ("Type", text("New Customer")),
        ("Amount", FieldValue::Number(Decimal::parse("250000").unwrap())),
        (
            "ACE_Business_Problem__c",
            text("Acme's on-premises data warehouse misses its nightly load window twice a week, delaying the reports plant managers need at 7 am; they want Redshift with Glue pipelines to cut the load to under an hour."),
        ),
        (
            "ACE_Expected_Monthly_Spend__c",
            FieldValue::Number(Decimal::parse("12000").unwrap()),
        ),
        ("Use_Cases__c", multi(&["Migration/Database Migration"])),
        ("ACE_Delivery_Models__c", multi(&["Professional Services"])),
        ("ACE_Sales_Activities__c", multi(&["Conducted POC / Demo"])),
        ("ACE_Primary_Needs__c", multi(&["Co-Sell - Architectural Validation"])),
        ("AWS_Products__c", multi(&["AmazonRedshift", "AWSGlue"])),
        ("AWS_Field_Contact__c", text("Jane Doe <jane.doe@amazon.com>")),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    SeedRecord {
        sobject_type: "Opportunity",
        id: id.parse().unwrap(),
        fields,
    }
}

/// The small seed's accounts, and the given opportunities.
pub fn seed(opportunities: Vec<SeedRecord>) -> Seed {
    let mut seed = Seed::small();
    seed.records.retain(|r| r.sobject_type == "Account");
    seed.records.extend(opportunities);
    seed
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
        pc_config.event_sinks.push(Arc::new(
            pc::sqs_event_sink(&events.url, "us-east-1", Some(&endpoint)).await,
        ));
        let pc = pc::start(pc_config)
            .await
            .expect("Partner Central simulator");

        // The ingress process.
        let base = format!(
            "[http]\nport = 0\nworkers = 1\n[queue]\nchanges_queue_url = \"{}\"\nevents_queue_url = \"{}\"\nendpoint_url = \"{endpoint}\"\nsend_deadline = \"5s\"\ncall_timeout = \"2s\"\n",
            changes.url, events.url
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
        let mut layers: Vec<&str> = vec![&base, &sf_settings, &ace];
        layers.extend(options.worker_settings.iter().map(String::as_str));
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
            shutdown,
        }
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

    /// Processes opportunity changes until the queue is empty.
    pub async fn drain_changes(&self) -> BatchReport {
        self.changes_worker()
            .run_until_idle()
            .await
            .expect("changes queue")
    }

    /// Lets Partner Central deliver its pending events, then processes them until the events
    /// queue is empty.
    pub async fn drain_events(&self) -> BatchReport {
        self.pc.control().flush_events().await;
        self.events_worker()
            .run_until_idle()
            .await
            .expect("events queue")
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

pub fn text(s: &str) -> Option<FieldValue> {
    Some(FieldValue::Text(s.to_owned()))
}
