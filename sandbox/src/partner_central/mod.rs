//! A local AWS Partner Central Selling API (awsJson1_0), driven by AWS's service model.
//!
//! The real `aws-sdk-partnercentralselling` client (or boto3) works against it unchanged with
//! `endpoint_url` set to [`SimHandle::endpoint_url`]. Every request is validated against the
//! botocore model ([`ace_sync::ace::model`]), then against ACE's business rules (`rules`), and the
//! service behaves as ace-api.md §3–§10 describe: ClientToken idempotency, full-replace updates
//! with `LastModifiedDate` as optimistic-concurrency token, review locks, submission checks,
//! asynchronous Start…Task tasks ([`TaskTiming`]), a simulated AWS review, engagement
//! invitations, EventBridge-shaped events and quotas.
//!
//! ```text
//! server (wire) → service (pipeline: calls, faults, quotas, model, catalog)
//!   → opportunities | associations | submission | aws_summary | invitations | acceptance
//!   → rules, tasks, review_flow + review, store, events; timers (what happens later)
//! ```
//! The control API ([`SimControl`]) reads and steers the state in-process; `control_http`
//! offers what a standalone simulator needs of it over HTTP (`/__sim/…`).
//!
//! Embedded data the simulator alone needs (`data/`): see `reference_data`; AWS's documented
//! values are the product's (`ace_sync::ace::rules`).

mod acceptance;
mod associations;
mod aws_summary;
mod control;
mod control_http;
mod error;
mod events;
mod invitations;
mod opportunities;
mod quotas;
mod reference_data;
mod review;
mod review_flow;
mod rules;
mod server;
mod service;
mod store;
mod submission;
mod tasks;
mod timers;

use std::net::{IpAddr, Ipv4Addr, TcpListener};
use std::sync::Arc;
use std::time::Duration;

use actix_web::{App, HttpServer, web};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use ace_sync::ace::model::{ModelError, ServiceModel};

pub use control::{
    ContactSpec, Fault, InvitationSpec, LoggedCall, OpportunityChange, ReviewTransition, SimControl,
};
pub use events::{EventSink, JobQueueEventSink, SimEvent, SinkError, SqsEventSink};
pub use quotas::{QuotaConfig, RateQuota};
pub use review::{ReviewConfig, ReviewDecision, ReviewPolicy, ReviewRules, ReviewTiming};
pub use tasks::TaskTiming;

use service::Sim;

/// How to run a simulator.
#[derive(Debug, Clone)]
pub struct SimConfig {
    pub host: IpAddr,
    /// 0 picks a free port (tests).
    pub port: u16,
    /// actix worker threads.
    pub workers: usize,
    /// The simulated partner's AWS account (in ARNs and events).
    pub account_id: String,
    pub region: String,
    pub quotas: QuotaConfig,
    pub review: ReviewConfig,
    /// When the asynchronous tasks (Start…Task) end.
    pub tasks: TaskTiming,
    /// How long AWS's referrals wait for the partner's answer before they expire, unless their
    /// spec says (15 days, as partner-to-partner invitations; AWS's own window is UNCONFIRMED,
    /// ace-api.md §8).
    pub invitation_expiry: Duration,
    /// Targets of the simulated EventBridge rule.
    pub event_sinks: Vec<Arc<dyn EventSink>>,
    /// A model already loaded; loaded from the embedded file when `None`.
    pub model: Option<Arc<ServiceModel>>,
}

impl Default for SimConfig {
    /// The documented quotas and automatic reviews (a few seconds each step), on a free
    /// loopback port. Tasks end within their Start…Task call, which AWS's do not: see
    /// [`SimConfig::realistic`].
    fn default() -> Self {
        SimConfig {
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 0,
            workers: 1,
            account_id: "123456789012".to_owned(),
            region: "us-east-1".to_owned(),
            quotas: QuotaConfig::aws(),
            review: ReviewConfig::default(),
            tasks: TaskTiming::Immediate,
            invitation_expiry: Duration::from_secs(15 * 24 * 60 * 60),
            event_sinks: Vec::new(),
            model: None,
        }
    }
}

impl SimConfig {
    /// As AWS behaves: the defaults, with Start…Task tasks that answer `IN_PROGRESS` and end a
    /// few seconds later ([`TaskTiming::REALISTIC`]).
    pub fn realistic() -> Self {
        SimConfig {
            tasks: TaskTiming::REALISTIC,
            ..SimConfig::default()
        }
    }

    /// For tests: no quotas, reviews move only when stepped through the control API.
    pub fn for_tests() -> Self {
        SimConfig {
            quotas: QuotaConfig::unlimited(),
            review: ReviewConfig {
                timing: ReviewTiming::Manual,
                ..ReviewConfig::default()
            },
            ..SimConfig::default()
        }
    }
}

/// Why a simulator did not start.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("cannot load the Partner Central service model")]
    Model(#[from] ModelError),
    #[error("cannot listen on {address}")]
    Bind {
        address: String,
        #[source]
        source: std::io::Error,
    },
}

/// A running simulator. Stop it with [`SimHandle::stop`]; dropping it stops the server too,
/// without waiting.
#[derive(Debug)]
pub struct SimHandle {
    endpoint_url: String,
    port: u16,
    control: SimControl,
    server: Option<actix_web::dev::ServerHandle>,
    stop: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
}

