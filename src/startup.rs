//! Wiring: the only module that names concrete adapters. `Application::build` binds the
//! listener (port 0 picks a free one, which tests use) and reports the port;
//! `run_until_stopped` serves until the cancellation token fires, then drains.
//!
//! Three roles share one binary: `serve` (the ingress), `work` (the workers), `all` (both, in
//! one process: for the embedded in-memory queue, development and the demo). The roles that
//! serve Salesforce (`serve`, `all`) also serve the [`api`](crate::api) when `api.enabled`,
//! with clients of their own that cannot write.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::{App, HttpServer, web};
use prometheus_client::registry::Registry;
use tokio_util::sync::CancellationToken;
use utoipa_actix_web::AppExt;

use crate::ace::model::ModelError;
use crate::adapters::batcher::{self, BatchPolicy, BatcherMetrics, BatcherTask};
use crate::adapters::sqs::{self, SqsMetrics};
use crate::api::{ApiMetrics, ApiState};
use crate::config::{QueueSettings, Settings};
use crate::health::Outages;
use crate::ingress::admission::Admission;
use crate::ingress::verify::Verifier;
use crate::ingress::{self, IngressMetrics, IngressState};
use crate::metrics::{self, MetricsRegistry};
use crate::ports::lanes::Lanes;
use crate::ports::partner_central::PartnerCentral;
use crate::ports::queue::JobQueue;
use crate::ports::salesforce::{SalesforceError, SalesforceOrg};
use crate::worker::bulk::BulkProcessor;
use crate::worker::changes::{ChangesProcessor, CheckAgain};
use crate::worker::events::{EventMetrics, EventsProcessor};
use crate::worker::reconcile::Reconciler;
use crate::worker::referrals::ReferralMetrics;
use crate::worker::sweep::{SweepMetrics, Sweeper};
use crate::worker::{Worker, WorkerConfig, WorkerMetrics};

mod parts;
mod queues;
mod quota;
pub use parts::OperatorParts;
use parts::ReconcilerParts;
pub use queues::QueueHandle;

