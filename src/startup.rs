//! Wiring: the only module that names concrete adapters. `Application::build` binds the
//! listener (port 0 picks a free one, which tests use) and reports the port;
//! `run_until_stopped` serves until the cancellation token fires, then drains.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::{App, HttpServer, web};
use tokio_util::sync::CancellationToken;
use utoipa_actix_web::AppExt;

use crate::adapters::memory_queue::MemoryQueue;
use crate::adapters::sqs::{self, SendPolicy, SqsMetrics, SqsQueue};
use crate::config::Settings;
use crate::ingress::verify::Verifier;
use crate::ingress::{self, IngressMetrics, IngressState};
use crate::metrics::{self, MetricsRegistry};
use crate::ports::queue::JobQueue;

/// Why the application could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("cannot listen on {address}")]
    Bind {
        address: String,
        #[source]
        source: std::io::Error,
    },
}

/// The queue behind the ingress, chosen from the settings.
#[derive(Debug, Clone)]
pub enum ChangesQueue {
    Sqs(SqsQueue),
    Memory(MemoryQueue),
}

impl ChangesQueue {
    pub async fn from_settings(settings: &Settings, metrics: SqsMetrics) -> ChangesQueue {
        match &settings.queue.changes_queue_url {
            Some(url) => {
                let client = sqs::client(&settings.queue).await;
                ChangesQueue::Sqs(SqsQueue::new(
                    client,
                    url,
                    SendPolicy::from_settings(&settings.queue),
                    metrics,
                ))
            }
            None => {
                tracing::warn!(
                    "NO SQS QUEUE CONFIGURED: using the embedded in-memory queue. It is NOT durable: \
                     outbound messages acknowledged to Salesforce are lost if this process stops. \
                     Set queue.changes_queue_url (ACE_SYNC_QUEUE__CHANGES_QUEUE_URL) for production."
                );
                ChangesQueue::Memory(MemoryQueue::new(
                    "ace-sync-changes",
                    settings.queue.memory.clone(),
                ))
            }
        }
    }

    pub fn as_job_queue(&self) -> Arc<dyn JobQueue> {
        match self {
            ChangesQueue::Sqs(q) => Arc::new(q.clone()),
            ChangesQueue::Memory(q) => Arc::new(q.clone()),
        }
    }
}

/// A built, bound, not yet running application.
pub struct Application {
    port: u16,
    server: actix_web::dev::Server,
    queue: ChangesQueue,
}

impl Application {
    /// Builds the ingress on the queue the settings name.
    pub async fn build(settings: Settings) -> Result<Application, StartupError> {
        let mut registry = metrics::registry();
        let sqs_metrics = SqsMetrics::register(&mut registry);
        let queue = ChangesQueue::from_settings(&settings, sqs_metrics).await;
        Self::build_with_queue(settings, queue, registry)
    }

    /// Builds the ingress on a given queue (the demo and tests share the queue with workers).
    pub fn build_with_queue(
        settings: Settings,
        queue: ChangesQueue,
        mut registry: prometheus_client::registry::Registry,
    ) -> Result<Application, StartupError> {
        let ingress_metrics = IngressMetrics::register(&mut registry);
        let state = IngressState {
            queue: queue.as_job_queue(),
            verifier: Verifier::new(
                settings.salesforce.org_ids.clone(),
                settings.ingress.shared_secret.clone(),
                settings.salesforce.my_domain.clone(),
            ),
            field_types: settings.field_types(),
            body_limit: settings.http.body_limit_bytes,
            metrics: ingress_metrics,
            registry: MetricsRegistry::new(registry),
        };
        let address = format!("{}:{}", settings.http.host, settings.http.port);
        let listener = TcpListener::bind(&address).map_err(|source| StartupError::Bind {
            address: address.clone(),
            source,
        })?;
        let port = listener
            .local_addr()
            .map_err(|source| StartupError::Bind {
                address: address.clone(),
                source,
            })?
            .port();
        let state = web::Data::new(state);
        let mut server = HttpServer::new(move || {
            App::new()
                .into_utoipa_app()
                .app_data(state.clone())
                .configure(ingress::routes)
                .into_app()
        })
        // Signals belong to `shutdown`; the server stops when the token fires.
        .disable_signals()
        .client_request_timeout(settings.http.client_request_timeout)
        .shutdown_timeout(30);
        if settings.http.workers > 0 {
            server = server.workers(settings.http.workers);
        }
        let server = server
            .listen(listener)
            .map_err(|source| StartupError::Bind { address, source })?
            .run();
        tracing::info!(
            port,
            queue = queue.as_job_queue().kind(),
            "ingress listening"
        );
        Ok(Application {
            port,
            server,
            queue,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn queue(&self) -> &ChangesQueue {
        &self.queue
    }

    /// Serves until `shutdown` is cancelled, then stops accepting and lets requests in
    /// flight finish (each either acks after its enqueue or answers a fault).
    pub async fn run_until_stopped(self, shutdown: CancellationToken) -> std::io::Result<()> {
        let handle = self.server.handle();
        let stopper = tokio::spawn(async move {
            shutdown.cancelled().await;
            handle.stop(true).await;
        });
        let result = self.server.await;
        stopper.abort();
        result
    }
}