impl SimHandle {
    /// `http://host:port`: the `endpoint_url` for SDK clients.
    pub fn endpoint_url(&self) -> &str {
        &self.endpoint_url
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn control(&self) -> &SimControl {
        &self.control
    }

    /// Delivers pending events, stops serving (letting requests in flight finish) and ends
    /// the background tasks.
    pub async fn stop(mut self) {
        self.control.flush_events().await;
        if let Some(server) = self.server.take() {
            server.stop(true).await;
        }
        self.stop.cancel();
        for task in std::mem::take(&mut self.tasks) {
            let _ = task.await;
        }
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        self.stop.cancel();
        if let Some(server) = self.server.take()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            runtime.spawn(async move { server.stop(false).await });
        }
    }
}

/// Starts a simulator on the current tokio runtime.
pub async fn start(config: SimConfig) -> Result<SimHandle, SimError> {
    let model = match &config.model {
        Some(model) => Arc::clone(model),
        None => Arc::new(ServiceModel::load()?),
    };
    let stop = CancellationToken::new();
    let (bus, delivery) = events::EventBus::new(config.event_sinks.clone(), stop.clone());
    let (timers_tx, timers_rx) = mpsc::unbounded_channel();
    let sim = Arc::new(Sim::new(model, &config, bus, timers_tx));
    let address = format!("{}:{}", config.host, config.port);
    let bind_error = |source| SimError::Bind {
        address: address.clone(),
        source,
    };
    let listener = TcpListener::bind(&address).map_err(bind_error)?;
    let port = listener.local_addr().map_err(bind_error)?.port();
    let data = web::Data::new(Arc::clone(&sim));
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .configure(control_http::routes)
            .configure(server::routes)
    })
    .workers(config.workers.max(1))
    // Signals belong to whoever runs the simulator (tests, `run_standalone`).
    .disable_signals()
    .shutdown_timeout(5)
    .listen(listener)
    .map_err(bind_error)?
    .run();
    let server_handle = server.handle();
    let mut tasks = Vec::new();
    tasks.push(tokio::spawn(async move {
        if let Err(e) = server.await {
            tracing::error!(error = %e, "partner central simulator stopped with an error");
        }
    }));
    tasks.push(tokio::spawn(delivery));
    tasks.push(tokio::spawn(Sim::run_timers(
        Arc::downgrade(&sim),
        timers_rx,
        stop.clone(),
    )));
    let host = match config.host {
        IpAddr::V4(ip) if ip.is_unspecified() => "127.0.0.1".to_owned(),
        IpAddr::V6(ip) if ip.is_unspecified() => "[::1]".to_owned(),
        IpAddr::V6(ip) => format!("[{ip}]"),
        ip => ip.to_string(),
    };
    tracing::info!(port, "partner central simulator listening");
    Ok(SimHandle {
        endpoint_url: format!("http://{host}:{port}"),
        port,
        control: SimControl { sim },
        server: Some(server_handle),
        stop,
        tasks,
    })
}

/// Runs a simulator on `port` until `shutdown` fires (`ace-sync sandbox partner-central`).
pub async fn run_standalone(
    port: u16,
    mut config: SimConfig,
    shutdown: CancellationToken,
) -> Result<(), SimError> {
    config.port = port;
    let handle = start(config).await?;
    tracing::info!(
        endpoint_url = handle.endpoint_url(),
        aws_referrals = %format!("{}/__sim/aws-referrals", handle.endpoint_url()),
        "partner central simulator ready"
    );
    shutdown.cancelled().await;
    handle.stop().await;
    Ok(())
}

/// An SQS event sink for a queue URL, with the default AWS credential chain and an optional
/// endpoint override (a local SQS-compatible server).
pub async fn sqs_event_sink(
    queue_url: &str,
    region: &str,
    endpoint_url: Option<&str>,
) -> SqsEventSink {
    let shared = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(region.to_owned()))
        .load()
        .await;
    let mut builder = aws_sdk_sqs::config::Builder::from(&shared);
    if let Some(endpoint) = endpoint_url {
        builder = builder.endpoint_url(endpoint);
    }
    SqsEventSink::new(aws_sdk_sqs::Client::from_conf(builder.build()), queue_url)
}

/// ace-sync's real Partner Central client, for the simulator: with static credentials, since the simulator checks no
/// signature, and without them the SDK would look for an AWS account this machine may not
/// have.
pub async fn client(
    settings: &ace_sync::config::Settings,
    registry: &mut prometheus_client::registry::Registry,
) -> std::sync::Arc<dyn ace_sync::ports::partner_central::PartnerCentral> {
    let shared = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(settings.ace.region.clone()))
        .credentials_provider(aws_sdk_partnercentralselling::config::Credentials::new(
            "ACE_SYNC_DEMO",
            "not-a-secret",
            None,
            None,
            "ace-sync demo",
        ))
        .load()
        .await;
    let client = aws_sdk_partnercentralselling::Client::from_conf(
        ace_sync::adapters::partner_central::sdk_config(&settings.ace, &shared).build(),
    );
    std::sync::Arc::new(
        ace_sync::adapters::partner_central::PartnerCentralClient::new(
            client,
            &settings.ace,
            ace_sync::adapters::partner_central::write_limiter(&settings.ace),
            ace_sync::adapters::partner_central::PartnerCentralMetrics::register(registry),
        ),
    )
}