/// Why the application could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("cannot listen on {address}")]
    Bind {
        address: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the workers need a Salesforce client: {0}")]
    Salesforce(#[source] SalesforceError),
    #[error("the API (api.enabled) reads opportunities and needs a Salesforce client: {0}")]
    ApiSalesforce(#[source] SalesforceError),
    #[error("the mapping cannot be used")]
    Mapping(#[source] crate::config::ConfigError),
    #[error("AWS's service model cannot be loaded")]
    Model(#[source] ModelError),
    #[error(
        "the shared ACE write quota (ace.quota.table {table}) cannot be used; a worker never falls back to a quota of its own"
    )]
    Quota {
        table: String,
        #[source]
        source: crate::adapters::partner_central::limiter::QuotaStoreError,
    },
    /// Settings a production role must not run with.
    #[error("refusing to start")]
    Unsafe(#[source] crate::config::ConfigError),
}

/// What a process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The ingress only.
    Serve,
    /// The workers only.
    Work,
    /// Ingress and workers.
    All,
}

impl Role {
    /// Whether the process takes outbound messages.
    pub fn serves(self) -> bool {
        matches!(self, Role::Serve | Role::All)
    }

    /// Whether the process runs workers.
    pub fn works(self) -> bool {
        matches!(self, Role::Work | Role::All)
    }
}

/// What a caller may hand in instead of having it built from the settings: the embedded demo
/// and tests share queues with the simulators.
pub struct Dependencies {
    pub changes: Option<QueueHandle>,
    /// The bulk lane's queue; built from `queue.bulk_queue_url` when absent.
    pub bulk: Option<QueueHandle>,
    pub events: Option<QueueHandle>,
    pub salesforce: Option<Arc<dyn SalesforceOrg>>,
    pub partner_central: Option<Arc<dyn PartnerCentral>>,
    pub registry: Registry,
    /// A socket to serve on instead of binding `http.host:http.port`: whoever must know the
    /// ingress's address before the application is built (the demo's Salesforce simulator,
    /// whose outbound messages go there) binds it first.
    pub listener: Option<TcpListener>,
}

impl Default for Dependencies {
    fn default() -> Self {
        Self {
            changes: None,
            bulk: None,
            events: None,
            salesforce: None,
            partner_central: None,
            registry: metrics::registry(),
            listener: None,
        }
    }
}

/// A built, bound, not yet running application.
pub struct Application {
    port: u16,
    server: actix_web::dev::Server,
    workers: Vec<Arc<Worker>>,
    changes: QueueHandle,
    bulk: Option<QueueHandle>,
    events: Option<QueueHandle>,
    lanes: Lanes,
    bulk_worker: Option<Arc<Worker>>,
    /// The periodic reconcile sweep of a working process (`worker.sweep`).
    sweeper: Option<Arc<Sweeper>>,
    reconciler: Option<Arc<Reconciler>>,
    registry: MetricsRegistry,
    outages: Outages,
    /// The ingress's batched sends to SQS, stopped once the server has finished.
    batcher: Option<BatcherTask>,
}

impl Application {
    /// The ingress, on the queue the settings name.
    pub async fn build(settings: Settings) -> Result<Application, StartupError> {
        Self::build_with(settings, Role::Serve, Dependencies::default()).await
    }

    /// `role` with everything built from the settings.
    pub async fn build_role(settings: Settings, role: Role) -> Result<Application, StartupError> {
        Self::build_with(settings, role, Dependencies::default()).await
    }

    /// `role`, using whatever `dependencies` provides and building the rest.
    pub async fn build_with(
        settings: Settings,
        role: Role,
        dependencies: Dependencies,
    ) -> Result<Application, StartupError> {
        let Dependencies {
            changes,
            bulk,
            events,
            salesforce,
            partner_central,
            mut registry,
            listener,
        } = dependencies;
        // A caller that hands in its own queue (the demo, tests) has decided where jobs go.
        let embedded_queue = role == Role::All || changes.is_some();
        let unsafe_settings = settings.safety_problems(role.serves(), role.works(), embedded_queue);
        if !unsafe_settings.is_empty() {
            return Err(StartupError::Unsafe(crate::config::ConfigError::many(
                unsafe_settings,
            )));
        }
        let sqs_metrics = SqsMetrics::register(&mut registry);
        let changes = match changes {
            Some(queue) => queue,
            None => QueueHandle::changes(&settings, sqs_metrics.clone()).await,
        };
        let entries_retried = sqs_metrics.entries_retried();
        let bulk = match bulk {
            Some(queue) => Some(queue),
            None => QueueHandle::bulk(&settings, sqs_metrics.clone()).await,
        };
        let events = match events {
            Some(queue) => Some(queue),
            None => QueueHandle::events(&settings, sqs_metrics).await,
        };
        // The ingress shares SendMessageBatch calls between concurrent requests; the embedded
        // queue takes messages in memory and needs no batching.
        let (changes_sender, batcher) = match &changes {
            QueueHandle::Sqs(queue) if role.serves() => {
                let (queue, task) = batcher::spawn(
                    Arc::new(queue.clone()),
                    batch_policy(&settings.queue),
                    BatcherMetrics::register(&mut registry, entries_retried),
                );
                (Arc::new(queue) as Arc<dyn JobQueue>, Some(task))
            }
            _ => (changes.as_job_queue(), None),
        };
        // Jobs go to the interactive lane or, when a bulk queue is configured, the bulk one
        // (a mass update, the sweep, a backfill).
        let lanes = Lanes::new(
            changes_sender,
            bulk.as_ref().map(QueueHandle::as_job_queue),
            settings.queue.bulk_notifications,
        );

        let outages = Outages::register(&mut registry);
        let mut workers = Vec::new();
        let mut reconciler = None;
        let mut bulk_worker = None;
        let mut sweeper = None;
        let serves_api = role.serves() && settings.api.enabled;
        let parts = if role.works() || serves_api {
            Some(
                ReconcilerParts::build(
                    &settings,
                    role.works(),
                    salesforce,
                    partner_central,
                    &mut registry,
                )
                .await?,
            )
        } else {
            None
        };
        let api = match &parts {
            Some(parts) if serves_api => Some(web::Data::new(ApiState {
                reconciler: Arc::new(parts.read_only()),
                queue: changes.as_job_queue(),
                keys: crate::api::auth::ApiKeys::from_settings(&settings.api),
                deadline: settings.api.deadline,
                metrics: ApiMetrics::register(&mut registry),
            })),
            _ => None,
        };
        if let Some(parts) = parts.filter(|_| role.works()) {
            let (built, bulk_lane) = parts.reconcilers();
            let worker_metrics = WorkerMetrics::register(&mut registry);
            let config = WorkerConfig {
                concurrency: settings.worker.concurrency,
                wait: settings.worker.wait,
                retry_base: settings.worker.retry_base,
                retry_cap: settings.worker.retry_cap,
                shutdown_grace: settings.worker.shutdown_grace,
            };
            let check_again = CheckAgain {
                cap: settings.worker.check_again_cap,
                max_checks: settings.worker.check_again_max,
            };
            workers.push(Arc::new(Worker::new(
                changes.as_job_source(),
                Arc::new(
                    ChangesProcessor::new(
                        built.clone(),
                        changes.as_job_queue(),
                        check_again,
                        outages.clone(),
                    )
                    // AWS referrals (worker/referrals).
                    .with_referral_metrics(ReferralMetrics::register(&mut registry)),
                ),
                config.clone(),
                worker_metrics.clone(),
            )));
            if let Some(bulk) = &bulk {
                // Bulk work is reconciled like any other, with the bulk lane's share of the
                // write quota; its check-agains stay on its own queue.
                let processor = BulkProcessor::new(ChangesProcessor::new(
                    bulk_lane.reconciler,
                    bulk.as_job_queue(),
                    check_again,
                    outages.clone(),
                ));
                let mut worker = Worker::new(
                    bulk.as_job_source(),
                    Arc::new(processor),
                    config.clone(),
                    worker_metrics.clone(),
                );
                if let Some(gate) = bulk_lane.gate {
                    worker = worker.with_gate(gate);
                }
                bulk_worker = Some(Arc::new(worker));
            }
            match &events {
                Some(events) => workers.push(Arc::new(Worker::new(
                    events.as_job_source(),
                    Arc::new(
                        EventsProcessor::new(
                            built.partner_central().clone(),
                            built.salesforce().clone(),
                            changes.as_job_queue(),
                            built.catalog(),
                            EventMetrics::register(&mut registry),
                            outages.clone(),
                        )
                        // AWS referrals (worker/referrals).
                        .with_referrals(built.mapping().referrals.is_some()),
                    ),
                    config,
                    worker_metrics,
                ))),
                None => tracing::warn!(
                    "no Partner Central events queue (queue.events_queue_url): review results reach Salesforce only when an opportunity changes again"
                ),
            }
            if settings.worker.sweep.enabled() {
                let mut built_sweeper = Sweeper::new(
                    built.salesforce().clone(),
                    built.partner_central().clone(),
                    lanes.clone(),
                    built
                        .mapping()
                        .stages
                        .iter()
                        .map(|s| s.salesforce.clone())
                        .collect(),
                    built.mapping().referrals.is_some(),
                    settings.worker.sweep.clone(),
                    SweepMetrics::register(&mut registry, &settings.worker.sweep),
                    outages.clone(),
                );
                if let Some(claims) = quota::sweep_claims(&settings).await {
                    built_sweeper = built_sweeper.with_claims(claims);
                }
                sweeper = Some(Arc::new(built_sweeper));
            }
            reconciler = Some(built);
        }

        // Every role serves HTTP: the ingress its routes, a worker-only process health and
        // metrics, so orchestrators can probe it and Prometheus can scrape it.
        let ingress_metrics = IngressMetrics::register(&mut registry);
        let registry_handle = MetricsRegistry::new(registry);
        let state = ingress_state(
            &settings,
            Arc::new(lanes.clone()),
            ingress_metrics,
            registry_handle.clone(),
            outages.clone(),
        );
        let (port, server) = serve(&settings, role, listener, state, api)?;
        Ok(Application {
            port,
            server,
            workers,
            changes,
            bulk,
            events,
            lanes,
            bulk_worker,
            sweeper,
            reconciler,
            registry: registry_handle,
            outages: outages.clone(),
            batcher,
        })
    }

    /// The HTTP port: the ingress's, or for a worker-only process its health and metrics.
    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn changes_queue(&self) -> &QueueHandle {
        &self.changes
    }

    /// The bulk lane's queue, if one is configured.
    pub fn bulk_queue(&self) -> Option<&QueueHandle> {
        self.bulk.as_ref()
    }

    /// Where reconcile jobs are queued by lane: what the sweep and the backfill use.
    pub fn lanes(&self) -> &Lanes {
        &self.lanes
    }

    /// The bulk lane's worker, when a bulk queue is configured and this process works.
    pub fn bulk_worker(&self) -> Option<&Arc<Worker>> {
        self.bulk_worker.as_ref()
    }

    /// The sweep, when this process works and `worker.sweep.interval` is not 0.
    pub fn sweeper(&self) -> Option<&Arc<Sweeper>> {
        self.sweeper.as_ref()
    }

    pub fn events_queue(&self) -> Option<&QueueHandle> {
        self.events.as_ref()
    }

    /// The workers (changes first, then events), for tests that drive them step by step.
    pub fn workers(&self) -> &[Arc<Worker>] {
        &self.workers
    }

    pub fn reconciler(&self) -> Option<&Arc<Reconciler>> {
        self.reconciler.as_ref()
    }

    pub fn metrics(&self) -> &MetricsRegistry {
        &self.registry
    }

    /// The deployment problems the workers met and have not seen fixed (what `/health/ready`
    /// answers `degraded` for).
    pub fn outages(&self) -> &Outages {
        &self.outages
    }

    /// Serves and works until `shutdown` is cancelled. The server stops accepting and lets
    /// requests in flight finish; the workers stop receiving and finish what they hold.
    pub async fn run_until_stopped(self, shutdown: CancellationToken) -> std::io::Result<()> {
        let mut tasks = tokio::task::JoinSet::new();
        for worker in self.workers.into_iter().chain(self.bulk_worker) {
            let token = shutdown.clone();
            tasks.spawn(async move {
                worker.run(token).await;
                Ok(())
            });
        }
        if let Some(sweeper) = self.sweeper {
            let token = shutdown.clone();
            tasks.spawn(async move {
                sweeper.run(token).await;
                Ok(())
            });
        }
        let handle = self.server.handle();
        let token = shutdown.clone();
        tasks.spawn(async move {
            token.cancelled().await;
            handle.stop(true).await;
            Ok(())
        });
        // Requests in flight finish first (they wait on the batcher); then the batcher stops,
        // failing whatever still waits, so nothing is acknowledged unsent.
        let server = self.server;
        let batcher = self.batcher;
        tasks.spawn(async move {
            let result = server.await;
            if let Some(batcher) = batcher {
                batcher.stop().await;
            }
            result
        });
        let mut result = Ok(());
        while let Some(done) = tasks.join_next().await {
            match done {
                Ok(Err(e)) => {
                    // The server failed: stop the rest too.
                    shutdown.cancel();
                    result = Err(e);
                }
                Err(e) => tracing::error!(error = %e, "a task of the application failed"),
                Ok(Ok(())) => {}
            }
        }
        result
    }
}

/// What the HTTP handlers share.
fn ingress_state(
    settings: &Settings,
    queue: Arc<dyn JobQueue>,
    metrics: IngressMetrics,
    registry: MetricsRegistry,
    outages: Outages,
) -> IngressState {
    IngressState {
        queue: queue.clone(),
        verifier: Verifier::new(
            settings.salesforce.org_ids.clone(),
            settings.ingress.shared_secret.clone(),
            settings.salesforce.my_domain.clone(),
        ),
        body_limit: settings.http.body_limit_bytes,
        admission: Admission::new(
            settings.ingress.max_in_flight_notifications,
            settings.ingress.max_in_flight_bytes,
        ),
        metrics,
        registry,
        outages,
    }
}

fn serve(
    settings: &Settings,
    role: Role,
    listener: Option<TcpListener>,
    state: IngressState,
    api: Option<web::Data<ApiState>>,
) -> Result<(u16, actix_web::dev::Server), StartupError> {
    let queue = state.queue.clone();
    let address = match &listener {
        Some(listener) => listener
            .local_addr()
            .map_or_else(|_| "the given socket".to_owned(), |a| a.to_string()),
        None => format!("{}:{}", settings.http.host, settings.http.port),
    };
    let bind_error = |source| StartupError::Bind {
        address: address.clone(),
        source,
    };
    let listener = match listener {
        Some(listener) => listener,
        None => TcpListener::bind(&address).map_err(bind_error)?,
    };
    let port = listener.local_addr().map_err(bind_error)?.port();
    let state = web::Data::new(state);
    let serves = role.serves();
    let mut server = HttpServer::new(move || {
        let app = App::new().into_utoipa_app().app_data(state.clone());
        let app = if serves {
            app.configure(ingress::routes)
        } else {
            app.configure(ingress::operations_routes)
        };
        match &api {
            Some(api) => app
                .app_data(api.clone())
                .configure(crate::api::routes)
                .into_app(),
            None => app.into_app(),
        }
    })
    // Signals belong to `shutdown`; the server stops when the token fires.
    .disable_signals()
    .client_request_timeout(settings.http.client_request_timeout)
    .shutdown_timeout(30);
    if settings.http.workers > 0 {
        server = server.workers(settings.http.workers);
    }
    let server = server.listen(listener).map_err(bind_error)?.run();
    if serves {
        tracing::info!(port, queue = queue.kind(), "ingress listening");
    } else {
        tracing::info!(port, "health and metrics listening");
    }
    Ok((port, server))
}

/// How the ingress batches its sends to SQS.
fn batch_policy(settings: &QueueSettings) -> BatchPolicy {
    BatchPolicy {
        max_entries: sqs::MAX_BATCH_ENTRIES,
        max_bytes: settings.batch_max_bytes,
        linger: settings.batch_linger,
        max_calls_in_flight: settings.batch_calls_in_flight,
        attempts: settings.send_attempts,
        deadline: settings.send_deadline,
    }
}
