//! What each subcommand does, once `main` has parsed the command line and loaded settings.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::config::Settings;
use crate::startup::{Application, Role, StartupError};

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error(transparent)]
    Startup(#[from] StartupError),
    #[error("the HTTP server failed")]
    Server(#[source] std::io::Error),
    #[error("{url} answered {status}")]
    Unhealthy { url: String, status: u16 },
    #[error("cannot reach {url}")]
    Unreachable {
        url: String,
        #[source]
        source: reqwest::Error,
    },
}

/// `ace-sync serve` / `work` / `all`: the role, until SIGTERM or Ctrl-C.
pub async fn run(settings: Settings, role: Role) -> Result<(), CommandError> {
    let shutdown = CancellationToken::new();
    crate::shutdown::cancel_on_signal(shutdown.clone());
    let app = Application::build_role(settings, role).await?;
    app.run_until_stopped(shutdown)
        .await
        .map_err(CommandError::Server)?;
    tracing::info!("stopped");
    Ok(())
}

/// `ace-sync sandbox salesforce`: the simulated org, until SIGTERM or Ctrl-C.
pub async fn sandbox_salesforce(
    port: u16,
    outbound_endpoint: Option<url::Url>,
) -> Result<(), crate::sim::salesforce::SimError> {
    let shutdown = CancellationToken::new();
    crate::shutdown::cancel_on_signal(shutdown.clone());
    crate::sim::salesforce::run_standalone(port, outbound_endpoint, shutdown).await
}

/// What `ace-sync sandbox partner-central` was asked for.
#[derive(Debug, Clone)]
pub struct PartnerCentralSandbox {
    pub port: u16,
    pub host: std::net::IpAddr,
    /// How long each step of the simulated review takes.
    pub review_delay: Duration,
    /// Deliver EventBridge-shaped events to this SQS queue.
    pub events_queue_url: Option<String>,
    /// The SQS endpoint of that queue.
    pub sqs_endpoint_url: Option<String>,
    /// Enforce the documented request quotas.
    pub quotas: bool,
}

/// `ace-sync sandbox partner-central`: the Partner Central simulator on its own, until
/// SIGTERM or Ctrl-C.
pub async fn sandbox_partner_central(
    options: PartnerCentralSandbox,
) -> Result<(), crate::sim::partner_central::SimError> {
    use crate::sim::partner_central as pc;
    let mut config = pc::SimConfig {
        host: options.host,
        ..pc::SimConfig::default()
    };
    config.review.timing = pc::ReviewTiming::Automatic {
        in_review_after: options.review_delay,
        decision_after: options.review_delay,
    };
    if !options.quotas {
        config.quotas = pc::QuotaConfig::unlimited();
    }
    if let Some(url) = options.events_queue_url {
        let sink =
            pc::sqs_event_sink(&url, &config.region, options.sqs_endpoint_url.as_deref()).await;
        config.event_sinks.push(std::sync::Arc::new(sink));
    }
    let shutdown = CancellationToken::new();
    crate::shutdown::cancel_on_signal(shutdown.clone());
    pc::run_standalone(options.port, config, shutdown).await
}

/// `ace-sync openapi`: the OpenAPI document, as committed in `openapi.yaml`.
pub fn openapi() -> String {
    crate::ingress::openapi::yaml()
}

/// `ace-sync healthcheck`: succeeds when `url` answers 2xx within `timeout`. Container
/// health checks use it, so the image needs no curl.
pub async fn healthcheck(url: &str, timeout: Duration) -> Result<(), CommandError> {
    let client = reqwest::Client::builder()
        .timeout(timeout)
        .build()
        .map_err(|source| CommandError::Unreachable {
            url: url.to_owned(),
            source,
        })?;
    let response = client
        .get(url)
        .send()
        .await
        .map_err(|source| CommandError::Unreachable {
            url: url.to_owned(),
            source,
        })?;
    if response.status().is_success() {
        Ok(())
    } else {
        Err(CommandError::Unhealthy {
            url: url.to_owned(),
            status: response.status().as_u16(),
        })
    }
}
